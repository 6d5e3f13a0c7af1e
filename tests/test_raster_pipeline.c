/*
 * test_raster_pipeline.c — the tile pipeline: a 3x3 focal kernel equals the
 * whole-image computation for tile sizes that do and do not divide the
 * image; the same bytes at 1, 2 and 7 threads; reductions combined in tile
 * order; the first error stops the run and leaves nothing; progress and
 * cancellation; a tiny cache; tiles in flight bounded; synth determinism;
 * a run shared by several processes (tes_pipeline_dist, threads here)
 * gives the one run's bytes and result, and a failing share fails it.
 */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>

#include "raster_test_util.h"
#include "suite_main.h"

static const int thread_counts[] = { 1, 2, 7 };

/* 3x3 weighted sum, computed in double in a fixed order. */
static double focal_at(const tes_tile *t, int b, int x, int y, int halo_x,
                       int halo_y)
{
    static const double w[9] = { 1, 2, 1, 2, 4, 2, 1, 2, 1 };
    double s = 0;
    for (int dy = -1; dy <= 1; dy++)
        for (int dx = -1; dx <= 1; dx++)
            s += w[(dy + 1) * 3 + dx + 1] *
                 tes_tile_get(t, b, x + halo_x + dx, y + halo_y + dy);
    return s;
}

static int focal_tile(tes_tile_job *job)
{
    const tes_tile *in = &job->in[0];
    tes_tile *out = job->out;
    for (int b = 0; b < out->bands; b++)
        for (int y = 0; y < out->height; y++)
            for (int x = 0; x < out->width; x++)
                tes_tile_set(out, b, x, y, focal_at(in, b, x, y, 1, 1));
    return 0;
}

/* The 3x3 focal kernel above, reading doubles and writing floats. */
static tes_kernel focal_kernel(void)
{
    tes_kernel k = TES_KERNEL_INIT;
    k.halo = 1;
    k.in_type = TES_F64;
    k.out_type = TES_F32;
    k.tile = focal_tile;
    return k;
}

/* The same on the whole image, edges by clamping (replicate) or fill. */
static void focal_reference(const tes_tile *src, tes_tile *dst, bool fill,
                            double fv)
{
    tes_tile pad;
    ck_assert_int_eq(tes_tile_alloc(&pad, TES_F64, src->width + 2,
                                    src->height + 2, src->bands), 0);
    for (int b = 0; b < src->bands; b++)
        for (int y = -1; y <= src->height; y++)
            for (int x = -1; x <= src->width; x++) {
                bool out = x < 0 || y < 0 || x >= src->width || y >= src->height;
                int cx = x < 0 ? 0 : x >= src->width ? src->width - 1 : x;
                int cy = y < 0 ? 0 : y >= src->height ? src->height - 1 : y;
                tes_tile_set(&pad, b, x + 1, y + 1,
                             out && fill ? fv : tes_tile_get(src, b, cx, cy));
            }
    ck_assert_int_eq(tes_tile_alloc(dst, TES_F32, src->width, src->height,
                                    src->bands), 0);
    for (int b = 0; b < src->bands; b++)
        for (int y = 0; y < src->height; y++)
            for (int x = 0; x < src->width; x++)
                tes_tile_set(dst, b, x, y, focal_at(&pad, b, x, y, 1, 1));
    tes_tile_free(&pad);
}

typedef struct fixture {
    char *dir;
    char *in_path;
    tes_tile src;
    tes_raster *r;
} fixture;

static void fixture_open(fixture *f, int w, int h, int bands, int in_tile)
{
    f->dir = tu_tmpdir();
    f->in_path = tu_path(f->dir, "in.tif");
    ck_assert_int_eq(tes_tile_alloc(&f->src, TES_I16, w, h, bands), 0);
    tu_fill_smooth(&f->src, 11);
    tes_raster_create_options o = TES_RASTER_CREATE_OPTIONS_INIT;
    o.tile_width = o.tile_height = in_tile;
    tes_raster_error err;
    ck_assert_int_eq(tes_raster_write_tile(f->in_path, &f->src, &o, &err), 0);
    ck_assert_int_eq(tes_raster_open(&f->r, f->in_path, &err), 0);
}

static void fixture_close(fixture *f)
{
    tes_raster_close(f->r);
    tes_tile_free(&f->src);
    free(f->in_path);
    tu_rmdir(f->dir);
}

static void read_all(const char *path, tes_tile *t, tes_sample_type type,
                     int bands)
{
    tes_raster *r;
    tes_raster_error err;
    ck_assert_msg(tes_raster_open(&r, path, &err) == 0, "%s", err.message);
    const tes_raster_info *in = tes_raster_info_get(r);
    ck_assert_int_eq(tes_tile_alloc(t, type, (int)in->width, (int)in->height,
                                    bands), 0);
    ck_assert_int_eq(tes_raster_read(r, 0, 0, t, TES_EDGE_REPLICATE, 0, &err),
                     0);
    tes_raster_close(r);
}

/* Runs k over f's raster into f.dir/name (threads workers, square tiles,
 * compress) and asserts the output equals ref, float32 with ref's bands. */
