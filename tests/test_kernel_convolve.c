/*
 * test_kernel_convolve.c — convolve and blur on in-memory tiles: kernel
 * text parsing and its errors, against naive whole-image references (edges
 * replicated, nodata rules), constant images, tile sizes and threads.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/kernels_builtin.h"
#include "raster_test_util.h"
#include "suite_main.h"

#define W 45
#define H 38

static void make_img(tes_tile *t, tes_sample_type type, int bands,
                     bool holes)
{
    ck_assert_int_eq(tes_tile_alloc(t, type, W, H, bands), 0);
    for (int b = 0; b < bands; b++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                tes_tile_set(t, b, x, y,
                             (double)((x * 31 + y * 17 + b * 5) % 97) +
                                 (type == TES_F32 ? 0.25 * sin(x * y) : 0));
    if (holes) {
        t->has_nodata = true;
        t->nodata = -9999;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                if ((x * 7 + y * 13) % 23 == 0 || (x > 30 && y > 30))
                    for (int b = 0; b < bands; b++)
                        tes_tile_set(t, b, x, y, -9999);
    }
}

static double clampget(const tes_tile *t, int b, int x, int y)
{
    x = x < 0 ? 0 : x >= t->width ? t->width - 1 : x;
    y = y < 0 ? 0 : y >= t->height ? t->height - 1 : y;
    return tes_tile_get(t, b, x, y);
}

static double naive_conv(const tes_conv_state *st, const tes_tile *t, int b,
                         int x, int y)
{
    double c = tes_tile_get(t, b, x, y);
    if (t->has_nodata && c == t->nodata)
        return t->nodata;
    double acc = 0;
    for (int j = 0; j < st->kh; j++)
        for (int i = 0; i < st->kw; i++) {
            double v = clampget(t, b, x + i - st->kw / 2, y + j - st->kh / 2);
            if (t->has_nodata && v == t->nodata)
                v = c;
            acc += st->w[j * st->kw + i] * v;
        }
    return acc;
}

static double naive_blur(const tes_conv_state *st, const tes_tile *t, int b,
                         int x, int y)
{
    double c = tes_tile_get(t, b, x, y);
    if (t->has_nodata && c == t->nodata)
        return t->nodata;
    double acc = 0, wsum = 0;
    int r = st->radius;
    for (int j = -r; j <= r; j++)
        for (int i = -r; i <= r; i++) {
            double v = clampget(t, b, x + i, y + j);
            if (t->has_nodata && v == t->nodata)
                continue;
            double w = st->w1d[i + r] * st->w1d[j + r];
            acc += w * v;
            wsum += w;
        }
    return t->has_nodata ? acc / wsum : acc;
}

static void run_and_check(tes_conv_state *st, const tes_tile *img,
                          double tol)
{
    tes_kernel k;
    ck_assert_int_eq(tes__kernel_conv(&k, st), 0);
    tes_pool_options po = TES_POOL_OPTIONS_INIT;
    po.threads = 2;
    tes_pool *pool;
    ck_assert_int_eq(tes_pool_create(&pool, &po), 0);
    static const int sizes[] = { 5, 16, 100 };
    tes_tile first;
    memset(&first, 0, sizeof first);
    for (int s = 0; s < 3; s++)
        for (int th = 0; th < 2; th++) {
            tes_tile out;
            ck_assert_int_eq(tes_tile_alloc(&out, img->type, W, H,
                                            img->bands), 0);
            ck_assert_int_eq(tu_run_memory(th ? pool : NULL, &k, img,
                                                    1, &out, NULL, sizes[s],
                                                    sizes[s], NULL, 0), 0);
            for (int b = 0; b < img->bands; b++)
                for (int y = 0; y < H; y++)
                    for (int x = 0; x < W; x++) {
                        double want = st->separable
                                          ? naive_blur(st, img, b, x, y)
                                          : naive_conv(st, img, b, x, y);
                        if (img->type != TES_F32 && img->type != TES_F64)
                            want = want < 0 ? 0 : floor(want + 0.5);
                        double got = tes_tile_get(&out, b, x, y);
                        ck_assert_msg(fabs(got - want) <=
                                          tol * (1 + fabs(want)),
                                      "b%d (%d,%d): %.9g want %.9g", b, x, y,
                                      got, want);
                    }
            if (!first.data) {
                first = out;
            } else {
                size_t n = (size_t)W * H * img->bands *
                           tes_sample_size(img->type);
                ck_assert(memcmp(first.data, out.data, n) == 0);
                tes_tile_free(&out);
            }
        }
    tes_tile_free(&first);
    tes_pool_destroy(pool);
}

START_TEST(convolve_parses_kernels)
{
    tes_conv_state st;
    char msg[128];
    ck_assert_int_eq(tes__conv_parse(&st, "1 2 1; 2 4 2; 1 2 1", true, msg,
                                     sizeof msg), 0);
    ck_assert_int_eq(st.kw, 3);
    ck_assert_int_eq(st.kh, 3);
    ck_assert_double_eq(st.w[4], 0.25);
    ck_assert_double_eq(st.w[0], 1.0 / 16);
    ck_assert_int_eq(tes__conv_parse(&st, "1,0,-1;", false, msg, sizeof msg),
                     0);
    ck_assert_int_eq(st.kw, 3);
    ck_assert_int_eq(st.kh, 1);
    ck_assert_double_eq(st.w[2], -1);
    ck_assert_int_eq(tes__conv_parse(&st, "1 2; 3", false, msg, sizeof msg),
                     -EINVAL);
    ck_assert_str_eq(msg, "kernel: row 2 has 1 values, row 1 has 2");
    ck_assert_int_eq(tes__conv_parse(&st, "1 2; 3 4", false, msg, sizeof msg),
                     -EINVAL);
    ck_assert_str_eq(msg, "kernel: 2x2: sides must be odd");
    ck_assert_int_eq(tes__conv_parse(&st, "1 x 1", false, msg, sizeof msg),
                     -EINVAL);
    ck_assert_str_eq(msg, "kernel: bad number at column 3");
    ck_assert_int_eq(tes__conv_parse(&st, "  ", false, msg, sizeof msg),
                     -EINVAL);
    ck_assert_str_eq(msg, "kernel: no values");
    ck_assert_int_eq(tes__conv_gaussian(&st, 0), -EINVAL);
    ck_assert_int_eq(tes__conv_gaussian(&st, 2), 0);
    ck_assert_int_eq(st.radius, 6);
}
END_TEST

START_TEST(convolve_matches_reference)
{
    static const char *kernels[] = { "1 2 1; 2 4 2; 1 2 1", "0 -1 0; -1 4 -1; 0 -1 0",
                                     "1 0 -1", "1; 2; 3; 2; 1",
                                     "1 1 1 1 1; 1 2 2 2 1; 1 2 9 2 1; 1 2 2 2 1; 1 1 1 1 1" };
    for (int holes = 0; holes < 2; holes++)
        for (size_t i = 0; i < sizeof kernels / sizeof kernels[0]; i++) {
            tes_conv_state st;
            char msg[100];
            ck_assert_int_eq(tes__conv_parse(&st, kernels[i], i != 1, msg,
                                             sizeof msg), 0);
            tes_tile img;
            make_img(&img, TES_F32, 2, holes);
            run_and_check(&st, &img, 1e-6);
            tes_tile_free(&img);
        }
}
END_TEST

START_TEST(convolve_integer_output_rounds)
{
    tes_conv_state st;
    char msg[100];
    ck_assert_int_eq(tes__conv_parse(&st, "1 2 1; 2 4 2; 1 2 1", true, msg,
                                     sizeof msg), 0);
    tes_tile img;
    make_img(&img, TES_U16, 1, false);
    run_and_check(&st, &img, 0);
    tes_tile_free(&img);
}
END_TEST

START_TEST(blur_matches_reference)
{
    static const double sigmas[] = { 0.5, 1.0, 2.0 };
    for (int holes = 0; holes < 2; holes++)
        for (int i = 0; i < 3; i++) {
            tes_conv_state st;
            ck_assert_int_eq(tes__conv_gaussian(&st, sigmas[i]), 0);
            tes_tile img;
            make_img(&img, TES_F32, 1, holes);
            run_and_check(&st, &img, 1e-5);
            tes_tile_free(&img);
        }
}
END_TEST

START_TEST(blur_keeps_constant_image)
{
    tes_tile img;
    ck_assert_int_eq(tes_tile_alloc(&img, TES_F64, 20, 15, 1), 0);
    for (int y = 0; y < 15; y++)
        for (int x = 0; x < 20; x++)
            tes_tile_set(&img, 0, x, y, 42.5);
    tes_conv_state st;
    ck_assert_int_eq(tes__conv_gaussian(&st, 3), 0);
    tes_kernel k;
    ck_assert_int_eq(tes__kernel_conv(&k, &st), 0);
    tes_tile out;
    ck_assert_int_eq(tes_tile_alloc(&out, TES_F64, 20, 15, 1), 0);
    ck_assert_int_eq(tu_run_memory(NULL, &k, &img, 1, &out, NULL, 7,
                                            7, NULL, 0), 0);
    for (int y = 0; y < 15; y++)
        for (int x = 0; x < 20; x++)
            ck_assert(fabs(tes_tile_get(&out, 0, x, y) - 42.5) < 1e-12);
    tes_tile_free(&out);
    tes_tile_free(&img);
}
END_TEST

static Suite *convolve_suite(void)
{
    Suite *s = suite_create("kernel_convolve");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, convolve_parses_kernels);
    tcase_add_test(tc, convolve_matches_reference);
    tcase_add_test(tc, convolve_integer_output_rounds);
    tcase_add_test(tc, blur_matches_reference);
    tcase_add_test(tc, blur_keeps_constant_image);
    suite_add_tcase(s, tc);
    return s;
}

TES_CHECK_MAIN(convolve_suite)
