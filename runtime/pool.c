/*
 * pool.c — pools and their workers: creation, the worker loop, shutdown
 * that drains all work, lending a host thread, and what a fork() child
 * finds. Where work is found and how idle workers sleep is sched.c's.
 */
#include "fork.h"

#include <assert.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scheduler.h"
#include "trace.h"

/* Failed find-work rounds (each with a pause) before a worker parks. */
#define TES_SPIN_ROUNDS 64
/* A parked worker also wakes on this timer (ns), a safety net for the
 * wake-ups a push may leave to the next one; it grows while idle. */
#define TES_PARK_MIN_NS 2000000LL
#define TES_PARK_MAX_NS 50000000LL

static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

/* Runs in a fork() child, on its only thread, before fork() returns there:
 * the forking thread may have been a worker. */
static void fork_child(void)
{
    tes__set_self(NULL);
}

static void fork_register(void)
{
    tes__platform_init();
    pthread_atfork(NULL, NULL, fork_child);
}

/* ---- running what the loop finds ---------------------------------------- */

/*
 * Stealing tasks that are smaller than the steal itself (a cross-core round
 * trip on the victim's deque and on the frame) slows the victim more than it
 * helps: a producer spawning 10 million empty tasks ran at 55-60 ns per task
 * with a thief taking them one by one, against 14 ns alone. So an idle
 * worker times the tasks it steals and, after a streak of tiny ones, waits a
 * little before stealing again, leaving the victim to run its own small
 * tasks (about 15 ns per task then). A stolen task of any real size ends the
 * streak: fib-, nqueens- or tile-sized work never triggers it. Only plain
 * tasks and forks count (see run_top_level).
 */
#define TES_TINY_NS 1300   /* a "tiny" stolen task */
#define TES_TINY_STREAK 8  /* tiny steals in a row before waiting */

static TES_NOINLINE void steal_backoff(tes_worker *w)
{
    /* Longer the longer the streak: at most 512 pauses, a few us. */
    unsigned n = w->tiny_steals > 64 ? 64 : w->tiny_steals;
    for (unsigned i = 0; i < n * 8; i++)
        tes__cpu_relax();
}

/* Runs an item the worker loop found outside any task, timing it when it
 * was stolen. Afterwards no frame of a task that ran is left: the failure
 * messages of the forks it joined go. */
static inline void run_top_level(tes_worker *w, void *x,
                                 uint64_t stolen_before)
{
    /* Inside a task, forks take the inline path (tessera.h) unless the
     * pool traces or the library checks the rules. */
    w->deque.own.fork_end = w->fork_end;
    /* relaxed: read by tes_pool_dump only. */
    atomic_store_explicit(&w->phase, TES_PHASE_RUNNING, memory_order_relaxed);
    /* relaxed: our own counter. Frames with behaviour (actor calls,
     * dependent and group tasks) are left out: an actor's calls are cheap
     * one by one, and holding back the worker that would run the next of
     * them stalls the actor's callers. */
    if (atomic_load_explicit(&w->n_steal, memory_order_relaxed) ==
            stolen_before ||
        (!tes__item_is_fork(x) && tes__item_frame(x)->ops != NULL)) {
        tes__run_item(w, x);
    } else {
        uint64_t t0 = tes__ticks();
        tes__run_item(w, x);
        if ((tes__ticks() - t0) * 1000 <
            (uint64_t)TES_TINY_NS * w->pool->ticks_per_us)
            w->tiny_steals++;
        else
            w->tiny_steals = 0;
    }
    w->deque.own.fork_end = NULL;
    atomic_store_explicit(&w->phase, TES_PHASE_LOOKING, memory_order_relaxed);
    if (TES_UNLIKELY(w->fork_msgs != NULL))
        tes__fork_msgs_free(w);
}

/* ---- shutdown ---------------------------------------------------------------- */

/*
 * Termination detection while stopping. A worker counts itself in `idle`
 * only after a find-work round failed, and leaves the count before each new
 * round; a counted worker runs nothing, so it pushes nothing. Each worker's
 * deque was empty when it last counted itself (its own pop is exact), so
 * when all workers are counted at once every deque is empty; with the
 * injection queue empty too, no work is left anywhere.
 */
