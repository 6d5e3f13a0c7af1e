/*
 * test_raster_trace.c — the timeline a traced run writes, read back with a
 * JSON parser: spans well nested on every track; every output tile once,
 * named "tile N (X,Y)", with its decode (hit or miss), kernel and encode
 * spans inside it on a worker's track and its write on the writer's
 * track; the writer's waits and the tiles in flight, never over their
 * bound; the run's counters in the metadata; nothing when not tracing.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raster_test_util.h"
#include "suite_main.h"
#include "trace_test_util.h"

#define W 300
#define H 200
#define TS 64

/* Per tile, what the trace showed. */
typedef struct tile_seen {
    int spans, decode, kernel, encode, write, waits;
    int tid;
} tile_seen;

static void check_trace(const char *path, int64_t tiles, int bound,
                        off_t out_size)
{
    jv t;
    jv_load(path, &t);
    const jv *evs = jv_get(&t, "traceEvents");
    ck_assert(evs && evs->kind == JV_ARR);
    enum { TRACKS = 64, DEPTH = 64 };
    int stack[TRACKS][DEPTH], depth[TRACKS] = { 0 };
    long tile_of_span[TRACKS][DEPTH]; /* the tile a span is inside, or -1 */
    tile_seen *seen = calloc((size_t)tiles, sizeof *seen);
    int writer = -1;
    double max_in_flight = -1, bound_seen = -1;
    for (size_t k = 0; k < evs->n; k++) {
        const jv *e = &evs->items[k];
        const char *ph = jv_str(e, "ph"), *name = jv_str(e, "name");
        int tid = (int)jv_num(e, "tid", -1);
        ck_assert(tid >= 0 && tid < TRACKS);
        if (!strcmp(ph, "M")) {
            if (!strcmp(name, "thread_name") &&
                !strcmp(jv_str(jv_get(e, "args"), "name"), "writer"))
                writer = tid;
            continue;
        }
        if (!strcmp(ph, "C")) {
            double v = jv_num(jv_get(e, "args"), "value", -1);
            if (!strcmp(name, "tiles in flight"))
                max_in_flight = v > max_in_flight ? v : max_in_flight;
            else if (!strcmp(name, "in-flight bound"))
                bound_seen = v;
            continue;
        }
        if (!strcmp(ph, "E")) {
            ck_assert_msg(depth[tid] > 0, "E without B on track %d", tid);
            const jv *b = &evs->items[stack[tid][--depth[tid]]];
            ck_assert_str_eq(jv_str(b, "name"), name);
            continue;
        }
        if (strcmp(ph, "B"))
            continue;
        ck_assert_int_lt(depth[tid], DEPTH);
        long outer = depth[tid] ? tile_of_span[tid][depth[tid] - 1] : -1;
        stack[tid][depth[tid]] = (int)k;
        long n, x, y;
        if (sscanf(name, "tile %ld (%ld,%ld)", &n, &x, &y) == 3) {
            ck_assert(n >= 0 && n < tiles);
            ck_assert_int_eq(x, n % ((W + TS - 1) / TS));
            ck_assert_int_eq(y, n / ((W + TS - 1) / TS));
            ck_assert_msg(outer < 0, "tile %ld inside tile %ld", n, outer);
            seen[n].spans++;
            seen[n].tid = tid;
            outer = n;
        } else if (sscanf(name, "write tile %ld", &n) == 1) {
            ck_assert_int_eq(tid, writer);
            ck_assert(n >= 0 && n < tiles);
            seen[n].write++;
        } else if (sscanf(name, "wait tile %ld", &n) == 1) {
            ck_assert_int_eq(tid, writer);
            ck_assert(n >= 0 && n < tiles);
            seen[n].waits++;
        } else if (outer >= 0) {
            /* a stage, inside its tile's span, on that tile's track */
            ck_assert_int_eq(tid, seen[outer].tid);
            if (!strcmp(name, "decode (hit)") || !strcmp(name, "decode (miss)"))
                seen[outer].decode++;
            else if (!strcmp(name, "kernel focal"))
                seen[outer].kernel++;
            else if (!strcmp(name, "encode"))
                seen[outer].encode++;
            else
                ck_abort_msg("unexpected span %s in tile %ld", name, outer);
        }
        tile_of_span[tid][depth[tid]++] = outer;
    }
    for (int k = 0; k < TRACKS; k++)
        ck_assert_msg(depth[k] == 0, "track %d left open", k);
    ck_assert_int_ge(writer, 0);
    for (int64_t n = 0; n < tiles; n++) {
        tile_seen *s = &seen[n];
        ck_assert_msg(s->spans == 1 && s->decode == 1 && s->kernel == 1 &&
                          s->encode == 1 && s->write == 1 && s->waits == 1,
                      "tile %ld: %d spans, decode %d, kernel %d, encode %d, "
                      "write %d, wait %d", (long)n, s->spans, s->decode,
                      s->kernel, s->encode, s->write, s->waits);
        ck_assert_int_ne(s->tid, writer);
    }
    ck_assert_double_eq(bound_seen, bound);
    ck_assert(max_in_flight >= 1 && max_in_flight <= bound);
    const jv *meta = jv_get(&t, "otherData");
    ck_assert_double_eq(jv_num(meta, "tiles", -1), (double)tiles);
    /* 64-pixel input blocks, each read once or more */
    double blocks = jv_num(meta, "blocks_decoded", -1);
    ck_assert(blocks >= (double)tiles);
    ck_assert(jv_num(meta, "cache_hits", -1) > 0); /* halos share blocks */
    ck_assert(jv_num(meta, "bytes_in", -1) > 0);
    double out = jv_num(meta, "bytes_out", -1);
    ck_assert(out > 0 && out < (double)out_size);
    ck_assert_double_eq(jv_num(meta, "dropped_events", -1), 0);
    jv_free(&t);
    free(seen);
}

