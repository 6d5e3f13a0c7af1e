/*
 * internal.h — private: the shapes the runtime's modules share (task
 * frames, forked tasks as seen from inside, workers, pools) and the few
 * one-line helpers on them. Functions live in each module's own header:
 * frame.h, scheduler.h (sched.c), trace.h, fork.h.
 *
 * Modules, lowest first; each calls only those before it (no circles):
 *   platform, deque, trace, stats, error  <  frame  <  sched
 *   <  task, fork  <  cancel, depend, actor, parallel  <  pool
 * Frames of other kinds reach higher modules only through the function
 * pointers they carry (tes_frame_ops, tes_cont).
 */
#ifndef TES_INTERNAL_H
#define TES_INTERNAL_H

#include "tessera.h"

#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "deque.h"
#include "platform.h"

/*
 * A task frame is a spawned task and its future in one allocation. Its
 * state word packs the flags below and the reference count (in units of
 * TES_REF): each handle the user holds is one reference, and a task that
 * has not yet completed holds one more, so a frame is freed exactly when it
 * has completed and its last handle is released.
 */
#define TES_DONE 1u         /* completed: result/error are final */
#define TES_WAITERS 2u      /* a thread sleeps on the word: wake on DONE */
#define TES_CANCEL_REQ 4u   /* tes_cancel asked it not to run / to stop */
#define TES_CONT 16u        /* continuations are registered: fire on DONE */
#define TES_REF (1u << 8)   /* one reference */

typedef struct tes_frame_ops tes_frame_ops;
typedef struct tes_worker tes_worker;
typedef struct tes_cont tes_cont;
typedef struct tes_trace_buf tes_trace_buf;

/* A continuation: fire(c) runs once, on the thread that completes the
 * future it was registered on (tes__on_complete), after DONE is published.
 * The memory belongs to whoever registered it; fire may free it. */
struct tes_cont {
    tes_cont *next;
    void (*fire)(tes_cont *c);
};

/* The continuation list of a frame once its completer has taken it. */
#define TES_CONTS_CLOSED ((tes_cont *)1)

struct tes_future {
    /* First cache line: what running, completing and freeing a frame
     * touch (an actor's drain reads nothing else). */
    _Atomic uint32_t word;     /* flags | refs * TES_REF */
    int error;                 /* 0 or the failure code; final once DONE */
    union {
        void *(*fn)(void *);               /* plain tasks, groups */
        void *(*method)(void *, void *);   /* actor calls */
    };
    void *arg;
    union {
        void *result;          /* final once DONE */
        /* An actor call before it runs (actor.c): a frame its worker
         * pushed TES_WALK_AHEAD calls earlier, which the drain's walk down
         * the mailbox prefetches. Only a hint: any value is harmless. */
        tes_future *walk_hint;
    };
    /* malloc'd failure message or NULL. NULL in every free frame (the
     * free path clears it), so that set-up need not. */
    char *msg;
    /* The worker that malloc'd the frame, or NULL (another thread): a
     * frame freed by another worker of the same pool goes back to it
     * (frame.h). Set once, never reset by reuse; compared, and
     * dereferenced only once known to be a slot of the freeing worker's
     * pool (the home's pool may be gone). */
    tes_worker *home;
    tes_pool *pool;
    tes_future *next;          /* free list / injection queue / group link */
    /* Second line. */
    const tes_frame_ops *ops;  /* NULL: a plain task */
    void *ext;                 /* owned by ops (actor call, dependency...) */
    const char *name;          /* not owned */
    /* The worker index that stole it, or anything (a hint for awaiters'
     * leapfrogging, never trusted: not reset by reuse). */
    _Atomic int thief;
    /* Registered continuations (pushed with a release CAS by
     * tes__on_complete, taken with an acquire exchange by the completer),
     * or TES_CONTS_CLOSED once taken. Valid only while TES_CONT is set. */
    _Atomic(tes_cont *) conts;
};
_Static_assert(offsetof(tes_future, next) < 64 &&
                   offsetof(tes_future, ops) == 64,
               "the hot fields fill the first cache line");

/* Behaviour for frames that are more than fn(arg), on the thread that runs
 * them: run replaces fn(arg) and returns the result (it is not called when
 * the frame was cancelled before it started); finish (may be NULL) runs
 * next, before completion is published, while the frame is still ours; if
 * it returns non-NULL, after(that pointer) runs once the frame has been
 * completed (and may be gone). */
struct tes_frame_ops {
    void *(*run)(tes_future *f);
    void *(*finish)(tes_future *f);
    void (*after)(void *ctx);
    bool actor_call; /* frames of an actor's calls: ext is the actor */
};

