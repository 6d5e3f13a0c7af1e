/*
 * test_rt_deque.c — the split deque alone: the owner's private LIFO, what
 * publishing offers to thieves (oldest first), the owner taking public items
 * back, stolen tops, a full deque, and a concurrent stress in which every
 * item must be taken exactly once while the owner pushes, publishes and pops
 * and thieves steal.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "../runtime/deque.h"
#include "suite_main.h"

/* Items are pointers with bits 0 and 1 clear (as frames and forks are not
 * 2); these encode an index. */
#define ITEM(i) ((void *)(uintptr_t)(((i) + 1) * 4))
#define INDEX(p) ((long)((uintptr_t)(p) / 4) - 1)

static void *steal(tes_deque *d)
{
    uint32_t index;
    void *x = tes__deque_steal(d, &index);
    if (x)
        tes__deque_ack(d, index);
    return x;
}

START_TEST(deque_owner_pops_lifo_privately)
{
    tes_deque d;
    ck_assert_int_eq(tes__deque_init(&d, 64), 0);
    for (long i = 0; i < 10; i++)
        ck_assert_int_eq(tes__deque_push(&d, ITEM(i)), 0);
    /* Nothing is public until published: a thief finds nothing and asks. */
    ck_assert(!tes__deque_wanted(&d));
    ck_assert_ptr_null(steal(&d));
    ck_assert(tes__deque_wanted(&d));
    ck_assert_uint_eq(tes__deque_public(&d), 0);
    ck_assert(tes__deque_top_is(&d, ITEM(9)));
    ck_assert(!tes__deque_top_is(&d, ITEM(8)));
    for (long i = 9; i >= 0; i--)
        ck_assert_int_eq(INDEX(tes__deque_pop(&d)), i);
    ck_assert_ptr_null(tes__deque_pop(&d));
    ck_assert_uint_eq(tes__deque_depth(&d), 0);
    tes__deque_destroy(&d);
}
END_TEST

START_TEST(deque_publishes_the_oldest_half_to_thieves)
{
    tes_deque d;
    ck_assert_int_eq(tes__deque_init(&d, 64), 0);
    for (long i = 0; i < 10; i++)
        tes__deque_push(&d, ITEM(i));
    ck_assert_ptr_null(steal(&d)); /* asks */
    ck_assert_uint_eq(tes__deque_publish(&d, tes__deque_depth(&d)), 5);
    ck_assert(!tes__deque_wanted(&d));
    ck_assert_uint_eq(tes__deque_public(&d), 5);
    for (long i = 0; i < 5; i++)
        ck_assert_int_eq(INDEX(steal(&d)), i);
    ck_assert_ptr_null(steal(&d));
    ck_assert(tes__deque_wanted(&d));
    /* The owner's private part is untouched: 9..5, then the stolen tops
     * one by one, then empty. */
    for (long i = 9; i >= 5; i--)
        ck_assert_int_eq(INDEX(tes__deque_pop(&d)), i);
    for (int i = 0; i < 5; i++)
        ck_assert_ptr_eq(tes__deque_pop(&d), TES_DEQUE_STOLEN);
    ck_assert_ptr_null(tes__deque_pop(&d));
    /* Empty again, from the bottom: pushes reuse the slots. */
    for (long i = 20; i < 24; i++)
        tes__deque_push(&d, ITEM(i));
    ck_assert_uint_eq(tes__deque_publish(&d, tes__deque_depth(&d)), 2);
    ck_assert_int_eq(INDEX(steal(&d)), 20);
    for (long i = 23; i >= 22; i--)
        ck_assert_int_eq(INDEX(tes__deque_pop(&d)), i);
    /* 21 is public and not stolen: the owner takes it back. */
    ck_assert_int_eq(INDEX(tes__deque_pop(&d)), 21);
    ck_assert_ptr_eq(tes__deque_pop(&d), TES_DEQUE_STOLEN);
    ck_assert_ptr_null(tes__deque_pop(&d));
    tes__deque_destroy(&d);
}
END_TEST

