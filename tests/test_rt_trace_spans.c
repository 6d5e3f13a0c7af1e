/*
 * test_rt_trace_spans.c — the span API of tessera.h: tasks naming their
 * spans, spans of a task's own nested in it (renamed at their end), a
 * track opened for a thread outside the pool, counters, and metadata
 * numbers, all read back from the JSON file; and with tracing off every
 * call is a no-op on a NULL track.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "suite_main.h"
#include "tessera.h"
#include "trace_test_util.h"

static char path[64];

static void *job(void *arg)
{
    int i = (int)(intptr_t)arg;
    tes_trace_name_task("job %d", i);
    tes_trace_track *me = tes_trace_self();
    ck_assert_ptr_nonnull(me);
    tes_trace_begin(me, "stage a of %d", i);
    tes_trace_begin(me, "inner");
    tes_trace_end(me);
    tes_trace_end_as(me, "stage a of %d (%s)", i, i % 2 ? "odd" : "even");
    tes_trace_begin(me, "stage b");
    tes_trace_end(me);
    tes_trace_add(tes_current_pool(), "jobs", 1);
    return NULL;
}

/* Checks B/E nesting on every track and returns the number of B events
 * named name (a prefix when it ends with '*'). */
static int check_nesting(const jv *evs, const char *name)
{
    enum { TRACKS = 64, DEPTH = 64 };
    const char *stack[TRACKS][DEPTH];
    int depth[TRACKS] = { 0 }, found = 0;
    size_t plen = strlen(name);
    bool prefix = plen && name[plen - 1] == '*';
    for (size_t k = 0; k < evs->n; k++) {
        const jv *e = &evs->items[k];
        const char *ph = jv_str(e, "ph");
        int tid = (int)jv_num(e, "tid", -1);
        ck_assert(tid >= 0 && tid < TRACKS);
        if (!strcmp(ph, "B")) {
            ck_assert_int_lt(depth[tid], DEPTH);
            const char *n = jv_str(e, "name");
            stack[tid][depth[tid]++] = n;
            found += prefix ? !strncmp(n, name, plen - 1) : !strcmp(n, name);
        } else if (!strcmp(ph, "E")) {
            ck_assert_msg(depth[tid] > 0, "E without B on track %d", tid);
            const char *b = stack[tid][--depth[tid]];
            ck_assert_str_eq(jv_str(e, "name"), b);
        }
    }
    for (int t = 0; t < TRACKS; t++)
        ck_assert_msg(depth[t] == 0, "track %d left open", t);
    return found;
}

