/*
 * pool.c — pools and their workers: creation, the worker loop (own deque,
 * injection queue, stealing), parking and waking, shutdown that drains all
 * work, and the default thread count.
 */
#include "internal.h"

#include <assert.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "futex.h"

TES_TLS tes_worker *tes__self;

/* Bumped in a fork child (fork_child below): the process-wide "which
 * process am I" generation that tells a child's copy of a pool from a pool
 * it made itself. Not runtime state: it never changes in a process that
 * does not fork. */
_Atomic unsigned tes__fork_gen;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

/* Runs in the child, on its only thread, before fork() returns there. */
static void fork_child(void)
{
    /* relaxed: single-threaded here; later threads are created after it. */
    atomic_fetch_add_explicit(&tes__fork_gen, 1, memory_order_relaxed);
    tes__self = NULL; /* the forking thread may have been a worker */
}

static void fork_register(void)
{
    pthread_atfork(NULL, NULL, fork_child);
}

/* Failed find-work rounds (each with a pause) before a worker parks. */
#define TES_SPIN_ROUNDS 64
/* A parked worker also wakes on this timer (ns), a safety net for the
 * wake-ups that tes__submit may miss by design; it grows while idle. */
#define TES_PARK_MIN_NS 2000000LL
#define TES_PARK_MAX_NS 50000000LL

static inline uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* ---- injection queue --------------------------------------------------- */

void tes__inject(tes_pool *p, tes_future *f)
{
    f->next = NULL;
    pthread_mutex_lock(&p->inj_lock);
    if (p->inj_tail)
        p->inj_tail->next = f;
    else
        p->inj_head = f;
    p->inj_tail = f;
    /* seq_cst: with the seq_cst load of sleepers below, the mirror of
     * park(): sleepers++ then a load of inj_count. One of the two threads
     * sees the other, so an injected task is never left with every worker
     * asleep. */
    atomic_fetch_add_explicit(&p->inj_count, 1, memory_order_seq_cst);
    pthread_mutex_unlock(&p->inj_lock);
    if (atomic_load_explicit(&p->sleepers, memory_order_seq_cst) > 0)
        tes__wake_one(p);
}

static tes_future *inject_pop(tes_pool *p)
{
    /* relaxed: a cheap look; the lock below decides. */
    if (atomic_load_explicit(&p->inj_count, memory_order_relaxed) <= 0)
        return NULL;
    pthread_mutex_lock(&p->inj_lock);
    tes_future *f = p->inj_head;
    if (f) {
        p->inj_head = f->next;
        if (!p->inj_head)
            p->inj_tail = NULL;
        /* relaxed: inj_count changes under inj_lock; readers only peek. */
        atomic_fetch_sub_explicit(&p->inj_count, 1, memory_order_relaxed);
    }
    pthread_mutex_unlock(&p->inj_lock);
    return f;
}

/* ---- actor turns --------------------------------------------------------- */

/*
 * An actor's turn (its oldest pending call, run as a task) stays with the
 * worker that queued it, the caller that took the turn or the worker whose
 * drain batch ended, instead of going onto its deque: the calls are a
 * linked list of frames in that worker's cache, and another worker would
 * read them one cache miss after another. An idle worker stealing the turn
 * of a busy caller made the two of them slower than the caller alone (one
 * caller: 32 against 77 Mcalls/s). The worker takes its list first
 * whenever it looks for work or helps while awaiting. Other workers leave
 * a list alone until it has waited TES_AFFINE_TICKS (its worker may be in
 * a long task), and take it at once when the pool is stopping; while any
 * list waits, parked workers look again every TES_AFFINE_PARK_NS. Queueing
 * a turn wakes nobody (a wake per turn would cost a caller more than the
 * calls): when every other worker already sleeps with a longer timeout and
 * the owner stays busy, the turn waits for the first of them to wake, at
 * most TES_PARK_MAX_NS. The list is served oldest first, so a busy actor
 * whose turn keeps coming back cannot starve the others behind it.
 */
#define TES_AFFINE_TICKS 60000        /* about 20 us */
#define TES_AFFINE_PARK_NS 200000LL

static inline uint64_t ticks(void)
{
#if defined(__x86_64__) || defined(__i386__)
    return __builtin_ia32_rdtsc();
#else
    return (uint64_t)tes__now_ns() * 3;
#endif
}

