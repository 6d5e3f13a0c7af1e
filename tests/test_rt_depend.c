/*
 * test_rt_depend.c — dependent tasks: a random DAG of thousands of tasks
 * computes what a serial evaluation computes; a failure injected at one
 * node reaches exactly the nodes downstream of it, each with the chained
 * message a serial walk predicts; inputs from other pools, no inputs,
 * detached dependents, and bad arguments.
 */
#include <check.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
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

#define NODES 3000
#define MAXIN 4
#define MOD 1000000007L

struct dag {
    int nin[NODES];
    int in[NODES][MAXIN];
    long want[NODES];
    int bad;                /* injected failure, or -1 */
    bool down[NODES];       /* downstream of bad (bad included) */
    char *msg[NODES];       /* expected message when down */
    char name[NODES][12];
};

static struct dag D;

static uint64_t rng_state;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void make_dag(uint64_t seed, int bad)
{
    rng_state = seed;
    D.bad = bad;
    for (int i = 0; i < NODES; i++) {
        snprintf(D.name[i], sizeof D.name[i], "n%d", i);
        int k = i == 0 ? 0 : (int)(rnd() % (MAXIN + 1));
        D.nin[i] = k;
        long v = (long)i * 7 % MOD;
        for (int j = 0; j < k; j++) {
            int lo = i > 300 ? i - 300 : 0;
            D.in[i][j] = lo + (int)(rnd() % (uint64_t)(i - lo));
            v = (v * 31 + D.want[D.in[i][j]]) % MOD;
        }
        D.want[i] = v;
        /* Serial failure propagation: the first failed input in order. */
        free(D.msg[i]);
        D.msg[i] = NULL;
        D.down[i] = false;
        if (i == bad) {
            D.down[i] = true;
            char buf[64];
            snprintf(buf, sizeof buf, "n%d: node %d injected", i, i);
            D.msg[i] = strdup(buf);
            continue;
        }
        for (int j = 0; j < k; j++) {
            int u = D.in[i][j];
            if (D.down[u]) {
                D.down[i] = true;
                size_t len = strlen(D.msg[u]) + 32;
                D.msg[i] = malloc(len);
                snprintf(D.msg[i], len, "n%d: input %d: %s", i, j, D.msg[u]);
                break;
            }
        }
    }
}

static void *node_fn(void *arg, void *const *inputs, size_t n)
{
    int i = (int)(intptr_t)arg;
    ck_assert_int_eq((int)n, D.nin[i]);
    if (i == D.bad)
        return tes_fail(-EIO, "node %d injected", i);
    long v = (long)i * 7 % MOD;
    for (size_t j = 0; j < n; j++)
        v = (v * 31 + (long)(intptr_t)inputs[j]) % MOD;
    return (void *)(intptr_t)v;
}

static tes_future *F[NODES];

/* Spawns the whole DAG in topological order, from wherever it is called. */
static void spawn_dag(tes_pool *p)
{
    for (int i = 0; i < NODES; i++) {
        tes_future *in[MAXIN];
        for (int j = 0; j < D.nin[i]; j++)
            in[j] = F[D.in[i][j]];
        ck_assert_int_eq(tes_spawn_after(&F[i], p, D.name[i], in,
                                         (size_t)D.nin[i], node_fn,
                                         (void *)(intptr_t)i), 0);
    }
}

static void check_dag(void)
{
    for (int i = 0; i < NODES; i++) {
        void *r;
        int rc = tes_await(F[i], &r);
        if (D.down[i]) {
            ck_assert_int_eq(rc, -EIO);
            ck_assert_str_eq(tes_future_error(F[i]), D.msg[i]);
        } else {
            ck_assert_int_eq(rc, 0);
            ck_assert_int_eq((long)(intptr_t)r, D.want[i]);
        }
    }
    for (int i = 0; i < NODES; i++)
        tes_future_release(F[i]);
}

START_TEST(depend_random_dag_matches_serial)
{
    tes_pool *p = make_pool(thread_counts[_i]);
    make_dag(0x1234567u + (uint64_t)_i, -1);
    spawn_dag(p);
    check_dag();
    tes_pool_destroy(p);
}
END_TEST

START_TEST(depend_failure_reaches_exactly_the_downstream_nodes)
{
    tes_pool *p = make_pool(thread_counts[_i]);
    make_dag(0xabcdefu + (uint64_t)_i, 700 + _i);
    int downstream = 0;
    for (int i = 0; i < NODES; i++)
        downstream += D.down[i];
    ck_assert_int_gt(downstream, 10); /* the test means something */
    ck_assert_int_lt(downstream, NODES);
    spawn_dag(p);
    check_dag();
    tes_pool_destroy(p);
}
END_TEST

