/*
 * fork.c — structured fork/join on caller-owned task frames (tes_fork,
 * tes_join). A fork pushes the frame on the worker's own split deque
 * (deque.h) with plain stores; a join whose frame is still the newest
 * private item pops it and calls its function inline. Atomic operations
 * are paid only around a steal: by the thief, and by the owner when its
 * join finds the public part or a stolen frame. Also here: the failure
 * messages of joined frames, and the debug-build checks of the rules.
 */
#include "fork.h"

#include <stdio.h>
#include <stdlib.h>

#include "scheduler.h"
#include "trace.h"

/* ---- failure messages of joined frames ------------------------------------- */

/*
 * A failed forked task's message lives in its frame (tes__msg), which is
 * the caller's, on a stack, with nothing in it the runtime may trust before
 * a fork; and a fork is a few inline stores (tessera.h) that cannot look
 * anything up. So the joining worker keeps the messages it handed out in a
 * table keyed by frame address: a new failure of a frame replaces its
 * message, and the rest go when the worker's top-level task ends (every
 * frame of that task is gone by then) or the pool ends. The table holds at
 * most one message per frame address that failed in one top-level task.
 * Open addressing, linear probing; used only by the worker's own thread.
 */
struct tes_fork_msgs {
    size_t n, mask; /* entries; capacity - 1 (a power of 2) */
    struct fork_msg {
        tes_task *t; /* NULL: empty */
        char *msg;
    } e[];
};

static inline size_t msg_slot(const tes_task *t, size_t mask)
{
    return (size_t)(((uint64_t)(uintptr_t)t * 0x9e3779b97f4a7c15ull) >> 32) &
           mask;
}

static struct tes_fork_msgs *msgs_alloc(size_t cap)
{
    struct tes_fork_msgs *m = calloc(1, sizeof *m + cap * sizeof m->e[0]);
    if (m)
        m->mask = cap - 1;
    return m;
}

static void msgs_insert(struct tes_fork_msgs *m, tes_task *t, char *msg)
{
    size_t i = msg_slot(t, m->mask);
    while (m->e[i].t && m->e[i].t != t)
        i = (i + 1) & m->mask;
    if (m->e[i].t)
        free(m->e[i].msg); /* the frame's earlier failure */
    else
        m->n++;
    m->e[i].t = t;
    m->e[i].msg = msg;
}

/* Keeps msg, t's message, until t fails again or the top-level task ends;
 * when that is impossible (out of memory), frees it and t reports its
 * code's name instead. */
static TES_NOINLINE void msgs_put(tes_worker *w, tes_task *t, char *msg)
{
    struct tes_fork_msgs *m = w->fork_msgs;
    if (!m || (m->n + 1) * 4 > (m->mask + 1) * 3) {
        size_t cap = m ? 2 * (m->mask + 1) : 16;
        struct tes_fork_msgs *g = msgs_alloc(cap);
        if (!g) {
            free(msg);
            t->tes__msg = NULL;
            return;
        }
        for (size_t i = 0; m && i <= m->mask; i++)
            if (m->e[i].t)
                msgs_insert(g, m->e[i].t, m->e[i].msg);
        free(m);
        w->fork_msgs = m = g;
    }
    msgs_insert(m, t, msg);
}

void tes__fork_msgs_free(tes_worker *w)
{
    struct tes_fork_msgs *m = w->fork_msgs;
    if (!m)
        return;
    for (size_t i = 0; i <= m->mask; i++)
        if (m->e[i].t)
            free(m->e[i].msg);
    free(m);
    w->fork_msgs = NULL;
}

const char *tes_task_error(const tes_task *t)
{
    if (!t || t->tes__error == 0)
        return NULL;
    return t->tes__msg ? t->tes__msg : tes_strerror(t->tes__error);
}

/* ---- the rules, checked in debug builds ------------------------------------ */

#ifdef TES_DEBUG
/* tes__debug[0]: this value while the frame is forked and not joined (a
 * frame on the stack holds anything before its first fork: a value tied to
 * its own address makes a false alarm all but impossible); [1]: the fork
 * before it in the same run (w->dbg_top's chain); [2]: its worker. */
static inline uintptr_t armed(const tes_task *t)
{
    return (uintptr_t)t ^ (uintptr_t)0x7e55e4a7a5c0ffeeull;
}