/*
 * Forked tasks (fork.c). A tes_task is the caller's; its fields (declared
 * in tessera.h, named tes__*) are the runtime's. tes__state is accessed
 * with the __atomic builtins (the public header cannot say _Atomic, for
 * C++): set at fork while the frame is private, then read by its owner and
 * changed by whoever runs it.
 */
#define TES_FORK_PUSHED 1u   /* in its owner's deque */
#define TES_FORK_INLINE 2u   /* not pushed (deque full): its join runs it */
#define TES_FORK_STOLEN 4u   /* taken by a thief: | (thief index + 1) << 8 */
#define TES_FORK_DONE 8u     /* run by a thief or by its owner's helping */
#define TES_FORK_WAITER 16u  /* its owner may sleep on the word: wake */

/* The deque slots of a worker: the most forks and spawned tasks it holds
 * at once (a fork depth); a fork beyond it is run by its join without
 * being offered to thieves, a spawn goes to the injection queue. 1 MiB of
 * address space per worker, paged in only as deep as it is used. */
#define TES_DEQUE_DEPTH (1u << 17)

/* Work items (deque slots, and what the scheduler hands around): forked
 * tasks as their plain pointers, which the inline fork and join handle
 * (tessera.h); frames (tes_future *, 64-byte aligned) with bit 0 set.
 * Bit 1 marks items that the inline join and the owner's await must leave
 * to the general path (tracing, debug builds, frames with behaviour, a
 * pending failure: tes_worker.fork_tag, frame_tag). */
_Static_assert(TES_FORK_PUSHED == 1, "tessera.h's inline fork stores 1");
static inline bool tes__item_is_fork(const void *x)
{
    return ((uintptr_t)x & 1u) == 0;
}

static inline tes_task *tes__item_fork(void *x)
{
    return (tes_task *)((uintptr_t)x & ~(uintptr_t)2u);
}

static inline void *tes__frame_item(tes_future *f)
{
    return (void *)((uintptr_t)f | 1u);
}

/* A frame's item for the general path only. */
static inline void *tes__frame_item_slow(tes_future *f)
{
    return (void *)((uintptr_t)f | 3u);
}

static inline tes_future *tes__item_frame(void *x)
{
    return (tes_future *)((uintptr_t)x & ~(uintptr_t)3u);
}

/* A worker: the deque thieves read (whose owner line also holds the
 * fork path's fields, deque.own), then state only its thread touches. */
struct tes_worker {
    tes_deque deque;
    /* Private to the worker's thread: what spawn and await touch. */
    alignas(TES_CACHE_LINE) tes_pool *pool;
    tes_trace_buf *trace;    /* NULL: tracing off (the one branch it costs) */
    tes_future *free_list;   /* recycled frames */
    int free_count;
    int index;
    /* Failure messages of joined forked tasks (fork.c); NULL: none. */
    struct tes_fork_msgs *fork_msgs;
    /* deque.own.fork_end while a task runs: the deque's end, or NULL to
     * send every fork to the library (tracing, debug builds). */
    void **fork_end;
    /* The tags of the deque items of forks and of spawned frames: 0 and
     * 1, or 2 and 3 in that same case, which the inline join and the
     * owner's await never take (tessera.h, task.c). */
    uint32_t fork_tag, frame_tag;
    /* Counters: written by this worker only (relaxed load + store, no RMW),
     * read by tes_pool_stats from any thread (relaxed loads). */
    alignas(TES_CACHE_LINE) _Atomic uint64_t n_run, n_spawn, n_steal,
        n_failed, n_inject, n_park;
    /* Turns held for this worker (sched.c, "held turns"): a stack of
     * frames through next, pushed by any worker (release CAS), taken whole
     * by an acquire exchange. held_since: when it last became non-empty,
     * in ticks (relaxed: a hint for other workers). */
    alignas(TES_CACHE_LINE) _Atomic(tes_future *) held;
    _Atomic uint64_t held_since;
    /* Frames of this worker returned by other workers of its pool
     * (frame.c): a stack of batches, each described by its first frame,
     * pushed with a release CAS, taken whole with an acquire exchange. */
    _Atomic(tes_future *) returned;
    /* Private to the worker's thread, colder. */
    alignas(TES_CACHE_LINE) uint64_t rng; /* xorshift state for victims */
    unsigned tiny_steals;    /* stolen tasks in a row that were tiny */
    int nspill;
    tes_future *spill;       /* frames beyond the free list's cap, gathered
                                into a batch for the pool's spare list */
    /* Per slot of the pool: frames of that worker freed here, gathered
     * into a batch to send back (frame.c); nworkers + nlend entries. */
    struct tes_frame_return { tes_future *head; int n; } *ret;
#ifdef TES_DEBUG
    tes_task *dbg_top;       /* the newest unjoined fork of the current run */
#endif
    /* Set while the thread runs an actor's method (actor.c): its waits
     * then help only with work of their own (sched.c, "isolation"). */
    struct tes_iso {
        const void *actor; /* the innermost such actor, or NULL */
        void **floor;      /* the deque's top when its method began */
    } iso;
    pthread_t thread;
    /* Lend slots only: 1 while a host thread occupies the slot (claimed by
     * CAS in tes_pool_lend, released with a release store). */
    _Atomic int lent;
    /* What the worker does, for tes_pool_dump: TES_PHASE_... (relaxed
     * stores by the worker, relaxed loads by the dump). */
    _Atomic int phase;
};
enum { TES_PHASE_LOOKING, TES_PHASE_RUNNING, TES_PHASE_PARKED,
       TES_PHASE_GONE };