static bool try_finish(tes_worker *w)
{
    tes_pool *p = w->pool;
    /* seq_cst: the count and the inj_count check below form one snapshot
     * with the other workers' increments and decrements. */
    int idle = atomic_fetch_add_explicit(&p->idle, 1, memory_order_seq_cst) + 1;
    for (;;) {
        if (idle == p->nstarted &&
            atomic_load_explicit(&p->inj_count, memory_order_seq_cst) == 0) {
            /* release: pairs with the acquire loads of finished. */
            atomic_store_explicit(&p->finished, 1, memory_order_release);
            tes__wake_all(p);
            return true;
        }
        /* acquire: pairs with the release store just above. */
        if (atomic_load_explicit(&p->finished, memory_order_acquire))
            return true;
        uint32_t e = atomic_load_explicit(&p->epoch, memory_order_acquire);
        tes__futex_wait(&p->epoch, e, 1000000);
        atomic_fetch_sub_explicit(&p->idle, 1, memory_order_seq_cst);
        void *x = tes__find_work(w);
        if (x) {
            run_top_level(w, x, UINT64_MAX);
            return false;
        }
        idle = atomic_fetch_add_explicit(&p->idle, 1, memory_order_seq_cst) + 1;
    }
}

/* ---- workers ----------------------------------------------------------------- */

static void worker_loop(tes_worker *w)
{
    tes_pool *p = w->pool;
    long long park_ns = TES_PARK_MIN_NS;
    for (;;) {
        if (TES_UNLIKELY(w->tiny_steals > TES_TINY_STREAK))
            steal_backoff(w);
        /* relaxed: our own counter. */
        uint64_t stolen_before =
            atomic_load_explicit(&w->n_steal, memory_order_relaxed);
        void *x = tes__find_work(w);
        for (int i = 0; !x && i < TES_SPIN_ROUNDS; i++) {
            if (i < TES_SPIN_ROUNDS / 2) {
                for (int k = 0; k < 32; k++)
                    tes__cpu_relax();
            } else {
                sched_yield();
            }
            x = tes__find_work(w);
        }
        if (x) {
            run_top_level(w, x, stolen_before);
            park_ns = TES_PARK_MIN_NS;
            continue;
        }
        /* acquire: pairs with the seq_cst store in tes_pool_destroy. */
        if (atomic_load_explicit(&p->stopping, memory_order_acquire)) {
            if (try_finish(w))
                return;
            continue;
        }
        tes__park(w, park_ns);
        /* Woken by the timer with nothing found: sleep longer next time,
         * without spinning first. */
        while (!(x = tes__find_work(w)) &&
               !atomic_load_explicit(&p->stopping, memory_order_acquire)) {
            if (park_ns < TES_PARK_MAX_NS)
                park_ns *= 2;
            tes__park(w, park_ns);
        }
        if (x) {
            run_top_level(w, x, UINT64_MAX);
            park_ns = TES_PARK_MIN_NS;
            w->tiny_steals = 0;
        }
    }
}

static void *worker_main(void *arg)
{
    tes_worker *w = arg;
    tes_pool *p = w->pool;
    tes__set_self(w);
    char name[16];
    snprintf(name, sizeof name, "%.10s/%d", p->name, w->index);
    pthread_setname_np(pthread_self(), name);
    if (p->opts.on_thread_start)
        p->opts.on_thread_start(p, w->index, p->opts.hook_ctx);
    worker_loop(w);
    if (p->opts.on_thread_stop)
        p->opts.on_thread_stop(p, w->index, p->opts.hook_ctx);
    tes__set_self(NULL);
    atomic_store_explicit(&w->phase, TES_PHASE_GONE, memory_order_relaxed);
    tes__frames_release(w);
    return NULL;
}

int tes_default_threads(void)
{
    const char *env = getenv("TESSERA_NUM_THREADS");
    if (env && *env) {
        char *end;
        long n = strtol(env, &end, 10);
        if (*end == 0 && n > 0)
            return n > 4096 ? 4096 : (int)n;
    }
    return tes__cpu_count();
}

/* ---- pool lifetime ----------------------------------------------------------- */

static void stop_and_join(tes_pool *p, int started)
{
    /* seq_cst: read by workers (acquire) and by tes__submit. */
    atomic_store_explicit(&p->stopping, 1, memory_order_seq_cst);
    tes__wake_all(p);
    for (int i = 0; i < started; i++)
        pthread_join(p->workers[i].thread, NULL);
}

