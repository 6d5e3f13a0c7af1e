/*
 * fib_tessera.c — the fib benchmark on tessera: each call with n >= 2
 * spawns fib(n-1) into the worker's own deque, computes fib(n-2) itself and
 * awaits the future (Cilk's classic shape). n and the result travel in the
 * task's void * argument and result, so nothing is allocated by the program.
 * Measures spawn + await cost per task (1 thread) and scaling (2 threads).
 * Usage: fib_tessera THREADS [N=35]
 */
#include "tes_common.h"

static void *fib_task(void *arg)
{
    intptr_t n = (intptr_t)arg;
    if (n < 2)
        return arg;
    tes_future *f;
    int rc = tes_spawn(&f, tes_current_pool(), fib_task, (void *)(n - 1));
    if (rc != 0)
        return tes_fail(rc, "fib(%ld): spawn", (long)n);
    void *y = fib_task((void *)(n - 2));
    void *x = NULL;
    rc = tes_await(f, &x);
    if (rc != 0) {
        void *e = tes_fail_from(f, "fib(%ld)", (long)n);
        tes_future_release(f);
        return e;
    }
    tes_future_release(f);
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
    bench_report("fib", "tessera", threads, n, (long long)r,
                 bench_fib_tasks(n), s);
    return 0;
}
