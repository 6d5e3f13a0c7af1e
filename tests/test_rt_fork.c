/*
 * test_rt_fork.c — structured fork/join (tes_fork, tes_join): fib and
 * nqueens against serial references at 1, 2, 4 and 16 workers; a fork
 * depth of 100,000 (nested, and flat past the deque's size); failures at
 * random depths reaching the root with their chains; a group cancelled
 * mid-way; forks inside actor calls, parallel loops and lent threads, mixed
 * with spawns; statistics; refusal outside tasks; and, in debug builds, the
 * rule checks (joins out of order, a frame forked twice, a task returning
 * with unjoined forks) aborting with a message.
 */
#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "suite_main.h"
#include "tessera.h"

static const int thread_counts[] = {1, 2, 4, 16};

static tes_pool *make_pool_stack(int threads, size_t stack)
{
    tes_pool *p = NULL;
    tes_pool_options o = TES_POOL_OPTIONS_INIT;
    o.threads = threads;
    o.name = "fork";
    o.stack_size = stack;
    ck_assert_int_eq(tes_pool_create(&p, &o), 0);
    return p;
}

static tes_pool *make_pool(int threads)
{
    return make_pool_stack(threads, 0);
}

/* Runs fn(arg) as a task named "root" of pool p from this thread; returns
 * its status and stores its result. */
static int run_root(tes_pool *p, void *(*fn)(void *), void *arg, void **r,
                    char *msg, size_t msg_size)
{
    tes_future *f;
    ck_assert_int_eq(tes_spawn_named(&f, p, "root", fn, arg), 0);
    int rc = tes_await(f, r);
    if (msg)
        snprintf(msg, msg_size, "%s", rc ? tes_future_error(f) : "");
    tes_future_release(f);
    return rc;
}

/* Check's assertions cost a system call each (they report their place to
 * the parent process): the hot task functions count surprises here
 * instead, and each test asserts that there were none. */
static _Atomic long surprises;
#define EXPECT(cond) ((cond) ? (void)0 : (void)atomic_fetch_add(&surprises, 1))

static void no_surprises(void)
{
    ck_assert_int_eq(atomic_exchange(&surprises, 0), 0);
}

/* ---- fib and nqueens ------------------------------------------------------ */

static long fib_serial(long n) { return n < 2 ? n : fib_serial(n - 1) + fib_serial(n - 2); }

static void *fib(void *arg)
{
    intptr_t n = (intptr_t)arg;
    if (n < 2)
        return arg;
    tes_task t;
    EXPECT((tes_fork(&t, fib, (void *)(n - 1))) == (0));
    intptr_t y = (intptr_t)fib((void *)(n - 2));
    void *x = NULL;
    EXPECT((tes_join(&t, &x)) == (0));
    return (void *)((intptr_t)x + y);
}

START_TEST(fork_fib_matches_serial)
{
    tes_pool *p = make_pool(thread_counts[_i]);
    for (long n = 0; n <= 25; n += 5) {
        void *r = NULL;
        ck_assert_int_eq(run_root(p, fib, (void *)(intptr_t)n, &r, NULL, 0), 0);
        ck_assert_int_eq((long)(intptr_t)r, fib_serial(n));
    }
    /* A fork's statistics: fib(n) forks fib(n + 1) - 1 tasks, counted as
     * spawns (the root came from outside: no worker spawned it) and, with
     * the root, as tasks run, whoever ran them. */
    tes_pool *q = make_pool(thread_counts[_i]);
    void *r;
    ck_assert_int_eq(run_root(q, fib, (void *)22, &r, NULL, 0), 0);
    tes_worker_stats st;
    ck_assert_int_eq(tes_pool_stats(q, &st, NULL, 0), thread_counts[_i]);
    ck_assert_int_eq((long)st.spawns, fib_serial(23) - 1);
    ck_assert_int_eq((long)st.tasks_run, fib_serial(23) - 1 + 1);
    tes_pool_destroy(q);
    tes_pool_destroy(p);
    no_surprises();
}
END_TEST

typedef struct nq {
    int n, row;
    unsigned cols, d1, d2;
} nq;

