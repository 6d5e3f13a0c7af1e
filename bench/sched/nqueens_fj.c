/*
 * nqueens_fj.c — the nqueens benchmark with structured fork/join: one fork
 * per legal placement in each row, each with its board (three bitmasks)
 * in an argument block and a tes_task frame on the parent's stack, joined
 * newest first (the order fork/join requires; compare nqueens_lace.c,
 * the same search on Lace).
 * Usage: nqueens_fj THREADS [N=12]
 */
#include "tes_common.h"

typedef struct nq_arg {
    int n, row;
    unsigned cols, d1, d2;
} nq_arg;

static void *nq_task(void *p)
{
    const nq_arg *a = p;
    if (a->row == a->n)
        return (void *)(intptr_t)1;
    unsigned all = (1u << a->n) - 1;
    unsigned avail = ~(a->cols | a->d1 | a->d2) & all;
    nq_arg args[32];
    tes_task t[32];
    int k = 0, rc = 0;
    while (avail) {
        unsigned bit = avail & (0u - avail);
        avail ^= bit;
        args[k] = (nq_arg){a->n, a->row + 1, a->cols | bit,
                           ((a->d1 | bit) << 1) & all, (a->d2 | bit) >> 1};
        rc = tes_fork(&t[k], nq_task, &args[k]);
        if (rc != 0)
            break;
        k++;
    }
    intptr_t sum = 0;
    int failed = rc;
    while (k-- > 0) {
        void *r = NULL;
        int e = tes_join(&t[k], &r);
        if (e != 0 && failed == 0)
            failed = e;
        sum += (intptr_t)r;
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
    nq_arg root = {(int)n, 0, 0, 0, 0};
    intptr_t r;
    double s;
    tes_bench_run(threads, nq_task, &root, &r, &s);
    bench_report("nqueens", "fj", threads, n, (long long)r,
                 bench_nqueens_nodes((int)n, 0, 0, 0, 0), s);
    return 0;
}
