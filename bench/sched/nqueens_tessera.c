/*
 * nqueens_tessera.c — the nqueens benchmark on tessera: a task per legal
 * placement in each row, each with its board (three bitmasks) in an argument
 * block on the parent's stack, which outlives the children because the
 * parent awaits them all before returning. The futures are awaited newest
 * first, the order in which they sit in the worker's own deque; with
 * TES_BENCH_AWAIT=forward in the environment, oldest first instead.
 * Usage: nqueens_tessera THREADS [N=12]
 */
#include "tes_common.h"

typedef struct nq_arg {
    int n, row;
    unsigned cols, d1, d2;
} nq_arg;

static int await_forward; /* set once in main, before any task runs */

static void *nq_task(void *p)
{
    const nq_arg *a = p;
    if (a->row == a->n)
        return (void *)(intptr_t)1;
    unsigned all = (1u << a->n) - 1;
    unsigned avail = ~(a->cols | a->d1 | a->d2) & all;
    nq_arg args[32];
    tes_future *fs[32];
    int k = 0, rc = 0;
    tes_pool *pool = tes_current_pool();
    while (avail) {
        unsigned bit = avail & (0u - avail);
        avail ^= bit;
        args[k] = (nq_arg){a->n, a->row + 1, a->cols | bit,
                           ((a->d1 | bit) << 1) & all, (a->d2 | bit) >> 1};
        rc = tes_spawn(&fs[k], pool, nq_task, &args[k]);
        if (rc != 0)
            break;
        k++;
    }
    intptr_t sum = 0;
    int failed = rc;
    for (int j = 0; j < k; j++) {
        int i = await_forward ? j : k - 1 - j;
        void *r = NULL;
        int e = tes_await(fs[i], &r);
        if (e != 0 && failed == 0)
            failed = e;
        sum += (intptr_t)r;
        tes_future_release(fs[i]);
    }
    if (failed != 0)
        return tes_fail(failed, "nqueens row %d", a->row);
    return (void *)sum;
}

int main(int argc, char **argv)
{
    const char *usage = "THREADS [N]";
    long threads = bench_arg(argc, argv, 1, 1, usage);
    long n = bench_nqueens_n(argc, argv, usage);
    const char *order = getenv("TES_BENCH_AWAIT");
    await_forward = order != NULL && strcmp(order, "forward") == 0;
    nq_arg root = {(int)n, 0, 0, 0, 0};
    intptr_t r;
    double s;
    tes_bench_run(threads, nq_task, &root, &r, &s);
    bench_report("nqueens", "tessera", threads, n, (long long)r,
                 bench_nqueens_nodes((int)n, 0, 0, 0, 0), s);
    return 0;
}
