/*
 * fib_lace.c — the fib benchmark on Lace (../shared/peers/lace, a peer
 * measured beside tessera, never part of it): SPAWN fib(n-1), CALL
 * fib(n-2), SYNC, with Lace's macros; the same shape as fib_fj.c.
 * Built by run.sh against Lace's own source. Lace's idle workers spin.
 * Usage: fib_lace THREADS [N=35]
 */
#include "bench_common.h"

#include "lace.h"

TASK_1(long, lfib, long, n)
{
    if (n < 2)
        return n;
    SPAWN(lfib, n - 1);
    long y = CALL(lfib, n - 2);
    long x = SYNC(lfib);
    return x + y;
}

int main(int argc, char **argv)
{
    const char *usage = "THREADS [N]";
    long threads = bench_arg(argc, argv, 1, 1, usage);
    long n = bench_arg(argc, argv, 2, 35, usage);
    lace_start((unsigned)threads, 0);
    double t0 = bench_now();
    long r = RUN(lfib, n);
    double t1 = bench_now();
    lace_stop();
    bench_report("fib", "lace", threads, n, r, bench_fib_tasks(n), t1 - t0);
    return 0;
}
