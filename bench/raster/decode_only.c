/*
 * decode_only.c — reads and decodes every tile of a raster through the
 * tile pipeline (shared cache, per-worker libtiff handles) and discards
 * it: a reduction that only sums samples. Prints seconds and the sum.
 * Usage: decode_only FILE THREADS
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "tessera_raster.h"

static void sum_init(void *p, void *arg)
{
    (void)arg;
    *(double *)p = 0;
}

static int sum_partial(tes_tile_job *job)
{
    const tes_tile *t = &job->in[0];
    double s = 0;
    for (int y = 0; y < t->height; y++) {
        const float *r = tes_tile_row(t, 0, y);
        s += r[0] + r[t->width - 1];
    }
    *(double *)job->partial = s;
    return 0;
}

static void sum_combine(void *acc, const void *p, void *arg)
{
    (void)arg;
    *(double *)acc += *(const double *)p;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: decode_only FILE THREADS\n");
        return 2;
    }
    tes_raster *r;
    tes_raster_error err;
    if (tes_raster_open(&r, argv[1], &err)) {
        fprintf(stderr, "decode_only: %s\n", err.message);
        return 1;
    }
    tes_pool_options po = TES_POOL_OPTIONS_INIT;
    po.threads = atoi(argv[2]);
    tes_pool *pool;
    if (tes_pool_create(&pool, &po))
        return 1;
    const tes_raster_info *in = tes_raster_info_get(r);
    tes_kernel k = TES_KERNEL_INIT;
    k.name = "decode";
    k.in_type = TES_F32;
    k.partial_size = sizeof(double);
    k.partial_init = sum_init;
    k.partial = sum_partial;
    k.combine = sum_combine;
    tes_raster_create_options o = TES_RASTER_CREATE_OPTIONS_INIT;
    o.tile_width = in->tiled ? in->block_width : 256;
    o.tile_height = in->tiled ? in->block_height : 256;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    double sum;
    int rc = tes_raster_run(pool, &k, &r, 1, NULL, &o, &sum, NULL, &err);
    clock_gettime(CLOCK_MONOTONIC, &b);
    if (rc) {
        fprintf(stderr, "decode_only: %s\n", err.message);
        return 1;
    }
    printf("%.3f %g\n", (double)(b.tv_sec - a.tv_sec) + 1e-9 * (double)(b.tv_nsec - a.tv_nsec), sum);
    tes_pool_destroy(pool);
    tes_raster_close(r);
    return 0;
}
