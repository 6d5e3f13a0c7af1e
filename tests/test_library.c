/*
 * test_library.c — the raster engine as a program outside the project uses
 * it: this suite includes only the public headers and links only the
 * shared libraries. For every public kernel: the file pipeline and the
 * in-memory runner give the same bits, so do 1, 2 and 5 threads, and the
 * values match a plain double-precision loop written here. Also: bad
 * options, release after failures, output nodata through the API, many
 * runs of one kernel from several threads, pipelines started inside tasks,
 * strided images, and the runner's refusals.
 */
#include <check.h>
#include <dirent.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <tessera_kernels.h>

#include "suite_main.h"

#define W 301
#define H 257
#define TILE 64
#define ND (-9999.0)

static const int thread_counts[] = { 1, 2, 5 };

/* ---- scratch folder ------------------------------------------------------ */

static char dir[4096];

static void setup(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/tes-library-XXXXXX",
             base && *base ? base : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        char p[8192];
        while ((e = readdir(d)))
            if (e->d_name[0] != '.') {
                snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
                unlink(p);
            }
        closedir(d);
    }
    rmdir(dir);
}

static const char *path_of(const char *name)
{
    static char p[4][8192];
    static int i;
    i = (i + 1) % 4;
    snprintf(p[i], sizeof p[i], "%s/%s", dir, name);
    return p[i];
}

/* ---- images -------------------------------------------------------------- */

/* A hilly float32 DEM with a few nodata holes (value ND), bands copies
 * shifted in value. */
static void make_dem(tes_tile *t, int bands, bool holes)
{
    ck_assert_int_eq(tes_tile_alloc(t, TES_F32, W, H, bands), 0);
    t->has_nodata = holes;
    t->nodata = ND;
    for (int b = 0; b < bands; b++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                double v = 500 + 120 * sin(x / 23.0) * cos(y / 31.0) +
                           9 * sin(x * 0.7 + y * 0.3) + 0.02 * x * y +
                           37.0 * b;
                unsigned u = (unsigned)(x * 2654435761u) ^
                             (unsigned)((y + 7 * b) * 40503u);
                u = (u ^ (u >> 13)) * 2246822519u;
                if (holes && (u >> 8) % 97 == 0)
                    v = ND;
                tes_tile_set(t, b, x, y, v);
            }
}

static double px(const tes_tile *t, int b, int x, int y)
{
    return tes_tile_get(t, b, x, y);
}

/* The same sample, edge-replicated outside the image. */
static double clamped(const tes_tile *t, int b, int x, int y)
{
    x = x < 0 ? 0 : x >= t->width ? t->width - 1 : x;
    y = y < 0 ? 0 : y >= t->height ? t->height - 1 : y;
    return px(t, b, x, y);
}

static bool same_pixels(const tes_tile *a, const tes_tile *b)
{
    if (a->type != b->type || a->width != b->width ||
        a->height != b->height || a->bands != b->bands)
        return false;
    size_t row = (size_t)a->width * tes_sample_size(a->type);
    for (int c = 0; c < a->bands; c++)
        for (int y = 0; y < a->height; y++)
            if (memcmp(tes_tile_row(a, c, y), tes_tile_row(b, c, y), row))
                return false;
    return true;
}

/* ---- running one kernel every way -------------------------------------- */

static int mem_run(tes_pool *pool, const tes_kernel *k, const tes_tile *in,
                   int n_in, tes_tile *out, void *result)
{
    tes_memory_options o = TES_MEMORY_OPTIONS_INIT;
    o.tile_width = o.tile_height = TILE;
    tes_raster_error err = { 0, "" };
    int rc = tes_raster_run_memory_opts(pool, k, in, n_in, out, result, &o,
                                        &err);
    ck_assert_msg(rc == 0, "memory run: %s", err.message);
    return rc;
}

/*
 * Runs k over in (n_in images) into *out (allocated here unless the kernel
 * only reduces) and result: in memory on the calling thread, then in
 * memory on pools of 1, 2 and 5 threads, then through files (the inputs
 * written as tiled GeoTIFFs, the output read back), asserting that every
 * run gives the first one's bits, and the file's nodata its nodata.
 */
static void run_every_way(const tes_kernel *k, const tes_tile *in, int n_in,
                          tes_tile *out, void *result)
{
    tes_sample_type type;
    int bands;
    ck_assert_int_eq(tes_kernel_output_format(k, n_in ? in[0].type : 0,
                                              n_in ? in[0].bands : 0, &type,
                                              &bands), 0);
    if (k->tile)
        ck_assert_int_eq(tes_tile_alloc(out, type, W, H, bands), 0);
    mem_run(NULL, k, in, n_in, k->tile ? out : NULL, result);
    size_t rs = k->reduce ? k->partial_size : 0;
    void *r2 = rs ? malloc(rs) : NULL;
    tes_tile o2;
    for (size_t i = 0; i < sizeof thread_counts / sizeof *thread_counts; i++) {
        tes_pool_options po = TES_POOL_OPTIONS_INIT;
        po.threads = thread_counts[i];
        tes_pool *pool;
        ck_assert_int_eq(tes_pool_create(&pool, &po), 0);
        if (k->tile)
            ck_assert_int_eq(tes_tile_alloc(&o2, type, W, H, bands), 0);
        mem_run(pool, k, in, n_in, k->tile ? &o2 : NULL, r2);
        if (k->tile) {
            ck_assert_msg(same_pixels(out, &o2),
                          "%s: %d threads differ from the calling thread",
                          k->name, thread_counts[i]);
            ck_assert(o2.has_nodata == out->has_nodata);
            tes_tile_free(&o2);
        }
        if (rs)
            ck_assert_msg(memcmp(result, r2, rs) == 0,
                          "%s: %d threads reduce differently", k->name,
                          thread_counts[i]);
        tes_pool_destroy(pool);
    }

    /* through files, 2 threads */
    tes_raster *r[4];
    tes_raster_create_options co = TES_RASTER_CREATE_OPTIONS_INIT;
    co.tile_width = co.tile_height = TILE;
    tes_raster_error err = { 0, "" };
    for (int i = 0; i < n_in; i++) {
        char name[32];
        snprintf(name, sizeof name, "in%d.tif", i);
        co.overwrite = true;
        ck_assert_msg(tes_raster_write_tile(path_of(name), &in[i], &co,
                                            &err) == 0, "%s", err.message);
        ck_assert_msg(tes_raster_open(&r[i], path_of(name), &err) == 0, "%s",
                      err.message);
    }
    tes_pool_options po = TES_POOL_OPTIONS_INIT;
    po.threads = 2;
    tes_pool *pool;
    ck_assert_int_eq(tes_pool_create(&pool, &po), 0);
    tes_pipeline_options pl = TES_PIPELINE_OPTIONS_INIT;
    pl.width = W;
    pl.height = H;
    const char *op = k->tile ? path_of("out.tif") : NULL;
    ck_assert_msg(tes_raster_run(pool, k, r, n_in, op, &co, r2, &pl, &err) ==
                      0,
                  "file run: %s", err.message);
    tes_pool_destroy(pool);
    for (int i = 0; i < n_in; i++)
        tes_raster_close(r[i]);
    if (rs)
        ck_assert_msg(memcmp(result, r2, rs) == 0,
                      "%s: the file pipeline reduces differently", k->name);
    if (k->tile) {
        tes_raster *o;
        ck_assert_int_eq(tes_raster_open(&o, op, &err), 0);
        const tes_raster_info *info = tes_raster_info_get(o);
        ck_assert_int_eq(info->type, type);
        ck_assert(info->has_nodata == out->has_nodata);
        if (out->has_nodata)
            ck_assert(info->nodata == out->nodata ||
                      (isnan(info->nodata) && isnan(out->nodata)));
        ck_assert_int_eq(tes_tile_alloc(&o2, type, W, H, bands), 0);
        ck_assert_int_eq(tes_raster_read(o, 0, 0, &o2, TES_EDGE_REPLICATE, 0,
                                         &err), 0);
        ck_assert_msg(same_pixels(out, &o2),
                      "%s: the file pipeline's pixels differ", k->name);
        tes_tile_free(&o2);
        tes_raster_close(o);
    }
    free(r2);
}

