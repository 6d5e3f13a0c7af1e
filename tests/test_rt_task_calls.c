/*
 * test_rt_task_calls.c — the task suite again, built with TES_NO_INLINE:
 * every spawn, await and release through the library's functions, as
 * programs built by compilers other than gcc and clang (or asking for it)
 * make them.
 */
#define TES_NO_INLINE
#define TASK_SUITE_NAME "task (library calls)"
#include "test_rt_task.c"
