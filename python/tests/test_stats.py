"""stats against numpy: counts, extremes, mean, standard deviation and
histograms, per band, the same at any thread count."""

import math

import numpy as np
import pytest

import reference as R
import tessera
from conftest import NODATA, raster_tool_json


def check(got, ref):
    assert got["count"] == ref["count"]
    assert got["nodata_count"] == ref["nodata_count"]
    assert got["min"] == ref["min"] and got["max"] == ref["max"]
    assert math.isclose(got["mean"], ref["mean"], rel_tol=1e-12)
    assert math.isclose(got["std"], ref["std"], rel_tol=1e-9)


def test_stats_match_numpy(dem_file, dem):
    s = tessera.stats(dem_file)
    assert len(s) == 1 and "hist" not in s[0]
    check(s[0], R.band_stats(dem, NODATA))
    assert tessera.stats(dem, nodata=NODATA) == s


def test_stats_histogram(dem):
    s = tessera.stats(dem, nodata=NODATA, bins=9)[0]
    v = dem[dem != NODATA].astype(np.float64)
    ref, _ = np.histogram(v, bins=9, range=(v.min(), v.max()))
    np.testing.assert_array_equal(s["hist"], ref)
    assert s["hist_range"] == (v.min(), v.max())
    r = tessera.stats(dem, nodata=NODATA, bins=5, range=(1200, 1400))[0]
    ref, _ = np.histogram(v, bins=5, range=(1200, 1400))
    np.testing.assert_array_equal(r["hist"], ref)


def test_stats_multiband_nan_and_empty():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(3, 70, 90)).astype(np.float64)
    a[1, 10:20, :] = np.nan          # NaN counts as nodata
    a[2] = 5                         # every pixel nodata
    s = tessera.stats(a, nodata=5)
    check(s[0], R.band_stats(a[0]))
    check(s[1], R.band_stats(a[1]))
    assert s[1]["nodata_count"] == 900
    assert s[2]["count"] == 0 and s[2]["nodata_count"] == 70 * 90
    assert all(math.isnan(s[2][k]) for k in ("min", "max", "mean", "std"))


def test_stats_threads_and_raster_tool(dem_file):
    runs = [tessera.stats(dem_file, bins=4, threads=n) for n in (1, 2, 3)]
    for r in runs:
        assert r[0]["mean"] == runs[0][0]["mean"]
        assert r[0]["std"] == runs[0][0]["std"]
        np.testing.assert_array_equal(r[0]["hist"], runs[0][0]["hist"])
    rt = raster_tool_json("stats", "--json", "--histogram", 4, dem_file)
    b = rt["bands"][0]
    assert b["count"] == runs[0][0]["count"]
    assert b["mean"] == runs[0][0]["mean"]
    assert b["stddev"] == runs[0][0]["std"]
    assert b["histogram"]["counts"] == runs[0][0]["hist"].tolist()


def test_stats_argument_errors(dem):
    with pytest.raises(ValueError, match="needs bins"):
        tessera.stats(dem, range=(0, 1))
    with pytest.raises(ValueError, match="hi < lo"):
        tessera.stats(dem, bins=3, range=(2, 1))
    with pytest.raises(ValueError, match="bins"):
        tessera.stats(dem, bins=-1)
    with pytest.raises(TypeError, match="compress"):
        tessera.stats(dem, compress="none")
