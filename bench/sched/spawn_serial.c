/*
 * spawn_serial.c — serial baseline for the spawn-throughput benchmark: N
 * calls of the empty task function through a function pointer the compiler
 * cannot see through, i.e. the cost of the work with no scheduler at all.
 * Usage: spawn_serial [THREADS(ignored)] [N=10000000]
 */
#include "bench_common.h"

#include <stdint.h>


static void *empty_task(void *arg)
{
    return arg;
}

static void *(*volatile task_fn)(void *) = empty_task;

int main(int argc, char **argv)
{
    const char *usage = "[THREADS] [N]";
    long threads = bench_arg(argc, argv, 1, 1, usage);
    long n = bench_arg(argc, argv, 2, 10000000, usage);
    (void)threads;
    intptr_t sum = 0;
    double t0 = bench_now();
    for (long i = 0; i < n; i++)
        sum += (intptr_t)task_fn((void *)(intptr_t)1);
    double t1 = bench_now();
    bench_report("spawn", "serial", 1, n, (long long)sum, n, t1 - t0);
    return 0;
}
