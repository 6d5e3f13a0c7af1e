/*
 * spawn_omp.c — spawn throughput with OpenMP tasks: one thread (in a
 * single region) creates N empty tasks in batches of BATCH, with a taskwait
 * after each batch; the other threads of the team run what they can take.
 * Each task calls the same empty function as the other versions. Built with
 * gcc -fopenmp (libgomp) and clang -fopenmp (LLVM libomp) under -DIMPL.
 * Usage: spawn_omp THREADS [N=10000000] [BATCH=1000]
 */
#include "bench_common.h"

#include <omp.h>
#include <stdint.h>


#ifndef IMPL
#define IMPL "omp"
#endif

static void *(*volatile task_fn)(void *);

static void *empty_task(void *arg)
{
    return arg;
}

int main(int argc, char **argv)
{
    const char *usage = "THREADS [N] [BATCH]";
    long threads = bench_arg(argc, argv, 1, 1, usage);
    long n = bench_arg(argc, argv, 2, 10000000, usage);
    long batch = bench_arg(argc, argv, 3, 1000, usage);
    task_fn = empty_task;
    omp_set_dynamic(0);
#pragma omp parallel num_threads((int)threads)
    {
    }
    double t0 = bench_now();
#pragma omp parallel num_threads((int)threads)
#pragma omp single
    for (long done = 0; done < n; done += batch) {
        long k = n - done < batch ? n - done : batch;
        for (long i = 0; i < k; i++) {
#pragma omp task
            task_fn(NULL);
        }
#pragma omp taskwait
    }
    double t1 = bench_now();
    bench_report("spawn", IMPL, threads, n, n, n, t1 - t0);
    return 0;
}
