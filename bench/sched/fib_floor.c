/*
 * fib_floor.c — the floor of fib through tes_fork/tes_join's shape, with
 * no runtime at all: fib(n-1) is called through a function pointer and an
 * argument stored in a frame on the stack whose address escapes (as a
 * fork's frame does into the deque), fib(n-2) directly. No fork/join
 * implementation behind that API can be faster: the join cannot call its
 * task directly (tes_join(t, &result) does not name the function), so the
 * compiler cannot turn the recursion into the loop it makes of Lace's
 * SYNC, and a frame that escapes is written and read through memory.
 * Serial; compare with fib_fj.c and fib_lace.c at 1 thread.
 * Usage: fib_floor [THREADS(ignored)] [N=35]
 */
#include "bench_common.h"

#include <stdint.h>

typedef struct frame {
    void *(*fn)(void *);
    void *arg;
} frame;

/* Where each frame's address escapes to, as into a deque slot. */
static frame *volatile escaped;

static void *fib(void *arg)
{
    intptr_t n = (intptr_t)arg;
    if (n < 2)
        return arg;
    frame t;
    t.fn = fib;
    t.arg = (void *)(n - 1);
    escaped = &t;
    void *y = fib((void *)(n - 2));
    void *x = t.fn(t.arg);
    return (void *)((intptr_t)x + (intptr_t)y);
}

int main(int argc, char **argv)
{
    const char *usage = "[THREADS] [N]";
    long threads = bench_arg(argc, argv, 1, 1, usage);
    long n = bench_arg(argc, argv, 2, 35, usage);
    (void)threads;
    double t0 = bench_now();
    long r = (long)(intptr_t)fib((void *)(intptr_t)n);
    double t1 = bench_now();
    bench_report("fib", "floor", 1, n, r, bench_fib_tasks(n), t1 - t0);
    return 0;
}
