/*
 * sched.c — the scheduler: submitting work (own deque, injection queue,
 * turns held for a worker), publishing private work to thieves that ask,
 * finding work (own deque, held turns, injection, stealing), parking idle
 * workers and waking them, and helping while a worker waits.
 */
#include "scheduler.h"

#include <sched.h>

#include "trace.h"

/* A parked worker also looks again every TES_HELD_PARK_NS while turns are
 * held anywhere (see "held turns"). */
#define TES_HELD_PARK_NS 200000LL
/* How long other workers leave a worker's held turns to it, in us. */
#define TES_HELD_WAIT_US 20

static inline uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* ---- waking ----------------------------------------------------------------- */

void tes__wake_one(tes_pool *p)
{
    /* acquire on success: pairs with the release store of waking in
     * tes__park; one wake-up in flight at a time keeps a burst of spawns
     * to one futex call. */
    if (atomic_exchange_explicit(&p->waking, 1, memory_order_acquire))
        return;
    /* release: the sleeper's futex_wait compares against the new value. */
    atomic_fetch_add_explicit(&p->epoch, 1, memory_order_release);
    tes__futex_wake(&p->epoch, 1);
}

void tes__wake_all(tes_pool *p)
{
    /* release: as in tes__wake_one. */
    atomic_fetch_add_explicit(&p->epoch, 1, memory_order_release);
    tes__futex_wake(&p->epoch, INT_MAX);
}

/* ---- publishing ------------------------------------------------------------- */

void tes__share(tes_worker *w, uint32_t limit)
{
    if (tes__deque_publish(&w->deque, limit) == 0)
        return;
    tes_pool *p = w->pool;
    /* seq_cst: after the publishing RMW (seq_cst), against tes__park's
     * increment of sleepers then look at every deque: one of the two
     * threads sees the other, so published work never waits for a timer
     * while every other worker sleeps. */
    if (atomic_load_explicit(&p->sleepers, memory_order_seq_cst) > 0)
        tes__wake_one(p);
}

/* ---- injection queue ------------------------------------------------------ */

void tes__inject(tes_pool *p, tes_future *f)
{
    f->next = NULL;
    pthread_mutex_lock(&p->inj_lock);
    if (p->inj_tail)
        p->inj_tail->next = f;
    else
        p->inj_head = f;
    p->inj_tail = f;
    /* seq_cst: with the seq_cst load of sleepers below, the mirror of
     * tes__park: sleepers++ then a load of inj_count. One of the two
     * threads sees the other, so an injected task is never left with every
     * worker asleep. */
    atomic_fetch_add_explicit(&p->inj_count, 1, memory_order_seq_cst);
    pthread_mutex_unlock(&p->inj_lock);
    if (atomic_load_explicit(&p->sleepers, memory_order_seq_cst) > 0)
        tes__wake_one(p);
}

static tes_future *inject_pop(tes_pool *p)
{
    /* relaxed: a cheap look; the lock below decides. */
    if (atomic_load_explicit(&p->inj_count, memory_order_relaxed) <= 0)
        return NULL;
    pthread_mutex_lock(&p->inj_lock);
    tes_future *f = p->inj_head;
    if (f) {
        p->inj_head = f->next;
        if (!p->inj_head)
            p->inj_tail = NULL;
        /* relaxed: inj_count changes under inj_lock; readers only peek. */
        atomic_fetch_sub_explicit(&p->inj_count, 1, memory_order_relaxed);
    }
    pthread_mutex_unlock(&p->inj_lock);
    return f;
}

int tes__submit(tes_pool *pool, tes_future *f)
{
    tes_worker *w = tes__self;
    if (TES_LIKELY(w && w->pool == pool)) {
        /* Frames that come this way (with behaviour, or spawned cold)
         * take the general path when awaited. */
        if (TES_LIKELY(tes__push_local(w, tes__frame_item_slow(f)) == 0)) {
            tes__count(&w->n_spawn);
            return 0;
        }
        /* The deque is full: the injection queue takes it. */
    } else {
        if (TES_UNLIKELY(tes__forked(pool)))
            return TES_EFORKED;
        /* acquire: pairs with the seq_cst store in tes_pool_destroy. */
        if (atomic_load_explicit(&pool->stopping, memory_order_acquire))
            return TES_ESHUTDOWN;
    }
    tes__inject(pool, f);
    return 0;
}

void tes__submit_always(tes_pool *pool, tes_future *f)
{
    if (tes__submit(pool, f) != 0)
        tes__inject(pool, f);
}

