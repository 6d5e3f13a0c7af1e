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
#define TES_REF (1u << 8)   /* one reference */

typedef struct tes_frame_ops tes_frame_ops;
typedef struct tes_worker tes_worker;

struct tes_future {
    _Atomic uint32_t word;     /* flags | refs * TES_REF */
    int error;                 /* 0 or the failure code; final once DONE */
    void *(*fn)(void *);
    void *arg;
    void *result;              /* final once DONE */
    char *msg;                 /* malloc'd failure message or NULL */
    const char *name;          /* not owned */
    tes_pool *pool;
    tes_future *next;          /* free list / injection queue / group link */
    const tes_frame_ops *ops;  /* NULL: a plain task */
    void *ext;                 /* owned by ops (actor call, dependency...) */
    _Atomic int thief;         /* worker index that stole it, or -1 */
};

/* Behaviour for frames that are more than fn(arg): run replaces fn(arg) and
 * returns the result; finish (may be NULL) runs after completion is
 * published, on the same thread. */
struct tes_frame_ops {
    void *(*run)(tes_future *f);
    void (*finish)(tes_future *f);
};

/* A worker: the deque thieves read, then state only its thread touches. */
struct tes_worker {
    tes_deque deque;
    /* Counters: written by this worker only (relaxed load + store, no RMW),
     * read by tes_pool_stats from any thread (relaxed loads). */
    alignas(TES_CACHE_LINE) _Atomic uint64_t n_run, n_spawn, n_steal,
        n_failed, n_inject, n_park;
    /* Private to the worker's thread. */
    alignas(TES_CACHE_LINE) tes_pool *pool;
    int index;
    uint64_t rng;            /* xorshift state for victim choice */
    tes_future *current;     /* frame being run, for tes_fail / cancelled */
    tes_future *free_list;   /* recycled frames */
    int free_count;
    pthread_t thread;
};

struct tes_pool {
    int nworkers;
    tes_worker *workers; /* array of nworkers, cache-line aligned */
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
};

extern TES_TLS tes_worker *tes__self;

/* task.c */
void tes__run_frame(tes_worker *w, tes_future *f);
void tes__frame_free(tes_future *f);
tes_future *tes__frame_new(tes_pool *pool, int refs);
int tes__submit(tes_pool *pool, tes_future *f);

/* pool.c */
void tes__wake_one(tes_pool *pool);
tes_future *tes__find_work(tes_worker *w);
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
