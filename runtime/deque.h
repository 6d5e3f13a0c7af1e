/*
 * deque.h — private: the per-worker work-stealing deque, split into a part
 * only its owner touches and a part thieves may take from.
 *
 * The split deque of Dinan, Larkins, Sadayappan, Krishnamoorthy and
 * Nieplocha ("Scalable work stealing", SC 2009) in the shared-memory form of
 * van Dijk and van de Pol ("Lace: non-blocking split deque for
 * work-stealing", Euro-Par 2014 workshops, LNCS 8806): the owner pushes and
 * pops the private part with plain loads and stores, and pays an atomic
 * operation only when the public part changes hands. Thieves that find the
 * public part empty raise `want`; the owner then publishes about half of its
 * private items at its next push or pop. (Our own code and protocol; Lace is
 * the benchmark peer, not a source.)
 *
 * An array of slots indexed from 0; items are non-NULL pointers, a slot of
 * index i is written only by the owner, at push (and cleared by the thief
 * that won it, invariant 2). Three indices:
 *
 *   tail <= split <= head      [tail, split): public; [split, head): private
 *
 * tail and split live together in the 64-bit word `ts` (tail low, split
 * high) that thieves CAS; head and a copy of split are the owner's alone
 * (as pointers to their slots: own.top and own.split).
 *
 * Invariants:
 *  1. Only thieves raise tail, one index per successful CAS on ts, and a
 *     thief that raised it from i owns the item in slot i. The CAS covers
 *     split too, so a thief can win only an index that was public at that
 *     moment (split moves only by the owner, by RMW or when no CAS can win).
 *  2. A thief reads slot i after its CAS, then acknowledges by storing NULL
 *     into it (release). Reading after the CAS makes a stale ts harmless (a
 *     CAS that succeeds finds exactly the state it read, whose slot i holds
 *     the item published for index i), so the owner may move tail back down.
 *  3. Every index below tail that the owner has not popped holds a stolen
 *     item. The owner pops from the top down; popping a stolen index i, it
 *     waits for slot i's acknowledgement before it may push there again, so
 *     every slot at or above head has been read by whoever won it.
 *  4. The owner publishes (raises split) with an RMW, which thieves' CASes
 *     cannot overwrite, and reclaims (lowers split) with a CAS. When it
 *     finds tail == split no thief can win a CAS, so it may store ts
 *     outright: that is how it moves tail back down to head (invariant 3).
 *  5. A published slot was written before the RMW that published it
 *     (release), and thieves acquire with their CAS.
 */
#ifndef TES_DEQUE_H
#define TES_DEQUE_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "platform.h"
#include "tessera.h"

/* What tes__deque_pop returns when the top item had been stolen (the item
 * is gone; the deque's top moved down by one). Never a valid item: items
 * are non-NULL pointers aligned to at least 4, whose two low bits may
 * carry tags (internal.h). */
#define TES_DEQUE_STOLEN ((void *)2)

typedef struct tes_deque {
    /* Thieves' line: CAS'd by thieves, changed by the owner only when the
     * public part grows or shrinks. */
    alignas(TES_CACHE_LINE) _Atomic uint64_t ts;
    void **slots_shared; /* the slots; constant while in use */
    /* Items thieves counted as theirs for the owner's statistics (the
     * worker's forks taken by thieves: relaxed RMW by thieves, relaxed
     * loads by tes_pool_stats). Here because thieves own this line. */
    _Atomic uint64_t thief_count;
    /* Raised (relaxed) by thieves that found the public part empty; read by
     * the owner at each push and pop, cleared when it publishes. Its own
     * line: thieves' CASes on ts must not evict it from the owner's cache. */
    alignas(TES_CACHE_LINE) _Atomic uint32_t want;
    /* Owner-private: the top (head), split and the end as pointers, on
     * the line that tes_fork and tes_join inline (tessera.h), with the
     * fields of the worker's they need (scope, forks, fork_end and the
     * pending failure: not the deque's business). The slots are accessed
     * with the __atomic builtins (thieves read them): the public header
     * cannot say _Atomic. */
    alignas(TES_CACHE_LINE) tes_fj own;
} tes_deque;
_Static_assert(sizeof(tes_fj) <= TES_CACHE_LINE, "tes_fj fills one line");
_Static_assert(offsetof(tes_deque, own) - offsetof(tes_deque, want) ==
                   TES_FJ_WANT_OFFSET,
               "tessera.h finds want one line before own");

static inline uint64_t tes__ts(uint32_t tail, uint32_t split)
{
    return (uint64_t)split << 32 | tail;
}

