/*
 * test_rt_actor.c — actors: calls from many outside threads, from tasks and
 * from other actors run one at a time, in each caller's order, with exact
 * totals; results, failures and cancellation of calls; destroy runs the
 * pending calls then the destructor; different actors run in parallel.
 */
#include <check.h>
#include <pthread.h>
#include <sched.h>
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

#define CALLERS 8
#define CALLS 1500
#define ACTORS 3

/* Plain fields: only the actor's calls touch them, one at a time, so
 * ThreadSanitizer checks that each call happens after the previous one. */
struct counter {
    _Atomic int inside;       /* 1 while a call runs: overlap detector */
    long last[CALLERS + 1];   /* last sequence number seen per caller */
    long total;
    long calls;
    int order_errors;
    int overlaps;
    _Atomic int destroyed;
};

static void *record(void *state, void *arg)
{
    struct counter *c = state;
    if (atomic_exchange(&c->inside, 1) != 0)
        c->overlaps++;
    uintptr_t a = (uintptr_t)arg;
    int caller = (int)(a >> 20);
    long seq = (long)(a & 0xfffff);
    if (seq != c->last[caller] + 1)
        c->order_errors++;
    c->last[caller] = seq;
    c->total += seq;
    c->calls++;
    atomic_store(&c->inside, 0);
    return (void *)(intptr_t)c->calls;
}

static void counter_destroy(void *state)
{
    struct counter *c = state;
    atomic_store(&c->destroyed, 1);
}

struct caller_arg {
    tes_actor **actors;
    int id;
};

static void *call_from_thread(void *arg)
{
    struct caller_arg *ca = arg;
    for (long s = 1; s <= CALLS; s++)
        for (int k = 0; k < ACTORS; k++)
            ck_assert_int_eq(tes_actor_call(NULL, ca->actors[k], record,
                                            (void *)(((uintptr_t)ca->id << 20) |
                                                     (uintptr_t)s)),
                             0);
    return NULL;
}

START_TEST(actor_calls_from_8_threads_in_order_one_at_a_time)
{
    tes_pool *p = make_pool(thread_counts[_i]);
    struct counter *c = calloc(ACTORS, sizeof *c);
    tes_actor *actors[ACTORS];
    for (int k = 0; k < ACTORS; k++)
        ck_assert_int_eq(tes_actor_create(&actors[k], p, &c[k], counter_destroy), 0);
    pthread_t th[CALLERS];
    struct caller_arg ca[CALLERS];
    for (int i = 0; i < CALLERS; i++) {
        ca[i] = (struct caller_arg){actors, i + 1};
        pthread_create(&th[i], NULL, call_from_thread, &ca[i]);
    }
    for (int i = 0; i < CALLERS; i++)
        pthread_join(th[i], NULL);
    for (int k = 0; k < ACTORS; k++) {
        tes_actor_destroy(actors[k]); /* runs the pending calls first */
        ck_assert_int_eq(atomic_load(&c[k].destroyed), 1);
        ck_assert_int_eq(c[k].overlaps, 0);
        ck_assert_int_eq(c[k].order_errors, 0);
        ck_assert_int_eq(c[k].calls, (long)CALLERS * CALLS);
        ck_assert_int_eq(c[k].total, (long)CALLERS * CALLS * (CALLS + 1) / 2);
        for (int i = 1; i <= CALLERS; i++)
            ck_assert_int_eq(c[k].last[i], CALLS);
    }
    free(c);
    tes_pool_destroy(p);
}
END_TEST

/* ---- calls from tasks and from other actors ---------------------------- */

struct relay {
    tes_actor *target;
};

/* A method of one actor that calls another actor. */
static void *relay_call(void *state, void *arg)
{
    struct relay *r = state;
    ck_assert_int_eq(tes_actor_call(NULL, r->target, record, arg), 0);
    return NULL;
}

struct task_arg {
    tes_actor *direct, *via;
    int id;
};

