/*
 * ray_tasks.c — the first example of Ray's introduction, in C: four tasks
 * that each sleep one second run on four workers and finish together, in
 * about one second rather than four.
 *
 *   Ray:    futures = [f.remote(i) for i in range(4)]; ray.get(futures)
 *   tessera: tes_spawn() four times, then tes_await() each future.
 */
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "tessera.h"

static void *slow_square(void *arg)
{
    intptr_t x = (intptr_t)arg;
    struct timespec one_second = {1, 0};
    nanosleep(&one_second, NULL);
    return (void *)(x * x);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void)
{
    tes_pool_options opts = TES_POOL_OPTIONS_INIT;
    opts.threads = 4;
    tes_pool *pool;
    int rc = tes_pool_create(&pool, &opts);
    if (rc) {
        fprintf(stderr, "ray_tasks: %s\n", tes_strerror(rc));
        return 1;
    }
    double t0 = now();
    tes_future *futures[4];
    for (intptr_t i = 0; i < 4; i++) {
        rc = tes_spawn(&futures[i], pool, slow_square, (void *)i);
        if (rc) {
            fprintf(stderr, "ray_tasks: spawn: %s\n", tes_strerror(rc));
            return 1;
        }
    }
    printf("results:");
    for (int i = 0; i < 4; i++) {
        void *r;
        if (tes_await(futures[i], &r) == 0)
            printf(" %ld", (long)(intptr_t)r);
        tes_future_release(futures[i]);
    }
    double took = now() - t0;
    printf("\n4 tasks of 1 s each on 4 workers took %.2f s\n", took);
    tes_pool_destroy(pool);
    return took < 1.9 ? 0 : 1;
}
