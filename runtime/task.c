/*
 * task.c — spawned tasks and their futures: spawn, await (inline, helping
 * or sleeping), retain and release, failure messages (of spawned and of
 * forked tasks), wait-all and wait-any.
 *
 * The owner-only path: a task spawned by a task, still the newest private
 * item of its worker's deque when that task awaits it, and never shared
 * (its word holds exactly the spawner's and the run's references, no flag)
 * runs inline and completes with plain stores: no other thread can reach
 * it (tessera.h, "sharing a future"). Anything else takes the general path,
 * whose completion is one CAS.
 */
#include "scheduler.h"

#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* frame.c: bumped after completions that had waiters (tes_wait_any). */
extern _Atomic uint32_t tes__any_seq;

/* ---- spawn ------------------------------------------------------------- */

/* The general spawn: any thread, any pool, cold free list. */
static TES_NOINLINE int spawn_slow(tes_future **out, tes_pool *pool,
                                   const char *name, void *(*fn)(void *),
                                   void *arg)
{
    if (out)
        *out = NULL;
    if (TES_UNLIKELY(!pool || !fn))
        return -EINVAL;
    tes_future *f = tes__frame_new(pool, out ? 2 : 1, NULL, NULL, name);
    if (TES_UNLIKELY(!f))
        return -ENOMEM;
    f->fn = fn;
    f->arg = arg;
    int rc = tes__submit(pool, f);
    if (TES_UNLIKELY(rc != 0)) {
        tes__frame_free(f);
        return rc;
    }
    if (out)
        *out = f;
    return 0;
}

/* The end of a fast spawn of f, when thieves had asked for work. */
static TES_NOINLINE int spawned_wanted(tes_worker *w, tes_future **out,
                                       tes_future *f)
{
    tes__share(w, tes__deque_depth(&w->deque));
    if (out)
        *out = f;
    return 0;
}

/* The fast path of recursive work: a task of this pool spawning with a
 * warm free list and room in its deque. No lock, no malloc, no atomic
 * read-modify-write, and no call but in tail position (so no registers to
 * save). */
static inline int spawn(tes_future **out, tes_pool *pool, const char *name,
                        void *(*fn)(void *), void *arg)
{
    tes_worker *w = tes__self;
    tes_future *f;
    if (TES_LIKELY(w && w->pool == pool && fn && (f = w->free_list) &&
                   w->deque.own.top != w->deque.own.end)) {
        /* tes__frame_pop without its prefetch: recursive spawns take the
         * frames they just freed, which are in cache. */
        w->free_list = f->next;
        w->free_count--;
        /* tes__frame_setup but for ext, which plain tasks leave alone. */
        atomic_init(&f->word, (uint32_t)(out ? 2 : 1) * TES_REF);
        f->error = 0;
        f->name = name;
        f->pool = pool;
        f->ops = NULL;
        atomic_init(&f->conts, NULL);
        f->fn = fn;
        f->arg = arg;
        tes__count(&w->n_spawn);
        /* relaxed: private until published (deque.h, invariant 5). */
        __atomic_store_n(w->deque.own.top++,
                         (void *)((uintptr_t)f | w->frame_tag),
                         __ATOMIC_RELAXED);
        if (TES_UNLIKELY(tes__deque_wanted(&w->deque)))
            return spawned_wanted(w, out, f);
        if (out)
            *out = f;
        return 0;
    }
    return spawn_slow(out, pool, name, fn, arg);
}

int tes_spawn_named(tes_future **out, tes_pool *pool, const char *name,
                    void *(*fn)(void *), void *arg)
{
    return spawn(out, pool, name, fn, arg);
}

int tes_spawn(tes_future **out, tes_pool *pool, void *(*fn)(void *),
              void *arg)
{
    return spawn(out, pool, NULL, fn, arg);
}

/* ---- await ------------------------------------------------------------- */

static inline bool is_done(const tes_future *f)
{
    /* acquire: pairs with the release in tes__frame_complete /
     * tes__complete_slow, making result and error visible. */
    return atomic_load_explicit(&((tes_future *)f)->word,
                                memory_order_acquire) &
           TES_DONE;
}

bool tes_future_done(const tes_future *f)
{
    return f && is_done(f);
}

/* The outcome of completed future f, as tes_await returns it. */
static inline int outcome(const tes_future *f, void **result)
{
    if (TES_UNLIKELY(f->error != 0)) {
        if (result)
            *result = NULL;
        return f->error;
    }
    if (result)
        *result = f->result;
    return 0;
}

