#!/bin/sh
# Scheduler benchmarks (issues 2 and 16): fib, nqueens and spawn throughput
# on tessera, with spawn/await and with fork/join, beside serial C, Lace
# (built from ../shared/peers/lace, the fork/join peer), OpenMP tasks (gcc's
# libgomp, LLVM's libomp) and oneTBB; fib(30) with 8 workers on the
# machine's cores; an idle pool's CPU.
# Builds the programs into $TES_BUILD/bench/sched with -O2, skips a peer whose
# compiler or library is missing, runs every case several times, checks
# each result, and prints Markdown tables (median, min-max, ns per task,
# ratios) with the issue's targets beside the measured values.
#
# Environment: TES_BUILD (default build), TES_BENCH_REPS (runs per case,
# default 5; a case whose first run takes over TES_BENCH_SLOW_S seconds,
# default 2, gets 3), TES_BENCH_QUICK=1 (small sizes, 3 runs: a smoke test),
# TES_BENCH_IMPLS (default "tessera fj lace gomp llvm-omp tbb": which to run
# beside serial C; fj is tessera's fork/join), TES_LACE_DIR (default
# ../shared/peers/lace beside the repository), CC (for serial, tessera and
# Lace, default cc), CXX (for oneTBB, default g++).
# Exit status: 0, or 1 when a program failed or gave a wrong result;
# missing a target is reported, not an error.
set -u
src=$(cd "$(dirname "$0")" && pwd)
BUILD=${TES_BUILD:-build}
out=$BUILD/bench/sched
mkdir -p "$out" || exit 1
CC=${CC:-cc}
CXX=${CXX:-g++}
reps=${TES_BENCH_REPS:-5}
slow_s=${TES_BENCH_SLOW_S:-2}
run_limit=${TES_BENCH_TIMEOUT:-120} # seconds before one run counts as hung
if [ "${TES_BENCH_QUICK:-0}" = 1 ]; then
    fib_n=27 nq_n=9 spawn_n=1000000 over_n=24 idle_ms=500 reps=3
else
    fib_n=35 nq_n=12 spawn_n=10000000 over_n=30 idle_ms=2000
fi
over_w=8 # the oversubscribed worker count, against 2
start=$(date +%s)

# CPU jiffies the whole machine spent busy (user, nice, system, irq,
# softirq, steal) and in hypervisor steal alone: compared at the end with
# this script's own CPU time, they tell whether other work shared the CPUs.
cpu_busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat 2>/dev/null; }
cpu_steal() { awk '/^cpu / { print $9 }' /proc/stat 2>/dev/null; }
busy0=$(cpu_busy)
steal0=$(cpu_steal)
load0=$(cut -d ' ' -f 1 /proc/loadavg 2>/dev/null)

COPT="-std=c11 -O2 -Wall -Wextra -D_GNU_SOURCE"
CXXOPT="-std=c++17 -O2 -Wall -Wextra"
san=""
case "$BUILD" in
    *san-*)
        san=$(printf '%s' "${BUILD##*san-}" | tr - ,)
        echo "note: $BUILD is a sanitizer build (-fsanitize=$san): the" \
            "tessera timings below mean nothing"
        ;;
esac

# ---- what is available --------------------------------------------------
probe=$out/probe
log=$out/build.log
: >"$log"
printf '#include <omp.h>\nint main(void) { return omp_get_max_threads() > 0 ? 0 : 1; }\n' >"$probe.c"

have_tes=0 have_gomp=0 have_llvm=0 have_tbb=0 have_lace=0 LLVM_LIBS=""
if [ -f "$BUILD/libtessera.a" ]; then
    have_tes=1
else
    echo "skip tessera: $BUILD/libtessera.a not found (run make first)"
fi
if gcc -fopenmp -o "$probe" "$probe.c" >>"$log" 2>&1 && "$probe"; then
    have_gomp=1
else
    echo "skip libgomp: gcc -fopenmp does not build and run (install gcc)"
fi
if command -v clang >/dev/null 2>&1; then
    for d in "" /usr/lib/llvm-*/lib; do
        [ -z "$d" ] || [ -f "$d/libomp.so" ] || continue
        libs=${d:+-L$d -Wl,-rpath,$d}
        # shellcheck disable=SC2086 # libs is a list of flags
        if clang -fopenmp=libomp -o "$probe" "$probe.c" $libs >>"$log" 2>&1 &&
            "$probe"; then
            have_llvm=1 LLVM_LIBS=$libs
            break
        fi
    done
