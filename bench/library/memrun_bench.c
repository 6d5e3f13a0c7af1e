/*
 * memrun_bench.c — one kernel over an N x N float32 DEM in RAM, three
 * ways, the same kernel code each time (the public constructors' tile
 * function on 256 x 256 tiles):
 *
 *   serial   a plain loop over the tiles on this thread
 *   omp      #pragma omp parallel for schedule(static) over the tiles
 *   tessera  tes_raster_run_memory on a pool of THREADS workers
 *
 * The loops read windows straight from a copy of the DEM padded with the
 * kernel's halo (edges replicated) that is made before the clock starts, so
 * they do no window work at all; tessera's runner assembles its edge
 * windows inside the timed run. Every mode's output is hashed, so run.sh
 * can check that all of them computed the same bits.
 *
 * Usage: memrun_bench KERNEL MODE THREADS [N [REPS]]
 *   KERNEL hillshade | conv5; MODE serial | omp | tessera
 * Prints: KERNEL MODE THREADS median_s min_s max_s peak_rss_MB hash
 */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <tessera_kernels.h>

#define TILE 256

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Hills and ridges, cheap to make: sums of per-row and per-column
 * tables. */
static void fill_dem(float *d, int n)
{
    double *cx = malloc(sizeof(double) * (size_t)n);
    double *cy = malloc(sizeof(double) * (size_t)n);
    if (!cx || !cy)
        exit(1);
    for (int i = 0; i < n; i++) {
        cx[i] = 300 * sin(i / 211.0) + 40 * sin(i / 17.0);
        cy[i] = 250 * cos(i / 173.0) + 30 * cos(i / 23.0);
    }
    for (int y = 0; y < n; y++)
        for (int x = 0; x < n; x++)
            d[(size_t)y * n + x] = (float)(1000 + cx[x] + cy[y] +
                                           0.001 * ((x * 7 + y * 13) % 1000));
    free(cx);
    free(cy);
}

/* The baselines' one tile: the window a view of the padded DEM, the
 * output a view of out. */
