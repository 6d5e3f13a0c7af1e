/*
 * platform.h — private: what the runtime needs from the compiler, the CPU
 * and the operating system, in one place: branch hints, the spin-wait hint
 * of each architecture, a cheap tick counter, the monotonic clock, futexes,
 * the CPUs this process may use, and the fork() generation. Depends on
 * nothing else in the runtime.
 */
#ifndef TES_PLATFORM_H
#define TES_PLATFORM_H

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#if defined(__GNUC__)
#define TES_LIKELY(x) __builtin_expect(!!(x), 1)
#define TES_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define TES_NOINLINE __attribute__((noinline))
#define TES_TLS _Thread_local __attribute__((tls_model("initial-exec")))
#else
#define TES_LIKELY(x) (x)
#define TES_UNLIKELY(x) (x)
#define TES_NOINLINE
#define TES_TLS _Thread_local
#endif

/* The unit of false sharing on every CPU we run on (some ARM cores fetch
 * lines in pairs; 64 is what the layout assertions are written for). */
#define TES_CACHE_LINE 64

/* ---- spinning ------------------------------------------------------------ */

/* The CPU's hint for the body of a spin-wait loop: it frees the pipeline
 * (and, with SMT, the sibling thread) and lowers power, without giving up
 * the CPU. Where an architecture has none, a compiler barrier keeps the
 * loop from being optimised into a tight reload. */
static inline void tes__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__) || (defined(__arm__) && __ARM_ARCH >= 7)
    __asm__ __volatile__("yield" ::: "memory");
#elif defined(__powerpc__) || defined(__powerpc64__)
    __asm__ __volatile__("or 27,27,27" ::: "memory"); /* low SMT priority */
#elif defined(__riscv)
    /* Zihintpause's PAUSE, encoded as the FENCE hint it is (a no-op on
     * cores without the extension), so that older assemblers accept it. */
    __asm__ __volatile__(".insn i 0x0F, 0, x0, x0, 0x010" ::: "memory");
#elif defined(__loongarch__)
    __asm__ __volatile__("dbar 0" ::: "memory");
#else
    __asm__ __volatile__("" ::: "memory");
#endif
}

/* ---- time ---------------------------------------------------------------- */

static inline long long tes__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* A cheap, monotonic-enough tick counter for short intervals measured on
 * one thread (the TSC on x86, the virtual counter on ARM64, else the
 * clock). Convert with tes__ticks_per_us(). */
static inline uint64_t tes__ticks(void)
{
#if defined(__x86_64__) || defined(__i386__)
    return __builtin_ia32_rdtsc();
#elif defined(__aarch64__)
    uint64_t v;
    __asm__ __volatile__("mrs %0, cntvct_el0" : "=r"(v));
    return v;
#else
    return (uint64_t)tes__now_ns();
#endif
}

/* Ticks of tes__ticks() per microsecond (>= 1), measured or read once per
 * process (platform.c). */
uint64_t tes__ticks_per_us(void);

/* ---- futexes ------------------------------------------------------------- */

/* Sleeps while *word == expected, at most timeout_ns (< 0: no limit).
 * Returns on a wake, a timeout, a signal or when *word already differs;
 * callers re-check their condition in a loop. */
static inline void tes__futex_wait(_Atomic uint32_t *word, uint32_t expected,
                                   long long timeout_ns)
{
    struct timespec ts, *tsp = NULL;
    if (timeout_ns >= 0) {
        ts.tv_sec = (time_t)(timeout_ns / 1000000000LL);
        ts.tv_nsec = (long)(timeout_ns % 1000000000LL);
        tsp = &ts;
    }
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_PRIVATE, expected, tsp,
            NULL, 0);
}

static inline void tes__futex_wake(_Atomic uint32_t *word, int n)
{
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

/* ---- CPUs and processes ---------------------------------------------------- */

/* The CPUs this process may run on: its affinity mask, capped by the
 * cgroup CPU quota where one is set. Always >= 1. */
int tes__cpu_count(void);

/* The process's fork() generation: 0 in a process that never forked,
 * bumped in a child (on its only thread, before fork() returns there).
 * tes__platform_init() must have run once in the process. */
extern _Atomic unsigned tes__fork_gen;
void tes__platform_init(void);

static inline unsigned tes__fork_generation(void)
{
    /* relaxed: written only by the fork child handler, which runs on the
     * sole thread of the child before anything else. */
    return atomic_load_explicit(&tes__fork_gen, memory_order_relaxed);
}

#endif