/* ---- terrain ------------------------------------------------------------- */

/* The 3x3 window around (x, y) in w (row-major, north row first); false
 * when it leaves the image or holds nodata. */
static bool window3(const tes_tile *t, int x, int y, double w[9])
{
    if (x < 1 || y < 1 || x >= t->width - 1 || y >= t->height - 1)
        return false;
    for (int j = 0; j < 3; j++)
        for (int i = 0; i < 3; i++) {
            w[3 * j + i] = px(t, 0, x + i - 1, y + j - 1);
            if (t->has_nodata && w[3 * j + i] == t->nodata)
                return false;
        }
    return true;
}

/* Horn's gradient: dz/d(easting) and dz/d(northing) in map units. */
static void horn(const double w[9], double ewres, double nsres, double *p,
                 double *q)
{
    double per_col = ((w[2] + 2 * w[5] + w[8]) - (w[0] + 2 * w[3] + w[6])) / 8;
    double per_row = ((w[6] + 2 * w[7] + w[8]) - (w[0] + 2 * w[1] + w[2])) / 8;
    *p = per_col / ewres;
    *q = per_row / nsres; /* rows run south when nsres < 0 */
}

START_TEST(library_slope_every_way_and_reference)
{
    tes_tile dem, out;
    make_dem(&dem, 1, true);
    tes_terrain_options o = TES_TERRAIN_OPTIONS_INIT;
    o.ewres = 30;
    o.nsres = -30;
    tes_kernel k;
    ck_assert_int_eq(tes_kernel_terrain(&k, &o), 0);
    ck_assert_int_eq(k.out_nodata_mode, TES_NODATA_SET);
    ck_assert(k.out_nodata == ND);
    run_every_way(&k, &dem, 1, &out, NULL);
    ck_assert(out.has_nodata && out.nodata == ND);
    int checked = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            double w[9], p, q, got = px(&out, 0, x, y);
            if (!window3(&dem, x, y, w)) {
                ck_assert_msg(got == ND, "slope (%d,%d) = %g, not nodata", x,
                              y, got);
                continue;
            }
            horn(w, 30, -30, &p, &q);
            double want = atan(sqrt(p * p + q * q)) * 180 / M_PI;
            ck_assert_msg(fabs(got - want) < 1e-4, "slope (%d,%d) %.7g, "
                          "want %.7g", x, y, got, want);
            checked++;
        }
    ck_assert_int_gt(checked, W * H * 8 / 10);
    tes_tile_free(&out);
    tes_tile_free(&dem);
    tes_kernel_release(&k);
}
END_TEST

START_TEST(library_aspect_every_way_and_reference)
{
    tes_tile dem, out;
    make_dem(&dem, 1, true);
    tes_terrain_options o = TES_TERRAIN_OPTIONS_INIT;
    o.kind = TES_TERRAIN_ASPECT;
    o.ewres = 30;
    o.nsres = -30;
    tes_kernel k;
    ck_assert_int_eq(tes_kernel_terrain(&k, &o), 0);
    run_every_way(&k, &dem, 1, &out, NULL);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            double w[9], p, q, got = px(&out, 0, x, y);
            if (!window3(&dem, x, y, w)) {
                ck_assert(got == ND);
                continue;
            }
            horn(w, 1, -1, &p, &q);
            /* downslope direction (-p, -q), clockwise from north */
            double want = atan2(-p, -q) * 180 / M_PI;
            want = want < 0 ? want + 360 : want;
            double d = fabs(got - want);
            d = d > 180 ? 360 - d : d;
            ck_assert_msg(d < 1e-3, "aspect (%d,%d) %.7g, want %.7g", x, y,
                          got, want);
        }
    tes_tile_free(&out);

    /* zero_for_flat: no nodata at all, through the API too */
    tes_kernel_release(&k);
    o.zero_for_flat = true;
    ck_assert_int_eq(tes_kernel_terrain(&k, &o), 0);
    ck_assert_int_eq(k.out_nodata_mode, TES_NODATA_NONE);
    ck_assert_int_eq(tes_tile_alloc(&out, TES_F32, W, H, 1), 0);
    mem_run(NULL, &k, &dem, 1, &out, NULL);
    ck_assert(!out.has_nodata);
    tes_tile_free(&out);
    tes_tile_free(&dem);
    tes_kernel_release(&k);
}
END_TEST

/* gdaldem's hillshade from the surface normal and the sun's direction:
 * 1 + 254 cos(angle), 1 in shadow, rounded to uint8. */
static double shade_ref(const double w[9], double ewres, double nsres,
                        double z, double az_deg, double alt_deg)
{
    double p, q;
    horn(w, ewres, nsres, &p, &q);
    p *= z;
    q *= z;
    double az = az_deg * M_PI / 180, alt = alt_deg * M_PI / 180;
    /* normal (-p, -q, 1), sun (sin az cos alt, cos az cos alt, sin alt) */
    double c = (sin(alt) - p * sin(az) * cos(alt) - q * cos(az) * cos(alt)) /
               sqrt(1 + p * p + q * q);
    return c <= 0 ? 1 : 1 + 254 * c;
}