/* Pushes f on t's list. stamp: f is newly queued, so an empty list starts
 * waiting now; a turn put back (affine_take) keeps the list's older time. */
static void affine_push(tes_worker *t, tes_future *f, bool stamp)
{
    /* relaxed: a first guess for the CAS. */
    tes_future *head = atomic_load_explicit(&t->affine, memory_order_relaxed);
    do {
        if (!head && stamp)
            /* relaxed: published by the release CAS below, which the
             * acquire look in affine_take pairs with. */
            atomic_store_explicit(&t->affine_since, ticks(),
                                  memory_order_relaxed);
        f->next = head;
        /* release: pairs with the acquire exchange (and look) in
         * affine_take, which then sees the frame (and, through the actor's
         * turn, its calls) and the time it started waiting. */
    } while (!atomic_compare_exchange_weak_explicit(
        &t->affine, &head, f, memory_order_release, memory_order_relaxed));
}

void tes__affine_push(tes_worker *t, tes_future *f)
{
    affine_push(t, f, true);
}

/* Takes from's affine list when w may: from's own thread always, others
 * once it has waited long enough or the pool is stopping. Returns the
 * turn that has waited longest, to run now; the others go back, oldest
 * deepest, on w's list (a worker's) or on from's (a lend slot, which
 * keeps no turns: its host may leave at any time). */
static tes_future *affine_take(tes_worker *w, tes_worker *from)
{
    /* acquire: pairs with the release CAS in affine_push (its stamp). */
    if (TES_LIKELY(!atomic_load_explicit(&from->affine, memory_order_acquire)))
        return NULL;
    if (from != w &&
        /* relaxed: ordered by the acquire look above. */
        ticks() - atomic_load_explicit(&from->affine_since,
                                       memory_order_relaxed) <
            TES_AFFINE_TICKS &&
        /* acquire: pairs with the seq_cst store in tes_pool_destroy. */
        !atomic_load_explicit(&w->pool->stopping, memory_order_acquire))
        return NULL;
    /* acquire: pairs with the release CAS in affine_push. */
    tes_future *f =
        atomic_exchange_explicit(&from->affine, NULL, memory_order_acquire);
    if (!f)
        return NULL;
    /* The list is newest first: reverse it, run the oldest, and push the
     * rest back oldest first so that the newest ends on top again. */
    tes_future *oldest = NULL;
    while (f) {
        tes_future *nx = f->next;
        f->next = oldest;
        oldest = f;
        f = nx;
    }
    tes_worker *keep = w->index < w->pool->nworkers ? w : from;
    for (tes_future *t = oldest->next; t;) {
        tes_future *nx = t->next;
        affine_push(keep, t, false);
        t = nx;
    }
    oldest->next = NULL;
    return oldest;
}

tes_future *tes__affine_own(tes_worker *w)
{
    return affine_take(w, w);
}

/* True when some worker's affine list waits. */
static bool affine_waiting(tes_pool *p)
{
    for (int i = 0; i < p->nworkers; i++)
        /* relaxed: a hint for how long to park. */
        if (atomic_load_explicit(&p->workers[i].affine, memory_order_relaxed))
            return true;
    return false;
}

/* ---- finding work ------------------------------------------------------ */

static tes_future *steal_round(tes_worker *w)
{
    tes_pool *p = w->pool;
    int n = tes__nslots(p);
    if (n < 2)
        return NULL;
    int start = (int)(xorshift(&w->rng) % (uint64_t)n);
    for (int i = 0; i < n; i++) {
        int v = start + i;
        if (v >= n)
            v -= n;
        if (v == w->index)
            continue;
        tes_deque *d = &p->workers[v].deque;
        tes_future *f = tes__deque_steal(d);
        if (!f && (f = affine_take(w, &p->workers[v])) != NULL)
            return f; /* not counted as a steal: no thief hint either */
        if (f) {
            /* relaxed: a hint for the awaiter's leapfrogging. */
            atomic_store_explicit(&f->thief, w->index, memory_order_relaxed);
            tes__count(&w->n_steal);
            if (TES_UNLIKELY(w->trace != NULL))
                tes__trace_event(w, TES_EV_STEAL, NULL, v);
            /* More where this came from: let a sleeper help too. */
            if (tes__deque_size_hint(d) > 0 &&
                atomic_load_explicit(&p->sleepers, memory_order_relaxed) > 0)
                tes__wake_one(p);
            return f;
        }
    }
    tes__count(&w->n_failed);
    return NULL;
}

