/*
 * test_rt_chaos.c — the runtime under a randomized load (issue 15): a
 * million operations (TES_CHAOS_OPS; 300,000 under ThreadSanitizer) drawn
 * from a fixed seed (TES_CHAOS_SEED), printed with every failure: spawn,
 * await, wait-all and wait-any with timeouts, cancel, groups, dependencies,
 * actor calls (from outside threads and tasks, and between actors on
 * different pools), fork/join trees, parallel_for and parallel_reduce,
 * failing tasks, lent threads, and pools destroyed with work queued; on
 * pools of 1, 2, 3 and 16 workers at once, by four outside threads and by
 * the tasks themselves.
 *
 * Invariants checked: every task runs at most once, and exactly once when
 * its future says it completed normally; every wait that covers a future
 * (await, wait-all, wait-any, group wait, lend until, a dependency, pool
 * destroy) returns only when that future is done; every failure reaches
 * whoever awaits it with its code and its chain of messages; actor calls
 * of one caller run in the order they were made; memory stays bounded (in
 * the plain build: the peak RSS grows by little after the first fifth);
 * nothing leaks (AddressSanitizer); and no hang: a watchdog dumps every
 * worker's state (tes_pool_dump) and aborts when nothing moves for a while.
 * Tasks are honest: none waits for a flag another task sets; they wait only
 * through the runtime.
 */
#include <check.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "suite_main.h"
#include "tessera.h"

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif
#if defined(__SANITIZE_THREAD__)
#define DEFAULT_OPS 300000L
#else
#define DEFAULT_OPS 1000000L
#endif

#define NPOOLS 4
static const int pool_threads[NPOOLS] = {1, 2, 3, 16};
static tes_pool *pools[NPOOLS];
#define NACTORS NPOOLS /* actor k lives on pool k */
static tes_actor *actors[NACTORS];
#define NDRIVERS 4

static unsigned long long seed;
static long target;
static _Atomic long ops;
static _Atomic int failed;
static char failure[768];
static pthread_mutex_t failure_lock = PTHREAD_MUTEX_INITIALIZER;

/* Records the first broken invariant (with the seed) and stops the run;
 * the main thread fails the test with it. Check's own assertions are not
 * used off the main thread: each costs a system call. */
static void chaos_fail(int line, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "chaos (seed %llu): line %d: %s\n", seed, line, msg);
    pthread_mutex_lock(&failure_lock);
    if (!atomic_load(&failed))
        snprintf(failure, sizeof failure, "seed %llu: line %d: %s", seed,
                 line, msg);
    atomic_store(&failed, 1);
    pthread_mutex_unlock(&failure_lock);
}

#define CHECK(cond, ...)                                                      \
    do {                                                                      \
        if (!(cond))                                                          \
            chaos_fail(__LINE__, __VA_ARGS__);                                \
    } while (0)

static inline void op(void)
{
    atomic_fetch_add_explicit(&ops, 1, memory_order_relaxed);
}

static bool more(void)
{
    return atomic_load_explicit(&ops, memory_order_relaxed) < target &&
           !atomic_load_explicit(&failed, memory_order_relaxed);
}

static uint64_t rnd(uint64_t *s)
{
    uint64_t x = *s; /* xorshift64* */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545f4914f6cdd1dull;
}

static unsigned pick(uint64_t *s, unsigned n)
{
    return (unsigned)(rnd(s) >> 33) % n;
}

static bool chance(uint64_t *s, unsigned one_in)
{
    return pick(s, one_in) == 0;
}

/* ---- jobs ------------------------------------------------------------------ */

/* A task's record: what it should do and what it did. */
typedef struct job {
    uint32_t id;
    bool fail;     /* fails with -EIO */
    bool detached; /* nobody awaits it: it frees itself */
    int nest;      /* how deep it may start operations of its own */
    _Atomic int ran;
    /* The last sequence number of this job's calls each actor ran (the
     * method checks that they only grow). */
    _Atomic long last_seq[NACTORS];
} job;

static _Atomic uint32_t next_id;
static _Atomic long detached_spawned, detached_ran;

