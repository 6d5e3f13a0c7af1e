/*
 * test_kernel_color_relief.c — the colour-relief kernel: the colour file
 * parser fed every form of line gdaldem accepts (and bad lines refused by
 * number), and the colours of a small DEM in each matching mode, with and
 * without alpha, against a naive reference written here from gdaldem's
 * documented rules (a linear scan, not its binary search); lookup tables
 * for 8- and 16-bit inputs equal to the general path; the same bytes at
 * any tile size and thread count.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "raster_test_util.h"
#include "suite_main.h"

/* ---- the parser ----------------------------------------------------------- */

/* The colour k gives v. */
static void rgba_of(const tes_kernel *k, double v, unsigned char c[4])
{
    ck_assert_int_eq(tes_color_relief_rgba(k, v, c), 0);
}

static void expect(const tes_kernel *k, double v, int r, int g, int b, int a)
{
    unsigned char c[4];
    rgba_of(k, v, c);
    ck_assert_msg(c[0] == r && c[1] == g && c[2] == b && c[3] == a,
                  "value %g: got %d,%d,%d,%d want %d,%d,%d,%d", v, c[0], c[1],
                  c[2], c[3], r, g, b, a);
}

START_TEST(color_file_every_line_form)
{
    const char *text =
        "# a comment\n"
        "   # an indented comment\n"
        "/ a slash comment\n"
        "\n"
        "nv 1 2 3 4\n"
        "0 0 0 0\n"
        "100,255,0,0\n"
        "200:0:255:0:128\r\n" /* DOS line end */
        "300\t0\t0\t255\n"
        "400 white\n"
        "500 brown 77\n"
        "600 GRAY\n"
        "700 aqua\n"
        "1e3 orange\n"
        "50% 10 20 30\n"
        "  -50 , 5 , 6 , 7\n"
        "800 12.9 0 0"; /* no final newline; a fraction dropped as atoi */
    tes_color_file_info info;
    tes_raster_error err;
    ck_assert_int_eq(tes_color_file_scan(text, &info, &err), 0);
    ck_assert_int_eq(info.entries, 13);
    ck_assert_int_eq(info.lines, 17);
    ck_assert(info.percent);
    ck_assert(info.nodata_entry);
    ck_assert(!info.gmt);
    tes_color_relief_options o = TES_COLOR_RELIEF_OPTIONS_INIT;
    o.mode = TES_COLOR_EXACT;
    o.has_nodata = true;
    o.nodata = -9999;
    o.has_range = true;
    o.min = 1000;
    o.max = 2000; /* 50% is 1500 */
    tes_kernel k;
    ck_assert_msg(tes_kernel_color_relief(&k, text, &o, &err) == 0, "%s",
                  err.message);
    expect(&k, -9999, 1, 2, 3, 4);
    expect(&k, 0, 0, 0, 0, 255);
    expect(&k, 100, 255, 0, 0, 255);
    expect(&k, 200, 0, 255, 0, 128);
    expect(&k, 300, 0, 0, 255, 255);
    expect(&k, 400, 255, 255, 255, 255);
    expect(&k, 500, 191, 127, 63, 77);
    expect(&k, 600, 191, 191, 191, 255);
    expect(&k, 700, 0, 191, 191, 255);
    expect(&k, 1000, 255, 127, 0, 255);
    expect(&k, 1500, 10, 20, 30, 255);
    expect(&k, -50, 5, 6, 7, 255);
    expect(&k, 800, 12, 0, 0, 255);
    expect(&k, 150, 0, 0, 0, 0); /* exact: no entry */
    ck_assert(k.out_bands == 3 && k.out_type == TES_U8);
    ck_assert_int_eq(k.out_nodata_mode, TES_NODATA_NONE);
    tes_kernel_release(&k);
    /* nv without nodata is ignored (gdaldem warns) */
    o.has_nodata = false;
    o.alpha = true;
    ck_assert_int_eq(tes_kernel_color_relief(&k, text, &o, &err), 0);
    ck_assert_int_eq(k.out_bands, 4);
    expect(&k, -9999, 0, 0, 0, 0);
    tes_kernel_release(&k);
}
END_TEST

