"""tri, tpi, roughness, Igor's hillshade and color_relief (gdaldem's other
modes): against numpy references written here from gdaldem's documented
formulas, against raster-tool's files byte for byte, and against gdaldem
itself when installed."""

import subprocess

import numpy as np
import pytest

import reference as R
import tessera
from conftest import GDALDEM, NODATA, raster_tool, same_bytes

RES = dict(res=(30.0, -30.0), nodata=NODATA)


def interior(a):
    return a[1:-1, 1:-1]


def _mask(dem):
    a, ok = R._valid_interior(dem, NODATA)
    return R.windows3(a), ok


def ref_tri(dem, alg):
    w, ok = _mask(dem)
    d = [w[i] - w[4] for i in range(9) if i != 4]
    if alg == "wilson":
        return sum(np.abs(x) for x in d) / 8, ok
    return np.sqrt(sum(x * x for x in d)), ok


def ref_tpi(dem):
    w, ok = _mask(dem)
    return w[4] - sum(w[i] for i in range(9) if i != 4) / 8, ok


def ref_roughness(dem):
    w, ok = _mask(dem)
    return np.max(w, axis=0) - np.min(w, axis=0), ok


@pytest.mark.parametrize("fn,ref", [
    (lambda d: tessera.tri(d, **RES), lambda d: ref_tri(d, "riley")),
    (lambda d: tessera.tri(d, alg="wilson", **RES),
     lambda d: ref_tri(d, "wilson")),
    (lambda d: tessera.tpi(d, **RES), ref_tpi),
    (lambda d: tessera.roughness(d, **RES), ref_roughness),
], ids=["tri-riley", "tri-wilson", "tpi", "roughness"])
def test_ruggedness_matches_numpy(dem, fn, ref):
    got = fn(dem)
    assert got.dtype == np.float32 and got.shape == dem.shape
    want, ok = ref(dem)
    np.testing.assert_allclose(interior(got)[ok], want[ok], rtol=1e-6,
                               atol=1e-4)
    assert (interior(got)[~ok] == NODATA).all()
    for ring in (got[0], got[-1], got[:, 0], got[:, -1]):
        assert (ring == NODATA).all()


def test_ruggedness_on_a_plane_and_a_step():
    plane = np.add.outer(np.arange(20.0), 2 * np.arange(30.0))
    plane = plane.astype(np.float32)
    # on a plane every cell is the mean of its neighbours
    assert (interior(tessera.tpi(plane)) == 0).all()
    # neighbours differ by 1 (rows), 2 (columns), 3 and 1 (diagonals):
    # roughness is 3 - (-3) = 6, Wilson's TRI the mean absolute difference
    assert (interior(tessera.roughness(plane)) == 6).all()
    wil = interior(tessera.tri(plane, alg="wilson"))
    np.testing.assert_allclose(wil, (2 * 1 + 2 * 2 + 2 * 3 + 2 * 1) / 8)
    riley = interior(tessera.tri(plane))
    np.testing.assert_allclose(riley, np.sqrt(2 * 1 + 2 * 4 + 2 * 9 + 2 * 1),
                               rtol=1e-6)


def test_igor_hillshade_matches_numpy(dem):
    """gdaldem -igor, from GDAL's formula: no sun elevation; with Horn's
    hx = left - right, hy = bottom - top (gdaldem's own convention),
    slope = atan(|(hx / ew, hy / ns)| z / 8), aspect = atan2(hy, hx) in
    [0, 2 pi), light = 3 pi / 2 - azimuth, d = |aspect - light| folded into
    [0, pi]: 255 (1 - slope / 90 degrees (1 - d / pi)); 0 for nodata."""
    h = tessera.hillshade(dem, igor=True, **RES)
    a, ok = R._valid_interior(dem, NODATA)
    w = R.windows3(a)
    hx = (w[0] + 2 * w[3] + w[6]) - (w[2] + 2 * w[5] + w[8])
    hy = (w[6] + 2 * w[7] + w[8]) - (w[0] + 2 * w[1] + w[2])
    slope = np.degrees(np.arctan(np.hypot(hx / 30.0, hy / -30.0) / 8))
    aspect = np.mod(np.arctan2(hy, hx), 2 * np.pi)
    light = np.mod(3 * np.pi / 2 - np.radians(315.0), 2 * np.pi)
    d = np.abs(aspect - light)
    d = np.where(d > np.pi, 2 * np.pi - d, d)
    ref = 255 * (1 - slope / 90 * (1 - d / np.pi))
    got = interior(h).astype(np.float64)
    assert np.abs(got[ok] - ref[ok]).max() <= 1.0
    assert (got[~ok] == 0).all()


