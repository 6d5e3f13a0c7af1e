/*
 * spawn_tbb.cpp — spawn throughput with oneTBB: one task_group gets N empty
 * tasks from one thread, in batches of BATCH with a wait after each batch.
 * Usage: spawn_tbb THREADS [N=10000000] [BATCH=1000]
 */
#include "bench_common.h"

#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>


static void *(*volatile task_fn)(void *);

static void *empty_task(void *arg)
{
    return arg;
}

int main(int argc, char **argv)
{
    const char *usage = "THREADS [N] [BATCH]";
    long threads = bench_arg(argc, argv, 1, 1, usage);
    long n = bench_arg(argc, argv, 2, 10000000, usage);
    long batch = bench_arg(argc, argv, 3, 1000, usage);
    task_fn = empty_task;
    tbb::global_control gc(tbb::global_control::max_allowed_parallelism,
                           (size_t)threads);
    tbb::task_arena arena((int)threads);
    auto body = [&](long count) {
        tbb::task_group g;
        for (long done = 0; done < count; done += batch) {
            long k = count - done < batch ? count - done : batch;
            for (long i = 0; i < k; i++)
                g.run([] { task_fn(nullptr); });
            g.wait();
        }
    };
    arena.execute([&] { body(batch); }); /* warm-up, untimed */
    double t0 = bench_now();
    arena.execute([&] { body(n); });
    double t1 = bench_now();
    bench_report("spawn", "tbb", threads, n, n, n, t1 - t0);
    return 0;
}