/* ---- held turns --------------------------------------------------------------- */

/*
 * An actor's turn (its oldest pending call, run as a task) stays with the
 * worker that queued it, the caller that took the turn or the worker whose
 * drain batch ended, instead of going onto its deque: the calls are a
 * linked list of frames in that worker's cache, and another worker would
 * read them one cache miss after another. An idle worker stealing the turn
 * of a busy caller made the two of them slower than the caller alone (one
 * caller: 32 against 77 Mcalls/s). The worker takes its list first
 * whenever it looks for work or helps while awaiting. Other workers leave
 * a list alone until it has waited TES_HELD_WAIT_US (its worker may be in
 * a long task), and take it at once when the pool is stopping; while any
 * list waits, parked workers look again every TES_HELD_PARK_NS. Holding a
 * turn wakes nobody (a wake per turn would cost a caller more than the
 * calls): when every other worker already sleeps with a longer timeout and
 * the owner stays busy, the turn waits for the first of them to wake, at
 * most TES_PARK_MAX_NS (pool.c). The list is served oldest first, so a
 * busy actor whose turn keeps coming back cannot starve the others.
 */

/* Pushes f on t's list. stamp: f is newly queued, so an empty list starts
 * waiting now; a turn put back (held_take) keeps the list's older time. */
static void held_push(tes_worker *t, tes_future *f, bool stamp)
{
    /* relaxed: a first guess for the CAS. */
    tes_future *head = atomic_load_explicit(&t->held, memory_order_relaxed);
    do {
        if (!head && stamp)
            /* relaxed: published by the release CAS below, which the
             * acquire look in held_take pairs with. */
            atomic_store_explicit(&t->held_since, tes__ticks(),
                                  memory_order_relaxed);
        f->next = head;
        /* release: pairs with the acquire exchange (and look) in
         * held_take, which then sees the frame (and, through the actor's
         * turn, its calls) and the time it started waiting. */
    } while (!atomic_compare_exchange_weak_explicit(
        &t->held, &head, f, memory_order_release, memory_order_relaxed));
}

void tes__hold(tes_pool *p, tes_future *f)
{
    tes_worker *w = tes__self;
    if (w && w->pool == p && w->index < p->nworkers) {
        held_push(w, f, true);
        return;
    }
    /* A lent or outside thread keeps no turns: its host may leave. */
    tes__submit_always(p, f);
}

/* Takes from's held list when w may: from's own thread always, others
 * once it has waited long enough or the pool is stopping. Returns the
 * turn that has waited longest, to run now; the others go back, oldest
 * deepest, on w's list (a worker's) or on from's (a lend slot, which
 * keeps no turns: its host may leave at any time). */
static tes_future *held_take(tes_worker *w, tes_worker *from)
{
    /* acquire: pairs with the release CAS in held_push (its stamp). */
    if (TES_LIKELY(!atomic_load_explicit(&from->held, memory_order_acquire)))
        return NULL;
    tes_pool *p = w->pool;
    if (from != w &&
        /* relaxed: ordered by the acquire look above. */
        tes__ticks() - atomic_load_explicit(&from->held_since,
                                            memory_order_relaxed) <
            TES_HELD_WAIT_US * p->ticks_per_us &&
        /* acquire: pairs with the seq_cst store in tes_pool_destroy. */
        !atomic_load_explicit(&p->stopping, memory_order_acquire))
        return NULL;
    /* acquire: pairs with the release CAS in held_push. */
    tes_future *f =
        atomic_exchange_explicit(&from->held, NULL, memory_order_acquire);
    if (!f)
        return NULL;
    /* The list is newest first: reverse it, run the oldest, and push the
     * rest back oldest first so that the newest ends on top again. */
    tes_future *oldest = NULL;
    while (f) {
        tes_future *nx = f->next;
        f->next = oldest;
        oldest = f;
        f = nx;
    }
    tes_worker *keep = w->index < p->nworkers ? w : from;
    for (tes_future *t = oldest->next; t;) {
        tes_future *nx = t->next;
        held_push(keep, t, false);
        t = nx;
    }
    oldest->next = NULL;
    return oldest;
}

/* True when some worker's held list waits. */
static bool held_waiting(tes_pool *p)
{
    for (int i = 0; i < p->nworkers; i++)
        /* relaxed: a hint for how long to park. */
        if (atomic_load_explicit(&p->workers[i].held, memory_order_relaxed))
            return true;
    return false;
}

