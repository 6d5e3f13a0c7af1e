"""slope, aspect, hillshade: against numpy references of gdaldem's
formulas, against gdaldem itself when installed, file input against array
input, and bit-identical at any thread count."""

import os
import subprocess

import numpy as np
import pytest

import reference as R
import tessera
from conftest import GDALDEM, NODATA, raster_tool, same_bytes

RES = dict(res=(30.0, -30.0), nodata=NODATA)


def interior(a):
    return a[1:-1, 1:-1]


@pytest.mark.parametrize("kw", [{}, {"scale": 2.0}, {"percent": True}])
def test_slope_matches_numpy(dem, kw):
    s = tessera.slope(dem, **RES, **kw)
    assert s.dtype == np.float32 and s.shape == dem.shape
    ref, ok = R.slope(dem, 30.0, -30.0, NODATA, **kw)
    np.testing.assert_allclose(interior(s)[ok], ref[ok], rtol=1e-6,
                               atol=1e-5)
    # no compute_edges: the outer ring and windows touching nodata
    assert (interior(s)[~ok] == NODATA).all()
    for ring in (s[0], s[-1], s[:, 0], s[:, -1]):
        assert (ring == NODATA).all()


def test_slope_zt_matches_numpy(dem):
    s = tessera.slope(dem, alg="zt", **RES)
    a = dem.astype(np.float64)
    w = R.windows3(a)
    dx = (w[5] - w[3]) / 60.0
    dy = (w[7] - w[1]) / -60.0
    ref = np.degrees(np.arctan(np.sqrt(dx * dx + dy * dy)))
    _, ok = R.slope(dem, 30, -30, NODATA)
    np.testing.assert_allclose(interior(s)[ok], ref[ok], rtol=1e-6,
                               atol=1e-5)


@pytest.mark.parametrize("trig", [False, True])
def test_aspect_matches_numpy(dem, trig):
    a = tessera.aspect(dem, trigonometric=trig, **RES)
    ref, ok = R.aspect(dem, NODATA)
    if trig:  # counter-clockwise from east
        ref = np.where(np.isnan(ref), ref, (450 - ref) % 360)
    flat = np.isnan(ref)
    got = interior(a)
    d = np.abs(got[ok & ~flat] - ref[ok & ~flat])
    assert np.minimum(d, 360 - d).max() < 1e-3
    assert (got[ok & flat] == NODATA).all()
    assert (got[~ok] == NODATA).all()


def test_aspect_zero_for_flat(dem):
    flat = np.full((40, 50), 7.0, np.float32)
    a = tessera.aspect(flat, zero_for_flat=True)
    assert (a == 0).all()
    b = tessera.aspect(flat)
    assert (b == NODATA).all()


@pytest.mark.parametrize("kw", [{}, {"z": 3.0, "azimuth": 100.0,
                                     "altitude": 30.0},
                                {"scale": 0.5}])
def test_hillshade_matches_numpy(dem, kw):
    h = tessera.hillshade(dem, **RES, **kw)
    assert h.dtype == np.uint8 and h.shape == dem.shape
    ref, ok = R.hillshade(dem, 30.0, -30.0, NODATA, **kw)
    got = interior(h).astype(np.float64)
    assert np.abs(got[ok] - ref[ok]).max() <= 1.0
    assert (got[~ok] == 0).all() and (h[0] == 0).all()


def test_hillshade_flat_is_181():
    h = tessera.hillshade(np.zeros((20, 30), np.float32), compute_edges=True)
    assert (h == 181).all()


@pytest.mark.parametrize("fn", [tessera.slope, tessera.aspect,
                                tessera.hillshade])
def test_terrain_file_and_array_agree(dem_file, dem, fn):
    from_file = fn(dem_file)
    from_array = fn(dem, **RES)
    np.testing.assert_array_equal(from_file, from_array)


@pytest.mark.parametrize("fn,cmd", [(tessera.slope, "slope"),
                                    (tessera.aspect, "aspect"),
                                    (tessera.hillshade, "hillshade")])
def test_terrain_files_equal_raster_tool(dem_file, tmp_path, fn, cmd):
    fn(dem_file, tmp_path / "py.tif", compute_edges=True)
    raster_tool(cmd, "--quiet", "--compute-edges", dem_file,
                tmp_path / "rt.tif")
    assert same_bytes(tmp_path / "py.tif", tmp_path / "rt.tif")


