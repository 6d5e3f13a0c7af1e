/*
 * frame.h — private: the life of a task frame (take one from the worker's
 * free list, set it up, run it, complete it, put it back) and the running
 * of forked tasks that a thief or a helping owner took from a deque. The
 * hot paths are inline here so that spawn, await and actor calls pay no
 * function call for them; the slow ones (empty or overfull free lists,
 * completion with waiters or continuations, frames with behaviour) are in
 * frame.c.
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

/* Makes w the calling thread's worker (NULL: none), for the runtime
 * (tes__self) and for the inline fork and join (tes_fj_self). */
void tes__set_self(tes_worker *w);

/* frame.c: the out-of-line halves. */
tes_future *tes__frame_refill(tes_worker *w); /* w's free list is empty */
void tes__frame_spill(tes_worker *w);      /* w's spill chain is a batch */
/* Sends f back to its home worker when that is another slot of w's pool;
 * false (nothing done) otherwise. */
bool tes__frame_return(tes_worker *w, tes_future *f);
void tes__frame_batches_free(tes_future *b); /* returned batches, and link */
/* Frees the frames w's thread keeps (free list, spill, return batches). */
void tes__frames_release(tes_worker *w);
void tes__complete_slow(tes_future *f);    /* waiters or continuations */
void tes__set_cancelled(tes_future *f);    /* result of a cancelled frame */
/* A frame set up as tes__frame_setup does (from the calling worker's free
 * list, else malloc), or NULL when out of memory. */
tes_future *tes__frame_new(tes_pool *pool, int refs, const tes_frame_ops *ops,
                           void *ext, const char *name);
/* Runs frame f on w's thread (any kind, traced or not) and completes it. */
void tes__run_frame(tes_worker *w, tes_future *f);
/* Runs forked task t, which w took from a deque (a thief's, or its own
 * while helping), and completes it for its join. */
void tes__run_fork(tes_worker *w, tes_task *t);
/* Runs a deque item: a frame or a forked task. */
static inline void tes__run_item(tes_worker *w, void *x)
{
    if (TES_UNLIKELY(tes__item_is_fork(x)))
        tes__run_fork(w, tes__item_fork(x));
    else
        tes__run_frame(w, tes__item_frame(x));
}
/* Registers c to fire when f completes. Returns true when registered, false
 * when f has already completed (c will not fire: the caller acts itself). */
bool tes__on_complete(tes_future *f, tes_cont *c);

/* Sets up a frame that is ours alone until it is pushed (a release
 * publishes it), with the behaviour, its context and name given; the
 * caller sets fn (or method) and arg. msg is NULL already (free frames
 * keep it so); result, next and thief are set by whoever uses them. */
static inline void tes__frame_setup(tes_future *f, tes_pool *pool, int refs,
                                    const tes_frame_ops *ops, void *ext,
                                    const char *name)
{
    atomic_init(&f->word, (uint32_t)refs * TES_REF);
    f->error = 0;
    f->name = name;
    f->pool = pool;
    f->ops = ops;
    f->ext = ext;
    atomic_init(&f->conts, NULL);
}

/* A frame from w's free list (not set up), or NULL when the list is empty
 * (tes__frame_refill refills it). w is the calling thread's worker. */
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

/*
 * Runs nest on a thread: a task's run may run others (a join or an await
 * helping, an inline join). What the thread runs is recorded in its
 * deque's owner line (deque.own, which the inline fork and join read):
 * scope, the frame whose task runs (or whose forked task runs), and the
 * pending failure, which tes_fail records for whatever runs innermost and
 * the end of that run moves into its frame or forked task (the inline
 * join checks it after its call: tessera.h). While a failure is pending,
 * forks and joins of the failed task take the library's path, which saves
 * it around the runs they start (task.c, fail_current).
 */
typedef struct tes_run_saved {
    tes_future *scope;
    char *fail_msg;
    int fail_code;
#ifdef TES_DEBUG
    tes_task *dbg_top;
#endif
} tes_run_saved;

#ifdef TES_DEBUG
/* A run ended with forks it did not join (fork.c: prints and aborts). */
void tes__debug_unjoined(tes_task *t);
#endif