fi
[ $have_llvm = 1 ] ||
    echo "skip LLVM libomp: clang -fopenmp=libomp does not build and run (apt-get install clang libomp-dev)"
LACE=${TES_LACE_DIR:-$(cd "$src/../.." && pwd)/../shared/peers/lace}
if [ -f "$LACE/src/lace.c" ] && [ -f "$LACE/src/lace.h" ]; then
    have_lace=1
else
    echo "skip Lace: $LACE/src/lace.c not found (the peer is kept in ../shared/peers/lace)"
fi
printf '#include <oneapi/tbb/task_group.h>\nint main() { tbb::task_group g; g.run([]{}); g.wait(); }\n' >"$probe.cpp"
if $CXX -std=c++17 -o "$probe" "$probe.cpp" -ltbb >>"$log" 2>&1 && "$probe"; then
    have_tbb=1
else
    echo "skip oneTBB: $CXX with -ltbb does not build and run (apt-get install libtbb-dev)"
fi

# ---- build ----------------------------------------------------------------
failed=0
# Programs built with other compilers or flags, or for a peer that is gone,
# are removed so that they are rebuilt or not run.
stamp="$CC|$CXX|$COPT|$CXXOPT|$san|$LLVM_LIBS|$LACE"
# drop IMPL: removes this script's programs for IMPL.
drop() { for p in fib nqueens spawn idle; do rm -f "$out/${p}_$1"; done; }
[ "$(cat "$out/build.stamp" 2>/dev/null)" = "$stamp" ] ||
    for m in serial tessera fj lace gomp llvm-omp tbb; do drop $m; done
printf '%s\n' "$stamp" >"$out/build.stamp"
[ $have_tes = 1 ] || { drop tessera; drop fj; }
[ $have_lace = 1 ] || drop lace
[ $have_gomp = 1 ] || drop gomp
[ $have_llvm = 1 ] || drop llvm-omp
[ $have_tbb = 1 ] || drop tbb
# build BIN SOURCE COMPILER "FLAGS" "LIBS": compiles when BIN is missing or
# older than its source, the shared headers, this script or libtessera.a.
build() {
    bin=$out/$1
    deps="$2 $src/bench_common.h $src/tes_common.h $src/run.sh"
    [ -f "$BUILD/libtessera.a" ] && deps="$deps $BUILD/libtessera.a"
    # shellcheck disable=SC2086 # deps, flags and libs are word lists
    if [ -x "$bin" ] && [ -z "$(find $deps -newer "$bin" 2>/dev/null)" ]; then
        return 0
    fi
    # shellcheck disable=SC2086
    if ! $3 $4 -o "$bin" "$2" $5 >>"$log" 2>&1; then
        echo "build of $1 FAILED (see $log):"
        tail -n 5 "$log"
        failed=1
        rm -f "$bin"
        return 1
    fi
}
TES_FLAGS="-pthread -I${src%/bench/sched}/include ${san:+-fsanitize=$san}"
TES_LIBS="$BUILD/libtessera.a -pthread ${san:+-fsanitize=$san}"
for b in fib nqueens spawn; do
    build "${b}_serial" "$src/${b}_serial.c" "$CC" "$COPT" ""
    [ $have_tes = 0 ] || build "${b}_tessera" "$src/${b}_tessera.c" "$CC" \
        "$COPT $TES_FLAGS" "$TES_LIBS"
    [ $have_tes = 0 ] || [ ! -f "$src/${b}_fj.c" ] ||
        build "${b}_fj" "$src/${b}_fj.c" "$CC" "$COPT $TES_FLAGS" "$TES_LIBS"
    # Lace's own source, with its own settings (it defines _GNU_SOURCE).
    [ $have_lace = 0 ] || [ ! -f "$src/${b}_lace.c" ] ||
        build "${b}_lace" "$src/${b}_lace.c" "$CC" \
            "-std=gnu11 -O2 -pthread -I$LACE/src" "$LACE/src/lace.c"
    [ $have_gomp = 0 ] || build "${b}_gomp" "$src/${b}_omp.c" gcc \
        "$COPT -fopenmp -DIMPL=\"gomp\"" ""
    [ $have_llvm = 0 ] || build "${b}_llvm-omp" "$src/${b}_omp.c" clang \
        "$COPT -fopenmp=libomp -DIMPL=\"llvm-omp\"" "$LLVM_LIBS"
    [ $have_tbb = 0 ] || build "${b}_tbb" "$src/${b}_tbb.cpp" "$CXX" \
        "$CXXOPT" "-ltbb"
