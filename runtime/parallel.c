/*
 * parallel.c — parallel_for (1-D, 2-D) and parallel_reduce by recursive
 * binary splitting: fork the right half, run the left half, join. The
 * split points are a function of the range and the grain only (the middle
 * leaf boundary), which is what makes reductions bit-identical at any
 * thread count. Work items live on the splitting task's stack, which
 * outlives them because it joins them.
 */
#include "internal.h"

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

/* A grain that gives about TES_AUTO_LEAVES leaves, from the length alone. */
static size_t auto_grain(size_t n)
{
    size_t g = (n + TES_AUTO_LEAVES - 1) / TES_AUTO_LEAVES;
    return g ? g : 1;
}

/* The split point of [b, e) for grain g (e - b > g): the leaf boundary
 * nearest the middle, rounded down. */
static inline size_t split_point(size_t b, size_t e, size_t g)
{
    size_t leaves = (e - b + g - 1) / g;
    return b + (leaves / 2) * g;
}

/* Runs root(arg) in pool: nested when called from one of pool's tasks,
 * otherwise as a task awaited by the caller. */
static int run_in(tes_pool *pool, void *(*root)(void *), void *arg)
{
    tes_worker *w = tes__self;
    if (w && w->pool == pool) {
        root(arg);
        return 0;
    }
    tes_future *f;
    int rc = tes_spawn_named(&f, pool, "parallel", root, arg);
    if (rc != 0)
        return rc;
    rc = tes_await(f, NULL);
    tes_future_release(f);
    return rc;
}

/* ---- 1-D ------------------------------------------------------------------ */

typedef struct pf1 {
    void (*body)(size_t, size_t, void *);
    void *ctx;
    size_t grain;
} pf1;

typedef struct pf1_item {
    const pf1 *c;
    size_t b, e;
} pf1_item;

static void pf1_range(const pf1 *c, size_t b, size_t e);

static void *pf1_task(void *arg)
{
    pf1_item *it = arg;
    pf1_range(it->c, it->b, it->e);
    return NULL;
}

static void pf1_range(const pf1 *c, size_t b, size_t e)
{
    if (e - b <= c->grain) {
        c->body(b, e, c->ctx);
        return;
    }
    size_t m = split_point(b, e, c->grain);
    pf1_item right = {c, m, e};
    tes_task t;
    if (tes_fork(&t, pf1_task, &right) != 0) {
        /* Not inside a task (a thread hook): both halves here, the same
         * leaves. */
        pf1_range(c, b, m);
        pf1_range(c, m, e);
        return;
    }
    pf1_range(c, b, m);
    tes_join(&t, NULL);
}

static void *pf1_root(void *arg)
{
    pf1_item *it = arg;
    pf1_range(it->c, it->b, it->e);
    return NULL;
}

int tes_parallel_for(tes_pool *pool, size_t begin, size_t end, size_t grain,
                     void (*body)(size_t b, size_t e, void *ctx), void *ctx)
{
    if (!pool || !body)
        return -EINVAL;
    if (end <= begin)
        return 0;
    pf1 c = {body, ctx, grain ? grain : auto_grain(end - begin)};
    pf1_item it = {&c, begin, end};
    return run_in(pool, pf1_root, &it);
}

/* ---- 2-D ------------------------------------------------------------------ */

typedef struct pf2 {
    void (*body)(size_t, size_t, size_t, size_t, void *);
    void *ctx;
    size_t gr, gc;
} pf2;

typedef struct pf2_item {
    const pf2 *c;
    size_t r0, r1, c0, c1;
} pf2_item;

static void pf2_block(const pf2 *c, size_t r0, size_t r1, size_t c0,
                      size_t c1);

static void *pf2_task(void *arg)
{
    pf2_item *it = arg;
    pf2_block(it->c, it->r0, it->r1, it->c0, it->c1);
    return NULL;
}

