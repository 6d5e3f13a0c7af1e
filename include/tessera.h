/*
 * tessera.h — the tessera task runtime (libtessera).
 *
 * A pool of worker threads, each with its own work-stealing deque. Tasks
 * have the shape of a pthread start routine (void *fn(void *)); spawning one
 * gives a future, awaiting the future gives its result or its error. Awaiting
 * inside a task never idles the worker: it runs the awaited task inline when
 * it is still in the worker's own deque, and otherwise steals and runs other
 * work until the future is ready. See tessera(3).
 *
 * Errors: every function that can fail returns 0 or a negative errno-style
 * code (-ENOMEM, -EINVAL, ...) or one of the TES_E... codes below;
 * tes_strerror() names each one. Nothing here prints, exits or aborts on a
 * recoverable error.
 *
 * Threads: unless a comment says otherwise, every function may be called
 * from any thread, inside or outside a task, concurrently.
 */
#ifndef TESSERA_H
#define TESSERA_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define TES_API __attribute__((visibility("default")))
#define TES_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define TES_API
#define TES_PRINTF(f, a)
#endif

#define TES_VERSION_MAJOR 0
#define TES_VERSION_MINOR 1
#define TES_VERSION_PATCH 0
#define TES_VERSION_STRING "0.1.0"

/* Error codes of our own; all negative, far from any errno value. */
#define TES_EFAIL (-10001)     /* a task failed without giving a code */
#define TES_ESHUTDOWN (-10002) /* the pool is being destroyed */

typedef struct tes_pool tes_pool;     /* opaque */
typedef struct tes_future tes_future; /* opaque, reference counted */

/* Pool configuration. Always start from TES_POOL_OPTIONS_INIT so that fields
 * added later get their defaults. */
typedef struct tes_pool_options {
    int threads;       /* 0: tes_default_threads() */
    const char *name;  /* thread names are "<name>/<index>"; NULL: "tessera".
                          Copied; need not outlive the call. */
    size_t stack_size; /* per worker thread, bytes; 0: 8 MiB */
    /* Embedding hooks: on_thread_start runs on each worker thread before it
     * runs any task, on_thread_stop on the same thread after its last one.
     * Both are called once per worker, concurrently across workers. */
    void (*on_thread_start)(tes_pool *pool, int worker, void *ctx);
    void (*on_thread_stop)(tes_pool *pool, int worker, void *ctx);
    void *hook_ctx;
} tes_pool_options;

#define TES_POOL_OPTIONS_INIT { 0, NULL, 0, NULL, NULL, NULL }

/* Creates a pool and starts its workers. opts may be NULL (all defaults).
 * Returns 0 and sets *pool, or -EINVAL (threads < 0), -ENOMEM, or the
 * error pthread_create gave (negated). */
TES_API int tes_pool_create(tes_pool **pool, const tes_pool_options *opts);

/* Runs every task already queued or spawned (including what those tasks
 * spawn), then stops the workers and frees the pool. NULL is fine. Must not
 * be called from one of the pool's own tasks. Futures from the pool stay
 * valid until released. */
TES_API void tes_pool_destroy(tes_pool *pool);

/* Inside a task (or a thread lent to a pool): its pool. Elsewhere NULL. */
TES_API tes_pool *tes_current_pool(void);

/* Inside a task: the index of the worker running it, 0..threads-1.
 * Elsewhere -1. */
TES_API int tes_worker_index(void);

/* The number of workers the pool has. */
TES_API int tes_pool_threads(const tes_pool *pool);

/* The thread count a pool gets by default: TESSERA_NUM_THREADS when set to a
 * positive number, else the CPUs in this process's affinity mask, capped by
 * the cgroup CPU quota where one is set. Always >= 1. */
TES_API int tes_default_threads(void);

/* Spawns fn(arg) on pool, like pthread_create. Inside one of the pool's
 * tasks the task goes to the worker's own deque (no lock, no malloc once
 * warm); from any other thread through the pool's injection queue.
 * f == NULL spawns detached: its result and error are dropped.
 * Otherwise *f holds one reference, which the caller must release.
 * Returns 0, -EINVAL, -ENOMEM or TES_ESHUTDOWN. */