done
[ $have_tes = 0 ] || build idle_tessera "$src/idle_tessera.c" "$CC" \
    "$COPT $TES_FLAGS" "$TES_LIBS"
[ $have_gomp = 0 ] || build idle_gomp "$src/idle_omp.c" gcc \
    "$COPT -fopenmp -DIMPL=\"gomp\"" ""
[ $have_llvm = 0 ] || build idle_llvm-omp "$src/idle_omp.c" clang \
    "$COPT -fopenmp=libomp -DIMPL=\"llvm-omp\"" "$LLVM_LIBS"
[ $have_tbb = 0 ] || build idle_tbb "$src/idle_tbb.cpp" "$CXX" "$CXXOPT" "-ltbb"

# ---- run ------------------------------------------------------------------
data=$out/sched-results.txt
: >"$data"
timer=""
[ -x /usr/bin/time ] && timer=/usr/bin/time

# field NAME LINE: the value of NAME=... in a RESULT line.
field() {
    printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

# run_one BIN ARGS...: one run; sets line (the RESULT line), rc and rss (KiB).
run_one() {
    if [ -n "$timer" ]; then
        timeout "$run_limit" "$timer" -f %M -o "$out/rss.txt" "$@" \
            >"$out/run.out" 2>"$out/run.err"
        rc=$?
        rss=$(tail -n 1 "$out/rss.txt" 2>/dev/null)
    else
        timeout "$run_limit" "$@" >"$out/run.out" 2>"$out/run.err"
        rc=$?
        rss=0
    fi
    case "$rss" in '' | *[!0-9]*) rss=0 ;; esac
    line=$(grep '^RESULT ' "$out/run.out" | tail -n 1)
}

# Cases run round-robin: round r runs every case once, so that a burst of
# other load on the machine spreads over all of them instead of landing on
# every run of one. Each case's state lives in $cases/N.{spec,want,times,
# status,rss,tasks}.
cases=$out/cases
rm -rf "$cases"
mkdir -p "$cases" || exit 1
ncase=0

# add_case KEY IMPL THREADS EXPECTED ARGS...: queues $out/<bench>_<impl>
# (bench is KEY without digits) with the arguments THREADS ARGS...
add_case() {
    bin=$out/$(printf '%s' "$1" | tr -d 0-9)_$2
    [ -x "$bin" ] || return 0
    ncase=$((ncase + 1))
    printf '%s\n' "$*" >"$cases/$ncase.spec"
    echo "$reps" >"$cases/$ncase.want"
    echo ok >"$cases/$ncase.status"
    echo 0 >"$cases/$ncase.rss"
    echo 0 >"$cases/$ncase.tasks"
    : >"$cases/$ncase.times"
}

# run_round N R: run R of case N, unless it failed or needs no more runs.
# A case whose first run takes over $slow_s seconds gets 3 runs.
run_round() {
    c=$cases/$1
    [ "$(cat "$c.status")" = ok ] || return 0
    [ "$2" -le "$(cat "$c.want")" ] || return 0
    # shellcheck disable=SC2046 # the spec is a list of words
    set -- "$2" $(cat "$c.spec")
    r=$1 key=$2 impl=$3 thr=$4 expect=$5
    shift 5
    run_one "$out/$(printf '%s' "$key" | tr -d 0-9)_$impl" "$thr" "$@"
    if [ $rc -ne 0 ] || [ -z "$line" ]; then
        st="FAILED(exit=$rc)"
        [ $rc -ne 124 ] || st="TIMEOUT(${run_limit}s)"
        echo "$st" >"$c.status"
        echo "  $key $impl $thr threads: $st" >&2
        tail -n 3 "$out/run.err" >&2
        failed=1
        return 0
    fi
    res=$(field result "$line")
    s=$(field seconds "$line")
    field tasks "$line" >"$c.tasks"
    if [ "$res" != "$expect" ]; then
        echo "WRONG($res!=$expect)" >"$c.status"
        echo "  $key $impl $thr threads: wrong result $res, expected $expect" >&2
        failed=1
    fi
    [ "$rss" -le "$(cat "$c.rss")" ] || echo "$rss" >"$c.rss"
    echo "$s" >>"$c.times"
    if [ "$r" -eq 1 ] && [ "$reps" -gt 3 ] &&
        awk -v s="$s" -v l="$slow_s" 'BEGIN { exit !(s > l) }'; then
        echo 3 >"$c.want"
    fi
    [ "$r" -gt 1 ] || printf '  %-8s %-9s %d thr: %s s\n' "$key" "$impl" "$thr" "$s" >&2
}

