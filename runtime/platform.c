/*
 * platform.c — the out-of-line parts of platform.h: the CPUs this process
 * may use (affinity mask and cgroup quota), the tick rate, and the fork()
 * generation counter with its child handler.
 */
#include "platform.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Atomic unsigned tes__fork_gen;

static void fork_child(void)
{
    /* relaxed: single-threaded here; later threads are created after it. */
    atomic_fetch_add_explicit(&tes__fork_gen, 1, memory_order_relaxed);
}

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init(void)
{
    pthread_atfork(NULL, NULL, fork_child);
    (void)tes__ticks_per_us();
}

void tes__platform_init(void)
{
    pthread_once(&init_once, init);
}

/* ---- ticks ---------------------------------------------------------------- */

static _Atomic uint64_t ticks_per_us; /* 0 until measured */

static uint64_t measure_ticks_per_us(void)
{
#if defined(__aarch64__)
    uint64_t f;
    __asm__ __volatile__("mrs %0, cntfrq_el0" : "=r"(f));
    return f >= 1000000 ? f / 1000000 : 1;
#elif defined(__x86_64__) || defined(__i386__)
    /* The TSC against the clock over about 200 us, once per process. */
    long long t0 = tes__now_ns();
    uint64_t c0 = tes__ticks();
    long long t1;
    do
        t1 = tes__now_ns();
    while (t1 - t0 < 200000);
    uint64_t c1 = tes__ticks();
    uint64_t r = (c1 - c0) * 1000 / (uint64_t)(t1 - t0);
    return r ? r : 1;
#else
    return 1000; /* tes__ticks() is the clock in ns */
#endif
}

uint64_t tes__ticks_per_us(void)
{
    /* relaxed: a value computed the same way by anyone; racing first
     * callers both store a good measurement. */
    uint64_t r = atomic_load_explicit(&ticks_per_us, memory_order_relaxed);
    if (TES_UNLIKELY(r == 0)) {
        r = measure_ticks_per_us();
        atomic_store_explicit(&ticks_per_us, r, memory_order_relaxed);
    }
    return r;
}

/* ---- CPUs ------------------------------------------------------------------ */

/* The CPU quota of this process's cgroup, rounded up, or 0 when none. */
static int cgroup_cpu_limit(void)
{
    char path[640] = "/sys/fs/cgroup/cpu.max";
    FILE *cg = fopen("/proc/self/cgroup", "r");
    if (cg) {
        char line[512];
        while (fgets(line, sizeof line, cg)) {
            if (strncmp(line, "0::", 3) == 0) { /* cgroup v2 */
                line[strcspn(line, "\n")] = 0;
                snprintf(path, sizeof path, "/sys/fs/cgroup%s/cpu.max",
                         strcmp(line + 3, "/") ? line + 3 : "");
            }
        }
        fclose(cg);
    }
    long long quota = -1, period = 0;
    FILE *fp = fopen(path, "r");
    if (!fp)
        fp = fopen("/sys/fs/cgroup/cpu.max", "r");
    if (fp) {
        char q[32];
        if (fscanf(fp, "%31s %lld", q, &period) == 2 && strcmp(q, "max"))
            quota = strtoll(q, NULL, 10);
        fclose(fp);
    } else if ((fp = fopen("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "r"))) {
        if (fscanf(fp, "%lld", &quota) != 1)
            quota = -1;
        fclose(fp);
        if ((fp = fopen("/sys/fs/cgroup/cpu/cpu.cfs_period_us", "r"))) {
            if (fscanf(fp, "%lld", &period) != 1)
                period = 0;
            fclose(fp);
        }
    }
    if (quota <= 0 || period <= 0)
        return 0;
    return (int)((quota + period - 1) / period);
}

int tes__cpu_count(void)
{
    int n = 0;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        n = CPU_COUNT(&set);
    if (n <= 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n = c > 0 ? (int)c : 1;
    }
    int q = cgroup_cpu_limit();
    if (q > 0 && q < n)
        n = q;
    return n;
}
