"""The GIL is released for the C work: other Python threads run during a
call, and several threads may call tessera at once."""

import threading
import time

import numpy as np
import pytest

import tessera
from conftest import SANITIZERS


@pytest.fixture(scope="module")
def big_dem(tmp_path_factory):
    p = tmp_path_factory.mktemp("gil") / "dem4096.tif"
    tessera.synth(p, size=(4096, 4096), seed=3, octaves=3)
    return p


def test_a_python_thread_keeps_running_during_a_call(big_dem):
    count = 0
    running = True

    def counter():
        nonlocal count
        while running:
            count += 1

    th = threading.Thread(target=counter)
    th.start()
    try:
        time.sleep(0.3)                 # alone: its rate
        t0, c0 = time.perf_counter(), count
        time.sleep(0.3)
        rate = (count - c0) / (time.perf_counter() - t0)
        t0, c0 = time.perf_counter(), count
        tessera.hillshade(big_dem, threads=2)
        seconds = time.perf_counter() - t0
        during = count - c0
    finally:
        running = False
        th.join()
    # Were the GIL held for the call, the counter would stand still but
    # for the call's few milliseconds of Python; released, it keeps a good
    # part of its rate (it shares the CPUs with the workers).
    assert during > 10000 and during > 0.1 * rate * seconds, \
        (during, rate, seconds)


def test_four_threads_call_at_once(big_dem, dem_file, dem):
    want = {
        "shade": tessera.hillshade(dem_file),
        "slope": tessera.slope(dem, res=(30.0, -30.0), nodata=-9999.0),
        "stats": tessera.stats(dem_file, bins=5),
        "tiles": tessera.map_tiles(lambda t: t * 2, dem, None),
    }
    jobs = {
        "shade": lambda: tessera.hillshade(dem_file),
        "slope": lambda: tessera.slope(dem, res=(30.0, -30.0),
                                       nodata=-9999.0),
        "stats": lambda: tessera.stats(dem_file, bins=5),
        "tiles": lambda: tessera.map_tiles(lambda t: t * 2, dem, None),
    }
    got, errors = {}, []
    barrier = threading.Barrier(4)

    def run(name):
        try:
            barrier.wait()
            for _ in range(5):
                got[name] = jobs[name]()
                if name != "stats":
                    np.testing.assert_array_equal(got[name], want[name])
        except BaseException as e:   # reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(n,)) for n in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert got["stats"][0]["mean"] == want["stats"][0]["mean"]
    np.testing.assert_array_equal(got["stats"][0]["hist"],
                                  want["stats"][0]["hist"])


def test_progress_is_called_on_the_calling_thread(big_dem, tmp_path):
    calls = []
    tessera.slope(big_dem, tmp_path / "s.tif",
                  progress=lambda d, t: calls.append(
                      (d, t, threading.get_ident())))
    assert calls[-1][:2] == (256, 256)
    assert all(c[2] == threading.get_ident() for c in calls)
    assert [c[0] for c in calls] == sorted(c[0] for c in calls)


def _blur_sum(a):
    return float(tessera.blur(a, 2.0).sum())


@pytest.mark.skipif("thread" in SANITIZERS, reason="ThreadSanitizer's "
                    "runtime does not survive fork() of a threaded process")
def test_forked_children_make_their_own_pools():
    """The parent's pools are unusable in a fork()ed child (TES_EFORKED):
    the child makes its own, so multiprocessing's fork start works."""
    import multiprocessing
    a = np.random.default_rng(1).normal(size=(300, 300)).astype(np.float32)
    want = _blur_sum(a)                       # the parent's pool exists
    with multiprocessing.get_context("fork").Pool(2) as pool:
        assert pool.map(_blur_sum, [a] * 4) == [want] * 4
