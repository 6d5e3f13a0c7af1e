"""map_tiles: halo windows at every edge against numpy on the whole array,
errors in fn, results of the wrong shape or type, determinism, workers,
and memory bounded on a raster far larger than it."""

import os
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

import tessera
from conftest import SANITIZED, H, W, child_env, same_bytes


def box(t, halo):
    """The (2 halo + 1)^2 box sum of a window: the output tile."""
    h, w = t.shape[-2] - 2 * halo, t.shape[-1] - 2 * halo
    acc = np.zeros(t.shape[:-2] + (h, w), np.float64)
    for dy in range(2 * halo + 1):
        for dx in range(2 * halo + 1):
            acc += t[..., dy:dy + h, dx:dx + w]
    return acc


@pytest.mark.parametrize("halo", [0, 1, 3])
@pytest.mark.parametrize("tile", [64, (48, 32)])
def test_halo_windows_at_every_edge(dem2_file, halo, tile):
    a = tessera.convert(dem2_file, None).astype(np.float64)
    shapes = []

    def fn(t):
        assert not t.flags.writeable
        shapes.append(t.shape)
        return box(t, halo)

    got = tessera.map_tiles(fn, a, None, halo=halo, tile=tile)
    ref = box(np.pad(a, halo, mode="edge"), halo)
    np.testing.assert_array_equal(got, ref)
    tw, th = (tile, tile) if isinstance(tile, int) else tile
    assert (th + 2 * halo, tw + 2 * halo) in shapes          # interior
    assert (H % th + 2 * halo, W % tw + 2 * halo) in shapes  # corner
    # and from the file, the same
    np.testing.assert_array_equal(
        tessera.map_tiles(lambda t: box(t.astype(np.float64), halo),
                          dem2_file, None, halo=halo, tile=tile,
                          dtype=np.float64), ref)


def test_multiband_dtype_out_bands_and_sources(rgb_file, dem2_file):
    rgb = tessera.convert(rgb_file, None)
    got = tessera.map_tiles(lambda t: (t[0] / (t[1] + t[2] + 1.0)
                                       ).astype(np.float32),
                            rgb_file, None, dtype="float32", out_bands=1)
    ref = (rgb[0] / (rgb[1] + rgb[2] + 1.0)).astype(np.float32)
    np.testing.assert_array_equal(got, ref)
    two = tessera.map_tiles(lambda t: np.stack([t[0], t[2]]), rgb, None,
                            out_bands=2)
    np.testing.assert_array_equal(two, rgb[[0, 2]])
    # several sources: fn(a, b)
    d = tessera.convert(dem2_file, None)
    s = tessera.map_tiles(lambda x, y: (x[0] + y).astype(np.float32),
                          [rgb, d], None, dtype=np.float32, out_bands=1)
    np.testing.assert_array_equal(s, (rgb[0] + d).astype(np.float32))


def numpy_hillshade(t):
    """A numpy Horn hillshade of a window with halo 1 (the kind of fn the
    issue means), uint8."""
    t = t.astype(np.float64)
    x = ((t[:-2, :-2] + 2 * t[1:-1, :-2] + t[2:, :-2]) -
         (t[:-2, 2:] + 2 * t[1:-1, 2:] + t[2:, 2:])) / 240.0
    y = ((t[2:, :-2] + 2 * t[2:, 1:-1] + t[2:, 2:]) -
         (t[:-2, :-2] + 2 * t[:-2, 1:-1] + t[:-2, 2:])) / -240.0
    c = (0.7071 - (y * -0.5 + x * 0.5)) / np.sqrt(1 + x * x + y * y)
    return np.clip(1 + 254 * c, 1, 255).astype(np.uint8)


def test_deterministic_at_any_thread_count(dem2_file, tmp_path):
    for n in (1, 2, 3):
        tessera.map_tiles(numpy_hillshade, dem2_file, tmp_path / f"{n}.tif",
                          halo=1, dtype=np.uint8, tile=64, threads=n)
    assert same_bytes(tmp_path / "1.tif", tmp_path / "2.tif")
    assert same_bytes(tmp_path / "1.tif", tmp_path / "3.tif")
    i = tessera.info(tmp_path / "1.tif")
    assert i["type"] == "uint8" and i["geotransform"] is not None


