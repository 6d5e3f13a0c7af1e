"""memory=: a run's memory budget on every function that runs a job. A job
that its arguments make huge is refused before it allocates (a
MemoryBudgetError, which is a TesseraError and a MemoryError, with the
library's one line), fast and with nothing written; a job whose estimate
just fits runs and gives the answer it gives without a budget."""

import os
import re
import resource
import shutil
import time

import numpy as np
import pytest

import tessera
from conftest import SANITIZED, same_bytes

ETOOBIG = -10104


def needs(e):
    """The estimate in a refusal, in bytes, and twice its rounding."""
    m = re.search(r"needs about ([0-9.]+) (GB|MB|kB) of memory", str(e))
    assert m, str(e)
    unit = {"GB": 1e9, "MB": 1e6, "kB": 1e3}[m.group(2)]
    return float(m.group(1)) * unit, unit / 10


def test_stats_histogram_over_budget_refused_up_front():
    a = (np.arange(64 * 64, dtype=np.float32) % 7).reshape(64, 64)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.monotonic()
    with pytest.raises(tessera.MemoryBudgetError) as e:
        tessera.stats(a, bins=10**6, range=(0, 7), memory="1M", threads=2)
    secs = time.monotonic() - t0
    grew = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0
    print(f"budget: stats(bins=10**6, memory='1M') refused in {secs:.6f} s,"
          f" peak RSS +{grew} KB")
    assert isinstance(e.value, MemoryError)
    assert isinstance(e.value, tessera.TesseraError)
    assert e.value.code == ETOOBIG
    assert str(e.value) == (
        "stats: needs about 56.0 MB of memory (6 tiles in flight of 8.0 MB "
        "each, mostly the kernel's partial result), more than the memory "
        "budget of 1.0 MB (see memory=)")
    if not SANITIZED:
        assert grew < 50 * 1024
    # just under the estimate: refused; just over it: the numpy histogram
    need, slack = needs(e.value)
    with pytest.raises(MemoryError):
        tessera.stats(a, bins=10**6, range=(0, 7), threads=2,
                      memory=int(need - slack))
    s = tessera.stats(a, bins=10**6, range=(0, 7), threads=2,
                      memory=int(need + slack))[0]
    ref, _ = np.histogram(a.astype(np.float64), bins=10**6, range=(0, 7))
    np.testing.assert_array_equal(s["hist"], ref)
    assert s["count"] == 64 * 64


def test_files_and_sizes_as_raster_tool_writes_them(dem_file, tmp_path):
    # through the file pipeline: the bands x bins partials, and the result
    with pytest.raises(tessera.MemoryBudgetError, match=re.escape(
            f"{dem_file}: needs about ")) as e:
        tessera.stats(dem_file, bins=10**6, memory="4M")
    assert "more than the memory budget of 4.2 MB (see memory=)" in \
        str(e.value)
    # sizes: bytes, "512K", "none"; the second histogram pass too
    def plain(r):
        return [dict(d, hist=d["hist"].tolist()) for d in r]
    assert plain(tessera.stats(dem_file, bins=100, memory=1 << 30)) == \
        plain(tessera.stats(dem_file, bins=100, memory="none")) == \
        plain(tessera.stats(dem_file, bins=100))
    for bad in ("lots", "0", "-1M", ""):
        with pytest.raises(ValueError, match="memory"):
            tessera.stats(dem_file, memory=bad)
    for bad in (0, -5, 2**64):
        with pytest.raises(ValueError, match="memory"):
            tessera.slope(dem_file, memory=bad)
    for bad in (1.5, True, [1]):
        with pytest.raises(TypeError, match="memory"):
            tessera.slope(dem_file, memory=bad)


def test_every_job_takes_memory(dem, dem_file, tmp_path):
    """A tiny budget refuses every kind of job before it writes anything;
    "none" runs it."""
    out = tmp_path / "o.tif"
    jobs = [
        lambda m: tessera.slope(dem, memory=m),
        lambda m: tessera.slope(dem_file, out, memory=m),
        lambda m: tessera.hillshade(dem, out, memory=m),
        lambda m: tessera.calc("A * 2", A=dem, memory=m),
        lambda m: tessera.convert(dem, out, type="int16", memory=m),
        lambda m: tessera.blur(dem_file, 2.0, memory=m),
        lambda m: tessera.color_relief(dem, [(0, 0, 0, 0), ("100%", 255, 255,
                                                            255)],
                                       memory=m),
        lambda m: tessera.synth(size=300, memory=m),
        lambda m: tessera.map_tiles(lambda t: t[1:-1, 1:-1], dem, None, halo=1,
                                    memory=m),
    ]
    for job in jobs:
        with pytest.raises(tessera.MemoryBudgetError):
            job("1K")
        assert os.listdir(tmp_path) == []
    for job in jobs:
        job("none")
        if out.exists():
            out.unlink()


def test_staging_image_counted(tmp_path):
    """An array through a kernel into a file is kept whole between the two
    phases: that image is in the budget, named, before it is allocated."""
    a = np.zeros((2000, 2000), np.float32)
    out = tmp_path / "o.tif"
    with pytest.raises(tessera.MemoryBudgetError) as e:
        tessera.slope(a, out, memory="12M")
    assert "(the output image before it is written of 16.0 MB)" in \
        str(e.value)
    assert os.listdir(tmp_path) == []
    need, slack = needs(e.value)
    tessera.slope(a, out, memory=int(need + 40e6))
    assert tessera.info(out)["width"] == 2000


def test_overviews_within_budget(dem_file, tmp_path):
    a, b = tmp_path / "a.tif", tmp_path / "b.tif"
    shutil.copy(dem_file, a)
    shutil.copy(dem_file, b)
    before = b.read_bytes()
    tessera.overviews(a, min_size=64)
    with pytest.raises(tessera.MemoryBudgetError,
                       match="more than the memory budget of 1.0 kB"):
        tessera.overviews(b, min_size=64, memory=1000)
    assert b.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["a.tif", "b.tif"]
    tessera.overviews(b, min_size=64, memory="2G")
    assert same_bytes(a, b)
