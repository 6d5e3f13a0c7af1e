/*
 * task.c — task frames and futures: spawn, run, complete, await (inline,
 * helping or sleeping), release, failure messages, wait-all and wait-any.
 * The spawn/await/release fast path takes no lock and calls no malloc once a
 * worker's free list is warm.
 */
#include "internal.h"

#include <limits.h>
#include <stddef.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "futex.h"


/* A new frame, homed at w (NULL: the calling thread is no worker). */
static inline tes_future *frame_alloc(tes_worker *w)
{
    tes_future *f = aligned_alloc(TES_FRAME_ALIGN, TES_FRAME_BYTES);
    if (f)
        f->home = w;
    return f;
}

/* Wake channel for tes_wait_any from outside threads: bumped after any
 * completion that found TES_WAITERS set, so a thread waiting on several
 * futures can sleep on one word. It carries no state, only wake-ups, so one
 * per process serves every pool. */
static _Atomic uint32_t tes__any_seq;

#if defined(__x86_64__) || defined(__i386__)
#define tes__cpu_relax() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define tes__cpu_relax() __asm__ __volatile__("yield")
#else
#define tes__cpu_relax() ((void)0)
#endif

/* ---- frames ------------------------------------------------------------ */

/*
 * A batch of frames going back to their home worker (tes__frame_return) is
 * described by its first frame, whose memory, all but its home field,
 * holds the link to the next batch and the addresses of the other frames:
 * the home worker learns them all from one frame and fetches them at once,
 * instead of walking a chain through frames that another core wrote last,
 * one cache miss after another (which, when cross-core latency is high,
 * cost a caller more than the rest of its call).
 */
#define BATCH_WORDS (TES_FRAME_BYTES / sizeof(void *))
#define BATCH_HOME_WORD (offsetof(tes_future, home) / sizeof(void *))
_Static_assert(TES_RETURN_BATCH == BATCH_WORDS - 1,
               "a batch: its first frame, and one word each for the others "
               "and the link, around the home field");
_Static_assert(BATCH_HOME_WORD > 0 && BATCH_HOME_WORD < BATCH_WORDS,
               "the home field lies inside the first frame, after the link");

/* Word i of batch head b (memcpy: the frame's storage is reused). */
static inline void batch_put(tes_future *b, size_t i, void *v)
{
    memcpy((char *)b + i * sizeof v, &v, sizeof v);
}

static inline void *batch_get(tes_future *b, size_t i)
{
    void *v;
    memcpy(&v, (char *)b + i * sizeof v, sizeof v);
    return v;
}

void tes__frame_batches_free(tes_future *b)
{
    while (b) {
        tes_future *next_batch = batch_get(b, 0);
        for (size_t i = 1; i < BATCH_WORDS; i++)
            if (i != BATCH_HOME_WORD)
                free(batch_get(b, i));
        free(b);
        b = next_batch;
    }
}

/* A worker's free list is empty: take back its frames that other workers
 * returned, else a batch of spare frames from its pool, else malloc one. */
static TES_NOINLINE tes_future *frame_refill(tes_worker *w)
{
    /* relaxed: a cheap look; the exchange decides. acquire: pairs with
     * the release CAS in tes__frame_return (the batches' contents). */
    if (atomic_load_explicit(&w->returned, memory_order_relaxed)) {
        tes_future *b = atomic_exchange_explicit(&w->returned, NULL,
                                                 memory_order_acquire);
        while (b) {
            tes_future *next_batch = batch_get(b, 0);
            tes_future *member[BATCH_WORDS];
            size_t n = 0;
            for (size_t i = 1; i < BATCH_WORDS; i++)
                if (i != BATCH_HOME_WORD) {
                    member[n] = batch_get(b, i);
                    __builtin_prefetch(member[n], 1);
                    n++;
                }
            member[n++] = b;
            for (size_t i = 0; i < n; i++) {
                member[i]->next = w->free_list;
                w->free_list = member[i];
            }
            w->free_count += (int)n;
            b = next_batch;
        }
        tes_future *f = tes__frame_pop(w);
        if (f)
            return f;
    }
    tes_pool *p = w->pool;
    pthread_mutex_lock(&p->frames_lock);
    tes_future *b = p->spare;
    if (b) {
        p->spare = b->arg;
        p->nspare--;
    }
    pthread_mutex_unlock(&p->frames_lock);
    if (!b)
        return frame_alloc(w);
    w->free_list = b->next;
    w->free_count = TES_FRAME_BATCH - 1;
    return b;
}