static void run_against(fixture *f, const tes_kernel *k, const tes_tile *ref,
                        const char *name, int threads, int tile,
                        tes_compress compress)
{
    tes_pool *pool = tu_pool(threads);
    char *out = tu_path(f->dir, name);
    tes_raster_create_options o = TES_RASTER_CREATE_OPTIONS_INIT;
    o.tile_width = o.tile_height = tile;
    o.compress = compress;
    tes_raster_error err;
    int rc = tes_raster_run(pool, k, &f->r, 1, out, &o, NULL, NULL, &err);
    ck_assert_msg(rc == 0, "%s", err.message);
    tes_tile got;
    read_all(out, &got, TES_F32, ref->bands);
    ck_assert_msg(tu_tiles_equal(&got, ref), "%s: output differs", name);
    tes_tile_free(&got);
    tes_pool_destroy(pool);
    free(out);
}

START_TEST(pipeline_focal_equals_whole_image)
{
    static const int tiles[] = { 16, 32, 48, 80, 128 };
    fixture f;
    fixture_open(&f, 96, 64, 2, 32);
    for (int fill = 0; fill < 2; fill++) {
        tes_tile ref;
        focal_reference(&f.src, &ref, fill, -7);
        tes_kernel k = focal_kernel();
        k.name = "focal";
        k.edge = fill ? TES_EDGE_NODATA : TES_EDGE_REPLICATE;
        k.edge_fill = -7;
        for (size_t i = 0; i < sizeof tiles / sizeof tiles[0]; i++) {
            char name[32];
            snprintf(name, sizeof name, "focal-%d-%d.tif", fill, tiles[i]);
            run_against(&f, &k, &ref, name, 2, tiles[i],
                        TES_COMPRESS_DEFLATE);
        }
        tes_tile_free(&ref);
    }
    fixture_close(&f);
}
END_TEST

/* Uncompressed one-band output: full tiles are computed in the chunk the
 * writer appends (tes__encode_in_place), edge tiles are copied; both must
 * give the reference, at 1 and 2 threads. */
START_TEST(pipeline_uncompressed_one_band_output_equals_whole_image)
{
    static const int tiles[] = { 16, 48, 64 };
    fixture f;
    fixture_open(&f, 96, 80, 1, 32);
    tes_tile ref;
    focal_reference(&f.src, &ref, 0, -7);
    tes_kernel k = focal_kernel();
    for (size_t i = 0; i < sizeof tiles / sizeof tiles[0]; i++)
        for (int threads = 1; threads <= 2; threads++) {
            char name[32];
            snprintf(name, sizeof name, "raw-%d-%d.tif", tiles[i], threads);
            run_against(&f, &k, &ref, name, threads, tiles[i],
                        TES_COMPRESS_NONE);
        }
    tes_tile_free(&ref);
    fixture_close(&f);
}
END_TEST

START_TEST(pipeline_focal_over_striped_planar_input)
{
    /* Strips of 7 rows, band-separate, LZW with predictor: blocks that do
     * not line up with output tiles. */
    char *dir = tu_tmpdir();
    char *in = tu_path(dir, "strips.tif"), *out = tu_path(dir, "o.tif");
    tes_tile src;
    ck_assert_int_eq(tes_tile_alloc(&src, TES_U16, 70, 53, 2), 0);
    tu_fill_smooth(&src, 21);
    ck_assert_int_eq(tu_write_libtiff(in, &src, false, 0, 7, true,
                                      COMPRESSION_LZW, 2), 0);
    tes_raster *r;
    tes_raster_error err;
    ck_assert_int_eq(tes_raster_open(&r, in, &err), 0);
    tes_kernel k = focal_kernel();
    tes_pool *pool = tu_pool(3);
    tes_raster_create_options o = TES_RASTER_CREATE_OPTIONS_INIT;
    o.tile_width = o.tile_height = 32;
    tes_pipeline_options po = TES_PIPELINE_OPTIONS_INIT;
    po.cache_bytes = 4096; /* fewer bytes than one row of tiles needs */
    ck_assert_int_eq(tes_raster_run(pool, &k, &r, 1, out, &o, NULL, &po, &err), 0);
    tes_tile ref, got;
    focal_reference(&src, &ref, false, 0);
    read_all(out, &got, TES_F32, 2);
    ck_assert(tu_tiles_equal(&got, &ref));
    tes_tile_free(&got);
    tes_tile_free(&ref);
    tes_tile_free(&src);
    tes_pool_destroy(pool);
    tes_raster_close(r);
    free(in);
    free(out);
    tu_rmdir(dir);
}
END_TEST

START_TEST(pipeline_same_bytes_at_any_thread_count)
{
    fixture f;
    fixture_open(&f, 150, 90, 1, 64);
    tes_kernel k = focal_kernel();
    char *first = NULL;
    for (size_t i = 0; i < 3; i++) {
        tes_pool *pool = tu_pool(thread_counts[i]);
        char name[32];
        snprintf(name, sizeof name, "t%d.tif", thread_counts[i]);
        char *out = tu_path(f.dir, name);
        tes_raster_create_options o = TES_RASTER_CREATE_OPTIONS_INIT;
        o.tile_width = o.tile_height = 32;
        o.compress = TES_COMPRESS_ZSTD;
        tes_pipeline_options po = TES_PIPELINE_OPTIONS_INIT;
        po.max_in_flight = (int)i + 1;
        tes_raster_error err;
        ck_assert_int_eq(tes_raster_run(pool, &k, &f.r, 1, out, &o, NULL, &po,
                                        &err), 0);
        tes_pool_destroy(pool);
        if (!first)
            first = out;
        else {
            ck_assert_msg(tu_files_equal(first, out), "%s differs", name);
            free(out);
        }
    }
    free(first);
    fixture_close(&f);
}
END_TEST

