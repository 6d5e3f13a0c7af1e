#!/usr/bin/env python3
"""The question tessera answers for Python users:

    "I have CPU-bound calculations over very large rasters; threads are held
    back by the GIL, multiprocessing copies everything -- what do I use?"

The same per-tile numpy job (a Horn hillshade of a DEM, or the band ratio
(A - B) / (A + B + 1) of two) written the ways people write it, timed side
by side on one machine:

    numpy            rasterio reads the whole raster, numpy computes, one
                     thread
    threads          rasterio block windows on a ThreadPoolExecutor (the
                     pattern of rasterio's concurrency example: a lock
                     around reads, another around writes)
    processes        multiprocessing.Pool over row strips: each worker reads
                     its strip, the parent writes the results
    numba            numba prange over the whole array (compile included)
    tessera          tessera.map_tiles with the same numpy function
                     tessera decodes, assembles windows, compresses and
                     writes in C on its pool and calls the function on
                     several workers at once
    tessera-kernel   tessera's own C kernel (tessera.hillshade, .calc)

Every variant writes a tiled, deflate-compressed GeoTIFF; the table says
how long each took, its speed-up over "numpy", and whether its pixels
equal map_tiles'. Peers that are not installed (rasterio, numba) are
skipped with a message.

    python3 tiles_three_ways.py                   # a 4096^2 synthetic DEM
    python3 tiles_three_ways.py --size 8192 --job calc --threads 2
    python3 tiles_three_ways.py --dem my_dem.tif

bench/python runs the same functions (--only NAME, one variant per
process) to measure time and peak memory.
"""

import argparse
import concurrent.futures
import math
import multiprocessing
import os
import sys
import tempfile
import threading
import time

import numpy as np

import tessera

# The peers, imported only by the variants that use them (so that the
# tessera variants' memory is not theirs): see load().
rasterio = Window = numba = None


def load(need):
    """Imports rasterio (and numba) for a variant; the reason it cannot run
    here, or None."""
    global rasterio, Window, numba
    try:
        if need in ("rasterio", "numba") and rasterio is None:
            import rasterio as r
            from rasterio.windows import Window as W
            rasterio, Window = r, W
    except ImportError:
        return "rasterio not installed (python3-rasterio)"
    try:
        if need == "numba" and numba is None:
            import numba as nb
            numba = nb
    except ImportError:
        return "numba not installed (python3-numba)"
    return None

# gdaldem hillshade's defaults: sun at azimuth 315, altitude 45; z 1
AZ, ALT = math.radians(315.0), math.radians(45.0)
SIN_ALT, COS_ALT = math.sin(ALT), math.cos(ALT)
SIN_AZ, COS_AZ = math.sin(AZ), math.cos(AZ)


# ---- the jobs: plain numpy on one window ---------------------------------

def shade(t, ewres, nsres):
    """Horn hillshade of a window with a 1-pixel halo (uint8, 1..255), in
    the DEM's own float32, as numpy keeps it."""
    a, b, c = t[:-2, :-2], t[:-2, 1:-1], t[:-2, 2:]
    d, f = t[1:-1, :-2], t[1:-1, 2:]
    g, h, i = t[2:, :-2], t[2:, 1:-1], t[2:, 2:]
    x = ((a + 2 * d + g) - (c + 2 * f + i)) / (8 * ewres)
    y = ((g + 2 * h + i) - (a + 2 * b + c)) / (8 * nsres)
    cang = (SIN_ALT - (y * COS_AZ * COS_ALT - x * SIN_AZ * COS_ALT)) \
        / np.sqrt(1 + x * x + y * y)
    return np.where(cang <= 0, 1.0, 1 + 254 * cang).astype(np.uint8)


def ratio(a, b):
    """(A - B) / (A + B + 1), float32."""
    return (a - b) / (a + b + np.float32(1))


JOBS = {
    # name: (halo, output dtype, inputs)
    "hillshade": (1, "uint8", 1),
    "calc": (0, "float32", 2),
}


def job_fn(job, gt):
    """The job as a function of the windows of its inputs."""
    if job == "hillshade":
        return lambda t: shade(t, gt[1], gt[5])
    return ratio


# ---- helpers for the rasterio peers ---------------------------------------

def read_window(ds, x0, y0, w, h, halo):
    """Band 1 of ds over (x0, y0, w, h) grown by halo, edges replicated (as
    tessera fills windows at the raster's edges)."""
    cx0, cy0 = max(x0 - halo, 0), max(y0 - halo, 0)
    cx1 = min(x0 + w + halo, ds.width)
    cy1 = min(y0 + h + halo, ds.height)
    a = ds.read(1, window=Window(cx0, cy0, cx1 - cx0, cy1 - cy0))
    pad = ((cy0 - (y0 - halo), (y0 + h + halo) - cy1),
           (cx0 - (x0 - halo), (x0 + w + halo) - cx1))
    return np.pad(a, pad, mode="edge") if any(sum(p) for p in pad) else a


