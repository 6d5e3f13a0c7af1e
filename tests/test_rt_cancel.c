/*
 * test_rt_cancel.c — cancellation: tasks cancelled before they start never
 * run; running ones see tes_cancelled(); groups wait for and cancel their
 * tasks as a whole, and with TES_GROUP_CANCEL_ON_FAILURE the first failure
 * stops the rest. Run under AddressSanitizer, nothing leaks.
 */
#include <check.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "suite_main.h"
#include "tessera.h"

static const int thread_counts[] = {1, 2, 3, 8};

static tes_pool *make_pool(int threads)
{
    tes_pool *p = NULL;
    tes_pool_options o = TES_POOL_OPTIONS_INIT;
    o.threads = threads;
    ck_assert_int_eq(tes_pool_create(&p, &o), 0);
    return p;
}

static void nap_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

static _Atomic int gate, started, ran;

static void *wait_gate(void *arg)
{
    (void)arg;
    atomic_fetch_add(&started, 1);
    while (!atomic_load(&gate))
        nap_us(200);
    return NULL;
}

static void *count_run(void *arg)
{
    atomic_fetch_add(&ran, 1);
    return arg;
}

START_TEST(cancel_before_start_never_runs)
{
    int threads = thread_counts[_i];
    tes_pool *p = make_pool(threads);
    atomic_store(&gate, 0);
    atomic_store(&started, 0);
    atomic_store(&ran, 0);
    /* Occupy every worker, so that nothing below can start yet. */
    tes_future *blockers[8];
    for (int i = 0; i < threads; i++)
        ck_assert_int_eq(tes_spawn(&blockers[i], p, wait_gate, NULL), 0);
    while (atomic_load(&started) < threads)
        nap_us(100);
    tes_future *fs[200];
    for (int i = 0; i < 200; i++)
        ck_assert_int_eq(tes_spawn_named(&fs[i], p, "victim", count_run,
                                         (void *)(intptr_t)i), 0);
    for (int i = 0; i < 200; i += 2)
        ck_assert_int_eq(tes_cancel(fs[i]), 0);
    atomic_store(&gate, 1);
    for (int i = 0; i < 200; i++) {
        void *r = (void *)1;
        if (i % 2 == 0) {
            ck_assert_int_eq(tes_await(fs[i], &r), -ECANCELED);
            ck_assert_ptr_null(r);
            ck_assert_str_eq(tes_future_error(fs[i]), "victim: cancelled");
        } else {
            ck_assert_int_eq(tes_await(fs[i], &r), 0);
            ck_assert_ptr_eq(r, (void *)(intptr_t)i);
        }
        tes_future_release(fs[i]);
    }
    ck_assert_int_eq(atomic_load(&ran), 100);
    ck_assert_int_eq(tes_wait_all(blockers, (size_t)threads), 0);
    for (int i = 0; i < threads; i++)
        tes_future_release(blockers[i]);
    tes_pool_destroy(p);
}
END_TEST

static void *run_until_cancelled(void *arg)
{
    (void)arg;
    atomic_store(&started, 1);
    for (long i = 0; i < 100000; i++) { /* at most ~10 s */
        if (tes_cancelled())
            return tes_fail(-ECANCELED, "stopped after %s", "a request");
        nap_us(100);
    }
    return (void *)1;
}

START_TEST(cancel_running_task_sees_cancelled)
{
    tes_pool *p = make_pool(2);
    atomic_store(&started, 0);
    tes_future *f;
    ck_assert_int_eq(tes_spawn_named(&f, p, "loop", run_until_cancelled, NULL), 0);
    while (!atomic_load(&started))
        nap_us(100);
    ck_assert_int_eq(tes_cancel(f), 0);
    ck_assert_int_eq(tes_await(f, NULL), -ECANCELED);
    ck_assert_str_eq(tes_future_error(f), "loop: stopped after a request");
    ck_assert_int_eq(tes_cancel(f), -EALREADY);
    tes_future_release(f);
    tes_pool_destroy(p);
}
END_TEST

START_TEST(cancel_errors_and_outside_tasks)
{
    tes_pool *p = make_pool(1);
    ck_assert_int_eq(tes_cancel(NULL), -EINVAL);
    ck_assert(!tes_cancelled());
    tes_future *f;
    ck_assert_int_eq(tes_spawn(&f, p, count_run, NULL), 0);
    ck_assert_int_eq(tes_await(f, NULL), 0);
    ck_assert_int_eq(tes_cancel(f), -EALREADY);
    ck_assert_int_eq(tes_await(f, NULL), 0); /* still a success */
    tes_future_release(f);
    tes_group *g = (tes_group *)1;
    ck_assert_int_eq(tes_group_create(&g, NULL, 0), -EINVAL);
    ck_assert_ptr_null(g);
    ck_assert_int_eq(tes_group_create(&g, p, 0x80), -EINVAL);
    ck_assert_int_eq(tes_group_create(NULL, p, 0), -EINVAL);
    ck_assert_int_eq(tes_group_spawn(NULL, NULL, NULL, count_run, NULL), -EINVAL);
    ck_assert_int_eq(tes_group_wait(NULL), -EINVAL);
    ck_assert(!tes_group_cancelled(NULL));
    tes_group_cancel(NULL);
    tes_group_destroy(NULL);
    tes_pool_destroy(p);
}
END_TEST