static uintptr_t expect_of(uint32_t id)
{
    return (uintptr_t)id * 2654435761u + 7;
}

static job *job_new(uint64_t *s, int nest)
{
    job *j = calloc(1, sizeof *j);
    if (!j)
        abort();
    j->id = atomic_fetch_add(&next_id, 1);
    j->fail = chance(s, 12);
    j->nest = nest > 0 && chance(s, 4) ? nest : 0;
    for (int k = 0; k < NACTORS; k++)
        atomic_init(&j->last_seq[k], -1);
    return j;
}

/* A context that makes operations: an outside driver, or a task. */
typedef struct pend {
    tes_future *f;
    job *j;
} pend;

#define RING 6
typedef struct ctx {
    uint64_t rng;
    int depth;        /* how deep the jobs it spawns may nest */
    bool outside;     /* an outside thread (may lend, make pools) */
    job *me;          /* the caller record for actor calls */
    long seq;         /* its next actor call number */
    pend ring[RING];  /* futures not awaited yet */
    int n;
} ctx;

static void one_op(ctx *c);
static void drain(ctx *c);

static void nested_ops(job *j)
{
    ctx c = {.rng = expect_of(j->id) | 1, .depth = j->nest - 1, .me = j};
    int n = 1 + (int)pick(&c.rng, 4);
    for (int i = 0; i < n && more(); i++)
        one_op(&c);
    drain(&c);
}

static void *job_fn(void *arg)
{
    job *j = arg;
    CHECK(atomic_fetch_add(&j->ran, 1) == 0, "job %u ran twice", j->id);
    if (j->nest)
        nested_ops(j);
    void *r;
    uint32_t id = j->id;
    if (tes_cancelled())
        r = tes_fail(-ECANCELED, "job %u saw the cancel", id);
    else if (j->fail)
        r = tes_fail(-EIO, "job %u failed", id);
    else
        r = (void *)expect_of(id);
    if (j->detached) {
        atomic_fetch_add(&detached_ran, 1);
        free(j);
    }
    return r;
}

/* The outcome of awaited job j's future f (rc, result r), checked; what
 * `where` waited for it. */
static void check_job(const job *j, tes_future *f, int rc, void *r,
                      const char *where)
{
    CHECK(tes_future_done(f), "%s returned, job %u not done", where, j->id);
    CHECK(tes_future_status(f) == rc, "%s: job %u status %d, await %d",
          where, j->id, tes_future_status(f), rc);
    const char *m = tes_future_error(f);
    int ran = atomic_load(&j->ran);
    char want[96];
    if (rc == 0) {
        CHECK(ran == 1, "job %u completed, ran %d times", j->id, ran);
        CHECK(r == (void *)expect_of(j->id), "job %u: wrong result", j->id);
        CHECK(!m, "job %u: success with a message", j->id);
    } else if (rc == -EIO) {
        snprintf(want, sizeof want, "job: job %u failed", j->id);
        CHECK(ran == 1 && j->fail, "job %u failed, ran %d", j->id, ran);
        CHECK(m && !strcmp(m, want), "job %u: message '%s', not '%s'", j->id,
              m ? m : "(none)", want);
        CHECK(!r, "job %u: failure with a result", j->id);
    } else if (rc == -ECANCELED) {
        snprintf(want, sizeof want, "job: job %u saw the cancel", j->id);
        bool before = ran == 0 && m &&
                      (!strcmp(m, "job: cancelled") ||
                       !strcmp(m, "job: cancelled with its group"));
        bool during = ran == 1 && m && !strcmp(m, want);
        CHECK(before || during, "job %u cancelled: ran %d, message '%s'",
              j->id, ran, m ? m : "(none)");
    } else {
        CHECK(0, "job %u: unexpected code %d", j->id, rc);
    }
}

static tes_pool *some_pool(ctx *c)
{
    return pools[pick(&c->rng, NPOOLS)];
}

/* Awaits and checks ring entry i, then drops it. */
static void settle(ctx *c, int i)
{
    pend p = c->ring[i];
    c->ring[i] = c->ring[--c->n];
    void *r = (void *)1;
    int rc = tes_await(p.f, &r);
    op();
    check_job(p.j, p.f, rc, r, "await");
    tes_future_release(p.f);
    free(p.j);
}