static _Noreturn void broken_rule(const char *what, const tes_task *t,
                                  const tes_task *other)
{
    if (other)
        fprintf(stderr, "tessera: %s (task frame %p, newest unjoined fork %p)\n",
                what, (const void *)t, (const void *)other);
    else
        fprintf(stderr, "tessera: %s (task frame %p)\n", what, (const void *)t);
    abort();
}

static void debug_fork(tes_worker *w, tes_task *t)
{
    if (t->tes__debug[0] == armed(t))
        broken_rule("tes_fork: a frame forked again before its join", t,
                    NULL);
    t->tes__debug[0] = armed(t);
    t->tes__debug[1] = (uintptr_t)w->dbg_top;
    t->tes__debug[2] = (uintptr_t)w;
    w->dbg_top = t;
}

static void debug_join(tes_worker *w, tes_task *t)
{
    if (t->tes__debug[0] != armed(t))
        broken_rule("tes_join: a frame that is not forked (or joined twice)",
                    t, NULL);
    if (t->tes__debug[2] != (uintptr_t)w)
        broken_rule("tes_join: joined on another thread than its fork", t,
                    NULL);
    if (w->dbg_top != t)
        broken_rule("tes_join: joins must be in the reverse order of their "
                    "forks (LIFO)",
                    t, w->dbg_top);
    w->dbg_top = (tes_task *)t->tes__debug[1];
    t->tes__debug[0] = 0;
}

void tes__debug_unjoined(tes_task *t)
{
    broken_rule("a task returned before joining every task it forked", t,
                NULL);
}
#endif

/* ---- fork ------------------------------------------------------------------ */

/* The fork when the inline one (tessera.h) declines: outside a task, a full
 * deque, tracing or a debug build, or a program built with TES_NO_INLINE. */
int(tes_fork)(tes_task *t, void *(*fn)(void *), void *arg)
{
    tes_worker *w = tes__self;
    if (TES_UNLIKELY(!w || !tes__current(w) || !t || !fn))
        return -EINVAL;
#ifdef TES_DEBUG
    debug_fork(w, t);
#endif
    tes_fj *o = &w->deque.own;
    t->tes__fn = fn;
    t->tes__arg = arg;
    t->tes__scope = o->scope;
    t->tes__error = 0;
    /* relaxed: the frame is ours alone until published (deque.h,
     * invariant 5); earlier uses of it ended with the join's acquire. */
    __atomic_store_n(&t->tes__state, TES_FORK_PUSHED, __ATOMIC_RELAXED);
    /* relaxed: a statistic only this thread writes. */
    __atomic_store_n(&o->forks, __atomic_load_n(&o->forks, __ATOMIC_RELAXED) + 1,
                     __ATOMIC_RELAXED);
    tes_deque *d = &w->deque;
    if (TES_UNLIKELY(tes__deque_push(d, (void *)((uintptr_t)t | w->fork_tag)) !=
                     0)) {
        /* The deque is full (a fork depth of TES_DEQUE_DEPTH): t is
         * simply not offered to thieves; its join runs it. */
        __atomic_store_n(&t->tes__state, TES_FORK_INLINE, __ATOMIC_RELAXED);
        return 0;
    }
    if (TES_UNLIKELY(tes__deque_wanted(d)))
        tes__share(w, tes__deque_depth(d));
    return 0;
}

/* ---- join ------------------------------------------------------------------ */

static TES_NOINLINE int join_failed(tes_worker *w, tes_task *t, void **result)
{
    if (result)
        *result = NULL;
    if (t->tes__msg)
        msgs_put(w, t, t->tes__msg);
    return t->tes__error;
}

/* The inline fork pushed, and thieves had asked for work. */
void tes_fork_share(void)
{
    tes_worker *w = tes__self;
    tes__share(w, tes__deque_depth(&w->deque));
}

/* The inline join ran t, and t failed. */
int tes_join_failed(tes_task *t, void **result)
{
    tes_worker *w = tes__self;
    t->tes__error = tes__take_failure(w, &t->tes__msg);
    return join_failed(w, t, result);
}

/* Calls t's function here, as part of the task that forked t, saving the
 * thread's state around it; t gets the run's failure. */
