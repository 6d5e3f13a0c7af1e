"""convert (types, bands, arrays to GeoTIFF and back), info (the keys and
values of raster-tool info --json, and GDAL's reading), synth."""

import math

import numpy as np
import pytest

import reference as R
import tessera
from conftest import H, W, raster_tool, raster_tool_json, same_bytes

TYPES = ["uint8", "int8", "uint16", "int16", "uint32", "int32", "float32",
         "float64"]


@pytest.mark.parametrize("t", TYPES)
def test_convert_types_saturate_like_numpy(t):
    rng = np.random.default_rng(3)
    x = rng.normal(0, 3e4, (60, 70)).astype(np.float64)
    x[0, :4] = [np.nan, 0.5, -0.5, 2.5]          # NaN and halves
    x[1, :2] = [1e12, -1e12]                     # beyond every integer type
    got = tessera.convert(x, None, type=t)
    assert got.dtype == np.dtype(t)
    np.testing.assert_array_equal(got, R.saturate(x, t))


def test_convert_bands(rgb_file, tmp_path):
    rgb = tessera.convert(rgb_file, None)
    assert rgb.shape == (3, H, W) and rgb.dtype == np.uint16
    np.testing.assert_array_equal(
        tessera.convert(rgb_file, None, bands=[3, 1]), rgb[[2, 0]])
    one = tessera.convert(rgb, None, bands=2, type="uint8")
    assert one.shape == (H, W)
    np.testing.assert_array_equal(one, np.minimum(rgb[1], 255))
    tessera.convert(rgb_file, tmp_path / "bgr.tif", bands=[3, 2, 1])
    np.testing.assert_array_equal(tessera.convert(tmp_path / "bgr.tif", None),
                                  rgb[::-1])
    with pytest.raises(ValueError, match="has 3 band"):
        tessera.convert(rgb, None, bands=[4])


def test_array_to_geotiff_and_back(tmp_path):
    rng = np.random.default_rng(4)
    a = rng.normal(size=(2, 300, 500)).astype(np.float32)
    gt = (440720.0, 60.0, 0.0, 3751320.0, 0.0, -60.0)
    for kw in ({}, {"compress": "zstd", "level": 3}, {"compress": "lzw"},
               {"compress": "none", "tile": (32, 64)},
               {"predictor": 1, "bigtiff": "yes"}):
        p = tmp_path / "a.tif"
        tessera.convert(a, p, geotransform=gt, epsg=26711, nodata=-1.5,
                        overwrite=True, **kw)
        i = tessera.info(p)
        assert (i["width"], i["height"], i["bands"]) == (500, 300, 2)
        assert i["geotransform"] == list(gt) and i["epsg"] == 26711
        assert i["nodata"] == -1.5
        assert i["compression"] == kw.get("compress", "deflate")
        np.testing.assert_array_equal(tessera.convert(p, None), a)


def test_strided_and_nonnative_arrays_are_handled():
    rng = np.random.default_rng(6)
    base = rng.normal(size=(3, 120, 200)).astype(np.float32)
    want = tessera.blur(np.ascontiguousarray(base[1]), 1.0)
    # rows of a bigger array and a band of a stack: zero copy
    np.testing.assert_array_equal(tessera.blur(base[1], 1.0), want)
    np.testing.assert_array_equal(tessera.blur(base[:, :, :][1], 1.0), want)
    # columns apart, reversed, Fortran order, big-endian: copied
    wide = np.zeros((120, 400), np.float32)
    wide[:, ::2] = base[1]
    np.testing.assert_array_equal(tessera.blur(wide[:, ::2], 1.0), want)
    flipped = np.ascontiguousarray(base[1][::-1])
    np.testing.assert_array_equal(tessera.blur(flipped[::-1], 1.0), want)
    np.testing.assert_array_equal(
        tessera.blur(np.asfortranarray(base[1]), 1.0), want)
    np.testing.assert_array_equal(tessera.blur(base[1].astype(">f4"), 1.0),
                                  want)
    # bool is uint8
    m = base[1] > 0
    np.testing.assert_array_equal(tessera.convert(m, None), m.view(np.uint8))


def test_info_equals_raster_tool_json(dem_file, rgb_file):
    for p in (dem_file, rgb_file):
        i = tessera.info(p)
        rt = raster_tool_json("info", "--json", p)
        assert set(i) == set(rt)
        for k in rt:
            if k == "file":
                assert i[k] == str(p)
            else:
                assert i[k] == rt[k], k


