/*
 * actor.c — actors: a state whose method calls run one at a time, in the
 * order they were made, as ordinary tasks on any worker. A call is a task
 * frame queued in the actor's mailbox; the actor's turn passes from call to
 * call, so no thread ever waits for it, and a caller pays one CAS.
 *
 * The mailbox is one word: a multi-producer stack of calls (R. K. Treiber,
 * "Systems programming: coping with parallelism", IBM RJ 5118, 1986; newest
 * first, linked through tes_future.next) with a TURN bit in its low bit.
 * ABA cannot arise: only the turn holder removes calls, and it takes the
 * whole stack with one exchange, never a CAS on a node it read.
 * Invariants:
 *  1. TURN is set while some thread holds the actor's turn: the caller
 *     whose push set it (it found TURN clear), then whoever runs the calls.
 *     Only the turn holder touches ready and the state.
 *  2. TURN clear implies the stack is empty: the holder clears TURN only by
 *     a CAS from "TURN, empty stack", and callers set TURN with every push.
 *  3. The holder takes the whole stack at once (exchange, keeping TURN) and
 *     reverses it onto its private FIFO `ready`. ready (older) then the
 *     stack (newer) hold every call pushed and not started, so the order of
 *     calls is the order of their pushes — consistent with each caller's.
 *  4. The holder keeps the turn while it finds calls; it gives the turn up
 *     (invariant 2) only when ready and the stack are both empty.
 */
#include "scheduler.h"

#include <assert.h>
#include <stdlib.h>

#define TURN ((uintptr_t)1)

struct tes_actor {
    tes_pool *pool;
    void *state;
    void (*destroy)(void *state);
    /* The mailbox (see above): callers CAS (acq_rel), the turn holder
     * exchanges and CASes it. On its own line: every caller writes it. */
    alignas(TES_CACHE_LINE) _Atomic uintptr_t mailbox;
    /* The turn holder's FIFO of calls taken from the mailbox, oldest
     * first, linked through next. */
    alignas(TES_CACHE_LINE) tes_future *ready;
};

static void *call_run(tes_future *f);
static void *call_finish(tes_future *f);
static void call_after(void *next);
static void queue_turn(tes_actor *a, tes_future *f);
static const tes_frame_ops call_ops = {call_run, call_finish, call_after,
                                       true};

/* Marks the call made by tes_actor_destroy: after it, the actor is freed. */
static void *destroy_method(void *state, void *arg)
{
    tes_actor *a = arg;
    if (a->destroy)
        a->destroy(state);
    return NULL;
}

/* Runs a method: while it runs, the thread's waits are isolated (see
 * sched.c): an unrelated task run on top of the method could wait for
 * this very actor, whose turn the method holds underneath it. */
static inline void *method(tes_worker *w, tes_actor *a, tes_future *f)
{
    struct tes_iso outer = w->iso;
    w->iso.actor = a;
    w->iso.floor = w->deque.own.top;
    void *r = f->method(a->state, f->arg);
    w->iso = outer;
    return r;
}

static void *call_run(tes_future *f)
{
    return method(tes__self, f->ext, f);
}

/* Turn holder only, ready empty: moves the mailbox's calls to ready and
 * returns the oldest, or NULL after giving the turn up because there is
 * none (invariant 4). */
static TES_NOINLINE tes_future *take_mailbox(tes_actor *a)
{
    tes_future *batch;
    for (;;) {
        /* acquire: pairs with the callers' release CAS in push_call,
         * making each call's frame and link visible. Keeps TURN
         * (invariant 3). */
        uintptr_t m = atomic_exchange_explicit(&a->mailbox, TURN,
                                               memory_order_acquire);
        batch = (tes_future *)(m & ~TURN);
        if (batch)
            break;
        uintptr_t expect = TURN;
        /* release: hands the state (the calls' effects) to the next
         * holder, whose push CAS acquires it. Fails only if a call arrived
         * since the exchange: then go round and take it (relaxed on
         * failure: the exchange acquires). */
        if (atomic_compare_exchange_strong_explicit(
                &a->mailbox, &expect, 0, memory_order_release,
                memory_order_relaxed))
            return NULL;
    }
    /* Reverse the newest-first stack (not empty) into a FIFO. The walk is
     * one frame after another; fetching the frame a hint says lies
     * TES_WALK_AHEAD further down keeps it from waiting for each frame's
     * cache miss in turn when the calls came in a row from one worker
     * (about 20% of the cost of a call when the frames are out of address
     * order, as a long-lived pool's are). */
    tes_future *fifo = NULL;
    do {
        tes_future *nx = batch->next;
        /* The hint's slot is result's, which every run of a call writes
         * (its method's value, or NULL when cancelled). */
        if (batch->walk_hint)
            __builtin_prefetch(batch->walk_hint);
        batch->next = fifo;
        fifo = batch;
        batch = nx;
    } while (batch);
    a->ready = fifo->next;
    fifo->next = NULL;
    return fifo;
}

