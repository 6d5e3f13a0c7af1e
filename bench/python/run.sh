#!/bin/sh
# tessera from Python against the Python peers (issue 11): calc and
# hillshade over N^2 float32 deflate DEMs with raster-tool, tessera's
# kernels, tessera.map_tiles and the peers of
# examples/python/tiles_three_ways.py (rasterio, multiprocessing, numba;
# each skipped with a message when not installed). See bench.py.
#
#   make bench BENCH=python          (under flock /work/bench.lock here)
#
# Environment: TES_BUILD (default build), TES_BENCH_N (default 8192),
# TES_BENCH_ROUNDS (default 3), TES_BENCH_THREADS (default 2),
# TES_BENCH_SKIP (variants not to run, e.g. "numpy numba"), PYTHON.
set -eu
B=${TES_BUILD:-build}
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
if [ -z "${PYTHON:-}" ]; then
    for p in /usr/bin/python3 python3; do
        if "$p" -c 'import numpy' >/dev/null 2>&1; then PYTHON=$p; break; fi
    done
fi
if [ -z "${PYTHON:-}" ]; then
    echo "bench/python: no python3 with numpy; skipped" >&2
    exit 0
fi
${MAKE:-make} --no-print-directory B="$B" PYTHON="$PYTHON" python >/dev/null
TES_BUILD=$B exec "$PYTHON" "$here/bench.py"