@pytest.mark.parametrize("fn,cmd,args", [
    (tessera.tri, "tri", {}), (tessera.tri, "tri", {"alg": "wilson"}),
    (tessera.tpi, "tpi", {}), (tessera.roughness, "roughness", {}),
    (tessera.hillshade, "hillshade", {"igor": True}),
], ids=["tri", "tri-wilson", "tpi", "roughness", "igor"])
def test_ruggedness_files_equal_raster_tool(dem_file, tmp_path, fn, cmd,
                                            args):
    fn(dem_file, tmp_path / "py.tif", compute_edges=True, **args)
    flags = ["--compute-edges"]
    if args.get("alg"):
        flags += ["--alg", args["alg"]]
    if args.get("igor"):
        flags += ["--igor"]
    raster_tool(cmd, "--quiet", *flags, dem_file, tmp_path / "rt.tif")
    assert same_bytes(tmp_path / "py.tif", tmp_path / "rt.tif")


# ---- colour relief -------------------------------------------------------

RAMP = [(-9999, 0, 0, 0, 0), (0, 0, 0, 255), (800, 40, 200, 40, 200),
        (1600, "white")]


def ref_relief(v, ramp, mode):
    """Per-pixel lookup written from gdaldem's documentation: linear between
    the entries around a value (rounded to nearest), the end colours beyond
    them; "nearest": the nearer entry; "exact": an entry's own value."""
    vals = np.array([float(e[0]) for e in ramp])
    cols = []
    for e in ramp:
        if isinstance(e[1], str):
            cols.append((255, 255, 255, 255))
        else:
            cols.append(tuple(e[1:4]) + ((e[4],) if len(e) == 5 else (255,)))
    cols = np.array(cols, np.float64)
    out = np.zeros(v.shape + (4,), np.uint8)
    for idx, x in np.ndenumerate(v):
        i = np.searchsorted(vals, x)
        if mode == "exact":
            hit = np.nonzero(vals == x)[0]
            out[idx] = cols[hit[0]] if len(hit) else 0
            continue
        if i < len(vals) and vals[i] == x:
            out[idx] = cols[i]
        elif i == 0:
            out[idx] = cols[0]
        elif i == len(vals):
            out[idx] = cols[-1]
        else:
            lo, hi = vals[i - 1], vals[i]
            if mode == "nearest":
                # a value halfway takes the upper entry (gdaldem's test
                # is "closer to the lower")
                out[idx] = cols[i - 1] if x - lo < hi - x else cols[i]
            else:
                t = (x - lo) / (hi - lo)
                c = cols[i - 1] + t * (cols[i] - cols[i - 1])
                out[idx] = np.floor(c + 0.5)
    return np.moveaxis(out, -1, 0)


@pytest.mark.parametrize("mode", ["interpolate", "nearest"])
def test_color_relief_matches_numpy(mode):
    rng = np.random.default_rng(3)
    v = rng.uniform(-200, 1900, (40, 50)).astype(np.float32)
    v[0, :5] = [0, 800, 1600, -9999, 400]
    got = tessera.color_relief(v, RAMP, mode=mode, alpha=True)
    assert got.dtype == np.uint8 and got.shape == (4, 40, 50)
    want = ref_relief(v.astype(np.float64), RAMP, mode)
    assert np.abs(got.astype(int) - want.astype(int)).max() <= 1
    # entries themselves are exact
    np.testing.assert_array_equal(got[:, 0, :3], want[:, 0, :3])
    rgb = tessera.color_relief(v, RAMP, mode=mode)
    np.testing.assert_array_equal(rgb, got[:3])


def test_color_relief_exact_and_percent():
    v = np.array([[0, 800, 5], [1600, 0, 7]], np.float32)
    got = tessera.color_relief(v, RAMP, mode="exact", alpha=True)
    np.testing.assert_array_equal(got[:, 0, 0], [0, 0, 255, 255])
    np.testing.assert_array_equal(got[:, 0, 1], [40, 200, 40, 200])
    np.testing.assert_array_equal(got[:, 0, 2], [0, 0, 0, 0])
    # percentages are of the band's range (0..1600 here)
    pct = [("0%", 0, 0, 255), ("50%", 40, 200, 40), ("100%", "white")]
    np.testing.assert_array_equal(
        tessera.color_relief(v, pct),
        tessera.color_relief(v, [(0, 0, 0, 255), (800, 40, 200, 40),
                                 (1600, "white")]))


def test_color_relief_nodata_entry(dem):
    ramp = [("nv", 255, 0, 255), (0, "black"), (3000, "white")]
    got = tessera.color_relief(dem, ramp, nodata=NODATA)
    holes = dem == NODATA
    assert holes.any()
    assert (got[:, holes].T == [255, 0, 255]).all()


