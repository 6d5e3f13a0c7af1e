/*
 * test_rt_pool.c — pools: options and defaults, several pools at once,
 * submission from many outside threads, destroy draining queued work, an
 * idle pool's CPU use, thread hooks and statistics.
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "suite_main.h"
#include "tessera.h"

static _Atomic long counter;

static void *bump(void *arg)
{
    atomic_fetch_add(&counter, (long)(intptr_t)arg);
    return arg;
}

START_TEST(pool_options_are_checked)
{
    tes_pool *p = (tes_pool *)1;
    tes_pool_options o = TES_POOL_OPTIONS_INIT;
    o.threads = -1;
    ck_assert_int_eq(tes_pool_create(&p, &o), -EINVAL);
    ck_assert_ptr_null(p);
    ck_assert_int_eq(tes_pool_create(NULL, NULL), -EINVAL);
    ck_assert_int_eq(tes_pool_threads(NULL), -EINVAL);
    ck_assert_int_eq(tes_pool_stats(NULL, NULL, NULL, 0), -EINVAL);
}
END_TEST

START_TEST(pool_default_threads_follow_environment)
{
    setenv("TESSERA_NUM_THREADS", "3", 1);
    ck_assert_int_eq(tes_default_threads(), 3);
    tes_pool *p;
    ck_assert_int_eq(tes_pool_create(&p, NULL), 0);
    ck_assert_int_eq(tes_pool_threads(p), 3);
    tes_pool_destroy(p);
    setenv("TESSERA_NUM_THREADS", "zero", 1);
    int n = tes_default_threads();
    unsetenv("TESSERA_NUM_THREADS");
    ck_assert_int_eq(n, tes_default_threads());
    ck_assert_int_ge(n, 1);
    ck_assert_int_le(n, (int)sysconf(_SC_NPROCESSORS_ONLN));
}
END_TEST

START_TEST(pool_current_pool_is_null_outside_tasks)
{
    ck_assert_ptr_null(tes_current_pool());
    ck_assert_int_eq(tes_worker_index(), -1);
}
END_TEST

static void *who_am_i(void *arg)
{
    (void)arg;
    return tes_current_pool();
}

START_TEST(pool_several_pools_coexist)
{
    tes_pool *a, *b;
    tes_pool_options o = TES_POOL_OPTIONS_INIT;
    o.threads = 2;
    ck_assert_int_eq(tes_pool_create(&a, &o), 0);
    o.threads = 3;
    ck_assert_int_eq(tes_pool_create(&b, &o), 0);
    tes_future *fa, *fb;
    ck_assert_int_eq(tes_spawn(&fa, a, who_am_i, NULL), 0);
    ck_assert_int_eq(tes_spawn(&fb, b, who_am_i, NULL), 0);
    void *ra, *rb;
    ck_assert_int_eq(tes_await(fa, &ra), 0);
    ck_assert_int_eq(tes_await(fb, &rb), 0);
    ck_assert_ptr_eq(ra, a);
    ck_assert_ptr_eq(rb, b);
    tes_future_release(fa);
    tes_future_release(fb);
    tes_pool_destroy(a);
    tes_pool_destroy(b);
}
END_TEST

#define SUBMITTERS 8
#define PER_SUBMITTER 2048

struct submitter {
    tes_pool *p;
    long sum;
};

static void *submit_many(void *arg)
{
    struct submitter *s = arg;
    tes_future *fs[64];
    for (int i = 0; i < PER_SUBMITTER; i += 64) {
        for (int k = 0; k < 64; k++)
            ck_assert_int_eq(tes_spawn(&fs[k], s->p, bump, (void *)(intptr_t)(i + k)), 0);
        for (int k = 0; k < 64; k++) {
            void *r;
            ck_assert_int_eq(tes_await(fs[k], &r), 0);
            s->sum += (long)(intptr_t)r;
            tes_future_release(fs[k]);
        }
    }
    return NULL;
}

START_TEST(pool_many_outside_threads_submit_at_once)
{
    atomic_store(&counter, 0);
    tes_pool *p;
    tes_pool_options o = TES_POOL_OPTIONS_INIT;
    o.threads = 2;
    ck_assert_int_eq(tes_pool_create(&p, &o), 0);
    struct submitter s[SUBMITTERS];
    pthread_t th[SUBMITTERS];
    for (int i = 0; i < SUBMITTERS; i++) {
        s[i] = (struct submitter){p, 0};
        pthread_create(&th[i], NULL, submit_many, &s[i]);
    }
    long per = 0;
    for (int i = 0; i < PER_SUBMITTER; i++)
        per += i;
    for (int i = 0; i < SUBMITTERS; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(s[i].sum, per);
    }
    ck_assert_int_eq(atomic_load(&counter), per * SUBMITTERS);
    tes_worker_stats t;
    tes_pool_stats(p, &t, NULL, 0);
    ck_assert_uint_eq(t.injected, (uint64_t)SUBMITTERS * (PER_SUBMITTER));
    tes_pool_destroy(p);
}
END_TEST

static void *slow_then_spawn(void *arg)
{
    struct timespec ts = {0, 2000000};
    nanosleep(&ts, NULL);
    /* Work spawned by queued work during destroy must run too. */
    if ((intptr_t)arg > 0)
        tes_spawn(NULL, tes_current_pool(), slow_then_spawn, (void *)((intptr_t)arg - 1));
    atomic_fetch_add(&counter, 1);
    return NULL;
}

