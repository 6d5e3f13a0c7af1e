#!/bin/sh
# Runtime benchmarks (issue 5): actor call throughput against a
# mutex-protected object; parallel_for scale+offset over a 16384^2 float
# array against a serial loop and OpenMP `parallel for`, beside a triad
# measurement of this machine's memory bandwidth; parallel_reduce (sum of
# 2^28 floats) against OpenMP `reduction(+:)`, with a bit-identity check at
# 1, 2, 3 and 8 threads. Each case runs at 1 and 2 threads; each program
# times REPS runs after a warm-up and reports the median (and min-max).
# Prints Markdown tables with the issue's targets beside the values.
#
# Environment: TES_BUILD (default build), TES_BENCH_REPS (default 5),
# TES_BENCH_QUICK=1 (small sizes, 3 runs: a smoke test), CC (default cc).
# Exit status: 0, or 1 when a program failed or a check (bit-identity,
# actor totals) failed; a missed target is reported, not an error.
set -u
src=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$src/../.." && pwd)
BUILD=${TES_BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD=$root/$BUILD ;; esac
out=$BUILD/bench/runtime
mkdir -p "$out" || exit 1
CC=${CC:-cc}
reps=${TES_BENCH_REPS:-5}
n=16384 lg=28
if [ "${TES_BENCH_QUICK:-0}" = 1 ]; then
    n=2048 lg=22 reps=3
fi
case "$BUILD" in
    *san-*) echo "note: $BUILD is a sanitizer build: the timings below mean nothing" ;;
esac
lib=$BUILD/libtessera.a
if [ ! -f "$lib" ]; then
    echo "bench/runtime: $lib not found (run make first)" >&2
    exit 1
fi
COPT="-std=c11 -O2 -Wall -Wextra -D_GNU_SOURCE -I$root/include -I$src"
status=0
log=$out/build.log
: >"$log"
for p in actor_bench pfor_tessera reduce_tessera; do
    $CC $COPT -o "$out/$p" "$src/$p.c" "$lib" -pthread -lm >>"$log" 2>&1 ||
        { echo "bench/runtime: building $p failed (see $log)" >&2; exit 1; }
done
have_omp=1
for p in pfor_omp reduce_omp; do
    gcc $COPT -fopenmp -o "$out/$p" "$src/$p.c" >>"$log" 2>&1 || have_omp=0
done
[ $have_omp = 1 ] || echo "skip OpenMP: gcc -fopenmp does not build (install gcc)"

busy() { awk '/^cpu / { print ($2 + $3 + $4 + $7 + $8) / 100; exit }' /proc/stat; }
busy0=$(busy)
load0=$(cut -d' ' -f1 /proc/loadavg)
res=$out/results.txt
: >"$res"
run() { # program args...: appends its RESULT lines, notes failures
    if ! "$@" >>"$res" 2>>"$log"; then
        echo "bench/runtime: $* failed" >&2
        status=1
    fi
}
for t in 1 2; do
    run "$out/actor_bench" $t "$reps"
    run "$out/pfor_tessera" $t "$reps" $n
    [ $have_omp = 1 ] && run "$out/pfor_omp" $t "$reps" $n
    run "$out/reduce_tessera" $t "$reps" $lg
    [ $have_omp = 1 ] && run "$out/reduce_omp" $t "$reps" $lg
done

# value BENCH IMPL THREADS FIELD
value() {
    awk -v b="bench=$1" -v i="impl=$2" -v t="threads=$3" -v f="$4" '
        $2 == b && $3 == i && $4 == t {
            for (k = 5; k <= NF; k++) { split($k, kv, "="); if (kv[1] == f) print kv[2] }
        }' "$res" | tail -n 1
}
ratio() { awk -v a="${1:-}" -v b="${2:-}" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "-"; else printf "%.2f", a / b }'; }
pct() { awk -v a="${1:-}" -v b="${2:-}" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "-"; else printf "%.0f%%", 100 * a / b }'; }
cell() { # rate (min-max seconds)
    r=$(value "$1" "$2" "$3" rate)
    [ -n "$r" ] || { echo "-"; return; }
    printf '%s (%s-%s s)' "$r" "$(value "$1" "$2" "$3" min)" "$(value "$1" "$2" "$3" max)"
}