# summarise N: appends "KEY IMPL THREADS RUNS MEDIAN MIN MAX TASKS STATUS
# RSS" for case N to $data.
summarise() {
    c=$cases/$1
    # shellcheck disable=SC2046
    set -- $(cat "$c.spec")
    stats=$(sort -g "$c.times" | awk '
        { a[NR] = $1 }
        END {
            if (NR == 0) { print "0 - - -"; exit }
            m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
            printf "%d %.6f %.6f %.6f\n", NR, m, a[1], a[NR]
        }')
    echo "$1 $2 $3 $stats $(cat "$c.tasks") $(cat "$c.status") $(cat "$c.rss")" >>"$data"
}

# run_idle IMPL: the idle program at 2 workers; the CPU % goes in MEDIAN.
run_idle() {
    bin=$out/idle_$1
    [ -x "$bin" ] || return 0
    run_one "$bin" 2 "$idle_ms"
    if [ $rc -ne 0 ] || [ -z "$line" ]; then
        echo "  idle $1: FAILED(exit=$rc)" >&2
        tail -n 3 "$out/run.err" >&2
        failed=1
        echo "idle $1 2 0 - - - 0 FAILED(exit=$rc) 0" >>"$data"
        return 0
    fi
    pct=$(field cpu_pct "$line")
    echo "idle $1 2 1 $pct $pct $pct 0 ok $rss" >>"$data"
    printf '  idle     %-9s 2 thr: %s%% of one CPU\n' "$1" "$pct" >&2
}

fib_of() { awk -v n="$1" 'BEGIN { a = 0; b = 1; for (i = 0; i < n; i++) { t = a + b; a = b; b = t }; print a }'; }
nq_of() {
    case "$1" in
        4) echo 2 ;; 5) echo 10 ;; 6) echo 4 ;; 7) echo 40 ;; 8) echo 92 ;;
        9) echo 352 ;; 10) echo 724 ;; 11) echo 2680 ;; 12) echo 14200 ;;
        13) echo 73712 ;; 14) echo 365596 ;; *) echo unknown ;;
    esac
}
fib_r=$(fib_of "$fib_n")
nq_r=$(nq_of "$nq_n")
over_r=$(fib_of "$over_n")

echo "running (each case up to $reps times, round-robin; progress on stderr)..."
impls=${TES_BENCH_IMPLS:-tessera fj lace gomp llvm-omp tbb}
add_case fib serial 1 "$fib_r" "$fib_n"
for m in $impls; do for t in 1 2; do
    add_case fib "$m" "$t" "$fib_r" "$fib_n"
done; done
add_case nqueens serial 1 "$nq_r" "$nq_n"
for m in $impls; do for t in 1 2; do
    add_case nqueens "$m" "$t" "$nq_r" "$nq_n"
done; done
add_case spawn serial 1 "$spawn_n" "$spawn_n"
for m in $impls; do for t in 1 2; do
    add_case spawn "$m" "$t" "$spawn_n" "$spawn_n"
done; done
# (Not oneTBB, whose arena has its own size, nor Lace, whose idle workers
# spin.)
for m in $impls; do case $m in tbb | lace) continue ;; esac; for t in 2 $over_w; do
    add_case "fib$over_n" "$m" "$t" "$over_r" "$over_n"
done; done
round=1
while [ $round -le "$reps" ]; do
    [ $round -eq 1 ] || echo "  round $round of $reps" >&2
    i=1
    while [ $i -le $ncase ]; do
        run_round $i $round
        i=$((i + 1))
    done
    round=$((round + 1))
done
i=1
while [ $i -le $ncase ]; do
    summarise $i
    i=$((i + 1))
done
for m in $impls; do run_idle "$m"; done

