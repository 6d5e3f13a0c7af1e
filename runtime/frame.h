/*
 * frame.h — private: the hot path of a task frame's life (take one from the
 * worker's free list, set it up, complete it, put it back), inline so that
 * spawn and actor calls pay no function call for it. The slow paths (empty
 * or overfull free lists, completion with waiters or continuations) are out
 * of line in task.c.
 */
#ifndef TES_FRAME_H
#define TES_FRAME_H

#include "internal.h"

#include <stdlib.h>

/* Frames a worker keeps for reuse; more go to the pool's spare list in
 * batches, and past TES_SPARE_MAX batches back to malloc. */
#define TES_FREE_LIST_MAX 4096
#define TES_FRAME_BATCH 256
#define TES_SPARE_MAX 64

/* Frames start on a cache line and take two whole lines, so that the
 * fields a run touches never straddle a third one (about 8% on actor
 * calls, whose frames are mostly cache misses). */
#define TES_FRAME_ALIGN TES_CACHE_LINE
#define TES_FRAME_BYTES (2 * TES_CACHE_LINE)
_Static_assert(sizeof(tes_future) <= TES_FRAME_BYTES, "frame too big");

/* Frames sent back to their worker at a time (see tes__frame_free), and
 * the largest pool (workers and lend slots) that sends them back. */
#define TES_RETURN_BATCH 15
#define TES_RETURN_MAX_SLOTS 256

/* task.c: the out-of-line halves. */
void tes__frame_spill(tes_worker *w);      /* w's spill chain is a batch */
/* Sends f back to its home worker when that is another slot of w's pool;
 * false (nothing done) otherwise. */
bool tes__frame_return(tes_worker *w, tes_future *f);
void tes__frame_batches_free(tes_future *b); /* returned batches, and link */
void tes__complete_slow(tes_future *f);    /* waiters or continuations */
void tes__set_cancelled(tes_future *f);    /* result of a cancelled frame */

/* Sets up a frame that is ours alone until it is pushed (a release
 * store publishes it), with the behaviour, its context and name given. */
static inline void tes__frame_setup(tes_future *f, tes_pool *pool, int refs,
                                    const tes_frame_ops *ops, void *ext,
                                    const char *name)
{
    atomic_init(&f->word, (uint32_t)refs * TES_REF);
    f->error = 0;
    f->result = NULL;
    f->msg = NULL;
    f->name = name;
    f->pool = pool;
    f->next = NULL;
    f->ops = ops;
    f->ext = ext;
    atomic_init(&f->thief, -1);
    atomic_init(&f->conts, NULL);
}

/* A frame from w's free list (not set up), or NULL when the list is empty
 * (tes__frame_new refills it). w is the calling thread's worker. */
static inline tes_future *tes__frame_pop(tes_worker *w)
{
    tes_future *f = w->free_list;
    if (TES_LIKELY(f != NULL)) {
        tes_future *nx = f->next;
        w->free_list = nx;
        w->free_count--;
        /* The list is a chain through the frames: start the next pop's
         * cache miss now (a frame freed by another worker is in its
         * cache), rather than one miss after another. */
        if (nx)
            __builtin_prefetch(nx, 1);
    }
    return f;
}

/* Returns a frame nobody can reach any more to the calling thread's free
 * list (or its spill batch, or malloc from an outside thread). A frame
 * made by another worker of the same pool goes back to that worker
 * instead: a worker then keeps reusing the frames it allocated, in about
 * the order it allocated them, rather than a set scattered by traffic
 * between workers (scattered frames cost an actor-heavy pool a quarter of
 * its speed long after the traffic had stopped, the drains' walks over
 * the frames no longer meeting the hardware prefetcher's patterns). */
static inline void tes__frame_free(tes_future *f)
{
    if (TES_UNLIKELY(f->msg != NULL)) {
        free(f->msg);
        f->msg = NULL;
    }
    tes_worker *w = tes__self;
    if (TES_UNLIKELY(!w)) {
        free(f);
        return;
    }
    if (TES_UNLIKELY(f->home != w) && tes__frame_return(w, f))
        return;
    if (TES_LIKELY(w->free_count < TES_FREE_LIST_MAX)) {
        f->next = w->free_list;
        w->free_list = f;
        w->free_count++;
    } else {
        f->next = w->spill;
        w->spill = f;
        if (++w->nspill == TES_FRAME_BATCH)
            tes__frame_spill(w);
    }
}

/* Starts the run of f on w's thread: f becomes w's current frame (for
 * tes_fail and tes_cancelled). Returns false when f was cancelled before
 * it started: its result is then set as cancelled and it must not run.
 * Every run ends with tes__frame_stop, then tes__frame_complete. */
static inline bool tes__frame_start(tes_worker *w, tes_future *f,
                                    tes_future **prev)
{
    *prev = w->current;
    w->current = f;
    /* relaxed: a cancel that races with the start is seen by the task
     * through tes_cancelled() instead. */
    if (TES_UNLIKELY(atomic_load_explicit(&f->word, memory_order_relaxed) &
                     TES_CANCEL_REQ)) {
        tes__set_cancelled(f);
        return false;
    }
    return true;
}

/* Ends the run begun by tes__frame_start. */
static inline void tes__frame_stop(tes_worker *w, tes_future *prev)
{
    w->current = prev;
    tes__count(&w->n_run);
}

/* Publishes f's result and drops the running task's reference. */
static inline void tes__frame_complete(tes_future *f)
{
    /* relaxed: only a first guess for the CAS below. */
    uint32_t old = atomic_load_explicit(&f->word, memory_order_relaxed);
    if (old == TES_REF) {
        /* Detached and unflagged: no handle exists, so no other thread can
         * reach the frame any more; free it without an atomic RMW. */
        tes__frame_free(f);
        return;
    }
    for (;;) {
        if (TES_UNLIKELY(old & (TES_WAITERS | TES_CONT))) {
            tes__complete_slow(f);
            return;
        }
        uint32_t nw = (old | TES_DONE) - TES_REF;
        /* acq_rel: release publishes result/error to the acquire loads of
         * word by awaiters and by tes_future_release; acquire for the case
         * where this drops the last reference and frees the frame. A failed
         * CAS (a waiter or a reference arrived) retries with the new value
         * (relaxed: nothing else is read from it). */
        if (atomic_compare_exchange_weak_explicit(&f->word, &old, nw,
                                                  memory_order_acq_rel,
                                                  memory_order_relaxed)) {
            if (nw / TES_REF == 0)
                tes__frame_free(f);
            return;
        }
    }
}

#endif
