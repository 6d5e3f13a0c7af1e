/*
 * nqueens_serial.c — serial baseline for the nqueens benchmark: counts the
 * ways to place N non-attacking queens, row by row, on bitmasks.
 * Usage: nqueens_serial [THREADS(ignored)] [N=12]
 */
#include "bench_common.h"

static long nq(int n, int row, unsigned cols, unsigned d1, unsigned d2)
{
    if (row == n)
        return 1;
    unsigned all = (1u << n) - 1;
    unsigned avail = ~(cols | d1 | d2) & all;
    long sum = 0;
    while (avail) {
        unsigned bit = avail & (0u - avail);
        avail ^= bit;
        sum += nq(n, row + 1, cols | bit, ((d1 | bit) << 1) & all,
                  (d2 | bit) >> 1);
    }
    return sum;
}

int main(int argc, char **argv)
{
    const char *usage = "[THREADS] [N]";
    long threads = bench_arg(argc, argv, 1, 1, usage);
    long n = bench_nqueens_n(argc, argv, usage);
    (void)threads;
    double t0 = bench_now();
    long r = nq((int)n, 0, 0, 0, 0);
    double t1 = bench_now();
    bench_report("nqueens", "serial", 1, n, r,
                 bench_nqueens_nodes((int)n, 0, 0, 0, 0), t1 - t0);
    return 0;
}
