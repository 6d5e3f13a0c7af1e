/*
 * test_rt_parallel.c — parallel_for (1-D and 2-D) visits every index exactly
 * once for odd sizes and grains; parallel_reduce of a float sum is
 * bit-identical at 1, 2, 3 and 8 threads and equal to a serial walk of the
 * same split tree; large accumulators; nested use inside tasks.
 */
#include <check.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "suite_main.h"
#include "tessera.h"

static const int thread_counts[] = {1, 2, 3, 8};

static tes_pool *make_pool(int threads)
{
    tes_pool *p = NULL;
    tes_pool_options o = TES_POOL_OPTIONS_INIT;
    o.threads = threads;
    ck_assert_int_eq(tes_pool_create(&p, &o), 0);
    return p;
}

/* ---- 1-D ------------------------------------------------------------------ */

struct visit {
    _Atomic unsigned char *hits;
    size_t grain;
    _Atomic int too_long;
};

static void mark(size_t b, size_t e, void *ctx)
{
    struct visit *v = ctx;
    if (v->grain && e - b > v->grain)
        atomic_store(&v->too_long, 1);
    for (size_t i = b; i < e; i++)
        atomic_fetch_add(&v->hits[i], 1);
}

START_TEST(parallel_for_visits_every_index_once)
{
    tes_pool *p = make_pool(thread_counts[_i]);
    const size_t sizes[] = {0, 1, 7, 1001, 5003};
    const size_t grains[] = {0, 1, 3, 64, 1000, 100000};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++)
        for (size_t g = 0; g < sizeof grains / sizeof *grains; g++) {
            size_t n = sizes[s], off = 5;
            struct visit v = {calloc(n + off + 1, 1), grains[g], 0};
            ck_assert_int_eq(tes_parallel_for(p, off, off + n, grains[g], mark, &v), 0);
            for (size_t i = 0; i < n + off + 1; i++)
                ck_assert_msg(atomic_load(&v.hits[i]) == (i >= off && i < off + n),
                              "n=%zu grain=%zu index %zu visited %d times", n,
                              grains[g], i, (int)atomic_load(&v.hits[i]));
            ck_assert_int_eq(atomic_load(&v.too_long), 0);
            free((void *)v.hits);
        }
    tes_pool_destroy(p);
}
END_TEST

/* ---- 2-D ------------------------------------------------------------------ */

struct visit2 {
    _Atomic unsigned char *hits;
    size_t cols, gr, gc;
    _Atomic int too_big;
};

static void mark2(size_t r0, size_t r1, size_t c0, size_t c1, void *ctx)
{
    struct visit2 *v = ctx;
    if ((v->gr && r1 - r0 > v->gr) || (v->gc && c1 - c0 > v->gc))
        atomic_store(&v->too_big, 1);
    for (size_t r = r0; r < r1; r++)
        for (size_t c = c0; c < c1; c++)
            atomic_fetch_add(&v->hits[r * v->cols + c], 1);
}

START_TEST(parallel_for_2d_visits_every_cell_once)
{
    tes_pool *p = make_pool(thread_counts[_i]);
    const size_t dims[][2] = {{1, 1}, {3, 1000}, {1000, 3}, {67, 61}, {17, 17}};
    const size_t grains[][2] = {{0, 0}, {1, 1}, {5, 0}, {0, 7}, {16, 16}, {1000, 1000}};
    for (size_t d = 0; d < sizeof dims / sizeof *dims; d++)
        for (size_t g = 0; g < sizeof grains / sizeof *grains; g++) {
            size_t rows = dims[d][0], cols = dims[d][1];
            struct visit2 v = {calloc(rows * cols, 1), cols, grains[g][0],
                               grains[g][1], 0};
            ck_assert_int_eq(tes_parallel_for_2d(p, rows, cols, grains[g][0],
                                                 grains[g][1], mark2, &v), 0);
            for (size_t i = 0; i < rows * cols; i++)
                ck_assert_msg(atomic_load(&v.hits[i]) == 1,
                              "%zux%zu cell %zu visited %d times", rows, cols, i,
                              (int)atomic_load(&v.hits[i]));
            ck_assert_int_eq(atomic_load(&v.too_big), 0);
            free((void *)v.hits);
        }
    ck_assert_int_eq(tes_parallel_for_2d(p, 0, 5, 0, 0, mark2, NULL), 0);
    tes_pool_destroy(p);
}
END_TEST

