/*
 * test_kernel_calc.c — the band-math language: precedence and
 * associativity, every function, every error with its column, nodata
 * propagation, and the calc kernel on in-memory tiles against a naive
 * per-pixel reference, at several tile sizes and thread counts.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/kernels_builtin.h"
#include "raster_test_util.h"
#include "suite_main.h"

/* Evaluates text with A = a (band 1), A[2] = a2, B = b; nodata flags. */
static double ev3(const char *text, double a, double a2, double b, bool and_,
                  bool bnd)
{
    tes_expr *e;
    tes_expr_error err;
    int rc = tes__expr_compile(&e, text, &err);
    ck_assert_msg(rc == 0, "%s: %s", text, err.message);
    double A[2] = { a, a2 }, B[1] = { b };
    bool An[2] = { and_, false }, Bn[1] = { bnd };
    const double *in[26] = { A, B };
    const bool *nd[26] = { An, Bn };
    double v = tes__expr_eval1(e, in, nd);
    tes__expr_free(e);
    return v;
}

static double ev(const char *text)
{
    return ev3(text, 3, 5, 7, false, false);
}

#define EQ(text, want)                                                       \
    do {                                                                     \
        double got_ = ev(text), want_ = (want);                              \
        ck_assert_msg(fabs(got_ - want_) <= 1e-12 * fabs(want_) ||           \
                          (isnan(got_) && isnan(want_)),                     \
                      "%s = %.17g, want %.17g", text, got_, want_);         \
    } while (0)

START_TEST(calc_precedence_and_associativity)
{
    EQ("1 + 2 * 3", 7);
    EQ("(1 + 2) * 3", 9);
    EQ("2 ^ 3 ^ 2", 512);
    EQ("(2 ^ 3) ^ 2", 64);
    EQ("-2 ^ 2", -4);
    EQ("2 ^ -1", 0.5);
    EQ("10 - 4 - 3", 3);
    EQ("64 / 4 / 2", 8);
    EQ("7 % 4 * 2", 6);
    EQ("1 + 2 < 4", 1);
    EQ("1 < 2 == 1", 1);
    EQ("1 || 0 && 0", 1);
    EQ("!0 + 1", 2);
    EQ("!(1 > 2)", 1);
    EQ("- -3", 3);
    EQ("+3", 3);
    EQ("1.5e2 + .5", 150.5);
    EQ("2 * 3 >= 6 && 5 != 4", 1);
    EQ("3 <= 2", 0);
    EQ("3 > 2", 1);
}
END_TEST

START_TEST(calc_every_function)
{
    EQ("where(1, 2, 3)", 2);
    EQ("where(0, 2, 3)", 3);
    EQ("min(4, 2, 9)", 2);
    EQ("max(4, 2, 9)", 9);
    EQ("abs(-2.5)", 2.5);
    EQ("sqrt(16)", 4);
    EQ("exp(1)", exp(1));
    EQ("log(10)", log(10));
    EQ("log10(1000)", 3);
    EQ("pow(2, 10)", 1024);
    EQ("sin(0.5)", sin(0.5));
    EQ("cos(0.5)", cos(0.5));
    EQ("tan(0.5)", tan(0.5));
    EQ("atan2(1, -1)", atan2(1, -1));
    EQ("floor(-1.5)", -2);
    EQ("ceil(-1.5)", -1);
    EQ("round(2.5)", 3);
    EQ("round(-2.5)", -3);
    EQ("clamp(5, 0, 3)", 3);
    EQ("clamp(-5, 0, 3)", 0);
    EQ("clamp(2, 0, 3)", 2);
    EQ("isnodata(A)", 0);
    EQ("A + A[2] * B", 3 + 5 * 7);
    EQ("A[1] == A", 1);
    EQ("(A[2] - A) / (A[2] + A)", 2.0 / 8.0);
}
END_TEST

START_TEST(calc_nodata_propagation)
{
    /* A is nodata */
    ck_assert(isnan(ev3("A + 1", 3, 5, 7, true, false)));
    ck_assert(isnan(ev3("A > 1", 3, 5, 7, true, false)));
    ck_assert(isnan(ev3("min(A, B)", 3, 5, 7, true, false)));
    ck_assert(isnan(ev3("pow(A, 0)", 3, 5, 7, true, false)));
    ck_assert_double_eq(ev3("isnodata(A)", 3, 5, 7, true, false), 1);
    ck_assert_double_eq(ev3("where(isnodata(A), B, A)", 3, 5, 7, true,
                            false), 7);
    ck_assert_double_eq(ev3("where(B > 0, A[2], A)", 3, 5, 7, true, false),
                        5);
    ck_assert_double_eq(ev3("isnodata(A) || A > 5", 3, 5, 7, true, false), 1);
    ck_assert_double_eq(ev3("!isnodata(A) && A > 5", 3, 5, 7, true, false),
                        0);
    ck_assert_double_eq(ev3("A[2] * 2", 3, 5, 7, true, false), 10);
    ck_assert(isnan(ev3("B", 3, 5, 7, false, true)));
    ck_assert(isnan(ev3("sqrt(-1)", 3, 5, 7, false, false)));
}
END_TEST