typedef struct order_acc {
    int64_t next;     /* the tile the next combine must bring */
    double sum;
    bool in_order;
} order_acc;

static void order_init(void *p, void *arg)
{
    (void)arg;
    order_acc *a = p;
    a->next = -1; /* partials: tile index set by the kernel */
    a->sum = 0;
    a->in_order = true;
}

static int order_partial(tes_tile_job *job)
{
    order_acc *a = job->partial;
    a->next = job->tile_index;
    const tes_tile *in = &job->in[0];
    for (int y = 0; y < in->height; y++)
        for (int x = 0; x < in->width; x++)
            a->sum += tes_tile_get(in, 0, x, y) * 1e-3;
    return 0;
}

static void order_combine(void *acc, const void *part, void *arg)
{
    int64_t *count = arg;
    order_acc *a = acc;
    const order_acc *p = part;
    if (p->next != *count)
        a->in_order = false;
    (*count)++;
    a->sum += p->sum;
}

START_TEST(pipeline_reduction_combines_in_tile_order)
{
    fixture f;
    fixture_open(&f, 130, 70, 1, 16);
    double first = 0;
    for (size_t i = 0; i < 3; i++) {
        int64_t count = 0;
        tes_kernel k = TES_KERNEL_INIT;
        k.partial_size = sizeof(order_acc);
        k.partial_init = order_init;
        k.partial = order_partial;
        k.combine = order_combine;
        k.arg = &count;
        tes_pool *pool = tu_pool(thread_counts[i]);
        tes_raster_create_options o = TES_RASTER_CREATE_OPTIONS_INIT;
        o.tile_width = o.tile_height = 16;
        order_acc res;
        tes_raster_error err;
        ck_assert_int_eq(tes_raster_run(pool, &k, &f.r, 1, NULL, &o, &res,
                                        NULL, &err), 0);
        tes_pool_destroy(pool);
        ck_assert(res.in_order);
        ck_assert_int_eq(count, 9 * 5);
        if (i == 0)
            first = res.sum;
        else
            ck_assert(res.sum == first); /* bitwise: same order */
    }
    fixture_close(&f);
}
END_TEST

typedef struct fail_arg {
    int64_t fail_at;
    atomic_int ran;
    atomic_int active, max_active;
} fail_arg;

static int failing_tile(tes_tile_job *job)
{
    fail_arg *a = job->arg;
    /* relaxed: test counters, read after the run has joined every task */
    int now = atomic_fetch_add_explicit(&a->active, 1, memory_order_relaxed) + 1;
    int m = atomic_load_explicit(&a->max_active, memory_order_relaxed);
    while (now > m && !atomic_compare_exchange_weak_explicit(
                          &a->max_active, &m, now, memory_order_relaxed,
                          memory_order_relaxed))
        ;
    atomic_fetch_add_explicit(&a->ran, 1, memory_order_relaxed);
    int rc = 0;
    if (job->tile_index == a->fail_at)
        rc = tes_tile_fail(job, -EDOM, "boom at %lld",
                           (long long)job->tile_index);
    else
        focal_tile(job);
    atomic_fetch_sub_explicit(&a->active, 1, memory_order_relaxed);
    return rc;
}

START_TEST(pipeline_first_error_stops_and_leaves_nothing)
{
    fixture f;
    fixture_open(&f, 256, 256, 1, 64);
    for (size_t i = 0; i < 3; i++) {
        fail_arg a = { .fail_at = 5 };
        tes_kernel k = TES_KERNEL_INIT;
        k.name = "failing";
        k.halo = 1;
        k.tile = failing_tile;
        k.arg = &a;
        tes_pool *pool = tu_pool(thread_counts[i]);
        char *out = tu_path(f.dir, "fail.tif");
        tes_raster_create_options o = TES_RASTER_CREATE_OPTIONS_INIT;
        o.tile_width = o.tile_height = 16; /* 256 tiles */
        tes_pipeline_options po = TES_PIPELINE_OPTIONS_INIT;
        po.max_in_flight = 4;
        tes_raster_error err;
        int rc = tes_raster_run(pool, &k, &f.r, 1, out, &o, NULL, &po, &err);
        tes_pool_destroy(pool);
        ck_assert_int_eq(rc, -EDOM);
        ck_assert_int_eq(err.code, -EDOM);
        ck_assert_msg(strstr(err.message, "tile 5: failing: boom at 5") &&
                          strstr(err.message, "fail.tif"),
                      "message: %s", err.message);
        ck_assert(!tu_exists(out));
        ck_assert_int_eq(tu_count_files(f.dir), 1); /* only the input */
        ck_assert_int_le(atomic_load(&a.ran), 5 + 1 + 4);
        ck_assert_int_le(atomic_load(&a.max_active), 4);
        free(out);
    }
    fixture_close(&f);
}
END_TEST

