/*
 * spawn_tessera.c — spawn throughput on tessera: one task spawns N empty
 * tasks into its own deque, in batches of BATCH, and awaits each batch
 * newest first before spawning the next (so at most BATCH futures are
 * live). With 2 workers the second one steals from the top of the deque
 * while the owner takes from the bottom. Each task returns 1 and the sum
 * checks that every one ran. Reports seconds for all N, i.e. ns per task.
 * Usage: spawn_tessera THREADS [N=10000000] [BATCH=1000]
 */
#include "tes_common.h"

static long n_tasks, batch;

static void *empty_task(void *arg)
{
    return arg;
}

static void *spawn_root(void *unused)
{
    (void)unused;
    tes_pool *pool = tes_current_pool();
    tes_future **fs = malloc((size_t)batch * sizeof *fs);
    if (fs == NULL)
        return tes_fail(-ENOMEM, "spawn: futures array");
    intptr_t sum = 0;
    int failed = 0;
    for (long done = 0; done < n_tasks && failed == 0;) {
        long k = n_tasks - done < batch ? n_tasks - done : batch;
        long spawned = 0;
        for (; spawned < k; spawned++) {
            failed = tes_spawn(&fs[spawned], pool, empty_task,
                               (void *)(intptr_t)1);
            if (failed != 0)
                break;
        }
        for (long i = spawned - 1; i >= 0; i--) {
            void *r = NULL;
            int e = tes_await(fs[i], &r);
            if (e != 0 && failed == 0)
                failed = e;
            sum += (intptr_t)r;
            tes_future_release(fs[i]);
        }
        done += spawned;
    }
    free(fs);
    if (failed != 0)
        return tes_fail(failed, "spawn loop");
    return (void *)sum;
}

int main(int argc, char **argv)
{
    const char *usage = "THREADS [N] [BATCH]";
    long threads = bench_arg(argc, argv, 1, 1, usage);
    n_tasks = bench_arg(argc, argv, 2, 10000000, usage);
    batch = bench_arg(argc, argv, 3, 1000, usage);
    intptr_t r;
    double s;
    tes_bench_run(threads, spawn_root, NULL, &r, &s);
    bench_report("spawn", "tessera", threads, n_tasks, (long long)r, n_tasks,
                 s);
    return 0;
}