static void *call_from_task(void *arg)
{
    struct task_arg *t = arg;
    for (long s = 1; s <= 300; s++) {
        tes_actor *a = (s & 1) ? t->direct : t->via;
        void *(*m)(void *, void *) = (s & 1) ? record : relay_call;
        ck_assert_int_eq(tes_actor_call(NULL, a, m,
                                        (void *)(((uintptr_t)t->id << 20) | (uintptr_t)s)),
                         0);
    }
    return NULL;
}

START_TEST(actor_calls_from_tasks_and_other_actors)
{
    tes_pool *p = make_pool(thread_counts[_i]);
    struct counter c = {0};
    tes_actor *target, *via;
    ck_assert_int_eq(tes_actor_create(&target, p, &c, NULL), 0);
    struct relay r = {target};
    ck_assert_int_eq(tes_actor_create(&via, p, &r, NULL), 0);
    struct task_arg ta[4];
    tes_future *fs[4];
    for (int i = 0; i < 4; i++) {
        ta[i] = (struct task_arg){target, via, i + 1};
        ck_assert_int_eq(tes_spawn(&fs[i], p, call_from_task, &ta[i]), 0);
    }
    ck_assert_int_eq(tes_wait_all(fs, 4), 0);
    for (int i = 0; i < 4; i++)
        tes_future_release(fs[i]);
    tes_actor_destroy(via);    /* its relays have all been made */
    tes_actor_destroy(target);
    ck_assert_int_eq(c.overlaps, 0);
    ck_assert_int_eq(c.calls, 4 * 300);
    ck_assert_int_eq(c.total, 4L * 300 * 301 / 2);
    /* Odd calls go straight, even ones through the relay: each path keeps
     * its own order, so only the totals are exact across the two. */
    tes_pool_destroy(p);
}
END_TEST

/* ---- results, failures, cancellation ------------------------------------ */

static void *add(void *state, void *arg)
{
    long *sum = state;
    *sum += (long)(intptr_t)arg;
    return (void *)(intptr_t)*sum;
}

static void *fail_call(void *state, void *arg)
{
    (void)state;
    return tes_fail(-EIO, "account %d locked", (int)(intptr_t)arg);
}

static _Atomic int gate;

