/*
 * deque.c — the out-of-line parts of the Chase–Lev deque: set-up, growth and
 * the reclamation of retired buffers (see deque.h for the algorithm and its
 * invariants).
 */
#include "deque.h"

#include <errno.h>
#include <stdlib.h>

static tes_deque_buf *buf_new(int64_t capacity)
{
    tes_deque_buf *a =
        malloc(sizeof *a + (size_t)capacity * sizeof(_Atomic(void *)));
    if (!a)
        return NULL;
    a->mask = capacity - 1;
    a->retired = NULL;
    for (int64_t i = 0; i < capacity; i++)
        atomic_init(&a->slot[i], NULL);
    return a;
}

int tes__deque_init(tes_deque *d, int64_t capacity)
{
    int64_t cap = 16;
    while (cap < capacity)
        cap <<= 1;
    tes_deque_buf *a = buf_new(cap);
    if (!a)
        return -ENOMEM;
    atomic_init(&d->top, 0);
    atomic_init(&d->bottom, 0);
    atomic_init(&d->array, a);
    d->top_cache = 0;
    return 0;
}

void tes__deque_destroy(tes_deque *d)
{
    /* Called once no thief can run (all workers joined). */
    tes_deque_buf *a = atomic_load_explicit(&d->array, memory_order_relaxed);
    while (a) {
        tes_deque_buf *prev = a->retired;
        free(a);
        a = prev;
    }
    atomic_store_explicit(&d->array, NULL, memory_order_relaxed);
}

int tes__deque_grow(tes_deque *d, int64_t t, int64_t b)
{
    tes_deque_buf *old = atomic_load_explicit(&d->array, memory_order_relaxed);
    tes_deque_buf *a = buf_new(2 * (old->mask + 1));
    if (!a)
        return -ENOMEM;
    for (int64_t i = t; i < b; i++) {
        /* relaxed: owner-written slots; the new buffer is published by the
         * release store below. */
        void *x = atomic_load_explicit(&old->slot[i & old->mask],
                                       memory_order_relaxed);
        atomic_store_explicit(&a->slot[i & a->mask], x, memory_order_relaxed);
    }
    a->retired = old; /* invariant 4: freed only by tes__deque_destroy */
    /* release: pairs with the acquire load of array in tes__deque_steal, so
     * a thief that sees the new buffer sees the copied slots. */
    atomic_store_explicit(&d->array, a, memory_order_release);
    return 0;
}
