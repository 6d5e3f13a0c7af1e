#!/bin/sh
# Runs the benchmark sections: bench/<section>/run.sh for every section
# present, or only the sections named as arguments (e.g. `sh bench/run.sh
# sched`). Called by `make bench` as `TES_BUILD=build sh bench/run.sh`.
# Exits non-zero when a section fails or a named section does not exist.
set -u
here=$(cd "$(dirname "$0")" && pwd)
TES_BUILD=${TES_BUILD:-build}
export TES_BUILD

if [ $# -eq 0 ]; then
    for s in "$here"/*/run.sh; do
        [ -f "$s" ] || continue
        d=${s%/run.sh}
        set -- "$@" "${d##*/}"
    done
fi
if [ $# -eq 0 ]; then
    echo "bench: no sections found under $here" >&2
    exit 1
fi

status=0
for section in "$@"; do
    script="$here/$section/run.sh"
    if [ ! -f "$script" ]; then
        echo "bench: no section '$section' (no $script)" >&2
        status=1
        continue
    fi
    echo "==== bench/$section"
    if ! sh "$script"; then
        echo "bench: section $section FAILED" >&2
        status=1
    fi
done
# the sections' tables as plots beside RESULTS.md
sh "$here/plot.sh" || status=1
exit $status
