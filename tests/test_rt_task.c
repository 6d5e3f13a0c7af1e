/*
 * test_rt_task.c — spawn and await: nested recursive work at several thread
 * counts (oversubscribed included), results against serial references,
 * failures and their messages, references, wait-all and wait-any.
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "suite_main.h"
#include "tessera.h"

static const int thread_counts[] = {1, 2, 4, 16};

static tes_pool *make_pool(int threads)
{
    tes_pool *p = NULL;
    tes_pool_options o = TES_POOL_OPTIONS_INIT;
    o.threads = threads;
    o.name = "test";
    ck_assert_int_eq(tes_pool_create(&p, &o), 0);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(tes_pool_threads(p), threads);
    return p;
}

/* Runs fn(arg) as a task of pool p from this (outside) thread. */
static void *run_root(tes_pool *p, void *(*fn)(void *), void *arg)
{
    tes_future *f;
    ck_assert_int_eq(tes_spawn(&f, p, fn, arg), 0);
    void *r = (void *)1;
    ck_assert_int_eq(tes_await(f, &r), 0);
    tes_future_release(f);
    return r;
}

/* ---- fib ---------------------------------------------------------------- */

static long fib_serial(long n) { return n < 2 ? n : fib_serial(n - 1) + fib_serial(n - 2); }

static void *fib_task(void *arg)
{
    long n = (long)(intptr_t)arg;
    if (n < 2)
        return arg;
    tes_future *f;
    ck_assert_int_eq(tes_spawn(&f, tes_current_pool(), fib_task,
                               (void *)(intptr_t)(n - 1)), 0);
    long b = (long)(intptr_t)fib_task((void *)(intptr_t)(n - 2));
    void *a;
    ck_assert_int_eq(tes_await(f, &a), 0);
    tes_future_release(f);
    return (void *)(intptr_t)((long)(intptr_t)a + b);
}

START_TEST(task_fib_matches_serial_at_every_thread_count)
{
    tes_pool *p = make_pool(thread_counts[_i]);
    long r = (long)(intptr_t)run_root(p, fib_task, (void *)(intptr_t)25);
    ck_assert_int_eq(r, fib_serial(25));
    ck_assert_int_eq(r, 75025);
    tes_worker_stats total;
    ck_assert_int_eq(tes_pool_stats(p, &total, NULL, 0), thread_counts[_i]);
    /* One spawn per call with n >= 2 (fib(26) - 1 of them), plus the root
     * (run, but spawned from outside: no worker counts it a spawn). */
    ck_assert_uint_eq(total.tasks_run, (uint64_t)fib_serial(26));
    ck_assert_uint_eq(total.spawns, (uint64_t)fib_serial(26) - 1);
    tes_pool_destroy(p);
}
END_TEST

/* ---- nqueens ------------------------------------------------------------ */

struct nq {
    int n, row;
    int cols[16];
};

static int nq_ok(const int *cols, int row, int c)
{
    for (int r = 0; r < row; r++)
        if (cols[r] == c || abs(cols[r] - c) == row - r)
            return 0;
    return 1;
}

static long nq_serial(int n, int row, int *cols)
{
    if (row == n)
        return 1;
    long s = 0;
    for (int c = 0; c < n; c++)
        if (nq_ok(cols, row, c)) {
            cols[row] = c;
            s += nq_serial(n, row + 1, cols);
        }
    return s;
}

static void *nq_task(void *arg)
{
    struct nq *q = arg;
    if (q->row == q->n)
        return (void *)1;
    struct nq kids[16];
    tes_future *fs[16];
    int k = 0;
    for (int c = 0; c < q->n; c++) {
        if (!nq_ok(q->cols, q->row, c))
            continue;
        kids[k] = *q;
        kids[k].cols[q->row] = c;
        kids[k].row = q->row + 1;
        ck_assert_int_eq(tes_spawn(&fs[k], tes_current_pool(), nq_task, &kids[k]), 0);
        k++;
    }
    long sum = 0;
    for (int i = 0; i < k; i++) {
        void *r;
        ck_assert_int_eq(tes_await(fs[i], &r), 0);
        sum += (long)(intptr_t)r;
        tes_future_release(fs[i]);
    }
    return (void *)(intptr_t)sum;
}

