"""calc: against numpy on the same pixels, with nodata, types, bands and
the defaults raster-tool calc has; typos name the column."""

import numpy as np
import pytest

import reference as R
import tessera
from conftest import NODATA, raster_tool, same_bytes


def test_calc_matches_numpy_files_and_arrays(dem_file, dem2_file, dem):
    b = tessera.convert(dem2_file, None)
    expr = "(A - B) / (A + B + 1)"
    got_f = tessera.calc(expr, A=dem_file, B=dem2_file)
    got_a = tessera.calc(expr, A=dem, B=b, input_nodata={"A": NODATA})
    a64, b64 = dem.astype(np.float64), b.astype(np.float64)
    ref = ((a64 - b64) / (a64 + b64 + 1)).astype(np.float32)
    hole = dem == NODATA
    # the output keeps A's nodata (float32 holds it)
    np.testing.assert_allclose(got_f[~hole], ref[~hole], rtol=2e-6)
    assert (got_f[hole] == NODATA).all()
    np.testing.assert_array_equal(got_f, got_a)


def test_calc_functions_and_nodata(dem):
    got = tessera.calc("where(isnodata(A), -1, sqrt(abs(A)) + min(A, 1200) "
                       "% 7)", A=dem, input_nodata=NODATA)
    a = dem.astype(np.float64)
    ref = np.where(dem == NODATA, -1,
                   np.sqrt(np.abs(a)) + np.fmod(np.minimum(a, 1200), 7))
    np.testing.assert_allclose(got, ref.astype(np.float32), rtol=2e-6)


def test_calc_bands_types_and_default_nodata(rgb_file):
    rgb = tessera.convert(rgb_file, None)
    got = tessera.calc("A[3] * 0.1 - A", A=rgb_file, type="uint8")
    ref = R.saturate(rgb[2] * 0.1 - rgb[0].astype(np.float64), np.uint8)
    # results outside uint8 saturate; none is nodata (0) unless it is 0
    np.testing.assert_array_equal(got, ref)
    with pytest.raises(ValueError, match=r"A\[4\]"):
        tessera.calc("A[4]", A=rgb_file)


def test_calc_output_nodata(dem, tmp_path):
    # the first input read that has a nodata the type can hold...
    tessera.calc("A + 1", tmp_path / "f.tif", A=dem, input_nodata=NODATA)
    assert tessera.info(tmp_path / "f.tif")["nodata"] == NODATA
    # ...else gdal_calc's: 0 for uint8
    u = tessera.calc("A > 1300", tmp_path / "u.tif", type="uint8", A=dem,
                     input_nodata=NODATA)
    assert u is None and tessera.info(tmp_path / "u.tif")["nodata"] == 0
    # nodata= says it
    tessera.calc("A", tmp_path / "n.tif", nodata=-1, A=dem)
    assert tessera.info(tmp_path / "n.tif")["nodata"] == -1


def test_calc_constant_expression(dem):
    got = tessera.calc("2 ^ 3", A=dem)
    assert got.shape == dem.shape and (got == 8).all()


def test_calc_equals_raster_tool(dem_file, dem2_file, tmp_path):
    expr = "(A - B) / (A + B + 1)"
    for n in (1, 2, 3):
        tessera.calc(expr, tmp_path / f"py{n}.tif", A=dem_file, B=dem2_file,
                     threads=n)
    assert same_bytes(tmp_path / "py1.tif", tmp_path / "py2.tif")
    assert same_bytes(tmp_path / "py1.tif", tmp_path / "py3.tif")
    raster_tool("calc", "--quiet", "-A", dem_file, "-B", dem2_file,
                "--expr", expr, tmp_path / "rt.tif")
    assert same_bytes(tmp_path / "py1.tif", tmp_path / "rt.tif")


def test_calc_errors(dem_file, dem):
    with pytest.raises(tessera.TesseraError, match="column 8") as e:
        tessera.calc("(A + 2))", A=dem)
    assert e.value.code < 0
    with pytest.raises(tessera.TesseraError, match="column"):
        tessera.calc("A +* 2", A=dem_file)
    with pytest.raises(ValueError, match="reads B"):
        tessera.calc("A + B", A=dem)
    with pytest.raises(ValueError, match="at least one input"):
        tessera.calc("1 + 2")
    with pytest.raises(TypeError, match="all paths or all arrays"):
        tessera.calc("A + B", A=dem_file, B=dem)
    with pytest.raises(ValueError, match="input B is"):
        tessera.calc("A + B", A=dem, B=dem[:10])
    with pytest.raises(TypeError, match="type"):
        tessera.calc("A", A=dem, type="complex64")
    with pytest.raises(ValueError, match="input_nodata"):
        tessera.calc("A", A=dem, input_nodata={"Q": 1})
