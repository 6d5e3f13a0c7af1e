#!/bin/sh
# Kernel benchmarks (issue 4): raster-tool slope, aspect, hillshade, calc,
# stats, blur and convolve at 1 and 2 threads beside gdaldem, gdal_calc.py,
# gdalinfo -stats and vips on the same synthetic DEMs (float32, tiled,
# deflate in; uncompressed out, as the peers write), plus the kernels alone
# on in-memory tiles (kern_bench). Median of several runs with the spread,
# peak RSS from /usr/bin/time, and ratios (peer time / ours) in Markdown.
# Peers that are not installed are skipped with a message.
#
# Environment: TES_BUILD (default build), TES_BENCH_SIZES (default
# "8192 16384"), TES_BENCH_REPS (default 3), TES_BENCH_QUICK=1 (one 1024
# DEM, 2 runs: a smoke test), TES_BENCH_DIR (scratch, default
# $TES_BUILD/bench/kernels-data; the 16384 DEMs take about 2 GB).
# Exit status: 0, or 1 when one of our commands failed.
set -u
src=$(cd "$(dirname "$0")" && pwd)
BUILD=${TES_BUILD:-build}
tool=$BUILD/raster-tool
reps=${TES_BENCH_REPS:-3}
sizes=${TES_BENCH_SIZES:-"8192 16384"}
if [ "${TES_BENCH_QUICK:-0}" = 1 ]; then
    sizes=1024 reps=2
fi
data=${TES_BENCH_DIR:-$BUILD/bench/kernels-data}
mkdir -p "$data" || exit 1
status=0
if [ ! -x "$tool" ]; then
    echo "bench/kernels: $tool missing (run make first)" >&2
    exit 1
fi
TIME=/usr/bin/time
if ! [ -x $TIME ]; then
    echo "bench/kernels: /usr/bin/time missing (apt-get install time)" >&2
    exit 1
fi
have() { command -v "$1" >/dev/null 2>&1; }
for p in gdaldem gdal_calc.py gdalinfo vips; do
    have $p || echo "note: $p not installed: its rows are skipped"
done

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo

# group NAME SIZE SPEC...: one table row per SPEC ("WHO|THREADS|COMMAND",
# the command a shell string run with eval). The SPECs run round-robin,
# one run of each per round, reps rounds, so that ours and the peers see
# the same background load; a row gives the median, min-max and peak RSS.
# Ratio: a peer's median over our 2-thread median. A SPEC whose command
# fails is reported and dropped.
group() {
    name=$1 size=$2
    shift 2
    k=0
    for spec in "$@"; do
        : >"$data/g$k.t"
        k=$((k + 1))
    done
    i=0
    while [ $i -lt "$reps" ]; do
        k=0
        for spec in "$@"; do
            cmd=${spec#*|}
            cmd=${cmd#*|}
            rm -f "$data"/out.tif "$data"/out.tif.aux.xml
            if [ -f "$data/g$k.t" ] &&
                ! eval "$TIME -f '%e %M' -o '$data/time.txt' $cmd" >/dev/null 2>"$data/err.txt"; then
                echo "bench/kernels: failed: $cmd" >&2
                cat "$data/err.txt" >&2
                rm -f "$data/g$k.t"
                status=1
            elif [ -f "$data/g$k.t" ]; then
                tail -n 1 "$data/time.txt" >>"$data/g$k.t"
            fi
            k=$((k + 1))
        done
        i=$((i + 1))
    done
    ours2=""
    k=0
    for spec in "$@"; do
        who=${spec%%|*}
        th=${spec#*|}
        th=${th%%|*}
        if [ -f "$data/g$k.t" ]; then
            set -- $(sort -n "$data/g$k.t" | awk '
                { v[NR] = $1; if ($2 > rss) rss = $2 }
                END { med = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
                      printf "%.3f %.3f %.3f %.0f\n", med, v[1], v[NR], rss / 1024 }')
            ratio=""
            if [ "$who" = tessera ] && [ "$th" = 2 ]; then
                ours2=$1
            elif [ "$who" != tessera ] && [ -n "$ours2" ]; then
                ratio=$(awk -v a="$1" -v b="$ours2" 'BEGIN { printf "%.2fx", a / b }')
            fi
            printf '| %s | %s² | %s | %s | %s | %s–%s | %s | %s |\n' "$name" \
                "$size" "$who" "$th" "$1" "$2" "$3" "$4" "$ratio"
            rm -f "$data/g$k.t"
        fi
        k=$((k + 1))
    done
}

for n in $sizes; do
    a=$data/dem$n.tif b=$data/dem${n}b.tif
    [ -f "$a" ] || "$tool" synth --quiet --size ${n}x$n --seed 1 "$a" || exit 1
    [ -f "$b" ] || "$tool" synth --quiet --size ${n}x$n --seed 2 "$b" || exit 1
    o=$data/out.tif
    echo "### ${n}² float32 DEM, deflate in, uncompressed out"
    echo
    echo "Runs interleaved: each round runs every row of a command once."
    echo "Ratio: the peer's median over ours at 2 threads (above 1: we are faster)."
    echo
    echo "| command | size | tool | threads | median s | min–max s | peak RSS MB | peer / ours(2) |"
    echo "|---|---|---|---|---|---|---|---|"
    for c in hillshade slope aspect; do
        set -- "tessera|1|$tool $c -j 1 --quiet --compress none $a $o" \
               "tessera|2|$tool $c -j 2 --quiet --compress none $a $o"
        have gdaldem && set -- "$@" "gdaldem|1|gdaldem $c -q $a $o"
        group $c $n "$@"
    done
    calc="-A $a -B $b --expr '(B - A) / (B + A)' $o"
    set -- "tessera|1|$tool calc -j 1 --quiet --compress none $calc" \
           "tessera|2|$tool calc -j 2 --quiet --compress none $calc"
    have gdal_calc.py && set -- "$@" "gdal_calc.py|1|gdal_calc.py --quiet -A $a -B $b --calc='(B-A)/(B+A)' --type=Float32 --outfile=$o"
    group "calc NDVI" $n "$@"
    set -- "tessera|1|$tool stats -j 1 --quiet $a" "tessera|2|$tool stats -j 2 --quiet $a"
    have gdalinfo && set -- "$@" "gdalinfo -stats|1|env GDAL_PAM_ENABLED=NO gdalinfo -stats $a"
    have vips && set -- "$@" "vips|2|env VIPS_CONCURRENCY=2 vips stats $a $data/stats.csv"
    group stats $n "$@"
    set -- "tessera|1|$tool blur -j 1 --quiet --compress none --sigma 2 $a $o" \
           "tessera|2|$tool blur -j 2 --quiet --compress none --sigma 2 $a $o"
    have vips && set -- "$@" "vips gaussblur|2|env VIPS_CONCURRENCY=2 vips gaussblur $a $o 2"
    group "blur σ=2" $n "$@"
    printf '3 3 16 0\n1 2 1\n2 4 2\n1 2 1\n' >"$data/k3.mat"
    k3="--kernel '1 2 1; 2 4 2; 1 2 1' --normalize $a $o"
    set -- "tessera|1|$tool convolve -j 1 --quiet --compress none $k3" \
           "tessera|2|$tool convolve -j 2 --quiet --compress none $k3"
    have vips && set -- "$@" "vips conv|2|env VIPS_CONCURRENCY=2 vips conv $a $o $data/k3.mat --precision float"
    group "convolve 3×3" $n "$@"
    echo
done

# The kernels alone: no decode, no encode.
kb=$BUILD/bench/kern_bench
mkdir -p "$BUILD/bench"
if ${CC:-cc} -std=c11 -O2 -D_GNU_SOURCE -I"$src/../../include" -o "$kb" "$src/kern_bench.c" \
    "$BUILD/libtessera_raster.a" "$BUILD/libtessera.a" \
    $(pkg-config --libs libtiff-4 libzstd libdeflate zlib 2>/dev/null || echo -ltiff -lzstd -ldeflate -lz) \
    -lm -pthread; then
    kn=4096
    [ "${TES_BENCH_QUICK:-0}" = 1 ] && kn=1024
    echo "### Kernels alone, ${kn}² float32 in memory, 256² tiles"
    echo
    "$kb" $kn 2 "$reps" || status=1
else
    echo "bench/kernels: kern_bench did not build" >&2
    status=1
fi
rm -f "$data/out.tif" "$data/time.txt" "$data/err.txt" "$data/stats.csv"
exit $status