static inline void *call_here(tes_worker *w, tes_task *t)
{
    tes_run_saved s;
    tes__run_enter(w, tes__current(w), &s);
    void *r = t->tes__fn(t->tes__arg);
    t->tes__error = tes__take_failure(w, &t->tes__msg);
    tes__run_leave(w, &s);
    return r;
}

static inline int finish(tes_worker *w, tes_task *t, void *r, void **result)
{
    if (TES_UNLIKELY(t->tes__error != 0))
        return join_failed(w, t, result);
    if (result)
        *result = r;
    return 0;
}

/* Runs t here, as part of the task that forked it (the general way: with
 * tracing, and the run's state saved whole). */
static TES_NOINLINE int run_inline(tes_worker *w, tes_task *t, void **result)
{
    if (TES_UNLIKELY(w->trace != NULL))
        tes__trace_event(w, TES_EV_BEGIN, "fork", 0);
    void *r = call_here(w, t);
    if (TES_UNLIKELY(w->trace != NULL))
        tes__trace_event(w, TES_EV_END, "fork", 0);
    return finish(w, t, r, result);
}

/* t was stolen: help (leapfrogging to its thief first) until it is done;
 * nap on its state word when there is nothing to do. */
static TES_NOINLINE void wait_stolen(tes_worker *w, tes_task *t)
{
    unsigned idle = 0;
    for (;;) {
        /* acquire: pairs with the thief's release exchange in
         * tes__run_fork (the result, error and message). */
        uint32_t st = __atomic_load_n(&t->tes__state, __ATOMIC_ACQUIRE);
        if (st & TES_FORK_DONE)
            return;
        void *x = tes__help_find(w, (int)(st >> 8) - 1, NULL);
        if (x) {
            tes__run_item(w, x);
            idle = 0;
            continue;
        }
        if (tes__help_backoff(++idle))
            continue;
        /* seq_cst: ordered against the thief's exchange, which then sees
         * the flag and wakes us; on failure (acquire) the state changed:
         * look again. */
        if (!(st & TES_FORK_WAITER) &&
            !__atomic_compare_exchange_n(&t->tes__state, &st,
                                         st | TES_FORK_WAITER, false,
                                         __ATOMIC_SEQ_CST, __ATOMIC_ACQUIRE))
            continue;
        tes__futex_wait((_Atomic uint32_t *)(void *)&t->tes__state,
                        st | TES_FORK_WAITER, 200000);
    }
}

/* The join when t is not the newest private item, or thieves asked for
 * work, or tracing is on. */
static TES_NOINLINE int join_slow(tes_worker *w, tes_task *t, void **result)
{
    for (;;) {
        /* acquire: as in wait_stolen. */
        uint32_t st = __atomic_load_n(&t->tes__state, __ATOMIC_ACQUIRE);
        if (st & TES_FORK_DONE)
            break; /* our own helping ran it */
        if (st & TES_FORK_INLINE)
            return run_inline(w, t, result);
        if (st & TES_FORK_STOLEN) {
            wait_stolen(w, t);
            break;
        }
        /* Still in our deque, at the top or below items pushed after it
         * (spawned tasks nobody awaited, or forks joined out of order):
         * pop down to it, running what is above it. A stolen top leaves
         * its claim visible (the pop waited for its acknowledgement). */
        void *x = tes__pop_one(w);
        if (x == TES_DEQUE_STOLEN || !x)
            continue;
        if (tes__item_is_fork(x) && tes__item_fork(x) == t)
            return run_inline(w, t, result);
        tes__run_item(w, x);
    }
    return finish(w, t, t->tes__arg, result);
}

/* The join when the inline one (tessera.h) declines. */
int(tes_join)(tes_task *t, void **result)
{
    tes_worker *w = tes__self;
    if (TES_UNLIKELY(!w || !t))
        return -EINVAL;
#ifdef TES_DEBUG
    debug_join(w, t);
#endif
    tes_deque *d = &w->deque;
    if (TES_LIKELY(tes__deque_top_is(d, (void *)((uintptr_t)t | w->fork_tag)) &&
                   !tes__deque_wanted(d) && w->trace == NULL)) {
        tes__deque_drop_top(d);
        return finish(w, t, call_here(w, t), result);
    }
    return join_slow(w, t, result);
}
