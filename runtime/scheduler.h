/*
 * scheduler.h — private: the scheduler (sched.c): where work goes (the
 * worker's own deque, the pool's injection queue, turns held for a
 * worker), where a worker finds work (its own deque, held turns, the
 * injection queue, other workers' deques), publishing work to thieves,
 * parking and waking, and helping while waiting.
 */
#ifndef TES_SCHEDULER_H
#define TES_SCHEDULER_H

#include "frame.h"

/* Publishes about half of w's private items below index limit for thieves
 * that asked, and wakes a sleeping worker to take them. w is the calling
 * thread's worker. */
void tes__share(tes_worker *w, uint32_t limit);

/* Pushes item (a work item: internal.h) on the calling worker w's deque.
 * 0, or -ENOSPC when the deque is full (nothing changes). */
static inline int tes__push_local(tes_worker *w, void *item)
{
    tes_deque *d = &w->deque;
    if (TES_UNLIKELY(tes__deque_push(d, item) != 0))
        return -ENOSPC;
    if (TES_UNLIKELY(tes__deque_wanted(d)))
        tes__share(w, tes__deque_depth(d));
    return 0;
}

/* Pops the newest item of w's own deque, as tes__deque_pop, publishing
 * first (all but the top) when thieves asked. */
static inline void *tes__pop_one(tes_worker *w)
{
    tes_deque *d = &w->deque;
    if (TES_UNLIKELY(tes__deque_wanted(d)) && tes__deque_depth(d) > 0)
        tes__share(w, tes__deque_depth(d) - 1);
    return tes__deque_pop(d);
}

/* Pops the newest item of w's own deque that thieves did not take, or NULL
 * when there is none. */
static inline void *tes__pop_local(tes_worker *w)
{
    void *x;
    while ((x = tes__pop_one(w)) == TES_DEQUE_STOLEN)
        ;
    return x;
}

/* Submits frame f to pool: the calling worker's deque when it is one of
 * pool's, else the injection queue. 0, TES_ESHUTDOWN or TES_EFORKED (from
 * outside the pool only). */
int tes__submit(tes_pool *pool, tes_future *f);
/* Submits f, falling back to the injection queue if tes__submit refuses
 * (shutdown): for frames whose turn comes from a completion. */
void tes__submit_always(tes_pool *pool, tes_future *f);
void tes__inject(tes_pool *pool, tes_future *f);

/* Actor turns (frames whose calls are in one worker's cache): held for the
 * calling worker when it is one of pool's workers, else submitted. */
void tes__hold(tes_pool *pool, tes_future *f);
/* Whether turns are held for w (a hint). */
static inline bool tes__held_pending(tes_worker *w)
{
    /* relaxed: a hint; taking them decides. */
    return atomic_load_explicit(&w->held, memory_order_relaxed) != NULL;
}

/* One work item for w: held turns, its own deque, the injection queue,
 * then other workers' deques and held turns (stealing). NULL: none now. */
void *tes__find_work(tes_worker *w);
/* One item stolen from worker victim of w's pool, or NULL. */
void *tes__steal_from(tes_worker *w, int victim);

/* One item for w to run while it waits for awaited (a frame, or NULL for
 * anything else: a forked task, a group, several futures), which thief (a
 * worker index of its pool, or anything else when unknown) took: turns
 * held for w (the calls it made are among them), its own deque, then the
 * thief's deque (leapfrogging: work the awaited task left there), then
 * anywhere. Inside an actor's method only the method's own work, and the
 * turns of the actor whose call it awaits (sched.c, "isolation"). */
void *tes__help_find(tes_worker *w, int thief, const tes_future *awaited);
/* The newest item of w's own deque that w may run while it waits (all of
 * it, or inside an actor's method what the method pushed), or NULL. */
void *tes__pop_helpable(tes_worker *w);

/* A helping worker found nothing to run for the idle-th time in a row:
 * spin, then yield. Returns false once it is time to nap instead (the
 * caller naps in its own way). */
bool tes__help_backoff(unsigned idle);
/* Runs other work of w's pool until done(ctx) is true; naps briefly when
 * there is nothing to run. */
void tes__help_until(tes_worker *w, bool (*done)(void *), void *ctx);

/* Parking (pool.c's worker loop): sleeps until woken or timeout_ns pass,
 * unless work is visible. */
void tes__park(tes_worker *w, long long timeout_ns);
void tes__wake_one(tes_pool *pool);
void tes__wake_all(tes_pool *pool);
/* Whether any work is queued where any worker can take it (a hint). */
bool tes__work_visible(tes_pool *pool);

#endif
