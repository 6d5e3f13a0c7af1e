#!/bin/sh
# gdaldem's processing modes against raster-tool (issue 14), run by
# bench/run.sh or alone:
#   TES_BUILD=build flock /work/bench.lock sh bench/gdaldem/run.sh
#
# On a synthetic float32 DEM of GDALDEM_BENCH_SIZE² (default 16384; tiled
# 256, deflate, floating-point predictor, as `raster-tool synth` writes
# it), TRI, TPI, roughness, Igor's hillshade and colour relief (a colour
# file of absolute elevations) with gdaldem (GDAL's tool is one thread)
# and raster-tool at 2 threads, each writing an uncompressed GeoTIFF (as
# gdaldem does by default: raster-tool --compress none), and then both
# writing deflate-compressed tiles (gdaldem -co COMPRESS=DEFLATE -co
# TILED=YES -co NUM_THREADS=2, GDAL's multithreaded compression; raster-tool
# --predictor 1, GDAL's default layout, so that both compress the same). The
# variants of a job run round-robin, GDALDEM_BENCH_RUNS rounds (default 3);
# times are medians, ratios gdaldem / raster-tool, peak RSS beside. Then
# the peak RSS of TRI at 2048² .. the size, for both tools.
# Writes $WORK/ratios.csv and $WORK/rss.csv, which bench/plot.sh draws.
# GDALDEM_BENCH_JOBS (default "tri tpi roughness igor color"),
# GDALDEM_BENCH_MODES (default "plain deflate") and GDALDEM_BENCH_RSS
# (default 1) pick parts.
set -eu
B=${TES_BUILD:-build}
TOOL="$B/raster-tool"
RUNS=${GDALDEM_BENCH_RUNS:-3}
N=${GDALDEM_BENCH_SIZE:-16384}
WORK=${GDALDEM_BENCH_DIR:-$B/bench-gdaldem}
JOBS=${GDALDEM_BENCH_JOBS:-tri tpi roughness igor color}
MODES=${GDALDEM_BENCH_MODES:-plain deflate}

if [ ! -x "$TOOL" ]; then
    echo "gdaldem bench: $TOOL not built" >&2
    exit 1
fi
if ! command -v gdaldem >/dev/null 2>&1; then
    echo "gdaldem bench: gdaldem not installed (gdal-bin): skipped"
    exit 0
fi
if [ ! -x /usr/bin/time ]; then
    echo "gdaldem bench: needs GNU time (/usr/bin/time)" >&2
    exit 1
fi
mkdir -p "$WORK"
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

dem() {
    f="$WORK/dem_$1.tif"
    if [ ! -f "$f" ]; then
        echo "making $f ..."
        "$TOOL" synth --quiet --size "$1x$1" --seed 11 --holes 0.002 "$f.tmp" &&
            mv "$f.tmp" "$f"
    fi
}

colors="$WORK/colors.txt"
printf '%s\n' "nv 0 0 0 0" "0 38 115 77" "600 169 186 111" \
    "1200 205 176 120" "1800 128 100 92" "2400 210 210 210" \
    "3000 255 255 255" >"$colors"

echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1);" \
     "$(date -u '+%Y-%m-%d %H:%M UTC'); $(gdaldem --version 2>/dev/null | head -n 1)"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
dem "$N"
in="$WORK/dem_$N.tif"
out="$WORK/out.tif"
echo "job,peer,peer_s,tessera_s,ratio,peer_rss_mb,tessera_rss_mb" >"$WORK/ratios.csv"

