#!/bin/sh
# The raster part of `make demo`: makes an 8192 x 8192 synthetic DEM with
# raster-tool synth, copies it with raster-tool convert, shades it, computes
# its slope, ruggedness, colour relief and statistics, prints the time and
# peak memory of each (GNU time -v), and draws PNG previews of the
# hillshade, the slope and the colour relief shaded by the hillshade.
# TES_BUILD names the build folder; the files go to $TES_DEMO_DIR (default
# $TES_BUILD/demo).
set -eu
B=${TES_BUILD:-build}
TOOL="$B/raster-tool"
OUT=${TES_DEMO_DIR:-$B/demo}
SIZE=${TES_DEMO_SIZE:-8192}

echo "== raster demo (raster-tool, ${SIZE}x${SIZE} float32)"
if [ ! -x "$TOOL" ]; then
    echo "   $TOOL is not built; skipped"
    exit 0
fi
mkdir -p "$OUT"

# Runs a command under GNU time and prints "<label>: <seconds> s, <MB> MB".
measure() {
    label=$1
    shift
    log="$OUT/.time.$$"
    if [ -x /usr/bin/time ]; then
        /usr/bin/time -v "$@" 2>"$log" >/dev/null || { cat "$log" >&2; rm -f "$log"; exit 1; }
        wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$log")
        kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$log")
        printf '   %-34s %10s wall  %6d MB peak RSS\n' "$label" "$wall" "$((kb / 1024))"
        rm -f "$log"
    else
        start=$(date +%s)
        "$@" >/dev/null
        printf '   %-34s %10s s (install GNU time for peak memory)\n' "$label" "$(( $(date +%s) - start ))"
    fi
}

measure "synth ${SIZE}x${SIZE} (deflate)" \
    "$TOOL" synth --quiet --overwrite --size "${SIZE}x${SIZE}" --seed 7 --holes 0.01 "$OUT/dem.tif"
measure "convert to zstd, 512 tiles" \
    "$TOOL" convert --quiet --overwrite --compress zstd --tile 512 "$OUT/dem.tif" "$OUT/dem_zstd.tif"
measure "convert to int16, lzw" \
    "$TOOL" convert --quiet --overwrite --type int16 --compress lzw "$OUT/dem.tif" "$OUT/dem_i16.tif"
measure "hillshade" \
    "$TOOL" hillshade --quiet --overwrite "$OUT/dem.tif" "$OUT/hillshade.tif"
measure "slope (degrees)" \
    "$TOOL" slope --quiet --overwrite "$OUT/dem.tif" "$OUT/slope.tif"
measure "TRI (Riley)" \
    "$TOOL" tri --quiet --overwrite "$OUT/dem.tif" "$OUT/tri.tif"
measure "color-relief (percentages)" \
    "$TOOL" color-relief --quiet --overwrite --alpha "$OUT/dem.tif" \
    examples/terrain-colors.txt "$OUT/relief.tif"
measure "stats" "$TOOL" stats "$OUT/dem.tif"
"$TOOL" info "$OUT/dem.tif" | sed 's/^/   /'
echo "   statistics of the DEM:"
"$TOOL" stats "$OUT/dem.tif" | sed 's/^/   /'
measure "quicklook hillshade.png" \
    "$TOOL" quicklook --quiet --overwrite "$OUT/hillshade.tif" "$OUT/hillshade.png"
measure "quicklook slope.png" \
    "$TOOL" quicklook --quiet --overwrite "$OUT/slope.tif" "$OUT/slope.png"
measure "quicklook relief.png (shaded)" \
    "$TOOL" quicklook --quiet --overwrite --multiply "$OUT/hillshade.tif" \
    "$OUT/relief.tif" "$OUT/relief.png"
echo "   files: $OUT/dem.tif $OUT/dem_zstd.tif $OUT/dem_i16.tif $OUT/hillshade.tif $OUT/slope.tif"
echo "          $OUT/tri.tif $OUT/relief.tif"
echo "   previews: $OUT/hillshade.png $OUT/slope.png $OUT/relief.png"