/* Turn holder only: the oldest call not started, or NULL after giving the
 * turn up because there is none (invariant 4). */
static inline tes_future *next_call(tes_actor *a)
{
    tes_future *f = a->ready;
    if (TES_UNLIKELY(!f))
        return take_mailbox(a);
    a->ready = f->next;
    f->next = NULL;
    return f;
}

/* Calls one turn holder runs back to back before queueing the rest as a
 * task again (so that other work, and thieves, get their chance). */
#define DRAIN_BATCH 256

/* The drain loop running on this thread, if any: its actor, and whether
 * the call it just ran was the destroy call (the actor is gone). */
typedef struct drain {
    tes_actor *actor;
    bool gone;
} drain;
static TES_TLS drain *tes__drain;

/* Before the call's completion: pass the turn on. Returns the next call
 * when this thread keeps the turn for it (call_after runs it), else NULL. */
static void *call_finish(tes_future *f)
{
    tes_actor *a = f->ext;
    drain *d = tes__drain;
    if (f->method == destroy_method) {
        /* The last call (no call may follow tes_actor_destroy). */
        assert(a->ready == NULL);
        if (d && d->actor == a)
            d->gone = true;
        free(a);
        return NULL;
    }
    if (d && d->actor == a)
        return NULL; /* inside this actor's drain loop: it runs the next */
    return next_call(a); /* NULL: turn given up */
}

/* One call of the drain loop: what tes__run_frame does with it (whose
 * call_finish returns NULL inside the loop), without the indirect calls
 * and with the thread's state saved once for the whole loop (call_after):
 * the scope and the isolation's floor change per call. Tracing, the
 * destroy call, a cancelled call and a failure pending from the runs
 * under the loop take the general path. Returns false when the call was
 * the destroy call: the actor is gone. */
static inline bool drain_one(tes_worker *w, drain *d, tes_future *f)
{
    tes_actor *a = d->actor;
    tes_fj *o = &w->deque.own;
    /* relaxed: as in tes__frame_start. */
    if (TES_UNLIKELY(w->trace != NULL || f->method == destroy_method ||
                     o->fail_code != 0 ||
                     (atomic_load_explicit(&f->word, memory_order_relaxed) &
                      TES_CANCEL_REQ))) {
        tes__run_frame(w, f);
        return !d->gone;
    }
    o->scope = f;
    w->iso.floor = o->top;
#ifdef TES_DEBUG
    tes_task *dbg = w->dbg_top;
    w->dbg_top = NULL;
#endif
    f->result = f->method(a->state, f->arg);
#ifdef TES_DEBUG
    if (w->dbg_top)
        tes__debug_unjoined(w->dbg_top);
    w->dbg_top = dbg;
#endif
    char *msg;
    int code = tes__take_failure(w, &msg);
    if (TES_UNLIKELY(code != 0))
        tes__frame_failed(f, code, msg);
    tes__count(&w->n_run);
    tes__frame_complete(f);
    return true;
}

/* After the call's completion (so that its awaiters are not held up by the
 * calls after it): run the next calls here, each completing as it goes,
 * rather than one task round trip per call. */
static void call_after(void *arg)
{
    tes_future *next = arg;
    tes_actor *a = next->ext;
    tes_worker *w = tes__self;
    if (!w || w->pool != a->pool) {
        tes__submit_always(a->pool, next);
        return;
    }
    drain mine = {a, false}, *outer = tes__drain;
    tes__drain = &mine;
    /* What each call's run would save and put back, saved once. */
    void *scope = w->deque.own.scope;
    struct tes_iso iso = w->iso;
    w->iso.actor = a;
    for (int i = 0; next; i++) {
        if (!drain_one(w, &mine, next)) {
            next = NULL;
            break;
        }
        next = next_call(a);
        if (i + 1 == DRAIN_BATCH)
            break;
    }
    w->iso = iso;
    w->deque.own.scope = scope;
    tes__drain = outer;
    if (next) /* the turn is still ours: queue the next call as a task */
        queue_turn(a, next);
}

int tes_actor_create(tes_actor **out, tes_pool *pool, void *state,
                     void (*destroy)(void *state))
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    if (!pool)
        return -EINVAL;
    tes_actor *a = aligned_alloc(TES_CACHE_LINE, sizeof *a);
    if (!a)
        return -ENOMEM;
    a->pool = pool;
    a->state = state;
    a->destroy = destroy;
    atomic_init(&a->mailbox, 0);
    a->ready = NULL;
    *out = a;
    return 0;
}

