/*
 * test_rt_embed.c — embedding: thread hooks run once per worker thread and
 * never for a lent host thread; a lent host thread runs tasks (as a member
 * of the pool) and returns when its future completes, when its time is up
 * or when the pool runs dry; lend slots run out with -EBUSY; after fork()
 * the child's copy of a pool refuses work with TES_EFORKED while a new
 * pool in the child works.
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "suite_main.h"
#include "tessera.h"

#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif
#ifndef UNDER_TSAN
#define UNDER_TSAN 0
#endif

static void nap_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

static _Atomic int gate, started, starts, stops;

static void *wait_gate(void *arg)
{
    atomic_fetch_add(&started, 1);
    while (!atomic_load(&gate))
        nap_us(200);
    return arg;
}

static void *where(void *arg)
{
    (void)arg;
    ck_assert_ptr_nonnull(tes_current_pool());
    return (void *)(intptr_t)tes_worker_index();
}

static void on_start(tes_pool *p, int worker, void *ctx)
{
    (void)p;
    (void)worker;
    (void)ctx;
    atomic_fetch_add(&starts, 1);
}

static void on_stop(tes_pool *p, int worker, void *ctx)
{
    (void)p;
    (void)worker;
    (void)ctx;
    atomic_fetch_add(&stops, 1);
}

static tes_pool *make_pool(int threads, int lend_slots)
{
    tes_pool *p = NULL;
    tes_pool_options o = TES_POOL_OPTIONS_INIT;
    o.threads = threads;
    o.lend_slots = lend_slots;
    o.on_thread_start = on_start;
    o.on_thread_stop = on_stop;
    ck_assert_int_eq(tes_pool_create(&p, &o), 0);
    return p;
}

START_TEST(embed_lent_thread_runs_tasks_and_returns)
{
    atomic_store(&gate, 0);
    atomic_store(&started, 0);
    atomic_store(&starts, 0);
    atomic_store(&stops, 0);
    tes_pool *p = make_pool(1, 0);
    /* The only worker is busy: only the lent thread can run what follows. */
    tes_future *blocker;
    ck_assert_int_eq(tes_spawn(&blocker, p, wait_gate, NULL), 0);
    while (!atomic_load(&started))
        nap_us(100);
    tes_future *fs[10];
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(tes_spawn(&fs[i], p, where, NULL), 0);
    ck_assert_int_eq(tes_pool_lend(p, fs[9], -1), 0);
    ck_assert_ptr_null(tes_current_pool()); /* left the pool again */
    ck_assert_int_eq(tes_worker_index(), -1);
    for (int i = 0; i < 10; i++) {
        void *r;
        ck_assert(tes_future_done(fs[i])); /* FIFO injection: all ran */
        ck_assert_int_eq(tes_await(fs[i], &r), 0);
        ck_assert_int_eq((intptr_t)r, 1); /* threads + slot 0 */
        tes_future_release(fs[i]);
    }
    /* A time limit, with nothing completing meanwhile. */
    ck_assert_int_eq(tes_pool_lend(p, blocker, 20), -ETIMEDOUT);
    atomic_store(&gate, 1);
    ck_assert_int_eq(tes_pool_lend(p, blocker, -1), 0);
    tes_future_release(blocker);
    tes_worker_stats total;
    tes_pool_stats(p, &total, NULL, 0);
    ck_assert_uint_ge(total.tasks_run, 11);
    tes_pool_destroy(p);
    /* Hooks ran once for the one worker, never for the host. */
    ck_assert_int_eq(atomic_load(&starts), 1);
    ck_assert_int_eq(atomic_load(&stops), 1);
}
END_TEST

static _Atomic long fib_calls;

static void *fib(void *arg)
{
    intptr_t n = (intptr_t)arg;
    atomic_fetch_add_explicit(&fib_calls, 1, memory_order_relaxed);
    if (n < 2)
        return arg;
    tes_future *f;
    ck_assert_int_eq(tes_spawn(&f, tes_current_pool(), fib, (void *)(n - 1)), 0);
    intptr_t b = (intptr_t)fib((void *)(n - 2));
    void *a;
    ck_assert_int_eq(tes_await(f, &a), 0);
    tes_future_release(f);
    return (void *)((intptr_t)a + b);
}

struct lender {
    tes_pool *p;
    tes_future *until;
    int rc;
};

static void *lend_thread(void *arg)
{
    struct lender *l = arg;
    l->rc = tes_pool_lend(l->p, l->until, -1);
    return NULL;
}

START_TEST(embed_several_hosts_lend_at_once_and_slots_run_out)
{
    atomic_store(&starts, 0);
    tes_pool *p = make_pool(2, 3);
    tes_future *f;
    ck_assert_int_eq(tes_spawn(&f, p, fib, (void *)20), 0);
    pthread_t th[4];
    struct lender l[4];
    for (int i = 0; i < 4; i++) {
        l[i] = (struct lender){p, f, 99};
        pthread_create(&th[i], NULL, lend_thread, &l[i]);
    }
    int busy = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        ck_assert(l[i].rc == 0 || l[i].rc == -EBUSY);
        busy += l[i].rc == -EBUSY;
    }
    ck_assert_int_le(busy, 1); /* three slots for four hosts */
    void *r;
    ck_assert_int_eq(tes_await(f, &r), 0);
    ck_assert_int_eq((intptr_t)r, 6765);
    tes_future_release(f);
    tes_pool_destroy(p);
    ck_assert_int_eq(atomic_load(&starts), 2);
}
END_TEST