tes_future *tes__find_work(tes_worker *w)
{
    tes_future *f = affine_take(w, w);
    if (f)
        return f;
    f = tes__deque_take(&w->deque);
    if (f)
        return f;
    f = inject_pop(w->pool);
    if (f) {
        tes__count(&w->n_inject);
        return f;
    }
    return steal_round(w);
}

static bool work_visible(tes_pool *p)
{
    /* seq_cst: second half of the Dekker pattern with tes__inject. */
    if (atomic_load_explicit(&p->inj_count, memory_order_seq_cst) > 0)
        return true;
    int n = tes__nslots(p);
    for (int i = 0; i < n; i++)
        if (tes__deque_size_hint(&p->workers[i].deque) > 0)
            return true;
    return false;
}

/* ---- parking ----------------------------------------------------------- */

void tes__wake_one(tes_pool *p)
{
    /* acquire on success: pairs with the release store of waking in park;
     * one wake-up in flight at a time keeps a burst of spawns to one
     * futex call. */
    if (atomic_exchange_explicit(&p->waking, 1, memory_order_acquire))
        return;
    /* release: the sleeper's futex_wait compares against the new value. */
    atomic_fetch_add_explicit(&p->epoch, 1, memory_order_release);
    tes__futex_wake(&p->epoch, 1);
}

static void wake_all(tes_pool *p)
{
    /* release: as in tes__wake_one. */
    atomic_fetch_add_explicit(&p->epoch, 1, memory_order_release);
    tes__futex_wake(&p->epoch, INT_MAX);
}

static void park(tes_worker *w, long long timeout_ns)
{
    tes_pool *p = w->pool;
    /* acquire: pairs with the release increments of epoch. Read before
     * announcing, so a wake after the announcement changes the word. */
    uint32_t e = atomic_load_explicit(&p->epoch, memory_order_acquire);
    /* seq_cst: first half of the Dekker pattern with tes__inject. */
    atomic_fetch_add_explicit(&p->sleepers, 1, memory_order_seq_cst);
    if (timeout_ns > TES_AFFINE_PARK_NS && affine_waiting(p))
        timeout_ns = TES_AFFINE_PARK_NS;
    if (!work_visible(p) &&
        /* acquire: pairs with the seq_cst store in tes_pool_destroy. */
        !atomic_load_explicit(&p->stopping, memory_order_acquire)) {
        tes__count(&w->n_park);
        if (TES_UNLIKELY(w->trace != NULL))
            tes__trace_event(w, TES_EV_PARK, NULL, 0);
        tes__futex_wait(&p->epoch, e, timeout_ns);
        if (TES_UNLIKELY(w->trace != NULL))
            tes__trace_event(w, TES_EV_UNPARK, NULL, 0);
    }
    /* relaxed: a count; the Dekker ordering is on the increment. */
    atomic_fetch_sub_explicit(&p->sleepers, 1, memory_order_relaxed);
    /* release: pairs with the acquire exchange in tes__wake_one; the next
     * spawn may wake someone again. */
    atomic_store_explicit(&p->waking, 0, memory_order_release);
}

/* ---- shutdown ---------------------------------------------------------- */

/*
 * Termination detection while stopping. A worker counts itself in `idle`
 * only after a find-work round failed, and leaves the count before each new
 * round; a counted worker runs nothing, so it pushes nothing. Each worker's
 * deque was empty when it last counted itself (its own take is exact), so
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
            wake_all(p);
            return true;
        }
        /* acquire: pairs with the release store just above. */
        if (atomic_load_explicit(&p->finished, memory_order_acquire))
            return true;
        uint32_t e = atomic_load_explicit(&p->epoch, memory_order_acquire);
        tes__futex_wait(&p->epoch, e, 1000000);
        atomic_fetch_sub_explicit(&p->idle, 1, memory_order_seq_cst);
        tes_future *f = tes__find_work(w);
        if (f) {
            tes__run_frame(w, f);
            return false;
        }
        idle = atomic_fetch_add_explicit(&p->idle, 1, memory_order_seq_cst) + 1;
    }
}

/* ---- workers ----------------------------------------------------------- */