START_TEST(task_nqueens_matches_serial_at_every_thread_count)
{
    tes_pool *p = make_pool(thread_counts[_i]);
    struct nq q = {.n = 8, .row = 0};
    int cols[16];
    long want = nq_serial(8, 0, cols);
    ck_assert_int_eq(want, 92);
    ck_assert_int_eq((long)(intptr_t)run_root(p, nq_task, &q), want);
    tes_pool_destroy(p);
}
END_TEST

/* ---- failures ----------------------------------------------------------- */

static void *fails_with_eio(void *arg)
{
    return tes_fail(-EIO, "tile %d unreadable", (int)(intptr_t)arg);
}

START_TEST(task_failure_code_and_message_reach_awaiter)
{
    tes_pool *p = make_pool(2);
    tes_future *f;
    ck_assert_int_eq(tes_spawn_named(&f, p, "reader", fails_with_eio, (void *)7), 0);
    void *r = (void *)1;
    ck_assert_int_eq(tes_await(f, &r), -EIO);
    ck_assert_ptr_null(r);
    ck_assert_str_eq(tes_future_error(f), "reader: tile 7 unreadable");
    ck_assert_int_eq(tes_future_status(f), -EIO);
    /* Awaiting again gives the same answer. */
    ck_assert_int_eq(tes_await(f, NULL), -EIO);
    tes_future_release(f);
    tes_pool_destroy(p);
}
END_TEST

static void *passes_error_on(void *arg)
{
    (void)arg;
    tes_future *inner;
    ck_assert_int_eq(tes_spawn_named(&inner, tes_current_pool(), "reader",
                                     fails_with_eio, (void *)3), 0);
    int rc = tes_await(inner, NULL);
    void *ret = NULL;
    if (rc)
        ret = tes_fail_from(inner, "merging band %d", 2);
    tes_future_release(inner);
    return ret;
}

static void *passes_error_on_again(void *arg)
{
    (void)arg;
    tes_future *mid;
    ck_assert_int_eq(tes_spawn_named(&mid, tes_current_pool(), "merge",
                                     passes_error_on, NULL), 0);
    void *ret = tes_await(mid, NULL) ? tes_fail_from(mid, "writing output") : (void *)1;
    tes_future_release(mid);
    return ret;
}

START_TEST(task_error_chains_say_where_it_started)
{
    tes_pool *p = make_pool(thread_counts[_i]);
    tes_future *f;
    ck_assert_int_eq(tes_spawn_named(&f, p, "job", passes_error_on_again, NULL), 0);
    ck_assert_int_eq(tes_await(f, NULL), -EIO);
    ck_assert_str_eq(tes_future_error(f),
                     "job: writing output: merge: merging band 2: reader: tile 3 unreadable");
    tes_future_release(f);
    tes_pool_destroy(p);
}
END_TEST

static void *fails_without_code(void *arg)
{
    (void)arg;
    return tes_fail(0, "no reason given");
}

static void *returns_arg(void *arg) { return arg; }

START_TEST(task_fail_normalises_codes_and_success_has_no_message)
{
    tes_pool *p = make_pool(1);
    tes_future *f, *g;
    ck_assert_int_eq(tes_spawn(&f, p, fails_without_code, NULL), 0);
    ck_assert_int_eq(tes_await(f, NULL), TES_EFAIL);
    ck_assert_str_eq(tes_future_error(f), "task: no reason given");
    ck_assert_int_eq(tes_spawn(&g, p, returns_arg, (void *)42), 0);
    void *r;
    ck_assert_int_eq(tes_await(g, &r), 0);
    ck_assert_ptr_eq(r, (void *)42);
    ck_assert_ptr_null(tes_future_error(g));
    ck_assert_int_eq(tes_future_status(g), 0);
    /* Outside a task, tes_fail does nothing and returns NULL. */
    ck_assert_ptr_null(tes_fail(-EIO, "ignored"));
    tes_future_release(f);
    tes_future_release(g);
    tes_pool_destroy(p);
}
END_TEST

START_TEST(task_spawn_rejects_bad_arguments)
{
    tes_pool *p = make_pool(1);
    tes_future *f = (tes_future *)1;
    ck_assert_int_eq(tes_spawn(&f, NULL, returns_arg, NULL), -EINVAL);
    ck_assert_ptr_null(f);
    ck_assert_int_eq(tes_spawn(&f, p, NULL, NULL), -EINVAL);
    ck_assert_int_eq(tes_await(NULL, NULL), -EINVAL);
    ck_assert_int_eq(tes_wait_any(NULL, 0, 0, NULL), -EINVAL);
    tes_future_release(NULL);
    tes_pool_destroy(NULL);
    tes_pool_destroy(p);
}
END_TEST

