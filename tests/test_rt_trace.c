/*
 * test_rt_trace.c — tracing: the file written at pool destroy is valid JSON
 * (checked by a strict parser here), has one named track per worker, task
 * spans that nest properly per worker with their names, steal events that
 * match the steal counters, and parks, for spawned and for forked tasks;
 * TESSERA_TRACE turns it on; with no path nothing is written.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "suite_main.h"
#include "tessera.h"

/* ---- a strict JSON parser that collects trace events --------------------- */

struct ev {
    char name[64];
    char ph[4];
    double ts;
    int tid;
    bool has_ts, has_tid;
};

struct jp {
    const char *s;
    size_t i, n;
    struct ev *evs;
    size_t nev, cap;
};

static void ws(struct jp *p)
{
    while (p->i < p->n && strchr(" \t\r\n", p->s[p->i]))
        p->i++;
}

static bool lit(struct jp *p, char c)
{
    ws(p);
    if (p->i < p->n && p->s[p->i] == c) {
        p->i++;
        return true;
    }
    return false;
}

static bool str(struct jp *p, char *out, size_t cap)
{
    if (!lit(p, '"'))
        return false;
    size_t k = 0;
    while (p->i < p->n) {
        unsigned char c = (unsigned char)p->s[p->i++];
        if (c == '"') {
            if (out)
                out[k < cap ? k : cap - 1] = 0;
            return true;
        }
        if (c < 0x20)
            return false;
        if (c == '\\') {
            if (p->i >= p->n)
                return false;
            c = (unsigned char)p->s[p->i++];
            if (c == 'u') {
                for (int d = 0; d < 4; d++)
                    if (p->i >= p->n || !strchr("0123456789abcdefABCDEF", p->s[p->i++]))
                        return false;
                c = '?';
            } else if (!strchr("\"\\/bfnrt", c)) {
                return false;
            }
        }
        if (out && k + 1 < cap)
            out[k++] = (char)c;
    }
    return false;
}

static bool num(struct jp *p, double *out)
{
    ws(p);
    const char *start = p->s + p->i;
    char *end;
    double v = strtod(start, &end);
    if (end == start || !strchr("-0123456789", *start))
        return false;
    p->i += (size_t)(end - start);
    if (out)
        *out = v;
    return true;
}

static bool value(struct jp *p, int depth);

static bool object(struct jp *p, int depth, struct ev *ev)
{
    if (!lit(p, '{'))
        return false;
    if (lit(p, '}'))
        return true;
    do {
        char key[64];
        if (!str(p, key, sizeof key) || !lit(p, ':'))
            return false;
        bool ok;
        if (ev && !strcmp(key, "name"))
            ok = str(p, ev->name, sizeof ev->name);
        else if (ev && !strcmp(key, "ph"))
            ok = str(p, ev->ph, sizeof ev->ph);
        else if (ev && !strcmp(key, "ts"))
            ok = (ev->has_ts = num(p, &ev->ts));
        else if (ev && !strcmp(key, "tid")) {
            double t;
            ok = (ev->has_tid = num(p, &t));
            ev->tid = (int)t;
        } else if (depth == 0 && !strcmp(key, "traceEvents")) {
            if (!lit(p, '['))
                return false;
            if (lit(p, ']'))
                continue;
            do {
                if (p->nev == p->cap) {
                    p->cap = p->cap ? 2 * p->cap : 1024;
                    p->evs = realloc(p->evs, p->cap * sizeof *p->evs);
                }
                struct ev *e = &p->evs[p->nev++];
                memset(e, 0, sizeof *e);
                ws(p);
                if (!object(p, depth + 2, e))
                    return false;
            } while (lit(p, ','));
            ok = lit(p, ']');
        } else
            ok = value(p, depth + 1);
        if (!ok)
            return false;
    } while (lit(p, ','));
    return lit(p, '}');
}

static bool value(struct jp *p, int depth)
{
    ws(p);
    if (p->i >= p->n || depth > 64)
        return false;
    char c = p->s[p->i];
    if (c == '{')
        return object(p, depth, NULL);
    if (c == '[') {
        p->i++;
        if (lit(p, ']'))
            return true;
        do {
            if (!value(p, depth + 1))
                return false;
        } while (lit(p, ','));
        return lit(p, ']');
    }
    if (c == '"')
        return str(p, NULL, 0);
    for (const char *w = "true\0false\0null\0"; *w; w += strlen(w) + 1)
        if (!strncmp(p->s + p->i, w, strlen(w))) {
            p->i += strlen(w);
            return true;
        }
    return num(p, NULL);
}

