/*
 * internal.h — private: the shapes of pools, workers and task frames shared
 * by the runtime's modules, and the hot-path helpers they inline.
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

#if defined(__GNUC__)
#define TES_LIKELY(x) __builtin_expect(!!(x), 1)
#define TES_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define TES_NOINLINE __attribute__((noinline))
#define TES_TLS _Thread_local __attribute__((tls_model("initial-exec")))
#else
#define TES_LIKELY(x) (x)
#define TES_UNLIKELY(x) (x)
#define TES_NOINLINE
#define TES_TLS _Thread_local
#endif

/*
 * A task frame is the task and its future in one allocation. Its state word
 * packs the flags below and the reference count (in units of TES_REF):
 * each handle the user holds is one reference, and a task that has not yet
 * completed holds one more, so a frame is freed exactly when it has
 * completed and its last handle is released.
 */
#define TES_DONE 1u         /* completed: result/error are final */
#define TES_WAITERS 2u      /* a thread sleeps on the word: wake on DONE */
#define TES_CANCEL_REQ 4u   /* tes_cancel asked it not to run / to stop */
#define TES_STARTED 8u      /* its function has begun (set by the runner) */
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
    char *msg;                 /* malloc'd failure message or NULL */
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
    _Atomic int thief;         /* worker index that stole it, or -1 */
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
};

/* A worker: the deque thieves read, then state only its thread touches. */
struct tes_worker {
    tes_deque deque;
    /* Counters: written by this worker only (relaxed load + store, no RMW),
     * read by tes_pool_stats from any thread (relaxed loads). */
    alignas(TES_CACHE_LINE) _Atomic uint64_t n_run, n_spawn, n_steal,
        n_failed, n_inject, n_park;
    /* Actor turns waiting for this worker (pool.c, "actor turns"): a stack
     * of frames through next, pushed by any worker (release CAS), taken
     * whole by an acquire exchange. affine_since: when it last became
     * non-empty, in TSC ticks (relaxed: a hint for other workers). */
    alignas(TES_CACHE_LINE) _Atomic(tes_future *) affine;
    _Atomic uint64_t affine_since;
    /* Frames of this worker returned by other workers of its pool
     * (frame.h): a stack of batches, each described by its first frame
     * (task.c), pushed with a release CAS, taken whole with an acquire
     * exchange. */
    _Atomic(tes_future *) returned;
    /* Private to the worker's thread. */
    alignas(TES_CACHE_LINE) tes_pool *pool;
    int index;
    uint64_t rng;            /* xorshift state for victim choice */
    tes_future *current;     /* frame being run, for tes_fail / cancelled */
    /* The last actor calls this worker made, newest at pushed - 1 (mod
     * TES_WALK_AHEAD): the source of walk_hint (actor.c). */
    tes_future *pushed_ring[16];
    unsigned pushed;
    tes_future *free_list;   /* recycled frames */
    unsigned tiny_steals;    /* stolen tasks in a row that were tiny */
    int free_count;
    tes_future *spill;       /* frames beyond the free list's cap, gathered
                                into a batch for the pool's spare list */
    int nspill;
    /* Per slot of the pool: frames of that worker freed here, gathered
     * into a batch to send back (frame.h); nworkers + nlend entries. */
    struct tes_frame_return { tes_future *head; int n; } *ret;
    pthread_t thread;
    tes_trace_buf *trace;    /* NULL: tracing off (the one branch it costs) */
    /* Lend slots only: 1 while a host thread occupies the slot (claimed by
     * CAS in tes_pool_lend, released with a release store). */
    _Atomic int lent;
};

struct tes_pool {
    int nworkers;
    int nstarted;        /* worker threads running: nworkers, or fewer when
                            one failed to start (set before stopping is) */
    int nlend;           /* lend slots, after the workers in workers[] */
    tes_worker *workers; /* nworkers + nlend, cache-line aligned */
    unsigned fork_gen;   /* tes__fork_gen when created: a forked child's
                            copy of the pool sees a different value */
    long long t0_ns;     /* creation time, the trace's zero */
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

extern TES_TLS tes_worker *tes__self;

/* task.c */
void tes__run_frame(tes_worker *w, tes_future *f);
/* Registers c to fire when f completes. Returns true when registered, false
 * when f has already completed (c will not fire: the caller acts itself). */
bool tes__on_complete(tes_future *f, tes_cont *c);
/* Runs other work of w's pool until done(ctx) is true; naps briefly when
 * there is nothing to run. */
void tes__help_until(tes_worker *w, bool (*done)(void *), void *ctx);
/* Submits f, falling back to the injection queue if tes__submit refuses
 * (shutdown): for frames whose turn comes from a completion. */
void tes__submit_always(tes_pool *pool, tes_future *f);
/* A frame set up as tes__frame_setup does (from the calling worker's free
 * list, else malloc), or NULL when out of memory. */
tes_future *tes__frame_new(tes_pool *pool, int refs, const tes_frame_ops *ops,
                           void *ext, const char *name);
int tes__submit(tes_pool *pool, tes_future *f);

/* pool.c */
extern _Atomic unsigned tes__fork_gen;
void tes__wake_one(tes_pool *pool);
/* Slots thieves look at: workers, plus lend slots while a host is lent. */
static inline int tes__nslots(tes_pool *p)
{
    /* relaxed: a hint; a lent thread's deque drains before it leaves and
     * its own take is exact, so a missed look only delays a steal. */
    return p->nworkers +
           (atomic_load_explicit(&p->lenders, memory_order_relaxed) ? p->nlend
                                                                    : 0);
}
/* True in a forked child for a pool its parent created. */
static inline bool tes__forked(const tes_pool *p)
{
    /* relaxed: written only by the fork child handler, which runs on the
     * sole thread of the child before anything else. */
    return p->fork_gen !=
           atomic_load_explicit(&tes__fork_gen, memory_order_relaxed);
}

/* trace.c */
enum { TES_EV_BEGIN, TES_EV_END, TES_EV_STEAL, TES_EV_PARK, TES_EV_UNPARK };
void tes__trace_event(tes_worker *w, int kind, const char *name, int arg);
int tes__trace_init(tes_pool *p);
void tes__trace_finish(tes_pool *p);

/* cancel.c */
bool tes__group_cancelled_frame(const tes_future *f);
tes_future *tes__find_work(tes_worker *w);
/* Queues actor turn f (a call frame) for worker t of t's pool: t runs it
 * at its next look for work; others only when t is slow to (pool.c). */
void tes__affine_push(tes_worker *t, tes_future *f);
/* A turn from w's own affine list, or NULL; w is the calling thread's. */
tes_future *tes__affine_own(tes_worker *w);
/* Whether turns wait on w's affine list (a hint). */
static inline bool tes__affine_pending(tes_worker *w)
{
    /* relaxed: a hint; tes__affine_own decides. */
    return atomic_load_explicit(&w->affine, memory_order_relaxed) != NULL;
}
void tes__inject(tes_pool *pool, tes_future *f);

/* Counter bump for a counter only its worker writes. */
static inline void tes__count(_Atomic uint64_t *c)
{
    /* relaxed: a statistic; the only writer is this thread, readers want
     * an approximate value. */
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

#endif