START_TEST(trace_spans_tasks_tracks_counters_metadata)
{
    snprintf(path, sizeof path, "/tmp/tes-spans-%d.json", (int)getpid());
    tes_pool_options o = TES_POOL_OPTIONS_INIT;
    o.threads = 2;
    o.trace_path = path;
    tes_pool *p;
    ck_assert_int_eq(tes_pool_create(&p, &o), 0);
    ck_assert_ptr_null(tes_trace_self()); /* not a worker */
    tes_trace_track *drv = tes_trace_track_open(p, "driver");
    ck_assert_ptr_nonnull(drv);
    tes_trace_counter(drv, "in flight", 0);
    tes_future *f[20];
    for (int i = 0; i < 20; i++) {
        tes_trace_begin(drv, "spawn %d", i);
        ck_assert_int_eq(tes_spawn(&f[i], p, job, (void *)(intptr_t)i), 0);
        tes_trace_end(drv);
        tes_trace_counter(drv, "in flight", i + 1);
    }
    for (int i = 0; i < 20; i++) {
        tes_trace_begin(drv, "wait");
        tes_await(f[i], NULL);
        tes_trace_end_as(drv, "waited for job %d", i);
        tes_future_release(f[i]);
    }
    char longname[200];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    tes_trace_begin(drv, "%s", longname);
    tes_trace_end(drv);
    tes_trace_add(p, "bytes", 1.5);
    tes_trace_add(p, "bytes", 2.25);
    tes_pool_destroy(p);

    jv t;
    jv_load(path, &t);
    unlink(path);
    const jv *evs = jv_get(&t, "traceEvents");
    ck_assert(evs && evs->kind == JV_ARR);
    /* the driver's track has its name, after the workers' */
    int drv_tid = -1;
    for (size_t k = 0; k < evs->n; k++) {
        const jv *e = &evs->items[k];
        if (!strcmp(jv_str(e, "name"), "thread_name") &&
            !strcmp(jv_str(jv_get(e, "args"), "name"), "driver"))
            drv_tid = (int)jv_num(e, "tid", -1);
    }
    ck_assert_int_ge(drv_tid, 2);
    ck_assert_int_eq(check_nesting(evs, "job*"), 20);
    for (int i = 0; i < 20; i++) {
        char n[64];
        snprintf(n, sizeof n, "job %d", i);
        ck_assert_int_eq(check_nesting(evs, n), 1);
        snprintf(n, sizeof n, "stage a of %d (%s)", i, i % 2 ? "odd" : "even");
        ck_assert_int_eq(check_nesting(evs, n), 1);
        snprintf(n, sizeof n, "waited for job %d", i);
        ck_assert_int_eq(check_nesting(evs, n), 1);
    }
    ck_assert_int_eq(check_nesting(evs, "stage b"), 20);
    ck_assert_int_eq(check_nesting(evs, "inner"), 20);
    ck_assert_int_eq(check_nesting(evs, "wait"), 0);
    /* a job's stages nest in its own span, on a worker's track */
    int counters = 0, longs = 0;
    for (size_t k = 0; k < evs->n; k++) {
        const jv *e = &evs->items[k];
        const char *name = jv_str(e, "name");
        if (!strncmp(name, "stage", 5))
            ck_assert_int_lt((int)jv_num(e, "tid", -1), 2);
        if (!strcmp(jv_str(e, "ph"), "C")) {
            ck_assert_str_eq(name, "in flight");
            ck_assert_int_eq((int)jv_num(e, "tid", -1), drv_tid);
            ck_assert_double_eq(jv_num(jv_get(e, "args"), "value", -1),
                                counters);
            counters++;
        }
        if (name[0] == 'x') {
            ck_assert_int_eq((int)strlen(name), TES_TRACE_NAME_MAX - 1);
            longs++;
        }
    }
    ck_assert_int_eq(counters, 21);
    ck_assert_int_eq(longs, 2);
    const jv *meta = jv_get(&t, "otherData");
    ck_assert_double_eq(jv_num(meta, "jobs", -1), 20);
    ck_assert_double_eq(jv_num(meta, "bytes", -1), 3.75);
    ck_assert_double_eq(jv_num(meta, "dropped_events", -1), 0);
    jv_free(&t);
}
END_TEST

static void *quiet_job(void *arg)
{
    (void)arg;
    tes_trace_name_task("never %d", 1);
    tes_trace_track *me = tes_trace_self();
    ck_assert_ptr_null(me);
    tes_trace_begin(me, "x");
    tes_trace_end_as(me, "y");
    tes_trace_end(me);
    tes_trace_counter(me, "c", 1);
    return NULL;
}

START_TEST(trace_spans_off_are_no_ops)
{
    unsetenv("TESSERA_TRACE");
    tes_pool *p;
    ck_assert_int_eq(tes_pool_create(&p, NULL), 0);
    ck_assert_ptr_null(tes_trace_track_open(p, "driver"));
    ck_assert_ptr_null(tes_trace_track_open(NULL, "driver"));
    tes_future *f;
    ck_assert_int_eq(tes_spawn(&f, p, quiet_job, NULL), 0);
    ck_assert_int_eq(tes_await(f, NULL), 0);
    tes_future_release(f);
    tes_trace_add(p, "k", 1);
    tes_trace_add(NULL, "k", 1);
    tes_trace_begin(NULL, "x");
    tes_trace_end(NULL);
    tes_trace_name_task("outside a task");
    tes_pool_destroy(p);
}
END_TEST

static Suite *spans_suite(void)
{
    Suite *s = suite_create("trace_spans");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, trace_spans_tasks_tracks_counters_metadata);
    tcase_add_test(tc, trace_spans_off_are_no_ops);
    suite_add_tcase(s, tc);
    return s;
}

TES_CHECK_MAIN(spans_suite)
