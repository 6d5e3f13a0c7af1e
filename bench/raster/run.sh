#!/bin/sh
# Raster I/O benchmarks (issue 3), run by bench/run.sh or alone:
#   TES_BUILD=build sh bench/raster/run.sh
#
# On synthetic float32 DEMs (tiled 256, deflate level 6, floating-point
# predictor), in the same run:
#   copy     read-decode-encode-write with raster-tool convert at 1 and 2
#            threads, against gdal_translate -co TILED=YES -co COMPRESS=DEFLATE
#            single-threaded and with NUM_THREADS=ALL_CPUS (when installed),
#            all at deflate level 6 (GDAL's default), plus ours at level 4
#            for the speed/size trade; the variants run round-robin, one
#            run of each per round; ratios are peer time / our time; sizes
#            are output bytes.
#   decode   read and decode every tile, discard (bench/raster/decode_only.c)
#            at 1 and 2 threads.
#   rss      peak RSS of the 2-thread copy at every size: it must stay flat.
# Times are the median of RASTER_BENCH_RUNS rounds (default 3).
# Environment: RASTER_BENCH_SIZES (default "8192 16384"; RASTER_BENCH_FULL=1
# adds 32768), RASTER_BENCH_DIR (default $TES_BUILD/bench-raster; inputs are
# kept there between runs, outputs removed).
set -eu
B=${TES_BUILD:-build}
TOOL="$B/raster-tool"
RUNS=${RASTER_BENCH_RUNS:-3}
SIZES=${RASTER_BENCH_SIZES:-"8192 16384"}
[ "${RASTER_BENCH_FULL:-0}" = 1 ] && SIZES="$SIZES 32768"
WORK=${RASTER_BENCH_DIR:-$B/bench-raster}
here=$(cd "$(dirname "$0")" && pwd)

if [ ! -x "$TOOL" ]; then
    echo "raster bench: $TOOL not built" >&2
    exit 1
fi
if [ ! -x /usr/bin/time ]; then
    echo "raster bench: needs GNU time (/usr/bin/time)" >&2
    exit 1
fi
mkdir -p "$WORK"
DECODE="$WORK/decode_only"
${CC:-cc} -O2 -std=c11 -D_GNU_SOURCE -Iinclude -o "$DECODE" "$here/decode_only.c" \
    "$B/libtessera_raster.a" "$B/libtessera.a" \
    $(pkg-config --libs libtiff-4 libzstd libdeflate zlib 2>/dev/null || echo -ltiff -lzstd -ldeflate -lz) \
    -lm -pthread

# median of the arguments
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# time_cmd VAR_PREFIX cmd...: runs RUNS times; sets T (median seconds) and
# M (peak RSS of the last run, MB). The command's output is discarded.
time_cmd() {
    ts=""
    i=0
    while [ "$i" -lt "$RUNS" ]; do
        /usr/bin/time -f '%e %M %U %S' -o "$WORK/.t" "$@" >/dev/null 2>"$WORK/.err" ||
            { cat "$WORK/.err" >&2; return 1; }
        ts="$ts $(cut -d' ' -f1 "$WORK/.t")"
        M=$(( $(cut -d' ' -f2 "$WORK/.t") / 1024 ))
        OURS=$(awk -v o="$OURS" '{ printf "%.2f", o + $3 + $4 }' "$WORK/.t")
        i=$((i + 1))
    done
    T=$(median $ts)
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
bytes() { stat -c %s "$1"; }

# CPU-seconds the whole machine has been busy (from /proc/stat).
busy() { awk '/^cpu / { printf "%.2f", ($2 + $3 + $4 + $7 + $8 + $9) / 100 }' /proc/stat; }
OURS=0
BUSY0=$(busy)
echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1);" \
     "$(date -u '+%Y-%m-%d %H:%M UTC'); load average at start $(cut -d' ' -f1 /proc/loadavg)"
