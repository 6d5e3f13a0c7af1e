/*
 * test_rt_fork_calls.c — the fork suite again, built with TES_NO_INLINE:
 * every fork and join through the library's functions, as programs built
 * by compilers other than gcc and clang (or asking for it) make them.
 */
#define TES_NO_INLINE
#define FORK_SUITE_NAME "fork (library calls)"
#include "test_rt_fork.c"
