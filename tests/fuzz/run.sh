#!/bin/sh
# make fuzz: runs each named harness ($TES_BUILD/tests/fuzz/fuzz_<name>)
# for FUZZ_SECONDS with libFuzzer, starting from the checked-in seeds and
# the regression inputs. New inputs go to $TES_BUILD/fuzz-corpus/<name>
# (kept between runs, never checked in); a finding is written to
# $TES_BUILD/fuzz-findings/<name>-crash-... (or leak-, timeout-, oom-) and
# fails the run. Prints libFuzzer's final statistics line by line.
set -u
dir=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${TES_BUILD:-build/fuzz}" && pwd)
secs=${FUZZ_SECONDS:-60}
fail=0
for n in "$@"; do
    corpus="$build/fuzz-corpus/$n"
    findings="$build/fuzz-findings"
    mkdir -p "$corpus" "$findings"
    case "$n" in
    tiff) max_len=16384 ;;
    cli) max_len=512 ;;
    color) max_len=2048 ;;
    *) max_len=1024 ;;
    esac
    set -- -max_total_time="$secs" -rss_limit_mb=2048 -timeout=30 \
        -max_len="$max_len" -print_final_stats=1 -close_fd_mask=1 \
        -artifact_prefix="$findings/$n-"
    [ -f "$dir/$n.dict" ] && set -- "$@" -dict="$dir/$n.dict"
    set -- "$@" "$corpus"
    for d in "$dir/seeds/$n" "$dir/regress/$n"; do
        [ -d "$d" ] && set -- "$@" "$d"
    done
    log="$build/fuzz-$n.log"
    echo "fuzz: $n for ${secs}s (log: $log)"
    if "$build/tests/fuzz/fuzz_$n" "$@" >"$log" 2>&1; then
        grep -E '^stat::|#[0-9]+.*DONE' "$log" | tr '\n' ' ' | sed 's/^/  /'
        echo
    else
        grep -E 'ERROR|SUMMARY|broken promise|Test unit written' "$log" | head -n 20
        echo "FAILED: fuzz $n (see $log)"
        fail=1
    fi
done
exit $fail