static void drain(ctx *c)
{
    while (c->n > 0)
        settle(c, c->n - 1);
}

static void keep(ctx *c, tes_future *f, job *j)
{
    if (c->n == RING)
        settle(c, (int)pick(&c->rng, RING));
    c->ring[c->n++] = (pend){f, j};
}

/* ---- operations --------------------------------------------------------------- */

static void op_spawn(ctx *c)
{
    job *j = job_new(&c->rng, c->depth);
    tes_pool *p = some_pool(c);
    if (chance(&c->rng, 6)) {
        j->detached = true;
        atomic_fetch_add(&detached_spawned, 1);
        int rc = tes_spawn_named(NULL, p, "job", job_fn, j);
        op();
        CHECK(rc == 0, "detached spawn: %d", rc);
        return;
    }
    tes_future *f;
    int rc = tes_spawn_named(&f, p, "job", job_fn, j);
    op();
    CHECK(rc == 0 && f, "spawn: %d", rc);
    keep(c, f, j);
}

static void op_cancel(ctx *c)
{
    if (!c->n)
        return op_spawn(c);
    pend *p = &c->ring[pick(&c->rng, (unsigned)c->n)];
    int rc = tes_cancel(p->f);
    op();
    CHECK(rc == 0 || (rc == -EALREADY && tes_future_done(p->f)),
          "cancel: %d", rc);
}

static void op_wait_any(ctx *c)
{
    if (!c->n)
        return op_spawn(c);
    tes_future *fs[RING];
    for (int i = 0; i < c->n; i++)
        fs[i] = c->ring[i].f;
    static const long timeouts[] = {0, 0, 1, 3};
    size_t ready = 99;
    int rc = tes_wait_any(fs, (size_t)c->n, timeouts[pick(&c->rng, 4)],
                          &ready);
    op();
    if (rc == 0) {
        CHECK(ready < (size_t)c->n && tes_future_done(fs[ready]),
              "wait-any returned %zu, not done", ready);
        settle(c, (int)ready);
    } else {
        CHECK(rc == -ETIMEDOUT && ready == 99, "wait-any: %d", rc);
    }
}

static void op_wait_all(ctx *c)
{
    if (!c->n)
        return op_spawn(c);
    tes_future *fs[RING];
    for (int i = 0; i < c->n; i++)
        fs[i] = c->ring[i].f;
    int rc = tes_wait_all(fs, (size_t)c->n);
    op();
    int first = 0;
    for (int i = 0; i < c->n; i++) {
        CHECK(tes_future_done(fs[i]), "wait-all returned, %d not done", i);
        if (!first)
            first = tes_future_status(fs[i]);
    }
    CHECK(rc == first, "wait-all: %d, first failure %d", rc, first);
    drain(c);
}

static void op_group(ctx *c)
{
    tes_group *g;
    unsigned flags = chance(&c->rng, 2) ? TES_GROUP_CANCEL_ON_FAILURE : 0;
    int rc = tes_group_create(&g, some_pool(c), flags);
    op();
    CHECK(rc == 0, "group create: %d", rc);
    if (rc)
        return;
    int k = 1 + (int)pick(&c->rng, 6), cancel_at = (int)pick(&c->rng, 12);
    tes_future *fs[6];
    job *js[6];
    for (int i = 0; i < k; i++) {
        js[i] = job_new(&c->rng, c->depth);
        rc = tes_group_spawn(&fs[i], g, "job", job_fn, js[i]);
        op();
        CHECK(rc == 0, "group spawn: %d", rc);
        if (i == cancel_at) {
            tes_group_cancel(g);
            op();
        }
    }
    rc = tes_group_wait(g);
    op();
    bool any_io = false;
    for (int i = 0; i < k; i++) {
        CHECK(tes_future_done(fs[i]), "group wait returned, task %d not done",
              i);
        any_io |= tes_future_status(fs[i]) == -EIO;
    }
    const char *m = tes_group_error(g);
    if (any_io) {
        CHECK(rc == -EIO, "group with a failure: %d", rc);
        bool known = false;
        for (int i = 0; i < k && m; i++)
            known |= tes_future_status(fs[i]) == -EIO &&
                     !strcmp(m, tes_future_error(fs[i]));
        CHECK(known, "group error '%s' is no task's", m ? m : "(none)");
    } else {
        CHECK(rc == (tes_group_cancelled(g) ? -ECANCELED : 0),
              "group: %d, cancelled %d", rc, tes_group_cancelled(g));
        CHECK(!m, "group without failures has a message");
    }
    for (int i = 0; i < k; i++) {
        void *r = (void *)1;
        int e = tes_await(fs[i], &r);
        check_job(js[i], fs[i], e, r, "group wait");
        tes_future_release(fs[i]);
        free(js[i]);
    }
    tes_group_destroy(g);
    op();
}