typedef struct prog {
    uint64_t calls, last, total, cancel_at;
} prog;

static int on_progress(uint64_t done, uint64_t total, void *ctx)
{
    prog *p = ctx;
    ck_assert_uint_eq(done, p->last + 1);
    p->last = done;
    p->total = total;
    p->calls++;
    return p->cancel_at && done == p->cancel_at;
}

START_TEST(pipeline_progress_counts_and_cancels)
{
    fixture f;
    fixture_open(&f, 100, 50, 1, 32);
    tes_kernel k = TES_KERNEL_INIT;
    k.halo = 1;
    k.tile = focal_tile;
    k.in_type = TES_F64;
    tes_pool *pool = tu_pool(2);
    char *out = tu_path(f.dir, "p.tif");
    tes_raster_create_options o = TES_RASTER_CREATE_OPTIONS_INIT;
    o.tile_width = o.tile_height = 16;
    prog p = { 0 };
    tes_pipeline_options po = TES_PIPELINE_OPTIONS_INIT;
    po.progress = on_progress;
    po.progress_ctx = &p;
    tes_raster_error err;
    ck_assert_int_eq(tes_raster_run(pool, &k, &f.r, 1, out, &o, NULL, &po,
                                    &err), 0);
    ck_assert_uint_eq(p.calls, 7 * 4);
    ck_assert_uint_eq(p.total, 7 * 4);
    ck_assert(tu_exists(out));
    unlink(out);
    memset(&p, 0, sizeof p);
    p.cancel_at = 3;
    ck_assert_int_eq(tes_raster_run(pool, &k, &f.r, 1, out, &o, NULL, &po,
                                    &err), -ECANCELED);
    ck_assert_uint_eq(p.calls, 3);
    ck_assert(!tu_exists(out));
    ck_assert_int_eq(tu_count_files(f.dir), 1);
    tes_pool_destroy(pool);
    free(out);
    fixture_close(&f);
}
END_TEST

START_TEST(pipeline_tiny_cache_gives_same_output)
{
    fixture f;
    fixture_open(&f, 120, 100, 1, 16);
    tes_kernel k = focal_kernel();
    tes_pool *pool = tu_pool(3);
    char *a = tu_path(f.dir, "a.tif"), *b = tu_path(f.dir, "b.tif");
    tes_raster_create_options o = TES_RASTER_CREATE_OPTIONS_INIT;
    o.tile_width = o.tile_height = 48;
    tes_pipeline_options po = TES_PIPELINE_OPTIONS_INIT;
    tes_raster_error err;
    ck_assert_int_eq(tes_raster_run(pool, &k, &f.r, 1, a, &o, NULL, &po, &err), 0);
    po.cache_bytes = 1;
    ck_assert_int_eq(tes_raster_run(pool, &k, &f.r, 1, b, &o, NULL, &po, &err), 0);
    ck_assert(tu_files_equal(a, b));
    tes_pool_destroy(pool);
    free(a);
    free(b);
    fixture_close(&f);
}
END_TEST

/* A raster too wide for its rows of blocks to stay cached is walked in
 * column bands: the same bytes as row by row, each input block decoded
 * about once (not once per row of tiles that reads it); the tiles
 * computed ahead of their turn are spilled and read back, or written at
 * their place at once when the output is uncompressed (_i = 1: one band,
 * aligned tiles; 2: two bands, planar, unaligned). */
START_TEST(pipeline_column_bands_same_bytes)
{
    fixture f;
    fixture_open(&f, 1200, 100, _i == 2 ? 2 : 1, 16);
    tes_kernel k = focal_kernel();
    char *a = tu_path(f.dir, "a.tif"), *b = tu_path(f.dir, "b.tif");
    tes_raster_create_options o = TES_RASTER_CREATE_OPTIONS_INIT;
    o.tile_width = o.tile_height = _i == 1 ? 32 : 16;
    o.compress = _i ? TES_COMPRESS_NONE : TES_COMPRESS_DEFLATE;
    o.planar = _i == 2;
    o.overwrite = true;
    tes_run_stats st;
    tes_pipeline_options po = TES_PIPELINE_OPTIONS_INIT;
    po.stats = &st;
    tes_raster_error err;
    const uint64_t blocks = 75 * 7;
    for (size_t t = 0; t < 2; t++) {
        tes_pool *pool = tu_pool(thread_counts[t]);
        po.cache_bytes = 0; /* 64 MiB: row by row */
        ck_assert_int_eq(tes_raster_run(pool, &k, &f.r, 1, a, &o, NULL, &po,
                                        &err), 0);
        ck_assert_uint_eq(st.blocks_decoded, blocks);
        ck_assert_uint_eq(st.spill_written, 0);
        ck_assert_uint_eq(st.tiles, _i == 1 ? 38 * 4 : blocks);
        /* a few rows of blocks: bands of a few tiles */
        po.cache_bytes = (_i == 2 ? 32 : 16) << 10;
        int rc = tes_raster_run(pool, &k, &f.r, 1, b, &o, NULL, &po, &err);
        ck_assert_msg(rc == 0, "%s", err.message);
        ck_assert(tu_files_equal(a, b));
        ck_assert_msg(st.blocks_decoded <= blocks * 3 / 2, "%llu decoded",
                      (unsigned long long)st.blocks_decoded);
        if (_i)
            ck_assert_uint_eq(st.spill_written, 0);
        else
            ck_assert_uint_gt(st.spill_written, 0);
        ck_assert_uint_eq(st.spill_read, st.spill_written);
        tes_pool_destroy(pool);
    }
    free(a);
    free(b);
    fixture_close(&f);
}
END_TEST

