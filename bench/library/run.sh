#!/bin/sh
# The in-memory runner (issue 10): tes_raster_run_memory against a plain
# serial loop and an OpenMP static parallel-for over the same tiles with the
# same kernel code (memrun_bench.c), for hillshade and a 5x5 convolution
# over an N x N float32 DEM in RAM, at 1 and 2 threads. Each process times
# REPS runs after a warm-up and reports their median; the processes run
# round-robin, ROUNDS rounds, so that every mode sees the same background
# load, and a row gives the median of the rounds' medians with their
# min-max and peak RSS. Every mode's output hash must agree.
#
# Environment: TES_BUILD (default build), TES_BENCH_N (default 8192),
# TES_BENCH_REPS (runs per process, default 5), TES_BENCH_ROUNDS (default
# 3), TES_BENCH_QUICK=1 (N 1024, 2 rounds of 2: a smoke test).
# Exit status: 0, or 1 when a run failed or the modes' outputs differ.
set -u
src=$(cd "$(dirname "$0")" && pwd)
BUILD=${TES_BUILD:-build}
n=${TES_BENCH_N:-8192}
reps=${TES_BENCH_REPS:-5}
rounds=${TES_BENCH_ROUNDS:-3}
if [ "${TES_BENCH_QUICK:-0}" = 1 ]; then
    n=1024 reps=2 rounds=2
fi
bin=$BUILD/bench/memrun_bench
mkdir -p "$BUILD/bench" || exit 1
lib=$(cd "$BUILD" && pwd)
if ! ${CC:-cc} -std=c11 -O2 -D_GNU_SOURCE -fopenmp -I"$src/../../include" \
    -o "$bin" "$src/memrun_bench.c" -L"$lib" -ltessera_raster -ltessera \
    -Wl,-rpath,"$lib" -lm; then
    echo "bench/library: memrun_bench did not build (needs -fopenmp)" >&2
    exit 1
fi
data=$(mktemp -d "${TMPDIR:-/tmp}/tes-bench-library-XXXXXX") || exit 1
trap 'rm -rf "$data"' EXIT
status=0
scaling=""

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "### In memory: ${n}² float32, 256² tiles, median of $rounds rounds x $reps runs"
echo
echo "| kernel | mode | threads | median s | min–max s | peak RSS MB | vs serial | vs OpenMP (same threads) |"
echo "|---|---|---|---|---|---|---|---|"
for kernel in hillshade conv5; do
    specs="serial:1 omp:1 tessera:1 omp:2 tessera:2"
    for s in $specs; do : >"$data/$kernel.$s"; done
    r=0
    while [ "$r" -lt "$rounds" ]; do
        for s in $specs; do
            if ! "$bin" "$kernel" "${s%:*}" "${s#*:}" "$n" "$reps" \
                >>"$data/$kernel.$s"; then
                echo "bench/library: failed: $kernel $s" >&2
                status=1
            fi
        done
        r=$((r + 1))
    done
    hashes=$(cat "$data/$kernel".* | awk '{ print $8 }' | sort -u | wc -l)
    if [ "$hashes" -ne 1 ]; then
        echo "bench/library: $kernel: the modes' outputs differ" >&2
        status=1
    fi
    serial=$(sort -k4,4n "$data/$kernel.serial:1" | awk '{ v[NR] = $4 } END { print v[int((NR + 1) / 2)] }')
    for s in $specs; do
        set -- $(sort -k4,4n "$data/$kernel.$s" | awk '
            { v[NR] = $4; lo = (NR == 1 || $5 < lo) ? $5 : lo;
              hi = $6 > hi ? $6 : hi; if ($7 > rss) rss = $7 }
            END { printf "%s %s %s %s\n", v[int((NR + 1) / 2)], lo, hi, rss }')
        mode=${s%:*} th=${s#*:}
        vs_serial=$(awk -v a="$serial" -v b="$1" 'BEGIN { printf "%.2fx", a / b }')
        vs_omp=""
        if [ "$mode" = tessera ]; then
            omp=$(sort -k4,4n "$data/$kernel.omp:$th" | awk '{ v[NR] = $4 } END { print v[int((NR + 1) / 2)] }')
            vs_omp=$(awk -v a="$omp" -v b="$1" 'BEGIN { printf "%.2fx", a / b }')
        fi
        echo "| $kernel | $mode | $th | $1 | $2–$3 | $4 | $vs_serial | $vs_omp |"
        [ "$mode" = tessera ] && eval "t_med_$th=$1 t_min_$th=$2"
    done
    scaling="$scaling $kernel $(awk -v a="$t_med_1" -v b="$t_med_2" -v c="$t_min_1" -v d="$t_min_2" \
        'BEGIN { printf "%.2fx (fastest runs: %.2fx);", a / b, c / d }')"
done
echo
echo "tessera from 1 to 2 threads (median over median):$scaling"
echo
echo "vs serial: the serial loop's median over the row's (the speed-up); vs"
echo "OpenMP: OpenMP's median at the same thread count over tessera's (above 1:"
echo "tessera is faster). Load after: $(cut -d' ' -f1-3 /proc/loadavg)"
exit $status