/*
 * Stealing tasks that are smaller than the steal itself (a cross-core round
 * trip on the victim's deque and on the frame) slows the victim more than it
 * helps: a producer spawning 10 million empty tasks ran at 55-60 ns per task
 * with a thief taking them one by one, against 14 ns alone. So an idle
 * worker times the tasks it steals and, after a streak of tiny ones, waits a
 * little before stealing again, leaving the victim to run its own small
 * tasks (about 15 ns per task then). A stolen task of any real size ends the
 * streak: fib-, nqueens- or tile-sized work never triggers it. Only plain
 * tasks count (see run_top_level).
 */
#define TES_TINY_TICKS 4000 /* a "tiny" stolen task, in TSC ticks */
#define TES_TINY_STREAK 8   /* tiny steals in a row before waiting */


static TES_NOINLINE void steal_backoff(tes_worker *w)
{
    /* Longer the longer the streak: at most 512 pauses, a few us. */
    unsigned n = w->tiny_steals > 64 ? 64 : w->tiny_steals;
    for (unsigned i = 0; i < n * 8; i++)
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#else
        ;
#endif
}

/* Runs a task the worker loop found, timing it when it was stolen. */
static inline void run_top_level(tes_worker *w, tes_future *f,
                                 uint64_t stolen_before)
{
    /* relaxed: our own counter. Frames with behaviour (actor calls,
     * dependent and group tasks) are left out: an actor's calls are cheap
     * one by one, and holding back the worker that would run the next of
     * them stalls the actor's callers. */
    if (atomic_load_explicit(&w->n_steal, memory_order_relaxed) ==
            stolen_before ||
        f->ops != NULL) {
        tes__run_frame(w, f);
        return;
    }
    uint64_t t0 = ticks();
    tes__run_frame(w, f);
    if (ticks() - t0 < TES_TINY_TICKS)
        w->tiny_steals++;
    else
        w->tiny_steals = 0;
}

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
        tes_future *f = tes__find_work(w);
        for (int i = 0; !f && i < TES_SPIN_ROUNDS; i++) {
            if (i < TES_SPIN_ROUNDS / 2) {
                for (int k = 0; k < 32; k++)
#if defined(__x86_64__) || defined(__i386__)
                    __builtin_ia32_pause();
#else
                    ;
#endif
            } else {
                sched_yield();
            }
            f = tes__find_work(w);
        }
        if (f) {
            run_top_level(w, f, stolen_before);
            park_ns = TES_PARK_MIN_NS;
            continue;
        }
        /* acquire: pairs with the seq_cst store in tes_pool_destroy. */
        if (atomic_load_explicit(&p->stopping, memory_order_acquire)) {
            if (try_finish(w))
                return;
            continue;
        }
        park(w, park_ns);
        /* Woken by the timer with nothing found: sleep longer next time,
         * without spinning first. */
        while (!(f = tes__find_work(w)) &&
               !atomic_load_explicit(&p->stopping, memory_order_acquire)) {
            if (park_ns < TES_PARK_MAX_NS)
                park_ns *= 2;
            park(w, park_ns);
        }
        if (f) {
            tes__run_frame(w, f);
            park_ns = TES_PARK_MIN_NS;
            w->tiny_steals = 0;
        }
    }
}

static void free_chain(tes_future *f)
{
    while (f) {
        tes_future *nx = f->next;
        free(f);
        f = nx;
    }
}

/* Frees the frames w's thread holds: its free list, spill batch and the
 * batches it was gathering for other workers. Frames other workers
 * returned to w wait for pool_free (they may still arrive). */
static void free_frames(tes_worker *w)
{
    free_chain(w->free_list);
    w->free_list = NULL;
    w->free_count = 0;
    free_chain(w->spill);
    w->spill = NULL;
    w->nspill = 0;
    int slots = w->pool->nworkers + w->pool->nlend;
    for (int i = 0; w->ret && i < slots; i++) {
        free_chain(w->ret[i].head);
        w->ret[i].head = NULL;
        w->ret[i].n = 0;
    }
}

static void *worker_main(void *arg)
{
    tes_worker *w = arg;
    tes_pool *p = w->pool;
    tes__self = w;
    char name[16];
    snprintf(name, sizeof name, "%.10s/%d", p->name, w->index);
    pthread_setname_np(pthread_self(), name);
    if (p->opts.on_thread_start)
        p->opts.on_thread_start(p, w->index, p->opts.hook_ctx);
    worker_loop(w);
    if (p->opts.on_thread_stop)
        p->opts.on_thread_stop(p, w->index, p->opts.hook_ctx);
    tes__self = NULL;
    free_frames(w);
    return NULL;
}