START_TEST(pipeline_refuses_input_as_output)
{
    fixture f;
    fixture_open(&f, 40, 40, 1, 16);
    size_t n0 = 0;
    uint8_t *before = tu_slurp(f.in_path, &n0);
    tes_kernel k = TES_KERNEL_INIT;
    k.tile = focal_tile;
    k.halo = 1;
    tes_pool *pool = tu_pool(2);
    tes_raster_create_options o = TES_RASTER_CREATE_OPTIONS_INIT;
    o.overwrite = true;
    tes_raster_error err;
    ck_assert_int_eq(tes_raster_run(pool, &k, &f.r, 1, f.in_path, &o, NULL,
                                    NULL, &err), -EINVAL);
    ck_assert(strstr(err.message, "same file as input 1"));
    /* Without --overwrite an existing output is refused. */
    char *other = tu_path(f.dir, "other.tif");
    FILE *fp = fopen(other, "w");
    fputs("keep", fp);
    fclose(fp);
    o.overwrite = false;
    ck_assert_int_eq(tes_raster_run(pool, &k, &f.r, 1, other, &o, NULL, NULL,
                                    &err), -EEXIST);
    size_t n1 = 0;
    uint8_t *after = tu_slurp(f.in_path, &n1);
    ck_assert(n0 == n1 && memcmp(before, after, n0) == 0);
    ck_assert_int_eq(tu_count_files(f.dir), 2);
    free(before);
    free(after);
    free(other);
    tes_pool_destroy(pool);
    fixture_close(&f);
}
END_TEST

static int add_tile(tes_tile_job *job)
{
    tes_tile *out = job->out;
    for (int y = 0; y < out->height; y++)
        for (int x = 0; x < out->width; x++)
            tes_tile_set(out, 0, x, y,
                         tes_tile_get(&job->in[0], 0, x, y) +
                             tes_tile_get(&job->in[1], 0, x, y));
    return 0;
}

START_TEST(pipeline_two_inputs_and_size_mismatch)
{
    fixture f, g, h;
    fixture_open(&f, 50, 30, 1, 16);
    fixture_open(&g, 50, 30, 1, 32);
    fixture_open(&h, 51, 30, 1, 16);
    tes_kernel k = TES_KERNEL_INIT;
    k.tile = add_tile;
    k.out_type = TES_I32;
    tes_pool *pool = tu_pool(2);
    char *out = tu_path(f.dir, "sum.tif");
    tes_raster *in[2] = { f.r, g.r };
    tes_raster_error err;
    ck_assert_int_eq(tes_raster_run(pool, &k, in, 2, out, NULL, NULL, NULL,
                                    &err), 0);
    tes_tile got;
    read_all(out, &got, TES_I32, 1);
    for (int y = 0; y < 30; y++)
        for (int x = 0; x < 50; x++)
            ck_assert(tes_tile_get(&got, 0, x, y) ==
                      2 * tes_tile_get(&f.src, 0, x, y));
    tes_tile_free(&got);
    in[1] = h.r;
    unlink(out);
    ck_assert_int_eq(tes_raster_run(pool, &k, in, 2, out, NULL, NULL, NULL,
                                    &err), -EINVAL);
    ck_assert(strstr(err.message, "size 51x30 differs"));
    ck_assert(!tu_exists(out));
    tes_pool_destroy(pool);
    free(out);
    fixture_close(&f);
    fixture_close(&g);
    fixture_close(&h);
}
END_TEST