static long nq_serial(int n, int row, unsigned cols, unsigned d1, unsigned d2)
{
    if (row == n)
        return 1;
    unsigned all = (1u << n) - 1, avail = ~(cols | d1 | d2) & all;
    long s = 0;
    while (avail) {
        unsigned bit = avail & (0u - avail);
        avail ^= bit;
        s += nq_serial(n, row + 1, cols | bit, ((d1 | bit) << 1) & all,
                       (d2 | bit) >> 1);
    }
    return s;
}

/* One fork per legal placement, joined newest first (LIFO). */
static void *nqueens(void *arg)
{
    const nq *a = arg;
    if (a->row == a->n)
        return (void *)1;
    unsigned all = (1u << a->n) - 1, avail = ~(a->cols | a->d1 | a->d2) & all;
    nq kids[32];
    tes_task t[32];
    int k = 0;
    while (avail) {
        unsigned bit = avail & (0u - avail);
        avail ^= bit;
        kids[k] = (nq){a->n, a->row + 1, a->cols | bit,
                       ((a->d1 | bit) << 1) & all, (a->d2 | bit) >> 1};
        EXPECT((tes_fork(&t[k], nqueens, &kids[k])) == (0));
        k++;
    }
    intptr_t sum = 0;
    while (k-- > 0) {
        void *r;
        EXPECT((tes_join(&t[k], &r)) == (0));
        sum += (intptr_t)r;
    }
    return (void *)sum;
}

START_TEST(fork_nqueens_matches_serial)
{
    tes_pool *p = make_pool(thread_counts[_i]);
    for (int n = 4; n <= 10; n++) {
        nq root = {n, 0, 0, 0, 0};
        void *r;
        ck_assert_int_eq(run_root(p, nqueens, &root, &r, NULL, 0), 0);
        ck_assert_int_eq((long)(intptr_t)r, nq_serial(n, 0, 0, 0, 0));
    }
    tes_pool_destroy(p);
    no_surprises();
}
END_TEST

/* ---- depth -------------------------------------------------------------- */

/* A chain: each level forks the next and joins it; returns the depth. */
static void *chain(void *arg)
{
    intptr_t d = (intptr_t)arg;
    if (d == 0)
        return (void *)0;
    tes_task t;
    EXPECT((tes_fork(&t, chain, (void *)(d - 1))) == (0));
    void *r;
    EXPECT((tes_join(&t, &r)) == (0));
    return (void *)((intptr_t)r + 1);
}

static void *twice(void *arg)
{
    return (void *)(2 * (intptr_t)arg);
}

/* n forks at once in one task (past the deque's size when n is large),
 * joined newest first; returns the sum of 2i. */
static void *flat(void *arg)
{
    intptr_t n = (intptr_t)arg;
    tes_task *t = malloc((size_t)n * sizeof *t);
    EXPECT(t != NULL);
    for (intptr_t i = 0; i < n; i++)
        EXPECT((tes_fork(&t[i], twice, (void *)i)) == (0));
    intptr_t sum = 0;
    for (intptr_t i = n - 1; i >= 0; i--) {
        void *r;
        EXPECT((tes_join(&t[i], &r)) == (0));
        EXPECT(((intptr_t)r) == (2 * i));
        sum += (intptr_t)r;
    }
    free(t);
    return (void *)sum;
}

/* ThreadSanitizer keeps a stack trace of every access and cannot hold
 * one deeper than 65,536 calls: under it the nested chain is 20,000 deep
 * (the flat forks below still fill the deque 100,000 and 300,000 deep). */
#if defined(__SANITIZE_THREAD__)
#define NESTED 20000
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define NESTED 20000
#endif
#endif
#ifndef NESTED
#define NESTED 100000
#endif

