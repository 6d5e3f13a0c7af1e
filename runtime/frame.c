/*
 * frame.c — task frames: allocation (per-worker free lists, the pool's
 * spare batches, frames sent back to the worker that made them), running
 * a frame of any kind and a forked task taken from a deque, completion's
 * slow path (waiters, continuations) and the cancelled result.
 */
#include "frame.h"

#include <stdalign.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "trace.h"

TES_TLS tes_worker *tes__self;

/* What tes_fj_self points at on threads that are no workers: a record
 * with which the inline fork and join (tessera.h) always call the library
 * (which refuses them): top at its one slot, split past it, no fork_end.
 * After a want word of 0, as in a deque. Never written. */
struct fj_none {
    alignas(TES_CACHE_LINE) uint32_t want;
    alignas(TES_CACHE_LINE) tes_fj fj;
    void *slot[1];
};
_Static_assert(offsetof(struct fj_none, fj) == TES_FJ_WANT_OFFSET,
               "the want word one line before the record");
static struct fj_none fj_none = {
    .fj = {.top = fj_none.slot, .split = fj_none.slot + 1,
           .end = fj_none.slot + 1}};
__thread tes_fj *tes_fj_self __attribute__((tls_model("initial-exec"))) =
    &fj_none.fj;

void tes__set_self(tes_worker *w)
{
    tes__self = w;
    tes_fj_self = w ? &w->deque.own : &fj_none.fj;
}

/* Wake channel for tes_wait_any from outside threads: bumped after any
 * completion that found TES_WAITERS set, so a thread waiting on several
 * futures can sleep on one word. It carries no state, only wake-ups, so one
 * per process serves every pool. */
_Atomic uint32_t tes__any_seq;

/* A new frame, homed at w (NULL: the calling thread is no worker). */
static inline tes_future *frame_alloc(tes_worker *w)
{
    tes_future *f = aligned_alloc(TES_FRAME_ALIGN, TES_FRAME_BYTES);
    if (f) {
        f->home = w;
        f->msg = NULL;
    }
    return f;
}

/* ---- allocation ---------------------------------------------------------- */

/*
 * A batch of frames going back to their home worker (tes__frame_return) is
 * described by its first frame, whose memory, all but its home field,
 * holds the link to the next batch and the addresses of the other frames:
 * the home worker learns them all from one frame and fetches them at once,
 * instead of walking a chain through frames that another core wrote last,
 * one cache miss after another (which, when cross-core latency is high,
 * cost a caller more than the rest of its call). The msg field is cleared
 * again when the batch is taken apart.
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
tes_future *tes__frame_refill(tes_worker *w)
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
            b->msg = NULL; /* the batch's words covered it */
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
        /* release: pairs with the acquire exchange in tes__frame_refill,
         * which then sees the batch's contents. */
    } while (!atomic_compare_exchange_weak_explicit(
        &home->returned, &old, b, memory_order_release, memory_order_relaxed));
    return true;
}

static void free_chain(tes_future *f)
{
    while (f) {
        tes_future *nx = f->next;
        free(f);
        f = nx;
    }
}

void tes__frames_release(tes_worker *w)
{
    free_chain(w->free_list);
    w->free_list = NULL;
    w->free_count = 0;
    free_chain(w->spill);
    w->spill = NULL;
    w->nspill = 0;
    int slots = w->pool->nworkers + w->pool->nlend;
    for (int i = 0; w->ret && i < slots; i++) {
        free_chain(w->ret[i].head);
        w->ret[i].head = NULL;
        w->ret[i].n = 0;
    }
}

tes_future *tes__frame_new(tes_pool *pool, int refs, const tes_frame_ops *ops,
                           void *ext, const char *name)
{
    tes_worker *w = tes__self;
    tes_future *f = w ? tes__frame_pop(w) : NULL;
    if (TES_UNLIKELY(!f)) {
        f = w ? tes__frame_refill(w) : frame_alloc(NULL);
        if (!f)
            return NULL;
    }
    tes__frame_setup(f, pool, refs, ops, ext, name);
    f->next = NULL;
    return f;
}

/* ---- completion ------------------------------------------------------------ */

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

void tes__frame_failed(tes_future *f, int code, char *msg)
{
    char *m = NULL;
    if (msg) {
        const char *name = f->name ? f->name : "task";
        size_t n = strlen(name) + 2 + strlen(msg) + 1;
        if ((m = malloc(n)))
            snprintf(m, n, "%s: %s", name, msg);
        free(msg);
    }
    free(f->msg);
    f->msg = m;
    f->error = code;
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

bool tes__on_complete(tes_future *f, tes_cont *c)
{
    /* acquire: pairs with the release in tes__frame_complete and
     * tes__complete_slow. */
    uint32_t s = atomic_load_explicit(&f->word, memory_order_acquire);
    while (!(s & (TES_DONE | TES_CONT))) {
        /* seq_cst: ordered against the completer's CAS on the same word,
         * which then sees TES_CONT and takes the slow path (as for
         * TES_WAITERS in task.c's announce_waiter). */
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
         * exchange in tes__complete_slow; acquire on failure: we may read
         * the CLOSED it stored (then DONE is visible too). */
    } while (!atomic_compare_exchange_weak_explicit(
        &f->conts, &head, c, memory_order_release, memory_order_acquire));
    return true;
}

/* ---- running ----------------------------------------------------------------- */

/* A frame with ops (actor call, dependent or group task). */
static TES_NOINLINE void run_frame_ops(tes_worker *w, tes_future *f)
{
    const tes_frame_ops *ops = f->ops;
    tes_run_saved s;
    if (tes__frame_start(w, f, &s))
        f->result = ops->run(f);
    tes__frame_stop(w, f, &s);
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
    tes_run_saved s;
    if (tes__frame_start(w, f, &s))
        f->result = f->fn(f->arg);
    tes__frame_stop(w, f, &s);
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

void tes__run_fork(tes_worker *w, tes_task *t)
{
    /* The task runs as part of the one that forked it: that frame is its
     * scope for tes_cancelled and for the tasks it forks in turn. */
    tes_run_saved s;
    tes__run_enter(w, t->tes__scope, &s);
    if (TES_UNLIKELY(w->trace != NULL))
        tes__trace_event(w, TES_EV_BEGIN, "fork", 0);
    t->tes__arg = t->tes__fn(t->tes__arg); /* the result takes arg's place */
    if (TES_UNLIKELY(w->trace != NULL))
        tes__trace_event(w, TES_EV_END, "fork", 0);
    t->tes__error = tes__take_failure(w, &t->tes__msg);
    tes__run_leave(w, &s);
    /* acq_rel: release publishes the result, error and message to the
     * joining owner's acquire loads of the state (fork.c); after this the
     * frame may be gone (its owner returns from the join). */
    uint32_t old =
        __atomic_exchange_n(&t->tes__state, TES_FORK_DONE, __ATOMIC_ACQ_REL);
    if (old & TES_FORK_STOLEN)
        tes__count(&w->n_run); /* the owner counts the forks it runs */
    if (old & TES_FORK_WAITER)
        /* The owner may be gone: a wake on a stale address wakes nobody,
         * or someone who re-checks, as for sem_post before sem_destroy. */
        tes__futex_wake((_Atomic uint32_t *)(void *)&t->tes__state, INT_MAX);
}