/* ---- reduce --------------------------------------------------------------- */

#define NFLOAT 300007
static float *data;

static void make_data(void)
{
    data = malloc(NFLOAT * sizeof *data);
    uint32_t s = 12345;
    for (size_t i = 0; i < NFLOAT; i++) {
        s = s * 1664525u + 1013904223u;
        /* Mixed magnitudes, so that the order of additions shows. */
        data[i] = (float)(s >> 8) / (float)(1u << 24) * ((i % 7) ? 1.0f : 1000.0f);
    }
}

static void sum_leaf(size_t b, size_t e, void *acc, void *ctx)
{
    const float *x = ctx;
    float s = 0.0f;
    for (size_t i = b; i < e; i++)
        s += x[i];
    *(float *)acc = s;
}

static void sum_combine(void *l, const void *r, void *ctx)
{
    (void)ctx;
    *(float *)l += *(const float *)r;
}

/* The reference: the same tree, walked serially. */
static float serial_tree(size_t b, size_t e, size_t g)
{
    if (e - b <= g) {
        float s;
        sum_leaf(b, e, &s, data);
        return s;
    }
    size_t leaves = (e - b + g - 1) / g, m = b + leaves / 2 * g;
    float l = serial_tree(b, m, g);
    float r = serial_tree(m, e, g);
    l += r;
    return l;
}

START_TEST(parallel_reduce_is_bit_identical_at_any_thread_count)
{
    make_data();
    const size_t grains[] = {0, 1000, 4096, 100003};
    for (size_t g = 0; g < sizeof grains / sizeof *grains; g++) {
        size_t grain = grains[g];
        size_t eff = grain ? grain : (NFLOAT + TES_AUTO_LEAVES - 1) / TES_AUTO_LEAVES;
        float want = serial_tree(0, NFLOAT, eff);
        for (size_t t = 0; t < 4; t++) {
            tes_pool *p = make_pool(thread_counts[t]);
            for (int rep = 0; rep < 2; rep++) {
                float got = -1.0f;
                ck_assert_int_eq(tes_parallel_reduce(p, 0, NFLOAT, grain, &got,
                                                     sizeof got, sum_leaf,
                                                     sum_combine, data), 0);
                ck_assert_msg(memcmp(&got, &want, sizeof got) == 0,
                              "threads %d grain %zu: %.9g != %.9g",
                              thread_counts[t], grain, got, want);
            }
            tes_pool_destroy(p);
        }
    }
    /* Not the plain left-to-right sum: the test would not see an order
     * change otherwise. */
    float seq;
    sum_leaf(0, NFLOAT, &seq, data);
    ck_assert(serial_tree(0, NFLOAT, 1000) != seq);
    free(data);
}
END_TEST

/* A 64-bin histogram: an accumulator too big for the stack path. */
struct hist {
    long bin[64];
};

static void hist_leaf(size_t b, size_t e, void *acc, void *ctx)
{
    (void)ctx;
    struct hist *h = acc;
    memset(h, 0, sizeof *h);
    for (size_t i = b; i < e; i++)
        h->bin[(i * 2654435761u) % 64]++;
}

static void hist_combine(void *l, const void *r, void *ctx)
{
    (void)ctx;
    struct hist *a = l;
    const struct hist *b = r;
    for (int i = 0; i < 64; i++)
        a->bin[i] += b->bin[i];
}