/* ---- groups --------------------------------------------------------------- */

static _Atomic int finished_early, finished_full;

/* A long task that checks for cancellation as it goes. */
static void *patient(void *arg)
{
    (void)arg;
    for (int i = 0; i < 500; i++) { /* 100 ms when not cancelled */
        if (tes_cancelled()) {
            atomic_fetch_add(&finished_early, 1);
            return tes_fail(-ECANCELED, "gave up");
        }
        nap_us(200);
    }
    atomic_fetch_add(&finished_full, 1);
    return NULL;
}

START_TEST(cancel_group_stops_as_a_whole)
{
    tes_pool *p = make_pool(thread_counts[_i]);
    atomic_store(&finished_early, 0);
    atomic_store(&finished_full, 0);
    atomic_store(&ran, 0);
    tes_group *g;
    ck_assert_int_eq(tes_group_create(&g, p, 0), 0);
    for (int i = 0; i < 64; i++)
        ck_assert_int_eq(tes_group_spawn(NULL, g, "patient", patient, NULL), 0);
    nap_us(5000);
    tes_group_cancel(g);
    ck_assert(tes_group_cancelled(g));
    /* Spawned into a cancelled group: never runs. */
    tes_future *late;
    ck_assert_int_eq(tes_group_spawn(&late, g, "late", count_run, NULL), 0);
    ck_assert_int_eq(tes_group_wait(g), -ECANCELED);
    ck_assert_ptr_null(tes_group_error(g));
    ck_assert_int_eq(tes_await(late, NULL), -ECANCELED);
    ck_assert_str_eq(tes_future_error(late), "late: cancelled with its group");
    ck_assert_int_eq(atomic_load(&ran), 0);
    /* Most of the 64 never got going; those that had started stopped
     * early (unless this thread was held up for a whole task's length). */
    ck_assert_int_lt(atomic_load(&finished_full) + atomic_load(&finished_early), 64);
    ck_assert_int_lt(atomic_load(&finished_full), 64);
    tes_future_release(late);
    tes_group_destroy(g);
    tes_pool_destroy(p);
}
END_TEST

static void *fail_soon(void *arg)
{
    nap_us(2000);
    return tes_fail(-EIO, "disk %d failed", (int)(intptr_t)arg);
}

START_TEST(cancel_group_first_failure_cancels_the_rest)
{
    tes_pool *p = make_pool(thread_counts[_i]);
    atomic_store(&finished_early, 0);
    atomic_store(&finished_full, 0);
    tes_group *g;
    ck_assert_int_eq(tes_group_create(&g, p, TES_GROUP_CANCEL_ON_FAILURE), 0);
    ck_assert_int_eq(tes_group_spawn(NULL, g, "check", fail_soon, (void *)3), 0);
    for (int i = 0; i < 40; i++)
        ck_assert_int_eq(tes_group_spawn(NULL, g, "patient", patient, NULL), 0);
    ck_assert_int_eq(tes_group_wait(g), -EIO);
    ck_assert_str_eq(tes_group_error(g), "check: disk 3 failed");
    ck_assert(tes_group_cancelled(g));
    ck_assert_int_lt(atomic_load(&finished_full), 40);
    tes_group_destroy(g);
    tes_pool_destroy(p);
}
END_TEST

START_TEST(cancel_group_without_flag_runs_everything_and_reports_failure)
{
    tes_pool *p = make_pool(2);
    atomic_store(&ran, 0);
    tes_group *g;
    ck_assert_int_eq(tes_group_create(&g, p, 0), 0);
    ck_assert_int_eq(tes_group_spawn(NULL, g, "check", fail_soon, (void *)1), 0);
    tes_future *fs[100];
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(tes_group_spawn(&fs[i], g, NULL, count_run, NULL), 0);
    ck_assert_int_eq(tes_group_wait(g), -EIO);
    ck_assert(!tes_group_cancelled(g));
    ck_assert_int_eq(atomic_load(&ran), 100);
    ck_assert_int_eq(tes_wait_all(fs, 100), 0);
    for (int i = 0; i < 100; i++)
        tes_future_release(fs[i]);
    /* A group can be reused after a wait. */
    ck_assert_int_eq(tes_group_spawn(NULL, g, NULL, count_run, NULL), 0);
    ck_assert_int_eq(tes_group_wait(g), -EIO); /* the failure stays */
    ck_assert_int_eq(atomic_load(&ran), 101);
    tes_group_destroy(g);
    tes_pool_destroy(p);
}
END_TEST