START_TEST(fork_depth_100000)
{
    int threads = _i == 0 ? 1 : 2;
    /* 100,000 nested runs: the stack grows by the frames of the task
     * function and of the join, a few hundred bytes a level. */
    tes_pool *p = make_pool_stack(threads, (size_t)512 << 20);
    void *r;
    ck_assert_int_eq(run_root(p, chain, (void *)NESTED, &r, NULL, 0), 0);
    ck_assert_int_eq((intptr_t)r, NESTED);
    /* Flat: 100,000 and 300,000 forks outstanding in one task, the
     * second more than the deque holds (the rest run at their joins). */
    for (intptr_t n = 100000; n <= 300000; n += 200000) {
        ck_assert_int_eq(run_root(p, flat, (void *)n, &r, NULL, 0), 0);
        ck_assert_int_eq((intptr_t)r, n * (n - 1));
    }
    tes_pool_destroy(p);
    no_surprises();
}
END_TEST

/* ---- failures --------------------------------------------------------------- */

/*
 * A binary tree of forks of depth DEPTH. A node forks its two children,
 * joins the second then the first; a leaf in the random set `bad` fails
 * with "leaf <id>"; an inner node whose child failed fails with
 * "level <depth>" chained to the message of its first failed child in
 * join order (the second, else the first). The serial reference computes
 * the same message.
 */
#define DEPTH 12
static unsigned char bad[1 << DEPTH];

typedef struct node {
    int depth; /* 0 at the root */
    int id;    /* heap numbering: children 2id+1, 2id+2 */
} node;

static char *expect_msg(int depth, int id)
{
    if (depth == DEPTH) {
        int leaf = id - ((1 << DEPTH) - 1);
        if (!bad[leaf])
            return NULL;
        char *m = malloc(32);
        snprintf(m, 32, "leaf %d", leaf);
        return m;
    }
    char *a = expect_msg(depth + 1, 2 * id + 1);
    char *b = expect_msg(depth + 1, 2 * id + 2);
    char *why = b ? b : a;
    char *m = NULL;
    if (why) {
        size_t n = strlen(why) + 32;
        m = malloc(n);
        snprintf(m, n, "level %d: %s", depth, why);
    }
    free(a);
    free(b);
    return m;
}

static void *tree(void *arg)
{
    const node *me = arg;
    if (me->depth == DEPTH) {
        int leaf = me->id - ((1 << DEPTH) - 1);
        if (bad[leaf])
            return tes_fail(-EIO, "leaf %d", leaf);
        return (void *)1;
    }
    node kid[2] = {{me->depth + 1, 2 * me->id + 1},
                   {me->depth + 1, 2 * me->id + 2}};
    tes_task t[2];
    EXPECT((tes_fork(&t[0], tree, &kid[0])) == (0));
    EXPECT((tes_fork(&t[1], tree, &kid[1])) == (0));
    void *r1, *r0;
    int e1 = tes_join(&t[1], &r1);
    int e0 = tes_join(&t[0], &r0);
    if (e1) {
        EXPECT((e1) == (-EIO));
        EXPECT(r1 == NULL);
        EXPECT(tes_task_error(&t[1]) != NULL);
        return tes_fail_from_task(&t[1], "level %d", me->depth);
    }
    if (e0) {
        EXPECT((e0) == (-EIO));
        return tes_fail_from_task(&t[0], "level %d", me->depth);
    }
    EXPECT(tes_task_error(&t[0]) == NULL);
    return (void *)((intptr_t)r0 + (intptr_t)r1);
}

START_TEST(fork_failures_reach_the_root_with_their_chain)
{
    tes_pool *p = make_pool(thread_counts[_i]);
    unsigned seed = 0x5eed0000u + (unsigned)_i;
    for (int round = 0; round < 8; round++) {
        memset(bad, 0, sizeof bad);
        /* none, then one failing leaf, then a few, then many */
        int nbad = round == 0 ? 0 : round < 4 ? round : 40 * round;
        for (int k = 0; k < nbad; k++) {
            seed = seed * 1103515245u + 12345u;
            bad[(seed >> 8) % (1u << DEPTH)] = 1;
        }
        char *want = expect_msg(0, 0);
        node root = {0, 0};
        void *r = NULL;
        char got[256];
        int rc = run_root(p, tree, &root, &r, got, sizeof got);
        if (!want) {
            ck_assert_int_eq(rc, 0);
            ck_assert_int_eq((intptr_t)r, 1 << DEPTH);
        } else {
            ck_assert_int_eq(rc, -EIO);
            char full[300];
            snprintf(full, sizeof full, "root: %s", want);
            ck_assert_str_eq(got, full);
        }
        free(want);
    }
    tes_pool_destroy(p);
    no_surprises();
}
END_TEST

