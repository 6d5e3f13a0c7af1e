#!/bin/sh
# MPI benchmarks (issue 12): raster-tool hillshade, calc and slope on an
# 8192² DEM, the plain build at 1 and 2 threads against the MPI build under
# mpirun at 1 rank x 2 threads (--bind-to none) and 2 ranks x 1 thread,
# all on this machine. Rounds are interleaved (each round runs every row
# once), so every row sees the same background load. A row gives the
# median wall time, the spread, the CPU seconds of all processes (user +
# system: a rank that spun while waiting would show here), the peak RSS
# of the largest process, and the median over the plain build's at 2
# threads. Every output is checked against the plain build's bytes.
#
# Environment: TES_BUILD (the plain build, default build), TES_MPI_BUILD
# (default build/mpi; `make MPI=1` makes it), TES_BENCH_SIZE (default
# 8192), TES_BENCH_REPS (default 5), TES_BENCH_DIR (scratch, default
# $TES_BUILD/bench/mpi-data), TES_MPIRUN (default: mpirun with -q, and
# --allow-run-as-root as root).
# Exit status: 0, 1 when a command failed or an output differed; skipped
# (0, with a note) when there is no MPI build or no mpirun.
set -u
BUILD=${TES_BUILD:-build}
MBUILD=${TES_MPI_BUILD:-build/mpi}
tool=$BUILD/raster-tool
mtool=$MBUILD/raster-tool
n=${TES_BENCH_SIZE:-8192}
reps=${TES_BENCH_REPS:-5}
data=${TES_BENCH_DIR:-$BUILD/bench/mpi-data}
TIME=/usr/bin/time
if ! command -v mpirun >/dev/null 2>&1 || [ ! -x "$mtool" ]; then
    echo "bench/mpi: skipped: needs mpirun and $mtool (make MPI=1)"
    exit 0
fi
if [ ! -x "$tool" ] || [ ! -x $TIME ]; then
    echo "bench/mpi: needs $tool (make) and $TIME (apt-get install time)" >&2
    exit 1
fi
if [ -n "${TES_MPIRUN:-}" ]; then
    mpirun=$TES_MPIRUN
elif [ "$(id -u)" -eq 0 ]; then
    mpirun="mpirun -q --allow-run-as-root"
else
    mpirun="mpirun -q"
fi
mkdir -p "$data" || exit 1
status=0

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(mpirun --version | head -n 1)"
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

a=$data/dem$n.tif b=$data/dem${n}b.tif
[ -f "$a" ] || "$tool" synth --quiet --size ${n}x$n --seed 1 "$a" || exit 1
[ -f "$b" ] || "$tool" synth --quiet --size ${n}x$n --seed 2 "$b" || exit 1

# group NAME ARGS: the rows for `raster-tool ARGS OUT`.
group() {
    name=$1 args=$2
    set -- "plain|2|$tool ARGS -j 2" "plain|1|$tool ARGS -j 1" \
        "MPI 1 rank x 2|2|$mpirun -np 1 --bind-to none $mtool ARGS -j 2" \
        "MPI 2 ranks x 1|1|$mpirun -np 2 $mtool ARGS -j 1" \
        "MPI 2 ranks x 1, pml ob1|1|$mpirun -np 2 --mca pml ob1 $mtool ARGS -j 1"
    k=0
    for spec in "$@"; do
        : >"$data/g$k.t"
        k=$((k + 1))
    done
    rm -f "$data/ref.tif"
    eval "\"$tool\" $args --quiet -j 2 \"$data/ref.tif\"" || return 1
    i=0
    while [ $i -lt "$reps" ]; do
        k=0
        for spec in "$@"; do
            cmd=${spec#*|}
            cmd=${cmd#*|}
            cmd=$(printf '%s' "$cmd" | sed "s|ARGS|$args --quiet|")
            rm -f "$data/out.tif"
            if ! eval "$TIME -f '%e %U %S %M' -o '$data/time.txt' $cmd $data/out.tif" \
                >/dev/null 2>"$data/err.txt"; then
                echo "bench/mpi: failed: $cmd" >&2
                cat "$data/err.txt" >&2
                status=1
            elif ! cmp -s "$data/out.tif" "$data/ref.tif"; then
                echo "bench/mpi: output differs: $cmd" >&2
                status=1
            else # wall, CPU (user + system), peak RSS
                tail -n 1 "$data/time.txt" |
                    awk '{ print $1, $2 + $3, $4 }' >>"$data/g$k.t"
            fi
            k=$((k + 1))
        done
        i=$((i + 1))
    done
    base=""
    k=0
    for spec in "$@"; do
        who=${spec%%|*}
        th=${spec#*|}
        th=${th%%|*}
        cpu=$(sort -n -k 2 "$data/g$k.t" | awk '{ c[NR] = $2 }
            END { if (NR) printf "%.2f", (NR % 2) ? c[(NR + 1) / 2] : (c[NR / 2] + c[NR / 2 + 1]) / 2 }')
        set -- $(sort -n "$data/g$k.t" | awk -v cpu="$cpu" '
            { v[NR] = $1; if ($3 > rss) rss = $3 }
            END { if (!NR) exit;
                  med = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
                  printf "%.3f %.3f %.3f %s %.0f %d\n", med, v[1], v[NR], cpu, rss / 1024, NR }')
        if [ $# -eq 6 ]; then
            [ -z "$base" ] && base=$1
            ratio=$(awk -v a="$1" -v b="$base" 'BEGIN { printf "%.3f", a / b }')
            printf '| %s | %s | %s | %s | %s–%s | %s | %s | %s | %s |\n' "$name" \
                "$who" "$th" "$1" "$2" "$3" "$4" "$5" "$6" "$ratio"
        fi
        rm -f "$data/g$k.t"
        k=$((k + 1))
    done
}

echo "### ${n}² float32 DEM (deflate), raster-tool defaults (deflate out)"
echo
echo "Ratio: the row's median over the plain build's at 2 threads (below 1.10: within the 10% target)."
echo
echo "| command | build | threads per rank | median s | min–max s | CPU s (median) | peak RSS MB | runs | / plain(2) |"
echo "|---|---|---|---|---|---|---|---|---|"
group hillshade "hillshade $a" || status=1
group "hillshade, uncompressed out" "hillshade --compress none $a" || status=1
group "calc NDVI" "calc -A $a -B $b --expr '(B - A) / (B + A)'" || status=1
group "slope (float32 out)" "slope $a" || status=1
echo
# What every MPI row pays before its first tile and after its last: mpirun,
# MPI_Init and MPI_Finalize (raster-tool --version under mpirun).
for pml in "" "--mca pml ob1"; do
    : >"$data/l.t"
    i=0
    while [ $i -lt "$reps" ]; do
        $TIME -f '%e' -o "$data/time.txt" $mpirun -np 2 $pml "$mtool" --version >/dev/null 2>&1 &&
            tail -n 1 "$data/time.txt" >>"$data/l.t"
        i=$((i + 1))
    done
    printf 'launch, init and finalize of 2 ranks%s: median %s s\n' "${pml:+ ($pml)}" \
        "$(sort -n "$data/l.t" | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }')"
done
rm -f "$data/l.t"
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
rm -f "$data/out.tif" "$data/ref.tif" "$data/time.txt" "$data/err.txt"
exit $status