/* Completes f, taken from w's deque and run by the owner's path, whose
 * run ended with result r: done with plain stores. */
static inline void complete_owned(tes_worker *w, tes_future *f, void *r)
{
    tes__count(&w->n_run);
    f->result = r;
    /* relaxed: only reference holders may change the word (tessera.h,
     * "sharing a future"), and with exactly the spawner's reference and
     * the run's they are this thread: done, the run's reference dropped. */
    atomic_store_explicit(&f->word, TES_DONE | TES_REF, memory_order_relaxed);
}

/* The owner's run of f failed (tes_fail): f gets the failure. */
static TES_NOINLINE int owned_failed(tes_worker *w, tes_future *f, void *r,
                                     void **result)
{
    char *msg;
    int code = tes__take_failure(w, &msg);
    tes__frame_failed(f, code, msg);
    complete_owned(w, f, r);
    return outcome(f, result);
}

/* Runs f, which w's thread has just taken from its own deque, where no
 * thief could reach it, and returns its outcome. */
static int run_taken(tes_worker *w, tes_future *f, void **result)
{
    /* relaxed: as in complete_owned. */
    if (TES_UNLIKELY(atomic_load_explicit(&f->word, memory_order_relaxed) !=
                         2 * TES_REF ||
                     f->ops != NULL || w->trace != NULL)) {
        tes__run_frame(w, f);
        return outcome(f, result);
    }
    tes_run_saved s;
    tes__run_enter(w, f, &s); /* not cancelled: the word has no flag */
    void *r = f->fn(f->arg);
    char *msg;
    int code = tes__take_failure(w, &msg);
    if (TES_UNLIKELY(code != 0))
        tes__frame_failed(f, code, msg);
    tes__run_leave(w, &s);
    complete_owned(w, f, r);
    return outcome(f, result);
}

/* Sets TES_WAITERS unless f is done. Returns the word with the flag set, or
 * 0 when f completed. */
static uint32_t announce_waiter(tes_future *f)
{
    /* acquire: as in is_done. */
    uint32_t s = atomic_load_explicit(&f->word, memory_order_acquire);
    while (!(s & TES_DONE)) {
        if (s & TES_WAITERS)
            return s;
        /* seq_cst: ordered against the completer's CAS on the same word,
         * which then sees the flag, or fails and sees it on retry. */
        if (atomic_compare_exchange_weak_explicit(&f->word, &s,
                                                  s | TES_WAITERS,
                                                  memory_order_seq_cst,
                                                  memory_order_acquire))
            return s | TES_WAITERS;
    }
    return 0;
}

/* An outside thread: sleep on the future's word until it is done. */
static TES_NOINLINE void await_blocking(tes_future *f)
{
    for (;;) {
        uint32_t s = announce_waiter(f);
        if (!s)
            return;
        tes__futex_wait(&f->word, s, -1);
    }
}

/* A worker waiting for f: run other work until f is done; never sleep while
 * work can be found. */
static TES_NOINLINE void await_helping(tes_worker *w, tes_future *f)
{
    unsigned idle = 0;
    while (!is_done(f)) {
        /* relaxed: a hint (tes__help_find checks it). */
        void *x = tes__help_find(
            w,
            f->pool == w->pool
                ? atomic_load_explicit(&f->thief, memory_order_relaxed)
                : -1,
            f);
        if (x) {
            tes__run_item(w, x);
            idle = 0;
            continue;
        }
        if (!tes__help_backoff(++idle)) {
            /* Nothing to run and f is taking long: nap on f's word, briefly,
             * so that work arriving meanwhile is not left waiting. */
            uint32_t s = announce_waiter(f);
            if (!s)
                break;
            tes__futex_wait(&f->word, s, 200000);
        }
    }
}

/* tes_await when f is not the owner's to run at once. */
static TES_NOINLINE int await_slow(tes_future *f, void **result)
{
    if (TES_UNLIKELY(!f))
        return -EINVAL;
    if (is_done(f))
        return outcome(f, result);
    tes_worker *w = tes__self;
    if (!w) {
        if (TES_UNLIKELY(tes__forked(f->pool)))
            return TES_EFORKED; /* no thread will ever complete it */
        await_blocking(f);
        return outcome(f, result);
    }
    void *x = tes__pop_helpable(w); /* publishes first when asked */
    if (x && !tes__item_is_fork(x) && tes__item_frame(x) == f)
        return run_taken(w, f, result);
    /* Run our newest item first (it is work, and it sits above f), unless
     * turns are held for us: helping runs those first, then takes x back. */
    if (x && (!tes__held_pending(w) || tes__push_local(w, x) != 0))
        tes__run_item(w, x);
    await_helping(w, f);
    return outcome(f, result);
}

