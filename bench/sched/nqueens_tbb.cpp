/*
 * nqueens_tbb.cpp — the nqueens benchmark with oneTBB: one task_group per
 * row, one task per legal placement, wait, then the sum.
 * Usage: nqueens_tbb THREADS [N=12]
 */
#include "bench_common.h"

#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>


static long nq(int n, int row, unsigned cols, unsigned d1, unsigned d2)
{
    if (row == n)
        return 1;
    unsigned all = (1u << n) - 1;
    unsigned avail = ~(cols | d1 | d2) & all;
    long counts[32];
    int k = 0;
    tbb::task_group g;
    while (avail) {
        unsigned bit = avail & (0u - avail);
        avail ^= bit;
        long *slot = &counts[k++];
        g.run([=] {
            *slot = nq(n, row + 1, cols | bit, ((d1 | bit) << 1) & all,
                       (d2 | bit) >> 1);
        });
    }
    g.wait();
    long sum = 0;
    for (int i = 0; i < k; i++)
        sum += counts[i];
    return sum;
}

int main(int argc, char **argv)
{
    const char *usage = "THREADS [N]";
    long threads = bench_arg(argc, argv, 1, 1, usage);
    long n = bench_nqueens_n(argc, argv, usage);
    tbb::global_control gc(tbb::global_control::max_allowed_parallelism,
                           (size_t)threads);
    tbb::task_arena arena((int)threads);
    long r = 0;
    arena.execute([&] { r = nq(6, 0, 0, 0, 0); }); /* warm-up, untimed */
    double t0 = bench_now();
    arena.execute([&] { r = nq((int)n, 0, 0, 0, 0); });
    double t1 = bench_now();
    bench_report("nqueens", "tbb", threads, n, r,
                 bench_nqueens_nodes((int)n, 0, 0, 0, 0), t1 - t0);
    return 0;
}