/* A worker's spill chain is a full batch: hand it to the pool. */
void tes__frame_spill(tes_worker *w)
{
    tes_pool *p = w->pool;
    tes_future *b = w->spill;
    w->spill = NULL;
    w->nspill = 0;
    pthread_mutex_lock(&p->frames_lock);
    if (p->nspare < TES_SPARE_MAX) {
        b->arg = p->spare;
        p->spare = b;
        p->nspare++;
        b = NULL;
    }
    pthread_mutex_unlock(&p->frames_lock);
    while (b) { /* enough spares already */
        tes_future *nx = b->next;
        free(b);
        b = nx;
    }
}

bool tes__frame_return(tes_worker *w, tes_future *f)
{
    tes_pool *p = w->pool;
    /* Compare addresses only: f->home may belong to a pool that is gone. */
    uintptr_t h = (uintptr_t)f->home, first = (uintptr_t)p->workers;
    if (!f->home || !w->ret || h < first ||
        h >= first + (uintptr_t)(p->nworkers + p->nlend) * sizeof *p->workers)
        return false;
    size_t slot = (h - first) / sizeof *p->workers;
    struct tes_frame_return *r = &w->ret[slot];
    f->next = r->head;
    r->head = f;
    if (++r->n < TES_RETURN_BATCH)
        return true;
    /* The batch is complete: describe it in its first frame (its frames
     * were all freed here: reading their links is cheap). */
    tes_future *b = r->head, *m = b->next;
    for (size_t i = 1; i < BATCH_WORDS; i++)
        if (i != BATCH_HOME_WORD) {
            tes_future *nx = m->next;
            batch_put(b, i, m);
            m = nx;
        }
    r->head = NULL;
    r->n = 0;
    tes_worker *home = &p->workers[slot];
    /* relaxed: a first guess for the CAS. */
    tes_future *old = atomic_load_explicit(&home->returned,
                                           memory_order_relaxed);
    do {
        batch_put(b, 0, old);
        /* release: pairs with the acquire exchange in frame_refill, which
         * then sees the batch's contents. */
    } while (!atomic_compare_exchange_weak_explicit(
        &home->returned, &old, b, memory_order_release, memory_order_relaxed));
    return true;
}

tes_future *tes__frame_new(tes_pool *pool, int refs, const tes_frame_ops *ops,
                           void *ext, const char *name)
{
    tes_worker *w = tes__self;
    tes_future *f = w ? tes__frame_pop(w) : NULL;
    if (TES_UNLIKELY(!f)) {
        f = w ? frame_refill(w) : frame_alloc(NULL);
        if (!f)
            return NULL;
    }
    tes__frame_setup(f, pool, refs, ops, ext, name);
    return f;
}

/* ---- completion -------------------------------------------------------- */

/* Completion when someone sleeps on the word or continuations wait. */
void tes__complete_slow(tes_future *f)
{
    /* release: publishes result and error to the acquire loads of word in
     * the waiters (tes_await, tes_wait_any, tes_future_done) and in
     * tes__on_complete. */
    uint32_t s = atomic_fetch_or_explicit(&f->word, TES_DONE,
                                          memory_order_release);
    if (s & TES_CONT) {
        /* acq_rel: acquire pairs with the release CAS that pushed each
         * continuation in tes__on_complete (its fields are visible);
         * release: a registrant that then sees CLOSED also sees DONE. */
        tes_cont *c = atomic_exchange_explicit(&f->conts, TES_CONTS_CLOSED,
                                               memory_order_acq_rel);
        while (c) {
            tes_cont *next = c->next; /* fire may free c */
            c->fire(c);
            c = next;
        }
    }
    if (s & TES_WAITERS) {
        tes__futex_wake(&f->word, INT_MAX);
        /* release: pairs with the acquire load of tes__any_seq in
         * tes_wait_any, which then re-reads every future's word. */
        atomic_fetch_add_explicit(&tes__any_seq, 1, memory_order_release);
        tes__futex_wake(&tes__any_seq, INT_MAX);
    }
    /* acq_rel: drops the running task's reference; acquire so that, when it
     * is the last, the frame's other users are done with it. */
    uint32_t prev =
        atomic_fetch_sub_explicit(&f->word, TES_REF, memory_order_acq_rel);
    if (prev / TES_REF == 1)
        tes__frame_free(f);
}

