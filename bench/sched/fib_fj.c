/*
 * fib_fj.c — the fib benchmark with structured fork/join: each call with
 * n >= 2 forks fib(n-1) into a tes_task frame on its stack, computes
 * fib(n-2) itself and joins (Cilk's and Lace's shape; compare fib_lace.c).
 * n and the result travel in the task's void * argument and result.
 * Usage: fib_fj THREADS [N=35]
 */
#include "tes_common.h"

static void *fib_task(void *arg)
{
    intptr_t n = (intptr_t)arg;
    if (n < 2)
        return arg;
    tes_task t;
    tes_fork(&t, fib_task, (void *)(n - 1)); /* 0: inside a task */
    void *y = fib_task((void *)(n - 2));
    void *x;
    if (tes_join(&t, &x) != 0)
        return tes_fail_from_task(&t, "fib(%ld)", (long)n);
    return (void *)((intptr_t)x + (intptr_t)y);
}

int main(int argc, char **argv)
{
    const char *usage = "THREADS [N]";
    long threads = bench_arg(argc, argv, 1, 1, usage);
    long n = bench_arg(argc, argv, 2, 35, usage);
    intptr_t r;
    double s;
    tes_bench_run(threads, fib_task, (void *)(intptr_t)n, &r, &s);
    bench_report("fib", "fj", threads, n, (long long)r, bench_fib_tasks(n), s);
    return 0;
}