static void err_is(const char *text, const char *want, int col)
{
    tes_expr *e = NULL;
    tes_expr_error err;
    ck_assert_int_eq(tes__expr_compile(&e, text, &err), -EINVAL);
    ck_assert_ptr_null(e);
    ck_assert_msg(strcmp(err.message, want) == 0, "%s: got \"%s\" want \"%s\"",
                  text, err.message, want);
    ck_assert_int_eq(err.column, col);
}

START_TEST(calc_errors_name_the_column)
{
    err_is("(A + B) * 2)", "unexpected ')' at column 12", 12);
    err_is("A + ", "unexpected end of expression at column 5", 5);
    err_is("", "empty expression at column 1", 1);
    err_is("A $ B", "unexpected character '$' at column 3", 3);
    err_is("foo(A)", "unknown name 'foo' at column 1", 1);
    err_is("a + 1", "unknown name 'a' at column 1", 1);
    err_is("1 + sqrt 4", "expected '(' after 'sqrt' at column 5", 5);
    err_is("sqrt(1, 2)", "too many arguments to sqrt() at column 9", 9);
    err_is("where(1, 2)", "too few arguments to where() at column 11", 11);
    err_is("A[0]", "band 0 out of range (1..64) at column 3", 3);
    err_is("A[65] + 1", "band 65 out of range (1..64) at column 3", 3);
    err_is("A[B]", "unexpected 'B' at column 3", 3);
    err_is("isnodata(1)",
           "isnodata() needs an input such as A or A[2] at column 10", 10);
    err_is("(1 + 2", "unexpected end of expression at column 7", 7);
    err_is("1 2", "unexpected '2' at column 3", 3);
    err_is("AB + 1", "unknown name 'AB' at column 1", 1);
    err_is("min(1 2)", "unexpected '2' at column 7", 7);
}
END_TEST

START_TEST(calc_constants_fold)
{
    tes_expr *e;
    ck_assert_int_eq(tes__expr_compile(&e, "2 * (3 + 4) - sqrt(16)", NULL),
                     0);
    int mb[26];
    ck_assert_uint_eq(tes__expr_inputs(e, mb), 0);
    tes__expr_free(e);
    ck_assert_int_eq(tes__expr_compile(&e, "A + C[3]", NULL), 0);
    ck_assert_uint_eq(tes__expr_inputs(e, mb), (1u << 0) | (1u << 2));
    ck_assert_int_eq(mb[0], 1);
    ck_assert_int_eq(mb[2], 3);
    tes__expr_free(e);
}
END_TEST

/* ---- the kernel against a naive reference ---------------------------- */

#define W 53
#define H 41

static void make_inputs(tes_tile *a, tes_tile *b)
{
    ck_assert_int_eq(tes_tile_alloc(a, TES_U16, W, H, 2), 0);
    ck_assert_int_eq(tes_tile_alloc(b, TES_F32, W, H, 1), 0);
    a->has_nodata = true;
    a->nodata = 0;
    b->has_nodata = true;
    b->nodata = -1;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            tes_tile_set(a, 0, x, y, (x * 7 + y * 3) % 50);
            tes_tile_set(a, 1, x, y, 100 + (x * y) % 300);
            tes_tile_set(b, 0, x, y, (x + y) % 11 == 0 ? -1 : x * 0.25 - y);
        }
}

/* (A[2] - A) / (A[2] + A) where B > 0, else B * 2; written out by hand */
static double naive(const tes_tile *a, const tes_tile *b, int x, int y,
                    double out_nd)
{
    double a1 = tes_tile_get(a, 0, x, y), a2 = tes_tile_get(a, 1, x, y);
    double bv = tes_tile_get(b, 0, x, y);
    if (bv == -1)
        return out_nd;
    if (bv > 0) {
        if (a1 == 0 || a2 == 0)
            return out_nd;
        return (a2 - a1) / (a2 + a1);
    }
    return bv * 2;
}