START_TEST(color_file_gmt_cpt)
{
    const char *text = "# COLOR_MODEL = RGB\n"
                       "0 0 0 0 100 255 0 0\n"
                       "100 255 0 0 200 0 255 0\n"
                       "B 1 1 1\n"
                       "F 2 2 2\n"
                       "N 9 9 9\n";
    tes_color_file_info info;
    ck_assert_int_eq(tes_color_file_scan(text, &info, NULL), 0);
    ck_assert(info.gmt);
    ck_assert(info.nodata_entry);
    ck_assert_int_eq(info.entries, 5);
    tes_color_relief_options o = TES_COLOR_RELIEF_OPTIONS_INIT;
    o.has_nodata = true;
    o.nodata = -1;
    tes_kernel k;
    ck_assert_int_eq(tes_kernel_color_relief(&k, text, &o, NULL), 0);
    expect(&k, -1, 9, 9, 9, 255);
    expect(&k, 50, 127, 0, 0, 255); /* 0.45 + 127.5 */
    expect(&k, 150, 127, 127, 0, 255);
    expect(&k, 300, 0, 255, 0, 255);
    tes_kernel_release(&k);
}
END_TEST

START_TEST(color_file_bad_lines_named)
{
    static const struct { const char *text, *msg; } bad[] = {
        { "0 0 0 0\nabc 1 2 3\n",
          "colors: line 2: 'abc' is not a value, a percentage or nv" },
        { "100 reed\n", "colors: line 1: unknown colour 'reed'" },
        { "0 0 0 0\n\n100 300 0 0\n",
          "colors: line 3: colour component 300 is not in 0..255" },
        { "100 1 x 3\n", "colors: line 1: 'x' is not a colour component" },
        { "150% red\n", "colors: line 1: percentage 150% is not in 0%..100%" },
        { "x% red\n", "colors: line 1: 'x%' is not a percentage" },
        { "# c\n100\n", "colors: line 2: '100' has no colour" },
        { "1 2 3 4 5 6\n",
          "colors: line 1: too many fields (value r g b [a])" },
        { "# COLOR_MODEL = HSV\n",
          "colors: line 1: only COLOR_MODEL = RGB is supported" },
        { "# COLOR_MODEL = RGB\n0 0/0/0 100 255/0/0\n",
          "colors: line 2: '0' is not B, F or N" },
        { "# COLOR_MODEL = RGB\n0 1 2 3 4 5 6\n",
          "colors: line 2: expected z0 r g b z1 r g b (a .cpt segment) or B, "
          "F or N and r g b" },
        { "", "colors: no colour entries" },
        { "# only comments\n\n", "colors: no colour entries" },
        { "default grey\n",
          "colors: line 1: 'default' is not a value, a percentage or nv" },
        /* not finite (fuzz_color: inf entries made NaN colours) */
        { "0 red\ninf blue\n",
          "colors: line 2: 'inf' is not a value, a percentage or nv" },
        { "-1e999 red\n",
          "colors: line 1: '-1e999' is not a value, a percentage or nv" },
        { "nan 1 2 3\n",
          "colors: line 1: 'nan' is not a value, a percentage or nv" },
        { "# COLOR_MODEL = RGB\n0 0 0 0 inf 255 0 0\n",
          "colors: line 2: 'inf' is not a value" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tes_raster_error err = { 0, "" };
        ck_assert_int_eq(tes_color_file_scan(bad[i].text, NULL, &err),
                         -EINVAL);
        ck_assert_str_eq(err.message, bad[i].msg);
        tes_color_relief_options o = TES_COLOR_RELIEF_OPTIONS_INIT;
        tes_kernel k;
        ck_assert_int_eq(tes_kernel_color_relief(&k, bad[i].text, &o, &err),
                         -EINVAL);
        ck_assert_str_eq(err.message, bad[i].msg);
        tes_kernel_release(&k); /* a failed constructor's kernel is fine */
    }
    /* a percentage needs the range; only nv left is no entry */
    tes_color_relief_options o = TES_COLOR_RELIEF_OPTIONS_INIT;
    tes_raster_error err;
    tes_kernel k;
    ck_assert_int_eq(tes_kernel_color_relief(&k, "0 red\n10% blue\n", &o,
                                             &err), -EINVAL);
    ck_assert_str_eq(err.message, "colors: line 2: 10%: a percentage needs "
                                  "the band's range");
    ck_assert_int_eq(tes_kernel_color_relief(&k, "nv red\n", &o, &err),
                     -EINVAL);
    ck_assert(strstr(err.message, "no colour entries"));
    o.mode = (tes_color_mode)3;
    ck_assert_int_eq(tes_kernel_color_relief(&k, "0 red\n", &o, &err),
                     -EINVAL);
    o = (tes_color_relief_options)TES_COLOR_RELIEF_OPTIONS_INIT;
    o.reserved_int[2] = 1;
    ck_assert_int_eq(tes_kernel_color_relief(&k, "0 red\n", &o, &err),
                     -EINVAL);
    ck_assert_int_eq(tes_kernel_color_relief(NULL, "0 red\n", &o, &err),
                     -EINVAL);
}
END_TEST

/* ---- colours against a naive reference ----------------------------------- */

typedef struct ref_entry {
    double v;
    int c[4];
} ref_entry;

/* The file below as entries, sorted by hand; values distinct, so that
 * gdaldem's spreading of repeated values does not come in. */
static const char *const colors =
    "1500 250 250 250 200\n"
    "-100 10 20 30\n"
    "nv 7 7 7 0\n"
    "600 0 200 0\n"
    "200 0 0 255 128\n"
    "1000 180 120 60\n";
static const ref_entry ents[] = {
    { -100, { 10, 20, 30, 255 } }, { 200, { 0, 0, 255, 128 } },
    { 600, { 0, 200, 0, 255 } },   { 1000, { 180, 120, 60, 255 } },
    { 1500, { 250, 250, 250, 200 } },
};
#define NE (int)(sizeof ents / sizeof ents[0])
#define NODATA -9999.0
static const int nd_color[4] = { 7, 7, 7, 0 };

/* gdaldem's rules: nodata has its entry's colour; below the lowest entry
 * the lowest colour, above the highest the highest; exact: an entry's own
 * value only, else 0; nearest: the closer entry (ties to the upper);
 * interpolate: linear, each component (int)(0.45 + ...). */
static void ref_color(double v, tes_color_mode mode, int c[4])
{
    if (v == NODATA) {
        memcpy(c, nd_color, sizeof nd_color);
        return;
    }
    for (int i = 0; i < NE; i++)
        if (ents[i].v == v) {
            memcpy(c, ents[i].c, sizeof ents[i].c);
            return;
        }
    if (mode == TES_COLOR_EXACT) {
        memset(c, 0, 4 * sizeof *c);
        return;
    }
    if (v < ents[0].v || v > ents[NE - 1].v) {
        memcpy(c, ents[v < ents[0].v ? 0 : NE - 1].c, 4 * sizeof *c);
        return;
    }
    int i = 0;
    while (!(ents[i].v < v && v < ents[i + 1].v))
        i++;
    const ref_entry *a = &ents[i], *b = &ents[i + 1];
    if (mode == TES_COLOR_NEAREST) {
        memcpy(c, (v - a->v < b->v - v ? a : b)->c, 4 * sizeof *c);
        return;
    }
    double t = (v - a->v) / (b->v - a->v);
    for (int k = 0; k < 4; k++)
        c[k] = (int)(0.45 + a->c[k] + t * (b->c[k] - a->c[k]));
}

/* A small DEM of every kind of value: each entry, between entries, below
 * and above, nodata; float32 values as gdaldem reads them. */
static void make_dem(tes_tile *t, tes_sample_type type, int w, int h)
{
    ck_assert_int_eq(tes_tile_alloc(t, type, w, h, 1), 0);
    t->has_nodata = true;
    t->nodata = NODATA;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int i = y * w + x;
            double v;
            if (i % 17 == 3)
                v = NODATA;
            else if (i % 11 == 0)
                v = ents[(i / 11) % NE].v;
            else
                v = -300 + (i * 37) % 2000 + (type == TES_F32 ? 0.25 : 0);
            tes_tile_set(t, 0, x, y, v);
        }
}