static void pf2_block(const pf2 *c, size_t r0, size_t r1, size_t c0, size_t c1)
{
    size_t lr = (r1 - r0 + c->gr - 1) / c->gr;
    size_t lc = (c1 - c0 + c->gc - 1) / c->gc;
    if (lr <= 1 && lc <= 1) {
        c->body(r0, r1, c0, c1, c->ctx);
        return;
    }
    pf2_item right = {c, r0, r1, c0, c1};
    pf2_item left = right;
    if (lr >= lc) {
        size_t m = split_point(r0, r1, c->gr);
        left.r1 = m;
        right.r0 = m;
    } else {
        size_t m = split_point(c0, c1, c->gc);
        left.c1 = m;
        right.c0 = m;
    }
    tes_task t;
    if (tes_fork(&t, pf2_task, &right) != 0) {
        pf2_task(&left);
        pf2_task(&right);
        return;
    }
    pf2_task(&left);
    tes_join(&t, NULL);
}

int tes_parallel_for_2d(tes_pool *pool, size_t rows, size_t cols,
                        size_t row_grain, size_t col_grain,
                        void (*body)(size_t r0, size_t r1, size_t c0,
                                     size_t c1, void *ctx),
                        void *ctx)
{
    if (!pool || !body)
        return -EINVAL;
    if (rows == 0 || cols == 0)
        return 0;
    size_t gr = row_grain, gc = col_grain;
    if (!gr && !gc) {
        /* Whole rows while there are enough to share; else split the
         * columns too, for about TES_AUTO_LEAVES blocks in all. */
        if (rows >= TES_AUTO_LEAVES) {
            gr = auto_grain(rows);
            gc = cols;
        } else {
            gr = 1;
            size_t per_row = (TES_AUTO_LEAVES + rows - 1) / rows;
            gc = (cols + per_row - 1) / per_row;
        }
    } else if (!gr) {
        gr = auto_grain(rows);
    } else if (!gc) {
        gc = auto_grain(cols);
    }
    pf2 c = {body, ctx, gr, gc ? gc : 1};
    pf2_item it = {&c, 0, rows, 0, cols};
    return run_in(pool, pf2_task, &it);
}

/* ---- reduce --------------------------------------------------------------- */

#define RED_STACK 128

typedef struct red {
    void (*leaf)(size_t, size_t, void *, void *);
    void (*combine)(void *, const void *, void *);
    void *ctx;
    size_t grain, size;
    _Atomic int err; /* -ENOMEM once a temporary could not be had */
} red;

typedef struct red_item {
    red *c;
    size_t b, e;
    void *acc;
} red_item;

static void red_range(red *c, size_t b, size_t e, void *acc);

static void *red_task(void *arg)
{
    red_item *it = arg;
    red_range(it->c, it->b, it->e, it->acc);
    return NULL;
}

static void red_range(red *c, size_t b, size_t e, void *acc)
{
    if (e - b <= c->grain) {
        c->leaf(b, e, acc, c->ctx);
        return;
    }
    size_t m = split_point(b, e, c->grain);
    alignas(max_align_t) unsigned char local[RED_STACK];
    void *tmp = local;
    if (c->size > RED_STACK) {
        tmp = malloc(c->size);
        if (!tmp) {
            /* relaxed: read after every task has been awaited. */
            atomic_store_explicit(&c->err, -ENOMEM, memory_order_relaxed);
            return;
        }
    }
    red_item right = {c, m, e, tmp};
    tes_task t;
    if (tes_fork(&t, red_task, &right) != 0) {
        red_range(c, b, m, acc);
        red_range(c, m, e, tmp);
    } else {
        red_range(c, b, m, acc);
        tes_join(&t, NULL);
    }
    c->combine(acc, tmp, c->ctx); /* left then right: a fixed order */
    if (tmp != local)
        free(tmp);
}

int tes_parallel_reduce(tes_pool *pool, size_t begin, size_t end, size_t grain,
                        void *result, size_t size,
                        void (*leaf)(size_t b, size_t e, void *acc, void *ctx),
                        void (*combine)(void *left, const void *right,
                                        void *ctx),
                        void *ctx)
{
    if (!pool || !leaf || !combine || !result || size == 0)
        return -EINVAL;
    if (end <= begin) {
        leaf(begin, begin, result, ctx); /* the empty partial */
        return 0;
    }
    red c = {leaf, combine, ctx, grain ? grain : auto_grain(end - begin),
             size, 0};
    red_item it = {&c, begin, end, result};
    int rc = run_in(pool, red_task, &it);
    /* relaxed: every task that could store it has been awaited. */
    return rc ? rc : atomic_load_explicit(&c.err, memory_order_relaxed);
}