/* 0 or -ENOMEM. cap: the most items the deque holds. */
int tes__deque_init(tes_deque *d, uint32_t cap);
void tes__deque_destroy(tes_deque *d);

/* The deque whose owner line o is. */
static inline tes_deque *tes__deque_of(tes_fj *o)
{
    return (tes_deque *)(void *)((char *)o - offsetof(tes_deque, own));
}

/* ---- owner --------------------------------------------------------------- */

/* The index of slot p. */
static inline uint32_t tes__deque_index(const tes_deque *d, void *const *p)
{
    return (uint32_t)(p - d->slots_shared);
}

/* Pushes item on the private part. 0, or -ENOSPC when the deque is full
 * (nothing changes). Check tes__deque_wanted afterwards. */
static inline int tes__deque_push(tes_deque *d, void *item)
{
    void **p = d->own.top;
    if (TES_UNLIKELY(p == d->own.end))
        return -28; /* -ENOSPC */
    /* relaxed: private until published (invariant 5). */
    __atomic_store_n(p, item, __ATOMIC_RELAXED);
    d->own.top = p + 1;
    return 0;
}

/* True when thieves asked for work; the owner then calls
 * tes__deque_publish. */
static inline bool tes__deque_wanted(tes_deque *d)
{
    /* relaxed: a request, no data travels with it. */
    return atomic_load_explicit(&d->want, memory_order_relaxed) != 0;
}

/* True when item is the top of the private part: tes__deque_drop_top then
 * takes it without any atomic operation. */
static inline bool tes__deque_top_is(const tes_deque *d, const void *item)
{
    void **p = d->own.top;
    /* relaxed: the owner wrote the slot (invariant 1: no thief can own an
     * index at or above split). */
    return p > d->own.split && __atomic_load_n(p - 1, __ATOMIC_RELAXED) == item;
}

static inline void tes__deque_drop_top(tes_deque *d)
{
    d->own.top--;
}

/* The out-of-line half of tes__deque_pop: the top is public or stolen. */
void *tes__deque_pop_public(tes_deque *d);

/* The newest item; NULL when the deque is empty; TES_DEQUE_STOLEN when a
 * thief took the top (then pop again for the next). */
static inline void *tes__deque_pop(tes_deque *d)
{
    void **p = d->own.top;
    if (TES_LIKELY(p > d->own.split)) {
        d->own.top = p - 1;
        /* relaxed: a private slot, written by this thread. */
        return __atomic_load_n(p - 1, __ATOMIC_RELAXED);
    }
    return tes__deque_pop_public(d);
}

/* Publishes about half of the private items below index limit (the depth,
 * or one less to keep the top private), oldest first, and clears want.
 * Returns how many; 0 leaves want raised. */
uint32_t tes__deque_publish(tes_deque *d, uint32_t limit);

/* Items in the deque, the owner's exact count (stolen ones it has not
 * popped yet included): the index of its next free slot. */
static inline uint32_t tes__deque_depth(const tes_deque *d)
{
    return tes__deque_index(d, d->own.top);
}

/* ---- thieves ------------------------------------------------------------- */

/* Any thread but the owner. The oldest public item, or NULL when there is
 * none (then want is raised) or another thief won the race. On success,
 * *index is the item's slot: the caller acknowledges it with
 * tes__deque_ack once it has recorded what the owner must see. */
void *tes__deque_steal(tes_deque *d, uint32_t *index);

/* Invariant 2: the item of slot index is the thief's; the owner may reuse
 * the slot. release: publishes what the thief wrote about the item before
 * (its claim) to the owner's acquire load in tes__deque_pop_public. */
static inline void tes__deque_ack(tes_deque *d, uint32_t index)
{
    __atomic_store_n(&d->slots_shared[index], NULL, __ATOMIC_RELEASE);
}

/* Any thread: how many items thieves could take now (a hint). seq_cst: the
 * second half of the parking handshake (sched.c), against the owner's
 * publishing RMW. */
static inline uint32_t tes__deque_public(tes_deque *d)
{
    uint64_t v = atomic_load_explicit(&d->ts, memory_order_seq_cst);
    uint32_t t = (uint32_t)v, s = (uint32_t)(v >> 32);
    return s > t ? s - t : 0;
}

/* Any thread: asks the owner to publish (a no-op when already asked). */
static inline void tes__deque_ask(tes_deque *d)
{
    /* relaxed: a request; reading first keeps the line shared while the
     * request stands. */
    if (!atomic_load_explicit(&d->want, memory_order_relaxed))
        atomic_store_explicit(&d->want, 1, memory_order_relaxed);
}

#endif
