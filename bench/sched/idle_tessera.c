/*
 * idle_tessera.c — CPU used by an idle tessera pool: a pool of THREADS
 * workers runs a little work (so every worker has been awake), then the
 * main thread sleeps MS milliseconds and getrusage says how much CPU the
 * process used meanwhile, in percent of one CPU. Idle workers should park.
 * Usage: idle_tessera [THREADS=2] [MS=2000]
 */
#include "tes_common.h"

static void *fib_task(void *arg)
{
    intptr_t n = (intptr_t)arg;
    if (n < 2)
        return arg;
    tes_future *f;
    if (tes_spawn(&f, tes_current_pool(), fib_task, (void *)(n - 1)) != 0)
        return tes_fail(-ENOMEM, "spawn");
    void *y = fib_task((void *)(n - 2)), *x = NULL;
    tes_await(f, &x);
    tes_future_release(f);
    return (void *)((intptr_t)x + (intptr_t)y);
}

int main(int argc, char **argv)
{
    const char *usage = "[THREADS] [MS]";
    long threads = bench_arg(argc, argv, 1, 2, usage);
    long ms = bench_arg(argc, argv, 2, 2000, usage);
    tes_pool_options opts = TES_POOL_OPTIONS_INIT;
    opts.threads = (int)threads;
    tes_pool *pool = NULL;
    int rc = tes_pool_create(&pool, &opts);
    if (rc != 0) {
        fprintf(stderr, "tes_pool_create: %s\n", tes_strerror(rc));
        return 1;
    }
    tes_future *f = NULL;
    void *r = NULL;
    rc = tes_spawn(&f, pool, fib_task, (void *)(intptr_t)20);
    if (rc == 0)
        rc = tes_await(f, &r);
    tes_future_release(f);
    if (rc != 0 || (intptr_t)r != 6765) {
        fprintf(stderr, "warm-up task failed: %s\n", tes_strerror(rc));
        return 1;
    }
    double pct = bench_idle_cpu_pct(ms);
    if (getenv("TES_BENCH_STATS"))
        tes_pool_stats_print(pool, stderr);
    tes_pool_destroy(pool);
    bench_report_idle("tessera", threads, ms, pct);
    return 0;
}
