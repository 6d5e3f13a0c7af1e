/*
 * reduce_omp.c — the OpenMP peer of reduce_tessera: the same plain float
 * loop under `#pragma omp parallel for reduction(+:s)` (static schedule).
 * Build with gcc -fopenmp. Usage: reduce_omp THREADS [REPS] [LOG2]
 */
#include <omp.h>
#include <stdint.h>

#include "rt_bench.h"

int main(int argc, char **argv)
{
    long threads = rt_arg(argc, argv, 1, 1);
    int reps = (int)rt_arg(argc, argv, 2, 5);
    long lg = rt_arg(argc, argv, 3, 28);
    size_t n = (size_t)1 << lg;
    omp_set_num_threads((int)threads);
    float *x = aligned_alloc(64, n * sizeof(float));
    if (!x)
        return 1;
    uint32_t st = 1;
    for (size_t i = 0; i < n; i++) {
        st = st * 1664525u + 1013904223u;
        x[i] = (float)(st >> 8) * (1.0f / 16777216.0f);
    }
    double t[64];
    volatile float sink = 0.0f;
    for (int k = -1; k < reps; k++) {
        double t0 = rt_now();
        float s = 0.0f;
#pragma omp parallel for schedule(static) reduction(+ : s)
        for (size_t i = 0; i < n; i++)
            s += x[i];
        sink = s;
        if (k >= 0)
            t[k] = rt_now() - t0;
    }
    (void)sink;
    rt_report("reduce", "openmp", threads, t, reps,
              (double)n * sizeof(float) / 1e9, "GB/s");
    free(x);
    return 0;
}
