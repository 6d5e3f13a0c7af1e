/*
 * pfor_tessera.c — scale and offset over an N x N float array (default
 * 16384^2, 1 GiB) in place: a serial loop, then tes_parallel_for_2d with
 * the automatic grain. Bandwidth counts one read and one write per element.
 * Usage: pfor_tessera THREADS [REPS] [N]
 */
#include <stdint.h>
#include <string.h>

#include "rt_bench.h"
#include "tessera.h"

struct arr {
    float *a;
    size_t n;
};

/* noinline: the serial baseline runs this very function, not a copy the
 * compiler specialised for the whole array. */
__attribute__((noinline)) static void scale_offset(size_t r0, size_t r1,
                                                   size_t c0, size_t c1,
                                                   void *ctx)
{
    struct arr *x = ctx;
    for (size_t r = r0; r < r1; r++) {
        float *row = x->a + r * x->n;
        for (size_t c = c0; c < c1; c++)
            row[c] = row[c] * 0.5f + 1.0f;
    }
}

int main(int argc, char **argv)
{
    long threads = rt_arg(argc, argv, 1, 1);
    int reps = (int)rt_arg(argc, argv, 2, 5);
    size_t n = (size_t)rt_arg(argc, argv, 3, 16384);
    struct arr x = {aligned_alloc(64, n * n * sizeof(float)), n};
    if (!x.a)
        return 1;
    for (size_t i = 0; i < n * n; i++)
        x.a[i] = (float)(i & 1023);
    double bytes = 2.0 * sizeof(float) * (double)n * (double)n / 1e9;
    double t[64];
    if (threads == 1) {
        scale_offset(0, n, 0, n, &x);
        for (int k = 0; k < reps; k++) {
            double t0 = rt_now();
            scale_offset(0, n, 0, n, &x);
            t[k] = rt_now() - t0;
        }
        rt_report("pfor", "serial", 1, t, reps, bytes, "GB/s");
    }
    tes_pool_options o = TES_POOL_OPTIONS_INIT;
    o.threads = (int)threads;
    tes_pool *p;
    if (tes_pool_create(&p, &o) != 0)
        return 1;
    tes_parallel_for_2d(p, n, n, 0, 0, scale_offset, &x);
    for (int k = 0; k < reps; k++) {
        double t0 = rt_now();
        tes_parallel_for_2d(p, n, n, 0, 0, scale_offset, &x);
        t[k] = rt_now() - t0;
    }
    rt_report("pfor", "tessera", threads, t, reps, bytes, "GB/s");
    tes_pool_destroy(p);
    /* Every element converges to 2 under x -> x/2 + 1. */
    int bad = x.a[0] < 1.0f || x.a[0] > 3.0f || x.a[n * n - 1] < 1.0f;
    free(x.a);
    return bad;
}
