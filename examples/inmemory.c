/*
 * inmemory.c — tessera's kernels on an array the program owns, no file at
 * all, as a program that embeds tessera uses them: a malloc'd float DEM
 * (rows padded, as an image library's buffers often are) is shaded,
 * blurred and measured with tes_raster_run_memory, on a pool and on the
 * calling thread, which give the same bits.
 *
 * Build: cc inmemory.c $(pkg-config --cflags --libs tessera_raster) -lm
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tessera_kernels.h>

enum { W = 1500, H = 1000, STRIDE = 1536 };

/* Runs k over in into out; prints the reason and exits on failure. */
static void run(tes_pool *pool, const tes_kernel *k, const tes_tile *in,
                tes_tile *out, void *result)
{
    tes_raster_error err;
    if (tes_raster_run_memory(pool, k, in, 1, out, result, &err)) {
        fprintf(stderr, "inmemory: %s\n", err.message);
        exit(1);
    }
}

int main(void)
{
    /* the program's own buffer: W x H floats, rows STRIDE apart */
    float *data = malloc(sizeof(float) * STRIDE * H);
    if (!data)
        return 1;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            data[(size_t)y * STRIDE + x] =
                (float)(800 + 400 * sin(x / 180.0) * cos(y / 240.0) +
                        25 * sin(x / 9.0 + y / 13.0));
    /* described, not copied: a tes_tile is a view of it */
    tes_tile dem = { .data = data, .type = TES_F32, .width = W, .height = H,
                     .bands = 1, .stride = STRIDE };

    tes_pool *pool;
    if (tes_pool_create(&pool, NULL))
        return 1;

    /* hillshade with 30 m pixels into a uint8 image, on the pool and on
     * this thread */
    tes_terrain_options o = TES_TERRAIN_OPTIONS_INIT;
    o.kind = TES_TERRAIN_HILLSHADE;
    o.ewres = 30;
    o.nsres = -30;
    tes_kernel shade, blur, stats;
    tes_tile a, b, smooth;
    if (tes_kernel_terrain(&shade, &o) || tes_kernel_blur(&blur, 2.0) ||
        tes_kernel_stats(&stats, 1, 4, 0, 255) ||
        tes_tile_alloc(&a, TES_U8, W, H, 1) ||
        tes_tile_alloc(&b, TES_U8, W, H, 1) ||
        tes_tile_alloc(&smooth, TES_F32, W, H, 1))
        return 1;
    run(pool, &shade, &dem, &a, NULL);
    run(NULL, &shade, &dem, &b, NULL);
    printf("hillshade %dx%d: pool and calling thread %s; nodata %g\n", W, H,
           memcmp(a.data, b.data, (size_t)W * H) ? "DIFFER" : "agree",
           a.nodata);

    /* a Gaussian blur of the DEM, then statistics of the shade with a
     * four-bin histogram over 0..255 */
    run(pool, &blur, &dem, &smooth, NULL);
    void *result = malloc(stats.partial_size);
    if (!result)
        return 1;
    run(pool, &stats, &a, NULL, result);
    const tes_band_stats *s = tes_stats_band(result, 0);
    const uint64_t *hist = tes_stats_histogram(result, 1, 4, 0);
    printf("blurred DEM centre: %.3f m (was %.3f m)\n",
           tes_tile_get(&smooth, 0, W / 2, H / 2),
           data[(H / 2) * STRIDE + W / 2]);
    printf("shade: %llu pixels, %llu nodata, mean %.3f, stddev %.3f\n",
           (unsigned long long)s->count, (unsigned long long)s->nodata_count,
           s->mean, tes_band_stats_stddev(s));
    printf("shade histogram (4 bins over 0..255): %llu %llu %llu %llu\n",
           (unsigned long long)hist[0], (unsigned long long)hist[1],
           (unsigned long long)hist[2], (unsigned long long)hist[3]);

    free(result);
    tes_tile_free(&smooth);
    tes_tile_free(&b);
    tes_tile_free(&a);
    tes_kernel_release(&stats);
    tes_kernel_release(&blur);
    tes_kernel_release(&shade);
    tes_pool_destroy(pool);
    free(data);
    return 0;
}