START_TEST(library_hillshade_every_way_and_reference)
{
    tes_tile dem, out;
    make_dem(&dem, 1, true);
    tes_terrain_options o = TES_TERRAIN_OPTIONS_INIT;
    o.kind = TES_TERRAIN_HILLSHADE;
    o.ewres = 10;
    o.nsres = -10;
    o.z = 2;
    o.azimuth = 290;
    o.altitude = 35;
    tes_kernel k;
    ck_assert_int_eq(tes_kernel_terrain(&k, &o), 0);
    ck_assert_int_eq(k.out_type, TES_U8);
    ck_assert(k.out_nodata_mode == TES_NODATA_SET && k.out_nodata == 0);
    run_every_way(&k, &dem, 1, &out, NULL);
    ck_assert(out.has_nodata && out.nodata == 0);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            double w[9], got = px(&out, 0, x, y);
            if (!window3(&dem, x, y, w)) {
                ck_assert(got == 0);
                continue;
            }
            double want = shade_ref(w, 10, -10, 2, 290, 35);
            ck_assert_msg(fabs(got - want) <= 0.5 + 1e-4, /* float, then round */
                          "hillshade (%d,%d) %g, want %.4f", x, y, got, want);
        }
    tes_tile_free(&out);
    tes_kernel_release(&k);

    /* gdaldem's -compute_edges and Zevenbergen-Thorne: the edge and hole
     * extrapolation agree every way too */
    o.compute_edges = true;
    o.zt = true;
    ck_assert_int_eq(tes_kernel_terrain(&k, &o), 0);
    run_every_way(&k, &dem, 1, &out, NULL);
    int lit = 0; /* edge pixels shaded, not nodata */
    for (int y = 0; y < H; y++)
        lit += px(&out, 0, 0, y) != 0 && px(&out, 0, W - 1, y) != 0;
    ck_assert_int_gt(lit, H * 9 / 10);
    tes_tile_free(&out);
    tes_tile_free(&dem);
    tes_kernel_release(&k);
}
END_TEST

/* ---- calc ---------------------------------------------------------------- */

START_TEST(library_calc_every_way_and_reference)
{
    tes_tile in[2], out;
    make_dem(&in[0], 1, true);
    make_dem(&in[1], 2, true);
    tes_kernel k;
    tes_raster_error err;
    ck_assert_int_eq(tes_kernel_calc(&k, "(B[2] - A) / (B + A) + 1", 2,
                                     TES_TYPE_NONE, &err), 0);
    ck_assert_int_eq(k.out_type, TES_F32);
    ck_assert_int_eq(k.out_nodata_mode, TES_NODATA_SET);
    ck_assert(k.out_nodata == 3.4028234663852886e38); /* FLT_MAX */
    run_every_way(&k, in, 2, &out, NULL);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            double a = px(&in[0], 0, x, y), b = px(&in[1], 0, x, y),
                   b2 = px(&in[1], 1, x, y), got = px(&out, 0, x, y);
            if (a == ND || b == ND || b2 == ND) {
                ck_assert(got == k.out_nodata);
                continue;
            }
            float want = (float)((b2 - a) / (b + a) + 1);
            ck_assert_msg((float)got == want, "calc (%d,%d) %.9g, want %.9g",
                          x, y, got, (double)want);
        }
    tes_tile_free(&out);
    tes_kernel_release(&k);

    /* letters: input 0 is C, input 1 is A; uint8 with its own nodata */
    tes_calc_options co = TES_CALC_OPTIONS_INIT;
    co.n_inputs = 2;
    co.letters = "CA";
    co.out_type = TES_U8;
    co.has_nodata = true;
    co.nodata = 255;
    ck_assert_int_eq(tes_kernel_calc_opts(&k, "C > A", &co, &err), 0);
    ck_assert_int_eq(tes_tile_alloc(&out, TES_U8, W, H, 1), 0);
    mem_run(NULL, &k, in, 2, &out, NULL);
    ck_assert(out.has_nodata && out.nodata == 255);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            double c = px(&in[0], 0, x, y), a = px(&in[1], 0, x, y);
            double want = c == ND || a == ND ? 255 : c > a;
            ck_assert(px(&out, 0, x, y) == want);
        }
    tes_tile_free(&out);
    tes_kernel_release(&k);

    /* gdal_calc's default nodata for integer types */
    ck_assert_int_eq(tes_kernel_calc(&k, "A", 1, TES_U8, NULL), 0);
    ck_assert(k.out_nodata == 0);
    tes_kernel_release(&k);
    ck_assert_int_eq(tes_kernel_calc(&k, "A", 1, TES_I16, NULL), 0);
    ck_assert(k.out_nodata == -32768);
    tes_kernel_release(&k);

    uint32_t letters;
    int max_band[26];
    ck_assert_int_eq(tes_calc_inputs("A[3] + max(C, A)", &letters, max_band,
                                     &err), 0);
    ck_assert_uint_eq(letters, 5u);
    ck_assert_int_eq(max_band[0], 3);
    ck_assert_int_eq(max_band[1], 0);
    ck_assert_int_eq(max_band[2], 1);
    tes_tile_free(&in[0]);
    tes_tile_free(&in[1]);
}
END_TEST

/* ---- convolve and blur --------------------------------------------------- */

START_TEST(library_convolve_every_way_and_reference)
{
    tes_tile dem, out;
    make_dem(&dem, 2, true);
    static const double wt[5][5] = { { 1, 0, -1, 2, 1 },
                                     { 0, 3, 1, 0, -2 },
                                     { 2, 1, 5, 1, 2 },
                                     { -1, 0, 1, 4, 0 },
                                     { 1, 2, 0, -3, 1 } };
    tes_kernel k;
    tes_raster_error err;
    ck_assert_int_eq(tes_kernel_convolve(&k,
                                         "1 0 -1 2 1; 0 3 1 0 -2; "
                                         "2, 1, 5, 1, 2; -1 0 1 4 0; "
                                         "1 2 0 -3 1",
                                         false, &err), 0);
    ck_assert_int_eq(k.halo, 2);
    run_every_way(&k, &dem, 1, &out, NULL);
    ck_assert(out.has_nodata && out.nodata == ND);
    for (int b = 0; b < 2; b++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                double c = px(&dem, b, x, y), got = px(&out, b, x, y);
                if (c == ND) {
                    ck_assert(got == ND);
                    continue;
                }
                double s = 0;
                for (int j = -2; j <= 2; j++)
                    for (int i = -2; i <= 2; i++) {
                        double v = clamped(&dem, b, x + i, y + j);
                        s += wt[j + 2][i + 2] * (v == ND ? c : v);
                    }
                ck_assert_msg(fabs(got - s) <= 1e-6 * fabs(s) + 1e-3,
                              "convolve b%d (%d,%d) %.9g, want %.9g", b, x, y,
                              got, s);
            }
    tes_tile_free(&out);
    tes_tile_free(&dem);
    tes_kernel_release(&k);
}
END_TEST

START_TEST(library_blur_every_way_and_reference)
{
    tes_tile dem, out;
    make_dem(&dem, 1, true);
    const double sigma = 1.5;
    const int r = 5; /* ceil(3 sigma) */
    tes_kernel k;
    ck_assert_int_eq(tes_kernel_blur(&k, sigma), 0);
    ck_assert_int_eq(k.halo, r);
    run_every_way(&k, &dem, 1, &out, NULL);
    double g[11];
    for (int i = -r; i <= r; i++)
        g[i + r] = exp(-(double)(i * i) / (2 * sigma * sigma));
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            double got = px(&out, 0, x, y);
            if (px(&dem, 0, x, y) == ND) {
                ck_assert(got == ND);
                continue;
            }
            /* valid neighbours only, their weights renormalised */
            double s = 0, ws = 0;
            for (int j = -r; j <= r; j++)
                for (int i = -r; i <= r; i++) {
                    double v = clamped(&dem, 0, x + i, y + j);
                    if (v == ND)
                        continue;
                    s += g[i + r] * g[j + r] * v;
                    ws += g[i + r] * g[j + r];
                }
            ck_assert_msg(fabs(got - s / ws) <= 1e-6 * fabs(s / ws),
                          "blur (%d,%d) %.9g, want %.9g", x, y, got, s / ws);
        }
    tes_tile_free(&out);
    tes_tile_free(&dem);
    tes_kernel_release(&k);
}
END_TEST