/* ---- stealing ------------------------------------------------------------------ */

/* w won item x of victim v's slot index: records what v must see before
 * it may reuse the slot, and lets it. */
static void claim(tes_worker *w, tes_worker *v, void *x, uint32_t index)
{
    if (tes__item_is_fork(x)) {
        tes_task *t = tes__item_fork(x);
        /* relaxed: published to the owner by the release of the
         * acknowledgement below; nothing else writes the state while the
         * slot is unacknowledged. */
        __atomic_store_n(&t->tes__state,
                         TES_FORK_STOLEN | (uint32_t)(w->index + 1) << 8,
                         __ATOMIC_RELAXED);
        /* relaxed: a statistic (the owner's forks run elsewhere). */
        atomic_fetch_add_explicit(&v->deque.thief_count, 1,
                                  memory_order_relaxed);
    } else {
        /* relaxed: a hint for the awaiter's leapfrogging. */
        atomic_store_explicit(&tes__item_frame(x)->thief, w->index,
                              memory_order_relaxed);
    }
    tes__deque_ack(&v->deque, index);
    tes__count(&w->n_steal);
    if (TES_UNLIKELY(w->trace != NULL))
        tes__trace_event(w, TES_EV_STEAL, NULL, v->index);
}

void *tes__steal_from(tes_worker *w, int victim)
{
    tes_worker *v = &w->pool->workers[victim];
    uint32_t index;
    void *x = tes__deque_steal(&v->deque, &index);
    if (x)
        claim(w, v, x, index);
    return x;
}

static void *steal_round(tes_worker *w)
{
    tes_pool *p = w->pool;
    int n = tes__nslots(p);
    if (n < 2)
        return NULL;
    int start = (int)(xorshift(&w->rng) % (uint64_t)n);
    for (int i = 0; i < n; i++) {
        int k = start + i;
        if (k >= n)
            k -= n;
        if (k == w->index)
            continue;
        tes_worker *v = &p->workers[k];
        uint32_t index;
        void *x = tes__deque_steal(&v->deque, &index);
        if (!x) {
            tes_future *f = held_take(w, v);
            if (f) /* not counted as a steal: no thief hint either */
                return tes__frame_item(f);
            continue;
        }
        claim(w, v, x, index);
        /* More where this came from: let a sleeper help too. */
        if (tes__deque_public(&v->deque) > 0 &&
            atomic_load_explicit(&p->sleepers, memory_order_relaxed) > 0)
            tes__wake_one(p);
        return x;
    }
    tes__count(&w->n_failed);
    return NULL;
}

/* Work of w's own: turns held for it, then its deque. Held turns first:
 * the calls it made are among them, and running its deque first would
 * start the tasks there (other callers, which make more calls) before
 * them. */
static void *own_work(tes_worker *w)
{
    tes_future *f = held_take(w, w);
    if (f)
        return tes__frame_item(f);
    return tes__pop_local(w);
}

/* The rest of tes__find_work: the injection queue, then stealing. */
static void *others_work(tes_worker *w)
{
    tes_future *f = inject_pop(w->pool);
    if (f) {
        tes__count(&w->n_inject);
        return tes__frame_item(f);
    }
    return steal_round(w);
}

void *tes__find_work(tes_worker *w)
{
    void *x = own_work(w);
    return x ? x : others_work(w);
}

/* ---- parking ------------------------------------------------------------------- */

bool tes__work_visible(tes_pool *p)
{
    /* seq_cst: second half of the handshake with tes__inject. */
    if (atomic_load_explicit(&p->inj_count, memory_order_seq_cst) > 0)
        return true;
    int n = tes__nslots(p);
    for (int i = 0; i < n; i++)
        if (tes__deque_public(&p->workers[i].deque) > 0)
            return true;
    return false;
}