static void *dep_sum(void *arg, void *const *in, size_t n)
{
    (void)arg;
    uintptr_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += (uintptr_t)in[i];
    return (void *)s;
}

static void op_dep(ctx *c)
{
    if (!c->n)
        return op_spawn(c);
    int n = 1 + (int)pick(&c->rng, (unsigned)c->n < 3 ? (unsigned)c->n : 3);
    tes_future *in[3];
    for (int i = 0; i < n; i++) /* repeats are fine */
        in[i] = c->ring[pick(&c->rng, (unsigned)c->n)].f;
    tes_future *f;
    int rc = tes_spawn_after(&f, some_pool(c), "dep", in, (size_t)n, dep_sum,
                             NULL);
    op();
    CHECK(rc == 0, "spawn after: %d", rc);
    if (rc)
        return;
    void *r = NULL;
    rc = tes_await(f, &r);
    op();
    uintptr_t sum = 0;
    int want = 0;
    char msg[160] = "";
    for (int i = 0; i < n; i++) {
        CHECK(tes_future_done(in[i]), "dependency ran, input %d not done", i);
        int e = tes_future_status(in[i]);
        if (e && !want) {
            want = e;
            snprintf(msg, sizeof msg, "dep: input %d: %s", i,
                     tes_future_error(in[i]));
        }
        void *x = NULL;
        if (!e)
            tes_await(in[i], &x);
        sum += (uintptr_t)x;
    }
    CHECK(rc == want, "dependency: %d, first failed input %d", rc, want);
    if (!want)
        CHECK(r == (void *)sum, "dependency: wrong sum");
    else
        CHECK(!strcmp(tes_future_error(f), msg), "dependency: '%s', not '%s'",
              tes_future_error(f), msg);
    tes_future_release(f);
}

/* Actors: a call carries its caller's record and sequence number; the
 * method checks that the numbers of one caller only grow on one actor.
 * A call may pass itself on, awaited, to the next actor, on another pool
 * (never backwards: no cycle of waits). */
typedef struct call {
    job *caller;
    long seq;
    int forward; /* how many actors further to pass it */
    bool owned;  /* fire and forget: the method frees it */
} call;

static _Atomic long actor_runs[NACTORS];

static void *ping(void *state, void *arg);

static void *ping_at(int k, call *cl)
{
    atomic_fetch_add(&actor_runs[k], 1);
    long last = atomic_load_explicit(&cl->caller->last_seq[k],
                                     memory_order_relaxed);
    CHECK(cl->seq > last, "actor %d: caller %u's call %ld after %ld", k,
          cl->caller->id, cl->seq, last);
    atomic_store_explicit(&cl->caller->last_seq[k], cl->seq,
                          memory_order_relaxed);
    if (cl->forward && k + 1 < NACTORS) {
        /* A fresh caller for the next actor: its own order. */
        job *me = calloc(1, sizeof *me);
        for (int i = 0; i < NACTORS; i++)
            atomic_init(&me->last_seq[i], -1);
        me->id = cl->caller->id;
        call next = {me, 0, cl->forward - 1, false};
        tes_future *f;
        int rc = tes_actor_call_named(&f, actors[k + 1], "pass", ping, &next);
        op();
        CHECK(rc == 0, "actor call between pools: %d", rc);
        if (!rc) {
            void *r;
            rc = tes_await(f, &r);
            CHECK(rc == 0 && r == (void *)(intptr_t)0,
                  "passed call: %d", rc);
            tes_future_release(f);
        }
        free(me);
    }
    return (void *)(intptr_t)cl->seq;
}