def test_terrain_bit_identical_across_threads(dem_file, dem, tmp_path):
    arrays = [tessera.hillshade(dem, threads=n, **RES) for n in (1, 2, 3)]
    for a in arrays[1:]:
        np.testing.assert_array_equal(a, arrays[0])
    for n in (1, 2, 3):
        tessera.slope(dem_file, tmp_path / f"s{n}.tif", threads=n,
                      tile=64)
    assert same_bytes(tmp_path / "s1.tif", tmp_path / "s2.tif")
    assert same_bytes(tmp_path / "s1.tif", tmp_path / "s3.tif")


def test_terrain_band_and_res(dem):
    stack = np.stack([np.zeros_like(dem), dem])
    np.testing.assert_array_equal(tessera.slope(stack, band=2, **RES),
                                  tessera.slope(dem, **RES))
    # res scales the gradient: a 60 m pixel halves it
    s30 = tessera.slope(dem, percent=True, **RES)
    s60 = tessera.slope(dem, percent=True, res=(60.0, -60.0), nodata=NODATA)
    ok = s30 != NODATA
    np.testing.assert_allclose(s60[ok], s30[ok] / 2, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="band"):
        tessera.slope(dem, band=2)


CASES = [
    ({}, "slope", 0), ({"percent": True, "compute_edges": True}, "slope -p "
                       "-compute_edges", 0),
    ({"alg": "zt", "scale": 2.0}, "slope -alg ZevenbergenThorne -s 2", 0),
    ({}, "aspect", 1),
    ({"trigonometric": True, "compute_edges": True},
     "aspect -trigonometric -compute_edges", 1),
    ({"zero_for_flat": True}, "aspect -zero_for_flat", 1),
    ({}, "hillshade", 2),
    ({"z": 3.0, "azimuth": 100.0, "altitude": 30.0, "compute_edges": True},
     "hillshade -z 3 -az 100 -alt 30 -compute_edges", 2),
    ({"multidirectional": True}, "hillshade -multidirectional", 2),
    ({"combined": True, "alg": "zt"},
     "hillshade -combined -alg ZevenbergenThorne", 2),
]


@pytest.mark.skipif(not GDALDEM, reason="gdaldem not installed (gdal-bin)")
@pytest.mark.parametrize("kw,theirs,kind", CASES)
def test_terrain_agrees_with_gdaldem(dem_file, tmp_path, kw, theirs, kind):
    """Pixel by pixel, with the tolerances of raster-tool's own gdaldem
    test: slope 1e-3, aspect and hillshade 1 (aspect's mean below 1e-3)."""
    g = tmp_path / "g.tif"
    subprocess.run([GDALDEM, *theirs.split()[:1], "-q", str(dem_file),
                    str(g), *theirs.split()[1:]], check=True,
                   stdout=subprocess.DEVNULL)
    fn = (tessera.slope, tessera.aspect, tessera.hillshade)[kind]
    ours = fn(dem_file, **kw)
    gd = tessera.convert(g, None)
    nd = 0 if kind == 2 else tessera.info(g)["nodata"]
    if nd is not None:
        np.testing.assert_array_equal(gd == nd, ours == nd)
    d = np.abs(gd.astype(np.float64) - ours.astype(np.float64))
    if kind == 1:
        d = np.minimum(d, 360 - d)
        assert d.mean() < 1e-3
    assert d.max() <= (1e-3 if kind == 0 else 1.0)


def test_terrain_argument_errors(dem):
    with pytest.raises(ValueError, match="alg"):
        tessera.slope(dem, alg="sobel")
    with pytest.raises(ValueError, match="exclude"):
        tessera.hillshade(dem, multidirectional=True, combined=True)
    with pytest.raises(ValueError, match="scale"):
        tessera.slope(dem, scale=0)
    with pytest.raises(TypeError, match="percent"):
        tessera.slope(dem, percent="yes")
    with pytest.raises(TypeError, match="res"):
        tessera.slope(dem, res=30)
    with pytest.raises(ValueError, match="nodata= is for arrays"):
        tessera.slope(os.devnull, nodata=0)
