/*
 * actor_bench.c — actor call throughput against a mutex-protected object
 * called from the same tasks. "one": CALLERS tasks call one actor (fire and
 * forget, a bounded window in flight), then one awaited call drains it;
 * the mutex case runs the same
 * tasks taking one lock. "many": ACTORS tasks each call their own actor
 * (own object and lock for the mutex case). Usage: actor_bench THREADS [REPS]
 */
#include <pthread.h>
#include <stdint.h>

#include "rt_bench.h"
#include "tessera.h"

#define CALLERS 4
#define ONE_CALLS 400000 /* per caller */
#define ACTORS 64
#define MANY_CALLS 25000 /* per actor */

struct obj {
    pthread_mutex_t lock; /* protects x */
    long x;
    char pad[64];
};

static void *inc(void *state, void *arg)
{
    ((struct obj *)state)->x += (long)(intptr_t)arg;
    return NULL;
}

struct job {
    tes_actor *actor;
    struct obj *o;
    long calls;
};

/* Fire and forget, with at most about 2 * WINDOW calls in flight per
 * caller: every WINDOW-th call is awaited one window later (calls of one
 * caller complete in order), as a real producer would be held back. */
#define WINDOW 512

static void *call_actor(void *arg)
{
    struct job *j = arg;
    tes_future *mark = NULL;
    for (long i = 1; i <= j->calls; i++) {
        if (i % WINDOW) {
            if (tes_actor_call(NULL, j->actor, inc, (void *)1) != 0)
                abort();
            continue;
        }
        tes_future *f;
        if (tes_actor_call(&f, j->actor, inc, (void *)1) != 0)
            abort();
        if (mark) {
            tes_await(mark, NULL);
            tes_future_release(mark);
        }
        mark = f;
    }
    if (mark) {
        tes_await(mark, NULL);
        tes_future_release(mark);
    }
    return NULL;
}

static void *call_mutex(void *arg)
{
    struct job *j = arg;
    for (long i = 0; i < j->calls; i++) {
        pthread_mutex_lock(&j->o->lock);
        j->o->x += 1;
        pthread_mutex_unlock(&j->o->lock);
    }
    return NULL;
}

struct round {
    struct job *jobs;
    int n;
    int use_actor;
    tes_actor **drain; /* actors to drain afterwards (n of them or 1) */
    int ndrain;
};

static void *root(void *arg)
{
    struct round *r = arg;
    tes_pool *p = tes_current_pool();
    tes_future *fs[ACTORS];
    for (int i = 0; i < r->n; i++)
        tes_spawn(&fs[i], p, r->use_actor ? call_actor : call_mutex, &r->jobs[i]);
    tes_wait_all(fs, (size_t)r->n);
    for (int i = 0; i < r->n; i++)
        tes_future_release(fs[i]);
    if (r->use_actor)
        for (int i = 0; i < r->ndrain; i++) {
            tes_future *f;
            tes_actor_call(&f, r->drain[i], inc, (void *)0);
            tes_await(f, NULL);
            tes_future_release(f);
        }
    return NULL;
}

static double run(tes_pool *p, struct round *r)
{
    double t0 = rt_now();
    tes_future *f;
    tes_spawn(&f, p, root, r);
    tes_await(f, NULL);
    tes_future_release(f);
    return rt_now() - t0;
}

int main(int argc, char **argv)
{
    long threads = rt_arg(argc, argv, 1, 1);
    int reps = (int)rt_arg(argc, argv, 2, 5);
    tes_pool_options o = TES_POOL_OPTIONS_INIT;
    o.threads = (int)threads;
    tes_pool *p;
    if (tes_pool_create(&p, &o) != 0)
        return 1;
    static struct obj objs[ACTORS];
    tes_actor *actors[ACTORS];
    for (int i = 0; i < ACTORS; i++) {
        pthread_mutex_init(&objs[i].lock, NULL);
        tes_actor_create(&actors[i], p, &objs[i], NULL);
    }
    struct job jobs[ACTORS];
    double t[64];
    const char *names[2] = {"mutex", "actor"};
    for (int use_actor = 0; use_actor < 2; use_actor++) {
        /* one object, CALLERS tasks */
        for (int i = 0; i < CALLERS; i++)
            jobs[i] = (struct job){actors[0], &objs[0], ONE_CALLS};
        struct round r = {jobs, CALLERS, use_actor, actors, 1};
        run(p, &r); /* warm-up */
        for (int k = 0; k < reps; k++)
            t[k] = run(p, &r);
        rt_report("actor_one", names[use_actor], threads, t, reps,
                  (double)CALLERS * ONE_CALLS / 1e6, "Mcalls/s");
        /* many objects, one task each */
        for (int i = 0; i < ACTORS; i++)
            jobs[i] = (struct job){actors[i], &objs[i], MANY_CALLS};
        struct round m = {jobs, ACTORS, use_actor, actors, ACTORS};
        run(p, &m);
        for (int k = 0; k < reps; k++)
            t[k] = run(p, &m);
        rt_report("actor_many", names[use_actor], threads, t, reps,
                  (double)ACTORS * MANY_CALLS / 1e6, "Mcalls/s");
    }
    long want = 0;
    for (int i = 0; i < ACTORS; i++) {
        tes_actor_destroy(actors[i]);
        want += objs[i].x;
    }
    long expect = 2L * (reps + 1) * ((long)CALLERS * ONE_CALLS + (long)ACTORS * MANY_CALLS);
    tes_pool_destroy(p);
    if (want != expect) {
        fprintf(stderr, "actor_bench: total %ld, expected %ld\n", want, expect);
        return 1;
    }
    return 0;
}