static void *ping(void *state, void *arg)
{
    call *cl = arg;
    void *r = ping_at((int)(intptr_t)state, cl);
    if (cl->owned)
        free(cl);
    return r;
}

static void op_actor(ctx *c)
{
    int k = (int)pick(&c->rng, NACTORS), n = 1 + (int)pick(&c->rng, 4);
    call cl[4];
    tes_future *f[4];
    for (int i = 0; i < n; i++) {
        cl[i] = (call){c->me, c->seq++, chance(&c->rng, 8) ? 2 : 0, false};
        f[i] = NULL;
        int rc;
        if (c->outside && chance(&c->rng, 4)) {
            /* Fire and forget, from outside threads (whose caller records
             * live to the end): the call lives on the heap. */
            call *heap = malloc(sizeof *heap);
            *heap = cl[i];
            heap->owned = true;
            rc = tes_actor_call_named(NULL, actors[k], "ping", ping, heap);
        } else {
            rc = tes_actor_call_named(&f[i], actors[k], "ping", ping, &cl[i]);
        }
        op();
        CHECK(rc == 0, "actor call: %d", rc);
        if (f[i] && chance(&c->rng, 8)) {
            tes_cancel(f[i]);
            op();
        }
    }
    for (int i = 0; i < n; i++) {
        if (!f[i])
            continue;
        void *r = (void *)-1;
        int rc = tes_await(f[i], &r);
        op();
        CHECK(tes_future_done(f[i]), "actor call awaited, not done");
        if (rc == 0)
            CHECK(r == (void *)(intptr_t)cl[i].seq, "actor call result");
        else
            CHECK(rc == -ECANCELED &&
                      !strcmp(tes_future_error(f[i]), "ping: cancelled"),
                  "actor call: %d '%s'", rc, tes_future_error(f[i]));
        tes_future_release(f[i]);
    }
}

/* A binary fork/join tree of the given depth whose leaves in `bad` fail:
 * returns the leaf count, or fails with "level d: ... leaf i", chaining
 * the second child's failure before the first's (the join order). */
typedef struct tree {
    int depth, level;
    unsigned id;
    uint32_t bad;
} tree;

static void *tree_fn(void *arg)
{
    const tree *t = arg;
    if (t->level == t->depth) {
        unsigned leaf = t->id - ((1u << t->depth) - 1);
        if (t->bad >> leaf & 1)
            return tes_fail(-EIO, "leaf %u", leaf);
        return (void *)1;
    }
    tree kid[2] = {{t->depth, t->level + 1, 2 * t->id + 1, t->bad},
                   {t->depth, t->level + 1, 2 * t->id + 2, t->bad}};
    tes_task k[2];
    tes_fork(&k[0], tree_fn, &kid[0]);
    tes_fork(&k[1], tree_fn, &kid[1]);
    void *r1, *r0;
    int e1 = tes_join(&k[1], &r1), e0 = tes_join(&k[0], &r0);
    if (e1)
        return tes_fail_from_task(&k[1], "level %d", t->level);
    if (e0)
        return tes_fail_from_task(&k[0], "level %d", t->level);
    return (void *)((uintptr_t)r0 + (uintptr_t)r1);
}

/* The serial reference of tree_fn's message (into buf), or "" when the
 * tree succeeds. */
static void tree_msg(int depth, int level, unsigned id, uint32_t bad,
                     char *buf, size_t size)
{
    buf[0] = 0;
    if (level == depth) {
        unsigned leaf = id - ((1u << depth) - 1);
        if (bad >> leaf & 1)
            snprintf(buf, size, "leaf %u", leaf);
        return;
    }
    char a[256], b[256];
    tree_msg(depth, level + 1, 2 * id + 1, bad, a, sizeof a);
    tree_msg(depth, level + 1, 2 * id + 2, bad, b, sizeof b);
    const char *why = b[0] ? b : a;
    if (why[0]) { /* "level <level>: <why>", cut to size */
        size_t n = (size_t)snprintf(buf, size, "level %d: ", level);
        size_t w = strlen(why);
        if (n + w >= size)
            w = size - n - 1;
        memcpy(buf + n, why, w);
        buf[n + w] = 0;
    }
}

