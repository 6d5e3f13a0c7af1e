/*
 * fib_omp.c — the fib benchmark with OpenMP tasks: each call with n >= 2
 * spawns fib(n-1) as a task, computes fib(n-2) itself, and waits
 * (taskwait). Built twice: gcc -fopenmp (libgomp) and clang -fopenmp (LLVM
 * libomp); the runtime's name is given by -DIMPL.
 * Usage: fib_omp THREADS [N=35]
 */
#include "bench_common.h"

#include <omp.h>


#ifndef IMPL
#define IMPL "omp"
#endif

static long fib(long n)
{
    if (n < 2)
        return n;
    long x, y;
#pragma omp task shared(x) firstprivate(n)
    x = fib(n - 1);
    y = fib(n - 2);
#pragma omp taskwait
    return x + y;
}

int main(int argc, char **argv)
{
    const char *usage = "THREADS [N]";
    long threads = bench_arg(argc, argv, 1, 1, usage);
    long n = bench_arg(argc, argv, 2, 35, usage);
    long r = 0;
    omp_set_dynamic(0);
    /* Start the team once before timing, as a pool is created before the
     * tessera version starts its clock. */
#pragma omp parallel num_threads((int)threads)
    {
    }
    double t0 = bench_now();
#pragma omp parallel num_threads((int)threads)
#pragma omp single
    r = fib(n);
    double t1 = bench_now();
    bench_report("fib", IMPL, threads, n, r, bench_fib_tasks(n), t1 - t0);
    return 0;
}
