#!/bin/sh
# Runs each test binary given; prints Check's summary for each and a total.
# Exits non-zero when any suite fails.
set -u
fail=0
passed=0
failed=0
: "${CK_DEFAULT_TIMEOUT:=60}"
export CK_DEFAULT_TIMEOUT
case "${TES_BUILD:-build}" in
    *san-*) CK_TIMEOUT_MULTIPLIER=${CK_TIMEOUT_MULTIPLIER:-4}; export CK_TIMEOUT_MULTIPLIER ;;
esac
for t in "$@"; do
    out=$("$t" 2>&1); rc=$?
    printf '%s\n' "$out" | grep -E '^[0-9]+%: Checks|:[EF]:|^Running suite' || true
    line=$(printf '%s\n' "$out" | grep -E '^[0-9]+%: Checks' | tail -n 1)
    n=$(printf '%s' "$line" | sed -n 's/.*Checks: \([0-9]*\).*/\1/p')
    f=$(printf '%s' "$line" | sed -n 's/.*Failures: \([0-9]*\), Errors: \([0-9]*\).*/\1 \2/p')
    # no summary (the binary crashed or would not start): one failure;
    # dash stops the whole script on an empty arithmetic operand
    case "$f" in
        [0-9]*' '[0-9]*) nf=$(( ${f% *} + ${f#* } )) ;;
        *) nf=1 ;;
    esac
    if [ "$rc" -ne 0 ] || [ -z "$line" ]; then
        # the whole tail: a failure message may span lines (a captured
        # stderr), which the summary filter above cuts to its first
        printf '%s\n' "$out" | grep -vE '^[0-9]+%: Checks|^Running suite' |
            tail -n 40
        echo "FAILED: $t (exit $rc)"
        fail=1
    fi
    [ "${n:-0}" -ge "$nf" ] && passed=$((passed + ${n:-0} - nf))
    failed=$((failed + nf))
done
echo "tests: $passed passed, $failed failed"
exit $fail