void tes__set_cancelled(tes_future *f)
{
    f->error = -ECANCELED;
    f->result = NULL;
    const char *name = f->name ? f->name : "task";
    size_t n = strlen(name) + sizeof ": cancelled";
    f->msg = malloc(n);
    if (f->msg)
        snprintf(f->msg, n, "%s: cancelled", name);
}

/* A frame with ops (actor call, dependent or group task). */
static TES_NOINLINE void run_frame_ops(tes_worker *w, tes_future *f)
{
    const tes_frame_ops *ops = f->ops;
    tes_future *prev;
    if (tes__frame_start(w, f, &prev))
        f->result = ops->run(f);
    tes__frame_stop(w, prev);
    void *later = ops->finish ? ops->finish(f) : NULL;
    tes__frame_complete(f);
    if (later)
        ops->after(later);
}

static inline void run_frame_body(tes_worker *w, tes_future *f)
{
    if (TES_UNLIKELY(f->ops != NULL)) {
        run_frame_ops(w, f);
        return;
    }
    tes_future *prev;
    if (tes__frame_start(w, f, &prev))
        f->result = f->fn(f->arg);
    tes__frame_stop(w, prev);
    tes__frame_complete(f);
}

static TES_NOINLINE void run_frame_traced(tes_worker *w, tes_future *f)
{
    const char *name = f->name ? f->name : "task"; /* f may be freed below */
    tes__trace_event(w, TES_EV_BEGIN, name, 0);
    run_frame_body(w, f);
    tes__trace_event(w, TES_EV_END, name, 0);
}

void tes__run_frame(tes_worker *w, tes_future *f)
{
    /* Tracing off costs this one well-predicted branch. */
    if (TES_UNLIKELY(w->trace != NULL)) {
        run_frame_traced(w, f);
        return;
    }
    run_frame_body(w, f);
}

void tes__submit_always(tes_pool *pool, tes_future *f)
{
    if (tes__submit(pool, f) != 0)
        tes__inject(pool, f);
}

bool tes__on_complete(tes_future *f, tes_cont *c)
{
    /* acquire: pairs with the release in frame_complete / tes__complete_slow. */
    uint32_t s = atomic_load_explicit(&f->word, memory_order_acquire);
    while (!(s & (TES_DONE | TES_CONT))) {
        /* seq_cst: ordered against the completer's CAS on the same word,
         * which then sees TES_CONT and takes the slow path (as for
         * TES_WAITERS in announce_waiter). */
        if (atomic_compare_exchange_weak_explicit(&f->word, &s, s | TES_CONT,
                                                  memory_order_seq_cst,
                                                  memory_order_acquire))
            break;
    }
    if (s & TES_DONE)
        return false;
    /* relaxed: only a first guess for the CAS. */
    tes_cont *head = atomic_load_explicit(&f->conts, memory_order_relaxed);
    do {
        if (head == TES_CONTS_CLOSED)
            return false; /* the completer already took the list */
        c->next = head;
        /* release: publishes c's fields to the completer's acquire
         * exchange in tes__complete_slow; acquire on failure: we may read the
         * CLOSED it stored (then DONE is visible too). */
    } while (!atomic_compare_exchange_weak_explicit(
        &f->conts, &head, c, memory_order_release, memory_order_acquire));
    return true;
}

/* A helping worker found nothing to run for the idle-th time in a row:
 * spin, then yield. Returns false once it is time to nap instead (the
 * caller naps in its own way). */
static inline bool help_backoff(unsigned idle)
{
    if (idle < 64) {
        tes__cpu_relax();
        return true;
    }
    if (idle < 256) {
        sched_yield();
        return true;
    }
    return false;
}

void tes__help_until(tes_worker *w, bool (*done)(void *), void *ctx)
{
    unsigned idle = 0;
    while (!done(ctx)) {
        tes_future *t = tes__find_work(w);
        if (t) {
            tes__run_frame(w, t);
            idle = 0;
            continue;
        }
        if (!help_backoff(++idle)) {
            struct timespec nap = {0, 100000};
            nanosleep(&nap, NULL);
        }
    }
}

/* ---- spawn ------------------------------------------------------------- */