/* A forked task that fails, in a frame forked again: the message lives
 * until then; a success afterwards has none. Failures of the forker that
 * are recorded before or after forks belong to it, not to its children. */
static void *fails(void *arg)
{
    return tes_fail((int)(intptr_t)arg, "code %d", (int)(intptr_t)arg);
}

static void *ok(void *arg)
{
    return arg;
}

static void *fail_before_joins(void *arg)
{
    (void)arg;
    tes_task a, b;
    ck_assert_int_eq(tes_fork(&a, ok, (void *)7), 0);
    tes_fail(-EPERM, "the forker itself");
    ck_assert_int_eq(tes_fork(&b, ok, (void *)8), 0);
    void *r;
    ck_assert_int_eq(tes_join(&b, &r), 0);
    ck_assert_ptr_eq(r, (void *)8);
    ck_assert_int_eq(tes_join(&a, &r), 0);
    ck_assert_ptr_eq(r, (void *)7);
    return NULL;
}

static void *messages(void *arg)
{
    (void)arg;
    tes_task t;
    void *r = (void *)1;
    ck_assert_int_eq(tes_fork(&t, fails, (void *)-EIO), 0);
    ck_assert_int_eq(tes_join(&t, &r), -EIO);
    ck_assert_ptr_null(r);
    ck_assert_str_eq(tes_task_error(&t), "code -5");
    ck_assert_int_eq(tes_fork(&t, fails, (void *)5), 0); /* positive: -5 */
    ck_assert_int_eq(tes_join(&t, &r), -5);
    ck_assert_int_eq(tes_fork(&t, fails, (void *)0), 0); /* 0: TES_EFAIL */
    ck_assert_int_eq(tes_join(&t, NULL), TES_EFAIL);
    ck_assert_str_eq(tes_task_error(&t), "code 0");
    ck_assert_int_eq(tes_fork(&t, ok, (void *)3), 0);
    ck_assert_int_eq(tes_join(&t, &r), 0);
    ck_assert_ptr_eq(r, (void *)3);
    ck_assert_ptr_null(tes_task_error(&t));
    /* The forker's own failure, between its forks, is its own. */
    ck_assert_int_eq(tes_fork(&t, fail_before_joins, NULL), 0);
    ck_assert_int_eq(tes_join(&t, &r), -EPERM);
    ck_assert_str_eq(tes_task_error(&t), "the forker itself");
    return tes_fail_from_task(&t, "outer");
}

START_TEST(fork_failure_messages_and_codes)
{
    tes_pool *p = make_pool(thread_counts[_i]);
    char msg[128];
    void *r;
    ck_assert_int_eq(run_root(p, messages, NULL, &r, msg, sizeof msg), -EPERM);
    ck_assert_str_eq(msg, "root: outer: the forker itself");
    tes_pool_destroy(p);
    no_surprises();
}
END_TEST

/* Forks that another worker runs: their failures, and the cancellation of
 * the task that forked them, are theirs as when run inline. The forker
 * naps before joining, so that the idle worker (which asked for work)
 * steals the child; where it ran is recorded. */
static _Atomic int child_worker;