int tes_await(tes_future *f, void **result)
{
    /* The common case: f is the newest item of our own private deque, and
     * the owner's (tes_worker.frame_tag): run it here, done with plain
     * stores. On threads that are no workers the checks fail on the
     * record tes_fj_self points at (frame.c). */
    tes_fj *o = tes_fj_self;
    void **p = o->top;
    if (TES_LIKELY(p > o->split &&
                   /* relaxed: a private slot, this thread's. */
                   __atomic_load_n(p - 1, __ATOMIC_RELAXED) ==
                       tes__frame_item(f) &&
                   !tes__deque_wanted(tes__deque_of(o)) &&
                   /* relaxed: as in complete_owned. */
                   atomic_load_explicit(&f->word, memory_order_relaxed) ==
                       2 * TES_REF)) {
        o->top = p - 1;
        tes_worker *w = tes__worker_of(o);
        void *outer = o->scope;
        o->scope = f;
        void *r = f->fn(f->arg);
        o->scope = outer;
        if (TES_UNLIKELY(o->fail_code != 0))
            return owned_failed(w, f, r, result);
        complete_owned(w, f, r);
        if (result)
            *result = r;
        return 0;
    }
    return await_slow(f, result);
}

/* ---- references -------------------------------------------------------- */

tes_future *tes_future_retain(tes_future *f)
{
    if (f)
        /* relaxed: the caller already holds a reference, so the frame
         * cannot be freed concurrently (as for any reference count). */
        atomic_fetch_add_explicit(&f->word, TES_REF, memory_order_relaxed);
    return f;
}

/* tes_future_release but for its common case. s: f's word, read. */
static TES_NOINLINE void release_slow(tes_future *f, uint32_t s)
{
    if ((s & ~(TES_CANCEL_REQ | TES_WAITERS)) == (TES_DONE | TES_REF)) {
        tes__frame_free(f);
        return;
    }
    /* acq_rel: release our uses of the frame to whoever frees it; acquire
     * theirs if we do. */
    uint32_t prev =
        atomic_fetch_sub_explicit(&f->word, TES_REF, memory_order_acq_rel);
    if (prev / TES_REF == 1)
        tes__frame_free(f);
}

void tes_future_release(tes_future *f)
{
    if (!f)
        return;
    /* acquire: pairs with the release in tes__frame_complete. When the task
     * is done and ours is the only reference left, nobody else may touch
     * the frame, so it is freed without a read-modify-write; the common
     * case of tes__frame_free follows (a frame this worker made, no
     * message, room in the free list). */
    uint32_t s = atomic_load_explicit(&f->word, memory_order_acquire);
    tes_worker *w = tes__self;
    if (TES_LIKELY((s & ~(TES_CANCEL_REQ | TES_WAITERS)) ==
                       (TES_DONE | TES_REF) &&
                   w && f->home == w && f->msg == NULL &&
                   w->free_count < TES_FREE_LIST_MAX)) {
        f->next = w->free_list;
        w->free_list = f;
        w->free_count++;
        return;
    }
    release_slow(f, s);
}

/* ---- failures ---------------------------------------------------------- */

/* "prefix: <fmt...>: suffix", without the parts that are NULL; malloc'd,
 * or NULL when out of memory. */
static char *vformat(const char *prefix, const char *fmt, va_list ap,
                     const char *suffix)
{
    va_list ap2;
    va_copy(ap2, ap);
    int body = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (body < 0)
        body = 0;
    size_t np = prefix ? strlen(prefix) + 2 : 0;
    size_t ns = suffix ? strlen(suffix) + 2 : 0;
    size_t len = np + (size_t)body + ns + 1;
    char *m = malloc(len);
    if (!m)
        return NULL;
    int off = prefix ? snprintf(m, len, "%s: ", prefix) : 0;
    vsnprintf(m + off, len - (size_t)off, fmt, ap);
    if (suffix) {
        size_t cur = strlen(m);
        snprintf(m + cur, len - cur, ": %s", suffix);
    }
    return m;
}

