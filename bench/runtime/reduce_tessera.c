/*
 * reduce_tessera.c — the sum of 2^LOG2 floats (default 2^28, 1 GiB) with
 * tes_parallel_reduce and the automatic grain, each leaf a plain
 * left-to-right float loop; a serial loop beside it. It also runs the
 * reduction at 1, 2, 3 and 8 threads and prints whether the four sums are
 * bit-identical. Usage: reduce_tessera THREADS [REPS] [LOG2]
 */
#include <stdint.h>
#include <string.h>

#include "rt_bench.h"
#include "tessera.h"

/* noinline: the serial baseline runs this very function. */
__attribute__((noinline)) static void leaf(size_t b, size_t e, void *acc,
                                           void *ctx)
{
    const float *x = ctx;
    float s = 0.0f;
    for (size_t i = b; i < e; i++)
        s += x[i];
    *(float *)acc = s;
}

static void combine(void *l, const void *r, void *ctx)
{
    (void)ctx;
    *(float *)l += *(const float *)r;
}

static float reduce_at(int threads, const float *x, size_t n)
{
    tes_pool_options o = TES_POOL_OPTIONS_INIT;
    o.threads = threads;
    tes_pool *p;
    float s = 0.0f;
    if (tes_pool_create(&p, &o) != 0)
        exit(1);
    tes_parallel_reduce(p, 0, n, 0, &s, sizeof s, leaf, combine, (void *)x);
    tes_pool_destroy(p);
    return s;
}

int main(int argc, char **argv)
{
    long threads = rt_arg(argc, argv, 1, 1);
    int reps = (int)rt_arg(argc, argv, 2, 5);
    long lg = rt_arg(argc, argv, 3, 28);
    size_t n = (size_t)1 << lg;
    float *x = aligned_alloc(64, n * sizeof(float));
    if (!x)
        return 1;
    uint32_t st = 1;
    for (size_t i = 0; i < n; i++) {
        st = st * 1664525u + 1013904223u;
        x[i] = (float)(st >> 8) * (1.0f / 16777216.0f);
    }
    double gb = (double)n * sizeof(float) / 1e9;
    double t[64];
    float s = 0.0f;
    if (threads == 1) {
        for (int k = -1; k < reps; k++) {
            double t0 = rt_now();
            leaf(0, n, &s, x);
            if (k >= 0)
                t[k] = rt_now() - t0;
        }
        rt_report("reduce", "serial", 1, t, reps, gb, "GB/s");
        float r1 = reduce_at(1, x, n), r2 = reduce_at(2, x, n),
              r3 = reduce_at(3, x, n), r8 = reduce_at(8, x, n);
        int same = !memcmp(&r1, &r2, sizeof r1) && !memcmp(&r1, &r3, sizeof r1) &&
                   !memcmp(&r1, &r8, sizeof r1);
        printf("IDENTICAL %s sum=%.9g (1, 2, 3, 8 threads: %a %a %a %a)\n",
               same ? "yes" : "no", r1, r1, r2, r3, r8);
    }
    tes_pool_options o = TES_POOL_OPTIONS_INIT;
    o.threads = (int)threads;
    tes_pool *p;
    if (tes_pool_create(&p, &o) != 0)
        return 1;
    for (int k = -1; k < reps; k++) {
        double t0 = rt_now();
        tes_parallel_reduce(p, 0, n, 0, &s, sizeof s, leaf, combine, x);
        if (k >= 0)
            t[k] = rt_now() - t0;
    }
    rt_report("reduce", "tessera", threads, t, reps, gb, "GB/s");
    tes_pool_destroy(p);
    free(x);
    return 0;
}
