#!/bin/sh
# make examples: runs every example; hillshade on a small synthetic DEM made
# with raster-tool synth, its output compared byte for byte with
# `raster-tool hillshade` on the same DEM. TES_BUILD names the build folder.
set -eu
B=${TES_BUILD:-build}
for e in "$B"/examples/*; do
    [ -x "$e" ] || continue
    case "$(basename "$e")" in hillshade) continue ;; esac
    echo "== $(basename "$e")"
    "$e"
done
if [ -x "$B/examples/hillshade" ] && [ -x "$B/raster-tool" ]; then
    echo "== hillshade"
    d=$(mktemp -d "${TMPDIR:-/tmp}/tes-examples-XXXXXX")
    trap 'rm -rf "$d"' EXIT
    "$B/raster-tool" synth --quiet --size 1000x700 --seed 3 --holes 0.02 "$d/dem.tif"
    "$B/examples/hillshade" "$d/dem.tif" "$d/example.tif"
    "$B/raster-tool" hillshade --quiet "$d/dem.tif" "$d/tool.tif"
    if cmp -s "$d/example.tif" "$d/tool.tif"; then
        echo "hillshade.c and raster-tool hillshade: byte-identical"
    else
        echo "hillshade.c and raster-tool hillshade DIFFER" >&2
        exit 1
    fi
fi