busy1=$(busy)
# CPU seconds our programs used (children of this shell): second line of `times`.
times >"$out/times.txt"
ours=$(awk 'NR == 2 { for (i = 1; i <= 2; i++) { t = $i; m = t; sub(/m.*/, "", m); s = t; sub(/^[0-9]+m/, "", s); sub(/s$/, "", s); c += m * 60 + s } print c }' "$out/times.txt")
echo
echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs online; $(date -u '+%Y-%m-%d %H:%M UTC'); $(gcc --version | head -n 1)."
awk -v b0="$busy0" -v b1="$busy1" -v o="$ours" -v l="$load0" 'BEGIN {
    all = b1 - b0; other = all - o; if (other < 0) other = 0
    printf "Other load: %.1f CPU-s of the %.1f CPU-s the machine was busy during this run were not ours (%.0f%%); load average at the start %s.\n", other, all, (all > 0 ? 100 * other / all : 0), l }'
echo "Median of $reps runs after a warm-up (min-max in brackets)."
echo
echo "### Actor calls (Mcalls/s; 4 caller tasks to one actor, 64 tasks each to its own)"
echo
echo "| case | threads | mutex object | actor | actor / mutex | target |"
echo "|---|---|---|---|---|---|"
for c in one many; do
    for t in 1 2; do
        m=$(value actor_$c mutex $t rate); a=$(value actor_$c actor $t rate)
        tg="-"; [ $c = one ] && tg="≥ 0.50"
        echo "| $c | $t | $(cell actor_$c mutex $t) | $(cell actor_$c actor $t) | $(ratio "$a" "$m") | $tg |"
    done
done
echo
echo "Many actors, 1 → 2 threads: $(ratio "$(value actor_many actor 2 rate)" "$(value actor_many actor 1 rate)")× (target ≥ 1.8×); mutex objects: $(ratio "$(value actor_many mutex 2 rate)" "$(value actor_many mutex 1 rate)")×"
echo
echo "### parallel_for: scale+offset over ${n}² floats (GB/s, one read + one write per element)"
echo
echo "| threads | serial | tessera | OpenMP | tessera / OpenMP | triad (OpenMP) | tessera / triad | target |"
echo "|---|---|---|---|---|---|---|---|"
for t in 1 2; do
    s="-"; [ $t = 1 ] && s=$(cell pfor serial 1)
    tg="-"; [ $t = 2 ] && tg="≥ 0.95 of OpenMP"
    echo "| $t | $s | $(cell pfor tessera $t) | $(cell pfor openmp $t) | $(ratio "$(value pfor tessera $t rate)" "$(value pfor openmp $t rate)") | $(cell triad openmp $t) | $(pct "$(value pfor tessera $t rate)" "$(value triad openmp $t rate)") | $tg |"
done
echo
echo "### parallel_reduce: sum of 2^$lg floats (GB/s)"
echo
echo "| threads | serial | tessera | OpenMP reduction | tessera / OpenMP | target |"
echo "|---|---|---|---|---|---|"
for t in 1 2; do
    s="-"; [ $t = 1 ] && s=$(cell reduce serial 1)
    tg="-"; [ $t = 2 ] && tg="≥ 0.90"
    echo "| $t | $s | $(cell reduce tessera $t) | $(cell reduce openmp $t) | $(ratio "$(value reduce tessera $t rate)" "$(value reduce openmp $t rate)") | $tg |"
done
ident=$(grep -m1 '^IDENTICAL' "$res" || true)
echo
echo "Bit-identical at 1, 2, 3 and 8 threads: ${ident:-not measured}"
case "$ident" in IDENTICAL\ yes*) ;; *) status=1 ;; esac
exit $status