def test_info_agrees_with_gdal(dem_file, rgb_file):
    gdal = pytest.importorskip("osgeo.gdal")
    for p in (dem_file, rgb_file):
        ds = gdal.Open(str(p))
        i = tessera.info(p)
        assert (i["width"], i["height"], i["bands"]) == \
            (ds.RasterXSize, ds.RasterYSize, ds.RasterCount)
        assert i["geotransform"] == list(ds.GetGeoTransform())
        nd = ds.GetRasterBand(1).GetNoDataValue()
        assert i["nodata"] == nd or (nd is not None and math.isnan(nd)
                                     and math.isnan(i["nodata"]))
        np.testing.assert_array_equal(tessera.convert(p, None),
                                      ds.ReadAsArray())


def test_synth_equals_raster_tool(tmp_path):
    tessera.synth(tmp_path / "py.tif", size=(300, 200), seed=5, holes=0.1,
                  threads=3)
    raster_tool("synth", "--quiet", "--size", "300x200", "--seed", 5,
                "--holes", 0.1, tmp_path / "rt.tif")
    assert same_bytes(tmp_path / "py.tif", tmp_path / "rt.tif")
    a = tessera.synth(size=(300, 200), seed=5, holes=0.1)
    np.testing.assert_array_equal(a, tessera.convert(tmp_path / "rt.tif",
                                                     None))


def test_version_is_the_librarys():
    out = raster_tool("--version")
    assert out.split()[-1] == tessera.__version__


@pytest.mark.parametrize("resampling", [None, "average", "nearest"])
def test_cog_equals_raster_tool_and_info_lists_overviews(dem_file, tmp_path,
                                                         resampling):
    kw = {"overview_resampling": resampling} if resampling else {}
    tessera.hillshade(dem_file, tmp_path / "py.tif", cog=True, tile=64, **kw)
    flags = ["--overview-resampling", resampling] if resampling else []
    raster_tool("hillshade", "--quiet", "--cog", "--tile", "64", *flags,
                dem_file, tmp_path / "rt.tif")
    assert same_bytes(tmp_path / "py.tif", tmp_path / "rt.tif")
    i = tessera.info(tmp_path / "py.tif")
    # 301 x 257 halved until one 64-pixel tile holds it: 151, 76, 38
    assert [(o["width"], o["height"], o["external"])
            for o in i["overviews"]] == [(151, 129, False), (76, 65, False),
                                         (38, 33, False)]
    assert i == {**raster_tool_json("info", "--json", tmp_path / "py.tif"),
                 "file": str(tmp_path / "py.tif")}


def test_cog_keywords_checked(dem_file, tmp_path):
    with pytest.raises(ValueError, match="overview_resampling"):
        tessera.slope(dem_file, tmp_path / "o.tif", cog=True,
                      overview_resampling="lanczos")
    with pytest.raises(ValueError, match="cog= is for a dst path"):
        tessera.slope(dem_file, cog=True)
    assert not (tmp_path / "o.tif").exists()


def test_color_relief_file_is_rgb_with_alpha(dem_file, tmp_path):
    tessera.color_relief(dem_file, [(0, "black"), (2500, "white")],
                         tmp_path / "c.tif", alpha=True)
    i = tessera.info(tmp_path / "c.tif")
    assert i["rgb"] and i["alpha_band"] == 4 and i["color_table"] is None
    assert i["alpha_associated"] is False


def test_info_says_associated_alpha_and_convert_keeps_it(tmp_path):
    gdal = pytest.importorskip("osgeo.gdal")
    src = tmp_path / "pre.tif"
    ds = gdal.GetDriverByName("GTiff").Create(
        str(src), 40, 30, 4, gdal.GDT_Byte, ["ALPHA=PREMULTIPLIED"])
    for b in range(1, 5):
        ds.GetRasterBand(b).Fill(60 * b)
    ds = None
    i = tessera.info(src)
    assert i["alpha_band"] == 4 and i["alpha_associated"] is True
    assert i == {**raster_tool_json("info", "--json", src), "file": str(src)}
    raster_tool("convert", "--quiet", "--cog", src, tmp_path / "c.tif")
    c = tessera.info(tmp_path / "c.tif")
    assert c["alpha_band"] == 4 and c["alpha_associated"] is True