/* Whether the task running innermost on w's thread has a pending
 * failure: its forks and spawns must then bypass the inline paths
 * (fork_end, and bit 1 of the items' tags). Outside that, they take them
 * unless the pool traces or this is a debug build (w->fork_end NULL). */
static inline void tes__failed_mode(tes_worker *w, bool failed)
{
    w->deque.own.fork_end = failed ? NULL : w->fork_end;
    w->fork_tag = failed || !w->fork_end ? 2 : 0;
    w->frame_tag = w->fork_tag | 1;
}

/* Starts a run on w's thread within scope (a frame), saving what ran. */
static inline void tes__run_enter(tes_worker *w, tes_future *scope,
                                  tes_run_saved *s)
{
    tes_fj *o = &w->deque.own;
    s->scope = (tes_future *)o->scope;
    s->fail_code = o->fail_code;
    o->scope = scope;
    if (TES_UNLIKELY(s->fail_code != 0)) {
        s->fail_msg = o->fail_msg;
        o->fail_code = 0;
        o->fail_msg = NULL;
        tes__failed_mode(w, false); /* the new run has not failed */
    }
#ifdef TES_DEBUG
    s->dbg_top = w->dbg_top;
    w->dbg_top = NULL;
#endif
}

/* Ends the run begun by tes__run_enter: puts back what ran before. The
 * run's own failure must have been taken (tes__take_failure). */
static inline void tes__run_leave(tes_worker *w, const tes_run_saved *s)
{
#ifdef TES_DEBUG
    if (w->dbg_top)
        tes__debug_unjoined(w->dbg_top);
    w->dbg_top = s->dbg_top;
#endif
    tes_fj *o = &w->deque.own;
    o->scope = s->scope;
    if (TES_UNLIKELY(s->fail_code != 0)) {
        o->fail_code = s->fail_code;
        o->fail_msg = s->fail_msg;
        tes__failed_mode(w, true); /* the outer run is still failed */
    }
}

/* The failure the run that ends on w's thread recorded (0 and NULL when
 * none), which the caller now owns; the thread's forks may be inline
 * again. */
static inline int tes__take_failure(tes_worker *w, char **msg)
{
    tes_fj *o = &w->deque.own;
    int code = o->fail_code;
    *msg = o->fail_msg;
    if (TES_UNLIKELY(code != 0)) {
        o->fail_code = 0;
        o->fail_msg = NULL;
        tes__failed_mode(w, false);
    }
    return code;
}

/* Frame f's run failed with code and msg (unprefixed, owned): f's result
 * (frame.c: the message gets f's name in front). */
void tes__frame_failed(tes_future *f, int code, char *msg);

/* Starts the run of f on w's thread: f becomes w's current frame (for
 * tes_fail, tes_cancelled and forks). Returns false when f was cancelled
 * before it started: its result is then set as cancelled and it must not
 * run. Every run ends with tes__frame_stop, then tes__frame_complete. */
static inline bool tes__frame_start(tes_worker *w, tes_future *f,
                                    tes_run_saved *s)
{
    tes__run_enter(w, f, s);
    /* relaxed: a cancel that races with the start is seen by the task
     * through tes_cancelled() instead. */
    if (TES_UNLIKELY(atomic_load_explicit(&f->word, memory_order_relaxed) &
                     TES_CANCEL_REQ)) {
        tes__set_cancelled(f);
        return false;
    }
    return true;
}

/* Ends the run begun by tes__frame_start: f gets the failure it
 * recorded. */
static inline void tes__frame_stop(tes_worker *w, tes_future *f,
                                   const tes_run_saved *s)
{
    char *msg;
    int code = tes__take_failure(w, &msg);
    if (TES_UNLIKELY(code != 0))
        tes__frame_failed(f, code, msg);
    tes__run_leave(w, s);
    tes__count(&w->n_run);
}

/* Publishes f's result and drops the running task's reference. */
static inline void tes__frame_complete(tes_future *f)
{
    /* relaxed: only a first guess for the CAS. */
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