int tes__submit(tes_pool *pool, tes_future *f)
{
    tes_worker *w = tes__self;
    if (TES_LIKELY(w && w->pool == pool)) {
        if (TES_LIKELY(tes__deque_push(&w->deque, f) == 0)) {
            tes__count(&w->n_spawn);
            /* relaxed: a cheap look. A wake-up missed here (a worker that
             * announced sleep after this load yet scanned before the push
             * became visible) costs only latency: parked workers wake on a
             * timer, and this worker runs its own deque anyway. */
            if (atomic_load_explicit(&pool->sleepers, memory_order_relaxed) >
                0)
                tes__wake_one(pool);
            return 0;
        }
        /* The deque could not grow: the injection queue takes it. */
    }
    if (!(w && w->pool == pool)) {
        if (TES_UNLIKELY(tes__forked(pool)))
            return TES_EFORKED;
        /* acquire: pairs with the seq_cst store in tes_pool_destroy. */
        if (atomic_load_explicit(&pool->stopping, memory_order_acquire))
            return TES_ESHUTDOWN;
    }
    tes__inject(pool, f);
    return 0;
}

/* The general spawn: any thread, any pool, cold free list. */
static TES_NOINLINE int spawn_slow(tes_future **out, tes_pool *pool,
                                   const char *name, void *(*fn)(void *),
                                   void *arg)
{
    tes_future *f = tes__frame_new(pool, out ? 2 : 1, NULL, NULL, name);
    if (TES_UNLIKELY(!f))
        return -ENOMEM;
    f->fn = fn;
    f->arg = arg;
    int rc = tes__submit(pool, f);
    if (TES_UNLIKELY(rc != 0)) {
        tes__frame_free(f);
        return rc;
    }
    if (out)
        *out = f;
    return 0;
}

int tes_spawn_named(tes_future **out, tes_pool *pool, const char *name,
                    void *(*fn)(void *), void *arg)
{
    if (out)
        *out = NULL;
    if (TES_UNLIKELY(!pool || !fn))
        return -EINVAL;
    tes_worker *w = tes__self;
    /* The fast path of recursive work: a task of this pool spawning with a
     * warm free list. No lock, no malloc, no call. */
    if (TES_LIKELY(w && w->pool == pool && w->free_list)) {
        /* tes__frame_pop without its prefetch: recursive spawns take the
         * frames they just freed, which are in cache (the prefetch cost
         * fib(35) about 1 instruction and 2-7% per task). */
        tes_future *f = w->free_list;
        w->free_list = f->next;
        w->free_count--;
        tes__frame_setup(f, pool, out ? 2 : 1, NULL, NULL, name);
        f->fn = fn;
        f->arg = arg;
        if (TES_LIKELY(tes__deque_push(&w->deque, f) == 0)) {
            tes__count(&w->n_spawn);
            /* relaxed: as in tes__submit. */
            if (atomic_load_explicit(&pool->sleepers, memory_order_relaxed) >
                0)
                tes__wake_one(pool);
        } else {
            tes__inject(pool, f); /* the deque could not grow */
        }
        if (out)
            *out = f;
        return 0;
    }
    return spawn_slow(out, pool, name, fn, arg);
}

int tes_spawn(tes_future **out, tes_pool *pool, void *(*fn)(void *),
              void *arg)
{
    return tes_spawn_named(out, pool, NULL, fn, arg);
}

/* ---- await ------------------------------------------------------------- */

static inline bool is_done(const tes_future *f)
{
    /* acquire: pairs with the release in frame_complete /
     * complete_with_waiters, making result and error visible. */
    return atomic_load_explicit(&((tes_future *)f)->word,
                                memory_order_acquire) &
           TES_DONE;
}

bool tes_future_done(const tes_future *f)
{
    return f && is_done(f);
}

/* Sets TES_WAITERS unless f is done. Returns the word with the flag set, or
 * 0 when f completed. */
static uint32_t announce_waiter(tes_future *f)
{
    /* acquire: as in is_done. */
    uint32_t s = atomic_load_explicit(&f->word, memory_order_acquire);
    while (!(s & TES_DONE)) {
        if (s & TES_WAITERS)
            return s;
        /* seq_cst: ordered against the completer's CAS on the same word,
         * which then sees the flag, or fails and sees it on retry. */
        if (atomic_compare_exchange_weak_explicit(&f->word, &s,
                                                  s | TES_WAITERS,
                                                  memory_order_seq_cst,
                                                  memory_order_acquire))
            return s | TES_WAITERS;
    }
    return 0;
}

