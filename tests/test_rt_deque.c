/*
 * test_rt_deque.c — the Chase–Lev deque alone: owner LIFO and thief FIFO
 * order, growth, and a concurrent stress in which every item must be taken
 * exactly once.
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "../runtime/deque.h"
#include "suite_main.h"

#define ITEM(i) ((void *)(uintptr_t)((i) + 1))
#define INDEX(p) ((long)(uintptr_t)(p) - 1)

START_TEST(deque_owner_takes_lifo)
{
    tes_deque d;
    ck_assert_int_eq(tes__deque_init(&d, 16), 0);
    for (long i = 0; i < 10; i++)
        ck_assert_int_eq(tes__deque_push(&d, ITEM(i)), 0);
    for (long i = 9; i >= 0; i--)
        ck_assert_int_eq(INDEX(tes__deque_take(&d)), i);
    ck_assert_ptr_null(tes__deque_take(&d));
    ck_assert_ptr_null(tes__deque_steal(&d));
    tes__deque_destroy(&d);
}
END_TEST

START_TEST(deque_thief_steals_fifo)
{
    tes_deque d;
    ck_assert_int_eq(tes__deque_init(&d, 16), 0);
    for (long i = 0; i < 10; i++)
        tes__deque_push(&d, ITEM(i));
    for (long i = 0; i < 5; i++)
        ck_assert_int_eq(INDEX(tes__deque_steal(&d)), i);
    /* The owner still sees the newest first, and the two ends meet. */
    ck_assert_int_eq(INDEX(tes__deque_take(&d)), 9);
    ck_assert_int_eq(INDEX(tes__deque_steal(&d)), 5);
    ck_assert_int_eq(INDEX(tes__deque_take(&d)), 8);
    ck_assert_int_eq(INDEX(tes__deque_take(&d)), 7);
    ck_assert_int_eq(INDEX(tes__deque_take(&d)), 6);
    ck_assert_ptr_null(tes__deque_take(&d));
    tes__deque_destroy(&d);
}
END_TEST

START_TEST(deque_grows_and_keeps_order)
{
    tes_deque d;
    ck_assert_int_eq(tes__deque_init(&d, 16), 0);
    /* Steal a few first so that the live range wraps before growing. */
    for (long i = 0; i < 10; i++)
        tes__deque_push(&d, ITEM(i));
    for (long i = 0; i < 10; i++)
        ck_assert_int_eq(INDEX(tes__deque_steal(&d)), i);
    for (long i = 10; i < 10000; i++)
        ck_assert_int_eq(tes__deque_push(&d, ITEM(i)), 0);
    ck_assert_int_eq(tes__deque_size_hint(&d), 9990);
    for (long i = 10; i < 5000; i++)
        ck_assert_int_eq(INDEX(tes__deque_steal(&d)), i);
    for (long i = 9999; i >= 5000; i--)
        ck_assert_int_eq(INDEX(tes__deque_take(&d)), i);
    ck_assert_ptr_null(tes__deque_take(&d));
    tes__deque_destroy(&d);
}
END_TEST

#define STRESS_ITEMS 200000
#define STRESS_THIEVES 3

struct stress {
    tes_deque d;
    _Atomic int done;
    _Atomic unsigned char seen[STRESS_ITEMS];
    _Atomic long stolen;
};

static void record(struct stress *s, void *x)
{
    long i = INDEX(x);
    ck_assert(i >= 0 && i < STRESS_ITEMS);
    /* Exactly once: a second take of the same item would see 1 here. */
    unsigned char prev = atomic_fetch_add(&s->seen[i], 1);
    ck_assert_int_eq(prev, 0);
}

static void *thief(void *arg)
{
    struct stress *s = arg;
    long n = 0;
    while (!atomic_load(&s->done) || tes__deque_size_hint(&s->d) > 0) {
        void *x = tes__deque_steal(&s->d);
        if (x) {
            record(s, x);
            n++;
        }
    }
    atomic_fetch_add(&s->stolen, n);
    return NULL;
}

START_TEST(deque_concurrent_steals_take_each_item_once)
{
    struct stress *s = calloc(1, sizeof *s);
    ck_assert_ptr_nonnull(s);
    /* A tiny first buffer forces many growths while thieves read. */
    ck_assert_int_eq(tes__deque_init(&s->d, 2), 0);
    pthread_t th[STRESS_THIEVES];
    for (int i = 0; i < STRESS_THIEVES; i++)
        pthread_create(&th[i], NULL, thief, s);
    long taken = 0;
    unsigned r = 12345;
    for (long i = 0; i < STRESS_ITEMS;) {
        /* Bursts of pushes, then some takes: the deque swings between
         * empty (last-item races) and long (growth). */
        r = r * 1103515245u + 12345u;
        long burst = 1 + (long)(r >> 16) % 64;
        for (long k = 0; k < burst && i < STRESS_ITEMS; k++, i++)
            ck_assert_int_eq(tes__deque_push(&s->d, ITEM(i)), 0);
        long takes = (long)(r >> 8) % 48;
        for (long k = 0; k < takes; k++) {
            void *x = tes__deque_take(&s->d);
            if (!x)
                break;
            record(s, x);
            taken++;
        }
    }
    void *x;
    while ((x = tes__deque_take(&s->d))) {
        record(s, x);
        taken++;
    }
    atomic_store(&s->done, 1);
    for (int i = 0; i < STRESS_THIEVES; i++)
        pthread_join(th[i], NULL);
    ck_assert_int_eq(taken + atomic_load(&s->stolen), STRESS_ITEMS);
    for (long i = 0; i < STRESS_ITEMS; i++)
        ck_assert_int_eq(atomic_load(&s->seen[i]), 1);
    tes__deque_destroy(&s->d);
    free(s);
}
END_TEST

static Suite *deque_suite(void)
{
    Suite *s = suite_create("deque");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, deque_owner_takes_lifo);
    tcase_add_test(tc, deque_thief_steals_fifo);
    tcase_add_test(tc, deque_grows_and_keeps_order);
    tcase_add_test(tc, deque_concurrent_steals_take_each_item_once);
    suite_add_tcase(s, tc);
    return s;
}

TES_CHECK_MAIN(deque_suite)