static void *try_lend_inside(void *arg)
{
    return (void *)(intptr_t)tes_pool_lend(arg, NULL, 0);
}

START_TEST(embed_lend_errors_and_running_dry)
{
    tes_pool *p = make_pool(1, -1); /* no lend slots */
    ck_assert_int_eq(tes_pool_lend(p, NULL, -1), -EBUSY);
    ck_assert_int_eq(tes_pool_lend(NULL, NULL, -1), -EINVAL);
    tes_future *f;
    ck_assert_int_eq(tes_spawn(&f, p, try_lend_inside, p), 0);
    void *r;
    ck_assert_int_eq(tes_await(f, &r), 0);
    ck_assert_int_eq((intptr_t)r, -EINVAL); /* a worker cannot lend itself */
    tes_future_release(f);
    tes_pool_destroy(p);

    /* until NULL, no limit: runs what it finds, returns when dry. */
    atomic_store(&fib_calls, 0);
    p = make_pool(1, 1);
    for (int i = 0; i < 20; i++)
        ck_assert_int_eq(tes_spawn(NULL, p, fib, (void *)10), 0);
    ck_assert_int_eq(tes_pool_lend(p, NULL, -1), 0);
    tes_pool_destroy(p);
    ck_assert_int_eq(atomic_load(&fib_calls), 20 * 177);
}
END_TEST

/* ---- fork ----------------------------------------------------------------- */

static void *add_one(void *state, void *arg)
{
    (void)arg;
    return (void *)(intptr_t)++*(long *)state;
}

static void noop_body(size_t b, size_t e, void *ctx)
{
    (void)b;
    (void)e;
    (void)ctx;
}

/* The child's checks; its exit status names the first one that failed. */
static int child_checks(tes_pool *old, tes_future *done, tes_future *pending,
                        tes_actor *actor)
{
    tes_future *f;
    void *r;
    if (tes_current_pool() != NULL)
        return 2;
    if (tes_spawn(&f, old, fib, (void *)3) != TES_EFORKED)
        return 3;
    if (tes_await(pending, NULL) != TES_EFORKED)
        return 4;
    if (tes_await(done, &r) != 0 || (intptr_t)r != 55)
        return 5;
    if (tes_actor_call(&f, actor, add_one, NULL) != TES_EFORKED)
        return 6;
    if (tes_parallel_for(old, 0, 10, 0, noop_body, NULL) != TES_EFORKED)
        return 7;
    if (tes_pool_lend(old, NULL, 0) != TES_EFORKED)
        return 8;
    tes_pool_destroy(old); /* returns at once, frees nothing */
    tes_future_release(done);
    if (!UNDER_TSAN) { /* TSan does not support threads after such a fork */
        tes_pool *fresh;
        if (tes_pool_create(&fresh, NULL) != 0)
            return 9;
        if (tes_spawn(&f, fresh, fib, (void *)15) != 0)
            return 10;
        if (tes_await(f, &r) != 0 || (intptr_t)r != 610)
            return 11;
        tes_future_release(f);
        tes_pool_destroy(fresh);
    }
    return 0;
}

START_TEST(embed_fork_child_gets_an_unusable_copy_and_can_make_pools)
{
    atomic_store(&gate, 0);
    atomic_store(&started, 0);
    tes_pool *p = make_pool(2, 0);
    long state = 0;
    tes_actor *a;
    ck_assert_int_eq(tes_actor_create(&a, p, &state, NULL), 0);
    tes_future *done, *pending;
    ck_assert_int_eq(tes_spawn(&done, p, fib, (void *)10), 0);
    ck_assert_int_eq(tes_await(done, NULL), 0);
    ck_assert_int_eq(tes_spawn(&pending, p, wait_gate, NULL), 0);
    while (!atomic_load(&started))
        nap_us(100);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        _exit(child_checks(p, done, pending, a));
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    /* The parent's pool is untouched. */
    atomic_store(&gate, 1);
    ck_assert_int_eq(tes_await(pending, NULL), 0);
    tes_future *f;
    ck_assert_int_eq(tes_actor_call(&f, a, add_one, NULL), 0);
    void *r;
    ck_assert_int_eq(tes_await(f, &r), 0);
    ck_assert_int_eq((intptr_t)r, 1);
    tes_future_release(f);
    tes_future_release(done);
    tes_future_release(pending);
    tes_actor_destroy(a);
    tes_pool_destroy(p);
}
END_TEST

static Suite *embed_suite(void)
{
    Suite *s = suite_create("embed");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, embed_lent_thread_runs_tasks_and_returns);
    tcase_add_test(tc, embed_several_hosts_lend_at_once_and_slots_run_out);
    tcase_add_test(tc, embed_lend_errors_and_running_dry);
    tcase_add_test(tc, embed_fork_child_gets_an_unusable_copy_and_can_make_pools);
    suite_add_tcase(s, tc);
    return s;
}

TES_CHECK_MAIN(embed_suite)
