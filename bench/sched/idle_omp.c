/*
 * idle_omp.c — CPU used by an idle OpenMP team, with the runtime's default
 * wait policy: a parallel region of THREADS threads does a little work, then
 * the main thread sleeps MS milliseconds and getrusage says how much CPU
 * the process used meanwhile, in percent of one CPU. Built for libgomp and
 * LLVM libomp under -DIMPL.
 * Usage: idle_omp [THREADS=2] [MS=2000]
 */
#include "bench_common.h"

#include <omp.h>


#ifndef IMPL
#define IMPL "omp"
#endif

int main(int argc, char **argv)
{
    const char *usage = "[THREADS] [MS]";
    long threads = bench_arg(argc, argv, 1, 2, usage);
    long ms = bench_arg(argc, argv, 2, 2000, usage);
    volatile long sink = 0;
    omp_set_dynamic(0);
#pragma omp parallel num_threads((int)threads)
    {
        long s = 0;
#pragma omp for
        for (long i = 0; i < 1000000; i++)
            s += i & 7;
#pragma omp atomic
        sink += s;
    }
    double pct = bench_idle_cpu_pct(ms);
    bench_report_idle(IMPL, threads, ms, pct);
    return sink == 3500000 ? 0 : 1;
}
