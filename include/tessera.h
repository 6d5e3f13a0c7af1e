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
#define TES_EFORKED (-10003)   /* the pool belongs to the parent of a fork() */

typedef struct tes_pool tes_pool;     /* opaque */
typedef struct tes_future tes_future; /* opaque, reference counted */

/* A caller-owned frame for a forked task (tes_fork, tes_join below). Its
 * size is public so that it can live on the stack of the task that forks;
 * its fields are the runtime's: a program never reads or writes them, and
 * needs no initializer (tes_fork sets up what the runtime uses); the
 * prefix tes__ marks them so. */
typedef struct tes_task {
    void *(*tes__fn)(void *);
    void *tes__arg;          /* the argument, then the result */
    void *tes__scope;        /* the forking task's frame */
    char *tes__msg;          /* the failure message, while tes__error != 0 */
    uint32_t tes__state;     /* accessed atomically */
    int32_t tes__error;
    uintptr_t tes__debug[3]; /* rule checks of debug builds */
} tes_task;

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
    /* How many host threads may be lent to the pool at once with
     * tes_pool_lend (each needs a slot with its own deque, reserved here).
     * 0: 2; negative: none. */
    int lend_slots;
    /* Chrome trace-event JSON file written when the pool is destroyed
     * (see "Tracing" below). NULL: the TESSERA_TRACE environment variable,
     * and no trace when that is unset or empty. Copied. */
    const char *trace_path;
} tes_pool_options;

#define TES_POOL_OPTIONS_INIT { 0, NULL, 0, NULL, NULL, NULL, 0, NULL }

/* Creates a pool and starts its workers. opts may be NULL (all defaults).
 * Returns 0 and sets *pool; -EINVAL (pool NULL, threads < 0 or more than
 * 4096 lend slots; *pool is then NULL when pool is not); -ENOMEM; or the
 * error pthread_create gave, negated (-EAGAIN when the system is out of
 * threads). */
TES_API int tes_pool_create(tes_pool **pool, const tes_pool_options *opts);

/* Runs every task already queued or spawned (including what those tasks
 * spawn), then stops the workers and frees the pool. NULL is fine. Must not
 * be called from one of the pool's own tasks. Futures from the pool stay
 * valid until released. */
TES_API void tes_pool_destroy(tes_pool *pool);

/* Inside a task (or a thread lent to a pool): its pool. Elsewhere NULL.
 * After fork(), in the child: NULL on every thread. */
TES_API tes_pool *tes_current_pool(void);

/* Inside a task: the index of the worker running it, 0..threads-1; on a
 * lent host thread threads + its lend slot. Elsewhere -1. */
TES_API int tes_worker_index(void);