command -v gdal_translate >/dev/null 2>&1 && have_gdal=1 || have_gdal=0
[ "$have_gdal" = 1 ] || echo "gdal_translate not installed: peers skipped"
rss_line=""
for n in $SIZES; do
    in="$WORK/dem_$n.tif"
    if [ ! -f "$in" ]; then
        echo "making $in ..."
        saved=$RUNS; RUNS=1
        time_cmd "$TOOL" synth --quiet --size "${n}x$n" --seed 7 "$in"
        RUNS=$saved
        echo "(synth ${n}x$n: $T s, $M MB peak RSS)"
    fi
    out="$WORK/out.tif"
    echo
    echo "### ${n}x$n float32, deflate input ($(bytes "$in") bytes), median of $RUNS interleaved rounds"
    echo
    echo "| copy | threads | time (s) | min-max (s) | peak RSS (MB) | output (bytes) |"
    echo "|---|---|---|---|---|---|"
    # Every variant runs once per round, RUNS rounds, so that ours and
    # GDAL's see the same background load.
    set -- "tessera convert|1|$TOOL convert --quiet --overwrite -j 1 --level 6 $in $out" \
           "tessera convert|2|$TOOL convert --quiet --overwrite -j 2 --level 6 $in $out" \
           "tessera convert --predictor 1 (GDAL's layout)|2|$TOOL convert --quiet --overwrite -j 2 --level 6 --predictor 1 $in $out" \
           "tessera convert --level 4|2|$TOOL convert --quiet --overwrite -j 2 --level 4 $in $out"
    if [ "$have_gdal" = 1 ]; then
        set -- "$@" "gdal_translate|1|gdal_translate -q -co TILED=YES -co COMPRESS=DEFLATE $in $out" \
            "gdal_translate NUM_THREADS=ALL_CPUS|all|gdal_translate -q -co TILED=YES -co COMPRESS=DEFLATE -co NUM_THREADS=ALL_CPUS --config GDAL_NUM_THREADS ALL_CPUS $in $out"
    fi
    k=0
    for spec in "$@"; do : >"$WORK/.r$k"; k=$((k + 1)); done
    i=0
    while [ "$i" -lt "$RUNS" ]; do
        k=0
        for spec in "$@"; do
            rm -f "$out"
            /usr/bin/time -f '%e %M %U %S' -o "$WORK/.t" ${spec##*|} >/dev/null 2>"$WORK/.err" ||
                { cat "$WORK/.err" >&2; exit 1; }
            case $spec in tessera*)
                OURS=$(awk -v o="$OURS" '{ printf "%.2f", o + $3 + $4 }' "$WORK/.t") ;;
            esac
            echo "$(cat "$WORK/.t") $(bytes "$out")" >>"$WORK/.r$k"
            k=$((k + 1))
        done
        i=$((i + 1))
    done
    rm -f "$out"
    k=0
    for spec in "$@"; do
        label=${spec%%|*}
        th=${spec#*|}
        th=${th%%|*}
        T=$(median $(cut -d' ' -f1 "$WORK/.r$k"))
        lo=$(cut -d' ' -f1 "$WORK/.r$k" | sort -n | head -n 1)
        hi=$(cut -d' ' -f1 "$WORK/.r$k" | sort -n | tail -n 1)
        M=$(( $(cut -d' ' -f2 "$WORK/.r$k" | sort -n | tail -n 1) / 1024 ))
        sz=$(tail -n 1 "$WORK/.r$k" | cut -d' ' -f5)
        echo "| $label | $th | $T | $lo-$hi | $M | $sz |"
        case $k in 0) t1=$T ;; 1) t2=$T; m2=$M ;; 3) t4=$T ;; 4) g1=$T ;; 5) gm=$T ;; esac
        rm -f "$WORK/.r$k"
        k=$((k + 1))
    done
    rss_line="$rss_line ${n}:${m2}"
    if [ "$have_gdal" = 1 ]; then
        echo
        echo "ratios: tessera 2 threads vs gdal multithreaded $(ratio "$gm" "$t2")x," \
             "vs gdal single-threaded $(ratio "$g1" "$t2")x; tessera 1 thread vs gdal single-threaded $(ratio "$g1" "$t1")x;" \
             "--level 4 at 2 threads vs gdal multithreaded (level 6) $(ratio "$gm" "$t4")x"
    fi
    time_cmd "$DECODE" "$in" 1
    d1=$T
    time_cmd "$DECODE" "$in" 2
    d2=$T
    echo "decode only: 1 thread $d1 s, 2 threads $d2 s, scaling $(ratio "$d1" "$d2")x"
done
echo
echo "peak RSS of the 2-thread copy (size:MB):$rss_line"
BUSY1=$(busy)
awk -v a="$BUSY0" -v b="$BUSY1" -v o="$OURS" 'BEGIN {
    t = b - a; x = t - o; if (x < 0) x = 0;
    p = (t > 0) ? 100 * x / t : 0;
    printf "other load: %.1f CPU-s of the %.1f CPU-s the machine was busy were not ours (%.0f%%)\n", x, t, p }' 
rm -f "$WORK/.t" "$WORK/.err"
