/*
 * deque.h — private: the per-worker work-stealing deque.
 *
 * Chase and Lev, "Dynamic circular work-stealing deque" (SPAA 2005), with the
 * C11 memory orders of Lê, Pop, Cohen and Zappa Nardelli, "Correct and
 * efficient work-stealing for weak memory models" (PPoPP 2013).
 *
 * One owner pushes and takes at the bottom; any number of thieves steal at
 * the top. Items are non-NULL pointers.
 *
 * Invariants:
 *  1. Only the owner writes `bottom` and `array`; `top` only ever grows, and
 *     only through a successful CAS (by a thief, or by the owner racing for
 *     the last item).
 *  2. The live items are array[top .. bottom-1] (indices mod capacity); the
 *     owner never overwrites a slot in [top, bottom), so a thief that read a
 *     slot and then wins the CAS on top got the item that was there.
 *  3. When exactly one item is left, owner and thieves race for it by CAS on
 *     top; exactly one wins (the owner restores bottom either way).
 *  4. A buffer replaced by growth is never freed while the deque lives: a
 *     thief may still read from it (its read is discarded when its CAS
 *     fails, and when its CAS succeeds the slot it read is still valid in the
 *     old buffer, because growth copies and never clears). Retired buffers
 *     are freed by tes__deque_destroy; each is half the next, so they cost
 *     at most the size of the live one.
 *
 * The paper's two seq_cst fences (take: between the store to bottom and the
 * load of top; steal: between the load of top and the load of bottom) are
 * folded into seq_cst accesses on those variables. The effect is the same
 * store-load ordering (one xchg on x86, no fence for the thief), and
 * ThreadSanitizer models seq_cst accesses exactly where it does not model
 * stand-alone fences.
 */
#ifndef TES_DEQUE_H
#define TES_DEQUE_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define TES_CACHE_LINE 64

typedef struct tes_deque_buf {
    int64_t mask;                  /* capacity - 1; capacity is a power of 2 */
    struct tes_deque_buf *retired; /* previous buffer (owner only) */
    _Atomic(void *) slot[];
} tes_deque_buf;

typedef struct tes_deque {
    /* Read and CAS'd by thieves. */
    alignas(TES_CACHE_LINE) _Atomic int64_t top;
    /* Written by the owner, read by thieves. */
    alignas(TES_CACHE_LINE) _Atomic int64_t bottom;
    _Atomic(tes_deque_buf *) array;
    /* Owner-private. */
    alignas(TES_CACHE_LINE) int64_t top_cache; /* a top seen earlier: <= top */
} tes_deque;

int tes__deque_init(tes_deque *d, int64_t capacity);
void tes__deque_destroy(tes_deque *d);
/* Slow path of push: doubles the buffer. Owner only. 0 or -ENOMEM. */
int tes__deque_grow(tes_deque *d, int64_t t, int64_t b);

/* Owner only. 0, or -ENOMEM when the deque had to grow and could not. */
static inline int tes__deque_push(tes_deque *d, void *item)
{
    /* relaxed: only the owner writes bottom (invariant 1). */
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
    /* relaxed: only the owner writes array. */
    tes_deque_buf *a = atomic_load_explicit(&d->array, memory_order_relaxed);
    if (b - d->top_cache > a->mask) {
        /* acquire: pairs with the thieves' CAS on top, so slots they took
         * are free to reuse. */
        d->top_cache = atomic_load_explicit(&d->top, memory_order_acquire);
        if (b - d->top_cache > a->mask) {
            if (tes__deque_grow(d, d->top_cache, b) != 0)
                return -12; /* -ENOMEM */
            a = atomic_load_explicit(&d->array, memory_order_relaxed);
        }
    }
    /* relaxed: published by the release store of bottom below. */
    atomic_store_explicit(&a->slot[b & a->mask], item, memory_order_relaxed);
    /* release: pairs with the seq_cst (acquiring) load of bottom in
     * tes__deque_steal, so a thief that sees the new bottom sees the slot
     * and everything the owner wrote into the item before pushing it. */
    atomic_store_explicit(&d->bottom, b + 1, memory_order_release);
    return 0;
}

/* Owner only. The newest item, or NULL when empty. */
static inline void *tes__deque_take(tes_deque *d)
{
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed) - 1;
    tes_deque_buf *a = atomic_load_explicit(&d->array, memory_order_relaxed);
    /* seq_cst exchange: the paper's relaxed store + seq_cst fence. Orders
     * this store before the load of top below; pairs with the seq_cst load
     * of top then bottom in tes__deque_steal, so owner and thief cannot both
     * miss each other's claim on the last item. */
    atomic_exchange_explicit(&d->bottom, b, memory_order_seq_cst);
    /* seq_cst: second half of the Dekker pattern above. */
    int64_t t = atomic_load_explicit(&d->top, memory_order_seq_cst);
    if (t > b) { /* empty: restore bottom (relaxed: owner-only variable) */
        atomic_store_explicit(&d->bottom, b + 1, memory_order_relaxed);
        return NULL;
    }
    /* relaxed: the owner wrote this slot itself. */
    void *x = atomic_load_explicit(&a->slot[b & a->mask], memory_order_relaxed);
    if (t == b) {
        /* The last item: race the thieves for it (invariant 3). seq_cst
         * pairs with the thieves' CAS on top; relaxed on failure: we only
         * learn that a thief won. */
        if (!atomic_compare_exchange_strong_explicit(
                &d->top, &t, t + 1, memory_order_seq_cst,
                memory_order_relaxed))
            x = NULL;
        /* relaxed: owner-only variable; the deque is empty either way. */
        atomic_store_explicit(&d->bottom, b + 1, memory_order_relaxed);
    }
    return x;
}

/* Any thread. The oldest item, or NULL when empty or when it lost a race
 * (callers treat both as "nothing here now"). */
static inline void *tes__deque_steal(tes_deque *d)
{
    /* seq_cst: the paper's acquire load + seq_cst fence; pairs with the
     * seq_cst exchange of bottom in tes__deque_take. */
    int64_t t = atomic_load_explicit(&d->top, memory_order_seq_cst);
    /* seq_cst (acquiring): pairs with the release store of bottom in
     * tes__deque_push, making the slot and the item's contents visible. */
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_seq_cst);
    if (t >= b)
        return NULL;
    /* acquire: pairs with the release store of array in tes__deque_grow
     * (the paper's consume). */
    tes_deque_buf *a = atomic_load_explicit(&d->array, memory_order_acquire);
    /* relaxed: ordered by the loads above; only used if the CAS wins. */
    void *x = atomic_load_explicit(&a->slot[t & a->mask], memory_order_relaxed);
    /* seq_cst: pairs with the owner's CAS on top for the last item and with
     * other thieves; relaxed on failure: the item is not ours. */
    if (!atomic_compare_exchange_strong_explicit(&d->top, &t, t + 1,
                                                 memory_order_seq_cst,
                                                 memory_order_relaxed))
        return NULL;
    return x;
}

/* Any thread; a hint only (may be stale by the time it returns). */
static inline int64_t tes__deque_size_hint(tes_deque *d)
{
    /* relaxed: a hint for parking decisions, re-checked by a real steal. */
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
    int64_t t = atomic_load_explicit(&d->top, memory_order_relaxed);
    return b - t;
}

#endif