static int focal_tile(tes_tile_job *job)
{
    const tes_tile *in = &job->in[0];
    tes_tile *out = job->out;
    for (int y = 0; y < out->height; y++)
        for (int x = 0; x < out->width; x++) {
            double s = 0;
            for (int j = 0; j < 3; j++)
                for (int i = 0; i < 3; i++)
                    s += tes_tile_get(in, 0, x + i, y + j);
            tes_tile_set(out, 0, x, y, s / 9);
        }
    return 0;
}

START_TEST(trace_every_tile_once_with_its_stages)
{
    char *dir = tu_tmpdir();
    char *in = tu_path(dir, "in.tif"), *out = tu_path(dir, "out.tif");
    char *trace = tu_path(dir, "run.json");
    tes_tile t;
    ck_assert_int_eq(tes_tile_alloc(&t, TES_F32, W, H, 1), 0);
    tu_fill_smooth(&t, 3);
    tes_raster_create_options o = TES_RASTER_CREATE_OPTIONS_INIT;
    o.tile_width = o.tile_height = TS;
    ck_assert_int_eq(tes_raster_write_tile(in, &t, &o, NULL), 0);
    tes_tile_free(&t);
    for (int threads = 1; threads <= 3; threads += 2) {
        tes_pool_options po = TES_POOL_OPTIONS_INIT;
        po.threads = threads;
        po.trace_path = trace;
        tes_pool *pool;
        ck_assert_int_eq(tes_pool_create(&pool, &po), 0);
        tes_raster *r;
        ck_assert_int_eq(tes_raster_open(&r, in, NULL), 0);
        tes_kernel k = TES_KERNEL_INIT;
        k.name = "focal";
        k.halo = 1;
        k.tile = focal_tile;
        tes_pipeline_options pp = TES_PIPELINE_OPTIONS_INIT;
        pp.max_in_flight = 3;
        o.overwrite = true;
        tes_raster_error err;
        ck_assert_msg(tes_raster_run(pool, &k, &r, 1, out, &o, NULL, &pp,
                                     &err) == 0, "%s", err.message);
        tes_raster_close(r);
        tes_pool_destroy(pool);
        struct stat st;
        ck_assert_int_eq(stat(out, &st), 0);
        int64_t tiles = (int64_t)((W + TS - 1) / TS) * ((H + TS - 1) / TS);
        check_trace(trace, tiles, 3, st.st_size);
        unlink(trace);
    }
    free(in);
    free(out);
    free(trace);
    tu_rmdir(dir);
}
END_TEST

/* Without a trace path the run writes no trace and names nothing. */
START_TEST(trace_off_writes_nothing)
{
    unsetenv("TESSERA_TRACE");
    char *dir = tu_tmpdir();
    char *out = tu_path(dir, "out.tif");
    tes_pool *pool;
    ck_assert_int_eq(tes_pool_create(&pool, NULL), 0);
    tes_synth_state st;
    tes_kernel k;
    tes_synth_options so = TES_SYNTH_OPTIONS_INIT;
    ck_assert_int_eq(tes_kernel_synth(&k, &st, &so), 0);
    tes_pipeline_options pp = TES_PIPELINE_OPTIONS_INIT;
    pp.width = 100;
    pp.height = 80;
    ck_assert_int_eq(tes_raster_run(pool, &k, NULL, 0, out, NULL, NULL, &pp,
                                    NULL), 0);
    tes_pool_destroy(pool);
    ck_assert_int_eq(tu_count_files(dir), 1);
    free(out);
    tu_rmdir(dir);
}
END_TEST

static Suite *raster_trace_suite(void)
{
    Suite *s = suite_create("raster_trace");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, trace_every_tile_once_with_its_stages);
    tcase_add_test(tc, trace_off_writes_nothing);
    suite_add_tcase(s, tc);
    return s;
}

TES_CHECK_MAIN(raster_trace_suite)