/* ---- stats ----------------------------------------------------------------- */

START_TEST(library_stats_every_way_and_reference)
{
    tes_tile dem;
    make_dem(&dem, 2, true);
    const int bins = 7;
    const double lo[2] = { 300, 350 }, hi[2] = { 800, 900 };
    tes_kernel k;
    tes_raster_error err;
    ck_assert_int_eq(tes_kernel_stats_ranges(&k, 2, bins, lo, hi, &err), 0);
    ck_assert_uint_eq(k.partial_size,
                      2 * sizeof(tes_band_stats) + 2 * bins * sizeof(uint64_t));
    void *res = malloc(k.partial_size);
    run_every_way(&k, &dem, 1, NULL, res);
    for (int b = 0; b < 2; b++) {
        double sum = 0, mn = INFINITY, mx = -INFINITY;
        uint64_t n = 0, nd = 0, hist[7] = { 0 };
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                double v = px(&dem, b, x, y);
                if (v == ND) {
                    nd++;
                    continue;
                }
                n++;
                sum += v;
                mn = fmin(mn, v);
                mx = fmax(mx, v);
                if (v >= lo[b] && v <= hi[b]) {
                    long i = (long)((v - lo[b]) * (bins / (hi[b] - lo[b])));
                    hist[i >= bins ? bins - 1 : i]++;
                }
            }
        double mean = sum / (double)n, m2 = 0;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                double v = px(&dem, b, x, y);
                if (v != ND)
                    m2 += (v - mean) * (v - mean);
            }
        const tes_band_stats *s = tes_stats_band(res, b);
        ck_assert_uint_eq(s->count, n);
        ck_assert_uint_eq(s->nodata_count, nd);
        ck_assert(s->min == mn && s->max == mx);
        ck_assert_msg(fabs(s->mean - mean) <= 1e-12 * fabs(mean), "mean");
        double sd = sqrt(m2 / (double)n);
        ck_assert_msg(fabs(tes_band_stats_stddev(s) - sd) <= 1e-9 * sd,
                      "stddev %.17g, want %.17g", tes_band_stats_stddev(s),
                      sd);
        const uint64_t *h = tes_stats_histogram(res, 2, bins, b);
        for (int i = 0; i < bins; i++)
            ck_assert_uint_eq(h[i], hist[i]);
    }
    tes_band_stats empty = { 0, 5, 0, 0, 0, 0 };
    ck_assert(isnan(tes_band_stats_stddev(&empty)));
    ck_assert(isnan(tes_band_stats_stddev(NULL)));
    free(res);
    tes_tile_free(&dem);
    tes_kernel_release(&k);
}
END_TEST

/* ---- synth ------------------------------------------------------------------ */

START_TEST(library_synth_every_way_and_range)
{
    tes_synth_options so = TES_SYNTH_OPTIONS_INIT;
    so.seed = 11;
    so.relief = 1000;
    so.base = 200;
    so.feature_px = 64;
    so.holes = 0.05;
    tes_kernel k;
    ck_assert_int_eq(tes_kernel_synth_alloc(&k, &so), 0);
    ck_assert(k.out_nodata_mode == TES_NODATA_SET && k.out_nodata == -9999);
    tes_tile out;
    run_every_way(&k, NULL, 0, &out, NULL);
    long holes = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            double v = px(&out, 0, x, y);
            if (v == -9999) {
                holes++;
                continue;
            }
            ck_assert_msg(v >= 200 - 1e-3 && v <= 1200 + 1e-3,
                          "synth (%d,%d) = %g outside base..base+relief", x,
                          y, v);
        }
    ck_assert_int_gt(holes, 0);
    ck_assert_int_lt(holes, (long)W * H / 4);
    tes_tile_free(&out);
    tes_kernel_release(&k);
    so.holes = 0;
    ck_assert_int_eq(tes_kernel_synth_alloc(&k, &so), 0);
    ck_assert_int_eq(k.out_nodata_mode, TES_NODATA_NONE);
    tes_kernel_release(&k);
}
END_TEST

/* ---- bad options --------------------------------------------------------- */

static void assert_refused(int rc, const tes_raster_error *err,
                           const char *want, tes_kernel *k)
{
    ck_assert_int_eq(rc, -EINVAL);
    ck_assert_int_eq(err->code, -EINVAL);
    ck_assert_msg(strstr(err->message, want), "message '%s' lacks '%s'",
                  err->message, want);
    ck_assert_ptr_null(strchr(err->message, '\n'));
    /* a failed constructor leaves a kernel that release takes, twice */
    ck_assert_ptr_null(k->arg);
    tes_kernel_release(k);
    tes_kernel_release(k);
}

START_TEST(library_bad_options_are_refused_with_words)
{
    tes_kernel k;
    tes_raster_error err;
    assert_refused(tes_kernel_calc(&k, "A + * B", 2, TES_F32, &err), &err,
                   "expression: unexpected '*' at column 5", &k);
    assert_refused(tes_kernel_calc(&k, "A + C", 2, TES_F32, &err), &err,
                   "reads C", &k);
    assert_refused(tes_kernel_calc(&k, "", 1, TES_F32, &err), &err,
                   "empty expression", &k);
    assert_refused(tes_kernel_convolve(&k, "", false, &err), &err,
                   "kernel: no values", &k);
    assert_refused(tes_kernel_convolve(&k, " ; ", false, &err), &err,
                   "kernel: ", &k);
    assert_refused(tes_kernel_convolve(&k, "1 2; 3 4", false, &err), &err,
                   "sides must be odd", &k);
    assert_refused(tes_kernel_blur_err(&k, 0, &err), &err,
                   "sigma 0: expects 0 < sigma", &k);
    assert_refused(tes_kernel_blur_err(&k, -2, &err), &err, "sigma -2", &k);
    assert_refused(tes_kernel_blur_err(&k, NAN, &err), &err, "sigma", &k);
    assert_refused(tes_kernel_stats_ranges(&k, 1, -1, NULL, NULL, &err),
                   &err, "-1 bins", &k);
    double lo = 5, hi = 1;
    assert_refused(tes_kernel_stats_ranges(&k, 1, 4, &lo, &hi, &err), &err,
                   "histogram range [5, 1]", &k);
    assert_refused(tes_kernel_stats_ranges(&k, 1, 4, NULL, NULL, &err), &err,
                   "needs its range", &k);
    assert_refused(tes_kernel_stats_ranges(&k, 0, 0, NULL, NULL, &err), &err,
                   "0 bands", &k);
    tes_terrain_options zero;
    memset(&zero, 0, sizeof zero);
    assert_refused(tes_kernel_terrain_err(&k, &zero, &err), &err,
                   "TES_TERRAIN_OPTIONS_INIT", &k);
    tes_terrain_options o = TES_TERRAIN_OPTIONS_INIT;
    o.multidirectional = o.combined = true;
    assert_refused(tes_kernel_terrain_err(&k, &o, &err), &err,
                   "exclude each other", &k);
    o = (tes_terrain_options)TES_TERRAIN_OPTIONS_INIT;
    o.reserved_int[3] = 1;
    assert_refused(tes_kernel_terrain_err(&k, &o, &err), &err, "reserved",
                   &k);

    /* the plain forms: the same codes, no words */
    ck_assert_int_eq(tes_kernel_blur(&k, 81), -EINVAL);
    ck_assert_int_eq(tes_kernel_stats(&k, 1, -1, 0, 0), -EINVAL);
    ck_assert_int_eq(tes_kernel_stats(&k, 1, 3, 1, NAN), -EINVAL);
    ck_assert_int_eq(tes_kernel_terrain(&k, &zero), -EINVAL);
    tes_synth_options so = TES_SYNTH_OPTIONS_INIT;
    so.holes = 0.7;
    ck_assert_int_eq(tes_kernel_synth_alloc(&k, &so), -EINVAL);
    ck_assert_int_eq(tes_kernel_calc(NULL, "A", 1, TES_F32, NULL), -EINVAL);
    ck_assert_int_eq(tes_kernel_convolve(&k, NULL, false, NULL), -EINVAL);
    tes_kernel_release(&k);
    tes_kernel_release(NULL);
    tes_kernel zeroed;
    memset(&zeroed, 0, sizeof zeroed);
    tes_kernel_release(&zeroed);
}
END_TEST

