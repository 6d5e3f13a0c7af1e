/*
 * ray_actors.c — the actor example of Ray's introduction, in C: two Counter
 * actors are updated by three concurrent tasks that hold their handles,
 * while the main thread reads both counters five times, a second apart.
 * Each counter's calls run one at a time, so the totals come out exact.
 *
 *   Ray:     @ray.remote class Counter: increment(), get_counter()
 *            counter = Counter.remote(); f.remote(counter) three times;
 *            ray.get(counter.get_counter.remote())
 *   tessera: tes_actor_create(), tes_spawn() three times,
 *            tes_actor_call() + tes_await()
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "tessera.h"

/* The actor's state: no lock, because only its own calls touch it. */
struct counter {
    long value;
};

static void *increment(void *state, void *arg)
{
    struct counter *c = state;
    c->value += (long)(intptr_t)arg;
    return NULL;
}

static void *get_counter(void *state, void *arg)
{
    (void)arg;
    struct counter *c = state;
    return (void *)(intptr_t)c->value;
}

#define TASKS 3
#define STEPS 48 /* per task, 100 ms apart: about 5 s in all */

struct handles {
    tes_actor *a, *b;
};

/* A task holding both actors' handles, like Ray's f(counter). */
static void *f(void *arg)
{
    struct handles *h = arg;
    for (int i = 0; i < STEPS; i++) {
        struct timespec tenth = {0, 100000000};
        nanosleep(&tenth, NULL);
        tes_actor_call(NULL, h->a, increment, (void *)1);  /* fire and forget */
        tes_actor_call(NULL, h->b, increment, (void *)10);
    }
    return NULL;
}

static long get(tes_actor *a)
{
    tes_future *fut;
    void *v = NULL;
    if (tes_actor_call(&fut, a, get_counter, NULL) == 0) {
        tes_await(fut, &v);
        tes_future_release(fut);
    }
    return (long)(intptr_t)v;
}

int main(void)
{
    tes_pool_options opts = TES_POOL_OPTIONS_INIT;
    opts.threads = 4; /* three for the tasks, one for the actors' calls */
    tes_pool *pool;
    int rc = tes_pool_create(&pool, &opts);
    if (rc) {
        fprintf(stderr, "ray_actors: %s\n", tes_strerror(rc));
        return 1;
    }
    struct counter ca = {0}, cb = {0};
    struct handles h;
    if ((rc = tes_actor_create(&h.a, pool, &ca, NULL)) ||
        (rc = tes_actor_create(&h.b, pool, &cb, NULL))) {
        fprintf(stderr, "ray_actors: %s\n", tes_strerror(rc));
        return 1;
    }
    tes_future *tasks[TASKS];
    for (int i = 0; i < TASKS; i++) {
        if ((rc = tes_spawn(&tasks[i], pool, f, &h))) {
            fprintf(stderr, "ray_actors: spawn: %s\n", tes_strerror(rc));
            return 1;
        }
    }
    for (int i = 0; i < 5; i++) {
        struct timespec one_second = {1, 0};
        nanosleep(&one_second, NULL);
        printf("after %d s: counter a = %3ld, counter b = %4ld\n", i + 1,
               get(h.a), get(h.b));
        fflush(stdout);
    }
    tes_wait_all(tasks, TASKS);
    for (int i = 0; i < TASKS; i++)
        tes_future_release(tasks[i]);
    long a = get(h.a), b = get(h.b);
    printf("final: counter a = %ld (expected %d), counter b = %ld (expected %d)\n",
           a, TASKS * STEPS, b, TASKS * STEPS * 10);
    tes_actor_destroy(h.a);
    tes_actor_destroy(h.b);
    tes_pool_destroy(pool);
    return a == TASKS * STEPS && b == TASKS * STEPS * 10 ? 0 : 1;
}