static void op_forkjoin(ctx *c)
{
    if (c->outside) /* forks belong to tasks: refused out here */
    {
        tes_task t;
        CHECK(tes_fork(&t, tree_fn, NULL) == -EINVAL, "fork outside a task");
        op();
        return;
    }
    int depth = 1 + (int)pick(&c->rng, 5);
    uint32_t bad = 0;
    for (unsigned i = 0; i < (1u << depth); i++)
        if (chance(&c->rng, 40))
            bad |= 1u << i;
    tree root = {depth, 0, 0, bad};
    tes_task t;
    int rc = tes_fork(&t, tree_fn, &root);
    op();
    CHECK(rc == 0, "fork in a task: %d", rc);
    void *r = NULL;
    rc = tes_join(&t, &r);
    op();
    char want[256];
    tree_msg(depth, 0, 0, bad, want, sizeof want);
    if (!want[0]) {
        CHECK(rc == 0 && r == (void *)(uintptr_t)(1u << depth),
              "fork tree: %d", rc);
    } else {
        CHECK(rc == -EIO, "failing fork tree: %d", rc);
        const char *m = tes_task_error(&t);
        CHECK(m && !strcmp(m, want), "fork tree: '%s', not '%s'",
              m ? m : "(none)", want);
    }
}

static void pf_body(size_t b, size_t e, void *ctx_)
{
    uint32_t *a = ctx_;
    for (size_t i = b; i < e; i++)
        a[i] = (uint32_t)i * 3u;
}

static void red_leaf(size_t b, size_t e, void *acc, void *ctx_)
{
    (void)ctx_;
    uint64_t s = 0;
    for (size_t i = b; i < e; i++)
        s += i;
    *(uint64_t *)acc = s;
}

static void red_combine(void *l, const void *r, void *ctx_)
{
    (void)ctx_;
    *(uint64_t *)l += *(const uint64_t *)r;
}

static void op_parallel(ctx *c)
{
    static const size_t grains[] = {0, 1, 7, 64};
    size_t n = pick(&c->rng, 600), g = grains[pick(&c->rng, 4)];
    tes_pool *p = some_pool(c);
    if (chance(&c->rng, 2)) {
        uint32_t *a = calloc(n + 1, sizeof *a);
        int rc = tes_parallel_for(p, 0, n, g, pf_body, a);
        op();
        CHECK(rc == 0, "parallel_for: %d", rc);
        for (size_t i = 0; i < n; i++)
            if (a[i] != (uint32_t)i * 3u) {
                CHECK(0, "parallel_for missed %zu of %zu", i, n);
                break;
            }
        free(a);
    } else {
        uint64_t s = 1;
        int rc = tes_parallel_reduce(p, 0, n, g, &s, sizeof s, red_leaf,
                                     red_combine, NULL);
        op();
        CHECK(rc == 0 && s == (uint64_t)n * (n ? n - 1 : 0) / 2,
              "parallel_reduce: %d", rc);
    }
}

static void op_lend(ctx *c)
{
    job *j = job_new(&c->rng, 0);
    tes_future *f;
    tes_pool *p = some_pool(c);
    int rc = tes_spawn_named(&f, p, "job", job_fn, j);
    op();
    CHECK(rc == 0, "spawn: %d", rc);
    rc = tes_pool_lend(p, f, 1 + (long)pick(&c->rng, 5));
    op();
    CHECK(rc == 0 || rc == -ETIMEDOUT || rc == -EBUSY, "lend: %d", rc);
    if (rc == 0)
        CHECK(tes_future_done(f), "lend until a future returned, not done");
    keep(c, f, j);
}

/* A pool of its own, destroyed with its work still queued: every future
 * is done after tes_pool_destroy, and right. */