static void *spawn_dag_task(void *arg)
{
    spawn_dag(arg);
    return NULL;
}

START_TEST(depend_dag_spawned_from_inside_a_task)
{
    tes_pool *p = make_pool(thread_counts[_i]);
    make_dag(0x777u + (uint64_t)_i, 1500);
    tes_future *f;
    ck_assert_int_eq(tes_spawn(&f, p, spawn_dag_task, p), 0);
    ck_assert_int_eq(tes_await(f, NULL), 0);
    tes_future_release(f);
    check_dag();
    tes_pool_destroy(p);
}
END_TEST

static void *sum_inputs(void *arg, void *const *in, size_t n)
{
    intptr_t s = (intptr_t)arg;
    for (size_t i = 0; i < n; i++)
        s += (intptr_t)in[i];
    return (void *)s;
}

static void *ident(void *arg) { return arg; }

static _Atomic int detached_sum;

static void *add_detached(void *arg, void *const *in, size_t n)
{
    (void)arg;
    ck_assert_int_eq((int)n, 2);
    atomic_fetch_add(&detached_sum, (int)((intptr_t)in[0] + (intptr_t)in[1]));
    return NULL;
}

START_TEST(depend_inputs_from_other_pools_none_and_detached)
{
    tes_pool *a = make_pool(2), *b = make_pool(1);
    tes_future *x, *y, *z, *none;
    ck_assert_int_eq(tes_spawn(&x, a, ident, (void *)20), 0);
    ck_assert_int_eq(tes_spawn(&y, b, ident, (void *)22), 0);
    ck_assert_int_eq(tes_spawn_after(&z, b, NULL, (tes_future *[]){x, y}, 2,
                                     sum_inputs, (void *)100), 0);
    ck_assert_int_eq(tes_spawn_after(&none, a, NULL, NULL, 0, sum_inputs, (void *)5), 0);
    atomic_store(&detached_sum, 0);
    ck_assert_int_eq(tes_spawn_after(NULL, a, NULL, (tes_future *[]){x, y}, 2,
                                     add_detached, NULL), 0);
    tes_future_release(x); /* the dependents keep their own references */
    tes_future_release(y);
    void *r;
    ck_assert_int_eq(tes_await(z, &r), 0);
    ck_assert_int_eq((intptr_t)r, 142);
    ck_assert_int_eq(tes_await(none, &r), 0);
    ck_assert_int_eq((intptr_t)r, 5);
    tes_future_release(z);
    tes_future_release(none);
    tes_pool_destroy(a);
    tes_pool_destroy(b);
    ck_assert_int_eq(atomic_load(&detached_sum), 42);
}
END_TEST

START_TEST(depend_rejects_bad_arguments)
{
    tes_pool *p = make_pool(1);
    tes_future *f = (tes_future *)1, *x;
    ck_assert_int_eq(tes_spawn_after(&f, NULL, NULL, NULL, 0, sum_inputs, NULL), -EINVAL);
    ck_assert_ptr_null(f);
    ck_assert_int_eq(tes_spawn_after(&f, p, NULL, NULL, 0, NULL, NULL), -EINVAL);
    ck_assert_int_eq(tes_spawn_after(&f, p, NULL, NULL, 2, sum_inputs, NULL), -EINVAL);
    ck_assert_int_eq(tes_spawn(&x, p, ident, NULL), 0);
    ck_assert_int_eq(tes_spawn_after(&f, p, NULL, (tes_future *[]){x, NULL}, 2,
                                     sum_inputs, NULL), -EINVAL);
    tes_future_release(x);
    tes_pool_destroy(p);
}
END_TEST

static void free_msgs(void)
{
    for (int i = 0; i < NODES; i++) {
        free(D.msg[i]);
        D.msg[i] = NULL;
    }
}

static Suite *depend_suite(void)
{
    Suite *s = suite_create("depend");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, NULL, free_msgs);
    tcase_add_loop_test(tc, depend_random_dag_matches_serial, 0, 4);
    tcase_add_loop_test(tc, depend_failure_reaches_exactly_the_downstream_nodes, 0, 4);
    tcase_add_loop_test(tc, depend_dag_spawned_from_inside_a_task, 0, 4);
    tcase_add_test(tc, depend_inputs_from_other_pools_none_and_detached);
    tcase_add_test(tc, depend_rejects_bad_arguments);
    suite_add_tcase(s, tc);
    return s;
}

TES_CHECK_MAIN(depend_suite)