static tes_kernel make(tes_color_mode mode, bool alpha, tes_sample_type hint)
{
    tes_color_relief_options o = TES_COLOR_RELIEF_OPTIONS_INIT;
    o.mode = mode;
    o.alpha = alpha;
    o.has_nodata = true;
    o.nodata = NODATA;
    o.in_type = hint;
    tes_kernel k;
    tes_raster_error err;
    ck_assert_msg(tes_kernel_color_relief(&k, colors, &o, &err) == 0, "%s",
                  err.message);
    return k;
}

START_TEST(color_relief_matches_reference)
{
    static const tes_sample_type types[] = { TES_F32, TES_I16 };
    for (size_t ti = 0; ti < 2; ti++)
        for (int mode = 0; mode < 3; mode++)
            for (int alpha = 0; alpha < 2; alpha++) {
                tes_tile dem, out;
                make_dem(&dem, types[ti], 45, 37);
                tes_kernel k = make((tes_color_mode)mode, alpha, 0);
                ck_assert_int_eq(tes_tile_alloc(&out, TES_U8, 45, 37,
                                                alpha ? 4 : 3), 0);
                ck_assert_int_eq(tu_run_memory(NULL, &k, &dem, 1, &out, NULL,
                                               16, 16, NULL, 0), 0);
                ck_assert(!out.has_nodata);
                for (int y = 0; y < 37; y++)
                    for (int x = 0; x < 45; x++) {
                        int want[4];
                        double v = tes_tile_get(&dem, 0, x, y);
                        ref_color(v, (tes_color_mode)mode, want);
                        for (int b = 0; b < out.bands; b++)
                            ck_assert_msg(tes_tile_get(&out, b, x, y) ==
                                              want[b],
                                          "mode %d value %g band %d: %g "
                                          "want %d", mode, v, b,
                                          tes_tile_get(&out, b, x, y),
                                          want[b]);
                    }
                tes_kernel_release(&k);
                tes_tile_free(&out);
                tes_tile_free(&dem);
            }
}
END_TEST

