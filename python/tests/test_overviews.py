"""tessera.overviews(): gdaladdo's job from Python. The levels' sizes
against gdaladdo's rule and their pixels against numpy references written
here from tessera_raster(3)'s formulas, read back with libtiff itself
(ctypes) rather than with tessera; the same bytes as raster-tool
overviews; external .ovr files; a failing or interrupted run leaves the
file as it was; progress; GDAL (when installed) sees the levels."""

import ctypes
import ctypes.util
import hashlib
import math
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import tessera
from conftest import (RASTER_TOOL, Counter, child_env, raster_tool,
                      same_bytes)

# ---------------------------------------------------------------------------
# references
# ---------------------------------------------------------------------------


def gdaladdo_levels(w, h, min_size):
    """gdaladdo's levels with no list given: factors 2, 4, 8, ... with
    sizes (n + f - 1) / f, until both sides are at most min_size."""
    out, f = [], 2
    while True:
        if out and out[-1][0] <= min_size and out[-1][1] <= min_size:
            return out
        if not out and w <= min_size and h <= min_size:
            return out
        out.append(((w + f - 1) // f, (h + f - 1) // f))
        f *= 2


def ratio_of(src_n, dst_n):
    return src_n / dst_n


def nearest_level(a, dw, dh):
    """tessera_raster(3): the pixel at (int)(0.5 + i * ratio) in each
    direction, ratio = the size above / this size."""
    sh, sw = a.shape
    ys = np.minimum((0.5 + np.arange(dh) * ratio_of(sh, dh)).astype(np.int64),
                    sh - 1)
    xs = np.minimum((0.5 + np.arange(dw) * ratio_of(sw, dw)).astype(np.int64),
                    sw - 1)
    return a[np.ix_(ys, xs)]


def area_weights(src_n, dst_n):
    """(dst_n, src_n): the length of source pixel j inside output pixel i's
    span [i * ratio, (i + 1) * ratio)."""
    r = ratio_of(src_n, dst_n)
    lo = np.arange(dst_n)[:, None] * r
    hi = lo + r
    j = np.arange(src_n)[None, :]
    return np.clip(np.minimum(hi, j + 1) - np.maximum(lo, j), 0, None)


def average_mean(a, dw, dh):
    """tessera_raster(3): the area-weighted mean of the pixels under the
    output pixel (fractional weights at its borders when the ratio is not
    2), in float64."""
    sh, sw = a.shape
    wy, wx = area_weights(sh, dh), area_weights(sw, dw)
    return (wy @ a.astype(np.float64) @ wx.T) / np.outer(wy.sum(1),
                                                         wx.sum(1))


def average_level(a, dw, dh):
    """The mean in a's type: uint8 and uint16 round half up. GDAL's fast
    path, as tessera_raster(3) documents it: float32, int16 and int8 (no
    nodata here) when the width halves exactly take the plain mean of an
    output pixel's four pixels when its span covers two rows."""
    mean = average_mean(a, dw, dh)
    if a.dtype in (np.uint8, np.uint16):
        return np.floor(mean + 0.5).astype(a.dtype)
    sh, sw = a.shape
    if a.dtype in (np.float32, np.int16, np.int8) and sw == 2 * dw:
        r = sh / dh
        for i in range(dh):
            y0, y1 = math.floor(i * r + 1e-8), math.ceil((i + 1) * r - 1e-8)
            if y1 - y0 == 2:
                mean[i] = a[y0:y1].astype(np.float64).reshape(
                    2, dw, 2).mean(axis=(0, 2))
    return mean.astype(a.dtype)


def half_ties(a, dw, dh):
    """Where the exact mean is an integer and a half while the ratio is
    not 2: fractional weights make it inexact in floating point (GDAL's
    sums and ours land on either side), so rounding may go either way."""
    if a.shape == (2 * dh, 2 * dw):
        return np.zeros((dh, dw), bool)
    m = average_mean(a, dw, dh)
    return np.abs(m - np.floor(m) - 0.5) < 1e-9


# ---------------------------------------------------------------------------
# reading a TIFF's directories with libtiff, independently of tessera
# ---------------------------------------------------------------------------

_LIBTIFF = ctypes.util.find_library("tiff")


def libtiff():
    if not _LIBTIFF:
        pytest.skip("libtiff not found by ctypes")
    lib = ctypes.CDLL(_LIBTIFF)
    lib.TIFFOpen.restype = ctypes.c_void_p
    lib.TIFFOpen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    lib.TIFFClose.argtypes = [ctypes.c_void_p]
    lib.TIFFSetDirectory.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
    lib.TIFFNumberOfDirectories.argtypes = [ctypes.c_void_p]
    lib.TIFFTileSize.restype = ctypes.c_ssize_t
    lib.TIFFTileSize.argtypes = [ctypes.c_void_p]
    lib.TIFFReadTile.restype = ctypes.c_ssize_t
    lib.TIFFReadTile.argtypes = [ctypes.c_void_p, ctypes.c_void_p,
                                 ctypes.c_uint32, ctypes.c_uint32,
                                 ctypes.c_uint32, ctypes.c_uint16]
    lib.TIFFSetWarningHandler.restype = ctypes.c_void_p
    lib.TIFFSetWarningHandler.argtypes = [ctypes.c_void_p]
    lib.TIFFSetWarningHandler(None)     # GDAL's and GeoTIFF's tags
    return lib


def read_directories(path, dtype):
    """Every directory of a tiled one-band TIFF as an array."""
    lib = libtiff()
    t = lib.TIFFOpen(os.fsencode(path), b"r")
    assert t, path
    images = []
    try:
        for d in range(lib.TIFFNumberOfDirectories(t)):
            assert lib.TIFFSetDirectory(t, d) == 1
            v = [ctypes.c_uint32() for _ in range(4)]
            for tag, val in zip((256, 257, 322, 323), v):   # width, length,
                # variadic, so no argtypes: the handle must go as a
                # pointer, or ctypes passes a C int and cuts an address
                # above 4 GiB (the heap of a sanitized process)
                assert lib.TIFFGetField(ctypes.c_void_p(t),  # tiles
                                        ctypes.c_uint32(tag),
                                        ctypes.byref(val)) == 1
            w, h, tw, th = (x.value for x in v)
            assert lib.TIFFTileSize(t) == tw * th * np.dtype(dtype).itemsize
            img = np.empty((h, w), dtype)
            buf = np.empty((th, tw), dtype)
            for y0 in range(0, h, th):
                for x0 in range(0, w, tw):
                    assert lib.TIFFReadTile(t, buf.ctypes.data, x0, y0, 0,
                                            0) > 0
                    part = img[y0:y0 + th, x0:x0 + tw]
                    part[...] = buf[:part.shape[0], :part.shape[1]]
            images.append(img)
    finally:
        lib.TIFFClose(t)
    return images


# ---------------------------------------------------------------------------
# inputs
# ---------------------------------------------------------------------------

W, H = 1000, 700          # odd sizes below: 175 -> 88, 125 -> 63


def smooth_noise(dtype, seed):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:H, 0:W]
    a = 2000 + 1500 * np.sin(x / 37.0) * np.cos(y / 23.0)
    a += rng.normal(0, 300, (H, W))
    return np.clip(a, 0, 60000).astype(dtype)


@pytest.fixture(scope="module")
def u16(tmp_path_factory):
    """(path, array): a 1000x700 uint16 deflate file of 64-pixel tiles."""
    a = smooth_noise(np.uint16, 1)
    p = tmp_path_factory.mktemp("ovr") / "u16.tif"
    tessera.convert(a, p, tile=64)
    return p, a


@pytest.fixture(scope="module")
def f32(tmp_path_factory):
    a = smooth_noise(np.float32, 2) / np.float32(7)
    p = tmp_path_factory.mktemp("ovr") / "f32.tif"
    tessera.convert(a, p, tile=64)
    return p, a


def copy(src, tmp_path, name="a.tif"):
    dst = tmp_path / name
    shutil.copyfile(src, dst)
    return dst


def digest(p):
    return hashlib.sha256(open(p, "rb").read()).hexdigest()


def listing(d):
    return sorted(os.listdir(d))


# ---------------------------------------------------------------------------
# levels and pixels
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("size,min_size", [
    ((1000, 700), 64), ((1000, 700), 256), ((300, 200), 256),
    ((257, 20), 16), ((256, 256), 256), ((40, 600), 1)])
def test_levels_follow_gdaladdos_rule(tmp_path, size, min_size):
    p = tmp_path / "s.tif"
    tessera.synth(p, size=size, octaves=2)
    before = digest(p)
    tessera.overviews(p, min_size=min_size)
    want = gdaladdo_levels(size[0], size[1], min_size)
    got = tessera.info(p)["overviews"]
    assert [(o["width"], o["height"]) for o in got] == want
    assert not any(o["external"] for o in got)
    if not want:                       # nothing to add: left alone
        assert digest(p) == before
    # the full resolution reads the same
    assert np.array_equal(tessera.convert(p, None),
                          tessera.synth(size=size, octaves=2))


@pytest.mark.parametrize("method", ["nearest", "average"])
@pytest.mark.parametrize("kind", ["u16", "f32"])
def test_level_pixels_equal_numpy(request, tmp_path, method, kind):
    src, a = request.getfixturevalue(kind)
    p = copy(src, tmp_path)
    tessera.overviews(p, resampling=method, min_size=64, threads=2)
    levels = gdaladdo_levels(W, H, 64)
    assert len(levels) == 4
    images = read_directories(p, a.dtype)
    assert len(images) == 1 + len(levels)
    assert np.array_equal(images[0], a)
    ties = 0
    for i, (dw, dh) in enumerate(levels):
        # each level from the one above, as the manual says (so that one
        # level's ties do not spread into the next one's reference)
        above, got = images[i], images[i + 1]
        if method == "nearest":
            want = nearest_level(above, dw, dh)
        else:
            want = average_level(above, dw, dh)
        assert got.shape == want.shape == (dh, dw), i
        if method == "average" and a.dtype == np.float32:
            # float32 sums in GDAL's order against float64 here
            np.testing.assert_allclose(got, want, rtol=2e-6, err_msg=str(i))
            continue
        bad = got != want
        if method == "average":
            tie = half_ties(above, dw, dh)
            assert np.all(np.abs(got[bad].astype(int) - want[bad]) == 1)
            ties += np.count_nonzero(bad & tie)
            bad &= ~tie
        where = np.argwhere(bad)
        assert where.size == 0, (i, where[:5], got[tuple(where[0])],
                                 want[tuple(where[0])])
    assert ties < 50, ties               # rare: exact halves only


def test_equals_raster_tool(u16, tmp_path):
    """The same bytes as raster-tool overviews with the same options (its
    defaults included), internal and external, at any thread count."""
    if not RASTER_TOOL:
        pytest.skip("raster-tool not built (TES_BUILD unset)")
    cases = [({}, []),
             ({"resampling": "average", "min_size": 100, "tile": 32},
              ["-r", "average", "--min-size", "100", "--tile", "32"]),
             ({"resampling": "cubic", "external": True, "level": 9},
              ["-r", "cubic", "--external", "--level", "9"])]
    for n, (kw, flags) in enumerate(cases):
        a = copy(u16[0], tmp_path, f"py{n}.tif")
        b = copy(u16[0], tmp_path, f"rt{n}.tif")
        tessera.overviews(a, threads=3, **kw)
        raster_tool("overviews", "--quiet", "-j", 1, *flags, b)
        assert same_bytes(a, b), kw
        if kw.get("external"):
            assert same_bytes(f"{a}.ovr", f"{b}.ovr")


def test_external_writes_ovr_and_leaves_the_file(u16, tmp_path):
    p = copy(u16[0], tmp_path)
    before = digest(p)
    tessera.overviews(os.fspath(p).encode(), external=True, min_size=100,
                      resampling="average")
    assert digest(p) == before
    assert listing(tmp_path) == ["a.tif", "a.tif.ovr"]
    want = gdaladdo_levels(W, H, 100)
    got = tessera.info(p)["overviews"]
    assert [(o["width"], o["height"], o["external"]) for o in got] == \
        [(w, h, True) for w, h in want]
    # the .ovr holds the levels, largest first (the pixels' rules are
    # test_level_pixels_equal_numpy's; the first level halves exactly)
    images = read_directories(f"{p}.ovr", np.uint16)
    assert [i.shape[::-1] for i in images] == want
    assert np.array_equal(images[0], average_level(u16[1], *want[0]))


# ---------------------------------------------------------------------------
# failures leave the file as it was
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("kw,exc,match", [
    ({"resampling": "lanczos"}, ValueError, "resampling: 'lanczos'"),
    ({"resampling": 2}, TypeError, "resampling"),
    ({"external": "yes"}, TypeError, "external"),
    ({"min_size": 0}, ValueError, "min_size"),
    ({"min_size": 2.5}, TypeError, "min_size"),
    ({"tile": 24}, ValueError, "multiple of 16"),
    ({"tile": (32, 64)}, ValueError, "square"),
    ({"level": 0}, ValueError, "level"),
    ({"threads": 0}, ValueError, "threads"),
    ({"progress": 5}, TypeError, "progress"),
    ({"level": 20}, tessera.TesseraError, "deflate level 20 is not in"),
])
def test_bad_arguments_change_nothing(u16, tmp_path, kw, exc, match):
    p = copy(u16[0], tmp_path)
    before = digest(p)
    with pytest.raises(exc, match=match):
        tessera.overviews(p, **kw)
    assert digest(p) == before
    assert listing(tmp_path) == ["a.tif"]


def test_bad_paths(tmp_path):
    with pytest.raises(TypeError, match="path"):
        tessera.overviews(3)
    missing = tmp_path / "missing.tif"
    with pytest.raises(tessera.TesseraError) as e:
        tessera.overviews(missing)
    assert str(e.value) == f"{missing}: No such file or directory"
    assert e.value.code == -2
    assert listing(tmp_path) == []
    junk = tmp_path / "junk.tif"
    junk.write_bytes(b"II*\0" + b"\xff" * 60)
    with pytest.raises(tessera.TesseraError, match=str(junk)):
        tessera.overviews(junk)
    assert junk.read_bytes() == b"II*\0" + b"\xff" * 60
    assert listing(tmp_path) == ["junk.tif"]


def test_failed_write_leaves_file_and_ovr(u16, tmp_path):
    """The .ovr cannot be put in place (a folder has its name): the error
    names it, the file is as it was, and nothing else is left."""
    p = copy(u16[0], tmp_path)
    before = digest(p)
    os.mkdir(f"{p}.ovr")
    with pytest.raises(tessera.TesseraError, match=str(p)):
        tessera.overviews(p, external=True)
    assert digest(p) == before
    assert listing(tmp_path) == ["a.tif", "a.tif.ovr"]
    assert os.listdir(f"{p}.ovr") == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes in a read-only "
                    "folder")
