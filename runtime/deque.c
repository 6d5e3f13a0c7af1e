/*
 * deque.c — the out-of-line parts of the split deque (see deque.h for the
 * protocol and its invariants): set-up, the owner's pop from the public
 * part, publishing, and stealing.
 */
#include "deque.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

int tes__deque_init(tes_deque *d, uint32_t cap)
{
    if (cap < 16)
        cap = 16;
    /* Big arrays are left to the kernel's lazy paging (glibc maps them),
     * so an unused depth costs address space, not memory. */
    void **slot = malloc((size_t)cap * sizeof *slot);
    if (!slot)
        return -ENOMEM;
    atomic_init(&d->ts, tes__ts(0, 0));
    d->slots_shared = slot;
    atomic_init(&d->thief_count, 0);
    atomic_init(&d->want, 0);
    memset(&d->own, 0, sizeof d->own);
    d->own.top = d->own.split = slot;
    d->own.end = slot + cap;
    return 0;
}

void tes__deque_destroy(tes_deque *d)
{
    /* Called once no thief can run (all workers joined). */
    free(d->slots_shared);
    d->own.top = d->own.split = d->own.end = NULL;
    d->slots_shared = NULL;
}

/* Owner: waits until the thief that won slot i has read it (invariant 3).
 * It stores the acknowledgement a few instructions after its CAS, so this
 * spins briefly, unless the thief was preempted in between. */
static TES_NOINLINE void wait_ack(tes_deque *d, uint32_t i)
{
    unsigned spins = 0;
    /* acquire: pairs with the release store in tes__deque_ack, making the
     * thief's claim on the item visible. */
    while (__atomic_load_n(&d->slots_shared[i], __ATOMIC_ACQUIRE) != NULL) {
        if (++spins < 64)
            tes__cpu_relax();
        else
            sched_yield(); /* the thief may be waiting for our CPU */
    }
}

void *tes__deque_pop_public(tes_deque *d)
{
    uint32_t h = tes__deque_depth(d);
    if (h == 0)
        return NULL;
    /* Here head == split (split <= head, and the top is not private). */
    uint32_t i = h - 1;
    /* relaxed: a first guess for the CAS. */
    uint64_t v = atomic_load_explicit(&d->ts, memory_order_relaxed);
    for (;;) {
        uint32_t t = (uint32_t)v;
        if (t > i)
            break; /* tail passed i: stolen (invariant 3) */
        /* Take the top back, and with it the newer half of what is still
         * public: the older half stays for the thieves. */
        uint32_t ns = (uint32_t)(((uint64_t)t + h) / 2); /* t <= ns <= i */
        /* relaxed: which items are whose is decided by ts's modification
         * order alone; the owner wrote the items it takes back. Failure
         * (relaxed): a thief took one; look again. */
        if (atomic_compare_exchange_weak_explicit(&d->ts, &v, tes__ts(t, ns),
                                                  memory_order_relaxed,
                                                  memory_order_relaxed)) {
            d->own.split = d->slots_shared + ns;
            d->own.top = d->slots_shared + i;
            /* relaxed: the owner wrote it. */
            return __atomic_load_n(d->own.top, __ATOMIC_RELAXED);
        }
    }
    /* Every public item was stolen, i among them: tail == split == h. */
    wait_ack(d, i);
    /* relaxed: no thief can win a CAS while tail == split (invariant 4),
     * and no data is published by emptying the public part. */
    atomic_store_explicit(&d->ts, tes__ts(i, i), memory_order_relaxed);
    d->own.split = d->own.top = d->slots_shared + i;
    return TES_DEQUE_STOLEN;
}

uint32_t tes__deque_publish(tes_deque *d, uint32_t limit)
{
    uint32_t s = tes__deque_index(d, d->own.split);
    if (limit <= s)
        return 0; /* nothing private below limit: leave the request up */
    uint32_t n = (limit - s + 1) / 2;
    /* relaxed: a request, answered by the RMW below. */
    atomic_store_explicit(&d->want, 0, memory_order_relaxed);
    /* seq_cst: release publishes the items' slots and contents to the
     * thieves' acquire CAS (invariant 5); the total order pairs it with
     * the load of sleepers that follows in the caller and the parking
     * handshake (sched.c). Adding to the high half leaves tail alone. */
    atomic_fetch_add_explicit(&d->ts, (uint64_t)n << 32, memory_order_seq_cst);
    d->own.split += n;
    return n;
}

void *tes__deque_steal(tes_deque *d, uint32_t *index)
{
    /* relaxed: a first look; the CAS below decides. */
    uint64_t v = atomic_load_explicit(&d->ts, memory_order_relaxed);
    uint32_t t = (uint32_t)v, s = (uint32_t)(v >> 32);
    if (t >= s) {
        tes__deque_ask(d);
        return NULL;
    }
    /* acquire: pairs with the owner's publishing RMW (invariant 5) through
     * ts's release sequence, so slot t and the item are visible. Failure
     * (relaxed): another thief won, or the owner moved split. */
    if (!atomic_compare_exchange_strong_explicit(&d->ts, &v, v + 1,
                                                 memory_order_acquire,
                                                 memory_order_relaxed))
        return NULL;
    /* relaxed: ordered by the CAS's acquire (invariant 2). */
    void *x = __atomic_load_n(&d->slots_shared[t], __ATOMIC_RELAXED);
    *index = t;
    return x;
}
