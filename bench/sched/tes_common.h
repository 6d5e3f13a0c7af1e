/*
 * tes_common.h — how every tessera benchmark runs its root task (private to
 * bench/sched): create a pool of THREADS workers, spawn the root from main,
 * await it from main (which sleeps), and time only the spawn and the await.
 * With TES_BENCH_STATS set in the environment the pool's counters go to
 * stderr afterwards.
 */
#ifndef TES_BENCH_TES_COMMON_H
#define TES_BENCH_TES_COMMON_H

#include "bench_common.h"

#include <stdint.h>

#include "tessera.h"

/* Runs root(arg) in a fresh pool of threads workers; stores its result in
 * *result and the seconds from spawn to the end of the await in *seconds.
 * Exits with status 1 and a message on any error. */
static inline void tes_bench_run(long threads, void *(*root)(void *),
                                 void *arg, intptr_t *result, double *seconds)
{
    tes_pool_options opts = TES_POOL_OPTIONS_INIT;
    opts.threads = (int)threads;
    opts.name = "bench";
    tes_pool *pool = NULL;
    int rc = tes_pool_create(&pool, &opts);
    if (rc != 0) {
        fprintf(stderr, "tes_pool_create: %s\n", tes_strerror(rc));
        exit(1);
    }
    tes_future *f = NULL;
    void *r = NULL;
    double t0 = bench_now();
    rc = tes_spawn_named(&f, pool, "root", root, arg);
    if (rc == 0)
        rc = tes_await(f, &r);
    double t1 = bench_now();
    if (rc != 0) {
        const char *msg = f ? tes_future_error(f) : NULL;
        fprintf(stderr, "root task: %s%s%s\n", tes_strerror(rc),
                msg ? ": " : "", msg ? msg : "");
        exit(1);
    }
    tes_future_release(f);
    if (getenv("TES_BENCH_STATS"))
        tes_pool_stats_print(pool, stderr);
    tes_pool_destroy(pool);
    *result = (intptr_t)r;
    *seconds = t1 - t0;
}

#endif /* TES_BENCH_TES_COMMON_H */