/* Repeated values: gdaldem spreads them by a few ulps, so a value exactly
 * there falls between the first and last colours, and values beside it
 * take one or the other. Entries next to nodata get a twin, so that
 * values between do not blend into the nodata colour. */
START_TEST(color_relief_repeated_values_and_nodata_twins)
{
    tes_color_relief_options o = TES_COLOR_RELIEF_OPTIONS_INIT;
    tes_kernel k;
    ck_assert_int_eq(tes_kernel_color_relief(&k, "0 0 0 0\n100 255 0 0\n"
                                                 "100 0 0 255\n200 0 255 0\n",
                                             &o, NULL), 0);
    unsigned char c[4];
    rgba_of(&k, 100, c);
    ck_assert(c[0] > 0 && c[0] < 255 && c[2] > 0 && c[2] < 255);
    expect(&k, 100 - 1e-9, 255, 0, 0, 255);
    expect(&k, 100.5, 0, 1, 254, 255);
    tes_kernel_release(&k);
    o.has_nodata = true;
    o.nodata = 50;
    ck_assert_int_eq(tes_kernel_color_relief(&k, "0 0 0 0\n50 9 9 9\n"
                                                 "100 200 200 200\n",
                                             &o, NULL), 0);
    expect(&k, 25, 0, 0, 0, 255);   /* not halfway to 9 */
    expect(&k, 50, 9, 9, 9, 255);
    expect(&k, 75, 200, 200, 200, 255);
    tes_kernel_release(&k);
    /* A run whose distances overflow (inf / inf) is not spread: it stayed
     * NaN and out of order, and values below it took the top colour
     * (found by fuzz_color). Between red and the run the width is
     * infinite: red. */
    o = (tes_color_relief_options)TES_COLOR_RELIEF_OPTIONS_INIT;
    ck_assert_int_eq(tes_kernel_color_relief(&k, "-1.5e308 red\n5e307 blue\n"
                                                 "5e307 green\n6e307 white\n",
                                             &o, NULL), 0);
    expect(&k, -40, 255, 0, 0, 255);
    expect(&k, -1.6e308, 255, 0, 0, 255);
    expect(&k, 7e307, 255, 255, 255, 255);
    tes_kernel_release(&k);
    /* and where count * left overflows (a run of 4 at 0 after -5e307):
     * 0 * inf was NaN */
    ck_assert_int_eq(tes_kernel_color_relief(&k, "-5e307 red\n0 blue\n"
                                                 "0 green\n0 aqua\n0 white\n"
                                                 "5 yellow\n",
                                             &o, NULL), 0);
    expect(&k, -40, 0, 0, 255, 255);
    expect(&k, 5, 255, 255, 0, 255);
    tes_kernel_release(&k);
}
END_TEST

/* 8- and 16-bit inputs through the lookup table give the bytes of the
 * general path; float64 values are read as float32, as gdaldem reads
 * them. */