/* A task that fans out into a group of its own and waits for it. */
static void *fan_out(void *arg)
{
    int depth = (int)(intptr_t)arg;
    if (depth == 0) {
        atomic_fetch_add(&ran, 1);
        return NULL;
    }
    tes_group *g;
    ck_assert_int_eq(tes_group_create(&g, tes_current_pool(), 0), 0);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(tes_group_spawn(NULL, g, "fan", fan_out,
                                         (void *)(intptr_t)(depth - 1)), 0);
    int rc = tes_group_wait(g);
    tes_group_destroy(g);
    return rc ? tes_fail(rc, "group") : NULL;
}

START_TEST(cancel_group_waited_inside_tasks)
{
    tes_pool *p = make_pool(thread_counts[_i]);
    atomic_store(&ran, 0);
    tes_future *f;
    ck_assert_int_eq(tes_spawn(&f, p, fan_out, (void *)5), 0);
    ck_assert_int_eq(tes_await(f, NULL), 0);
    ck_assert_int_eq(atomic_load(&ran), 1024);
    tes_future_release(f);
    tes_pool_destroy(p);
}
END_TEST

/* Issue 15: tes_group_wait returned while some of the group's futures were
 * not yet done (the group's count dropped before the future completed).
 * Right after every wait, each of the group's futures must be done. From
 * an outside thread (which sleeps on the group) and from a task (which
 * helps), on 2 workers. */
static void *add_one(void *arg)
{
    return (void *)((intptr_t)arg + 1);
}

static int check_group_waits(tes_pool *p, int groups)
{
    int not_done = 0;
    for (int i = 0; i < groups; i++) {
        tes_group *g;
        ck_assert_int_eq(tes_group_create(&g, p, 0), 0);
        tes_future *fs[4];
        for (int k = 0; k < 4; k++)
            ck_assert_int_eq(tes_group_spawn(&fs[k], g, NULL, add_one,
                                             (void *)(intptr_t)k), 0);
        ck_assert_int_eq(tes_group_wait(g), 0);
        for (int k = 0; k < 4; k++) {
            if (!tes_future_done(fs[k]))
                not_done++;
            void *r = NULL;
            ck_assert_int_eq(tes_await(fs[k], &r), 0);
            ck_assert_ptr_eq(r, (void *)(intptr_t)(k + 1));
            tes_future_release(fs[k]);
        }
        tes_group_destroy(g);
    }
    return not_done;
}

static void *group_waits_task(void *arg)
{
    return (void *)(intptr_t)check_group_waits(tes_current_pool(),
                                               (int)(intptr_t)arg);
}

START_TEST(cancel_group_wait_returns_with_every_future_done)
{
    tes_pool *p = make_pool(2);
    ck_assert_int_eq(check_group_waits(p, 20000), 0);
    tes_future *f;
    ck_assert_int_eq(tes_spawn(&f, p, group_waits_task, (void *)20000), 0);
    void *not_done = (void *)1;
    ck_assert_int_eq(tes_await(f, &not_done), 0);
    ck_assert_ptr_null(not_done);
    tes_future_release(f);
    tes_pool_destroy(p);
}
END_TEST

static void *pass(void *arg, void *const *in, size_t n)
{
    (void)in;
    (void)n;
    atomic_fetch_add(&ran, 1);
    return arg;
}

START_TEST(cancel_dependent_task_before_its_inputs_are_ready)
{
    tes_pool *p = make_pool(2);
    atomic_store(&gate, 0);
    atomic_store(&ran, 0);
    tes_future *in, *dep;
    ck_assert_int_eq(tes_spawn(&in, p, wait_gate, NULL), 0);
    ck_assert_int_eq(tes_spawn_after(&dep, p, "after", &in, 1, pass, NULL), 0);
    ck_assert_int_eq(tes_cancel(dep), 0);
    atomic_store(&gate, 1);
    ck_assert_int_eq(tes_await(dep, NULL), -ECANCELED);
    ck_assert_int_eq(atomic_load(&ran), 0);
    tes_future_release(in);
    tes_future_release(dep);
    tes_pool_destroy(p);
}
END_TEST

static Suite *cancel_suite(void)
{
    Suite *s = suite_create("cancel");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, cancel_before_start_never_runs, 0, 4);
    tcase_add_test(tc, cancel_running_task_sees_cancelled);
    tcase_add_test(tc, cancel_errors_and_outside_tasks);
    tcase_add_loop_test(tc, cancel_group_stops_as_a_whole, 0, 4);
    tcase_add_loop_test(tc, cancel_group_first_failure_cancels_the_rest, 0, 4);
    tcase_add_test(tc, cancel_group_without_flag_runs_everything_and_reports_failure);
    tcase_add_loop_test(tc, cancel_group_waited_inside_tasks, 0, 4);
    tcase_add_test(tc, cancel_dependent_task_before_its_inputs_are_ready);
    tcase_add_test(tc, cancel_group_wait_returns_with_every_future_done);
    suite_add_tcase(s, tc);
    return s;
}

TES_CHECK_MAIN(cancel_suite)
