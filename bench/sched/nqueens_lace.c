/*
 * nqueens_lace.c — the nqueens benchmark on Lace (../shared/peers/lace, a
 * peer measured beside tessera): the same search as nqueens_fj.c and
 * nqueens_tessera.c, one task per legal placement in each row, synced
 * newest first. Built by run.sh against Lace's own source.
 * Usage: nqueens_lace THREADS [N=12]
 */
#include "bench_common.h"

#include "lace.h"

TASK_5(long, lnq, int, n, int, row, unsigned, cols, unsigned, d1, unsigned, d2)
{
    if (row == n)
        return 1;
    unsigned all = (1u << n) - 1;
    unsigned avail = ~(cols | d1 | d2) & all;
    int k = 0;
    while (avail) {
        unsigned bit = avail & (0u - avail);
        avail ^= bit;
        SPAWN(lnq, n, row + 1, cols | bit, ((d1 | bit) << 1) & all,
              (d2 | bit) >> 1);
        k++;
    }
    long sum = 0;
    while (k-- > 0)
        sum += SYNC(lnq);
    return sum;
}

int main(int argc, char **argv)
{
    const char *usage = "THREADS [N]";
    long threads = bench_arg(argc, argv, 1, 1, usage);
    long n = bench_nqueens_n(argc, argv, usage);
    lace_start((unsigned)threads, 0);
    double t0 = bench_now();
    long r = RUN(lnq, (int)n, 0, 0u, 0u, 0u);
    double t1 = bench_now();
    lace_stop();
    bench_report("nqueens", "lace", threads, n, r,
                 bench_nqueens_nodes((int)n, 0, 0, 0, 0), t1 - t0);
    return 0;
}
