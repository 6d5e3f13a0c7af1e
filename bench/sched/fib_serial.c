/*
 * fib_serial.c — serial baseline for the fib benchmark: plain recursive
 * fib(n) in C, the work every parallel version splits into tasks.
 * Usage: fib_serial [THREADS(ignored)] [N=35]
 */
#include "bench_common.h"

static long fib(long n)
{
    if (n < 2)
        return n;
    return fib(n - 1) + fib(n - 2);
}

int main(int argc, char **argv)
{
    const char *usage = "[THREADS] [N]";
    long threads = bench_arg(argc, argv, 1, 1, usage);
    long n = bench_arg(argc, argv, 2, 35, usage);
    (void)threads;
    double t0 = bench_now();
    long r = fib(n);
    double t1 = bench_now();
    bench_report("fib", "serial", 1, n, r, bench_fib_tasks(n), t1 - t0);
    return 0;
}
