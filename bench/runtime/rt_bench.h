/*
 * rt_bench.h — helpers shared by the runtime benchmarks (private to
 * bench/runtime): arguments, a monotonic clock, medians, and the one
 * RESULT line each measurement prints for bench/runtime/run.sh:
 *
 *   RESULT bench=pfor impl=tessera threads=2 median=0.0812 min=0.0809 \
 *          max=0.0833 rate=26.45 unit=GB/s
 */
#ifndef TES_RT_BENCH_H
#define TES_RT_BENCH_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline double rt_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* argv[i] as a positive long, or def; exits 2 on anything else. */
static inline long rt_arg(int argc, char **argv, int i, long def)
{
    if (argc <= i)
        return def;
    char *end;
    long v = strtol(argv[i], &end, 10);
    if (end == argv[i] || *end || v <= 0) {
        fprintf(stderr, "%s: bad argument '%s'\n", argv[0], argv[i]);
        exit(2);
    }
    return v;
}

static int rt_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts t[0..n) and prints the RESULT line; rate = work / median. */
static inline void rt_report(const char *bench, const char *impl, long threads,
                             double *t, int n, double work, const char *unit)
{
    qsort(t, (size_t)n, sizeof *t, rt_cmp);
    double med = n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
    printf("RESULT bench=%s impl=%s threads=%ld median=%.6f min=%.6f "
           "max=%.6f rate=%.4g unit=%s\n",
           bench, impl, threads, med, t[0], t[n - 1], work / med, unit);
    fflush(stdout);
}

#endif
