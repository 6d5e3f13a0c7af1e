#!/bin/sh
# Installs the Debian packages the build and the tests need, when missing.
# As root it runs apt-get; otherwise it prints the one line to run.
# `deps.sh mpi` adds Open MPI, for the MPI build (make MPI=1) and its tests;
# `deps.sh fuzz` adds clang and its libFuzzer runtime, for make fuzz.
set -u
need="gcc make pkg-config check libtiff-dev libtiff-tools zlib1g-dev libzstd-dev libdeflate-dev time libpng-dev gnuplot-nox"
# the Python package (make python, its tests in make check)
need="$need python3 python3-dev python3-numpy python3-pytest python3-pip"
for a in "$@"; do
    case "$a" in
    mpi) need="$need libopenmpi-dev openmpi-bin" ;;
    fuzz) need="$need clang libclang-rt-dev" ;;
    *) echo "deps: unknown extra '$a' (known: mpi, fuzz)" >&2; exit 2 ;;
    esac
done
missing=""
for p in $need; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    # Another apt-get (a parallel build's deps step) may hold dpkg's lock:
    # wait for it rather than fail.
    lock="-o DPkg::Lock::Timeout=600"
    # shellcheck disable=SC2086 # one word per option
    apt-get $lock update -qq >/dev/null || true
    # shellcheck disable=SC2086 # one word per package
    apt-get $lock install -y -qq --no-install-recommends $missing >/dev/null || {
        echo "deps: apt-get install failed for:$missing" >&2; exit 1; }
else
    echo "missing packages; run as root:" >&2
    echo "  apt-get install -y$missing" >&2
    exit 1
fi
