/*
 * depend.c — dependent tasks (tes_spawn_after): a frame that waits, in no
 * thread, for a set of input futures. Each input gets a continuation; the
 * one that brings the count of outstanding inputs to zero submits the frame.
 * A failed input makes the frame fail with a chained message instead of
 * running its function.
 */
#include "scheduler.h"

#include <stdlib.h>

typedef struct dep dep;

typedef struct dep_link {
    tes_cont cont; /* first: the continuation points back to the link */
    dep *d;
} dep_link;

struct dep {
    tes_future *frame;
    tes_dep_fn fn;
    void *arg;
    size_t n;
    /* Inputs not yet complete, plus one held by the spawner until every
     * continuation is registered. The decrement that reaches 0 submits. */
    _Atomic size_t remaining;
    tes_future **inputs; /* n references owned by the frame */
    void **results;
    dep_link links[];
};

static void *dep_run(tes_future *f);
static void *dep_finish(tes_future *f);
static const tes_frame_ops dep_ops = {dep_run, dep_finish, NULL, false};

static void arrive(dep *d)
{
    /* acq_rel: release publishes this thread's view (the input's DONE and
     * result, read after the acquire in complete_slow) to the thread that
     * makes the last decrement; acquire makes every earlier arrival's view
     * ours when we are that thread. */
    if (atomic_fetch_sub_explicit(&d->remaining, 1, memory_order_acq_rel) == 1)
        tes__submit_always(d->frame->pool, d->frame);
}

static void fire(tes_cont *c)
{
    arrive(((dep_link *)c)->d);
}

static void *dep_run(tes_future *f)
{
    dep *d = f->ext;
    for (size_t i = 0; i < d->n; i++) {
        tes_future *in = d->inputs[i];
        int rc = tes_future_status(in);
        if (rc != 0)
            return tes_fail_from(in, "input %zu", i);
        d->results[i] = in->result;
    }
    return d->fn(d->arg, d->results, d->n);
}

static void *dep_finish(tes_future *f)
{
    dep *d = f->ext;
    for (size_t i = 0; i < d->n; i++)
        tes_future_release(d->inputs[i]);
    free(d);
    return NULL;
}

int tes_spawn_after(tes_future **out, tes_pool *pool, const char *name,
                    tes_future *const *inputs, size_t n, tes_dep_fn fn,
                    void *arg)
{
    if (out)
        *out = NULL;
    if (!pool || !fn || (n && !inputs))
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!inputs[i])
            return -EINVAL;
    tes_worker *w = tes__self;
    if (!(w && w->pool == pool)) {
        if (tes__forked(pool))
            return TES_EFORKED;
        /* acquire: pairs with the seq_cst store in tes_pool_destroy. */
        if (atomic_load_explicit(&pool->stopping, memory_order_acquire))
            return TES_ESHUTDOWN;
    }
    if (n > (SIZE_MAX - sizeof(dep)) / (sizeof(dep_link) + 2 * sizeof(void *)))
        return -ENOMEM;
    dep *d = malloc(sizeof *d + n * sizeof(dep_link) + 2 * n * sizeof(void *));
    if (!d)
        return -ENOMEM;
    tes_future *f = tes__frame_new(pool, out ? 2 : 1, &dep_ops, d, name);
    if (!f) {
        free(d);
        return -ENOMEM;
    }
    f->fn = NULL;
    f->arg = NULL;
    d->frame = f;
    d->fn = fn;
    d->arg = arg;
    d->n = n;
    d->inputs = (tes_future **)(void *)&d->links[n];
    d->results = (void **)(d->inputs + n);
    atomic_init(&d->remaining, n + 1);
    if (out)
        *out = f; /* before the last arrive: the frame may complete soon */
    for (size_t i = 0; i < n; i++) {
        d->inputs[i] = tes_future_retain(inputs[i]);
        d->results[i] = NULL;
        d->links[i].d = d;
        d->links[i].cont.fire = fire;
    }
    for (size_t i = 0; i < n; i++)
        if (!tes__on_complete(d->inputs[i], &d->links[i].cont))
            arrive(d); /* already complete */
    arrive(d); /* the spawner's own share */
    return 0;
}