/* Parses the whole file; fails the test on any syntax error. */
static struct jp parse_file(const char *path)
{
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    static char *buf;
    free(buf);
    buf = NULL;
    size_t len = 0, cap = 0;
    int c;
    while ((c = fgetc(f)) != EOF) {
        if (len + 1 >= cap)
            buf = realloc(buf, cap = cap ? 2 * cap : 1 << 16);
        buf[len++] = (char)c;
    }
    fclose(f);
    struct jp p = {buf, 0, len, NULL, 0, 0};
    ck_assert_msg(object(&p, 0, NULL), "invalid JSON near byte %zu", p.i);
    ws(&p);
    ck_assert_msg(p.i == p.n, "trailing bytes after JSON at %zu", p.i);
    return p;
}

/* ---- the tests ------------------------------------------------------------ */

static void *fib(void *arg)
{
    intptr_t n = (intptr_t)arg;
    if (n < 2)
        return arg;
    tes_future *f;
    ck_assert_int_eq(tes_spawn_named(&f, tes_current_pool(), "fib", fib, (void *)(n - 1)), 0);
    intptr_t b = (intptr_t)fib((void *)(n - 2));
    void *a;
    tes_await(f, &a);
    tes_future_release(f);
    return (void *)((intptr_t)a + b);
}

static char path[64];

static void make_path(void)
{
    snprintf(path, sizeof path, "/tmp/tes-trace-%d.json", (int)getpid());
}

/* Checks a trace of a pool of `threads` workers whose counters were st:
 * valid JSON, a named track per worker, spans that nest per worker and
 * close, one span per task run (named by the task, "fork" for forked
 * ones: nforks of them), one steal event per steal, and parks. */
static void check_trace(int threads, const tes_worker_stats *st, long nforks)
{
    struct jp j = parse_file(path);
    unlink(path);
    int stacks[8][256];
    int depth[8] = {0};
    double last_ts[8];
    bool named[8] = {false};
    long spans = 0, steals = 0, parks = 0, roots = 0, forks = 0;
    for (int t = 0; t < 8; t++)
        last_ts[t] = -1;
    for (size_t k = 0; k < j.nev; k++) {
        struct ev *e = &j.evs[k];
        ck_assert(e->has_tid);
        ck_assert_int_ge(e->tid, 0);
        ck_assert_int_lt(e->tid, 8);
        int t = e->tid;
        if (!strcmp(e->ph, "M")) {
            if (!strcmp(e->name, "thread_name"))
                named[t] = true;
            continue;
        }
        ck_assert_int_lt(t, threads); /* no lend slot was used */
        ck_assert(e->has_ts);
        ck_assert_msg(e->ts >= last_ts[t], "time goes back on worker %d", t);
        last_ts[t] = e->ts;
        if (!strcmp(e->ph, "B")) {
            ck_assert_int_lt(depth[t], 256);
            /* remember the span by its index */
            stacks[t][depth[t]++] = (int)k;
            spans += strcmp(e->name, "park") != 0;
            parks += strcmp(e->name, "park") == 0;
            forks += strcmp(e->name, "fork") == 0;
            roots += strcmp(e->name, "root ?quoted?") == 0 ||
                     strcmp(e->name, "root \"quoted\"") == 0;
        } else if (!strcmp(e->ph, "E")) {
            ck_assert_msg(depth[t] > 0, "E without B on worker %d", t);
            struct ev *b = &j.evs[stacks[t][--depth[t]]];
            ck_assert_str_eq(b->name, e->name);
        } else if (!strcmp(e->ph, "i")) {
            ck_assert_str_eq(e->name, "steal");
            steals++;
        } else {
            ck_abort_msg("unexpected phase %s", e->ph);
        }
    }
    for (int t = 0; t < threads; t++) {
        ck_assert_msg(named[t], "worker %d has no track name", t);
        ck_assert_int_eq(depth[t], 0);
    }
    ck_assert_int_eq(roots, 1);
    ck_assert_int_eq(spans, (long)st->tasks_run);
    ck_assert_int_eq(forks, nforks);
    ck_assert_int_eq(steals, (long)st->steals);
    ck_assert_int_gt(parks, 0);
    free(j.evs);
}