START_TEST(pipeline_synth_same_data_any_tiling_and_threads)
{
    char *dir = tu_tmpdir();
    tes_synth_options so = TES_SYNTH_OPTIONS_INIT;
    so.seed = 42;
    so.holes = 0.1;
    so.feature_px = 64;
    tes_synth_state st;
    tes_kernel k;
    ck_assert_int_eq(tes_kernel_synth(&k, &st, &so), 0);
    tes_tile first;
    memset(&first, 0, sizeof first);
    char *ref = NULL;
    for (size_t i = 0; i < 3; i++) {
        tes_pool *pool = tu_pool(thread_counts[i]);
        for (int tile = 32; tile <= 48; tile += 16) {
            char name[32];
            snprintf(name, sizeof name, "s%d-%zu.tif", tile, i);
            char *out = tu_path(dir, name);
            tes_raster_create_options o = TES_RASTER_CREATE_OPTIONS_INIT;
            o.tile_width = o.tile_height = tile;
            o.nodata_mode = TES_NODATA_SET;
            o.nodata = so.nodata;
            tes_pipeline_options po = TES_PIPELINE_OPTIONS_INIT;
            po.width = 150;
            po.height = 100;
            tes_raster_error err;
            ck_assert_int_eq(tes_raster_run(pool, &k, NULL, 0, out, &o, NULL,
                                            &po, &err), 0);
            tes_tile t;
            read_all(out, &t, TES_F32, 1);
            if (!first.data) {
                first = t;
                ref = out;
                continue;
            }
            ck_assert(tu_tiles_equal(&first, &t));
            if (tile == 32)
                ck_assert(tu_files_equal(ref, out));
            tes_tile_free(&t);
            free(out);
        }
        tes_pool_destroy(pool);
    }
    /* Realistic: varied, with holes, no NaN. */
    int holes = 0;
    double lo = 1e9, hi = -1e9;
    for (int y = 0; y < 100; y++)
        for (int x = 0; x < 150; x++) {
            double v = tes_tile_get(&first, 0, x, y);
            ck_assert(!isnan(v));
            if (v == -9999) {
                holes++;
                continue;
            }
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
    ck_assert_int_gt(holes, 0);
    ck_assert_int_lt(holes, 150 * 100 / 2);
    ck_assert(hi - lo > 100);
    tes_tile_free(&first);
    free(ref);
    tu_rmdir(dir);
}
END_TEST

static int positive_tile(tes_tile_job *job)
{
    (void)job;
    return 1; /* not an errno: becomes TES_EKERNEL */
}

static void dbl_init(void *p, void *arg)
{
    (void)arg;
    *(double *)p = 0;
}

static int failing_partial(tes_tile_job *job)
{
    if (job->tile_index == 2)
        return tes_tile_fail(job, -ERANGE, "overflow in tile %lld",
                             (long long)job->tile_index);
    *(double *)job->partial = 1;
    return 0;
}

static void dbl_combine(void *acc, const void *p, void *arg)
{
    (void)arg;
    *(double *)acc += *(const double *)p;
}

START_TEST(pipeline_kernel_codes_reach_the_caller)
{
    fixture f;
    fixture_open(&f, 64, 64, 1, 16);
    tes_pool *pool = tu_pool(2);
    tes_kernel k = TES_KERNEL_INIT;
    k.name = "positive";
    k.tile = positive_tile;
    char *out = tu_path(f.dir, "o.tif");
    tes_raster_error err;
    ck_assert_int_eq(tes_raster_run(pool, &k, &f.r, 1, out, NULL, NULL, NULL,
                                    &err), TES_EKERNEL);
    ck_assert_msg(strstr(err.message, "positive: kernel failed"), "%s",
                  err.message);
    ck_assert(!tu_exists(out));
    tes_kernel red = TES_KERNEL_INIT;
    red.name = "sum";
    red.partial_size = sizeof(double);
    red.partial_init = dbl_init;
    red.partial = failing_partial;
    red.combine = dbl_combine;
    tes_raster_create_options o = TES_RASTER_CREATE_OPTIONS_INIT;
    o.tile_width = o.tile_height = 16;
    double sum = -1;
    ck_assert_int_eq(tes_raster_run(pool, &red, &f.r, 1, NULL, &o, &sum, NULL,
                                    &err), -ERANGE);
    ck_assert_msg(strstr(err.message, "tile 2: sum: overflow in tile 2"), "%s",
                  err.message);
    /* Invalid descriptors are refused before any work. */
    red.combine = NULL;
    ck_assert_int_eq(tes_raster_run(pool, &red, &f.r, 1, NULL, &o, &sum, NULL,
                                    &err), -EINVAL);
    ck_assert_int_eq(tes_raster_run(pool, &k, &f.r, 1, out, NULL, NULL, NULL,
                                    NULL), TES_EKERNEL); /* err may be NULL */
    tes_pool_destroy(pool);
    free(out);
    fixture_close(&f);
}
END_TEST

/* ---- a run shared by several "processes" (threads here) -------------- */

/* The transport between the shares of a distributed run: every tile's
 * bytes and partial, kept whole (a test need not bound them), and the
 * writer's verdict. */
typedef struct wire {
    pthread_mutex_t mu; /* protects everything below */
    pthread_cond_t cv;
    int n;              /* shares */
    int64_t run;        /* tiles per run, dealt to the shares in turn */
    int64_t tiles;
    size_t psize;
    struct wtile {
        bool ready;
        int n;
        uint8_t *data[2];
        size_t size[2];
        void *partial;
    } *t;
    int failed;         /* a share's failure code, 0 when none */
    char why[512];
    bool done;          /* the writer ended, with verdict */
    int verdict;
    order_acc result;
} wire;

typedef struct share {
    wire *w;
    int id;             /* 0 writes */
    tes_raster *r;
    tes_kernel k;
    int64_t count;      /* combine calls (the writer's) */
    const char *out;
    order_acc res;
    int rc;
    tes_raster_error err;
} share;

static int w_begin(void *ctx, const tes_dist_layout *l, int *lookahead,
                   tes_raster_error *err)
{
    (void)err;
    share *s = ctx;
    wire *w = s->w;
    pthread_mutex_lock(&w->mu);
    if (!w->t) {
        w->tiles = l->tiles;
        w->psize = l->partial_size;
        w->t = calloc((size_t)l->tiles, sizeof *w->t);
    }
    pthread_mutex_unlock(&w->mu);
    ck_assert_int_le(l->chunks, 2);
    *lookahead = (int)w->run;
    return 0;
}

static bool w_owns(void *ctx, int64_t t)
{
    const share *s = ctx;
    return t / s->w->run % s->w->n == s->id;
}

static int w_put(void *ctx, int64_t t, const tes_tile_bytes *b,
                 const void *partial, tes_raster_error *err)
{
    (void)err;
    share *s = ctx;
    wire *w = s->w;
    ck_assert(w_owns(ctx, t));
    pthread_mutex_lock(&w->mu);
    struct wtile *x = &w->t[t];
    x->n = b ? b->n : 0;
    for (int i = 0; i < x->n; i++) {
        x->data[i] = malloc(b->size[i]);
        memcpy(x->data[i], b->data[i], b->size[i]);
        x->size[i] = b->size[i];
    }
    if (partial) {
        x->partial = malloc(w->psize);
        memcpy(x->partial, partial, w->psize);
    }
    x->ready = true;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return 0;
}

static int w_get(void *ctx, int64_t t, tes_tile_bytes *b, void *partial,
                 tes_raster_error *err)
{
    share *s = ctx;
    wire *w = s->w;
    ck_assert(!w_owns(ctx, t));
    pthread_mutex_lock(&w->mu);
    while (!w->t[t].ready && !w->failed)
        pthread_cond_wait(&w->cv, &w->mu);
    int rc = w->failed;
    if (rc) {
        err->code = rc;
        snprintf(err->message, sizeof err->message, "share: %.400s", w->why);
    } else {
        struct wtile *x = &w->t[t];
        b->n = x->n;
        b->data = (const uint8_t *const *)x->data;
        b->size = x->size;
        if (partial)
            memcpy(partial, x->partial, w->psize);
    }
    pthread_mutex_unlock(&w->mu);
    return rc;
}

static int w_end(void *ctx, int rc, void *result, tes_raster_error *err)
{
    share *s = ctx;
    wire *w = s->w;
    pthread_mutex_lock(&w->mu);
    if (s->id == 0) {
        w->done = true;
        w->verdict = rc;
        if (!rc)
            memcpy(&w->result, result, sizeof w->result);
    } else if (rc) {
        w->failed = rc;
        snprintf(w->why, sizeof w->why, "%s", err->message);
    } else {
        while (!w->done)
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->verdict)
            rc = -ECANCELED;
        else
            memcpy(result, &w->result, sizeof w->result);
    }
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return rc;
}

