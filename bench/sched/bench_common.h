/*
 * bench_common.h — shared helpers for the scheduler benchmarks (private to
 * bench/sched): argument parsing, a monotonic clock, and the one
 * machine-readable line every program prints, which bench/sched/run.sh reads:
 *
 *   RESULT bench=fib impl=tessera threads=2 n=35 result=9227465 \
 *          tasks=14930351 seconds=0.123456
 *
 * Usable from C11 and C++. Include it before any other header: it asks for
 * POSIX (clock_gettime, nanosleep) when the build did not.
 */
#ifndef TES_BENCH_COMMON_H
#define TES_BENCH_COMMON_H

#if !defined(_POSIX_C_SOURCE) && !defined(_GNU_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

/* Seconds on CLOCK_MONOTONIC. */
static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Parses argv[i] as a positive long, or returns def when argc <= i.
 * Exits with status 2 and a usage line on anything else. */
static inline long bench_arg(int argc, char **argv, int i, long def,
                             const char *usage)
{
    if (argc <= i)
        return def;
    char *end = NULL;
    long v = strtol(argv[i], &end, 10);
    if (end == argv[i] || *end != '\0' || v <= 0) {
        fprintf(stderr, "usage: %s %s\n", argv[0], usage);
        exit(2);
    }
    return v;
}

/* The nqueens programs' board size: argv[2], 12 by default, at most 16
 * (the column masks' width). Exits with status 2 and a line otherwise. */
static inline long bench_nqueens_n(int argc, char **argv, const char *usage)
{
    long n = bench_arg(argc, argv, 2, 12, usage);
    if (n > 16) {
        fprintf(stderr, "%s: N must be at most 16\n", argv[0]);
        exit(2);
    }
    return n;
}

/* Prints the RESULT line. */
static inline void bench_report(const char *bench, const char *impl,
                                long threads, long n, long long result,
                                long long tasks, double seconds)
{
    printf("RESULT bench=%s impl=%s threads=%ld n=%ld result=%lld "
           "tasks=%lld seconds=%.6f\n",
           bench, impl, threads, n, result, tasks, seconds);
    fflush(stdout);
}

/* CPU seconds (user + system) this process has used, all threads. */
static inline double bench_cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

/* Sleeps for ms milliseconds (restarting after signals) and returns the
 * CPU the whole process used meanwhile, in percent of one CPU. */
static inline double bench_idle_cpu_pct(long ms)
{
    struct timespec req = {ms / 1000, (ms % 1000) * 1000000L}, rem;
    double c0 = bench_cpu_seconds(), t0 = bench_now();
    while (nanosleep(&req, &rem) != 0)
        req = rem;
    double c1 = bench_cpu_seconds(), t1 = bench_now();
    return 100.0 * (c1 - c0) / (t1 - t0);
}

/* Prints the RESULT line of an idle measurement. */
static inline void bench_report_idle(const char *impl, long threads, long ms,
                                     double pct)
{
    printf("RESULT bench=idle impl=%s threads=%ld n=%ld result=0 tasks=0 "
           "seconds=%.3f cpu_pct=%.3f\n",
           impl, threads, ms, (double)ms / 1000.0, pct);
    fflush(stdout);
}

/* The number of tasks the classic fib shape spawns for fib(n): one per call
 * with n >= 2, i.e. fib(n + 1) - 1. */
static inline long long bench_fib_tasks(long n)
{
    long long a = 0, b = 1; /* fib(0), fib(1) */
    for (long i = 0; i < n + 1; i++) {
        long long t = a + b;
        a = b;
        b = t;
    }
    return a - 1; /* a == fib(n + 1) */
}

/* N-queens on bitmasks: cols, d1 and d2 mark the columns and the two
 * diagonals attacked by the queens of the rows above. Every benchmark spawns
 * one task per legal placement, so the task count is the number of nodes of
 * the search tree below the root; this counts them serially. */
static inline long long bench_nqueens_nodes(int n, int row, unsigned cols,
                                            unsigned d1, unsigned d2)
{
    if (row == n)
        return 0;
    unsigned all = (1u << n) - 1;
    unsigned avail = ~(cols | d1 | d2) & all;
    long long nodes = 0;
    while (avail) {
        unsigned bit = avail & (0u - avail);
        avail ^= bit;
        nodes += 1 + bench_nqueens_nodes(n, row + 1, cols | bit,
                                         ((d1 | bit) << 1) & all,
                                         (d2 | bit) >> 1);
    }
    return nodes;
}

/* Known N-queens solution counts, to check results; -1 when unknown. */
static inline long long bench_nqueens_expected(long n)
{
    static const long long known[] = {1,     1,     0,      0,      2,
                                      10,    4,     40,     92,     352,
                                      724,   2680,  14200,  73712,  365596};
    return n >= 0 && n < 15 ? known[n] : -1;
}

#endif /* TES_BENCH_COMMON_H */