/* ---- references and awaiting from many threads -------------------------- */

static void *sleeps_ms(void *arg)
{
    struct timespec ts = {0, (long)(intptr_t)arg * 1000000L};
    nanosleep(&ts, NULL);
    return arg;
}

struct waiter {
    tes_future *f;
    void *got;
    int rc;
};

static void *await_in_thread(void *arg)
{
    struct waiter *w = arg;
    w->rc = tes_await(w->f, &w->got);
    tes_future_release(w->f);
    return NULL;
}

START_TEST(task_future_awaited_by_many_threads)
{
    tes_pool *p = make_pool(2);
    tes_future *f;
    ck_assert_int_eq(tes_spawn(&f, p, sleeps_ms, (void *)50), 0);
    struct waiter w[6];
    pthread_t th[6];
    for (int i = 0; i < 6; i++) {
        w[i].f = tes_future_retain(f);
        pthread_create(&th[i], NULL, await_in_thread, &w[i]);
    }
    tes_future_release(f); /* the waiters hold their own references */
    for (int i = 0; i < 6; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(w[i].rc, 0);
        ck_assert_ptr_eq(w[i].got, (void *)50);
    }
    tes_pool_destroy(p);
}
END_TEST

static _Atomic int detached_runs;

static void *count_detached(void *arg)
{
    (void)arg;
    atomic_fetch_add(&detached_runs, 1);
    return NULL;
}

START_TEST(task_detached_tasks_run_and_free_themselves)
{
    atomic_store(&detached_runs, 0);
    tes_pool *p = make_pool(2);
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(tes_spawn(NULL, p, count_detached, NULL), 0);
    tes_pool_destroy(p);
    ck_assert_int_eq(atomic_load(&detached_runs), 1000);
}
END_TEST

/* ---- wait_all / wait_any ------------------------------------------------ */

START_TEST(task_wait_all_reports_first_failure_in_array_order)
{
    tes_pool *p = make_pool(2);
    tes_future *fs[4];
    ck_assert_int_eq(tes_spawn(&fs[0], p, returns_arg, (void *)1), 0);
    ck_assert_int_eq(tes_spawn(&fs[1], p, fails_without_code, NULL), 0);
    ck_assert_int_eq(tes_spawn(&fs[2], p, fails_with_eio, (void *)1), 0);
    ck_assert_int_eq(tes_spawn(&fs[3], p, sleeps_ms, (void *)20), 0);
    ck_assert_int_eq(tes_wait_all(fs, 4), TES_EFAIL);
    for (int i = 0; i < 4; i++)
        ck_assert(tes_future_done(fs[i]));
    ck_assert_int_eq(tes_wait_all(fs + 2, 2), -EIO);
    ck_assert_int_eq(tes_wait_all(fs + 3, 1), 0);
    for (int i = 0; i < 4; i++)
        tes_future_release(fs[i]);
    tes_pool_destroy(p);
}
END_TEST

START_TEST(task_wait_any_returns_first_completed)
{
    tes_pool *p = make_pool(3);
    tes_future *fs[3];
    ck_assert_int_eq(tes_spawn(&fs[0], p, sleeps_ms, (void *)400), 0);
    ck_assert_int_eq(tes_spawn(&fs[1], p, sleeps_ms, (void *)10), 0);
    ck_assert_int_eq(tes_spawn(&fs[2], p, sleeps_ms, (void *)300), 0);
    size_t ready = 99;
    ck_assert_int_eq(tes_wait_any(fs, 3, -1, &ready), 0);
    ck_assert_uint_eq(ready, 1);
    ck_assert(tes_future_done(fs[1]));
    ck_assert(!tes_future_done(fs[0]));
    ck_assert_int_eq(tes_wait_all(fs, 3), 0);
    for (int i = 0; i < 3; i++)
        tes_future_release(fs[i]);
    tes_pool_destroy(p);
}
END_TEST