static void *share_main(void *arg)
{
    share *s = arg;
    tes_pool *pool = tu_pool(s->id + 1);
    tes_pipeline_dist d = { s->id == 0, w_begin, w_owns, w_put, w_get,
                            w_end, s };
    tes_pipeline_options po = TES_PIPELINE_OPTIONS_INIT;
    po.dist = &d;
    tes_raster_create_options o = TES_RASTER_CREATE_OPTIONS_INIT;
    o.tile_width = o.tile_height = 16;
    o.planar = true; /* two chunks per tile */
    s->rc = tes_raster_run(pool, &s->k, &s->r, 1, s->out, &o, &s->res, &po,
                           &s->err);
    tes_pool_destroy(pool);
    return NULL;
}

/* A focal map and an order-checking reduction in one kernel. */
static tes_kernel map_reduce_kernel(int64_t *count)
{
    tes_kernel k = focal_kernel();
    k.name = "failing";
    k.partial_size = sizeof(order_acc);
    k.partial_init = order_init;
    k.partial = order_partial;
    k.combine = order_combine;
    k.arg = count;
    return k;
}

/* Runs n shares with runs of `run` tiles into dir/out.tif. */
static void run_shares(fixture *f, share *sh, int n, int64_t run,
                       int (*tile)(tes_tile_job *))
{
    wire w = { .n = n, .run = run };
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    char *out = tu_path(f->dir, "out.tif");
    pthread_t th[4];
    for (int i = 0; i < n; i++) {
        memset(&sh[i], 0, sizeof sh[i]);
        sh[i].w = &w;
        sh[i].id = i;
        sh[i].out = out;
        tes_raster_error err;
        ck_assert_int_eq(tes_raster_open(&sh[i].r, f->in_path, &err), 0);
        sh[i].k = map_reduce_kernel(&sh[i].count);
        if (tile)
            sh[i].k.tile = tile;
        ck_assert_int_eq(pthread_create(&th[i], NULL, share_main, &sh[i]), 0);
    }
    for (int i = 0; i < n; i++) {
        pthread_join(th[i], NULL);
        tes_raster_close(sh[i].r);
    }
    for (int64_t t = 0; t < w.tiles; t++) {
        for (int i = 0; i < w.t[t].n; i++)
            free(w.t[t].data[i]);
        free(w.t[t].partial);
    }
    free(w.t);
    free(out);
    pthread_cond_destroy(&w.cv);
    pthread_mutex_destroy(&w.mu);
}