/* ---- the runner's refusals --------------------------------------------- */

static int stop_at_three(uint64_t done, uint64_t total, void *ctx)
{
    (void)total;
    *(uint64_t *)ctx = done;
    return done >= 3;
}

START_TEST(library_run_memory_refuses_bad_images)
{
    tes_tile dem, out, small, u8;
    make_dem(&dem, 1, false);
    tes_kernel k;
    tes_terrain_options o = TES_TERRAIN_OPTIONS_INIT;
    ck_assert_int_eq(tes_kernel_terrain(&k, &o), 0);
    tes_raster_error err;
    ck_assert_int_eq(tes_tile_alloc(&out, TES_F32, W, H, 1), 0);
    ck_assert_int_eq(tes_tile_alloc(&small, TES_F32, W - 1, H, 1), 0);
    ck_assert_int_eq(tes_tile_alloc(&u8, TES_U8, W, H, 1), 0);
    ck_assert_int_eq(tes_raster_run_memory(NULL, &k, &dem, 1, &u8, NULL,
                                           &err), -EINVAL);
    ck_assert_str_eq(err.message, "output: uint8 with 1 band(s); kernel "
                                  "slope writes float32 with 1");
    ck_assert_int_eq(tes_raster_run_memory(NULL, &k, &dem, 1, &small, NULL,
                                           &err), -EINVAL);
    ck_assert_int_eq(tes_raster_run_memory(NULL, &k, &dem, 1, NULL, NULL,
                                           &err), -EINVAL);
    ck_assert_int_eq(tes_raster_run_memory(NULL, &k, &dem, 1, &dem, NULL,
                                           &err), -EINVAL);
    ck_assert_str_eq(err.message, "output overlaps input 1");
    tes_tile two[2] = { dem, small };
    ck_assert_int_eq(tes_raster_run_memory(NULL, &k, two, 2, &out, NULL,
                                           &err), -EINVAL);
    tes_tile bad = dem;
    bad.stride = W - 1;
    ck_assert_int_eq(tes_raster_run_memory(NULL, &k, &bad, 1, &out, NULL,
                                           &err), -EINVAL);
    ck_assert_int_eq(tes_raster_run_memory(NULL, NULL, &dem, 1, &out, NULL,
                                           &err), -EINVAL);
    tes_kernel hollow = TES_KERNEL_INIT;
    ck_assert_int_eq(tes_raster_run_memory(NULL, &hollow, &dem, 1, &out,
                                           NULL, &err), -EINVAL);
    /* a reduction needs its result */
    tes_kernel s;
    ck_assert_int_eq(tes_kernel_stats(&s, 1, 0, 0, 0), 0);
    ck_assert_int_eq(tes_raster_run_memory(NULL, &s, &dem, 1, NULL, NULL,
                                           &err), -EINVAL);
    tes_kernel_release(&s);

    /* a kernel's failure names the tile and the kernel */
    tes_kernel c;
    ck_assert_int_eq(tes_kernel_calc(&c, "A + B", 2, TES_F32, NULL), 0);
    ck_assert_int_eq(tes_raster_run_memory(NULL, &c, &dem, 1, &out, NULL,
                                           &err), -EINVAL);
    ck_assert_str_eq(err.message, "tile 0: calc: input B not given");
    tes_kernel_release(&c);

    /* the progress callback stops a run, on a pool too */
    tes_memory_options mo = TES_MEMORY_OPTIONS_INIT;
    mo.tile_width = mo.tile_height = 32;
    uint64_t seen = 0;
    mo.progress = stop_at_three;
    mo.progress_ctx = &seen;
    tes_pool *pool;
    ck_assert_int_eq(tes_pool_create(&pool, NULL), 0);
    ck_assert_int_eq(tes_raster_run_memory_opts(pool, &k, &dem, 1, &out, NULL,
                                                &mo, &err), -ECANCELED);
    ck_assert_int_eq(seen, 3);
    tes_pool_destroy(pool);

    tes_tile_free(&u8);
    tes_tile_free(&small);
    tes_tile_free(&out);
    tes_tile_free(&dem);
    tes_kernel_release(&k);
}
END_TEST

/* Seconds on the monotonic clock. */
static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* This process's peak resident memory, kB. */
static long peak_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* The in-memory runner counts what k and its options make large against
 * the budget before it allocates: the 4096 bands x 100000 bins
 * histogram is refused in a moment with nothing touched, a run at exactly
 * its estimate runs and counts right, one byte less is refused, and so is
 * an option's huge number of tiles in flight. */