START_TEST(deque_owner_takes_public_items_back)
{
    tes_deque d;
    ck_assert_int_eq(tes__deque_init(&d, 64), 0);
    for (long i = 0; i < 16; i++)
        tes__deque_push(&d, ITEM(i));
    /* Publish everything (8, 4, 2, 1, then the last one). */
    while (tes__deque_publish(&d, tes__deque_depth(&d)) > 0)
        ;
    ck_assert_uint_eq(tes__deque_public(&d), 16);
    ck_assert(!tes__deque_top_is(&d, ITEM(15))); /* public: not the fast path */
    /* Popping the public top takes back the newer half of the public part:
     * the older half stays for thieves. */
    ck_assert_int_eq(INDEX(tes__deque_pop(&d)), 15);
    ck_assert_uint_eq(tes__deque_public(&d), 8);
    ck_assert_int_eq(INDEX(steal(&d)), 0);
    for (long i = 14; i >= 7; i--)
        ck_assert_int_eq(INDEX(tes__deque_pop(&d)), i);
    /* Taking 7 back left 1..3 public, 4..6 private; thieves get 1 and 2,
     * the owner the rest (3 from the public part). */
    ck_assert_int_eq(INDEX(tes__deque_pop(&d)), 6);
    ck_assert_int_eq(INDEX(steal(&d)), 1);
    ck_assert_int_eq(INDEX(steal(&d)), 2);
    ck_assert_int_eq(INDEX(tes__deque_pop(&d)), 5);
    ck_assert_int_eq(INDEX(tes__deque_pop(&d)), 4);
    ck_assert_int_eq(INDEX(tes__deque_pop(&d)), 3);
    ck_assert_ptr_eq(tes__deque_pop(&d), TES_DEQUE_STOLEN);
    ck_assert_ptr_eq(tes__deque_pop(&d), TES_DEQUE_STOLEN);
    ck_assert_ptr_eq(tes__deque_pop(&d), TES_DEQUE_STOLEN);
    ck_assert_ptr_null(tes__deque_pop(&d));
    ck_assert_ptr_null(steal(&d));
    tes__deque_destroy(&d);
}
END_TEST

START_TEST(deque_full_refuses_a_push)
{
    tes_deque d;
    ck_assert_int_eq(tes__deque_init(&d, 16), 0);
    for (long i = 0; i < 16; i++)
        ck_assert_int_eq(tes__deque_push(&d, ITEM(i)), 0);
    ck_assert_int_eq(tes__deque_push(&d, ITEM(16)), -ENOSPC);
    ck_assert_int_eq(INDEX(tes__deque_pop(&d)), 15);
    ck_assert_int_eq(tes__deque_push(&d, ITEM(16)), 0);
    ck_assert_int_eq(INDEX(tes__deque_pop(&d)), 16);
    tes__deque_destroy(&d);
}
END_TEST

#define STRESS_ITEMS 300000
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
    while (!atomic_load(&s->done) || tes__deque_public(&s->d) > 0) {
        uint32_t index;
        void *x = tes__deque_steal(&s->d, &index);
        if (x) {
            record(s, x);
            /* Acknowledge late now and then: the owner must wait for it
             * before it reuses the slot. */
            if ((index & 7) == 0)
                sched_yield();
            tes__deque_ack(&s->d, index);
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
    ck_assert_int_eq(tes__deque_init(&s->d, 4096), 0);
    pthread_t th[STRESS_THIEVES];
    for (int i = 0; i < STRESS_THIEVES; i++)
        pthread_create(&th[i], NULL, thief, s);
    long taken = 0, stolen_tops = 0;
    unsigned r = 12345;
    for (long i = 0; i < STRESS_ITEMS;) {
        /* Bursts of pushes, then some pops: the deque swings between
         * empty (tops stolen, public items taken back) and deep, and the
         * owner publishes whenever thieves ask. */
        r = r * 1103515245u + 12345u;
        long burst = 1 + (long)(r >> 16) % 64;
        for (long k = 0; k < burst && i < STRESS_ITEMS; k++, i++) {
            ck_assert_int_eq(tes__deque_push(&s->d, ITEM(i)), 0);
            if (tes__deque_wanted(&s->d))
                tes__deque_publish(&s->d, tes__deque_depth(&s->d));
        }
        long pops = (long)(r >> 8) % 72;
        for (long k = 0; k < pops; k++) {
            void *x = tes__deque_pop(&s->d);
            if (!x)
                break;
            if (x == TES_DEQUE_STOLEN) {
                stolen_tops++;
                continue;
            }
            record(s, x);
            taken++;
        }
    }
    void *x;
    while ((x = tes__deque_pop(&s->d))) {
        if (x == TES_DEQUE_STOLEN) {
            stolen_tops++;
            continue;
        }
        record(s, x);
        taken++;
    }
    atomic_store(&s->done, 1);
    for (int i = 0; i < STRESS_THIEVES; i++)
        pthread_join(th[i], NULL);
    ck_assert_int_eq(taken + atomic_load(&s->stolen), STRESS_ITEMS);
    /* Every stolen item was met by the owner as a stolen top once. */
    ck_assert_int_eq(stolen_tops, atomic_load(&s->stolen));
    ck_assert_int_gt(atomic_load(&s->stolen), 0); /* the test means something */
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
    tcase_add_test(tc, deque_owner_pops_lifo_privately);
    tcase_add_test(tc, deque_publishes_the_oldest_half_to_thieves);
    tcase_add_test(tc, deque_owner_takes_public_items_back);
    tcase_add_test(tc, deque_full_refuses_a_push);
    tcase_add_test(tc, deque_concurrent_steals_take_each_item_once);
    suite_add_tcase(s, tc);
    return s;
}

TES_CHECK_MAIN(deque_suite)
