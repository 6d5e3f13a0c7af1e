#!/bin/sh
# COG output, overviews and the walk order (issue 13), run by bench/run.sh
# or alone:   TES_BUILD=build sh bench/cog/run.sh [cog|walk|floor]...
#
# On synthetic float32 DEMs (synth --seed 7: tiled 256, deflate, floating-
# point predictor), in the same run, variants interleaved round by round:
#   cog    16384^2 DEM to a COG (deflate, predictor, cubic overviews) with
#          raster-tool convert --cog at 2 threads against gdal_translate -of
#          COG -co NUM_THREADS=ALL_CPUS (when installed); hillshade --cog
#          against gdaldem hillshade -of COG. Ratios are GDAL's time and peak
#          RSS over ours; --stats gives our temporary-file traffic.
#   walk   hillshade with uncompressed output at 2 threads on a 16384^2 and a
#          131072x2048 DEM (the same 268 MPix): time, peak RSS, input blocks
#          decoded; the wide one against the square one.
#   floor  (COG_BENCH_FULL=1) hillshade with deflate output on a 32768^2 DEM
#          against its floor: decoding the DEM (bench/raster/decode_only)
#          plus encoding the hillshade (convert --compress deflate of the
#          uncompressed hillshade), all at 2 threads.
# Times are the median of COG_BENCH_RUNS rounds (default 3). Inputs are kept
# in COG_BENCH_DIR (default $TES_BUILD/bench-cog); outputs are removed.
set -eu
B=${TES_BUILD:-build}
TOOL="$B/raster-tool"
RUNS=${COG_BENCH_RUNS:-3}
WORK=${COG_BENCH_DIR:-$B/bench-cog}
here=$(cd "$(dirname "$0")" && pwd)
[ $# -eq 0 ] && set -- cog walk $([ "${COG_BENCH_FULL:-0}" = 1 ] && echo floor)

if [ ! -x "$TOOL" ] || [ ! -x /usr/bin/time ]; then
    echo "cog bench: needs $TOOL and GNU time (/usr/bin/time)" >&2
    exit 1
fi
mkdir -p "$WORK"

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

# dem NAME WxH: makes $WORK/NAME.tif once.
dem() {
    [ -f "$WORK/$1.tif" ] && return 0
    echo "making $WORK/$1.tif ($2) ..."
    "$TOOL" synth --quiet --size "$2" --seed 7 "$WORK/$1.tif"
}

# rounds "label|command" ...: RUNS rounds, every variant once per round, in
# order; prints a table row per variant (median time, min-max, median
# user + system CPU seconds, peak RSS)
# and leaves T_k and M_k (median s, max MB) for variant k = 0, 1, ...
rounds() {
    k=0
    for spec in "$@"; do : >"$WORK/.r$k"; k=$((k + 1)); done
    i=0
    while [ "$i" -lt "$RUNS" ]; do
        k=0
        for spec in "$@"; do
            rm -f "$WORK"/out*.tif "$WORK"/out*.tif.ovr
            /usr/bin/time -f '%e %M %U %S' -o "$WORK/.t" sh -c "${spec#*|}" \
                >/dev/null 2>"$WORK/.err" || { cat "$WORK/.err" >&2; exit 1; }
            cat "$WORK/.t" >>"$WORK/.r$k"
            k=$((k + 1))
        done
        i=$((i + 1))
    done
    k=0
    for spec in "$@"; do
        t=$(median $(cut -d' ' -f1 "$WORK/.r$k"))
        lo=$(cut -d' ' -f1 "$WORK/.r$k" | sort -n | head -n 1)
        hi=$(cut -d' ' -f1 "$WORK/.r$k" | sort -n | tail -n 1)
        m=$(( $(cut -d' ' -f2 "$WORK/.r$k" | sort -n | tail -n 1) / 1024 ))
        cpu=$(median $(awk '{ printf "%.2f\n", $3 + $4 }' "$WORK/.r$k"))
        echo "| ${spec%%|*} | $t | $lo-$hi | $cpu | $m |"
        eval "T_$k=$t; M_$k=$m; C_$k=$cpu"
        rm -f "$WORK/.r$k"
        k=$((k + 1))
    done
}

# stats CMD...: our run's --stats line.
stats() {
    rm -f "$WORK"/out*.tif
    "$@" --stats 2>&1 >/dev/null | sed -n 's/^raster-tool: stats: //p'
}

echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1);" \
     "$(date -u '+%Y-%m-%d %H:%M UTC'); load average at start $(cut -d' ' -f1 /proc/loadavg)"
command -v gdal_translate >/dev/null 2>&1 && have_gdal=1 || have_gdal=0