START_TEST(color_relief_lookup_tables_and_float32_reading)
{
    static const tes_sample_type types[] = { TES_U8, TES_I8, TES_U16,
                                             TES_I16 };
    for (size_t ti = 0; ti < 4; ti++)
        for (int mode = 0; mode < 3; mode++) {
            tes_tile dem;
            ck_assert_int_eq(tes_tile_alloc(&dem, types[ti], 256, 9, 1), 0);
            bool sg = tes_sample_type_is_signed(types[ti]);
            size_t sz = tes_sample_size(types[ti]);
            for (int y = 0; y < 9; y++)
                for (int x = 0; x < 256; x++) {
                    double v = sz == 1 ? x - (sg ? 128 : 0)
                                       : (x * 257 + y * 911) % 65536 -
                                             (sg ? 32768 : 0);
                    tes_tile_set(&dem, 0, x, y, v);
                }
            tes_kernel plain = make((tes_color_mode)mode, true, 0);
            tes_kernel lut = make((tes_color_mode)mode, true, types[ti]);
            tes_tile a, b;
            ck_assert_int_eq(tes_tile_alloc(&a, TES_U8, 256, 9, 4), 0);
            ck_assert_int_eq(tes_tile_alloc(&b, TES_U8, 256, 9, 4), 0);
            ck_assert_int_eq(tu_run_memory(NULL, &plain, &dem, 1, &a, NULL,
                                           64, 64, NULL, 0), 0);
            ck_assert_int_eq(tu_run_memory(NULL, &lut, &dem, 1, &b, NULL,
                                           64, 64, NULL, 0), 0);
            ck_assert(memcmp(a.data, b.data, 256 * 9 * 4) == 0);
            tes_kernel_release(&plain);
            tes_kernel_release(&lut);
            tes_tile_free(&a);
            tes_tile_free(&b);
            tes_tile_free(&dem);
        }
    /* 600 + 1e-9 is 600 in float32: exact matching finds the entry */
    tes_tile dem, out;
    ck_assert_int_eq(tes_tile_alloc(&dem, TES_F64, 1, 1, 1), 0);
    tes_tile_set(&dem, 0, 0, 0, 600 + 1e-9);
    ck_assert_int_eq(tes_tile_alloc(&out, TES_U8, 1, 1, 3), 0);
    tes_kernel k = make(TES_COLOR_EXACT, false, 0);
    ck_assert_int_eq(tu_run_memory(NULL, &k, &dem, 1, &out, NULL, 0, 0, NULL,
                                   0), 0);
    ck_assert_double_eq(tes_tile_get(&out, 1, 0, 0), 200);
    tes_kernel_release(&k);
    tes_tile_free(&out);
    tes_tile_free(&dem);
}
END_TEST

START_TEST(color_relief_same_bytes_any_tiles_and_threads)
{
    tes_tile dem, whole;
    make_dem(&dem, TES_F32, 70, 53);
    tes_kernel k = make(TES_COLOR_INTERPOLATE, true, 0);
    ck_assert_int_eq(tes_tile_alloc(&whole, TES_U8, 70, 53, 4), 0);
    ck_assert_int_eq(tu_run_memory(NULL, &k, &dem, 1, &whole, NULL, 128, 128,
                                   NULL, 0), 0);
    tes_pool_options po = TES_POOL_OPTIONS_INIT;
    po.threads = 3;
    tes_pool *pool;
    ck_assert_int_eq(tes_pool_create(&pool, &po), 0);
    static const int sizes[] = { 1, 7, 16, 33 };
    for (size_t i = 0; i < 4; i++) {
        tes_tile t;
        ck_assert_int_eq(tes_tile_alloc(&t, TES_U8, 70, 53, 4), 0);
        ck_assert_int_eq(tu_run_memory(pool, &k, &dem, 1, &t, NULL, sizes[i],
                                       sizes[i], NULL, 0), 0);
        ck_assert(memcmp(t.data, whole.data, 70 * 53 * 4) == 0);
        tes_tile_free(&t);
    }
    tes_pool_destroy(pool);
    /* a band the input does not have fails the run, with the reason */
    tes_color_relief_options o = TES_COLOR_RELIEF_OPTIONS_INIT;
    o.band = 1;
    o.alpha = true;
    tes_kernel k2;
    ck_assert_int_eq(tes_kernel_color_relief(&k2, colors, &o, NULL), 0);
    char msg[300];
    ck_assert_int_eq(tu_run_memory(NULL, &k2, &dem, 1, &whole, NULL, 0, 0,
                                   msg, sizeof msg), -EINVAL);
    ck_assert_msg(strstr(msg, "no band 2"), "%s", msg);
    tes_kernel_release(&k2);
    tes_kernel_release(&k);
    tes_tile_free(&whole);
    tes_tile_free(&dem);
}
END_TEST

static Suite *color_relief_suite(void)
{
    Suite *s = suite_create("kernel_color_relief");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, color_file_every_line_form);
    tcase_add_test(tc, color_file_gmt_cpt);
    tcase_add_test(tc, color_file_bad_lines_named);
    tcase_add_test(tc, color_relief_matches_reference);
    tcase_add_test(tc, color_relief_repeated_values_and_nodata_twins);
    tcase_add_test(tc, color_relief_lookup_tables_and_float32_reading);
    tcase_add_test(tc, color_relief_same_bytes_any_tiles_and_threads);
    suite_add_tcase(s, tc);
    return s;
}

TES_CHECK_MAIN(color_relief_suite)