/* The worker whose deque's owner line o is (tes_fj_self of a worker). */
static inline tes_worker *tes__worker_of(tes_fj *o)
{
    return (tes_worker *)(void *)tes__deque_of(o); /* the first member */
}
_Static_assert(offsetof(tes_worker, deque) == 0, "tes__worker_of");

/* The frame w runs (the scope of the forked tasks it runs, and
 * tes_cancelled's source), or NULL outside tasks. */
static inline tes_future *tes__current(const tes_worker *w)
{
    return (tes_future *)w->deque.own.scope;
}

struct tes_pool {
    int nworkers;
    int nstarted;        /* worker threads running: nworkers, or fewer when
                            one failed to start (set before stopping is) */
    int nlend;           /* lend slots, after the workers in workers[] */
    tes_worker *workers; /* nworkers + nlend, cache-line aligned */
    unsigned fork_gen;   /* tes__fork_generation() when created: a forked
                            child's copy of the pool sees a different one */
    long long t0_ns;     /* creation time, the trace's zero */
    uint64_t ticks_per_us;
    char *trace_path;    /* malloc'd; NULL: no trace */
    tes_pool_options opts;
    char name[32];

    /* Injection queue for spawns from outside the pool's workers.
     * inj_lock protects inj_head and inj_tail; inj_count is atomic so that
     * workers can look without the lock. Lock order: inj_lock is a leaf. */
    alignas(TES_CACHE_LINE) pthread_mutex_t inj_lock;
    tes_future *inj_head, *inj_tail;
    _Atomic int64_t inj_count;

    /* Parking. sleepers counts workers that announced they will sleep;
     * epoch is the futex word they sleep on (bumped by every wake); waking
     * is 1 while a wake-up is in flight, so that a burst of spawns costs
     * one futex call. */
    alignas(TES_CACHE_LINE) _Atomic int sleepers;
    _Atomic uint32_t epoch;
    _Atomic int waking;

    /* Shutdown: stopping is set once by tes_pool_destroy; idle counts
     * workers that found no work after it; finished ends the workers. */
    alignas(TES_CACHE_LINE) _Atomic int stopping;
    _Atomic int idle;
    _Atomic int finished;
    /* Host threads lent right now; while 0, thieves skip the lend slots. */
    _Atomic int lenders;

    /* Spare frames, moved between workers in batches of TES_FRAME_BATCH
     * (so that a worker that frees more frames than it allocates feeds one
     * that allocates more than it frees, without malloc). Batches are
     * chains through next; the head's arg links the batches. frames_lock
     * protects spare and nspare; it is a leaf (never held with another). */
    alignas(TES_CACHE_LINE) pthread_mutex_t frames_lock;
    tes_future *spare;
    int nspare; /* batches */
};

/* The worker (or lend slot) the calling thread is, or NULL (frame.c). */
extern TES_TLS tes_worker *tes__self;

/* Slots thieves look at: workers, plus lend slots while a host is lent. */
static inline int tes__nslots(tes_pool *p)
{
    /* relaxed: a hint; a lent thread's deque drains before it leaves and
     * its own pop is exact, so a missed look only delays a steal. */
    return p->nworkers +
           (atomic_load_explicit(&p->lenders, memory_order_relaxed) ? p->nlend
                                                                    : 0);
}

/* True in a forked child for a pool its parent created. */
static inline bool tes__forked(const tes_pool *p)
{
    return p->fork_gen != tes__fork_generation();
}

/* Counter bump for a counter only its worker writes. */
static inline void tes__count(_Atomic uint64_t *c)
{
    /* relaxed: a statistic; the only writer is this thread, readers want
     * an approximate value. */
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

#endif