# ---- report ---------------------------------------------------------------
echo
echo "Machine: $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)," \
    "$(nproc) CPUs online; $(date -u '+%Y-%m-%d %H:%M UTC');" \
    "$($CC --version 2>/dev/null | head -n 1);" \
    "$(clang --version 2>/dev/null | head -n 1);" \
    "oneTBB $(dpkg-query -W -f='${Version}' libtbb-dev 2>/dev/null || echo '?')"
echo "Each time is the median of $reps runs (3 where the first run took over" \
    "${slow_s} s; the runs column says), spread min-max; every result checked."
awk -v fib_n="$fib_n" -v nq_n="$nq_n" -v spawn_n="$spawn_n" \
    -v over_n="$over_n" -v over_w="$over_w" -v idle_ms="$idle_ms" '
function name(m) {
    if (m == "serial") return "serial C"
    if (m == "tessera") return "tessera spawn/await"
    if (m == "fj") return "tessera fork/join"
    if (m == "lace") return "Lace"
    if (m == "gomp") return "OpenMP (libgomp)"
    if (m == "llvm-omp") return "OpenMP (LLVM libomp)"
    if (m == "tbb") return "oneTBB"
    return m
}
function seen(k, m, t) { return (k SUBSEP m SUBSEP t) in med }
function has(k, m, t) { return seen(k, m, t) && st[k, m, t] == "ok" }
function ratio(a, b) { return b > 0 ? a / b : 0 }
function tfmt(x) { return sprintf(x >= 1 ? "%.3f" : x >= 0.01 ? "%.4f" : x >= 0.001 ? "%.5f" : "%.6f", x) }
function fmt(x) { return x >= 100 ? sprintf("%.0f", x) : x >= 10 ? sprintf("%.1f", x) : sprintf("%.2f", x) }
function target(what, have, val, best, unit, ok, okb) {
    if (!have) printf "| %s | n/a | n/a | - |\n", what
    else printf "| %s | %s%s | %s%s | %s |\n", what, fmt(val), unit, fmt(best), unit,
        ok ? (okb ? "yes" : "median yes, best no") : (okb ? "best run only" : "**no**")
}
{
    k = $1; m = $2; t = $3
    runs[k, m, t] = $4; med[k, m, t] = $5; lo[k, m, t] = $6; hi[k, m, t] = $7
    ntask[k, m, t] = $8; st[k, m, t] = $9; rss[k, m, t] = $10
}
END {
    nm = split("serial fj tessera lace gomp llvm-omp tbb", M, " ")
    split("fib nqueens spawn", B, " ")
    title["fib"] = "fib(" fib_n ")"
    title["nqueens"] = "nqueens(" nq_n ")"
    title["spawn"] = "spawn " spawn_n " empty tasks"
    for (bi = 1; bi <= 3; bi++) {
        k = B[bi]; s = med[k, "serial", 1]
        printf "\n### %s: %d tasks\n\n", title[k], ntask[k, "serial", 1]
        print "| implementation | threads | median s | min-max s | runs | ns/task | time / serial | 2t speedup | peak RSS MiB |"
        print "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
        for (mi = 1; mi <= nm; mi++) for (t = 1; t <= 2; t++) {
            m = M[mi]
            if (!seen(k, m, t)) continue
            if (st[k, m, t] != "ok") {
                printf "| %s | %d | %s | | %d | | | | |\n", name(m), t, st[k, m, t], runs[k, m, t]
                continue
            }
            sp = (t == 2 && has(k, m, 1)) ? fmt(ratio(med[k, m, 1], med[k, m, 2])) "x" : ""
            printf "| %s | %d | %s | %s-%s | %d | %.1f | %s | %s | %.1f |\n",
                name(m), t, tfmt(med[k, m, t]), tfmt(lo[k, m, t]), tfmt(hi[k, m, t]), runs[k, m, t],
                1e9 * med[k, m, t] / ntask[k, m, t], (s > 0 ? fmt(med[k, m, t] / s) "x" : ""),
                sp, rss[k, m, t] / 1024
        }
    }
    print "\n### tessera against the peers: peer time / tessera time, same threads (above 1: tessera is faster)\n"
    print "| benchmark | tessera | threads | vs Lace | vs OpenMP (libgomp) | vs OpenMP (LLVM libomp) | vs oneTBB |"
    print "|---|---|---:|---:|---:|---:|---:|"
    split("fj tessera", TV, " ")
    split("lace gomp llvm-omp tbb", PV, " ")
    for (bi = 1; bi <= 3; bi++) for (ti = 1; ti <= 2; ti++) for (t = 1; t <= 2; t++) {
        k = B[bi]; T = TV[ti]
        if (!has(k, T, t)) continue
        line = sprintf("| %s | %s | %d |", title[k], T == "fj" ? "fork/join" : "spawn/await", t)
        for (pi = 1; pi <= 4; pi++)
            line = line " " (has(k, PV[pi], t) ? fmt(ratio(med[k, PV[pi], t], med[k, T, t])) "x" : "n/a") " |"
        print line
    }
    k = "fib" over_n
    printf "\n### Oversubscription: fib(%d) with %d workers against 2\n\n", over_n, over_w
    print "| implementation | 2 workers s | " over_w " workers s | " over_w "w / 2w |"
    print "|---|---:|---:|---:|"
    split("fj tessera gomp llvm-omp", OV, " ")
    for (mi = 1; mi <= 4; mi++) {
        m = OV[mi]
        if (!seen(k, m, 2)) continue
        a = has(k, m, 2) ? tfmt(med[k, m, 2]) " (" tfmt(lo[k, m, 2]) "-" tfmt(hi[k, m, 2]) ")" : st[k, m, 2]
        b = has(k, m, over_w) ? tfmt(med[k, m, over_w]) " (" tfmt(lo[k, m, over_w]) "-" tfmt(hi[k, m, over_w]) ")" : st[k, m, over_w]
        r = has(k, m, 2) && has(k, m, over_w) ? fmt(ratio(med[k, m, over_w], med[k, m, 2])) "x" : "n/a"
        printf "| %s | %s | %s | %s |\n", name(m), a, b, r
    }
    printf "\n### Idle: CPU used in %.1f s of sleep after some work, 2 workers, default settings\n\n", idle_ms / 1000
    print "| implementation | % of one CPU |"
    print "|---|---:|"
    split("tessera gomp llvm-omp tbb", IV, " ")
    for (mi = 1; mi <= 4; mi++) if (seen("idle", IV[mi], 2))
        printf "| %s | %s |\n", name(IV[mi]), st["idle", IV[mi], 2] == "ok" ? sprintf("%.2f", med["idle", IV[mi], 2]) : st["idle", IV[mi], 2]
    print "\n### Targets (issue 2)\n"
    print "Measured from the medians, and from the best (fastest) runs, which other load on the machine disturbs least.\n"
    print "| target | median | best runs | met |"
    print "|---|---:|---:|---|"
    T = "tessera"
    h = has("fib", T, 1)
    v = h ? 1e9 * med["fib", T, 1] / ntask["fib", T, 1] : 0
    w = h ? 1e9 * lo["fib", T, 1] / ntask["fib", T, 1] : 0
    target(title["fib"] " at 1 thread <= 15 ns per task", h, v, w, " ns", v <= 15, w <= 15)
    split("tbb 4 llvm-omp 10 gomp 40", P, " ")
    for (bi = 1; bi <= 2; bi++) {
        k = B[bi]; h = has(k, T, 1) && has(k, T, 2)
        v = h ? ratio(med[k, T, 1], med[k, T, 2]) : 0
        w = h ? ratio(lo[k, T, 1], lo[k, T, 2]) : 0
        target(title[k] " 2 threads >= 1.85x own 1 thread", h, v, w, "x", v >= 1.85, w >= 1.85)
        for (pi = 1; pi <= 5; pi += 2) {
            h = has(k, T, 2) && has(k, P[pi], 2)
            v = h ? ratio(med[k, P[pi], 2], med[k, T, 2]) : 0
            w = h ? ratio(lo[k, P[pi], 2], lo[k, T, 2]) : 0
            target(title[k] " 2 threads >= " P[pi + 1] "x faster than " name(P[pi]), h, v, w, "x", v >= P[pi + 1] + 0, w >= P[pi + 1] + 0)
        }
    }
    h = has("spawn", T, 2)
    v = h ? 1e9 * med["spawn", T, 2] / ntask["spawn", T, 2] : 0
    w = h ? 1e9 * lo["spawn", T, 2] / ntask["spawn", T, 2] : 0
    target(title["spawn"] " at 2 threads <= 15 ns per task", h, v, w, " ns", v <= 15, w <= 15)
    k = "fib" over_n; h = has(k, T, 2) && has(k, T, over_w)
    v = h ? ratio(med[k, T, over_w], med[k, T, 2]) : 0
    w = h ? ratio(lo[k, T, over_w], lo[k, T, 2]) : 0
    target("fib(" over_n ") " over_w " workers <= 1.2x the 2-worker time", h, v, w, "x", v <= 1.2, w <= 1.2)
    h = has("idle", T, 2); v = h ? med["idle", T, 2] : 0
    target("idle pool of 2 workers < 1% of a CPU", h, v, v, "%", v < 1, v < 1)

    print "\n### Targets (issue 16)\n"
    print "| target | median | best runs | met |"
    print "|---|---:|---:|---|"
    for (bi = 1; bi <= 2; bi++) {
        k = B[bi]
        for (t = 1; t <= 2; t++) {
            h = has(k, "fj", t) && has(k, "lace", t)
            v = h ? ratio(med[k, "fj", t], med[k, "lace", t]) : 0
            w = h ? ratio(lo[k, "fj", t], lo[k, "lace", t]) : 0
            target(title[k] " fork/join at " t " thread" (t > 1 ? "s" : "") " <= 1.5x Lace", h, v, w, "x", v <= 1.5, w <= 1.5)
        }
        h = has(k, "fj", 1) && has(k, "fj", 2)
        v = h ? ratio(med[k, "fj", 1], med[k, "fj", 2]) : 0
        w = h ? ratio(lo[k, "fj", 1], lo[k, "fj", 2]) : 0
        target(title[k] " fork/join 2 threads >= 1.9x own 1 thread", h, v, w, "x", v >= 1.9, w >= 1.9)
        for (t = 1; t <= 2; t++) {
            h = has(k, "tessera", t) && has(k, "lace", t)
            v = h ? ratio(med[k, "tessera", t], med[k, "lace", t]) : 0
            w = h ? ratio(lo[k, "tessera", t], lo[k, "lace", t]) : 0
            target(title[k] " spawn/await at " t " thread" (t > 1 ? "s" : "") " <= 3x Lace", h, v, w, "x", v <= 3, w <= 3)
        }
    }
    k = "fib" over_n
    for (ti = 1; ti <= 2; ti++) {
        T = TV[ti]; h = has(k, T, 2) && has(k, T, over_w)
        v = h ? ratio(med[k, T, over_w], med[k, T, 2]) : 0
        w = h ? ratio(lo[k, T, over_w], lo[k, T, 2]) : 0
        target("fib(" over_n ") " name(T) " " over_w " workers <= 1.1x the 2-worker time", h, v, w, "x", v <= 1.1, w <= 1.1)
    }
}' "$data"