@pytest.mark.parametrize("external", [False, True])
def test_read_only_folder(u16, tmp_path, external):
    d = tmp_path / "ro"
    d.mkdir()
    p = copy(u16[0], d)
    before = digest(p)
    d.chmod(0o555)
    try:
        with pytest.raises(tessera.TesseraError, match=str(p)) as e:
            tessera.overviews(p, external=external)
        assert e.value.code == -13      # EACCES
    finally:
        d.chmod(0o755)
    assert digest(p) == before
    assert listing(d) == ["a.tif"]


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """A DEM whose levels (cubic, 16-pixel tiles, down to 1 pixel, one
    thread) take a second or more: LONG_RUN."""
    p = tmp_path_factory.mktemp("ovr") / "big.tif"
    tessera.synth(p, size=(4000, 4000), octaves=1)
    return p


LONG_RUN = dict(resampling="cubic", tile=16, min_size=1, threads=1)


def test_exception_in_progress_stops_and_leaves_the_file(big, tmp_path):
    p = copy(big, tmp_path)
    before = digest(p)
    seen = []

    def progress(done, total):
        seen.append((done, total))
        raise OSError("stop here")

    with pytest.raises(OSError, match="stop here"):
        tessera.overviews(p, progress=progress, **LONG_RUN)
    assert len(seen) == 1 and seen[0][0] < seen[0][1], seen
    assert digest(p) == before
    assert listing(tmp_path) == ["a.tif"]
    assert tessera.info(p)["overviews"] == []