static void loop_tile(const tes_kernel *k, const tes_tile *pad,
                      const tes_tile *out, int n, int t)
{
    int across = (n + TILE - 1) / TILE;
    int X = (t % across) * TILE, Y = (t / across) * TILE;
    int w = X + TILE > n ? n - X : TILE, h = Y + TILE > n ? n - Y : TILE;
    tes_tile win = *pad, o = *out;
    win.data = (float *)pad->data + (size_t)Y * pad->stride + X;
    win.width = w + 2 * k->halo;
    win.height = h + 2 * k->halo;
    win.x0 = X - k->halo;
    win.y0 = Y - k->halo;
    o.data = (char *)out->data +
             ((size_t)Y * out->stride + X) * tes_sample_size(out->type);
    o.width = w;
    o.height = h;
    o.x0 = X;
    o.y0 = Y;
    tes_tile_job job;
    memset(&job, 0, sizeof job);
    job.in = &win;
    job.n_in = 1;
    job.out = &o;
    job.arg = k->arg;
    job.tile_index = t;
    if (k->tile(&job)) {
        fprintf(stderr, "memrun_bench: tile %d: %s\n", t, job.msg);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: memrun_bench hillshade|conv5 "
                        "serial|omp|tessera THREADS [N [REPS]]\n");
        return 2;
    }
    const char *kname = argv[1], *mode = argv[2];
    int threads = atoi(argv[3]);
    int n = argc > 4 ? atoi(argv[4]) : 8192;
    int reps = argc > 5 ? atoi(argv[5]) : 5;
    if (threads < 1 || n < 16 || reps < 1 || reps > 100)
        return 2;

    tes_kernel k;
    tes_raster_error err;
    if (strcmp(kname, "hillshade") == 0) {
        tes_terrain_options o = TES_TERRAIN_OPTIONS_INIT;
        o.kind = TES_TERRAIN_HILLSHADE;
        o.ewres = 30;
        o.nsres = -30;
        if (tes_kernel_terrain_err(&k, &o, &err))
            goto fail;
    } else if (strcmp(kname, "conv5") == 0) {
        if (tes_kernel_convolve(&k, "1 2 3 2 1; 2 4 6 4 2; 3 6 9 6 3; "
                                    "2 4 6 4 2; 1 2 3 2 1",
                                true, &err))
            goto fail;
    } else {
        return 2;
    }

    tes_tile dem, out, pad;
    tes_sample_type ot;
    int ob;
    tes_kernel_output_format(&k, TES_F32, 1, &ot, &ob);
    if (tes_tile_alloc(&dem, TES_F32, n, n, 1) ||
        tes_tile_alloc(&out, ot, n, n, 1))
        return 1;
    fill_dem(dem.data, n);
    int halo = k.halo;
    bool loops = strcmp(mode, "tessera") != 0;
    if (loops) {
        /* the padded copy, edges replicated: the baselines' windows */
        if (tes_tile_alloc(&pad, TES_F32, n + 2 * halo, n + 2 * halo, 1))
            return 1;
        for (int y = 0; y < n + 2 * halo; y++) {
            int sy = y - halo < 0 ? 0 : y - halo >= n ? n - 1 : y - halo;
            float *d = (float *)pad.data + (size_t)y * pad.stride;
            const float *s = (const float *)dem.data + (size_t)sy * n;
            for (int x = 0; x < n + 2 * halo; x++) {
                int sx = x - halo < 0 ? 0 : x - halo >= n ? n - 1 : x - halo;
                d[x] = s[sx];
            }
        }
        pad.raster_width = pad.raster_height = n;
        out.raster_width = out.raster_height = n;
    }
    int across = (n + TILE - 1) / TILE, total = across * across;
    tes_pool *pool = NULL;
    if (strcmp(mode, "tessera") == 0) {
        tes_pool_options po = TES_POOL_OPTIONS_INIT;
        po.threads = threads;
        if (tes_pool_create(&pool, &po))
            return 1;
    } else if (strcmp(mode, "omp") == 0) {
        omp_set_num_threads(threads);
    } else if (strcmp(mode, "serial") != 0 || threads != 1) {
        return 2;
    }

    double *t = malloc(sizeof(double) * (size_t)reps);
    for (int r = -1; r < reps; r++) { /* r = -1: warm-up, not timed */
        double t0 = now();
        if (pool) {
            if (tes_raster_run_memory(pool, &k, &dem, 1, &out, NULL, &err))
                goto fail;
        } else if (strcmp(mode, "omp") == 0) {
#pragma omp parallel for schedule(static)
            for (int i = 0; i < total; i++)
                loop_tile(&k, &pad, &out, n, i);
        } else {
            for (int i = 0; i < total; i++)
                loop_tile(&k, &pad, &out, n, i);
        }
        if (r >= 0)
            t[r] = now() - t0;
    }
    qsort(t, (size_t)reps, sizeof *t, cmp);
    double med = reps % 2 ? t[reps / 2] : (t[reps / 2 - 1] + t[reps / 2]) / 2;
    /* FNV-1a of the output */
    uint64_t hash = 1469598103934665603ull;
    const unsigned char *p = out.data;
    size_t bytes = (size_t)n * n * tes_sample_size(out.type);
    for (size_t i = 0; i < bytes; i++)
        hash = (hash ^ p[i]) * 1099511628211ull;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("%s %s %d %.4f %.4f %.4f %ld %016llx\n", kname, mode, threads,
           med, t[0], t[reps - 1], ru.ru_maxrss / 1024,
           (unsigned long long)hash);
    free(t);
    tes_pool_destroy(pool);
    tes_kernel_release(&k);
    return 0;
fail:
    fprintf(stderr, "memrun_bench: %s\n", err.message);
    return 1;
}
