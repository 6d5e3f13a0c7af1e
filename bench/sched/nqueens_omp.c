/*
 * nqueens_omp.c — the nqueens benchmark with OpenMP tasks: one task per
 * legal placement in each row, a taskwait for all of them, then the sum.
 * Built with gcc -fopenmp (libgomp) and clang -fopenmp (LLVM libomp); the
 * runtime's name is given by -DIMPL.
 * Usage: nqueens_omp THREADS [N=12]
 */
#include "bench_common.h"

#include <omp.h>


#ifndef IMPL
#define IMPL "omp"
#endif

static long nq(int n, int row, unsigned cols, unsigned d1, unsigned d2)
{
    if (row == n)
        return 1;
    unsigned all = (1u << n) - 1;
    unsigned avail = ~(cols | d1 | d2) & all;
    long counts[32];
    int k = 0;
    while (avail) {
        unsigned bit = avail & (0u - avail);
        avail ^= bit;
#pragma omp task shared(counts) firstprivate(k, bit)
        counts[k] = nq(n, row + 1, cols | bit, ((d1 | bit) << 1) & all,
                       (d2 | bit) >> 1);
        k++;
    }
#pragma omp taskwait
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
    long r = 0;
    omp_set_dynamic(0);
#pragma omp parallel num_threads((int)threads)
    {
    }
    double t0 = bench_now();
#pragma omp parallel num_threads((int)threads)
#pragma omp single
    r = nq((int)n, 0, 0, 0, 0);
    double t1 = bench_now();
    bench_report("nqueens", IMPL, threads, n, r,
                 bench_nqueens_nodes((int)n, 0, 0, 0, 0), t1 - t0);
    return 0;
}