def profile_for(src, dtype):
    p = src.profile.copy()
    p.update(driver="GTiff", dtype=dtype, count=1, tiled=True,
             blockxsize=256, blockysize=256, compress="deflate",
             nodata=None)
    return p


# ---- the variants -----------------------------------------------------------

def run_numpy(job, srcs, dst, threads):
    halo, dtype, _ = JOBS[job]
    with rasterio.open(srcs[0]) as s0:
        fn = job_fn(job, s0.transform.to_gdal())
        arrays = [s0.read(1)]
        for p in srcs[1:]:
            with rasterio.open(p) as s:
                arrays.append(s.read(1))
        if halo:
            arrays = [np.pad(a, halo, mode="edge") for a in arrays]
        out = fn(*arrays)
        with rasterio.open(dst, "w", **profile_for(s0, dtype)) as d:
            d.write(out, 1)


def run_threads(job, srcs, dst, threads):
    halo, dtype, _ = JOBS[job]
    ins = [rasterio.open(p) for p in srcs]
    try:
        fn = job_fn(job, ins[0].transform.to_gdal())
        read_lock, write_lock = threading.Lock(), threading.Lock()
        with rasterio.open(dst, "w", **profile_for(ins[0], dtype)) as d:
            def work(window):
                x0, y0 = int(window.col_off), int(window.row_off)
                w, h = int(window.width), int(window.height)
                with read_lock:
                    ts = [read_window(s, x0, y0, w, h, halo) for s in ins]
                out = fn(*ts)
                with write_lock:
                    d.write(out, 1, window=window)

            with concurrent.futures.ThreadPoolExecutor(threads) as ex:
                for _ in ex.map(work, [w for _, w in d.block_windows(1)]):
                    pass
    finally:
        for s in ins:
            s.close()


_strip_state = {}


def _strip(args):
    """A multiprocessing worker: reads its strip (+ halo) and computes it."""
    job, srcs, y0, h = args
    if _strip_state.get("srcs") != srcs:
        _strip_state["srcs"] = srcs
        _strip_state["ds"] = [rasterio.open(p) for p in srcs]
    ds = _strip_state["ds"]
    halo = JOBS[job][0]
    fn = job_fn(job, ds[0].transform.to_gdal())
    ts = [read_window(s, 0, y0, s.width, h, halo) for s in ds]
    return y0, fn(*ts)


def run_processes(job, srcs, dst, threads):
    dtype = JOBS[job][1]
    with rasterio.open(srcs[0]) as s0:
        height, prof = s0.height, profile_for(s0, dtype)
    strip = 256
    tasks = [(job, tuple(srcs), y, min(strip, height - y))
             for y in range(0, height, strip)]
    with multiprocessing.get_context("fork").Pool(threads) as pool, \
            rasterio.open(dst, "w", **prof) as d:
        for y0, out in pool.imap(_strip, tasks):
            d.write(out, 1, window=Window(0, y0, out.shape[1],
                                          out.shape[0]))


def _numba_kernels():
    @numba.njit(parallel=True, cache=False)
    def shade_nb(t, ewres, nsres, out):
        for r in numba.prange(out.shape[0]):
            for q in range(out.shape[1]):
                a, b, c = t[r, q], t[r, q + 1], t[r, q + 2]
                d, f = t[r + 1, q], t[r + 1, q + 2]
                g, h, i = t[r + 2, q], t[r + 2, q + 1], t[r + 2, q + 2]
                x = ((a + 2 * d + g) - (c + 2 * f + i)) / (8 * ewres)
                y = ((g + 2 * h + i) - (a + 2 * b + c)) / (8 * nsres)
                cang = (SIN_ALT - (y * COS_AZ * COS_ALT -
                                   x * SIN_AZ * COS_ALT)) \
                    / math.sqrt(1 + x * x + y * y)
                out[r, q] = 1 if cang <= 0 else np.uint8(1 + 254 * cang)

    @numba.njit(parallel=True, cache=False)
    def ratio_nb(a, b, out):
        for r in numba.prange(out.shape[0]):
            for q in range(out.shape[1]):
                out[r, q] = (a[r, q] - b[r, q]) / (a[r, q] + b[r, q] +
                                                   np.float32(1))
    return shade_nb, ratio_nb


