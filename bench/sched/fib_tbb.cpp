/*
 * fib_tbb.cpp — the fib benchmark with oneTBB: each call with n >= 2 runs
 * fib(n-1) in a task_group, computes fib(n-2) itself, and waits. The arena
 * and global_control limit TBB to THREADS threads.
 * Usage: fib_tbb THREADS [N=35]
 */
#include "bench_common.h"

#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>


static long fib(long n)
{
    if (n < 2)
        return n;
    long x, y;
    tbb::task_group g;
    g.run([&] { x = fib(n - 1); });
    y = fib(n - 2);
    g.wait();
    return x + y;
}

int main(int argc, char **argv)
{
    const char *usage = "THREADS [N]";
    long threads = bench_arg(argc, argv, 1, 1, usage);
    long n = bench_arg(argc, argv, 2, 35, usage);
    tbb::global_control gc(tbb::global_control::max_allowed_parallelism,
                           (size_t)threads);
    tbb::task_arena arena((int)threads);
    long r = 0;
    arena.execute([&] { r = fib(10); }); /* start the workers untimed */
    double t0 = bench_now();
    arena.execute([&] { r = fib(n); });
    double t1 = bench_now();
    bench_report("fib", "tbb", threads, n, r, bench_fib_tasks(n), t1 - t0);
    return 0;
}