def test_fn_runs_on_several_workers(dem2_file):
    seen = set()
    lock = threading.Lock()

    def fn(t):
        with lock:
            seen.add(threading.get_ident())
        return numpy_hillshade(t)

    tessera.map_tiles(fn, dem2_file, None, halo=1, dtype=np.uint8, tile=32,
                      threads=2)
    assert len(seen) == 2 and threading.get_ident() not in seen


def test_exception_in_fn_stops_the_run(dem2_file, tmp_path):
    calls = []

    def fn(t):
        calls.append(1)
        if len(calls) == 3:
            raise ZeroDivisionError("deliberate")
        return t

    out = tmp_path / "o.tif"
    with pytest.raises(ZeroDivisionError, match="deliberate") as e:
        tessera.map_tiles(fn, dem2_file, out, tile=16, threads=2)
    assert any("tessera.map_tiles" in n and "tile" in n and "row" in n
               for n in e.value.__notes__)
    assert os.listdir(tmp_path) == []            # no output, no temporary
    assert len(calls) < 40                       # of 323 tiles


def test_wrong_result_is_a_clear_error(dem2_file, tmp_path):
    with pytest.raises(ValueError,
                       match=r"shape \(10, 64\) at tile \d+ \(row"):
        tessera.map_tiles(lambda t: t[:10], dem2_file, None, tile=64)
    with pytest.raises(TypeError, match="returned float64 at tile"):
        tessera.map_tiles(lambda t: t.astype(np.float64), dem2_file,
                          tmp_path / "o.tif",
                          tile=64)
    with pytest.raises(TypeError, match="not a numpy array"):
        tessera.map_tiles(lambda t: None, dem2_file, None)
    assert os.listdir(tmp_path) == []
    with pytest.raises(TypeError, match="callable"):
        tessera.map_tiles(5, dem2_file, None)
    with pytest.raises(TypeError, match="all paths or all arrays"):
        tessera.map_tiles(lambda a, b: a, [dem2_file, np.zeros((H, W))],
                          None)


def test_kept_windows_stay_valid(dem2_file):
    kept = []

    def fn(t):
        kept.append(t)
        return t

    tessera.map_tiles(fn, dem2_file, None, tile=128)
    a = tessera.convert(dem2_file, None)
    assert len(kept) == 9
    assert sum(k.size for k in kept) == a.size
    assert {float(k.sum()) for k in kept} <= {
        float(a[y:y + 128, x:x + 128].sum())
        for y in range(0, H, 128) for x in range(0, W, 128)}


def test_fn_may_call_tessera(dem2_file):
    """A call from a worker runs on the worker (one thread: no deadlock)."""
    got = tessera.map_tiles(lambda t: tessera.blur(t, 1.0)[2:-2, 2:-2],
                            dem2_file, None, halo=2, threads=1, tile=128)
    assert got.shape == (H, W) and np.isfinite(got).all()


@pytest.mark.skipif(SANITIZED, reason="a sanitizer's runtime has its own "
                    "memory")
def test_memory_stays_bounded_on_a_large_raster(tmp_path):
    """A 16384^2 raster (256 MiB of pixels) through map_tiles, measured in
    a subprocess: peak RSS under 150 MB. The child's own peak is VmHWM
    (its address space's since the exec): getrusage's ru_maxrss is not
    reset by an exec and would count the pytest process it was forked
    from (about 155 MB once the whole suite had run)."""
    n = 16384
    src = tmp_path / "big.tif"
    row = (np.arange(n, dtype=np.uint32) * 7 % 251).astype(np.uint8)
    tessera.convert(np.broadcast_to(row, (n, n)), src, threads=2)
    script = textwrap.dedent(f"""
        import numpy as np, tessera
        tessera.map_tiles(lambda t: t[1:-1, 1:-1] // 2 + t[:-2, 2:] // 2,
                          {str(src)!r}, {str(tmp_path / 'out.tif')!r},
                          halo=1, threads=2)
        with open("/proc/self/status") as f:
            print([l.split()[1] for l in f if l.startswith("VmHWM:")][0])
    """)
    r = subprocess.run([sys.executable, "-c", script], capture_output=True,
                       text=True, timeout=300, env=child_env())
    assert r.returncode == 0, r.stderr
    peak_mb = int(r.stdout.split()[-1]) / 1024
    assert peak_mb < 150, f"peak RSS {peak_mb:.0f} MB"
    i = tessera.info(tmp_path / "out.tif")
    assert (i["width"], i["height"]) == (n, n)
    print(f"map_tiles over {n}^2: peak RSS {peak_mb:.0f} MB")