static void pool_free(tes_pool *p, int ndeques)
{
    tes__trace_finish(p);
    for (int i = 0; i < ndeques; i++) {
        tes__deque_destroy(&p->workers[i].deque);
        if (i >= p->nworkers)
            tes__frames_release(&p->workers[i]); /* lend slots keep theirs */
    }
    for (int i = 0; i < p->nworkers + p->nlend; i++) {
        tes_worker *w = &p->workers[i];
        /* relaxed: every thread that could return frames has been joined. */
        tes__frame_batches_free(
            atomic_load_explicit(&w->returned, memory_order_relaxed));
        tes__fork_msgs_free(w);
        free(w->ret);
    }
    free(p->trace_path);
    while (p->spare) { /* workers joined: no lock needed */
        tes_future *b = p->spare;
        p->spare = b->arg;
        while (b) {
            tes_future *nx = b->next;
            free(b);
            b = nx;
        }
    }
    pthread_mutex_destroy(&p->frames_lock);
    pthread_mutex_destroy(&p->inj_lock);
    free(p->workers);
    free(p);
}

int tes_pool_create(tes_pool **out, const tes_pool_options *opts)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    tes_pool_options o = TES_POOL_OPTIONS_INIT;
    if (opts)
        o = *opts;
    if (o.threads < 0)
        return -EINVAL;
    pthread_once(&fork_once, fork_register);
    int n = o.threads ? o.threads : tes_default_threads();
    int nlend = o.lend_slots < 0 ? 0 : o.lend_slots ? o.lend_slots : 2;
    if (nlend > 4096)
        return -EINVAL;
    tes_pool *p = aligned_alloc(TES_CACHE_LINE,
                                (sizeof *p + TES_CACHE_LINE - 1) /
                                    TES_CACHE_LINE * TES_CACHE_LINE);
    if (!p)
        return -ENOMEM;
    memset(p, 0, sizeof *p);
    size_t slots = (size_t)n + (size_t)nlend;
    p->workers = aligned_alloc(TES_CACHE_LINE, sizeof(tes_worker) * slots);
    if (!p->workers) {
        free(p);
        return -ENOMEM;
    }
    memset(p->workers, 0, sizeof(tes_worker) * slots);
    p->nworkers = n;
    p->nlend = nlend;
    p->fork_gen = tes__fork_generation();
    p->t0_ns = tes__now_ns();
    p->ticks_per_us = tes__ticks_per_us();
    const char *tp = o.trace_path ? o.trace_path : getenv("TESSERA_TRACE");
    if (tp && *tp && !(p->trace_path = strdup(tp))) {
        free(p->workers);
        free(p);
        return -ENOMEM;
    }
    p->opts = o;
    p->opts.trace_path = p->trace_path;
    snprintf(p->name, sizeof p->name, "%s", o.name ? o.name : "tessera");
    p->opts.name = p->name;
    pthread_mutex_init(&p->inj_lock, NULL);
    pthread_mutex_init(&p->frames_lock, NULL);
    atomic_init(&p->inj_count, 0);
    atomic_init(&p->sleepers, 0);
    atomic_init(&p->epoch, 0);
    atomic_init(&p->waking, 0);
    atomic_init(&p->stopping, 0);
    atomic_init(&p->idle, 0);
    atomic_init(&p->finished, 0);
    atomic_init(&p->lenders, 0);
    for (int i = 0; i < (int)slots; i++) {
        tes_worker *w = &p->workers[i];
        atomic_init(&w->lent, 0);
        atomic_init(&w->held, NULL);
        atomic_init(&w->held_since, 0);
        atomic_init(&w->returned, NULL);
        w->pool = p; /* before anything can fail: pool_free reads it */
        /* Frames go back to their worker only in pools of up to
         * TES_RETURN_MAX_SLOTS slots: the gathering arrays take slots²
         * entries. */
        w->ret = slots <= TES_RETURN_MAX_SLOTS
                     ? calloc(slots, sizeof *w->ret)
                     : NULL;
        if (!w->ret && slots <= TES_RETURN_MAX_SLOTS) {
            pool_free(p, i);
            return -ENOMEM;
        }
        if (tes__deque_init(&w->deque, TES_DEQUE_DEPTH) != 0) {
            pool_free(p, i);
            return -ENOMEM;
        }
        w->index = i;
        w->rng = 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1) | 1;
        /* Forks and joins go through the library when it must see each
         * one: to trace it, or to check the rules (debug builds). */