void tes__park(tes_worker *w, long long timeout_ns)
{
    tes_pool *p = w->pool;
    /* Work other workers keep private stays invisible to us: ask them all
     * to publish, so that their next push or pop wakes us with some. */
    int n = tes__nslots(p);
    for (int i = 0; i < n; i++)
        if (i != w->index)
            tes__deque_ask(&p->workers[i].deque);
    /* acquire: pairs with the release increments of epoch. Read before
     * announcing, so a wake after the announcement changes the word. */
    uint32_t e = atomic_load_explicit(&p->epoch, memory_order_acquire);
    /* seq_cst: first half of the handshakes with tes__inject and
     * tes__share. */
    atomic_fetch_add_explicit(&p->sleepers, 1, memory_order_seq_cst);
    if (timeout_ns > TES_HELD_PARK_NS && held_waiting(p))
        timeout_ns = TES_HELD_PARK_NS;
    if (!tes__work_visible(p) &&
        /* acquire: pairs with the seq_cst store in tes_pool_destroy. */
        !atomic_load_explicit(&p->stopping, memory_order_acquire)) {
        tes__count(&w->n_park);
        if (TES_UNLIKELY(w->trace != NULL))
            tes__trace_event(w, TES_EV_PARK, NULL, 0);
        /* relaxed: read by tes_pool_dump only. */
        atomic_store_explicit(&w->phase, TES_PHASE_PARKED,
                              memory_order_relaxed);
        tes__futex_wait(&p->epoch, e, timeout_ns);
        atomic_store_explicit(&w->phase, TES_PHASE_LOOKING,
                              memory_order_relaxed);
        if (TES_UNLIKELY(w->trace != NULL))
            tes__trace_event(w, TES_EV_UNPARK, NULL, 0);
    }
    /* relaxed: a count; the handshakes' ordering is on the increment. */
    atomic_fetch_sub_explicit(&p->sleepers, 1, memory_order_relaxed);
    /* release: pairs with the acquire exchange in tes__wake_one; the next
     * spawn may wake someone again. */
    atomic_store_explicit(&p->waking, 0, memory_order_release);
}

/* ---- helping ------------------------------------------------------------------- */

/*
 * Isolation. A thread that runs an actor's method holds that actor's turn.
 * If the method waits and the thread helped by running any task, that task
 * could wait for a call of the same actor, which cannot run before the
 * method returns, underneath it: a deadlock no program asked for. So while
 * a method runs (w->iso, set by actor.c), waits help only with the
 * method's own work (what it pushed on the deque: its forks and spawns)
 * and with the turns of the actor whose call is awaited (held for this
 * worker: the awaited call cannot need this method to return unless the
 * program's actors wait for each other in a circle); otherwise they nap
 * and other workers do the rest.
 */
void *tes__pop_helpable(tes_worker *w)
{
    if (TES_LIKELY(!w->iso.actor))
        return tes__pop_local(w);
    while (w->deque.own.top > w->iso.floor) {
        void *x = tes__pop_one(w);
        if (x != TES_DEQUE_STOLEN)
            return x;
    }
    return NULL;
}

/* The oldest turn of actor held for w, or NULL; the others stay held. */
static tes_future *held_take_actor(tes_worker *w, const void *actor)
{
    /* relaxed: a cheap look; the exchange decides. */
    if (!actor || w->index >= w->pool->nworkers ||
        !atomic_load_explicit(&w->held, memory_order_relaxed))
        return NULL;
    /* acquire: pairs with the release CAS in held_push. */
    tes_future *f =
        atomic_exchange_explicit(&w->held, NULL, memory_order_acquire);
    tes_future *oldest = NULL, *found = NULL;
    while (f) { /* newest first: reverse */
        tes_future *nx = f->next;
        f->next = oldest;
        oldest = f;
        f = nx;
    }
    for (tes_future *t = oldest; t;) {
        tes_future *nx = t->next;
        if (!found && t->ext == actor)
            found = t;
        else
            held_push(w, t, false);
        t = nx;
    }
    if (found)
        found->next = NULL;
    return found;
}

void *tes__help_find(tes_worker *w, int thief, const tes_future *awaited)
{
    if (TES_UNLIKELY(w->iso.actor != NULL)) {
        void *x = tes__pop_helpable(w);
        if (x)
            return x;
        tes_future *f = awaited && awaited->ops && awaited->ops->actor_call
                            ? held_take_actor(w, awaited->ext)
                            : NULL;
        return f ? tes__frame_item(f) : NULL;
    }
    void *x = own_work(w);
    if (x)
        return x;
    if (thief >= 0 && thief < tes__nslots(w->pool) && thief != w->index) {
        x = tes__steal_from(w, thief);
        if (x)
            return x;
    }
    return others_work(w);
}

bool tes__help_backoff(unsigned idle)
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
        void *x = tes__help_find(w, -1, NULL);
        if (x) {
            tes__run_item(w, x);
            idle = 0;
            continue;
        }
        if (!tes__help_backoff(++idle)) {
            struct timespec nap = {0, 100000};
            nanosleep(&nap, NULL);
        }
    }
}
