/*
 * kern_bench.c — the kernels alone, on an in-memory DEM (no decode, no
 * encode, no files): megapixels per second for slope, aspect, hillshade,
 * calc (NDVI), convolve 3x3, blur sigma 2 and stats, serially and on a
 * pool of N threads, tile 256, through the public constructors and
 * tes_raster_run_memory.
 * Usage: kern_bench [SIZE [THREADS [REPS [KERNEL]]]] (KERNEL: only that one).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tessera_kernels.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 4096;
    int threads = argc > 2 ? atoi(argv[2]) : 2;
    int reps = argc > 3 ? atoi(argv[3]) : 3;
    const char *only = argc > 4 ? argv[4] : NULL;
    if (reps < 1 || reps > 16)
        reps = 3;
    tes_tile dem, two;
    if (tes_tile_alloc(&dem, TES_F32, n, n, 1) ||
        tes_tile_alloc(&two, TES_F32, n, n, 2))
        return 1;
    float *p = dem.data, *q = two.data;
    for (int y = 0; y < n; y++)
        for (int x = 0; x < n; x++) {
            float v = (float)(1000 + 300 * sin(x * 0.01) * cos(y * 0.013) +
                              20 * sin(x * 0.3 + y * 0.2));
            p[(size_t)y * n + x] = v;
            q[(size_t)y * n + x] = v * 0.5f;
            q[(size_t)n * n + (size_t)y * n + x] = v;
        }
    tes_pool_options po = TES_POOL_OPTIONS_INIT;
    po.threads = threads;
    tes_pool *pool;
    if (tes_pool_create(&pool, &po))
        return 1;

    tes_terrain_options to = TES_TERRAIN_OPTIONS_INIT;
    to.ewres = 30;
    to.nsres = -30;

    printf("| kernel | 1 thread Mpix/s | %d threads Mpix/s | scaling |\n",
           threads);
    printf("|---|---|---|---|\n");
    const char *names[] = { "slope", "aspect", "hillshade", "hillshade-multi",
                            "calc-ndvi", "convolve-3x3", "blur-s2", "stats" };
    for (int c = 0; c < 8; c++) {
        if (only && strcmp(only, names[c]) != 0)
            continue;
        tes_kernel k;
        tes_raster_error err;
        const tes_tile *in = &dem;
        void *result = NULL;
        int rc;
        if (c < 4) {
            tes_terrain_options o = to;
            o.kind = c == 0 ? TES_TERRAIN_SLOPE
                     : c == 1 ? TES_TERRAIN_ASPECT
                              : TES_TERRAIN_HILLSHADE;
            o.multidirectional = c == 3;
            rc = tes_kernel_terrain_err(&k, &o, &err);
        } else if (c == 4) {
            rc = tes_kernel_calc(&k, "(A[2] - A) / (A[2] + A)", 1, TES_F32,
                                 &err);
            in = &two;
        } else if (c == 5) {
            rc = tes_kernel_convolve(&k, "1 2 1; 2 4 2; 1 2 1", true, &err);
        } else if (c == 6) {
            rc = tes_kernel_blur_err(&k, 2, &err);
        } else {
            rc = tes_kernel_stats_ranges(&k, 1, 0, NULL, NULL, &err);
            if (!rc)
                result = malloc(k.partial_size);
        }
        if (rc)
            return fprintf(stderr, "%s: %s\n", names[c], err.message), 1;
        tes_sample_type ot;
        int ob;
        tes_kernel_output_format(&k, in->type, in->bands, &ot, &ob);
        tes_tile out;
        tes_tile *op = NULL;
        if (k.tile) {
            tes_tile_alloc(&out, ot, n, n, ob);
            op = &out;
        }
        double best[2];
        for (int t = 0; t < 2; t++) {
            double times[16];
            for (int r = 0; r < reps && r < 16; r++) {
                double t0 = now();
                if (tes_raster_run_memory(t ? pool : NULL, &k, in, 1, op,
                                          result, &err))
                    return fprintf(stderr, "%s: %s\n", names[c],
                                   err.message), 1;
                times[r] = now() - t0;
            }
            qsort(times, (size_t)reps, sizeof times[0], cmp);
            best[t] = times[reps / 2];
        }
        double mp = (double)n * n / 1e6;
        printf("| %s | %.0f | %.0f | %.2fx |\n", names[c], mp / best[0],
               mp / best[1], best[0] / best[1]);
        if (op)
            tes_tile_free(op);
        free(result);
        tes_kernel_release(&k);
    }
    tes_pool_destroy(pool);
    tes_tile_free(&dem);
    tes_tile_free(&two);
    return 0;
}