START_TEST(pool_destroy_runs_every_queued_task_first)
{
    atomic_store(&counter, 0);
    tes_pool *p;
    tes_pool_options o = TES_POOL_OPTIONS_INIT;
    o.threads = 2;
    ck_assert_int_eq(tes_pool_create(&p, &o), 0);
    for (int i = 0; i < 40; i++)
        ck_assert_int_eq(tes_spawn(NULL, p, slow_then_spawn, (void *)2), 0);
    tes_pool_destroy(p); /* returns only when all 40 * 3 have run */
    ck_assert_int_eq(atomic_load(&counter), 120);
}
END_TEST

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

START_TEST(pool_idle_pool_uses_almost_no_cpu)
{
    tes_pool *p;
    tes_pool_options o = TES_POOL_OPTIONS_INIT;
    o.threads = 2;
    ck_assert_int_eq(tes_pool_create(&p, &o), 0);
    /* Let it work a little, then go idle. */
    tes_future *f;
    ck_assert_int_eq(tes_spawn(&f, p, bump, (void *)1), 0);
    tes_await(f, NULL);
    tes_future_release(f);
    struct timespec settle = {0, 100000000};
    nanosleep(&settle, NULL);
    double c0 = cpu_seconds();
    struct timespec half = {0, 500000000};
    nanosleep(&half, NULL);
    double used = cpu_seconds() - c0;
    /* Under 5% of one CPU over half a second. */
    ck_assert_msg(used < 0.025, "idle pool used %.4f s of CPU in 0.5 s", used);
    tes_pool_destroy(p);
}
END_TEST

static _Atomic int starts, stops;
static _Atomic unsigned seen_mask;

static void on_start(tes_pool *p, int worker, void *ctx)
{
    ck_assert_ptr_eq(ctx, &starts);
    ck_assert_int_eq(tes_worker_index(), worker);
    ck_assert_ptr_eq(tes_current_pool(), p);
    atomic_fetch_add(&starts, 1);
    atomic_fetch_or(&seen_mask, 1u << worker);
}

static void on_stop(tes_pool *p, int worker, void *ctx)
{
    (void)p;
    (void)worker;
    (void)ctx;
    atomic_fetch_add(&stops, 1);
}

START_TEST(pool_hooks_run_once_per_worker_thread)
{
    atomic_store(&starts, 0);
    atomic_store(&stops, 0);
    atomic_store(&seen_mask, 0);
    tes_pool *p;
    tes_pool_options o = TES_POOL_OPTIONS_INIT;
    o.threads = 5;
    o.on_thread_start = on_start;
    o.on_thread_stop = on_stop;
    o.hook_ctx = &starts;
    ck_assert_int_eq(tes_pool_create(&p, &o), 0);
    for (int i = 0; i < 100; i++)
        tes_spawn(NULL, p, bump, (void *)1);
    tes_pool_destroy(p);
    ck_assert_int_eq(atomic_load(&starts), 5);
    ck_assert_int_eq(atomic_load(&stops), 5);
    ck_assert_uint_eq(atomic_load(&seen_mask), 0x1f);
}
END_TEST

START_TEST(pool_stats_count_tasks_and_print)
{
    tes_pool *p;
    tes_pool_options o = TES_POOL_OPTIONS_INIT;
    o.threads = 2;
    o.name = "stats";
    ck_assert_int_eq(tes_pool_create(&p, &o), 0);
    tes_future *fs[100];
    for (int i = 0; i < 100; i++)
        tes_spawn(&fs[i], p, bump, (void *)1);
    ck_assert_int_eq(tes_wait_all(fs, 100), 0);
    for (int i = 0; i < 100; i++)
        tes_future_release(fs[i]);
    tes_worker_stats total, per[2];
    ck_assert_int_eq(tes_pool_stats(p, &total, per, 2), 2);
    ck_assert_uint_eq(total.tasks_run, 100);
    ck_assert_uint_eq(per[0].tasks_run + per[1].tasks_run, 100);
    ck_assert_uint_eq(total.injected, 100);
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    ck_assert_int_eq(tes_pool_stats_print(p, mem), 0);
    fclose(mem);
    ck_assert_ptr_nonnull(strstr(buf, "pool stats: 2 workers"));
    ck_assert_ptr_nonnull(strstr(buf, "total"));
    free(buf);
    tes_pool_destroy(p);
}
END_TEST

static Suite *pool_suite(void)
{
    Suite *s = suite_create("pool");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, pool_options_are_checked);
    tcase_add_test(tc, pool_default_threads_follow_environment);
    tcase_add_test(tc, pool_current_pool_is_null_outside_tasks);
    tcase_add_test(tc, pool_several_pools_coexist);
    tcase_add_test(tc, pool_many_outside_threads_submit_at_once);
    tcase_add_test(tc, pool_destroy_runs_every_queued_task_first);
    tcase_add_test(tc, pool_idle_pool_uses_almost_no_cpu);
    tcase_add_test(tc, pool_hooks_run_once_per_worker_thread);
    tcase_add_test(tc, pool_stats_count_tasks_and_print);
    suite_add_tcase(s, tc);
    return s;
}

TES_CHECK_MAIN(pool_suite)