def test_inside_map_tiles_is_refused(u16, tmp_path):
    p = copy(u16[0], tmp_path)
    before = digest(p)

    def fn(t):
        tessera.overviews(p)
        return t

    with pytest.raises(RuntimeError, match="inside a map_tiles"):
        tessera.map_tiles(fn, p, None, threads=2)
    assert digest(p) == before


# ---------------------------------------------------------------------------
# progress, the GIL, Ctrl-C
# ---------------------------------------------------------------------------

def test_progress_counts_the_levels_tiles(u16, tmp_path):
    p = copy(u16[0], tmp_path)
    calls = []
    me = threading.get_ident()
    tessera.overviews(p, min_size=32, tile=32, threads=2,
                      progress=lambda d, t: calls.append(
                          (d, t, threading.get_ident())))
    total = sum(math.ceil(w / 32) * math.ceil(h / 32)
                for w, h in gdaladdo_levels(W, H, 32))
    assert calls and calls[-1][:2] == (total, total)
    assert all(t == total and th == me for _, t, th in calls)
    done = [d for d, _, _ in calls]
    assert done == sorted(done) and 1 <= done[0]


def test_no_level_no_progress_call(tmp_path):
    p = tmp_path / "small.tif"
    tessera.synth(p, size=(100, 80))
    calls = []
    tessera.overviews(p, progress=lambda d, t: calls.append((d, t)))
    assert calls == []