for section in "$@"; do
case $section in
cog)
    dem dem_16384 16384x16384
    in="$WORK/dem_16384.tif"
    echo
    echo "### COG of a 16384x16384 float32 DEM (deflate, predictor, cubic overviews), median of $RUNS"
    echo
    echo "| run | time (s) | min-max (s) | CPU (s) | peak RSS (MB) |"
    echo "|---|---|---|---|---|"
    set -- "tessera convert --cog, 2 threads|$TOOL convert --quiet -j 2 --cog $in $WORK/out.tif"
    [ "$have_gdal" = 1 ] && set -- "$@" \
        "gdal_translate -of COG, NUM_THREADS=ALL_CPUS|gdal_translate -q -of COG -co COMPRESS=DEFLATE -co PREDICTOR=YES -co NUM_THREADS=ALL_CPUS --config GDAL_NUM_THREADS ALL_CPUS $in $WORK/out.tif"
    rounds "$@"
    [ "$have_gdal" = 1 ] &&
        echo "ratios: gdal_translate / tessera: time $(ratio "$T_1" "$T_0")x, CPU $(ratio "$C_1" "$C_0")x, peak RSS $(ratio "$M_1" "$M_0")x"
    echo "tessera --stats: $(stats "$TOOL" convert --quiet -j 2 --cog "$in" "$WORK/out.tif")"
    echo
    echo "### hillshade to a COG, 16384x16384, median of $RUNS"
    echo
    echo "| run | time (s) | min-max (s) | CPU (s) | peak RSS (MB) |"
    echo "|---|---|---|---|---|"
    set -- "tessera hillshade --cog, 2 threads|$TOOL hillshade --quiet -j 2 --cog $in $WORK/out.tif"
    [ "$have_gdal" = 1 ] && set -- "$@" \
        "gdaldem hillshade -of COG, NUM_THREADS=ALL_CPUS|gdaldem hillshade -q -of COG -co COMPRESS=DEFLATE -co NUM_THREADS=ALL_CPUS --config GDAL_NUM_THREADS ALL_CPUS $in $WORK/out.tif"
    rounds "$@"
    [ "$have_gdal" = 1 ] &&
        echo "ratios: gdaldem / tessera: time $(ratio "$T_1" "$T_0")x, CPU $(ratio "$C_1" "$C_0")x, peak RSS $(ratio "$M_1" "$M_0")x"
    ;;
walk)
    dem dem_16384 16384x16384
    dem dem_wide 131072x2048
    echo
    echo "### hillshade, uncompressed output, 2 threads: the same 268 MPix square and wide, median of $RUNS"
    echo
    echo "| run | time (s) | min-max (s) | CPU (s) | peak RSS (MB) |"
    echo "|---|---|---|---|---|"
    rounds "16384x16384|$TOOL hillshade --quiet -j 2 --compress none $WORK/dem_16384.tif $WORK/out.tif" \
           "131072x2048|$TOOL hillshade --quiet -j 2 --compress none $WORK/dem_wide.tif $WORK/out.tif"
    echo "wide / square: $(ratio "$T_1" "$T_0")x"
    echo "square --stats: $(stats "$TOOL" hillshade --quiet -j 2 --compress none "$WORK/dem_16384.tif" "$WORK/out.tif")"
    echo "wide --stats: $(stats "$TOOL" hillshade --quiet -j 2 --compress none "$WORK/dem_wide.tif" "$WORK/out.tif")"
    ;;
floor)
    dem dem_32768 32768x32768
    in="$WORK/dem_32768.tif"
    DECODE="$WORK/decode_only"
    ${CC:-cc} -O2 -std=c11 -D_GNU_SOURCE -Iinclude -o "$DECODE" \
        "$here/../raster/decode_only.c" "$B/libtessera_raster.a" "$B/libtessera.a" \
        $(pkg-config --libs libtiff-4 libzstd libdeflate zlib 2>/dev/null || echo -ltiff -lzstd -ldeflate -lz) \
        -lm -pthread
    "$TOOL" hillshade --quiet -j 2 --compress none "$in" "$WORK/shade_none.tif"
    echo
    echo "### hillshade with deflate output, 32768x32768, 2 threads, against decode + encode, median of $RUNS"
    echo
    echo "| run | time (s) | min-max (s) | CPU (s) | peak RSS (MB) |"
    echo "|---|---|---|---|---|"
    rounds "hillshade --compress deflate|$TOOL hillshade --quiet -j 2 $in $WORK/out.tif" \
           "decode the DEM (decode_only)|$DECODE $in 2" \
           "encode the shade (convert --compress deflate)|$TOOL convert --quiet -j 2 $WORK/shade_none.tif $WORK/out.tif"
    floor=$(awk -v a="$T_1" -v b="$T_2" 'BEGIN { printf "%.2f", a + b }')
    echo "floor: $floor s; hillshade / floor: $(ratio "$T_0" "$floor")x"
    rm -f "$WORK/shade_none.tif"
    ;;
*)
    echo "cog bench: unknown section '$section' (cog, walk, floor)" >&2
    exit 1
    ;;
esac
done
rm -f "$WORK"/out*.tif "$WORK/.t" "$WORK/.err"
echo "load average at end $(cut -d' ' -f1 /proc/loadavg)"
