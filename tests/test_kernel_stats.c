/*
 * test_kernel_stats.c — the statistics reduction on in-memory tiles:
 * against a long-double whole-image reference, identical results at any
 * thread count, precision on large offsets, nodata and NaN counting,
 * histograms, empty bands.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/kernels_builtin.h"
#include "raster_test_util.h"
#include "suite_main.h"

#define W 67
#define H 59

static void make_img(tes_tile *t, double offset)
{
    ck_assert_int_eq(tes_tile_alloc(t, TES_F64, W, H, 2), 0);
    t->has_nodata = true;
    t->nodata = -9999;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            unsigned u = (unsigned)(x * 2654435761u) ^ (unsigned)(y * 40503u);
            u = (u ^ (u >> 15)) * 2246822519u;
            double n = (double)(u % 100000) / 100000.0;
            tes_tile_set(t, 0, x, y, offset + n);
            tes_tile_set(t, 1, x, y, (x + y) % 9 == 0 ? -9999 : x - 0.5 * y);
        }
    tes_tile_set(t, 0, 3, 3, NAN);
}

static void *run_stats(const tes_tile *img, tes_stats_state *st, int ts,
                       tes_pool *pool, int bins, double lo, double hi)
{
    tes_kernel k;
    ck_assert_int_eq(tes__kernel_stats(&k, st, img->bands, bins, lo, hi), 0);
    void *res = malloc(st->partial_size);
    ck_assert_int_eq(tu_run_memory(pool, &k, img, 1, NULL, res, ts,
                                            ts, NULL, 0), 0);
    return res;
}

static void check_ref(const tes_tile *img, void *res, double rel)
{
    for (int b = 0; b < img->bands; b++) {
        long double sum = 0, sq = 0;
        uint64_t n = 0, nd = 0;
        double mn = INFINITY, mx = -INFINITY;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                double v = tes_tile_get(img, b, x, y);
                if (isnan(v) || v == img->nodata) {
                    nd++;
                    continue;
                }
                n++;
                sum += v;
                mn = fmin(mn, v);
                mx = fmax(mx, v);
            }
        long double mean = sum / n;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                double v = tes_tile_get(img, b, x, y);
                if (!isnan(v) && v != img->nodata)
                    sq += (v - mean) * (v - mean);
            }
        double sd = (double)sqrtl(sq / n);
        tes_band_stats *s = tes__stats_band(res, b);
        ck_assert_uint_eq(s->count, n);
        ck_assert_uint_eq(s->nodata_count, nd);
        ck_assert_double_eq(s->min, mn);
        ck_assert_double_eq(s->max, mx);
        ck_assert_msg(fabs(s->mean - (double)mean) <= rel * fabsl(mean),
                      "mean %.17g want %.17Lg", s->mean, mean);
        ck_assert_msg(fabs(tes_band_stats_stddev(s) - sd) <= rel * sd,
                      "stddev %.17g want %.17g", tes_band_stats_stddev(s), sd);
    }
}

START_TEST(stats_matches_reference)
{
    tes_tile img;
    make_img(&img, 100);
    static const int sizes[] = { 1, 8, 19, 200 };
    for (int i = 0; i < 4; i++) {
        tes_stats_state st;
        void *r = run_stats(&img, &st, sizes[i], NULL, 0, 0, 0);
        check_ref(&img, r, 1e-13);
        free(r);
    }
    tes_tile_free(&img);
}
END_TEST

START_TEST(stats_precise_on_large_offsets)
{
    tes_tile img;
    make_img(&img, 1e9);
    tes_stats_state st;
    void *r = run_stats(&img, &st, 16, NULL, 0, 0, 0);
    /* values near 1e9 with spread ~0.29: naive sum-of-squares would lose
     * every digit of the variance; here only the means' rounding (ulp of
     * 1e9 is 1.2e-7) is left */
    check_ref(&img, r, 1e-8);
    free(r);
    tes_tile_free(&img);
}
END_TEST

START_TEST(stats_identical_at_any_thread_count)
{
    tes_tile img;
    make_img(&img, 3);
    tes_stats_state st;
    void *serial = run_stats(&img, &st, 10, NULL, 16, -30, 70);
    static const int threads[] = { 1, 2, 3, 7 };
    for (int i = 0; i < 4; i++) {
        tes_pool_options po = TES_POOL_OPTIONS_INIT;
        po.threads = threads[i];
        tes_pool *pool;
        ck_assert_int_eq(tes_pool_create(&pool, &po), 0);
        void *r = run_stats(&img, &st, 10, pool, 16, -30, 70);
        ck_assert(memcmp(r, serial, st.partial_size) == 0);
        free(r);
        tes_pool_destroy(pool);
    }
    free(serial);
    tes_tile_free(&img);
}
END_TEST

START_TEST(stats_histogram_counts)
{
    tes_tile img;
    make_img(&img, 0);
    tes_stats_state st;
    int bins = 7;
    double lo = -20, hi = 50;
    void *r = run_stats(&img, &st, 13, NULL, bins, lo, hi);
    uint64_t want[7] = { 0 };
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            double v = tes_tile_get(&img, 1, x, y);
            if (v == -9999 || v < lo || v > hi)
                continue;
            int k = (int)((v - lo) / (hi - lo) * bins);
            want[k < bins ? k : bins - 1]++;
        }
    uint64_t *h = tes__stats_hist(r, &st, 1);
    for (int i = 0; i < bins; i++)
        ck_assert_uint_eq(h[i], want[i]);
    free(r);
    tes_tile_free(&img);
}
END_TEST

START_TEST(stats_all_nodata_band)
{
    tes_tile img;
    ck_assert_int_eq(tes_tile_alloc(&img, TES_I16, 9, 9, 1), 0);
    img.has_nodata = true;
    img.nodata = 0; /* the whole zeroed tile */
    tes_stats_state st;
    void *r = run_stats(&img, &st, 4, NULL, 0, 0, 0);
    tes_band_stats *s = tes__stats_band(r, 0);
    ck_assert_uint_eq(s->count, 0);
    ck_assert_uint_eq(s->nodata_count, 81);
    ck_assert(isnan(tes_band_stats_stddev(s)));
    free(r);
    tes_tile_free(&img);
    tes_kernel k;
    ck_assert_int_eq(tes__kernel_stats(&k, &st, 0, 0, 0, 0), -EINVAL);
    ck_assert_int_eq(tes__kernel_stats(&k, &st, 1, 4, 5, 1), -EINVAL);
}
END_TEST

static Suite *stats_suite(void)
{
    Suite *s = suite_create("kernel_stats");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, stats_matches_reference);
    tcase_add_test(tc, stats_precise_on_large_offsets);
    tcase_add_test(tc, stats_identical_at_any_thread_count);
    tcase_add_test(tc, stats_histogram_counts);
    tcase_add_test(tc, stats_all_nodata_band);
    suite_add_tcase(s, tc);
    return s;
}

TES_CHECK_MAIN(stats_suite)