START_TEST(library_run_memory_budget)
{
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
    /* were the check missing, the partials' allocation fails here
     * (-ENOMEM, not TES_ETOOBIG) rather than taking the machine's memory
     * (sanitizers reserve more address space than this) */
    struct rlimit rl = { (rlim_t)4 << 30, (rlim_t)4 << 30 };
    ck_assert_int_eq(setrlimit(RLIMIT_AS, &rl), 0);
#endif
    tes_pool_options po = TES_POOL_OPTIONS_INIT;
    po.threads = 2;
    tes_pool *pool;
    ck_assert_int_eq(tes_pool_create(&pool, &po), 0);
    /* 8 x 8 pixels of 4096 bands, band b all b % 256 */
    tes_tile img;
    ck_assert_int_eq(tes_tile_alloc(&img, TES_U8, 8, 8, 4096), 0);
    for (int b = 0; b < 4096; b++)
        memset(tes_tile_row(&img, b, 0), b % 256, 64);
    tes_kernel k;
    ck_assert_int_eq(tes_kernel_stats(&k, 4096, 100000, 0, 256), 0);
    tes_memory_options mo = TES_MEMORY_OPTIONS_INIT;
    mo.memory_limit = (uint64_t)1 << 30;
    tes_raster_error err;
    /* a result buffer too small for the kernel: never touched */
    unsigned char result[64];
    memset(result, 0xA5, sizeof result);
    long rss0 = peak_rss_kb();
    double t0 = now_s();
    ck_assert_int_eq(tes_raster_run_memory_opts(pool, &k, &img, 1, NULL,
                                                result, &mo, &err),
                     TES_ETOOBIG);
    double secs = now_s() - t0;
    long grew = peak_rss_kb() - rss0;
    fprintf(stderr, "budget: in memory, stats of 4096 bands x 100000 bins: "
                    "refused in %.6f s, peak RSS +%ld KB\n", secs, grew);
    ck_assert_str_eq(err.message,
                     "stats: needs about 19.7 GB of memory (6 tiles in "
                     "flight of 3.3 GB each, mostly the kernel's partial "
                     "result), more than the memory budget of 1.1 GB");
    for (size_t i = 0; i < sizeof result; i++)
        ck_assert_uint_eq(result[i], 0xA5);
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
    ck_assert_int_lt(grew, 50 * 1024);
#endif
    /* the estimate says so without running */
    uint64_t need = 0;
    ck_assert_int_eq(tes_raster_run_memory_estimate(pool, &k, &img, 1, NULL,
                                                    &mo, &need, &err),
                     TES_ETOOBIG);
    ck_assert_uint_gt(need, (uint64_t)6 * 4096 * 100000 * 8);
    /* the default budget refuses it too where the machine has less than
     * twice that memory */
    mo.memory_limit = 0;
    if (tes_memory_default() < need)
        ck_assert_int_eq(tes_raster_run_memory_opts(pool, &k, &img, 1, NULL,
                                                    result, &mo, &err),
                         TES_ETOOBIG);
    tes_kernel_release(&k);

    /* 16 bins fit: refused one byte under the estimate, run at it */
    ck_assert_int_eq(tes_kernel_stats(&k, 4096, 16, 0, 256), 0);
    mo.memory_limit = UINT64_MAX;
    ck_assert_int_eq(tes_raster_run_memory_estimate(pool, &k, &img, 1, NULL,
                                                    &mo, &need, &err),
                     0);
    ck_assert_uint_gt(need, (uint64_t)6 * 4096 * 16 * 8);
    mo.memory_limit = need - 1;
    void *res = malloc(k.partial_size);
    ck_assert_ptr_nonnull(res);
    ck_assert_int_eq(tes_raster_run_memory_opts(pool, &k, &img, 1, NULL, res,
                                                &mo, &err),
                     TES_ETOOBIG);
    ck_assert_ptr_nonnull(strstr(err.message, "more than the memory budget"));
    mo.memory_limit = need;
    ck_assert_int_eq(tes_raster_run_memory_opts(pool, &k, &img, 1, NULL, res,
                                                &mo, &err),
                     0);
    for (int b = 0; b < 4096; b++) {
        const uint64_t *h = tes_stats_histogram(res, 4096, 16, b);
        ck_assert_uint_eq(tes_stats_band(res, b)->count, 64);
        for (int i = 0; i < 16; i++)
            ck_assert_uint_eq(h[i], i == (b % 256) / 16 ? 64 : 0);
    }
    free(res);
    tes_kernel_release(&k);

    /* an option that makes the run large: tiles in flight */
    tes_terrain_options to = TES_TERRAIN_OPTIONS_INIT;
    ck_assert_int_eq(tes_kernel_terrain(&k, &to), 0);
    tes_tile dem, out;
    make_dem(&dem, 1, false);
    /* an output not allocated yet: only its shape is checked */
    memset(&out, 0, sizeof out);
    out.type = TES_F32;
    out.width = W;
    out.height = H;
    out.bands = 1;
    out.stride = W;
    out.band_stride = (size_t)W * H;
    mo = (tes_memory_options)TES_MEMORY_OPTIONS_INIT;
    mo.max_in_flight = INT_MAX;
    mo.memory_limit = (uint64_t)1 << 30;
    ck_assert_int_eq(tes_raster_run_memory_estimate(pool, &k, &dem, 1, &out,
                                                    &mo, &need, &err),
                     TES_ETOOBIG);
    ck_assert_ptr_nonnull(strstr(err.message, "2147483647 tiles in flight"));
    /* the slope's edge windows, a buffer per worker, in a tiny budget */
    mo.max_in_flight = 0;
    mo.memory_limit = 1000;
    ck_assert_int_eq(tes_raster_run_memory_estimate(pool, &k, &dem, 1, &out,
                                                    &mo, &need, &err),
                     TES_ETOOBIG);
    ck_assert_str_eq(err.message,
                     "slope: needs about 535.2 kB of memory (window buffers "
                     "of 266.3 kB for each of 2 workers), more than the "
                     "memory budget of 1.0 kB");
    /* what the caller allocates beside the images, named */
    mo.memory_limit = (uint64_t)1 << 30;
    mo.extra_bytes = (uint64_t)2 << 30;
    mo.extra_name = "the staging image";
    ck_assert_int_eq(tes_raster_run_memory_estimate(pool, &k, &dem, 1, &out,
                                                    &mo, &need, &err),
                     TES_ETOOBIG);
    ck_assert_ptr_nonnull(strstr(err.message, "(the staging image of 2.1 "
                                              "GB)"));
    tes_tile_free(&dem);
    tes_kernel_release(&k);
    tes_tile_free(&img);
    tes_pool_destroy(pool);
}
END_TEST

/* Images are views with any strides: rows of a bigger array, and bands
 * interleaved by line, give the packed image's result. */