def run_numba(job, srcs, dst, threads):
    numba.set_num_threads(threads)
    shade_nb, ratio_nb = _numba_kernels()
    halo, dtype, _ = JOBS[job]
    with rasterio.open(srcs[0]) as s0:
        gt = s0.transform.to_gdal()
        arrays = [s0.read(1)]
        for p in srcs[1:]:
            with rasterio.open(p) as s:
                arrays.append(s.read(1))
        out = np.empty(arrays[0].shape, dtype)
        if job == "hillshade":
            shade_nb(np.pad(arrays[0], 1, mode="edge").astype(np.float64),
                     gt[1], gt[5], out)
        else:
            ratio_nb(arrays[0], arrays[1], out)
        with rasterio.open(dst, "w", **profile_for(s0, dtype)) as d:
            d.write(out, 1)


def run_tessera(job, srcs, dst, threads):
    halo, dtype, _ = JOBS[job]
    gt = tessera.info(srcs[0])["geotransform"]
    tessera.map_tiles(job_fn(job, gt), list(srcs), dst, halo=halo,
                      dtype=dtype, threads=threads, overwrite=True)


def run_tessera_kernel(job, srcs, dst, threads):
    if job == "hillshade":
        tessera.hillshade(srcs[0], dst, threads=threads, overwrite=True)
    else:
        tessera.calc("(A - B) / (A + B + 1)", dst, A=srcs[0], B=srcs[1],
                     threads=threads, overwrite=True)


VARIANTS = {
    "numpy": (run_numpy, "rasterio + numpy, one thread", "rasterio"),
    "threads": (run_threads, "rasterio block windows + ThreadPoolExecutor",
                "rasterio"),
    "processes": (run_processes, "multiprocessing.Pool over row strips",
                  "rasterio"),
    "numba": (run_numba, "numba prange, whole array (compile included)",
              "numba"),
    "tessera": (run_tessera, "tessera.map_tiles, the same numpy function",
                None),
    "tessera-kernel": (run_tessera_kernel, "tessera's C kernel", None),
}


def make_inputs(folder, size, job):
    paths = []
    for k in range(JOBS[job][2]):
        p = os.path.join(folder, f"dem{k}_{size}.tif")
        if not os.path.exists(p):
            tessera.synth(p, size=size, seed=7 + k)
        paths.append(p)
    return paths


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--job", choices=sorted(JOBS), default="hillshade")
    ap.add_argument("--size", type=int, default=4096,
                    help="side of the synthetic DEM(s) (4096)")
    ap.add_argument("--dem", nargs="+", help="input file(s) instead")
    ap.add_argument("--threads", type=int, default=tessera.default_threads())
    ap.add_argument("--only", choices=sorted(VARIANTS),
                    help="run one variant and print its time (seconds)")
    ap.add_argument("--out", help="the output of --only")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        srcs = args.dem or make_inputs(tmp, args.size, args.job)
        if args.only:
            why = load(VARIANTS[args.only][2])
            if why:
                print(f"skipped: {why}")
                return 0
            t = time.perf_counter()
            VARIANTS[args.only][0](args.job, srcs, args.out, args.threads)
            print(f"{time.perf_counter() - t:.4f}")
            return 0
        print(f"{args.job} of {', '.join(srcs)}, {args.threads} threads")
        ref, base, rows = None, None, []
        for name in ("tessera", "tessera-kernel", "numpy", "threads",
                     "processes", "numba"):
            why = load(VARIANTS[name][2])
            if why:
                print(f"  {name}: skipped: {why}")
                continue
            out = os.path.join(tmp, f"{name}.tif")
            t = time.perf_counter()
            VARIANTS[name][0](args.job, srcs, out, args.threads)
            dt = time.perf_counter() - t
            px = tessera.convert(out, None)
            if ref is None:
                ref = px
            if name == "tessera-kernel":
                # gdaldem's conventions: the edge ring is nodata, values
                # are rounded; compare the interior
                d = np.abs(px[1:-1, 1:-1].astype(float) - ref[1:-1, 1:-1])
                same = f"interior within {d.max():.3g}"
            else:
                same = "yes" if np.array_equal(px, ref) else \
                    f"max diff {np.abs(px.astype(float) - ref).max():.3g}"
            base = dt if name == "numpy" else base
            rows.append((name, VARIANTS[name][1], dt, same))
        print(f"\n{'variant':16} {'seconds':>8} {'vs numpy':>8}  "
              f"same pixels as map_tiles")
        for name, what, dt, same in rows:
            sp = f"{base / dt:.2f}x" if base else "-"
            print(f"{name:16} {dt:8.3f} {sp:>8}  {same:6}  ({what})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
