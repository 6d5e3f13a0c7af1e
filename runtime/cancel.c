/*
 * cancel.c — cancellation: of one future (tes_cancel, tes_cancelled) and of
 * task groups, which are waited for and cancelled as a whole and may cancel
 * themselves at their first failure (TBB's task_group_context).
 */
#include "scheduler.h"

#include <stdlib.h>
#include <string.h>

#define GROUP_SLEEPER 0x80000000u

struct tes_group {
    tes_pool *pool;
    unsigned flags;
    /* Tasks spawned and not finished (low bits), plus GROUP_SLEEPER once an
     * outside waiter may sleep on the word (futex). Raised by
     * tes_group_spawn, lowered (release) by group_after, once the task's
     * future is complete. */
    _Atomic uint32_t pending;
    _Atomic int cancelled; /* set once, never cleared */
    /* The first failure: claimed once by CAS on failed; code and msg are
     * written by the claimer before its task finishes, and read after
     * tes_group_wait (ordered by pending's release/acquire). */
    _Atomic int failed;
    int code;
    char *msg;
};

static bool group_cancelled_frame(const tes_future *f);

int tes_cancel(tes_future *f)
{
    if (!f)
        return -EINVAL;
    /* relaxed: a request, no data travels with it; the runner's check in
     * tes__frame_start and tes_cancelled read it on their own. The DONE bit
     * we get back is only reported, never relied on for other memory. */
    uint32_t old =
        atomic_fetch_or_explicit(&f->word, TES_CANCEL_REQ, memory_order_relaxed);
    return (old & TES_DONE) ? -EALREADY : 0;
}

bool tes_cancelled(void)
{
    tes_worker *w = tes__self;
    tes_future *f = w ? tes__current(w) : NULL;
    if (!f)
        return false;
    /* relaxed: see tes_cancel. */
    if (atomic_load_explicit(&f->word, memory_order_relaxed) & TES_CANCEL_REQ)
        return true;
    return group_cancelled_frame(f);
}

/* ---- groups ---------------------------------------------------------------- */

static void *group_run(tes_future *f);
static void *group_finish(tes_future *f);
static void group_after(void *g);
static const tes_frame_ops group_ops = {group_run, group_finish, group_after,
                                        false};

static bool group_cancelled_frame(const tes_future *f)
{
    if (f->ops != &group_ops)
        return false;
    const tes_group *g = f->ext;
    /* relaxed: a flag with no data behind it. */
    return atomic_load_explicit(&g->cancelled, memory_order_relaxed) != 0;
}

static void record_failure(tes_group *g, tes_future *f)
{
    int expected = 0;
    /* relaxed: only one thread wins; what it writes is published to the
     * waiter by the release decrement of pending in group_after. */
    if (atomic_compare_exchange_strong_explicit(&g->failed, &expected, 1,
                                                memory_order_relaxed,
                                                memory_order_relaxed)) {
        g->code = f->error;
        const char *m = f->msg ? f->msg : tes_strerror(f->error);
        g->msg = strdup(m);
    }
    if (g->flags & TES_GROUP_CANCEL_ON_FAILURE)
        tes_group_cancel(g);
}

static void *group_run(tes_future *f)
{
    tes_group *g = f->ext;
    /* relaxed: as in group_cancelled_frame. */
    if (atomic_load_explicit(&g->cancelled, memory_order_relaxed))
        return tes_fail(-ECANCELED, "cancelled with its group");
    return f->fn(f->arg);
}

/* Before the task's completion, its result final: a failure is the
 * group's; then hand the group on to group_after, which must run after
 * the future is done (tes_group_wait promises that every task's future is
 * complete when it returns). */
static void *group_finish(tes_future *f)
{
    tes_group *g = f->ext;
    if (f->error && f->error != -ECANCELED)
        record_failure(g, f);
    return g;
}

static void group_after(void *ctx)
{
    tes_group *g = ctx;
    /* acq_rel: release publishes this task's effects, its future's
     * completion (tes__frame_complete ran before this on this thread) and a
     * recorded failure to the acquire loads of pending in group_done and
     * tes_group_wait; acquire orders it after the waiter's CAS that set
     * GROUP_SLEEPER, which we then see. This RMW is the last access to g
     * but for the wake: the group may be freed as soon as it lands. A
     * FUTEX_WAKE on freed memory is harmless (it wakes nobody or, at worst,
     * someone who re-checks), as for sem_post before sem_destroy. */
    uint32_t prev =
        atomic_fetch_sub_explicit(&g->pending, 1, memory_order_acq_rel);
    if (prev == (GROUP_SLEEPER | 1u))
        tes__futex_wake(&g->pending, INT32_MAX);
}

