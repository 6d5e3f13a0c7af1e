#!/bin/sh
# make demo: runs the examples, then (where the raster engine is built) the
# raster demo. TES_BUILD names the build folder.
set -eu
B=${TES_BUILD:-build}

echo "== tessera examples"
TES_BUILD=$B sh examples/run.sh

# ---- raster demo (raster section) ----
if [ -f examples/demo_raster.sh ]; then
    sh examples/demo_raster.sh
fi