static void *wait_gate(void *state, void *arg)
{
    (void)state;
    (void)arg;
    while (!atomic_load(&gate)) {
        struct timespec ts = {0, 200000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

START_TEST(actor_calls_give_results_failures_and_can_be_cancelled)
{
    tes_pool *p = make_pool(2);
    long sum = 0;
    tes_actor *a;
    ck_assert_int_eq(tes_actor_create(&a, p, &sum, NULL), 0);
    atomic_store(&gate, 0);
    tes_future *blocker, *f[5], *bad, *named;
    ck_assert_int_eq(tes_actor_call(&blocker, a, wait_gate, NULL), 0);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(tes_actor_call(&f[i], a, add, (void *)(intptr_t)(i + 1)), 0);
    ck_assert_int_eq(tes_actor_call_named(&bad, a, "withdraw", fail_call, (void *)7), 0);
    ck_assert_int_eq(tes_actor_call_named(&named, a, "deposit", add, (void *)100), 0);
    /* Call 2 (adds 3) has not started: cancel it. */
    ck_assert_int_eq(tes_cancel(f[2]), 0);
    atomic_store(&gate, 1);
    void *r;
    ck_assert_int_eq(tes_await(f[0], &r), 0);
    ck_assert_int_eq((long)(intptr_t)r, 1);
    ck_assert_int_eq(tes_await(f[1], &r), 0);
    ck_assert_int_eq((long)(intptr_t)r, 3);
    ck_assert_int_eq(tes_await(f[2], &r), -ECANCELED);
    ck_assert_int_eq(tes_await(f[3], &r), 0);
    ck_assert_int_eq((long)(intptr_t)r, 7);
    ck_assert_int_eq(tes_await(f[4], &r), 0);
    ck_assert_int_eq((long)(intptr_t)r, 12);
    ck_assert_int_eq(tes_await(bad, NULL), -EIO);
    ck_assert_str_eq(tes_future_error(bad), "withdraw: account 7 locked");
    ck_assert_int_eq(tes_await(named, &r), 0);
    ck_assert_int_eq((long)(intptr_t)r, 112);
    ck_assert_int_eq(tes_cancel(named), -EALREADY);
    tes_future_release(blocker);
    for (int i = 0; i < 5; i++)
        tes_future_release(f[i]);
    tes_future_release(bad);
    tes_future_release(named);
    tes_actor_destroy(a);
    ck_assert_int_eq(sum, 112);
    tes_pool_destroy(p);
}
END_TEST

/* ---- destroy ------------------------------------------------------------- */

static void *slow_add(void *state, void *arg)
{
    if (((long)(intptr_t)arg % 100) == 0) {
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
    return add(state, arg);
}

static long destroyed_sum;

static void sum_destroy(void *state)
{
    destroyed_sum = *(long *)state;
    free(state);
}

START_TEST(actor_destroy_runs_pending_calls_then_destructor)
{
    tes_pool *p = make_pool(thread_counts[_i]);
    long *sum = calloc(1, sizeof *sum);
    tes_actor *a;
    destroyed_sum = -1;
    ck_assert_int_eq(tes_actor_create(&a, p, sum, sum_destroy), 0);
    for (int i = 1; i <= 1000; i++)
        ck_assert_int_eq(tes_actor_call(NULL, a, slow_add, (void *)(intptr_t)i), 0);
    tes_actor_destroy(a);
    ck_assert_int_eq(destroyed_sum, 1000L * 1001 / 2);
    tes_actor_destroy(NULL);
    tes_pool_destroy(p);
}
END_TEST

static tes_actor *self_actor;

static void *destroy_self(void *state, void *arg)
{
    (void)arg;
    *(long *)state += 1;
    tes_actor_destroy(self_actor); /* must not wait for itself */
    return NULL;
}

START_TEST(actor_destroy_from_its_own_method)
{
    tes_pool *p = make_pool(2);
    long *sum = calloc(1, sizeof *sum);
    destroyed_sum = -1;
    ck_assert_int_eq(tes_actor_create(&self_actor, p, sum, sum_destroy), 0);
    tes_future *f;
    ck_assert_int_eq(tes_actor_call(NULL, self_actor, add, (void *)10), 0);
    ck_assert_int_eq(tes_actor_call(&f, self_actor, destroy_self, NULL), 0);
    ck_assert_int_eq(tes_await(f, NULL), 0);
    tes_future_release(f);
    tes_pool_destroy(p); /* runs the destroy call queued by the method */
    ck_assert_int_eq(destroyed_sum, 11);
}
END_TEST

/* ---- parallelism --------------------------------------------------------- */

static _Atomic int arrived;

/* Each of two actors' calls waits (bounded) until both have started. */
static void *rendezvous(void *state, void *arg)
{
    (void)state;
    (void)arg;
    atomic_fetch_add(&arrived, 1);
    for (int i = 0; i < 20000 && atomic_load(&arrived) < 2; i++) {
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
    return (void *)(intptr_t)atomic_load(&arrived);
}

START_TEST(actor_different_actors_run_in_parallel)
{
    tes_pool *p = make_pool(2);
    atomic_store(&arrived, 0);
    tes_actor *a, *b;
    ck_assert_int_eq(tes_actor_create(&a, p, NULL, NULL), 0);
    ck_assert_int_eq(tes_actor_create(&b, p, NULL, NULL), 0);
    tes_future *fa, *fb;
    ck_assert_int_eq(tes_actor_call(&fa, a, rendezvous, NULL), 0);
    ck_assert_int_eq(tes_actor_call(&fb, b, rendezvous, NULL), 0);
    void *ra, *rb;
    ck_assert_int_eq(tes_await(fa, &ra), 0);
    ck_assert_int_eq(tes_await(fb, &rb), 0);
    ck_assert_int_eq((intptr_t)ra, 2);
    ck_assert_int_eq((intptr_t)rb, 2);
    tes_future_release(fa);
    tes_future_release(fb);
    tes_actor_destroy(a);
    tes_actor_destroy(b);
    tes_pool_destroy(p);
}
END_TEST

static void *sleep_ms(void *state, void *arg)
{
    (void)state;
    struct timespec ts = {0, (long)(intptr_t)arg * 1000000L};
    nanosleep(&ts, NULL);
    return arg;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A call's future completes when its method returns, not when the calls
 * queued behind it (which may run on the same thread) have run. */
START_TEST(actor_call_completes_before_the_calls_after_it)
{
    tes_pool *p = make_pool(thread_counts[_i]);
    long sum = 0;
    tes_actor *a;
    ck_assert_int_eq(tes_actor_create(&a, p, &sum, NULL), 0);
    atomic_store(&gate, 0);
    tes_future *blocker, *quick, *slow;
    ck_assert_int_eq(tes_actor_call(&blocker, a, wait_gate, NULL), 0);
    ck_assert_int_eq(tes_actor_call(&quick, a, add, (void *)1), 0);
    ck_assert_int_eq(tes_actor_call(&slow, a, sleep_ms, (void *)400), 0);
    double t0 = now_s();
    atomic_store(&gate, 1);
    ck_assert_int_eq(tes_await(quick, NULL), 0);
    double took = now_s() - t0;
    ck_assert_msg(took < 0.3, "quick call waited %.3f s for the slow one", took);
    ck_assert(!tes_future_done(slow));
    ck_assert_int_eq(tes_await(slow, NULL), 0);
    tes_future_release(blocker);
    tes_future_release(quick);
    tes_future_release(slow);
    tes_actor_destroy(a);
    tes_pool_destroy(p);
}
END_TEST

struct flood {
    tes_actor *a;
    long calls;
};

/* One task floods an actor whose calls other workers may drain: frames are
 * allocated on one worker and freed on another, far past the per-worker
 * free lists, so they travel back through the pool's spare batches. */
static void *flood(void *arg)
{
    struct flood *fl = arg;
    for (long i = 0; i < fl->calls; i++)
        ck_assert_int_eq(tes_actor_call(NULL, fl->a, add, (void *)1), 0);
    tes_future *f;
    ck_assert_int_eq(tes_actor_call(&f, fl->a, add, (void *)0), 0);
    ck_assert_int_eq(tes_await(f, NULL), 0);
    tes_future_release(f);
    return NULL;
}

START_TEST(actor_flood_from_one_worker_recycles_frames)
{
    tes_pool *p = make_pool(thread_counts[_i]);
    long sum = 0;
    tes_actor *a;
    ck_assert_int_eq(tes_actor_create(&a, p, &sum, NULL), 0);
    struct flood fl = {a, 30000};
    for (int round = 0; round < 3; round++) {
        tes_future *f;
        ck_assert_int_eq(tes_spawn(&f, p, flood, &fl), 0);
        ck_assert_int_eq(tes_await(f, NULL), 0);
        tes_future_release(f);
    }
    tes_actor_destroy(a);
    ck_assert_int_eq(sum, 3 * 30000);
    tes_pool_destroy(p);
}
END_TEST

/* A caller that makes a call and then computes without ever looking for
 * work again (here: spins until the call has run) must not hold up the
 * call: the turn waits for its own worker first, and another worker takes
 * it over soon after. */
struct busy_caller {
    tes_actor *a;
    _Atomic int ran;
    pthread_t runner;
};

static void *note_runner(void *state, void *arg)
{
    struct busy_caller *b = state;
    (void)arg;
    b->runner = pthread_self();
    /* release: pairs with the caller's acquire load below. */
    atomic_store_explicit(&b->ran, 1, memory_order_release);
    return NULL;
}

static void *call_then_spin(void *arg)
{
    struct busy_caller *b = arg;
    ck_assert_int_eq(tes_actor_call(NULL, b->a, note_runner, NULL), 0);
    double t0 = now_s();
    while (!atomic_load_explicit(&b->ran, memory_order_acquire))
        if (now_s() - t0 > 10)
            return (void *)1; /* never ran: the turn was stuck */
    return pthread_equal(b->runner, pthread_self()) ? (void *)2 : NULL;
}

START_TEST(actor_turn_of_a_busy_caller_is_taken_over)
{
    tes_pool *p = make_pool(2);
    struct busy_caller b = {.ran = 0};
    ck_assert_int_eq(tes_actor_create(&b.a, p, &b, NULL), 0);
    /* Let the other worker park deeply first. */
    struct timespec nap = {0, 120 * 1000 * 1000};
    nanosleep(&nap, NULL);
    tes_future *f;
    void *r = (void *)3;
    ck_assert_int_eq(tes_spawn(&f, p, call_then_spin, &b), 0);
    ck_assert_int_eq(tes_await(f, &r), 0);
    tes_future_release(f);
    ck_assert_ptr_null(r); /* ran, and on the other worker */
    tes_actor_destroy(b.a);
    tes_pool_destroy(p);
}
END_TEST

/* One worker's queued turns are served oldest first: a caller that keeps
 * one actor busy (its calls are slower than the caller makes them, so its
 * turn keeps coming back) cannot starve another actor's turn queued before
 * it. The flood stops as soon as that other call has run; it must run
 * long before the flood's end. */
#define FLOOD_CALLS 200000

struct flooder {
    tes_actor *busy, *other;
    _Atomic int stop;
};

static void *slow_noop(void *state, void *arg)
{
    (void)state;
    (void)arg;
    double t0 = now_s();
    while (now_s() - t0 < 5e-6)
        ;
    return NULL;
}

/* An actor method that sets the flag its argument points to. */
static void *raise_flag(void *state, void *arg)
{
    (void)state;
    /* release: pairs with the acquire loads of whoever waits for it. */
    atomic_store_explicit((_Atomic int *)arg, 1, memory_order_release);
    return NULL;
}

static void *flood_until_stopped(void *arg)
{
    struct flooder *fl = arg;
    ck_assert_int_eq(tes_actor_call(NULL, fl->other, raise_flag, &fl->stop),
                     0);
    for (long i = 0; i < FLOOD_CALLS; i++) {
        /* acquire: pairs with raise_flag. */
        if (atomic_load_explicit(&fl->stop, memory_order_acquire))
            return NULL;
        ck_assert_int_eq(tes_actor_call(NULL, fl->busy, slow_noop, NULL), 0);
    }
    return (void *)1; /* the other actor's call waited for the whole flood */
}

START_TEST(actor_busy_actor_does_not_starve_an_earlier_turn)
{
    tes_pool *p = make_pool(2);
    struct flooder fl = {.stop = 0};
    ck_assert_int_eq(tes_actor_create(&fl.busy, p, NULL, NULL), 0);
    ck_assert_int_eq(tes_actor_create(&fl.other, p, &fl, NULL), 0);
    tes_future *f;
    void *r = (void *)2;
    ck_assert_int_eq(tes_spawn(&f, p, flood_until_stopped, &fl), 0);
    ck_assert_int_eq(tes_await(f, &r), 0);
    tes_future_release(f);
    ck_assert_ptr_null(r);
    tes_actor_destroy(fl.busy);
    tes_actor_destroy(fl.other);
    tes_pool_destroy(p);
}
END_TEST

/* A host thread lent to the pool may take over turns waiting for a busy
 * worker; the turns it does not run stay where a worker finds them, and
 * none is left behind when it leaves. */
struct two_calls {
    tes_actor *a, *b;
    tes_future *fb;
    _Atomic int ran_a, ran_b;
    _Atomic int fb_ready;
};

static void *call_two_then_spin(void *arg)
{
    struct two_calls *tc = arg;
    ck_assert_int_eq(tes_actor_call(NULL, tc->a, raise_flag, &tc->ran_a), 0);
    ck_assert_int_eq(tes_actor_call(&tc->fb, tc->b, raise_flag, &tc->ran_b),
                     0);
    /* release: hands fb to the main thread. */
    atomic_store_explicit(&tc->fb_ready, 1, memory_order_release);
    double t0 = now_s();
    while (!atomic_load_explicit(&tc->ran_a, memory_order_acquire) ||
           !atomic_load_explicit(&tc->ran_b, memory_order_acquire))
        if (now_s() - t0 > 10)
            return (void *)1; /* a call was left behind */
    return NULL;
}

START_TEST(actor_turns_taken_by_a_lent_thread_are_not_stranded)
{
    tes_pool *p = make_pool(1);
    struct two_calls tc = {.ran_a = 0, .ran_b = 0, .fb_ready = 0};
    ck_assert_int_eq(tes_actor_create(&tc.a, p, &tc, NULL), 0);
    ck_assert_int_eq(tes_actor_create(&tc.b, p, &tc, NULL), 0);
    tes_future *f;
    void *r = (void *)2;
    ck_assert_int_eq(tes_spawn(&f, p, call_two_then_spin, &tc), 0);
    while (!atomic_load_explicit(&tc.fb_ready, memory_order_acquire))
        sched_yield();
    /* The only worker spins: this thread takes its turns over. */
    ck_assert_int_eq(tes_pool_lend(p, tc.fb, -1), 0);
    ck_assert_int_eq(tes_await(f, &r), 0);
    ck_assert_ptr_null(r);
    tes_future_release(f);
    tes_future_release(tc.fb);
    tes_actor_destroy(tc.a);
    tes_actor_destroy(tc.b);
    tes_pool_destroy(p);
}
END_TEST

START_TEST(actor_rejects_bad_arguments)
{
    tes_pool *p = make_pool(1);
    tes_actor *a = (tes_actor *)1;
    ck_assert_int_eq(tes_actor_create(&a, NULL, NULL, NULL), -EINVAL);
    ck_assert_ptr_null(a);
    ck_assert_int_eq(tes_actor_create(NULL, p, NULL, NULL), -EINVAL);
    ck_assert_int_eq(tes_actor_create(&a, p, NULL, NULL), 0);
    tes_future *f = (tes_future *)1;
    ck_assert_int_eq(tes_actor_call(&f, NULL, add, NULL), -EINVAL);
    ck_assert_ptr_null(f);
    ck_assert_int_eq(tes_actor_call(&f, a, NULL, NULL), -EINVAL);
    tes_actor_destroy(a);
    tes_pool_destroy(p);
}
END_TEST

static Suite *actor_suite(void)
{
    Suite *s = suite_create("actor");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, actor_calls_from_8_threads_in_order_one_at_a_time, 0, 4);
    tcase_add_loop_test(tc, actor_calls_from_tasks_and_other_actors, 0, 4);
    tcase_add_test(tc, actor_calls_give_results_failures_and_can_be_cancelled);
    tcase_add_loop_test(tc, actor_destroy_runs_pending_calls_then_destructor, 0, 4);
    tcase_add_test(tc, actor_destroy_from_its_own_method);
    tcase_add_test(tc, actor_different_actors_run_in_parallel);
    tcase_add_loop_test(tc, actor_call_completes_before_the_calls_after_it, 0, 2);
    tcase_add_loop_test(tc, actor_flood_from_one_worker_recycles_frames, 0, 4);
    tcase_add_test(tc, actor_turn_of_a_busy_caller_is_taken_over);
    tcase_add_test(tc, actor_busy_actor_does_not_starve_an_earlier_turn);
    tcase_add_test(tc, actor_turns_taken_by_a_lent_thread_are_not_stranded);
    tcase_add_test(tc, actor_rejects_bad_arguments);
    suite_add_tcase(s, tc);
    return s;
}

TES_CHECK_MAIN(actor_suite)