int tes_group_create(tes_group **out, tes_pool *pool, unsigned flags)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    if (!pool || (flags & ~TES_GROUP_CANCEL_ON_FAILURE))
        return -EINVAL;
    tes_group *g = calloc(1, sizeof *g);
    if (!g)
        return -ENOMEM;
    g->pool = pool;
    g->flags = flags;
    atomic_init(&g->pending, 0);
    atomic_init(&g->cancelled, 0);
    atomic_init(&g->failed, 0);
    *out = g;
    return 0;
}

int tes_group_spawn(tes_future **out, tes_group *g, const char *name,
                    void *(*fn)(void *), void *arg)
{
    if (out)
        *out = NULL;
    if (!g || !fn)
        return -EINVAL;
    tes_future *f = tes__frame_new(g->pool, out ? 2 : 1, &group_ops, g, name);
    if (!f)
        return -ENOMEM;
    f->fn = fn;
    f->arg = arg;
    /* relaxed: the submission below publishes the frame; the waiter only
     * needs to see the increment before its own (it happens-before any
     * wait that could miss it, in the spawning thread or via the task). */
    atomic_fetch_add_explicit(&g->pending, 1, memory_order_relaxed);
    int rc = tes__submit(g->pool, f);
    if (rc != 0) {
        atomic_fetch_sub_explicit(&g->pending, 1, memory_order_relaxed);
        tes__frame_free(f);
        return rc;
    }
    if (out)
        *out = f;
    return 0;
}

void tes_group_cancel(tes_group *g)
{
    if (g)
        /* relaxed: a flag with no data behind it. */
        atomic_store_explicit(&g->cancelled, 1, memory_order_relaxed);
}

bool tes_group_cancelled(const tes_group *g)
{
    /* relaxed: a flag with no data behind it. */
    return g && atomic_load_explicit(&g->cancelled, memory_order_relaxed);
}

static bool group_done(void *ctx)
{
    tes_group *g = ctx;
    /* acquire: pairs with the release decrement in group_after. */
    return (atomic_load_explicit(&g->pending, memory_order_acquire) &
            ~GROUP_SLEEPER) == 0;
}

int tes_group_wait(tes_group *g)
{
    if (!g)
        return -EINVAL;
    tes_worker *w = tes__self;
    if (w) {
        /* A worker keeps working (in its own pool, whichever pool the
         * group's is): blocking here could leave its pool's work, on which
         * the group's tasks may wait, with nobody to run it. */
        tes__help_until(w, group_done, g);
    } else {
        if (tes__forked(g->pool) && !group_done(g))
            return TES_EFORKED;
        /* acquire: as in group_done. */
        uint32_t n = atomic_load_explicit(&g->pending, memory_order_acquire);
        while (n & ~GROUP_SLEEPER) {
            if (!(n & GROUP_SLEEPER)) {
                /* acquire on both outcomes: as in group_done; release:
                 * pairs with the acquire half of group_after's RMW. */
                if (!atomic_compare_exchange_weak_explicit(
                        &g->pending, &n, n | GROUP_SLEEPER,
                        memory_order_acq_rel, memory_order_acquire))
                    continue;
                n |= GROUP_SLEEPER;
            }
            tes__futex_wait(&g->pending, n, 100000000LL);
            /* acquire: as in group_done. */
            n = atomic_load_explicit(&g->pending, memory_order_acquire);
        }
    }
    /* relaxed: the acquire on pending above ordered the failure record. */
    if (atomic_load_explicit(&g->failed, memory_order_relaxed))
        return g->code;
    return tes_group_cancelled(g) ? -ECANCELED : 0;
}

const char *tes_group_error(const tes_group *g)
{
    /* relaxed: read after tes_group_wait, which ordered it. */
    if (!g || !atomic_load_explicit(&g->failed, memory_order_relaxed))
        return NULL;
    return g->msg ? g->msg : tes_strerror(g->code);
}

void tes_group_destroy(tes_group *g)
{
    if (!g)
        return;
    tes_group_wait(g);
    free(g->msg);
    free(g);
}
