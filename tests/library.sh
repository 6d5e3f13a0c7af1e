#!/bin/sh
# The libraries as a program outside the project meets them (make check runs
# this after the suites):
#   1. every symbol the shared libraries export starts with tes_, and none
#      with tes__ (the internal prefix);
#   2. `make install PREFIX=<scratch>` gives a prefix whose .pc files name
#      it: a program (examples/inmemory.c, public headers only) builds with
#      `cc app.c $(pkg-config --cflags --libs tessera_raster)` and runs;
#   3. `make uninstall` with the same PREFIX leaves no file or link behind.
# Environment: TES_BUILD (build folder), CC, SANITIZE (the build's
# sanitizers, which the scratch program needs too), MAKE, TES_MPI_BUILD
# (the MPI build's folder, whose libtessera_mpi is checked in 1., if any),
# MPI (set for the MPI build, which installs raster-tool-mpi).
set -u
B=${TES_BUILD:-build}
CC=${CC:-cc}
MAKE=${MAKE:-make}
fail=0
say() { echo "library: $*"; }
bad() { echo "library: FAILED: $*"; fail=1; }

# ---- 1. exported names ----------------------------------------------------
for so in "$B/libtessera.so" "$B/libtessera_raster.so" \
    ${TES_MPI_BUILD:+"$TES_MPI_BUILD/libtessera_mpi.so"}; do
    [ -f "$so" ] || continue
    names=$(nm -D --defined-only "$so" | awk '{ print $NF }')
    foreign=$(printf '%s\n' "$names" | grep -v '^tes_' | grep -v '^$')
    internal=$(printf '%s\n' "$names" | grep '^tes__')
    if [ -n "$foreign$internal" ]; then
        bad "$so exports names outside tes_ (or internal tes__ ones):" \
            $foreign $internal
    else
        say "$(basename "$so"): $(printf '%s\n' "$names" | grep -c .) names, all tes_"
    fi
done

# ---- 2. install into a scratch prefix, build and run a client ------------
if ! command -v pkg-config >/dev/null 2>&1; then
    say "pkg-config missing: install test skipped"
    exit $fail
fi
prefix=$(mktemp -d "${TMPDIR:-/tmp}/tes-prefix-XXXXXX") || exit 1
work=$(mktemp -d "${TMPDIR:-/tmp}/tes-app-XXXXXX") || exit 1
cleanup() { rm -rf "$prefix" "$work"; }
trap cleanup EXIT
# The sub-make must not take over this make's job server.
if ! env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL $MAKE --no-print-directory -s \
    B="$B" SANITIZE="$SANITIZE" CC="$CC" PREFIX="$prefix" install \
    >"$work/install.log" 2>&1; then
    cat "$work/install.log"
    bad "make install PREFIX=$prefix"
    exit 1
fi
# The sanitizers' runtimes must come first in a program that loads
# instrumented libraries.
san=""
[ -n "${SANITIZE:-}" ] && san="-fsanitize=$SANITIZE"
pc="$prefix/lib/pkgconfig"
flags=$(PKG_CONFIG_PATH="$pc" pkg-config --cflags --libs tessera_raster) ||
    bad "pkg-config does not find tessera_raster in $pc"
case "$flags" in
    *"-I$prefix/include"*"-L$prefix/lib"*) ;;
    *) bad "the installed .pc files do not name $prefix: $flags" ;;
esac
# shellcheck disable=SC2086 # flags are words
if $CC -std=c11 $san -o "$work/app" examples/inmemory.c $flags -lm \
    2>"$work/cc.log"; then
    if LD_LIBRARY_PATH="$prefix/lib" "$work/app" >"$work/app.log" 2>&1; then
        say "a program built against $prefix with pkg-config runs"
    else
        cat "$work/app.log"
        bad "the program built against the install fails"
    fi
    # and it took the installed libraries, not the build's
    if command -v ldd >/dev/null 2>&1 &&
        ! LD_LIBRARY_PATH="$prefix/lib" ldd "$work/app" |
        grep -q "$prefix/lib/libtessera_raster.so"; then
        bad "the program did not load $prefix/lib/libtessera_raster.so"
    fi
else
    cat "$work/cc.log"
    bad "cc app.c \$(pkg-config --cflags --libs tessera_raster) fails"
fi
for f in include/tessera.h include/tessera_raster.h include/tessera_kernels.h \
    share/man/man3/tessera_kernels.3 "bin/raster-tool${MPI:+-mpi}"; do
    [ -e "$prefix/$f" ] || bad "install did not write $f"
done

# ---- 3. uninstall leaves nothing -----------------------------------------
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL $MAKE --no-print-directory -s \
    B="$B" SANITIZE="$SANITIZE" CC="$CC" PREFIX="$prefix" uninstall \
    >"$work/uninstall.log" 2>&1 || bad "make uninstall PREFIX=$prefix"
left=$(find "$prefix" ! -type d)
if [ -n "$left" ]; then
    bad "uninstall left: $left"
else
    say "make uninstall leaves no file under the prefix"
fi
exit $fail