TES_API int tes_spawn(tes_future **f, tes_pool *pool, void *(*fn)(void *),
                      void *arg);

/* The same, with a name for error messages, traces and statistics. The name
 * is not copied: it must outlive the future (a string literal is typical). */
TES_API int tes_spawn_named(tes_future **f, tes_pool *pool, const char *name,
                            void *(*fn)(void *), void *arg);

/* Waits for f like pthread_join: returns 0 and stores the task's result in
 * *result (when result is not NULL), or returns the task's error code and
 * stores NULL. Inside a task the worker keeps working while it waits; from
 * any other thread the caller sleeps. May be called any number of times,
 * from any threads, while a reference to f is held. -EINVAL if f is NULL. */
TES_API int tes_await(tes_future *f, void **result);

/* True once f has completed (successfully or not); never waits. */
TES_API bool tes_future_done(const tes_future *f);

/* Adds a reference to f (for handing it to another owner). Returns f. */
TES_API tes_future *tes_future_retain(tes_future *f);

/* Drops one reference; the future is freed with its last one (a running
 * task keeps its own). NULL is fine. */
TES_API void tes_future_release(tes_future *f);

/* Inside a task: marks it failed with code (a negative errno or TES_E...;
 * a positive errno is negated, 0 becomes TES_EFAIL) and a printf-style
 * message, and returns NULL so that a task can `return tes_fail(...)`.
 * The message is prefixed with the task's name. Outside a task it does
 * nothing and returns NULL. */
TES_API void *tes_fail(int code, const char *fmt, ...) TES_PRINTF(2, 3);

/* Inside a task: fails it with the code of the failed future cause and a
 * message that chains this task's words before cause's message, so that the
 * final message says where the failure started:
 * "outer: while merging: inner: tile 3: read error". */
TES_API void *tes_fail_from(const tes_future *cause, const char *fmt, ...)
    TES_PRINTF(2, 3);

/* The failure message of a completed future, or NULL if it did not fail (or
 * has not completed). Valid while a reference to f is held. */
TES_API const char *tes_future_error(const tes_future *f);

/* The error code of a completed future: 0, or its failure code. */
TES_API int tes_future_status(const tes_future *f);

/* Waits for all n futures. Returns 0, or the first failure's code in array
 * order. NULL entries are skipped. */
TES_API int tes_wait_all(tes_future *const *fs, size_t n);

/* Waits until at least one of the n futures has completed or timeout_ms
 * milliseconds pass (timeout_ms < 0: no limit; 0: just look). Returns 0 and
 * sets *ready to the lowest index of a completed future, or -ETIMEDOUT and
 * leaves *ready untouched; -EINVAL if n == 0 or an entry is NULL. Nothing is
 * consumed: the futures stay as they were. */
TES_API int tes_wait_any(tes_future *const *fs, size_t n, long timeout_ms,
                         size_t *ready);

/* A constant string naming code (any value this library returns). */
TES_API const char *tes_strerror(int code);

/* Per-worker counters. Each is updated only by its worker and read without
 * stopping it, so a snapshot of a running pool is approximate. */
typedef struct tes_worker_stats {
    uint64_t tasks_run;     /* tasks this worker ran, inline ones included */
    uint64_t spawns;        /* tasks it spawned into its own deque */
    uint64_t steals;        /* tasks it took from another worker's deque */
    uint64_t failed_steals; /* steal attempts that found nothing or lost */
    uint64_t injected;      /* tasks it took from the injection queue */
    uint64_t parks;         /* times it went to sleep for lack of work */
} tes_worker_stats;

/* Fills total (when not NULL) with the sum over workers, and workers[i] for
 * i < min(n, threads) (when workers is not NULL). Returns the pool's thread
 * count, or -EINVAL if pool is NULL. */
TES_API int tes_pool_stats(const tes_pool *pool, tes_worker_stats *total,
                           tes_worker_stats *workers, size_t n);

/* Writes a human-readable table of the pool's counters to out.
 * Returns 0 or -EIO. */
TES_API int tes_pool_stats_print(const tes_pool *pool, FILE *out);

#ifdef __cplusplus
}
#endif

#endif /* TESSERA_H */