START_TEST(parallel_reduce_large_accumulators_and_empty_ranges)
{
    tes_pool *p = make_pool(thread_counts[_i]);
    struct hist h, want;
    hist_leaf(0, 100000, &want, NULL);
    ck_assert_int_eq(tes_parallel_reduce(p, 0, 100000, 77, &h, sizeof h,
                                         hist_leaf, hist_combine, NULL), 0);
    ck_assert_int_eq(memcmp(&h, &want, sizeof h), 0);
    float s = -1.0f;
    ck_assert_int_eq(tes_parallel_reduce(p, 10, 10, 0, &s, sizeof s, sum_leaf,
                                         sum_combine, NULL), 0);
    ck_assert(s == 0.0f);
    ck_assert_int_eq(tes_parallel_reduce(NULL, 0, 1, 0, &s, sizeof s, sum_leaf,
                                         sum_combine, NULL), -EINVAL);
    ck_assert_int_eq(tes_parallel_reduce(p, 0, 1, 0, NULL, sizeof s, sum_leaf,
                                         sum_combine, NULL), -EINVAL);
    ck_assert_int_eq(tes_parallel_for(p, 0, 1, 0, NULL, NULL), -EINVAL);
    ck_assert_int_eq(tes_parallel_for(NULL, 0, 1, 0, mark, NULL), -EINVAL);
    ck_assert_int_eq(tes_parallel_for_2d(p, 1, 1, 0, 0, NULL, NULL), -EINVAL);
    tes_pool_destroy(p);
}
END_TEST

/* ---- nested --------------------------------------------------------------- */

static void count_leaf(size_t b, size_t e, void *acc, void *ctx)
{
    (void)ctx;
    long s = 0;
    for (size_t i = b; i < e; i++)
        s += (long)i;
    *(long *)acc = s;
}

static void long_combine(void *l, const void *r, void *ctx)
{
    (void)ctx;
    *(long *)l += *(const long *)r;
}

struct nested {
    tes_pool *p;
    long sums[100];
};

/* Each outer iteration runs an inner reduction on the same pool. */
static void outer_body(size_t b, size_t e, void *ctx)
{
    struct nested *n = ctx;
    ck_assert_ptr_eq(tes_current_pool(), n->p);
    for (size_t i = b; i < e; i++) {
        long s = 0;
        ck_assert_int_eq(tes_parallel_reduce(n->p, 0, 1000 * (i + 1), 0, &s,
                                             sizeof s, count_leaf, long_combine,
                                             NULL), 0);
        n->sums[i] = s;
    }
}

static void *nested_root(void *arg)
{
    struct nested *n = arg;
    ck_assert_int_eq(tes_parallel_for(n->p, 0, 100, 1, outer_body, n), 0);
    return NULL;
}

START_TEST(parallel_nested_inside_tasks)
{
    tes_pool *p = make_pool(thread_counts[_i]);
    struct nested n = {p, {0}};
    tes_future *f;
    ck_assert_int_eq(tes_spawn(&f, p, nested_root, &n), 0);
    ck_assert_int_eq(tes_await(f, NULL), 0);
    tes_future_release(f);
    for (long i = 0; i < 100; i++) {
        long m = 1000 * (i + 1);
        ck_assert_int_eq(n.sums[i], m * (m - 1) / 2);
    }
    tes_pool_destroy(p);
}
END_TEST

static Suite *parallel_suite(void)
{
    Suite *s = suite_create("parallel");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, parallel_for_visits_every_index_once, 0, 4);
    tcase_add_loop_test(tc, parallel_for_2d_visits_every_cell_once, 0, 4);
    tcase_add_test(tc, parallel_reduce_is_bit_identical_at_any_thread_count);
    tcase_add_loop_test(tc, parallel_reduce_large_accumulators_and_empty_ranges, 0, 4);
    tcase_add_loop_test(tc, parallel_nested_inside_tasks, 0, 4);
    suite_add_tcase(s, tc);
    return s;
}

TES_CHECK_MAIN(parallel_suite)