START_TEST(calc_kernel_matches_reference)
{
    tes_tile in[2];
    make_inputs(&in[0], &in[1]);
    tes_expr *e;
    ck_assert_int_eq(tes__expr_compile(
                         &e, "where(B > 0, (A[2] - A) / (A[2] + A), B * 2)",
                         NULL), 0);
    tes_calc_state st = { e, 2, { 0 }, TES_F32, -9999 };
    tes__calc_slots_identity(&st);
    tes_kernel k;
    ck_assert_int_eq(tes__kernel_calc(&k, &st), 0);
    tes_pool_options po = TES_POOL_OPTIONS_INIT;
    po.threads = 2;
    tes_pool *pool;
    ck_assert_int_eq(tes_pool_create(&pool, &po), 0);
    static const int sizes[] = { 1, 8, 17, 64 };
    for (int s = 0; s < 4; s++)
        for (int t = 0; t < 2; t++) {
            tes_tile out;
            ck_assert_int_eq(tes_tile_alloc(&out, TES_F32, W, H, 1), 0);
            ck_assert_int_eq(tu_run_memory(t ? pool : NULL, &k, in,
                                                    2, &out, NULL, sizes[s],
                                                    sizes[s], NULL, 0), 0);
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++) {
                    float want = (float)naive(&in[0], &in[1], x, y, -9999);
                    ck_assert_msg(tes_tile_get(&out, 0, x, y) == want,
                                  "(%d,%d) %g want %g", x, y,
                                  tes_tile_get(&out, 0, x, y), want);
                }
            tes_tile_free(&out);
        }
    tes_pool_destroy(pool);
    tes__expr_free(e);
    tes_tile_free(&in[0]);
    tes_tile_free(&in[1]);
}
END_TEST

START_TEST(calc_kernel_integer_output_saturates)
{
    tes_tile in[2];
    make_inputs(&in[0], &in[1]);
    tes_expr *e;
    ck_assert_int_eq(tes__expr_compile(&e, "A[2] * 2 - 300", NULL), 0);
    tes_calc_state st = { e, 1, { 0 }, TES_U8, 255 };
    tes__calc_slots_identity(&st);
    tes_kernel k;
    ck_assert_int_eq(tes__kernel_calc(&k, &st), 0);
    tes_tile out;
    ck_assert_int_eq(tes_tile_alloc(&out, TES_U8, W, H, 1), 0);
    ck_assert_int_eq(tu_run_memory(NULL, &k, in, 1, &out, NULL, 16,
                                            16, NULL, 0), 0);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            double v = tes_tile_get(&in[0], 1, x, y) * 2 - 300;
            v = v < 0 ? 0 : v > 255 ? 255 : v;
            ck_assert_double_eq(tes_tile_get(&out, 0, x, y), v);
        }
    tes_tile_free(&out);
    /* a constant expression fills the tile */
    tes__expr_free(e);
    ck_assert_int_eq(tes__expr_compile(&e, "1 + 2", NULL), 0);
    st.expr = e;
    ck_assert_int_eq(tes_tile_alloc(&out, TES_U8, W, H, 1), 0);
    ck_assert_int_eq(tu_run_memory(NULL, &k, in, 1, &out, NULL, 16,
                                            16, NULL, 0), 0);
    ck_assert_double_eq(tes_tile_get(&out, 0, W - 1, H - 1), 3);
    tes_tile_free(&out);
    tes__expr_free(e);
    tes_tile_free(&in[0]);
    tes_tile_free(&in[1]);
}
END_TEST

START_TEST(calc_kernel_reports_missing_band)
{
    tes_tile in[2];
    make_inputs(&in[0], &in[1]);
    tes_expr *e;
    ck_assert_int_eq(tes__expr_compile(&e, "B[2] + 1", NULL), 0);
    tes_calc_state st = { e, 2, { 0 }, TES_F32, -9999 };
    tes__calc_slots_identity(&st);
    tes_kernel k;
    ck_assert_int_eq(tes__kernel_calc(&k, &st), 0);
    tes_tile out;
    ck_assert_int_eq(tes_tile_alloc(&out, TES_F32, W, H, 1), 0);
    char msg[300];
    ck_assert_int_eq(tu_run_memory(NULL, &k, in, 2, &out, NULL, 64,
                                            64, msg, sizeof msg), -EINVAL);
    ck_assert_str_eq(msg, "tile 0: calc: input B has 1 band(s), not 2");
    tes_tile_free(&out);
    tes__expr_free(e);
    tes_tile_free(&in[0]);
    tes_tile_free(&in[1]);
}
END_TEST