/* Runs fn(18) as the root of a traced pool of 3 workers, then checks the
 * trace. */
static void traced_fib(void *(*fn)(void *), long nforks)
{
    make_path();
    const int threads = 3;
    tes_pool *p;
    tes_pool_options o = TES_POOL_OPTIONS_INIT;
    o.threads = threads;
    o.name = "traced";
    o.trace_path = path;
    ck_assert_int_eq(tes_pool_create(&p, &o), 0);
    ck_assert_str_eq(tes_pool_trace_path(p), path);
    tes_future *f;
    ck_assert_int_eq(tes_spawn_named(&f, p, "root \"quoted\"", fn, (void *)18), 0);
    void *r;
    ck_assert_int_eq(tes_await(f, &r), 0);
    ck_assert_int_eq((intptr_t)r, 2584);
    tes_future_release(f);
    /* idle until a worker has parked: how long that takes depends on the
     * machine (30 ms was not always enough under TSan beside other load) */
    tes_worker_stats st;
    struct timespec idle = {0, 10000000};
    for (int i = 0; i < 1000; i++) {
        tes_pool_stats(p, &st, NULL, 0);
        if (st.parks > 0)
            break;
        nanosleep(&idle, NULL);
    }
    tes_pool_stats(p, &st, NULL, 0);
    tes_pool_destroy(p);
    /* Every task is a span: fib(18) makes fib(19) - 1 tasks, plus root. */
    ck_assert_int_eq((long)st.tasks_run, 4181);
    check_trace(threads, &st, nforks);
}

START_TEST(trace_file_is_valid_json_with_nested_spans_per_worker)
{
    traced_fib(fib, 0);
}
END_TEST

/* fib by fork/join: forked tasks are spans named "fork". */
static void *fork_fib(void *arg)
{
    intptr_t n = (intptr_t)arg;
    if (n < 2)
        return arg;
    tes_task t;
    tes_fork(&t, fork_fib, (void *)(n - 1));
    intptr_t b = (intptr_t)fork_fib((void *)(n - 2));
    void *a = NULL;
    tes_join(&t, &a);
    return (void *)((intptr_t)a + b);
}

START_TEST(trace_forked_tasks_are_spans)
{
    traced_fib(fork_fib, 4180);
}
END_TEST

START_TEST(trace_environment_variable_turns_it_on)
{
    make_path();
    unlink(path);
    setenv("TESSERA_TRACE", path, 1);
    tes_pool *p;
    ck_assert_int_eq(tes_pool_create(&p, NULL), 0);
    unsetenv("TESSERA_TRACE");
    ck_assert_str_eq(tes_pool_trace_path(p), path);
    for (int i = 0; i < 50; i++)
        tes_spawn_named(NULL, p, "detached", fib, (void *)5);
    tes_pool_destroy(p);
    struct jp j = parse_file(path);
    unlink(path);
    long n = 0;
    for (size_t k = 0; k < j.nev; k++)
        n += !strcmp(j.evs[k].name, "detached") && !strcmp(j.evs[k].ph, "B");
    ck_assert_int_eq(n, 50);
    free(j.evs);
}
END_TEST

START_TEST(trace_off_writes_nothing)
{
    make_path();
    unlink(path);
    unsetenv("TESSERA_TRACE");
    tes_pool *p;
    ck_assert_int_eq(tes_pool_create(&p, NULL), 0);
    ck_assert_ptr_null(tes_pool_trace_path(p));
    tes_spawn(NULL, p, fib, (void *)10);
    tes_pool_destroy(p);
    ck_assert_int_ne(access(path, F_OK), 0);
    ck_assert_ptr_null(tes_pool_trace_path(NULL));
}
END_TEST

static Suite *trace_suite(void)
{
    Suite *s = suite_create("trace");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, trace_file_is_valid_json_with_nested_spans_per_worker);
    tcase_add_test(tc, trace_forked_tasks_are_spans);
    tcase_add_test(tc, trace_environment_variable_turns_it_on);
    tcase_add_test(tc, trace_off_writes_nothing);
    suite_add_tcase(s, tc);
    return s;
}

TES_CHECK_MAIN(trace_suite)
