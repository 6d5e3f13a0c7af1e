/*
 * pfor_omp.c — the OpenMP peer of pfor_tessera (the same scale and offset,
 * `#pragma omp parallel for schedule(static)` over rows), and a STREAM-style
 * triad a[i] = b[i] + s * c[i] over three arrays of 2^26 floats, which
 * gives this machine's memory bandwidth at the same thread count (counted,
 * as STREAM does, as 3 x 4 bytes per element). Build with gcc -fopenmp.
 * Usage: pfor_omp THREADS [REPS] [N]
 */
#include <omp.h>
#include <stdint.h>

#include "rt_bench.h"

int main(int argc, char **argv)
{
    long threads = rt_arg(argc, argv, 1, 1);
    int reps = (int)rt_arg(argc, argv, 2, 5);
    size_t n = (size_t)rt_arg(argc, argv, 3, 16384);
    omp_set_num_threads((int)threads);
    double t[64];

    size_t m = (size_t)1 << 26;
    if (n < 16384)
        m = n * n; /* quick runs stay quick */
    float *a = aligned_alloc(64, m * sizeof(float));
    float *b = aligned_alloc(64, m * sizeof(float));
    float *c = aligned_alloc(64, m * sizeof(float));
    if (!a || !b || !c)
        return 1;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < m; i++) {
        a[i] = 0.0f;
        b[i] = (float)(i & 255);
        c[i] = 1.0f;
    }
    for (int k = -1; k < reps; k++) {
        double t0 = rt_now();
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < m; i++)
            a[i] = b[i] + 3.0f * c[i];
        if (k >= 0)
            t[k] = rt_now() - t0;
    }
    rt_report("triad", "openmp", threads, t, reps,
              3.0 * sizeof(float) * (double)m / 1e9, "GB/s");
    free(a);
    free(b);
    free(c);

    float *x = aligned_alloc(64, n * n * sizeof(float));
    if (!x)
        return 1;
    for (size_t i = 0; i < n * n; i++)
        x[i] = (float)(i & 1023);
    for (int k = -1; k < reps; k++) {
        double t0 = rt_now();
#pragma omp parallel for schedule(static)
        for (size_t r = 0; r < n; r++) {
            float *row = x + r * n;
            for (size_t col = 0; col < n; col++)
                row[col] = row[col] * 0.5f + 1.0f;
        }
        if (k >= 0)
            t[k] = rt_now() - t0;
    }
    rt_report("pfor", "openmp", threads, t, reps,
              2.0 * sizeof(float) * (double)n * (double)n / 1e9, "GB/s");
    int bad = x[0] < 1.0f || x[0] > 3.0f;
    free(x);
    return bad;
}