#ifdef TES_DEBUG
        bool fast = false;
#else
        bool fast = p->trace_path == NULL;
#endif
        w->fork_end = fast ? w->deque.own.end : NULL;
        w->fork_tag = fast ? 0 : 2;
        w->frame_tag = fast ? 1 : 3;
    }
    if (p->trace_path && tes__trace_init(p) != 0) {
        pool_free(p, (int)slots);
        return -ENOMEM;
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, o.stack_size ? o.stack_size : 8u << 20);
    p->nstarted = n;
    for (int i = 0; i < n; i++) {
        int rc = pthread_create(&p->workers[i].thread, &attr, worker_main,
                                &p->workers[i]);
        if (rc != 0) {
            pthread_attr_destroy(&attr);
            p->nstarted = i; /* before stopping: try_finish counts to it */
            stop_and_join(p, i);
            pool_free(p, (int)slots);
            return -rc;
        }
    }
    pthread_attr_destroy(&attr);
    *out = p;
    return 0;
}

void tes_pool_destroy(tes_pool *p)
{
    if (!p)
        return;
    if (tes__forked(p))
        return; /* a parent's pool: no threads to stop, locks maybe held */
    /* Broken contract: a pool's own task cannot wait for the pool to end. */
    assert(!(tes__self && tes__self->pool == p));
    stop_and_join(p, p->nworkers);
    pool_free(p, p->nworkers + p->nlend);
}

/* ---- lending a host thread ------------------------------------------------ */

int tes_pool_lend(tes_pool *p, tes_future *until, long max_ms)
{
    if (!p || tes__self)
        return -EINVAL;
    if (tes__forked(p))
        return TES_EFORKED;
    /* acquire: pairs with the seq_cst store in tes_pool_destroy. */
    if (atomic_load_explicit(&p->stopping, memory_order_acquire))
        return TES_ESHUTDOWN;
    tes_worker *w = NULL;
    for (int i = 0; i < p->nlend && !w; i++) {
        int free_slot = 0;
        /* acquire: pairs with the release store that freed the slot, so
         * the previous lender's use of it (free list, trace) is ours. */
        if (atomic_compare_exchange_strong_explicit(
                &p->workers[p->nworkers + i].lent, &free_slot, 1,
                memory_order_acquire, memory_order_relaxed))
            w = &p->workers[p->nworkers + i];
    }
    if (!w)
        return -EBUSY;
    /* seq_cst: thieves and parkers read it (relaxed hints) to include the
     * lend slots; ordered before our first push as a plain hint. */
    atomic_fetch_add_explicit(&p->lenders, 1, memory_order_seq_cst);
    tes__set_self(w);
    long long deadline =
        max_ms >= 0 ? tes__now_ns() + (long long)max_ms * 1000000LL : -1;
    int rc = 0;
    unsigned idle = 0;
    for (;;) {
        if (until && tes_future_done(until))
            break;
        if (deadline >= 0 && tes__now_ns() >= deadline) {
            rc = -ETIMEDOUT;
            break;
        }
        void *x = tes__find_work(w);
        if (x) {
            run_top_level(w, x, UINT64_MAX);
            idle = 0;
            continue;
        }
        if (++idle < TES_SPIN_ROUNDS) {
            sched_yield();
        } else if (!until && deadline < 0) {
            break; /* no work found for a while: the pool is idle */
        } else {
            struct timespec nap = {0, 100000};
            nanosleep(&nap, NULL);
        }
    }
    /* Leave nothing behind in our deque: its tasks are ours to run. */
    void *x;
    while ((x = tes__pop_local(w)))
        run_top_level(w, x, UINT64_MAX);
    tes__set_self(NULL);
    /* relaxed: a hint (see tes__nslots); our deque is empty. */
    atomic_fetch_sub_explicit(&p->lenders, 1, memory_order_relaxed);
    /* release: pairs with the acquire CAS of the next lender. */
    atomic_store_explicit(&w->lent, 0, memory_order_release);
    return rc;
}

tes_pool *tes_current_pool(void)
{
    tes_worker *w = tes__self;
    return w ? w->pool : NULL;
}

int tes_worker_index(void)
{
    tes_worker *w = tes__self;
    return w ? w->index : -1;
}

int tes_pool_threads(const tes_pool *p)
{
    return p ? p->nworkers : -EINVAL;
}