/* An outside thread: sleep on the future's word until it is done. */
static TES_NOINLINE void await_blocking(tes_future *f)
{
    for (;;) {
        uint32_t s = announce_waiter(f);
        if (!s)
            return;
        tes__futex_wait(&f->word, s, -1);
    }
}

/* Finds one task for a worker that is waiting for f: its own deque first,
 * then the thief that took f (leapfrogging), then anyone. */
static tes_future *help_find(tes_worker *w, tes_future *f)
{
    /* Actor turns waiting for us first: the calls we made are among
     * them, and running our own deque first would start the tasks it
     * holds (other callers, which make more calls) before them. */
    tes_future *t = tes__affine_own(w);
    if (t)
        return t;
    t = tes__deque_take(&w->deque);
    if (t)
        return t;
    /* relaxed: a hint; the steal below re-checks everything. */
    int thief = atomic_load_explicit(&f->thief, memory_order_relaxed);
    if (thief >= 0 && f->pool == w->pool && thief != w->index) {
        t = tes__deque_steal(&w->pool->workers[thief].deque);
        if (t) {
            /* relaxed: read only as a hint by awaiters. */
            atomic_store_explicit(&t->thief, w->index, memory_order_relaxed);
            tes__count(&w->n_steal);
            if (TES_UNLIKELY(w->trace != NULL))
                tes__trace_event(w, TES_EV_STEAL, NULL, thief);
            return t;
        }
    }
    return tes__find_work(w);
}

/* A worker waiting for f: run other work until f is done; never sleep while
 * work can be found. */
static TES_NOINLINE void await_helping(tes_worker *w, tes_future *f)
{
    unsigned idle = 0;
    while (!is_done(f)) {
        tes_future *t = help_find(w, f);
        if (t) {
            tes__run_frame(w, t);
            idle = 0;
            continue;
        }
        if (!help_backoff(++idle)) {
            /* Nothing to run and f is taking long: nap on f's word, briefly,
             * so that work arriving meanwhile is not left waiting. */
            uint32_t s = announce_waiter(f);
            if (!s)
                break;
            tes__futex_wait(&f->word, s, 200000);
        }
    }
}

/* tes_await on a worker whose newest task t (or NULL) is not f. */
static TES_NOINLINE void await_other(tes_worker *w, tes_future *f,
                                     tes_future *t)
{
    /* Run t first, unless actor turns wait for us: help_find runs those
     * first, then takes t back. */
    if (t && (!tes__affine_pending(w) || tes__deque_push(&w->deque, t) != 0))
        tes__run_frame(w, t);
    await_helping(w, f);
}

int tes_await(tes_future *f, void **result)
{
    if (TES_UNLIKELY(!f))
        return -EINVAL;
    if (!is_done(f)) {
        tes_worker *w = tes__self;
        if (TES_LIKELY(w != NULL)) {
            /* The common case: f is the newest task in our own deque. */
            tes_future *t = tes__deque_take(&w->deque);
            if (TES_LIKELY(t == f)) {
                tes__run_frame(w, f);
            } else {
                await_other(w, f, t);
            }
        } else {
            if (TES_UNLIKELY(tes__forked(f->pool)))
                return TES_EFORKED; /* no thread will ever complete it */
            await_blocking(f);
        }
    }
    if (TES_UNLIKELY(f->error != 0)) {
        if (result)
            *result = NULL;
        return f->error;
    }
    if (result)
        *result = f->result;
    return 0;
}

/* ---- references -------------------------------------------------------- */

tes_future *tes_future_retain(tes_future *f)
{
    if (f)
        /* relaxed: the caller already holds a reference, so the frame
         * cannot be freed concurrently (as for any reference count). */
        atomic_fetch_add_explicit(&f->word, TES_REF, memory_order_relaxed);
    return f;
}

void tes_future_release(tes_future *f)
{
    if (!f)
        return;
    /* acquire: pairs with the release in frame_complete. When the task is
     * done and ours is the only reference left, nobody else may touch the
     * frame, so it is freed without a read-modify-write. */
    uint32_t s = atomic_load_explicit(&f->word, memory_order_acquire);
    if (TES_LIKELY((s & ~(TES_CANCEL_REQ | TES_WAITERS)) ==
                   (TES_DONE | TES_REF))) {
        tes__frame_free(f);
        return;
    }
    /* acq_rel: release our uses of the frame to whoever frees it; acquire
     * theirs if we do. */
    uint32_t prev =
        atomic_fetch_sub_explicit(&f->word, TES_REF, memory_order_acq_rel);
    if (prev / TES_REF == 1)
        tes__frame_free(f);
}

