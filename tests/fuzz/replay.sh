#!/bin/sh
# make check: replays each harness's seeds and regression inputs through
# its replay build ($TES_BUILD/tests/fuzz/replay_<name>). Quiet when all
# pass; the log's tail when one fails (a crash, a sanitizer report or a
# broken promise, which aborts).
set -u
dir=$(dirname "$0")
build=${TES_BUILD:-build}
fail=0
log=$(mktemp "${TMPDIR:-/tmp}/tessera-replay.XXXXXX")
for n in "$@"; do
    set --
    for d in "$dir/seeds/$n" "$dir/regress/$n"; do
        [ -d "$d" ] && set -- "$@" "$d"
    done
    [ $# -eq 0 ] && continue
    # a hang is a failure too, not a stuck make check
    if timeout 600 "$build/tests/fuzz/replay_$n" "$@" >"$log" 2>&1; then
        echo "fuzz replay: $n: $(tail -n 1 "$log")"
    else
        rc=$?
        tail -n 30 "$log"
        echo "FAILED: fuzz replay $n (exit $rc)"
        fail=1
    fi
done
rm -f "$log"
exit $fail
