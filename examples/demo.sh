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

# ---- Python (issue 11): one example, when python3 and numpy are there ----
py=""
for p in ${PYTHON:-} /usr/bin/python3 python3; do
    if "$p" -c 'import numpy' >/dev/null 2>&1; then py=$p; break; fi
done
if [ -z "$py" ]; then
    echo "== python: skipped (no python3 with numpy; apt-get install python3-numpy python3-dev)"
elif ! ${MAKE:-make} --no-print-directory B="$B" PYTHON="$py" python >/dev/null; then
    echo "== python: skipped (the extension did not build; python3-dev missing?)"
else
    echo "== python: examples/python/ndvi.py"
    PYTHONPATH="$B/python" "$py" examples/python/ndvi.py
fi