START_TEST(calc_run_memory_rejects_bad_arguments)
{
    tes_tile in[2];
    make_inputs(&in[0], &in[1]);
    tes_expr *e;
    ck_assert_int_eq(tes__expr_compile(&e, "A", NULL), 0);
    tes_calc_state st = { e, 1, { 0 }, TES_F32, -9999 };
    tes__calc_slots_identity(&st);
    tes_kernel k;
    ck_assert_int_eq(tes__kernel_calc(&k, &st), 0);
    tes_tile out;
    ck_assert_int_eq(tes_tile_alloc(&out, TES_F32, W, H, 1), 0);
    /* no output, bad tile sizes, too many inputs, mismatched sizes */
    ck_assert_int_eq(tu_run_memory(NULL, &k, in, 1, NULL, NULL, 8,
                                            8, NULL, 0), -EINVAL);
    ck_assert_int_eq(tu_run_memory(NULL, &k, in, 1, &out, NULL, -1,
                                            8, NULL, 0), -EINVAL);
    ck_assert_int_eq(tu_run_memory(NULL, &k, in, 33, &out, NULL, 8,
                                            8, NULL, 0), -EINVAL);
    tes_tile small;
    ck_assert_int_eq(tes_tile_alloc(&small, TES_F32, W - 1, H, 1), 0);
    tes_tile pair[2] = { in[0], small };
    ck_assert_int_eq(tu_run_memory(NULL, &k, pair, 2, &out, NULL, 8,
                                            8, NULL, 0), -EINVAL);
    st.out_type = TES_TYPE_NONE;
    ck_assert_int_eq(tes__kernel_calc(&k, &st), -EINVAL);
    tes_tile_free(&small);
    tes_tile_free(&out);
    tes__expr_free(e);
    tes_tile_free(&in[0]);
    tes_tile_free(&in[1]);
}
END_TEST

/* Random token soup never crashes the parser, and every rejection names a
 * column inside the text (or just past its end). */
START_TEST(calc_random_text_fails_cleanly)
{
    static const char *const toks[] = {
        "A", "B[2]", "C[", "]", "(", ")", ",", "+", "-", "*", "/", "%", "^",
        "<", "<=", "==", "!=", "&&", "||", "!", "1", "2.5", "1e3", ".", "e",
        "where", "min", "max(", "sqrt(", "isnodata(", "clamp(", "pow", " ",
        "$", "Z", "a", "A[65]", "A[0]",
    };
    unsigned seed = 12345;
    char text[256];
    for (int i = 0; i < 3000; i++) {
        text[0] = 0;
        int n = 1 + (int)((seed = seed * 1103515245u + 12345u) >> 16) % 12;
        for (int k = 0; k < n; k++) {
            seed = seed * 1103515245u + 12345u;
            strcat(text, toks[(seed >> 16) % (sizeof toks / sizeof toks[0])]);
        }
        tes_expr *e = NULL;
        tes_expr_error err;
        int rc = tes__expr_compile(&e, text, &err);
        if (rc == 0) {
            ck_assert_ptr_nonnull(e);
            double A[2] = { 1, 2 }, B[2] = { 3, 4 }, Z[1] = { 5 };
            bool nd[2] = { false, false };
            const double *in[26] = { A, B, A, [25] = Z };
            const bool *isnd[26] = { nd, nd, nd, [25] = nd };
            (void)tes__expr_eval1(e, in, isnd);
            tes__expr_free(e);
            continue;
        }
        ck_assert_int_eq(rc, -EINVAL);
        ck_assert_ptr_null(e);
        ck_assert_msg(err.column >= 1 &&
                          err.column <= (int)strlen(text) + 1,
                      "%s: column %d", text, err.column);
        ck_assert_msg(strstr(err.message, " at column "), "%s: %s", text,
                      err.message);
    }
}
END_TEST

static Suite *calc_suite(void)
{
    Suite *s = suite_create("kernel_calc");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, calc_precedence_and_associativity);
    tcase_add_test(tc, calc_every_function);
    tcase_add_test(tc, calc_nodata_propagation);
    tcase_add_test(tc, calc_errors_name_the_column);
    tcase_add_test(tc, calc_constants_fold);
    tcase_add_test(tc, calc_kernel_matches_reference);
    tcase_add_test(tc, calc_kernel_integer_output_saturates);
    tcase_add_test(tc, calc_kernel_reports_missing_band);
    tcase_add_test(tc, calc_run_memory_rejects_bad_arguments);
    tcase_add_test(tc, calc_random_text_fails_cleanly);
    suite_add_tcase(s, tc);
    return s;
}

TES_CHECK_MAIN(calc_suite)