/* ---- default thread count ---------------------------------------------- */

/* The CPU quota of this process's cgroup, rounded up, or 0 when none. */
static int cgroup_cpu_limit(void)
{
    char path[640] = "/sys/fs/cgroup/cpu.max";
    FILE *cg = fopen("/proc/self/cgroup", "r");
    if (cg) {
        char line[512];
        while (fgets(line, sizeof line, cg)) {
            if (strncmp(line, "0::", 3) == 0) { /* cgroup v2 */
                line[strcspn(line, "\n")] = 0;
                snprintf(path, sizeof path, "/sys/fs/cgroup%s/cpu.max",
                         strcmp(line + 3, "/") ? line + 3 : "");
            }
        }
        fclose(cg);
    }
    long long quota = -1, period = 0;
    FILE *fp = fopen(path, "r");
    if (!fp)
        fp = fopen("/sys/fs/cgroup/cpu.max", "r");
    if (fp) {
        char q[32];
        if (fscanf(fp, "%31s %lld", q, &period) == 2 && strcmp(q, "max"))
            quota = strtoll(q, NULL, 10);
        fclose(fp);
    } else if ((fp = fopen("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "r"))) {
        if (fscanf(fp, "%lld", &quota) != 1)
            quota = -1;
        fclose(fp);
        if ((fp = fopen("/sys/fs/cgroup/cpu/cpu.cfs_period_us", "r"))) {
            if (fscanf(fp, "%lld", &period) != 1)
                period = 0;
            fclose(fp);
        }
    }
    if (quota <= 0 || period <= 0)
        return 0;
    return (int)((quota + period - 1) / period);
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
    int n = 0;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        n = CPU_COUNT(&set);
    if (n <= 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n = c > 0 ? (int)c : 1;
    }
    int q = cgroup_cpu_limit();
    if (q > 0 && q < n)
        n = q;
    return n;
}

/* ---- pool lifetime ----------------------------------------------------- */

static void stop_and_join(tes_pool *p, int started)
{
    /* seq_cst: read by workers (acquire) and by tes__submit. */
    atomic_store_explicit(&p->stopping, 1, memory_order_seq_cst);
    wake_all(p);
    for (int i = 0; i < started; i++)
        pthread_join(p->workers[i].thread, NULL);
}

static void pool_free(tes_pool *p, int ndeques)
{
    tes__trace_finish(p);
    for (int i = 0; i < ndeques; i++) {
        tes__deque_destroy(&p->workers[i].deque);
        if (i >= p->nworkers)
            free_frames(&p->workers[i]); /* lend slots keep theirs */
    }
    for (int i = 0; i < p->nworkers + p->nlend; i++) {
        tes_worker *w = &p->workers[i];
        /* relaxed: every thread that could return frames has been joined. */
        tes__frame_batches_free(
            atomic_load_explicit(&w->returned, memory_order_relaxed));
        free(w->ret);
    }
    free(p->trace_path);
    while (p->spare) { /* workers joined: no lock needed */
        tes_future *b = p->spare;
        p->spare = b->arg;
        free_chain(b);
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
    /* relaxed: read only by this process's threads, created after this. */
    p->fork_gen = atomic_load_explicit(&tes__fork_gen, memory_order_relaxed);
    p->t0_ns = tes__now_ns();
    const char *tp = o.trace_path ? o.trace_path : getenv("TESSERA_TRACE");
    if (tp && *tp && !(p->trace_path = strdup(tp))) {
        free(p->workers);
        free(p);
        return -ENOMEM;
    }
    p->opts.trace_path = p->trace_path;
    p->opts = o;
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
        atomic_init(&w->affine, NULL);
        atomic_init(&w->affine_since, 0);
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
        if (tes__deque_init(&w->deque, 256) != 0) {
            pool_free(p, i);
            return -ENOMEM;
        }
        w->index = i;
        w->rng = 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1) | 1;
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
    tes__self = w;
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
        tes_future *f = tes__find_work(w);
        if (f) {
            tes__run_frame(w, f);
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
    tes_future *f;
    while ((f = tes__deque_take(&w->deque)))
        tes__run_frame(w, f);
    tes__self = NULL;
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