# Our children's CPU seconds, from the second line of `times`
# (e.g. "1m16.3s 0m42.9s"); the rest of the machine's busy time was others'.
times >"$out/times.txt"
ours=$(awk 'NR == 2 {
    for (i = 1; i <= 2; i++) { split($i, a, "m"); sub("s", "", a[2]); t += a[1] * 60 + a[2] }
    print t }' "$out/times.txt")
hz=$(getconf CLK_TCK 2>/dev/null || echo 100)
busy1=$(cpu_busy)
steal1=$(cpu_steal)
if [ -n "$busy0" ] && [ -n "$busy1" ] && [ -n "$ours" ]; then
    awk -v b0="$busy0" -v b1="$busy1" -v s0="$steal0" -v s1="$steal1" \
        -v hz="$hz" -v ours="$ours" -v load0="$load0" 'BEGIN {
        busy = (b1 - b0) / hz; other = busy - ours; if (other < 0) other = 0
        printf "\nOther load: %.1f CPU-s of the %.1f CPU-s the machine was busy during this run were not ours (%.0f%%); hypervisor steal %.1f s; load average at the start %s.\n",
            other, busy, (busy > 0 ? 100 * other / busy : 0), (s1 - s0) / hz, load0
        if (busy > 0 && other / busy > 0.05)
            print "WARNING: other processes used the CPUs during this run: the timings are skewed; run again on a quiet machine."
    }'
fi
echo
echo "sched benchmarks took $(($(date +%s) - start)) s; raw data in $data"
[ $failed = 0 ] || echo "sched: some programs failed or gave wrong results (see above)"
exit $failed