/* ---- failures ---------------------------------------------------------- */

static char *vformat(const char *prefix, const char *fmt, va_list ap,
                     const char *suffix)
{
    va_list ap2;
    va_copy(ap2, ap);
    int body = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (body < 0)
        body = 0;
    size_t np = strlen(prefix), ns = suffix ? strlen(suffix) : 0;
    size_t len = np + 2 + (size_t)body + (suffix ? ns + 2 : 0) + 1;
    char *m = malloc(len);
    if (!m)
        return NULL;
    int off = snprintf(m, len, "%s: ", prefix);
    vsnprintf(m + off, len - (size_t)off, fmt, ap);
    if (suffix) {
        size_t cur = strlen(m);
        snprintf(m + cur, len - cur, ": %s", suffix);
    }
    return m;
}

static void fail_current(int code, const char *fmt, va_list ap,
                         const char *cause)
{
    tes_worker *w = tes__self;
    if (!w || !w->current)
        return;
    tes_future *f = w->current;
    if (code > 0)
        code = -code;
    if (code == 0)
        code = TES_EFAIL;
    char *m = vformat(f->name ? f->name : "task", fmt, ap, cause);
    free(f->msg);
    f->msg = m;
    f->error = code;
}

void *tes_fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fail_current(code, fmt, ap, NULL);
    va_end(ap);
    return NULL;
}

void *tes_fail_from(const tes_future *cause, const char *fmt, ...)
{
    int code = cause ? tes_future_status(cause) : TES_EFAIL;
    const char *why = cause ? tes_future_error(cause) : NULL;
    va_list ap;
    va_start(ap, fmt);
    fail_current(code, fmt, ap, why ? why : tes_strerror(code));
    va_end(ap);
    return NULL;
}

const char *tes_future_error(const tes_future *f)
{
    if (!f || !is_done(f) || f->error == 0)
        return NULL;
    return f->msg ? f->msg : tes_strerror(f->error);
}

int tes_future_status(const tes_future *f)
{
    if (!f || !is_done(f))
        return 0;
    return f->error;
}

/* ---- several futures --------------------------------------------------- */

int tes_wait_all(tes_future *const *fs, size_t n)
{
    if (!fs && n)
        return -EINVAL;
    int first = 0;
    for (size_t i = 0; i < n; i++) {
        if (!fs[i])
            continue;
        int rc = tes_await(fs[i], NULL);
        if (rc && !first)
            first = rc;
    }
    return first;
}

static bool any_done(tes_future *const *fs, size_t n, size_t *ready)
{
    for (size_t i = 0; i < n; i++) {
        if (is_done(fs[i])) {
            *ready = i;
            return true;
        }
    }
    return false;
}

int tes_wait_any(tes_future *const *fs, size_t n, long timeout_ms,
                 size_t *ready)
{
    if (!fs || n == 0 || !ready)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!fs[i])
            return -EINVAL;
    long long deadline =
        timeout_ms < 0 ? -1 : tes__now_ns() + (long long)timeout_ms * 1000000LL;
    tes_worker *w = tes__self;
    unsigned idle = 0;
    for (;;) {
        if (any_done(fs, n, ready))
            return 0;
        long long left = deadline < 0 ? -1 : deadline - tes__now_ns();
        if (deadline >= 0 && left <= 0)
            return -ETIMEDOUT;
        if (w) {
            /* A worker keeps working while it waits. */
            tes_future *t = tes__find_work(w);
            if (t) {
                tes__run_frame(w, t);
                idle = 0;
                continue;
            }
            if (++idle < 64) {
                sched_yield();
                continue;
            }
            if (left < 0 || left > 200000)
                left = 200000;
        }
        /* acquire: pairs with the release increment in
         * complete_with_waiters; read before the flags are set, so a
         * completion after this point changes the word we sleep on. */
        uint32_t seq = atomic_load_explicit(&tes__any_seq, memory_order_acquire);
        for (size_t i = 0; i < n; i++)
            if (!announce_waiter(fs[i])) {
                *ready = i;
                return 0;
            }
        tes__futex_wait(&tes__any_seq, seq, left);
    }
}
