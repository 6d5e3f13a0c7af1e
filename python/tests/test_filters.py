"""convolve and blur against numpy correlation with replicated edges."""

import numpy as np
import pytest

import reference as R
import tessera
from conftest import NODATA, raster_tool, same_bytes

SHARPEN = [[0, -1, 0], [-1, 5, -1], [0, -1, 0]]


@pytest.fixture(scope="module")
def img(dem2_file):
    return tessera.convert(dem2_file, None)


def test_convolve_matches_numpy(img):
    w = np.arange(15, dtype=np.float64).reshape(3, 5) - 7   # asymmetric
    got = tessera.convolve(img, w)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, R.correlate(img, w).astype(np.float32),
                               rtol=1e-6, atol=1e-3)


def test_convolve_text_normalize_and_type(img):
    got = tessera.convolve(img, "1 2 1; 2 4 2; 1 2 1", normalize=True,
                           type="uint16")
    ref = R.correlate(img, np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16)
    np.testing.assert_array_equal(got, R.saturate(ref, np.uint16))


def test_convolve_multiband_int(rgb_file):
    rgb = tessera.convert(rgb_file, None)
    got = tessera.convolve(rgb, SHARPEN)
    assert got.shape == rgb.shape and got.dtype == np.uint16
    for b in range(3):
        np.testing.assert_array_equal(
            got[b], R.saturate(R.correlate(rgb[b], SHARPEN), np.uint16))


def test_convolve_nodata(dem):
    """A nodata pixel stays nodata; a nodata neighbour counts as the
    centre's value."""
    got = tessera.convolve(dem, SHARPEN, nodata=NODATA)
    a = dem.astype(np.float64)
    p = np.pad(a, 1, mode="edge")
    h, w = a.shape
    ref = np.zeros_like(a)
    for j in range(3):
        for i in range(3):
            v = p[j:j + h, i:i + w]
            ref += SHARPEN[j][i] * np.where(v == NODATA, a, v)
    ref = np.where(a == NODATA, NODATA, ref).astype(np.float32)
    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-3)


@pytest.mark.parametrize("sigma", [0.7, 2.5])
def test_blur_matches_numpy(img, sigma):
    got = tessera.blur(img, sigma)
    np.testing.assert_allclose(got, R.gaussian(img, sigma).astype(np.float32),
                               rtol=1e-6, atol=1e-3)


def test_blur_file_array_threads_and_raster_tool(dem_file, dem, tmp_path):
    a = tessera.blur(dem, 1.5, nodata=NODATA)
    np.testing.assert_array_equal(tessera.blur(dem_file, 1.5), a)
    np.testing.assert_array_equal(tessera.blur(dem, 1.5, nodata=NODATA,
                                               threads=3), a)
    tessera.blur(dem_file, 1.5, tmp_path / "py.tif", threads=1)
    raster_tool("blur", "--quiet", "--sigma", 1.5, dem_file,
                tmp_path / "rt.tif")
    assert same_bytes(tmp_path / "py.tif", tmp_path / "rt.tif")


def test_filter_argument_errors(img):
    with pytest.raises(ValueError, match="odd"):
        tessera.convolve(img, np.ones((2, 2)))
    with pytest.raises(ValueError, match="2-D"):
        tessera.convolve(img, [1, 2, 1])
    with pytest.raises(tessera.TesseraError, match="bad number at column"):
        tessera.convolve(img, "1 2 x")
    with pytest.raises(ValueError, match="sigma"):
        tessera.blur(img, 0)
    with pytest.raises(ValueError, match="sigma"):
        tessera.blur(img, 81)