def test_the_gil_is_released(big, tmp_path):
    p = copy(big, tmp_path)
    with Counter() as c:
        time.sleep(0.1)
        c0 = c.count
        tessera.overviews(p, **LONG_RUN)
        during = c.count - c0
    assert during > 10000, during


SCRIPT = textwrap.dedent("""
    import sys, tessera
    started = False
    def progress(done, total):
        global started
        if not started:
            started = True
            print("started", flush=True)
    try:
        tessera.overviews(sys.argv[1], progress=progress, **eval(sys.argv[2]))
    except KeyboardInterrupt:
        print("KeyboardInterrupt", flush=True)
        raise
    print("finished", flush=True)
""")


def test_ctrl_c_stops_and_leaves_the_file(big, tmp_path):
    p = copy(big, tmp_path, "dem.tif")
    before = digest(p)
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(p), repr(LONG_RUN)], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env=child_env(), cwd=tmp_path,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert proc.stdout.readline().strip() == "started"
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    took = time.monotonic() - t0
    assert "finished" not in stdout, "the run ended before the signal"
    assert "KeyboardInterrupt" in stdout, (stdout, stderr)
    assert proc.returncode != 0
    assert took < 2.0, took
    assert digest(p) == before
    assert listing(tmp_path) == ["dem.tif"]


# ---------------------------------------------------------------------------
# GDAL sees them
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("external", [False, True])
def test_gdal_sees_the_overviews(u16, tmp_path, external):
    gdal = pytest.importorskip("osgeo.gdal",
                               reason="GDAL's Python (python3-gdal) not "
                                      "installed")
    p = copy(u16[0], tmp_path)
    tessera.overviews(p, external=external, min_size=64,
                      resampling="average")
    want = gdaladdo_levels(W, H, 64)
    ds = gdal.Open(str(p))
    band = ds.GetRasterBand(1)
    assert band.GetOverviewCount() == len(want)
    assert [(band.GetOverview(i).XSize, band.GetOverview(i).YSize)
            for i in range(len(want))] == want
    assert np.array_equal(band.GetOverview(0).ReadAsArray(),
                          average_level(u16[1], *want[0]))
    ds = None