# run_pair LABEL "GDALDEM ARGS" "RASTER-TOOL ARGS" (IN OUT appended, or
# IN COLORS OUT for color-relief): RUNS rounds of one run each.
run_pair() {
    label=$1
    case " $JOBS " in *" $2 "*) ;; *) return 0 ;; esac
    shift
    : >"$WORK/.g"
    : >"$WORK/.t"
    i=0
    while [ "$i" -lt "$RUNS" ]; do
        rm -f "$out"
        # shellcheck disable=SC2086 # the arguments are words
        /usr/bin/time -f '%e %M' -a -o "$WORK/.g" gdaldem $2 >/dev/null 2>"$WORK/.err" ||
            { cat "$WORK/.err" >&2; exit 1; }
        rm -f "$out"
        # shellcheck disable=SC2086
        /usr/bin/time -f '%e %M' -a -o "$WORK/.t" "$TOOL" $3 >/dev/null 2>"$WORK/.err" ||
            { cat "$WORK/.err" >&2; exit 1; }
        i=$((i + 1))
    done
    rm -f "$out"
    g=$(median $(cut -d' ' -f1 "$WORK/.g"))
    t=$(median $(cut -d' ' -f1 "$WORK/.t"))
    gm=$(( $(cut -d' ' -f2 "$WORK/.g" | sort -n | tail -n 1) / 1024 ))
    tm=$(( $(cut -d' ' -f2 "$WORK/.t" | sort -n | tail -n 1) / 1024 ))
    gr="$(sort -n "$WORK/.g" | head -n 1 | cut -d' ' -f1)-$(sort -n "$WORK/.g" | tail -n 1 | cut -d' ' -f1)"
    tr="$(sort -n "$WORK/.t" | head -n 1 | cut -d' ' -f1)-$(sort -n "$WORK/.t" | tail -n 1 | cut -d' ' -f1)"
    echo "| $label | $g ($gr) | $gm | $t ($tr) | $tm | **$(ratio "$g" "$t")x** |"
    echo "$label,gdaldem,$g,$t,$(ratio "$g" "$t"),$gm,$tm" >>"$WORK/ratios.csv"
}

for mode in $MODES; do
    if [ "$mode" = plain ]; then
        gco=""
        tco="--compress none"
        echo
        echo "### ${N}² float32 DEM, uncompressed output, median of $RUNS interleaved rounds"
    else
        gco="-co COMPRESS=DEFLATE -co TILED=YES -co NUM_THREADS=2"
        tco="--compress deflate --predictor 1"
        echo
        echo "### the same, deflate-compressed tiled output (gdaldem with NUM_THREADS=2)"
    fi
    echo
    echo "| job | gdaldem s (min-max) | MB | raster-tool -j 2 s (min-max) | MB | ratio |"
    echo "|---|---|---|---|---|---|"
    sfx=""
    [ "$mode" = deflate ] && sfx=" (deflate)"
    run_pair "TRI$sfx" tri "TRI -q $gco $in $out" \
        "tri -j 2 --quiet --overwrite $tco $in $out"
    run_pair "TPI$sfx" tpi "TPI -q $gco $in $out" \
        "tpi -j 2 --quiet --overwrite $tco $in $out"
    run_pair "roughness$sfx" roughness "roughness -q $gco $in $out" \
        "roughness -j 2 --quiet --overwrite $tco $in $out"
    run_pair "hillshade -igor$sfx" igor "hillshade -igor -q $gco $in $out" \
        "hillshade --igor -j 2 --quiet --overwrite $tco $in $out"
    run_pair "color-relief$sfx" color "color-relief -q $gco $in $colors $out" \
        "color-relief -j 2 --quiet --overwrite $tco $in $colors $out"
done
[ "${GDALDEM_BENCH_RSS:-1}" = 1 ] || { echo "csv: $WORK/ratios.csv"; exit 0; }

echo
echo "### peak RSS of TRI (uncompressed output) by raster size"
echo
echo "| size | gdaldem MB | raster-tool -j 2 MB |"
echo "|---|---|---|"
echo "size,tool,rss_mb" >"$WORK/rss.csv"
s=2048
while [ "$s" -le "$N" ]; do
    dem "$s"
    rm -f "$out"
    /usr/bin/time -f '%M' -o "$WORK/.g" gdaldem TRI -q "$WORK/dem_$s.tif" "$out" >/dev/null
    rm -f "$out"
    /usr/bin/time -f '%M' -o "$WORK/.t" "$TOOL" tri -j 2 --quiet --compress none \
        "$WORK/dem_$s.tif" "$out" >/dev/null
    gm=$(( $(cat "$WORK/.g") / 1024 ))
    tm=$(( $(cat "$WORK/.t") / 1024 ))
    echo "| ${s}² | $gm | $tm |"
    echo "$s,gdaldem,$gm" >>"$WORK/rss.csv"
    echo "$s,raster-tool,$tm" >>"$WORK/rss.csv"
    s=$((s * 2))
done
rm -f "$out" "$WORK/.g" "$WORK/.t" "$WORK/.err"
echo
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "csv: $WORK/ratios.csv $WORK/rss.csv"