START_TEST(task_wait_any_timeout_returns_nothing_and_loses_nothing)
{
    tes_pool *p = make_pool(2);
    tes_future *fs[2];
    ck_assert_int_eq(tes_spawn(&fs[0], p, sleeps_ms, (void *)300), 0);
    ck_assert_int_eq(tes_spawn(&fs[1], p, sleeps_ms, (void *)300), 0);
    size_t ready = 77;
    ck_assert_int_eq(tes_wait_any(fs, 2, 0, &ready), -ETIMEDOUT);
    ck_assert_int_eq(tes_wait_any(fs, 2, 30, &ready), -ETIMEDOUT);
    ck_assert_uint_eq(ready, 77);
    /* Both still complete with their results. */
    void *r0, *r1;
    ck_assert_int_eq(tes_await(fs[0], &r0), 0);
    ck_assert_int_eq(tes_await(fs[1], &r1), 0);
    ck_assert_ptr_eq(r0, (void *)300);
    ck_assert_ptr_eq(r1, (void *)300);
    ck_assert_int_eq(tes_wait_any(fs, 2, 0, &ready), 0);
    ck_assert_uint_eq(ready, 0);
    tes_future_release(fs[0]);
    tes_future_release(fs[1]);
    tes_pool_destroy(p);
}
END_TEST

static void *wait_any_inside(void *arg)
{
    (void)arg;
    tes_future *fs[2];
    tes_spawn(&fs[0], tes_current_pool(), sleeps_ms, (void *)200);
    tes_spawn(&fs[1], tes_current_pool(), returns_arg, (void *)5);
    size_t ready = 9;
    int rc = tes_wait_any(fs, 2, -1, &ready);
    ck_assert_int_eq(rc, 0);
    ck_assert(ready == 0 || ready == 1);
    ck_assert_int_eq(tes_wait_all(fs, 2), 0);
    tes_future_release(fs[0]);
    tes_future_release(fs[1]);
    return (void *)(intptr_t)(ready + 1);
}

START_TEST(task_wait_any_inside_a_task_keeps_working)
{
    /* One worker: wait_any must run the children itself. */
    tes_pool *p = make_pool(1);
    void *r = run_root(p, wait_any_inside, NULL);
    ck_assert((intptr_t)r == 1 || (intptr_t)r == 2);
    tes_pool_destroy(p);
}
END_TEST

START_TEST(task_strerror_names_every_code)
{
    const int codes[] = {0, TES_EFAIL, TES_ESHUTDOWN, -ENOMEM, -EINVAL,
                         -ETIMEDOUT, -ECANCELED, -EALREADY, -EIO};
    for (size_t i = 0; i < sizeof codes / sizeof *codes; i++) {
        const char *s = tes_strerror(codes[i]);
        ck_assert_ptr_nonnull(s);
        ck_assert(strcmp(s, "unknown error") != 0);
    }
    ck_assert_str_eq(tes_strerror(-ETIMEDOUT), "timed out");
    ck_assert_str_eq(tes_strerror(12345), "unknown error");
}
END_TEST

#ifndef TASK_SUITE_NAME
#define TASK_SUITE_NAME "task"
#endif

static Suite *task_suite(void)
{
    Suite *s = suite_create(TASK_SUITE_NAME);
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, task_fib_matches_serial_at_every_thread_count, 0, 4);
    tcase_add_loop_test(tc, task_nqueens_matches_serial_at_every_thread_count, 0, 4);
    tcase_add_test(tc, task_failure_code_and_message_reach_awaiter);
    tcase_add_loop_test(tc, task_error_chains_say_where_it_started, 0, 4);
    tcase_add_test(tc, task_fail_normalises_codes_and_success_has_no_message);
    tcase_add_test(tc, task_spawn_rejects_bad_arguments);
    tcase_add_test(tc, task_future_awaited_by_many_threads);
    tcase_add_test(tc, task_detached_tasks_run_and_free_themselves);
    tcase_add_test(tc, task_wait_all_reports_first_failure_in_array_order);
    tcase_add_test(tc, task_wait_any_returns_first_completed);
    tcase_add_test(tc, task_wait_any_timeout_returns_nothing_and_loses_nothing);
    tcase_add_test(tc, task_wait_any_inside_a_task_keeps_working);
    tcase_add_test(tc, task_strerror_names_every_code);
    suite_add_tcase(s, tc);
    return s;
}

TES_CHECK_MAIN(task_suite)