static void op_short_pool(ctx *c)
{
    tes_pool *p;
    tes_pool_options o = TES_POOL_OPTIONS_INIT;
    o.threads = 1 + (int)pick(&c->rng, 3);
    o.name = "short";
    int rc = tes_pool_create(&p, &o);
    op();
    CHECK(rc == 0, "pool create: %d", rc);
    if (rc)
        return;
    int n = 1 + (int)pick(&c->rng, 24);
    tes_future *f[24] = {NULL};
    job *js[24];
    tes_group *g = NULL;
    if (chance(&c->rng, 2))
        tes_group_create(&g, p, 0);
    for (int i = 0; i < n; i++) {
        js[i] = job_new(&c->rng, 0);
        if (chance(&c->rng, 5)) {
            js[i]->detached = true;
            atomic_fetch_add(&detached_spawned, 1);
            rc = tes_spawn_named(NULL, p, "job", job_fn, js[i]);
            js[i] = NULL;
        } else if (g && chance(&c->rng, 2)) {
            rc = tes_group_spawn(&f[i], g, "job", job_fn, js[i]);
        } else {
            rc = tes_spawn_named(&f[i], p, "job", job_fn, js[i]);
        }
        op();
        CHECK(rc == 0, "spawn into a short pool: %d", rc);
    }
    if (g) { /* its tasks first: a group may not outlive its pool */
        rc = tes_group_wait(g);
        op();
        CHECK(rc == 0 || rc == -EIO, "short pool's group: %d", rc);
        tes_group_destroy(g);
    }
    tes_pool_destroy(p);
    op();
    for (int i = 0; i < n; i++) {
        if (!f[i])
            continue;
        CHECK(tes_future_done(f[i]), "pool destroyed, future %d not done", i);
        void *r = (void *)1;
        int e = tes_await(f[i], &r);
        check_job(js[i], f[i], e, r, "pool destroy");
        tes_future_release(f[i]);
        free(js[i]);
    }
}

static void one_op(ctx *c)
{
    unsigned k = pick(&c->rng, 100);
    if (k < 30)
        op_spawn(c);
    else if (k < 42)
        c->n ? settle(c, (int)pick(&c->rng, (unsigned)c->n)) : op_spawn(c);
    else if (k < 47)
        op_cancel(c);
    else if (k < 53)
        op_wait_any(c);
    else if (k < 56)
        op_wait_all(c);
    else if (k < 63)
        op_group(c);
    else if (k < 69)
        op_dep(c);
    else if (k < 80)
        op_actor(c);
    else if (k < 90)
        op_forkjoin(c);
    else if (k < 95)
        op_parallel(c);
    else if (c->outside && k < 98)
        op_lend(c);
    else if (c->outside && k == 99 && chance(&c->rng, 8))
        op_short_pool(c);
    else
        op_spawn(c);
}

/* ---- drivers and the watchdog ----------------------------------------------- */

/* The drivers' caller records: their fire-and-forget calls may run after
 * the drivers end (until the actors are destroyed). */
static job drivers_me[NDRIVERS];

static void *driver(void *arg)
{
    int d = (int)(intptr_t)arg;
    job *me = &drivers_me[d];
    me->id = 1000000000u + (uint32_t)d;
    for (int k = 0; k < NACTORS; k++)
        atomic_init(&me->last_seq[k], -1);
    ctx c = {.rng = (seed ^ (0x9e3779b97f4a7c15ull * (uint64_t)(d + 1))) | 1,
             .depth = 2,
             .outside = true,
             .me = me};
    while (more())
        one_op(&c);
    drain(&c);
    return NULL;
}

static _Atomic int finished;
static long rss_at_fifth; /* KiB */