START_TEST(library_run_memory_honours_strides)
{
    tes_tile dem, packed;
    make_dem(&dem, 2, true);
    tes_kernel k;
    ck_assert_int_eq(tes_kernel_blur(&k, 1.0), 0);
    ck_assert_int_eq(tes_tile_alloc(&packed, TES_F32, W, H, 2), 0);
    mem_run(NULL, &k, &dem, 1, &packed, NULL);

    /* the input inside a wider, taller array; the output line-interleaved
     * (row y of band b at y * 2 * (W + 3) + b * (W + 3)) */
    size_t big_stride = W + 40;
    float *big = calloc(big_stride * (H + 10) * 2, sizeof *big);
    float *bil = calloc((size_t)2 * (W + 3) * H, sizeof *bil);
    tes_tile view = { .data = big + 5 * big_stride + 7, .type = TES_F32,
                      .width = W, .height = H, .bands = 2,
                      .stride = big_stride,
                      .band_stride = big_stride * (H + 10),
                      .has_nodata = true, .nodata = ND };
    for (int b = 0; b < 2; b++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                tes_tile_set(&view, b, x, y, px(&dem, b, x, y));
    tes_tile out = { .data = bil, .type = TES_F32, .width = W, .height = H,
                     .bands = 2, .stride = 2 * (W + 3),
                     .band_stride = W + 3 };
    tes_pool *pool;
    ck_assert_int_eq(tes_pool_create(&pool, NULL), 0);
    mem_run(pool, &k, &view, 1, &out, NULL);
    tes_pool_destroy(pool);
    ck_assert(same_pixels(&packed, &out));
    free(bil);
    free(big);
    tes_tile_free(&packed);
    tes_tile_free(&dem);
    tes_kernel_release(&k);
}
END_TEST

/* ---- threads --------------------------------------------------------------- */

typedef struct shared_run {
    const tes_kernel *shade, *stats;
    tes_pool *pool;         /* NULL: each thread runs on itself */
    const tes_tile *dem;
    const tes_tile *want;   /* hillshade */
    const void *want_stats;
    bool ok;
} shared_run;

static void *outside_thread(void *arg)
{
    shared_run *s = arg;
    s->ok = true;
    for (int rep = 0; rep < 3; rep++) {
        tes_tile out;
        void *res = malloc(s->stats->partial_size);
        if (!res || tes_tile_alloc(&out, TES_U8, W, H, 1)) {
            s->ok = false;
            free(res);
            return NULL;
        }
        tes_memory_options o = TES_MEMORY_OPTIONS_INIT;
        o.tile_width = o.tile_height = TILE;
        if (tes_raster_run_memory_opts(s->pool, s->shade, s->dem, 1, &out,
                                       NULL, &o, NULL) ||
            !same_pixels(&out, s->want) ||
            tes_raster_run_memory_opts(s->pool, s->stats, s->dem, 1, NULL,
                                       res, &o, NULL) ||
            memcmp(res, s->want_stats, s->stats->partial_size))
            s->ok = false;
        tes_tile_free(&out);
        free(res);
    }
    return NULL;
}

START_TEST(library_one_kernel_many_threads_at_once)
{
    tes_tile dem, want;
    make_dem(&dem, 1, true);
    tes_terrain_options o = TES_TERRAIN_OPTIONS_INIT;
    o.kind = TES_TERRAIN_HILLSHADE;
    tes_kernel shade, stats;
    ck_assert_int_eq(tes_kernel_terrain(&shade, &o), 0);
    ck_assert_int_eq(tes_kernel_stats(&stats, 1, 16, 0, 1000), 0);
    ck_assert_int_eq(tes_tile_alloc(&want, TES_U8, W, H, 1), 0);
    mem_run(NULL, &shade, &dem, 1, &want, NULL);
    void *want_stats = malloc(stats.partial_size);
    mem_run(NULL, &stats, &dem, 1, NULL, want_stats);

    tes_pool_options po = TES_POOL_OPTIONS_INIT;
    po.threads = 3;
    tes_pool *pool;
    ck_assert_int_eq(tes_pool_create(&pool, &po), 0);
    enum { N = 6 };
    pthread_t th[N];
    shared_run runs[N];
    for (int i = 0; i < N; i++) {
        /* half on the shared pool, half each on its own thread */
        runs[i] = (shared_run){ &shade, &stats, i % 2 ? pool : NULL, &dem,
                                &want, want_stats, false };
        ck_assert_int_eq(pthread_create(&th[i], NULL, outside_thread,
                                        &runs[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        ck_assert_msg(runs[i].ok, "thread %d got a wrong result", i);
    }
    tes_pool_destroy(pool);
    free(want_stats);
    tes_tile_free(&want);
    tes_tile_free(&dem);
    tes_kernel_release(&stats);
    tes_kernel_release(&shade);
}
END_TEST

typedef struct in_task {
    tes_pool *pool;
    const tes_kernel *k;
    const char *in_path, *out_path;
    const tes_tile *dem;
    tes_tile *mem_out;
    int rc_file, rc_mem;
} in_task;

/* A task that runs a file pipeline and an in-memory run on its own pool. */
static void *pipeline_task(void *arg)
{
    in_task *t = arg;
    tes_raster *r;
    tes_raster_error err;
    t->rc_file = tes_raster_open(&r, t->in_path, &err);
    if (t->rc_file == 0) {
        tes_raster_create_options co = TES_RASTER_CREATE_OPTIONS_INIT;
        co.tile_width = co.tile_height = TILE;
        co.overwrite = true;
        t->rc_file = tes_raster_run(t->pool, t->k, &r, 1, t->out_path, &co,
                                    NULL, NULL, &err);
        tes_raster_close(r);
    }
    t->rc_mem = tes_raster_run_memory(t->pool, t->k, t->dem, 1, t->mem_out,
                                      NULL, &err);
    return NULL;
}

START_TEST(library_pipelines_inside_tasks_help_not_deadlock)
{
    tes_tile dem, want;
    make_dem(&dem, 1, true);
    tes_raster_error err;
    tes_raster_create_options co = TES_RASTER_CREATE_OPTIONS_INIT;
    co.tile_width = co.tile_height = TILE;
    /* the tasks read the paths while path_of's buffers turn over */
    char *dem_path = strdup(path_of("dem.tif"));
    ck_assert_int_eq(tes_raster_write_tile(dem_path, &dem, &co, &err), 0);
    tes_terrain_options o = TES_TERRAIN_OPTIONS_INIT;
    tes_kernel k;
    ck_assert_int_eq(tes_kernel_terrain(&k, &o), 0);
    ck_assert_int_eq(tes_tile_alloc(&want, TES_F32, W, H, 1), 0);
    mem_run(NULL, &k, &dem, 1, &want, NULL);

    /* a pool of one thread: the task's own worker must run the tiles; then
     * two threads with three pipelines at once */
    for (int threads = 1; threads <= 2; threads++) {
        tes_pool_options po = TES_POOL_OPTIONS_INIT;
        po.threads = threads;
        tes_pool *pool;
        ck_assert_int_eq(tes_pool_create(&pool, &po), 0);
        enum { N = 3 };
        in_task t[N];
        tes_tile mem[N];
        tes_future *f[N];
        char name[N][32];
        for (int i = 0; i < N; i++) {
            snprintf(name[i], sizeof name[i], "task%d.tif", i);
            ck_assert_int_eq(tes_tile_alloc(&mem[i], TES_F32, W, H, 1), 0);
            t[i] = (in_task){ pool, &k, dem_path,
                              strdup(path_of(name[i])), &dem, &mem[i], -1,
                              -1 };
            ck_assert_int_eq(tes_spawn(&f[i], pool, pipeline_task, &t[i]),
                             0);
        }
        for (int i = 0; i < N; i++) {
            ck_assert_int_eq(tes_await(f[i], NULL), 0);
            tes_future_release(f[i]);
            ck_assert_int_eq(t[i].rc_file, 0);
            ck_assert_int_eq(t[i].rc_mem, 0);
            ck_assert(same_pixels(&mem[i], &want));
            tes_raster *r;
            ck_assert_int_eq(tes_raster_open(&r, t[i].out_path, &err), 0);
            tes_tile back;
            ck_assert_int_eq(tes_tile_alloc(&back, TES_F32, W, H, 1), 0);
            ck_assert_int_eq(tes_raster_read(r, 0, 0, &back,
                                             TES_EDGE_REPLICATE, 0, &err), 0);
            ck_assert(same_pixels(&back, &want));
            tes_tile_free(&back);
            tes_raster_close(r);
            free((char *)t[i].out_path);
            tes_tile_free(&mem[i]);
        }
        tes_pool_destroy(pool);
    }
    free(dem_path);
    tes_tile_free(&want);
    tes_tile_free(&dem);
    tes_kernel_release(&k);
}
END_TEST

/* ---- the smaller public pieces -------------------------------------------- */

static int never_called(tes_tile_job *job)
{
    (void)job;
    return -EINVAL;
}

START_TEST(library_output_format_and_georef_release)
{
    tes_kernel k = TES_KERNEL_INIT;
    tes_sample_type t;
    int bands;
    k.tile = never_called;
    ck_assert_int_eq(tes_kernel_output_format(&k, TES_I16, 3, &t, &bands), 0);
    ck_assert(t == TES_I16 && bands == 3);
    k.in_type = TES_F64;
    ck_assert_int_eq(tes_kernel_output_format(&k, TES_I16, 3, &t, &bands), 0);
    ck_assert(t == TES_F64 && bands == 3);
    k.out_type = TES_U8;
    k.out_bands = 1;
    ck_assert_int_eq(tes_kernel_output_format(&k, TES_I16, 3, &t, &bands), 0);
    ck_assert(t == TES_U8 && bands == 1);
    tes_kernel g = TES_KERNEL_INIT;
    ck_assert_int_eq(tes_kernel_output_format(&g, TES_TYPE_NONE, 0, &t,
                                              &bands), 0);
    ck_assert(t == TES_F32 && bands == 1);
    ck_assert_int_eq(tes_kernel_output_format(NULL, TES_F32, 1, &t, &bands),
                     -EINVAL);

    /* the old spelling of the reduce callback is the same field */
    k.partial = never_called;
    ck_assert(k.reduce == never_called);

    double gt[6] = { 1000, 10, 0, 5000, 0, -10 };
    tes_georef geo;
    void *owned;
    ck_assert_int_eq(tes_georef_from_geotransform(&geo, &owned, gt, 32633),
                     0);
    ck_assert_ptr_nonnull(owned);
    ck_assert_int_gt(geo.n_geokeys, 0);
    tes_georef_release(&geo, owned);
    ck_assert_ptr_null(geo.geokeys);
    ck_assert_int_eq(geo.n_geokeys, 0);
    tes_georef_release(NULL, NULL);
    gt[1] = NAN;
    ck_assert_int_eq(tes_georef_from_geotransform(&geo, &owned, gt, 32633),
                     -EINVAL);
    ck_assert_ptr_null(owned);
}
END_TEST

/* tes_raster_keep_meaning: raster-tool convert's rule, checked here on
 * its own (the Python tests compare the two programs' files) */
START_TEST(library_keep_meaning_follows_the_bands)
{
    static const uint16_t red[2] = { 0, 65535 }, green[2] = { 0, 0 },
                          blue[2] = { 65535, 0 };
    const tes_colormap cm = { 2, red, green, blue };
    tes_raster_info in;
    memset(&in, 0, sizeof in);
    in.bands = 1;
    in.type = TES_U8;
    in.colormap = &cm;
    tes_raster_create_options o = TES_RASTER_CREATE_OPTIONS_INIT;
    const int one[1] = { 0 };
    tes_raster_keep_meaning(&o, &in, NULL, 0, TES_TYPE_NONE);
    ck_assert_ptr_eq(o.colormap, &cm);
    tes_raster_keep_meaning(&o, &in, one, 1, TES_U8);
    ck_assert_ptr_eq(o.colormap, &cm);
    tes_raster_keep_meaning(&o, &in, one, 1, TES_U16); /* other values */
    ck_assert_ptr_null(o.colormap);
    in.bands = 2; /* a palette band and an extra sample: only band 1 */
    const int second[1] = { 1 };
    tes_raster_keep_meaning(&o, &in, second, 1, TES_TYPE_NONE);
    ck_assert_ptr_null(o.colormap);
    tes_raster_keep_meaning(&o, &in, one, 1, TES_TYPE_NONE);
    ck_assert_ptr_eq(o.colormap, &cm);
    in.bands = 1;
    ck_assert(!o.rgb && !o.alpha && !o.alpha_associated);

    memset(&in, 0, sizeof in);
    in.bands = 4;
    in.type = TES_U8;
    in.rgb = true;
    in.alpha_band = 4;
    in.alpha_associated = true;
    o.compress = TES_COMPRESS_ZSTD; /* other fields stay */
    tes_raster_keep_meaning(&o, &in, NULL, 0, TES_F32);
    ck_assert(o.rgb && o.alpha && o.alpha_associated && !o.colormap);
    ck_assert_int_eq(o.compress, TES_COMPRESS_ZSTD);
    const int bgra[4] = { 2, 1, 0, 3 }, argb[4] = { 3, 0, 1, 2 },
              rgb[3] = { 0, 1, 2 }, ga[2] = { 0, 3 };
    tes_raster_keep_meaning(&o, &in, bgra, 4, TES_TYPE_NONE);
    ck_assert(!o.rgb && o.alpha && o.alpha_associated);
    tes_raster_keep_meaning(&o, &in, argb, 4, TES_TYPE_NONE);
    ck_assert(!o.rgb && !o.alpha && !o.alpha_associated);
    tes_raster_keep_meaning(&o, &in, rgb, 3, TES_TYPE_NONE);
    ck_assert(o.rgb && !o.alpha && !o.alpha_associated);
    tes_raster_keep_meaning(&o, &in, ga, 2, TES_TYPE_NONE);
    ck_assert(!o.rgb && o.alpha && o.alpha_associated);
    tes_raster_keep_meaning(&o, &in, ga + 1, 1, TES_TYPE_NONE);
    ck_assert(!o.rgb && !o.alpha);
}
END_TEST

static Suite *library_suite(void)
{
    Suite *s = suite_create("library");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, library_slope_every_way_and_reference);
    tcase_add_test(tc, library_aspect_every_way_and_reference);
    tcase_add_test(tc, library_hillshade_every_way_and_reference);
    tcase_add_test(tc, library_calc_every_way_and_reference);
    tcase_add_test(tc, library_convolve_every_way_and_reference);
    tcase_add_test(tc, library_blur_every_way_and_reference);
    tcase_add_test(tc, library_stats_every_way_and_reference);
    tcase_add_test(tc, library_synth_every_way_and_range);
    tcase_add_test(tc, library_bad_options_are_refused_with_words);
    tcase_add_test(tc, library_run_memory_refuses_bad_images);
    tcase_add_test(tc, library_run_memory_budget);
    tcase_add_test(tc, library_run_memory_honours_strides);
    tcase_add_test(tc, library_one_kernel_many_threads_at_once);
    tcase_add_test(tc, library_pipelines_inside_tasks_help_not_deadlock);
    tcase_add_test(tc, library_output_format_and_georef_release);
    tcase_add_test(tc, library_keep_meaning_follows_the_bands);
    suite_add_tcase(s, tc);
    return s;
}

TES_CHECK_MAIN(library_suite)