START_TEST(pipeline_dist_shares_give_the_one_run_bytes_and_result)
{
    fixture f;
    fixture_open(&f, 130, 70, 2, 32); /* 9 x 5 tiles of 16 */
    /* The reference: one run on one "machine". */
    int64_t count = 0;
    tes_kernel k = map_reduce_kernel(&count);
    tes_pool *pool = tu_pool(2);
    char *ref = tu_path(f.dir, "ref.tif");
    tes_raster_create_options o = TES_RASTER_CREATE_OPTIONS_INIT;
    o.tile_width = o.tile_height = 16;
    o.planar = true;
    order_acc want;
    tes_raster_error err;
    ck_assert_int_eq(tes_raster_run(pool, &k, &f.r, 1, ref, &o, &want, NULL,
                                    &err), 0);
    tes_pool_destroy(pool);
    ck_assert(want.in_order);
    static const struct { int n; int64_t run; } cases[] = {
        { 1, 45 }, { 2, 9 }, { 3, 2 }, { 4, 1 }, { 3, 7 },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        share sh[4];
        run_shares(&f, sh, cases[c].n, cases[c].run, NULL);
        for (int i = 0; i < cases[c].n; i++) {
            ck_assert_msg(sh[i].rc == 0, "share %d: %s", i, sh[i].err.message);
            ck_assert(sh[i].res.in_order);
            ck_assert(sh[i].res.sum == want.sum); /* bitwise: same order */
        }
        ck_assert_int_eq(sh[0].count, 45); /* the writer folds every tile */
        char *out = tu_path(f.dir, "out.tif");
        ck_assert_msg(tu_files_equal(ref, out), "%d shares: bytes differ",
                      cases[c].n);
        unlink(out);
        free(out);
        ck_assert_int_eq(tu_count_files(f.dir), 2); /* nothing else made */
    }
    free(ref);
    fixture_close(&f);
}
END_TEST

static int fail_at_30(tes_tile_job *job)
{
    if (job->tile_index == 30)
        return tes_tile_fail(job, -EDOM, "boom");
    return focal_tile(job);
}

START_TEST(pipeline_dist_failing_share_fails_the_writer)
{
    fixture f;
    fixture_open(&f, 130, 70, 1, 32);
    share sh[3];
    run_shares(&f, sh, 3, 4, fail_at_30); /* tile 30: run 7, share 1 */
    ck_assert_int_eq(sh[1].rc, -EDOM);
    ck_assert_msg(strstr(sh[0].err.message, "tile 30: failing: boom"), "%s",
                  sh[0].err.message);
    ck_assert_int_eq(sh[0].rc, -EDOM);
    ck_assert_int_ne(sh[2].rc, 0);
    ck_assert_int_eq(tu_count_files(f.dir), 1); /* only the input */
    /* A dist without its callbacks is refused before anything starts. */
    tes_pipeline_dist d = { true, w_begin, w_owns, w_put, NULL, w_end, NULL };
    tes_pipeline_options po = TES_PIPELINE_OPTIONS_INIT;
    po.dist = &d;
    tes_kernel k = focal_kernel();
    tes_pool *pool = tu_pool(1);
    char *out = tu_path(f.dir, "out.tif");
    tes_raster_error err;
    ck_assert_int_eq(tes_raster_run(pool, &k, &f.r, 1, out, NULL, NULL, &po,
                                    &err), -EINVAL);
    ck_assert(strstr(err.message, "incomplete distributed run callbacks"));
    ck_assert_int_eq(tu_count_files(f.dir), 1);
    tes_pool_destroy(pool);
    free(out);
    fixture_close(&f);
}
END_TEST

static Suite *suite(void)
{
    tu_quiet_libtiff();
    Suite *s = suite_create("raster_pipeline");
    TCase *tc = tcase_create("pipeline");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, pipeline_focal_equals_whole_image);
    tcase_add_test(tc, pipeline_uncompressed_one_band_output_equals_whole_image);
    tcase_add_test(tc, pipeline_focal_over_striped_planar_input);
    tcase_add_test(tc, pipeline_same_bytes_at_any_thread_count);
    tcase_add_test(tc, pipeline_reduction_combines_in_tile_order);
    tcase_add_test(tc, pipeline_first_error_stops_and_leaves_nothing);
    tcase_add_test(tc, pipeline_kernel_codes_reach_the_caller);
    tcase_add_test(tc, pipeline_progress_counts_and_cancels);
    tcase_add_test(tc, pipeline_tiny_cache_gives_same_output);
    tcase_add_loop_test(tc, pipeline_column_bands_same_bytes, 0, 3);
    tcase_add_test(tc, pipeline_refuses_input_as_output);
    tcase_add_test(tc, pipeline_two_inputs_and_size_mismatch);
    tcase_add_test(tc, pipeline_synth_same_data_any_tiling_and_threads);
    tcase_add_test(tc, pipeline_dist_shares_give_the_one_run_bytes_and_result);
    tcase_add_test(tc, pipeline_dist_failing_share_fails_the_writer);
    suite_add_tcase(s, tc);
    return s;
}

TES_CHECK_MAIN(suite)
