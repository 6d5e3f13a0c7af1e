/*
 * idle_tbb.cpp — CPU used by idle oneTBB workers: an arena of THREADS
 * threads runs a little parallel work, then the main thread sleeps MS
 * milliseconds and getrusage says how much CPU the process used meanwhile,
 * in percent of one CPU.
 * Usage: idle_tbb [THREADS=2] [MS=2000]
 */
#include "bench_common.h"

#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/task_arena.h>

#include <atomic>


int main(int argc, char **argv)
{
    const char *usage = "[THREADS] [MS]";
    long threads = bench_arg(argc, argv, 1, 2, usage);
    long ms = bench_arg(argc, argv, 2, 2000, usage);
    tbb::global_control gc(tbb::global_control::max_allowed_parallelism,
                           (size_t)threads);
    tbb::task_arena arena((int)threads);
    std::atomic<long> sink{0};
    arena.execute([&] {
        tbb::parallel_for(0L, 1000000L, [&](long i) {
            if ((i & 1023) == 0)
                sink += 1;
        });
    });
    double pct = bench_idle_cpu_pct(ms);
    bench_report_idle("tbb", threads, ms, pct);
    return sink == 977 ? 0 : 1;
}