/* Fails what the calling thread runs innermost: records the failure for
 * the end of that run, which moves it into its frame (with the frame's
 * name in front) or its forked task (as it is: a forked task has no name of
 * its own, being part of the task that forked it). Until then the task's
 * forks and joins take the library's path (frame.h, "runs nest"): its
 * private forks are retagged so that no inline join, which would take
 * the failure as its child's, runs them. */
static void fail_current(int code, const char *fmt, va_list ap,
                         const char *cause)
{
    tes_worker *w = tes__self;
    if (!w || !tes__current(w))
        return;
    if (code > 0)
        code = -code;
    if (code == 0)
        code = TES_EFAIL;
    char *m = vformat(NULL, fmt, ap, cause);
    tes_fj *o = &w->deque.own;
    if (o->fail_code == 0) {
        tes__failed_mode(w, true);
        for (void **p = o->split; p < o->top; p++) {
            /* relaxed: private slots, only this thread's (deque.h). */
            void *x = __atomic_load_n(p, __ATOMIC_RELAXED);
            __atomic_store_n(p, (void *)((uintptr_t)x | 2u), __ATOMIC_RELAXED);
        }
    } else {
        free(o->fail_msg);
    }
    o->fail_code = code;
    o->fail_msg = m;
}

void *tes_fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fail_current(code, fmt, ap, NULL);
    va_end(ap);
    return NULL;
}

void *tes_fail_from(const tes_future *cause, const char *fmt, ...)
{
    int code = cause ? tes_future_status(cause) : TES_EFAIL;
    const char *why = cause ? tes_future_error(cause) : NULL;
    va_list ap;
    va_start(ap, fmt);
    fail_current(code, fmt, ap, why ? why : tes_strerror(code));
    va_end(ap);
    return NULL;
}

void *tes_fail_from_task(const tes_task *cause, const char *fmt, ...)
{
    int code = cause ? cause->tes__error : TES_EFAIL;
    const char *why = code && cause && cause->tes__msg ? cause->tes__msg
                                                       : tes_strerror(code);
    va_list ap;
    va_start(ap, fmt);
    fail_current(code, fmt, ap, why);
    va_end(ap);
    return NULL;
}

const char *tes_future_error(const tes_future *f)
{
    if (!f || !is_done(f) || f->error == 0)
        return NULL;
    return f->msg ? f->msg : tes_strerror(f->error);
}

int tes_future_status(const tes_future *f)
{
    if (!f || !is_done(f))
        return 0;
    return f->error;
}

/* ---- several futures --------------------------------------------------- */

int tes_wait_all(tes_future *const *fs, size_t n)
{
    if (!fs && n)
        return -EINVAL;
    int first = 0;
    for (size_t i = 0; i < n; i++) {
        if (!fs[i])
            continue;
        int rc = tes_await(fs[i], NULL);
        if (rc && !first)
            first = rc;
    }
    return first;
}

static bool any_done(tes_future *const *fs, size_t n, size_t *ready)
{
    for (size_t i = 0; i < n; i++) {
        if (is_done(fs[i])) {
            *ready = i;
            return true;
        }
    }
    return false;
}

int tes_wait_any(tes_future *const *fs, size_t n, long timeout_ms,
                 size_t *ready)
{
    if (!fs || n == 0 || !ready)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!fs[i])
            return -EINVAL;
    long long deadline =
        timeout_ms < 0 ? -1 : tes__now_ns() + (long long)timeout_ms * 1000000LL;
    tes_worker *w = tes__self;
    unsigned idle = 0;
    for (;;) {
        if (any_done(fs, n, ready))
            return 0;
        long long left = deadline < 0 ? -1 : deadline - tes__now_ns();
        if (deadline >= 0 && left <= 0)
            return -ETIMEDOUT;
        if (w) {
            /* A worker keeps working while it waits. */
            void *x = tes__help_find(w, -1, NULL);
            if (x) {
                tes__run_item(w, x);
                idle = 0;
                continue;
            }
            if (++idle < 64) {
                sched_yield();
                continue;
            }
            if (left < 0 || left > 200000)
                left = 200000;
        }
        /* acquire: pairs with the release increment in
         * tes__complete_slow; read before the flags are set, so a
         * completion after this point changes the word we sleep on. */
        uint32_t seq = atomic_load_explicit(&tes__any_seq, memory_order_acquire);
        for (size_t i = 0; i < n; i++)
            if (!announce_waiter(fs[i])) {
                *ready = i;
                return 0;
            }
        tes__futex_wait(&tes__any_seq, seq, left);
    }
}