def test_color_relief_file_equals_raster_tool(dem_file, tmp_path):
    colors = tmp_path / "ramp.txt"
    colors.write_text("nv 0 0 0 0\n0% blue\n40% 40 200 40\n100% white 200\n")
    tessera.color_relief(dem_file, colors, tmp_path / "py.tif", alpha=True)
    raster_tool("color-relief", "--quiet", "--alpha", dem_file, colors,
                tmp_path / "rt.tif")
    assert same_bytes(tmp_path / "py.tif", tmp_path / "rt.tif")
    # the file's entries and the list's give the same picture
    from_list = tessera.color_relief(
        dem_file, [("nv", 0, 0, 0, 0), ("0%", "blue"), ("40%", 40, 200, 40),
                   ("100%", "white", 200)], alpha=True)
    np.testing.assert_array_equal(from_list,
                                  tessera.convert(tmp_path / "py.tif", None))


def test_color_relief_errors(dem, tmp_path, out):
    with pytest.raises(tessera.TesseraError, match="line 2: unknown colour"):
        tessera.color_relief(dem, [(0, "black"), (1, "reed")])
    with pytest.raises(tessera.TesseraError, match="No such file") as e:
        tessera.color_relief(dem, tmp_path / "missing.txt")
    assert e.value.code < 0
    with pytest.raises(ValueError, match="mode"):
        tessera.color_relief(dem, [(0, "black")], mode="smooth")
    with pytest.raises(TypeError, match="colors"):
        tessera.color_relief(dem, 5)
    with pytest.raises(TypeError, match=r"colors\[0\]"):
        tessera.color_relief(dem, [(0, 1, 2)])
    with pytest.raises(ValueError, match=r"colors\[0\]"):
        tessera.color_relief(dem, [(0, 1, 2, 300)])
    with pytest.raises(ValueError, match="band"):
        tessera.color_relief(dem, [(0, "black")], band=2)
    bad = tmp_path / "bad.txt"
    bad.write_text("0 0 0 0\n10 20 30 40\n500 1 2 3\nten 4 5 6\n")
    with pytest.raises(tessera.TesseraError, match="line 4"):
        tessera.color_relief(dem, bad, out)
    assert not out.exists() and list(out.parent.iterdir()) == [bad]


def test_tri_errors(dem):
    with pytest.raises(ValueError, match="alg"):
        tessera.tri(dem, alg="riely")
    with pytest.raises(ValueError, match="exclude"):
        tessera.hillshade(dem, igor=True, multidirectional=True)
    with pytest.raises(TypeError, match="igor"):
        tessera.hillshade(dem, igor="yes")


GD_CASES = [
    (lambda f, **k: tessera.tri(f, **k), "TRI", 1e-3),
    (lambda f, **k: tessera.tri(f, alg="wilson", **k), "TRI -alg Wilson",
     1e-3),
    (lambda f, **k: tessera.tpi(f, **k), "TPI", 1e-3),
    (lambda f, **k: tessera.roughness(f, **k), "roughness", 1e-3),
    (lambda f, **k: tessera.hillshade(f, igor=True, **k), "hillshade -igor",
     1.0),
]


@pytest.mark.skipif(not GDALDEM, reason="gdaldem not installed (gdal-bin)")
@pytest.mark.parametrize("fn,theirs,tol", GD_CASES,
                         ids=["tri", "tri-wilson", "tpi", "roughness",
                              "igor"])
@pytest.mark.parametrize("edges", [False, True])
def test_ruggedness_agrees_with_gdaldem(dem_file, tmp_path, fn, theirs, tol,
                                        edges):
    g = tmp_path / "g.tif"
    extra = ["-compute_edges"] if edges else []
    subprocess.run([GDALDEM, *theirs.split()[:1], "-q", str(dem_file),
                    str(g), *theirs.split()[1:], *extra], check=True,
                   stdout=subprocess.DEVNULL)
    ours = fn(dem_file, compute_edges=edges)
    gd = tessera.convert(g, None)
    nd = tessera.info(g)["nodata"]
    if nd is not None:
        np.testing.assert_array_equal(gd == nd, ours == nd)
    d = np.abs(gd.astype(np.float64) - ours.astype(np.float64))
    assert d.max() <= tol


@pytest.mark.skipif(not GDALDEM, reason="gdaldem not installed (gdal-bin)")
@pytest.mark.parametrize("mode", ["", "-nearest_color_entry"])
def test_color_relief_agrees_with_gdaldem(dem_file, tmp_path, mode):
    colors = tmp_path / "ramp.txt"
    colors.write_text("nv 0 0 0 0\n0% blue\n40% 40 200 40\n100% white 200\n")
    g = tmp_path / "g.tif"
    subprocess.run([GDALDEM, "color-relief", "-q", "-alpha", *mode.split(),
                    str(dem_file), str(colors), str(g)], check=True,
                   stdout=subprocess.DEVNULL)
    ours = tessera.color_relief(dem_file, colors, alpha=True,
                                mode="nearest" if mode else "interpolate")
    np.testing.assert_array_equal(ours, tessera.convert(g, None))