/* The number of workers the pool has; -EINVAL for NULL. */
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
 * Returns 0; -EINVAL (NULL pool or fn); -ENOMEM; TES_ESHUTDOWN (from
 * outside the pool while it is being destroyed); TES_EFORKED (from a
 * fork() child, for its parent's pool). *f is NULL on failure.
 *
 * Sharing a future. The common case — spawned by a task, awaited by that
 * task, released once — costs no atomic read-modify-write: the future
 * belongs to the spawner, which may await, query, cancel and release it
 * from its own thread. Before another task or thread may use it (await
 * it, wait for it, cancel it, pass it to tes_spawn_after, read it), the
 * owner shares it: it calls tes_future_retain and hands over the new
 * reference, which the receiver releases when done. A future used by
 * another thread without a reference of its own may miss its completion.
 * Futures spawned from outside the pool's tasks are shared from the start
 * (still, each user holds a reference). */
TES_API int tes_spawn(tes_future **f, tes_pool *pool, void *(*fn)(void *),
                      void *arg);

/* The same, with a name for error messages, traces and statistics. The name
 * is not copied: it must outlive the future (a string literal is typical). */
TES_API int tes_spawn_named(tes_future **f, tes_pool *pool, const char *name,
                            void *(*fn)(void *), void *arg);

/* Waits for f like pthread_join: returns 0 and stores the task's result in
 * *result (when result is not NULL), or returns the task's error code
 * (whatever it failed with, -ECANCELED when cancelled) and stores NULL.
 * Inside a task the worker keeps working while it waits; from any other
 * thread the caller sleeps. May be called any number of times, by holders
 * of a reference (see "sharing a future" above). -EINVAL if f is NULL;
 * TES_EFORKED in a fork() child for its parent's unfinished future. */
TES_API int tes_await(tes_future *f, void **result);

/* True once f has completed (successfully or not); never waits. */
TES_API bool tes_future_done(const tes_future *f);

/* Adds a reference to f, for handing it to another task or thread (see
 * "sharing a future" above). Returns f (NULL for NULL). */
TES_API tes_future *tes_future_retain(tes_future *f);

/* Drops one reference; the future is freed with its last one (a running
 * task keeps its own). NULL is fine. */
TES_API void tes_future_release(tes_future *f);

/* Inside a task: marks it failed with code (a negative errno or TES_E...;
 * a positive errno is negated, 0 becomes TES_EFAIL) and a printf-style
 * message, and returns NULL so that a task can `return tes_fail(...)`.
 * The message is prefixed with the task's name; inside a forked task
 * (tes_fork), which has no name of its own, it fails that task, without a
 * prefix. Outside a task it does nothing and returns NULL. */
TES_API void *tes_fail(int code, const char *fmt, ...) TES_PRINTF(2, 3);

/* Inside a task: fails it with the code of the failed future cause and a
 * message that chains this task's words before cause's message, so that the
 * final message says where the failure started:
 * "outer: while merging: inner: tile 3: read error". */
TES_API void *tes_fail_from(const tes_future *cause, const char *fmt, ...)
    TES_PRINTF(2, 3);

/* Inside a task: the same with a joined forked task as the cause (see
 * tes_fork): its code and message. */
TES_API void *tes_fail_from_task(const tes_task *cause, const char *fmt, ...)
    TES_PRINTF(2, 3);

/* The failure message of a completed future, or NULL if it did not fail (or
 * has not completed). Valid while a reference to f is held. */
TES_API const char *tes_future_error(const tes_future *f);

/* The error code of a completed future: 0, or its failure code; 0 for NULL
 * or a future not yet completed. */
TES_API int tes_future_status(const tes_future *f);

/* Waits for all n futures. Returns 0, or the first failure's code in array
 * order (as tes_await returns it). NULL entries are skipped. -EINVAL when
 * fs is NULL and n is not 0. */
TES_API int tes_wait_all(tes_future *const *fs, size_t n);

/* Waits until at least one of the n futures has completed or timeout_ms
 * milliseconds pass (timeout_ms < 0: no limit; 0: just look). Returns 0 and
 * sets *ready to the lowest index of a completed future, or -ETIMEDOUT and
 * leaves *ready untouched; -EINVAL if n == 0 or an entry is NULL. Nothing is
 * consumed: the futures stay as they were. */
TES_API int tes_wait_any(tes_future *const *fs, size_t n, long timeout_ms,
                         size_t *ready);

/* ---- fork/join -------------------------------------------------------------
 *
 * Structured fork/join, the cheapest way to run fine-grained recursive work
 * (Cilk's spawn/sync, Lace's SPAWN/SYNC): a task forks a child into a
 * tes_task frame on its own stack, does other work, and joins the child.
 * A fork costs a few plain stores and no allocation; a join whose child
 * no other worker took calls it inline, like a function call. Only a child
 * that an idle worker stole costs atomic operations, and its join helps
 * (runs other work, leapfrogging to the thief's) until it is done.
 *
 *     static void *fib(void *arg) {
 *         intptr_t n = (intptr_t)arg;
 *         if (n < 2) return arg;
 *         tes_task t;
 *         tes_fork(&t, fib, (void *)(n - 1));
 *         void *y = fib((void *)(n - 2)), *x;
 *         if (tes_join(&t, &x) != 0)
 *             return tes_fail_from_task(&t, "fib(%ld)", (long)n);
 *         return (void *)((intptr_t)x + (intptr_t)y);
 *     }
 *
 * The rules (checked in debug builds, `make DEBUG=1`, and in the
 * sanitizer builds, which print the broken rule and abort):
 *  - Fork and join inside a task (a task of any kind, a forked one
 *    included, on a worker or a lent thread), both on the same task: a
 *    fork elsewhere is refused with -EINVAL.
 *  - Join the forks of a task in the reverse order of the forks (LIFO),
 *    every one of them, before the task returns.
 *  - A frame is not forked again, moved or freed before its join.
 * A forked task is part of the task that forked it: tes_cancelled() inside
 * it reports that task's cancellation (its own or its group's), so that a
 * cancelled recursion can stop early; it is never skipped (its join runs
 * it as a call would). Forked tasks count in the statistics as spawns and
 * tasks run, appear in the trace as spans named "fork", and may spawn,
 * await, fork, call actors and run parallel loops. */

/* Inside a task: makes fn(arg) available to idle workers (no allocation,
 * no lock). Returns 0, or -EINVAL outside a task (or with a NULL t or fn).
 * When the worker's deque is full (a fork depth of about 130,000), t is
 * not offered to other workers: its join runs it. */
TES_API int tes_fork(tes_task *t, void *(*fn)(void *), void *arg);

/* Inside the task that forked t, in LIFO order of its forks: runs t inline
 * if no other worker took it, else helps until it is done. Returns 0 and
 * stores fn's result in *result (when result is not NULL), or returns t's
 * failure code (tes_fail inside t) and stores NULL; -EINVAL outside a
 * task or for a NULL t. tes_task_error(t) then says why, and
 * tes_fail_from_task chains it. */
TES_API int tes_join(tes_task *t, void **result);

/* After tes_join returned a failure: t's message (as tes_future_error),
 * kept at least until the next fork on t (until t fails again, or the
 * top-level task that forked it ends: the task its worker took from the
 * pool, with whatever that forked or awaited inside); NULL when t did not
 * fail. Only in the task that joined t. */
TES_API const char *tes_task_error(const tes_task *t);

/* ---- the ABI of the inline fork/join ---------------------------------------
 *
 * tes_fork and tes_join have inline fast paths (below), compiled into the
 * program; they reach the library through the names in this block, which
 * are therefore part of libtessera's ABI, stable for the life of its
 * soname (libtessera.so.0) — with the layouts of tes_task and tes_fj, the
 * want word's offset and the state (1) an inline fork stores. They are
 * called by the inline code below; not for direct use: a program calls
 * tes_fork and tes_join only.
 *
 * tes_fj: the calling thread's fork/join record, one cache line read and
 * written only by that thread (the deque slots it points at are accessed
 * atomically: thieves read them). TES_FJ_WANT_OFFSET bytes before it lies
 * the word thieves raise (relaxed) to ask the owner for work. On threads
 * that are no workers tes_fj_self points at a record whose every fork and
 * join goes to the library's tes_fork and tes_join (which refuse them). */
typedef struct tes_fj {
    void **top;      /* the deque's next free slot */
    void **split;    /* slots below it are offered to thieves */
    void **fork_end; /* forks inline while top < fork_end (NULL: none) */
    void *scope;     /* the frame being run (forks' tes__scope) */
    uint64_t forks;  /* forks made, for the statistics */
    void **end;      /* the deque's end */
    char *fail_msg;  /* the failure (tes_fail) of the innermost task */
    int fail_code;   /* running here, until its run ends: 0 = none */
} tes_fj;
#define TES_FJ_WANT_OFFSET 64

/* Called by the inline code below; not for direct use. After an inline
 * fork pushed, when the want word was raised: offers the calling worker's
 * oldest private forks to the workers that asked. */
TES_API void tes_fork_share(void);

/* Called by the inline code below; not for direct use. After an inline
 * join ran t and the run left a failure in the record: moves the failure
 * into t (kept for tes_task_error), stores NULL in *result (when result is
 * not NULL) and returns t's code. */
TES_API int tes_join_failed(tes_task *t, void **result);

/* The fast paths of tes_fork and tes_join, inline so that a fork costs a
 * few stores and a join a few loads and an indirect call (the library's
 * functions take every other case). Define TES_NO_INLINE before including
 * this header to always call the library (compilers other than gcc and
 * clang always do). tes_fj_self (the calling thread's record, defined by
 * the library), tes_fj_want, tes_fork_inline and tes_join_inline are
 * called by the inline code; not for direct use. */
#if !defined(TES_NO_INLINE) && defined(__GNUC__)
TES_API extern __thread tes_fj *tes_fj_self;

static inline uint32_t tes_fj_want(const tes_fj *w)
{
    return __atomic_load_n(
        (const uint32_t *)(const void *)((const char *)w - TES_FJ_WANT_OFFSET),
        __ATOMIC_RELAXED);
}

static inline int tes_fork_inline(tes_task *t, void *(*fn)(void *),
                                  void *arg)
{
    tes_fj *w = tes_fj_self;
    void **p = w->top;
    if (__builtin_expect(p >= w->fork_end || !t || !fn, 0))
        return (tes_fork)(t, fn, arg);
    t->tes__fn = fn;
    t->tes__arg = arg;
    t->tes__scope = w->scope;
    t->tes__state = 1; /* pushed; private until published */
    t->tes__error = 0;
    __atomic_store_n(p, (void *)t, __ATOMIC_RELAXED);
    w->top = p + 1;
    __atomic_store_n(&w->forks, __atomic_load_n(&w->forks, __ATOMIC_RELAXED) + 1,
                     __ATOMIC_RELAXED);
    if (__builtin_expect(tes_fj_want(w) != 0, 0))
        tes_fork_share(); /* idle workers asked: offer them some work */
    return 0;
}

static inline int tes_join_inline(tes_task *t, void **result)
{
    tes_fj *w = tes_fj_self;
    void **p = w->top;
    if (__builtin_expect(p > w->split &&
                             __atomic_load_n(p - 1, __ATOMIC_RELAXED) ==
                                 (void *)t &&
                             tes_fj_want(w) == 0,
                         1)) {
        w->top = p - 1;
        void *r = t->tes__fn(t->tes__arg);
        if (__builtin_expect(w->fail_code != 0, 0))
            return tes_join_failed(t, result);
        if (result)
            *result = r;
        return 0;
    }
    return (tes_join)(t, result);
}

#define tes_fork(t, fn, arg) tes_fork_inline(t, fn, arg)
#define tes_join(t, result) tes_join_inline(t, result)
#endif

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

/* Fills total (when not NULL) with the sum over workers and lend slots, and
 * workers[i] for i < min(n, threads) (when workers is not NULL). Returns the
 * pool's thread count, or -EINVAL if pool is NULL. */
TES_API int tes_pool_stats(const tes_pool *pool, tes_worker_stats *total,
                           tes_worker_stats *workers, size_t n);

/* Writes a human-readable table of the pool's counters to out.
 * Returns 0, -EINVAL (NULL pool or out) or -EIO (a write failed). */
TES_API int tes_pool_stats_print(const tes_pool *pool, FILE *out);

/* Writes what each worker (and lent thread) of pool is doing to out, one
 * line each: running a task, looking for work or parked; the work its
 * deque offers to others, whether thieves asked it for more, whether actor
 * turns wait for it; its counters. For explaining a pool that seems stuck
 * (a watchdog's report): read without stopping anyone, so approximate.
 * Any thread. Returns 0, -EINVAL (NULL pool or out) or -EIO. */
TES_API int tes_pool_dump(const tes_pool *pool, FILE *out);

/* ---- cancellation ---------------------------------------------------------
 *
 * Cancelling a future that has not started means its function never runs:
 * it completes with -ECANCELED and the message "<name>: cancelled". A task
 * already running keeps running; it sees tes_cancelled() return true and may
 * stop early (by returning tes_fail(-ECANCELED, ...) or any result). */

/* Asks f's task not to run, or to stop. Returns 0, -EALREADY when f has
 * already completed (nothing changes), or -EINVAL when f is NULL. The caller
 * keeps its reference. Any thread. */
TES_API int tes_cancel(tes_future *f);

/* Inside a task: true once its own future was cancelled or its group (see
 * below) was cancelled. Elsewhere false. Cheap enough to call in a loop. */
TES_API bool tes_cancelled(void);

/* ---- task groups -----------------------------------------------------------
 *
 * A group collects tasks so that they can be waited for and cancelled as a
 * whole (TBB's task_group with its task_group_context). Tasks of a group that
 * have not started when it is cancelled never run (they complete with
 * -ECANCELED); running ones see tes_cancelled(). With
 * TES_GROUP_CANCEL_ON_FAILURE, the first task to fail cancels the rest.
 * Membership is explicit: a task that a group task spawns with tes_spawn is
 * not in the group (spawn it with tes_group_spawn to include it). */
typedef struct tes_group tes_group; /* opaque */

#define TES_GROUP_CANCEL_ON_FAILURE 1u

/* Creates an empty group whose tasks run on pool. flags: 0 or
 * TES_GROUP_CANCEL_ON_FAILURE. Returns 0 and sets *group; -EINVAL (group
 * or pool NULL, or an unknown flag); -ENOMEM. */
TES_API int tes_group_create(tes_group **group, tes_pool *pool,
                             unsigned flags);

/* Spawns fn(arg) as a task of group, like tes_spawn_named (name may be
 * NULL; it must outlive the future). f == NULL: detached. Any thread, and
 * tasks of the group may add more tasks to it. Returns 0; -EINVAL (group or
 * fn NULL); -ENOMEM; TES_ESHUTDOWN or TES_EFORKED (as tes_spawn). */
TES_API int tes_group_spawn(tes_future **f, tes_group *group,
                            const char *name, void *(*fn)(void *), void *arg);

/* Cancels every task of the group that has not started, now and later
 * (tasks spawned into a cancelled group complete as cancelled). Any
 * thread; idempotent. */
TES_API void tes_group_cancel(tes_group *group);

/* True once the group was cancelled (by tes_group_cancel or by a failure
 * under TES_GROUP_CANCEL_ON_FAILURE). */
TES_API bool tes_group_cancelled(const tes_group *group);

/* Waits until every task spawned into the group so far has completed
 * (inside a task, of any pool, the worker keeps working meanwhile).
 * Returns 0; the code of the first task that failed (in time) when one
 * did; else -ECANCELED when the group was cancelled; -EINVAL for NULL;
 * TES_EFORKED in a fork() child for its parent's unfinished group. */
TES_API int tes_group_wait(tes_group *group);

/* The message of the group's first failure, or NULL. Valid until the group
 * is destroyed; read it after tes_group_wait. */
TES_API const char *tes_group_error(const tes_group *group);

/* Waits for the group's tasks (as tes_group_wait) and frees it. NULL is
 * fine. Not from one of the group's own tasks (it would wait for itself).
 * Futures of its tasks stay valid until released. */
TES_API void tes_group_destroy(tes_group *group);

/* ---- dependencies ----------------------------------------------------------
 *
 * Ray's "pass a future as an argument": a task that starts only when all of
 * its input futures have completed, and receives their results. No thread
 * waits meanwhile: the last input to complete submits the task. */

/* The function of a dependent task: arg as given, and the n inputs'
 * results in the order the inputs were given. */
typedef void *(*tes_dep_fn)(void *arg, void *const *inputs, size_t n);

/* Spawns fn(arg, results, n) on pool to run once every inputs[i] has
 * completed. If an input failed (or was cancelled), fn does not run and the
 * task fails with the first such input's code (in array order) and the
 * message "<name>: input <i>: <the input's message>", so chains of failures
 * read from the outermost task to where it started. The task takes its own
 * references to the inputs: the caller may release them at once. inputs may
 * come from other pools (then pool must not be destroyed while the task
 * still waits for them); n may be 0 (then it is tes_spawn). name may be
 * NULL and must outlive the future. f == NULL: detached. Any thread.
 * Returns 0, -EINVAL (NULL pool, fn or input), -ENOMEM, TES_ESHUTDOWN or
 * TES_EFORKED. */
TES_API int tes_spawn_after(tes_future **f, tes_pool *pool, const char *name,
                            tes_future *const *inputs, size_t n, tes_dep_fn fn,
                            void *arg);

/* ---- actors ----------------------------------------------------------------
 *
 * Ray's @ray.remote class: an actor owns a state; calls to one actor run one
 * at a time, in the order they were made (a total order consistent with
 * each caller's order), on any worker; calls to different actors run in
 * parallel. No worker ever waits for an actor's turn: a call that finds the
 * actor idle is queued as a task, and each finishing call passes the turn
 * on — the worker that ran it goes on with up to 256 more calls of the
 * same actor (each completing as it goes) before queueing the rest as a
 * task again. Such a task waits for the worker that queued it, whose cache
 * holds the calls; another worker takes it over once it has waited about
 * 20 microseconds (or, when every other worker sleeps, when one wakes: at
 * most 50 ms later). Method bodies may spawn, await, fork and call actors.
 * While a method waits (await, join, group or parallel loop), its worker
 * runs only the method's own work (what it forked or spawned) and the
 * calls of the actor it awaits, and otherwise idles: running an unrelated
 * task there could make that task wait for this very actor, whose turn the
 * method holds (a deadlock). Actors that wait for each other in a circle
 * deadlock, as anywhere. A caller pays one compare-and-swap on the actor's
 * mailbox per call. */
typedef struct tes_actor tes_actor; /* opaque */

/* Creates an actor owning state, whose calls run on pool. destroy (may be
 * NULL) is called with state by tes_actor_destroy after the pending calls.
 * Returns 0 and sets *actor; -EINVAL (actor or pool NULL); -ENOMEM. */
TES_API int tes_actor_create(tes_actor **actor, tes_pool *pool, void *state,
                             void (*destroy)(void *state));

/* Queues method(state, arg) on actor. *f (when f is not NULL) gets a future
 * of the call with one reference for the caller; f == NULL: fire and forget.
 * The method may fail with tes_fail and see tes_cancelled like any task;
 * a call cancelled before its turn does not run and the next one goes on.
 * Any thread (tasks, other actors' methods, outside threads), concurrently.
 * Returns 0; -EINVAL (actor or method NULL); -ENOMEM; TES_ESHUTDOWN or
 * TES_EFORKED (called from outside the actor's pool while it is being
 * destroyed, or in a fork() child). */
TES_API int tes_actor_call(tes_future **f, tes_actor *actor,
                           void *(*method)(void *state, void *arg), void *arg);

/* The same with a name for messages and traces (not copied; it must outlive
 * the future). */
TES_API int tes_actor_call_named(tes_future **f, tes_actor *actor,
                                 const char *name,
                                 void *(*method)(void *state, void *arg),
                                 void *arg);

/* Runs the calls already made, then destroy(state), then frees the actor,
 * and returns after that (inside a task the worker keeps working
 * meanwhile). From one of the actor's own methods it does not wait: the
 * actor ends after the current and pending calls. No call may be made after
 * it. NULL is fine. */
TES_API void tes_actor_destroy(tes_actor *actor);

/* ---- data parallel ---------------------------------------------------------
 *
 * Recursive splitting: a range splits in two halves until it is at most one
 * grain long; a worker runs the left half and leaves the right half for a
 * thief. Split points depend only on the range and the grain, never on the
 * thread count or on who stole what, so a reduction combines the same
 * partial results in the same order at any thread count: its result is
 * bit-identical from 1 thread to 100. grain 0 chooses one from the range
 * alone: about TES_AUTO_LEAVES leaves.
 *
 * Called from a task of pool, the work runs nested in the calling worker
 * (which keeps working while it waits); from any other thread it is
 * submitted to pool and the caller sleeps until it is done. Bodies run
 * concurrently with each other and must not assume which thread runs them.
 * All return 0, -EINVAL (NULL pool or body), -ENOMEM, TES_ESHUTDOWN or
 * TES_EFORKED, or the error of the task that ran the work from outside;
 * an empty range runs no body and returns 0. */
#define TES_AUTO_LEAVES 256

/* Calls body(b, e, ctx) on disjoint sub-ranges [b, e) covering
 * [begin, end), each at most grain long. */
TES_API int tes_parallel_for(tes_pool *pool, size_t begin, size_t end,
                             size_t grain,
                             void (*body)(size_t b, size_t e, void *ctx),
                             void *ctx);

/* 2-D: calls body(r0, r1, c0, c1, ctx) on disjoint blocks covering rows
 * [0, rows) x columns [0, cols), each at most row_grain x col_grain; a
 * block splits along the dimension with more grains left (rows on a tie).
 * Zero grains: whole rows while there are enough of them to share. */
TES_API int tes_parallel_for_2d(tes_pool *pool, size_t rows, size_t cols,
                                size_t row_grain, size_t col_grain,
                                void (*body)(size_t r0, size_t r1, size_t c0,
                                             size_t c1, void *ctx),
                                void *ctx);

/* Reduces [begin, end): leaf(b, e, acc, ctx) writes the partial result of
 * one leaf range into acc (size bytes, suitably aligned for any type);
 * combine(left, right, ctx) folds right into left, where left covers the
 * indices just before right's. The final value goes to result. The tree of
 * leaves and combinations is fixed by the range and the grain alone.
 * An empty range calls leaf(begin, begin, result, ctx) once, so that result
 * gets the identity. Values of up to 128 bytes live on the stack; larger
 * ones are malloc'd (-ENOMEM when that fails; result is then unspecified). */
TES_API int tes_parallel_reduce(tes_pool *pool, size_t begin, size_t end,
                                size_t grain, void *result, size_t size,
                                void (*leaf)(size_t b, size_t e, void *acc,
                                             void *ctx),
                                void (*combine)(void *left, const void *right,
                                                void *ctx),
                                void *ctx);

/* ---- embedding -------------------------------------------------------------
 *
 * Thread hooks: see tes_pool_options. Lending: a host thread (one that is
 * not a worker of any pool) joins pool as an extra worker: it runs the
 * pool's tasks, steals and is stolen from like a worker (tes_current_pool()
 * and tes_worker_index() say so), then leaves. The thread hooks do not run
 * for it. Before leaving it runs whatever is left in its own deque.
 *
 * fork(): a child process gets copies of the parent's pools but none of
 * their threads. In the child those copies are unusable and stay so:
 * spawning, calling actors, parallel loops and lending on them return
 * TES_EFORKED, awaiting one of their unfinished futures returns
 * TES_EFORKED, and tes_pool_destroy on them returns at once without freeing
 * (their memory, and any lock a parent thread held, are left alone). Futures
 * that had completed before the fork can still be read and released. New
 * pools can be created in the child and work normally. */

/* Lends the calling thread to pool until `until` completes (when not NULL),
 * or max_ms milliseconds pass (when >= 0), or — when until is NULL and
 * max_ms < 0 — until the pool has no work it can find. Returns 0 (until
 * completed, or no work left), -ETIMEDOUT (max_ms passed first), -EBUSY
 * (every lend slot is taken), -EINVAL (NULL pool, or the caller is already
 * a worker or lent), TES_ESHUTDOWN or TES_EFORKED. Must return before the
 * pool is destroyed. */
TES_API int tes_pool_lend(tes_pool *pool, tes_future *until, long max_ms);

/* ---- tracing ---------------------------------------------------------------
 *
 * With a trace path (tes_pool_options.trace_path or TESSERA_TRACE=file.json),
 * every worker records task spans (named by the task's name, "task" when it
 * has none), steals and parks, and tes_pool_destroy writes them as Chrome
 * trace-event JSON: one track per worker (and lend slot), spans as B/E
 * pairs, steals as instant events. Perfetto (ui.perfetto.dev) and
 * chrome://tracing open it. Task names must then live until the pool is
 * destroyed. Each worker keeps at most TES_TRACE_MAX_EVENTS events; later
 * spans are dropped whole (never half), and the count dropped is written in
 * the file's metadata. With tracing off, the cost is one predictable branch
 * per task. */
#define TES_TRACE_MAX_EVENTS (1u << 22)

/* The trace path pool records to, or NULL when it does not trace. */
TES_API const char *tes_pool_trace_path(const tes_pool *pool);

/*
 * Spans of a program's own in the trace (since issue 14), so that a
 * timeline says what each task was doing: a task names its span
 * ("tile 12 (3,0)"), nests spans of its stages in it ("decode", "kernel
 * slope"), a thread outside the pool gets a track of its own for its
 * waits, counters draw a value over time, and numbers go in the file's
 * metadata. Every call takes a NULL track and then does nothing, which is
 * what tes_trace_self and tes_trace_track_open give when the pool does not
 * trace: a program calls them unconditionally at the cost of a branch
 * (format its names only when tracing, see tes_pool_trace_path). Names are
 * formatted and copied (TES_TRACE_NAME_MAX - 1 bytes kept). Spans on one
 * track end in the reverse order they began, before the task (on a
 * worker's track) or the run (on an opened one) ends.
 */
typedef struct tes_trace_track tes_trace_track; /* opaque */

#define TES_TRACE_NAME_MAX 64

/* The calling thread's own track when it is a worker (or lent thread) of a
 * pool that traces; NULL otherwise. Its spans nest in the task it runs. */
TES_API tes_trace_track *tes_trace_self(void);

/* A new track named name in pool's trace, for a thread that is not one of
 * its workers (one thread at a time); NULL when pool does not trace or out
 * of memory. It belongs to pool and lives until tes_pool_destroy, which
 * must not run while the track is used. Any thread. */
TES_API tes_trace_track *tes_trace_track_open(tes_pool *pool,
                                              const char *name);

/* Begins a span named by the printf-style fmt on track. */
TES_API void tes_trace_begin(tes_trace_track *track, const char *fmt, ...)
    TES_PRINTF(2, 3);

/* Ends track's innermost open span. */
TES_API void tes_trace_end(tes_trace_track *track);

/* Ends it and names it anew: for a name known only at its end ("decode
 * (hit)"). */
TES_API void tes_trace_end_as(tes_trace_track *track, const char *fmt, ...)
    TES_PRINTF(2, 3);

/* Inside a task of a pool that traces: names the running task's span (the
 * innermost open span of the worker's track: call it before beginning
 * spans of your own). Elsewhere nothing. */
TES_API void tes_trace_name_task(const char *fmt, ...) TES_PRINTF(1, 2);

/* A sample of counter name on track (Chrome's "C" events: a graph of the
 * value over time). */
TES_API void tes_trace_counter(tes_trace_track *track, const char *name,
                               double value);

/* Adds value to the number key in the trace's metadata ("otherData"),
 * which starts at 0; nothing when pool does not trace. Any thread. */
TES_API void tes_trace_add(tes_pool *pool, const char *key, double value);

#ifdef __cplusplus
}
#endif

#endif /* TESSERA_H */