static long peak_rss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static void *watchdog(void *arg)
{
    long limit_ms = (long)(intptr_t)arg, still_ms = 0, last = -1;
    while (!atomic_load(&finished)) {
        struct timespec ts = {0, 100000000};
        nanosleep(&ts, NULL);
        long now = atomic_load(&ops);
        if (!rss_at_fifth && now >= target / 5)
            rss_at_fifth = peak_rss_kib();
        if (now != last) {
            last = now;
            still_ms = 0;
            continue;
        }
        if ((still_ms += 100) < limit_ms)
            continue;
        fprintf(stderr,
                "chaos (seed %llu): no progress for %ld ms at %ld of %ld "
                "operations; the workers:\n",
                seed, limit_ms, now, target);
        for (int i = 0; i < NPOOLS; i++)
            tes_pool_dump(pools[i], stderr);
        abort();
    }
    return NULL;
}

static unsigned long long env_ull(const char *name, unsigned long long def)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return def;
    char *end;
    unsigned long long x = strtoull(v, &end, 0);
    return *end ? def : x;
}

START_TEST(chaos_a_million_random_operations)
{
    seed = env_ull("TES_CHAOS_SEED", 20240516);
    target = (long)env_ull("TES_CHAOS_OPS", DEFAULT_OPS);
    fprintf(stderr, "chaos: seed %llu, %ld operations (TES_CHAOS_SEED, "
                    "TES_CHAOS_OPS)\n",
            seed, target);
    atomic_store(&ops, 0);
    atomic_store(&failed, 0);
    atomic_store(&finished, 0);
    for (int i = 0; i < NPOOLS; i++) {
        tes_pool_options o = TES_POOL_OPTIONS_INIT;
        o.threads = pool_threads[i];
        o.name = "chaos";
        o.lend_slots = 2;
        ck_assert_int_eq(tes_pool_create(&pools[i], &o), 0);
    }
    for (int k = 0; k < NACTORS; k++)
        ck_assert_int_eq(tes_actor_create(&actors[k], pools[k],
                                          (void *)(intptr_t)k, NULL), 0);
    pthread_t wd, th[NDRIVERS];
    long limit_ms = SANITIZED ? 240000 : 60000;
    pthread_create(&wd, NULL, watchdog, (void *)(intptr_t)limit_ms);
    for (int d = 0; d < NDRIVERS; d++)
        pthread_create(&th[d], NULL, driver, (void *)(intptr_t)d);
    for (int d = 0; d < NDRIVERS; d++)
        pthread_join(th[d], NULL);
    /* Detached jobs may still run, and spawn into any pool. A pool must
     * not be destroyed while another thread may still use it (it is then
     * freed: TSan caught pool 0 freed under a spawn from pool 1's
     * worker), so wait until every detached job has finished (the
     * watchdog still bounds the wait); destroying a pool with work queued
     * is op_short_pool's. */
    struct timespec ms = {0, 1000000};
    while (atomic_load(&detached_ran) < atomic_load(&detached_spawned))
        nanosleep(&ms, NULL);
    for (int k = 0; k < NACTORS; k++)
        tes_actor_destroy(actors[k]);
    for (int i = 0; i < NPOOLS; i++)
        tes_pool_destroy(pools[i]);
    atomic_store(&finished, 1);
    pthread_join(wd, NULL);
    long spawned = atomic_load(&detached_spawned),
         ran = atomic_load(&detached_ran);
    CHECK(spawned == ran, "%ld detached tasks spawned, %ld ran", spawned, ran);
    if (!SANITIZED && rss_at_fifth) {
        long grew = peak_rss_kib() - rss_at_fifth;
        CHECK(grew < 64 * 1024, "peak RSS grew by %ld KiB after a fifth", grew);
    }
    fprintf(stderr, "chaos: %ld operations, %u tasks, actor calls %ld/%ld/%ld/%ld\n",
            atomic_load(&ops), atomic_load(&next_id), atomic_load(&actor_runs[0]),
            atomic_load(&actor_runs[1]), atomic_load(&actor_runs[2]),
            atomic_load(&actor_runs[3]));
    ck_assert_msg(!atomic_load(&failed), "%s", failure);
    ck_assert_int_ge(atomic_load(&ops), target);
}
END_TEST

static Suite *chaos_suite(void)
{
    Suite *s = suite_create("chaos");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, chaos_a_million_random_operations);
    suite_add_tcase(s, tc);
    return s;
}

TES_CHECK_MAIN(chaos_suite)