/* Pushes f; returns true when the caller took the turn (invariant 1). */
static bool push_call(tes_actor *a, tes_future *f)
{
    /* relaxed: a first guess for the CAS. */
    uintptr_t m = atomic_load_explicit(&a->mailbox, memory_order_relaxed);
    do {
        f->next = (tes_future *)(m & ~TURN);
        /* release: pairs with the holder's acquire exchange in next_call,
         * which then sees the frame's fields and its link; acquire: when
         * TURN was clear, pairs with the release CAS that cleared it, so
         * the state the last holder left is ours to hand on. */
    } while (!atomic_compare_exchange_weak_explicit(
        &a->mailbox, &m, (uintptr_t)f | TURN, memory_order_acq_rel,
        memory_order_relaxed));
    return !(m & TURN);
}

/* Queues the actor's turn, whose next call is f, as a task: on a worker
 * of the actor's pool, held for this worker (see "held turns" in
 * sched.c); elsewhere (a lent or outside thread) as any task. */
static void queue_turn(tes_actor *a, tes_future *f)
{
    tes__hold(a->pool, f);
}

/* The caller took the turn: the oldest call becomes a task. */
static TES_NOINLINE void take_turn(tes_actor *a)
{
    queue_turn(a, next_call(a));
}

/* Fills in the call of frame f (set up otherwise) and queues it. */
static inline void queue_call(tes_future *f, tes_actor *a,
                              void *(*method)(void *, void *), void *arg)
{
    f->method = method;
    f->arg = arg;
    if (push_call(a, f))
        take_turn(a); /* we hold the turn */
}

/* Any caller: checks, the pool's state for outside threads, a frame from
 * wherever one can be had. */
static TES_NOINLINE int call_slow(tes_future **out, tes_actor *a,
                                  const char *name,
                                  void *(*method)(void *, void *), void *arg)
{
    if (out)
        *out = NULL;
    if (!a || !method)
        return -EINVAL;
    tes_pool *pool = a->pool;
    tes_worker *w = tes__self;
    if (!(w && w->pool == pool)) {
        if (TES_UNLIKELY(tes__forked(pool)))
            return TES_EFORKED;
        /* acquire: pairs with the seq_cst store in tes_pool_destroy. */
        if (atomic_load_explicit(&pool->stopping, memory_order_acquire))
            return TES_ESHUTDOWN;
    }
    tes_future *f = tes__frame_new(pool, out ? 2 : 1, &call_ops, a, name);
    if (!f)
        return -ENOMEM;
    if (out)
        *out = f; /* before the push: the call may complete at once */
    queue_call(f, a, method, arg);
    return 0;
}

/* How far down the mailbox a call's walk_hint points (a power of 2). */
#define TES_WALK_AHEAD 16u

/* The last calls this thread made, newest at pushed - 1 (mod
 * TES_WALK_AHEAD): the source of walk_hint. Per thread, for any actor:
 * when its last TES_WALK_AHEAD calls went to one actor, the frame in the
 * ring's slot lies that far below the new call in that actor's mailbox
 * (and otherwise the hint is merely useless). */
static TES_TLS struct walk_ring {
    tes_future *frame[TES_WALK_AHEAD];
    unsigned pushed;
} tes__walk;

/* The fast path: a task of the actor's pool with a warm free list; no
 * lock, no malloc, one CAS. */
static inline int call(tes_future **out, tes_actor *a, const char *name,
                       void *(*method)(void *, void *), void *arg)
{
    tes_worker *w = tes__self;
    tes_future *f;
    if (TES_UNLIKELY(!a || !method || !w || w->pool != a->pool ||
                     !(f = tes__frame_pop(w))))
        return call_slow(out, a, name, method, arg);
    tes__frame_setup(f, a->pool, out ? 2 : 1, &call_ops, a, name);
    struct walk_ring *ring = &tes__walk;
    unsigned k = ring->pushed++ & (TES_WALK_AHEAD - 1);
    f->walk_hint = ring->frame[k];
    ring->frame[k] = f;
    if (out)
        *out = f; /* before the push: the call may complete at once */
    queue_call(f, a, method, arg);
    return 0;
}

int tes_actor_call_named(tes_future **f, tes_actor *a, const char *name,
                         void *(*method)(void *state, void *arg), void *arg)
{
    return call(f, a, name, method, arg);
}

int tes_actor_call(tes_future **f, tes_actor *a,
                   void *(*method)(void *state, void *arg), void *arg)
{
    return call(f, a, "actor call", method, arg);
}

void tes_actor_destroy(tes_actor *a)
{
    if (!a)
        return;
    tes_worker *w = tes__self;
    /* From one of its own methods: the call cannot wait for itself. */
    tes_future *cur = w ? tes__current(w) : NULL;
    bool own = cur && cur->ops == &call_ops && cur->ext == a;
    tes_future *f = NULL;
    int rc = call(own ? NULL : &f, a, "actor destroy", destroy_method, a);
    if (rc != 0) {
        /* No frame for the destroy call (-ENOMEM), or no pool to run it
         * (a fork child's copy, or a pool being destroyed): the actor is
         * left alone rather than freed under calls that may still run. */
        return;
    }
    if (f) {
        tes_await(f, NULL);
        tes_future_release(f);
    }
}