static void *stolen_child(void *arg)
{
    atomic_store(&child_worker, tes_worker_index());
    if (arg == (void *)1) { /* wait for the cancellation, napping */
        for (int i = 0; i < 2000 && !tes_cancelled(); i++) {
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
        if (tes_cancelled())
            return tes_fail(-ECANCELED, "saw it on worker %d",
                            tes_worker_index());
        return NULL;
    }
    return tes_fail(-EIO, "failed on worker %d", tes_worker_index());
}

static void *fork_and_nap(void *arg)
{
    tes_task t;
    tes_fork(&t, stolen_child, arg);
    struct timespec ts = {0, 20000000};
    nanosleep(&ts, NULL);
    int rc = tes_join(&t, NULL);
    EXPECT(rc == (arg == (void *)1 ? -ECANCELED : -EIO));
    return tes_fail_from_task(&t, "joined on worker %d", tes_worker_index());
}

START_TEST(fork_stolen_forks_fail_and_see_cancellation)
{
    tes_pool *p = make_pool(2);
    int stolen = 0;
    for (int k = 0; k < 10; k++) {
        atomic_store(&child_worker, -1);
        char msg[128];
        void *r;
        ck_assert_int_eq(run_root(p, fork_and_nap, NULL, &r, msg, sizeof msg),
                         -EIO);
        int joiner = -1, runner = -1;
        ck_assert_int_eq(sscanf(msg, "root: joined on worker %d: failed on "
                                     "worker %d",
                                &joiner, &runner), 2);
        ck_assert_int_eq(runner, atomic_load(&child_worker));
        stolen += joiner != runner;
    }
    ck_assert_int_gt(stolen, 0);
    stolen = 0;
    for (int k = 0; k < 10; k++) {
        atomic_store(&child_worker, -1);
        tes_group *g;
        ck_assert_int_eq(tes_group_create(&g, p, 0), 0);
        tes_future *f;
        ck_assert_int_eq(tes_group_spawn(&f, g, "member", fork_and_nap,
                                         (void *)1), 0);
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
        tes_group_cancel(g);
        ck_assert_int_eq(tes_group_wait(g), -ECANCELED);
        const char *m = tes_future_error(f);
        ck_assert_msg(strstr(m, "member: joined on worker ") == m &&
                          strstr(m, ": saw it on worker "),
                      "%s", m);
        int joiner = -1, runner = -1;
        sscanf(m, "member: joined on worker %d: saw it on worker %d", &joiner,
               &runner);
        stolen += joiner != runner;
        tes_future_release(f);
        tes_group_destroy(g);
    }
    /* The idle worker asked for work before the fork: the child was
     * offered to it, and it took it (nearly) every time. */
    ck_assert_int_gt(stolen, 0);
    tes_pool_destroy(p);
    no_surprises();
}
END_TEST

/* ---- cancellation ------------------------------------------------------------- */

static _Atomic long visited;
static _Atomic int started;

/* A fork/join recursion that stops where it finds its task cancelled. */
static void *patient_tree(void *arg)
{
    intptr_t d = (intptr_t)arg;
    atomic_fetch_add(&visited, 1);
    if (tes_cancelled())
        return tes_fail(-ECANCELED, "stopped at depth %d", (int)d);
    if (d == 0) {
        struct timespec ts = {0, 20000}; /* a leaf of real work */
        nanosleep(&ts, NULL);
        return (void *)1;
    }
    tes_task a, b;
    tes_fork(&a, patient_tree, (void *)(d - 1));
    tes_fork(&b, patient_tree, (void *)(d - 1));
    void *ra, *rb;
    int eb = tes_join(&b, &rb), ea = tes_join(&a, &ra);
    if (eb)
        return tes_fail_from_task(&b, "depth %d", (int)d);
    if (ea)
        return tes_fail_from_task(&a, "depth %d", (int)d);
    return (void *)((intptr_t)ra + (intptr_t)rb);
}

static void *member_task(void *arg)
{
    atomic_fetch_add(&started, 1);
    return patient_tree(arg);
}

START_TEST(fork_group_cancelled_midway_stops_the_forked_trees)
{
    tes_pool *p = make_pool(thread_counts[_i]);
    atomic_store(&visited, 0);
    atomic_store(&started, 0);
    tes_group *g;
    ck_assert_int_eq(tes_group_create(&g, p, 0), 0);
    const int members = 64, depth = 10; /* 2047 nodes, ~1024 naps each */
    tes_future *fs[64];
    for (int i = 0; i < members; i++)
        ck_assert_int_eq(tes_group_spawn(&fs[i], g, "member", member_task,
                                         (void *)(intptr_t)depth), 0);
    while (atomic_load(&visited) < 200)
        sched_yield();
    tes_group_cancel(g);
    ck_assert_int_eq(tes_group_wait(g), -ECANCELED);
    long full = (long)members * ((2 << depth) - 1);
    ck_assert_int_lt(atomic_load(&visited), full / 2);
    int cancelled = 0, unstarted = 0;
    for (int i = 0; i < members; i++) {
        ck_assert(tes_future_done(fs[i]));
        int rc = tes_await(fs[i], NULL);
        if (rc == -ECANCELED) {
            cancelled++;
            const char *m = tes_future_error(fs[i]);
            /* started ones stopped in their forks, the rest never ran */
            if (strcmp(m, "member: cancelled with its group") == 0)
                unstarted++;
            else
                ck_assert_msg(strncmp(m, "member: ", 8) == 0 &&
                                  strstr(m, "stopped at depth"),
                              "%s", m);
        }
        tes_future_release(fs[i]);
    }
    ck_assert_int_gt(cancelled, 0);
    ck_assert_int_eq(unstarted, members - atomic_load(&started));
    tes_group_destroy(g);
    tes_pool_destroy(p);
    no_surprises();
}
END_TEST

/* ---- forks in other contexts ------------------------------------------------ */

/* An actor whose method computes fib by fork/join and appends n to a log:
 * the calls stay in order and each result is right. */
typedef struct fib_actor {
    long log[64];
    int n;
} fib_actor;

static void *fib_method(void *state, void *arg)
{
    fib_actor *a = state;
    a->log[a->n++] = (long)(intptr_t)arg;
    return fib(arg);
}

static void *call_actor(void *arg)
{
    tes_actor *actor = arg;
    tes_future *f[16];
    for (int i = 0; i < 16; i++)
        ck_assert_int_eq(tes_actor_call(&f[i], actor, fib_method,
                                        (void *)(intptr_t)(10 + i)), 0);
    for (int i = 0; i < 16; i++) {
        void *r;
        ck_assert_int_eq(tes_await(f[i], &r), 0);
        ck_assert_int_eq((long)(intptr_t)r, fib_serial(10 + i));
        tes_future_release(f[i]);
    }
    return NULL;
}

START_TEST(fork_inside_actor_calls)
{
    tes_pool *p = make_pool(thread_counts[_i]);
    fib_actor st = {{0}, 0};
    tes_actor *a;
    ck_assert_int_eq(tes_actor_create(&a, p, &st, NULL), 0);
    void *r;
    ck_assert_int_eq(run_root(p, call_actor, a, &r, NULL, 0), 0);
    /* From outside too, after the task's calls. */
    ck_assert_ptr_null(call_actor(a));
    tes_actor_destroy(a);
    ck_assert_int_eq(st.n, 32);
    for (int i = 0; i < 32; i++)
        ck_assert_int_eq(st.log[i], 10 + i % 16);
    tes_pool_destroy(p);
    no_surprises();
}
END_TEST

static long pf_out[200];

static void pf_body(size_t b, size_t e, void *ctx)
{
    (void)ctx;
    tes_pool *p = tes_current_pool();
    ck_assert_ptr_nonnull(p);
    for (size_t i = b; i < e; i++)
        pf_out[i] = (long)(intptr_t)fib((void *)(intptr_t)(i % 20));
}

static void *pf_root(void *arg)
{
    ck_assert_int_eq(tes_parallel_for(tes_current_pool(), 0, 200, 3, pf_body,
                                      arg), 0);
    return NULL;
}

START_TEST(fork_inside_parallel_for)
{
    tes_pool *p = make_pool(thread_counts[_i]);
    memset(pf_out, 0, sizeof pf_out);
    ck_assert_int_eq(tes_parallel_for(p, 0, 200, 7, pf_body, NULL), 0);
    for (int i = 0; i < 200; i++)
        ck_assert_int_eq(pf_out[i], fib_serial(i % 20));
    memset(pf_out, 0, sizeof pf_out);
    void *r;
    ck_assert_int_eq(run_root(p, pf_root, NULL, &r, NULL, 0), 0);
    for (int i = 0; i < 200; i++)
        ck_assert_int_eq(pf_out[i], fib_serial(i % 20));
    tes_pool_destroy(p);
    no_surprises();
}
END_TEST

/* Forks and spawns mixed: a forked task spawns and awaits, a spawned task
 * forks, detached spawns sit in the deque above forks when they are
 * joined, futures are awaited out of order. */
static void *spawner(void *arg)
{
    intptr_t n = (intptr_t)arg;
    tes_pool *p = tes_current_pool();
    tes_future *f[4];
    for (int i = 0; i < 4; i++)
        EXPECT((tes_spawn(&f[i], p, fib, (void *)(n + i))) == (0));
    intptr_t sum = 0;
    for (int i = 0; i < 4; i++) { /* oldest first: not the deque's order */
        void *r;
        EXPECT((tes_await(f[i], &r)) == (0));
        sum += (intptr_t)r;
        tes_future_release(f[i]);
    }
    return (void *)sum;
}

static void *mixed(void *arg)
{
    (void)arg;
    tes_task a, b;
    EXPECT((tes_fork(&a, spawner, (void *)10)) == (0));
    EXPECT((tes_fork(&b, fib, (void *)15)) == (0));
    for (int i = 0; i < 8; i++) /* above the forks, never awaited */
        EXPECT((tes_spawn(NULL, tes_current_pool(), fib, (void *)12)) == (0));
    void *ra, *rb;
    EXPECT((tes_join(&b, &rb)) == (0));
    EXPECT((tes_join(&a, &ra)) == (0));
    EXPECT(((intptr_t)rb) == (fib_serial(15)));
    EXPECT(((intptr_t)ra) == (fib_serial(10) + fib_serial(11) +
                                       fib_serial(12) + fib_serial(13)));
    return (void *)1;
}

START_TEST(fork_mixed_with_spawn_and_await)
{
    tes_pool *p = make_pool(thread_counts[_i]);
    for (int k = 0; k < 20; k++) {
        void *r;
        ck_assert_int_eq(run_root(p, mixed, NULL, &r, NULL, 0), 0);
        ck_assert_ptr_eq(r, (void *)1);
    }
    tes_pool_destroy(p);
    no_surprises();
}
END_TEST

static void *lent_root(void *arg)
{
    (void)arg;
    return fib((void *)20);
}

START_TEST(fork_on_a_lent_thread)
{
    tes_pool *p = make_pool(1);
    /* Keep the one worker busy so that the lent thread runs the root. */
    tes_future *busy, *f;
    ck_assert_int_eq(tes_spawn(&busy, p, patient_tree, (void *)6), 0);
    ck_assert_int_eq(tes_spawn(&f, p, lent_root, NULL), 0);
    ck_assert_int_eq(tes_pool_lend(p, f, -1), 0);
    void *r;
    ck_assert_int_eq(tes_await(f, &r), 0);
    ck_assert_int_eq((long)(intptr_t)r, fib_serial(20));
    ck_assert_int_eq(tes_await(busy, NULL), 0);
    tes_future_release(f);
    tes_future_release(busy);
    tes_pool_destroy(p);
    no_surprises();
}
END_TEST

/* ---- refusals ------------------------------------------------------------------ */

static _Atomic int hook_rc;

static void hook(tes_pool *p, int worker, void *ctx)
{
    (void)p;
    (void)worker;
    (void)ctx;
    tes_task t;
    atomic_store(&hook_rc, tes_fork(&t, ok, NULL));
}

START_TEST(fork_outside_a_task_is_refused)
{
    tes_task t;
    ck_assert_int_eq(tes_fork(&t, ok, NULL), -EINVAL);
    ck_assert_int_eq(tes_join(&t, NULL), -EINVAL);
    ck_assert_int_eq(tes_join(NULL, NULL), -EINVAL);
    ck_assert_ptr_null(tes_task_error(NULL));
    atomic_store(&hook_rc, 1);
    tes_pool *p;
    tes_pool_options o = TES_POOL_OPTIONS_INIT;
    o.threads = 1;
    o.on_thread_start = hook;
    ck_assert_int_eq(tes_pool_create(&p, &o), 0);
    void *r;
    ck_assert_int_eq(run_root(p, fib, (void *)5, &r, NULL, 0), 0);
    ck_assert_int_eq(atomic_load(&hook_rc), -EINVAL);
    tes_pool_destroy(p);
    no_surprises();
}
END_TEST

static void *bad_arguments(void *arg)
{
    (void)arg;
    tes_task t;
    ck_assert_int_eq(tes_fork(NULL, ok, NULL), -EINVAL);
    ck_assert_int_eq(tes_fork(&t, NULL, NULL), -EINVAL);
    ck_assert_int_eq(tes_join(NULL, NULL), -EINVAL);
    return (void *)1;
}

START_TEST(fork_bad_arguments_are_refused_inside_a_task)
{
    tes_pool *p = make_pool(2);
    void *r;
    ck_assert_int_eq(run_root(p, bad_arguments, NULL, &r, NULL, 0), 0);
    tes_pool_destroy(p);
    no_surprises();
}
END_TEST

/* ---- the rules in debug builds --------------------------------------------- */

#ifdef TES_DEBUG
static void *join_out_of_order(void *arg)
{
    (void)arg;
    tes_task a, b;
    tes_fork(&a, ok, NULL);
    tes_fork(&b, ok, NULL);
    tes_join(&a, NULL); /* b was forked after a: b first */
    tes_join(&b, NULL);
    return NULL;
}

static void *fork_twice(void *arg)
{
    (void)arg;
    tes_task a;
    tes_fork(&a, ok, NULL);
    tes_fork(&a, ok, NULL);
    tes_join(&a, NULL);
    return NULL;
}

static void *return_unjoined(void *arg)
{
    (void)arg;
    static tes_task a; /* outlives the task: only the rule is broken */
    tes_fork(&a, ok, NULL);
    return NULL;
}

static void run_broken(void *(*fn)(void *))
{
    tes_pool *p = make_pool(2);
    void *r;
    run_root(p, fn, NULL, &r, NULL, 0); /* aborts */
    tes_pool_destroy(p);
}

START_TEST(fork_debug_checks_non_lifo_join)
{
    run_broken(join_out_of_order);
}
END_TEST

START_TEST(fork_debug_checks_a_frame_forked_twice)
{
    run_broken(fork_twice);
}
END_TEST

START_TEST(fork_debug_checks_a_task_returning_with_unjoined_forks)
{
    run_broken(return_unjoined);
}
END_TEST

/* In the same builds, following the rules never aborts: everything above
 * ran with the checks on. */
#endif

#ifndef FORK_SUITE_NAME
#define FORK_SUITE_NAME "fork"
#endif

static Suite *fork_suite(void)
{
    Suite *s = suite_create(FORK_SUITE_NAME);
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, fork_fib_matches_serial, 0, 4);
    tcase_add_loop_test(tc, fork_nqueens_matches_serial, 0, 4);
    tcase_add_loop_test(tc, fork_depth_100000, 0, 2);
    tcase_add_loop_test(tc, fork_failures_reach_the_root_with_their_chain, 0, 4);
    tcase_add_loop_test(tc, fork_failure_messages_and_codes, 0, 4);
    tcase_add_loop_test(tc, fork_group_cancelled_midway_stops_the_forked_trees, 0, 4);
    tcase_add_test(tc, fork_stolen_forks_fail_and_see_cancellation);
    tcase_add_loop_test(tc, fork_inside_actor_calls, 0, 4);
    tcase_add_loop_test(tc, fork_inside_parallel_for, 0, 4);
    tcase_add_loop_test(tc, fork_mixed_with_spawn_and_await, 0, 4);
    tcase_add_test(tc, fork_on_a_lent_thread);
    tcase_add_test(tc, fork_outside_a_task_is_refused);
    tcase_add_test(tc, fork_bad_arguments_are_refused_inside_a_task);
    suite_add_tcase(s, tc);
#ifdef TES_DEBUG
    TCase *rules = tcase_create("rules");
    tcase_set_timeout(rules, 60);
    tcase_add_test_raise_signal(rules, fork_debug_checks_non_lifo_join, SIGABRT);
    tcase_add_test_raise_signal(rules, fork_debug_checks_a_frame_forked_twice,
                                SIGABRT);
    tcase_add_test_raise_signal(
        rules, fork_debug_checks_a_task_returning_with_unjoined_forks, SIGABRT);
    suite_add_tcase(s, rules);
#endif
    return s;
}

TES_CHECK_MAIN(fork_suite)
