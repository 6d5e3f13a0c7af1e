/*
 * test_cli_quicklook.c — raster-tool quicklook as a user runs it: rasters
 * of known content give known PNG pixels (decoded here with libpng's own
 * reader): box averages, each stretch, RGB and alpha bands (the file's
 * alpha, never a band count), nodata transparent, a colour file and a
 * shade, a palette band's colours; the same bytes at any thread count;
 * errors leave nothing behind; and a 32768 x 32768 input is read in
 * under 100 MB.
 */
#include <check.h>
#include <math.h>
#include <png.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <zlib.h>

#include "cli_test_util.h"
#include "raster_test_util.h"
#include "suite_main.h"

/* A decoded PNG: w x h pixels of ch channels, 8 bits each. */
typedef struct png8 {
    int w, h, ch;
    uint8_t *px;
} png8;

static void png_load(const char *name, png8 *p)
{
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    ck_assert_msg(png_image_begin_read_from_file(&img, P(name)), "%s: %s",
                  name, img.message);
    /* the file's own channels, as 8 bits */
    p->ch = PNG_IMAGE_PIXEL_CHANNELS(img.format);
    img.format &= ~(png_uint_32)PNG_FORMAT_FLAG_LINEAR;
    p->w = (int)img.width;
    p->h = (int)img.height;
    p->px = malloc(PNG_IMAGE_SIZE(img));
    ck_assert_ptr_nonnull(p->px);
    ck_assert_msg(png_image_finish_read(&img, NULL, p->px, 0, NULL), "%s",
                  img.message);
}

static int px(const png8 *p, int x, int y, int c)
{
    return p->px[((size_t)y * (size_t)p->w + (size_t)x) * (size_t)p->ch +
                 (size_t)c];
}

/* Writes a float32 raster of w x h: value f(x, y), nodata -1 where
 * f gives it. */
static void write_f32(const char *name, int w, int h, int bands,
                      double (*f)(int x, int y, int b), bool nodata)
{
    tes_tile t;
    ck_assert_int_eq(tes_tile_alloc(&t, TES_F32, w, h, bands), 0);
    for (int b = 0; b < bands; b++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                tes_tile_set(&t, b, x, y, f(x, y, b));
    t.has_nodata = nodata;
    t.nodata = -1;
    tes_raster_create_options o = TES_RASTER_CREATE_OPTIONS_INIT;
    o.tile_width = o.tile_height = 16;
    tes_raster_error err;
    ck_assert_msg(tes_raster_write_tile(P(name), &t, &o, &err) == 0, "%s",
                  err.message);
    tes_tile_free(&t);
}

/* x plus 100 in the lower half; the box x 40..47, y 0..7 is nodata, and
 * pixel (1, 9) alone. */
static double ramp(int x, int y, int b)
{
    (void)b;
    if ((x >= 40 && x < 48 && y < 8) || (x == 1 && y == 9))
        return -1;
    return x + (y >= 16 ? 100 : 0);
}

/* The average of the valid pixels of box (i, j) of side s. */
static double box_mean(int i, int j, int s, double (*f)(int, int, int),
                       int b)
{
    double sum = 0;
    int n = 0;
    for (int y = j * s; y < (j + 1) * s; y++)
        for (int x = i * s; x < (i + 1) * s; x++)
            if (f(x, y, b) != -1) {
                sum += f(x, y, b);
                n++;
            }
    return n ? sum / n : NAN;
}

static int byte_of(double v, double lo, double hi)
{
    double s = hi > lo ? (v - lo) * 255 / (hi - lo) : v - lo + 128;
    s = floor(s + 0.5);
    return s < 0 ? 0 : s > 255 ? 255 : (int)s;
}

START_TEST(quicklook_box_averages_and_stretches)
{
    write_f32("r.tif", 64, 32, 1, ramp, true);
    /* 64 x 32 to 16 x 8: boxes of 4 x 4 */
    ck_assert_int_eq(rt("quicklook --size 16 --stretch none r.tif n.png"), 0);
    ck_assert_str_eq(err_txt, "");
    ck_assert_int_eq(rt("quicklook --size 16 --stretch minmax r.tif m.png"),
                     0);
    ck_assert_int_eq(rt("quicklook --size 16 r.tif p.png"), 0); /* p2-98 */
    png8 n, m, p;
    png_load("n.png", &n);
    png_load("m.png", &m);
    png_load("p.png", &p);
    ck_assert(n.w == 16 && n.h == 8 && n.ch == 2); /* grey and alpha */
    double means[8][16], sorted[128];
    int k = 0;
    for (int j = 0; j < 8; j++)
        for (int i = 0; i < 16; i++) {
            means[j][i] = box_mean(i, j, 4, ramp, 0);
            if (!isnan(means[j][i]))
                sorted[k++] = means[j][i];
        }
    /* nearest-rank percentiles of the box averages */
    for (int a = 0; a < k; a++)
        for (int b = a + 1; b < k; b++)
            if (sorted[b] < sorted[a]) {
                double t = sorted[a];
                sorted[a] = sorted[b];
                sorted[b] = t;
            }
    double lo = sorted[0], hi = sorted[k - 1];
    double p2 = sorted[(int)floor(0.02 * (k - 1) + 0.5)];
    double p98 = sorted[(int)floor(0.98 * (k - 1) + 0.5)];
    for (int j = 0; j < 8; j++)
        for (int i = 0; i < 16; i++) {
            double v = means[j][i];
            if (isnan(v)) {
                ck_assert_int_eq(px(&n, i, j, 1), 0); /* transparent */
                ck_assert_int_eq(px(&m, i, j, 1), 0);
                continue;
            }
            ck_assert_int_eq(px(&n, i, j, 1), 255);
            ck_assert_msg(px(&n, i, j, 0) == byte_of(v, 0, 255),
                          "none (%d,%d): %d for %g", i, j, px(&n, i, j, 0), v);
            ck_assert_int_eq(px(&m, i, j, 0), byte_of(v, lo, hi));
            ck_assert_int_eq(px(&p, i, j, 0), byte_of(v, p2, p98));
        }
    free(n.px);
    free(m.px);
    free(p.px);
    /* no hole: plain grey; the longer side is --size, never upscaled */
    write_f32("s.tif", 30, 90, 1, ramp, false);
    ck_assert_int_eq(rt("quicklook --size 45 s.tif s.png"), 0);
    png8 s;
    png_load("s.png", &s);
    ck_assert(s.w == 15 && s.h == 45 && s.ch == 1);
    free(s.px);
    ck_assert_int_eq(rt("quicklook --size 4000 s.tif t.png"), 0);
    png_load("t.png", &s);
    ck_assert(s.w == 30 && s.h == 90);
    free(s.px);
}
END_TEST

static double rgbf(int x, int y, int b)
{
    return b == 3 ? (x < 8 ? 0 : 255) : (x * 7 + y * 3 + b * 50) % 256;
}

START_TEST(quicklook_rgb_alpha_colors_and_shade)
{
    /* an 8-bit RGBA image (photometric RGB, the fourth band an alpha
     * extra sample): RGB and alpha, no stretch; boxes wholly transparent
     * or opaque */
    tes_tile t;
    ck_assert_int_eq(tes_tile_alloc(&t, TES_U8, 32, 16, 4), 0);
    for (int b = 0; b < 4; b++)
        for (int y = 0; y < 16; y++)
            for (int x = 0; x < 32; x++)
                tes_tile_set(&t, b, x, y, rgbf(x, y, b));
    tes_raster_create_options o = TES_RASTER_CREATE_OPTIONS_INIT;
    o.rgb = o.alpha = true;
    tes_raster_error err;
    ck_assert_int_eq(tes_raster_write_tile(P("c.tif"), &t, &o, &err), 0);
    tes_tile_free(&t);
    ck_assert_int_eq(rt("quicklook --size 16 c.tif c.png"), 0);
    png8 p;
    png_load("c.png", &p);
    ck_assert(p.w == 16 && p.h == 8 && p.ch == 4);
    for (int j = 0; j < 8; j++)
        for (int i = 0; i < 16; i++) {
            int a = byte_of(box_mean(i, j, 2, rgbf, 3), 0, 255);
            ck_assert_int_eq(px(&p, i, j, 3), a);
            for (int b = 0; a && b < 3; b++)
                ck_assert_int_eq(px(&p, i, j, b),
                                 byte_of(box_mean(i, j, 2, rgbf, b), 0, 255));
        }
    free(p.px);
    /* --rgb picks and orders bands; the alpha stays the alpha */
    ck_assert_int_eq(rt("quicklook --size 16 --rgb 3,2,1 c.tif d.png"), 0);
    png_load("d.png", &p);
    ck_assert_int_eq(p.ch, 4);
    ck_assert_int_eq(px(&p, 5, 3, 0),
                     byte_of(box_mean(5, 3, 2, rgbf, 2), 0, 255));
    ck_assert_int_eq(px(&p, 1, 3, 3), 0);
    free(p.px);
    /* a colour file on one band, shaded by a constant 51 (one fifth) */
    write_f32("r.tif", 64, 32, 1, ramp, true);
    FILE *f = fopen(P("k.txt"), "w");
    fputs("0% 0 0 0\n100% 250 100 50\n", f);
    fclose(f);
    tes_tile sh;
    ck_assert_int_eq(tes_tile_alloc(&sh, TES_U8, 64, 32, 1), 0);
    memset(sh.data, 51, 64 * 32);
    ck_assert_int_eq(tes_raster_write_tile(P("h.tif"), &sh, NULL, &err), 0);
    tes_tile_free(&sh);
    ck_assert_int_eq(rt("quicklook --size 16 --colors k.txt --multiply h.tif "
                        "r.tif k.png"), 0);
    png_load("k.png", &p);
    ck_assert(p.ch == 4);
    double lo = INFINITY, hi = -INFINITY;
    for (int j = 0; j < 8; j++)
        for (int i = 0; i < 16; i++) {
            double v = box_mean(i, j, 4, ramp, 0);
            if (!isnan(v)) {
                lo = v < lo ? v : lo;
                hi = v > hi ? v : hi;
            }
        }
    for (int j = 0; j < 8; j++)
        for (int i = 0; i < 16; i++) {
            double v = box_mean(i, j, 4, ramp, 0);
            if (isnan(v)) {
                ck_assert_int_eq(px(&p, i, j, 3), 0);
                continue;
            }
            double t0 = (v - lo) / (hi - lo);
            int want[3] = { (int)(0.45 + t0 * 250), (int)(0.45 + t0 * 100),
                            (int)(0.45 + t0 * 50) };
            for (int c = 0; c < 3; c++)
                ck_assert_msg(px(&p, i, j, c) ==
                                  (int)floor(want[c] * 0.2 + 0.5),
                              "(%d,%d,%d): %d", i, j, c, px(&p, i, j, c));
            ck_assert_int_eq(px(&p, i, j, 3), 255);
        }
    free(p.px);
}
END_TEST

/* A palette band: index (x / 3 + y * 5) % 40 (8 for 7), but the nodata
 * index 7 over the box x < 4, y < 4; entry i of the table is pal(i, c),
 * 16-bit. */
static int pal_index(int x, int y)
{
    if (x < 4 && y < 4)
        return 7;
    int i = (x / 3 + y * 5) % 40;
    return i == 7 ? 8 : i;
}

static uint16_t pal(int i, int c)
{
    return (uint16_t)((i * 1000 + c * 20000 + 77) % 65536);
}

/* The average colour of box (i, j) of side s, as GDAL shows the table
 * (the stored value / 256); NAN when every pixel is nodata. */
static double pal_mean(int i, int j, int s, int c)
{
    double sum = 0;
    int n = 0;
    for (int y = j * s; y < (j + 1) * s; y++)
        for (int x = i * s; x < (i + 1) * s; x++)
            if (pal_index(x, y) != 7) {
                sum += pal(pal_index(x, y), c) >> 8;
                n++;
            }
    return n ? sum / n : NAN;
}

START_TEST(quicklook_palette_through_its_table)
{
    tu_quiet_libtiff();
    /* written by libtiff itself: PHOTOMETRIC_PALETTE, a table of 256 */
    TIFF *t = TIFFOpen(P("p.tif"), "w");
    ck_assert_ptr_nonnull(t);
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, 64);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, 32);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_PALETTE);
    TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 8);
    static uint16_t map[3][256];
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < 256; i++)
            map[c][i] = pal(i, c);
    TIFFSetField(t, TIFFTAG_COLORMAP, map[0], map[1], map[2]);
    uint8_t row[64];
    for (int y = 0; y < 32; y++) {
        for (int x = 0; x < 64; x++)
            row[x] = (uint8_t)pal_index(x, y);
        ck_assert_int_eq(TIFFWriteScanline(t, row, (uint32_t)y, 0), 1);
    }
    TIFFClose(t);
    /* and by us, with 7 as nodata */
    tes_tile idx;
    ck_assert_int_eq(tes_tile_alloc(&idx, TES_U8, 64, 32, 1), 0);
    for (int y = 0; y < 32; y++)
        for (int x = 0; x < 64; x++)
            tes_tile_set(&idx, 0, x, y, pal_index(x, y));
    idx.has_nodata = true;
    idx.nodata = 7;
    tes_colormap cm = { 256, map[0], map[1], map[2] };
    tes_raster_create_options o = TES_RASTER_CREATE_OPTIONS_INIT;
    o.colormap = &cm;
    tes_raster_error err;
    ck_assert_msg(tes_raster_write_tile(P("n.tif"), &idx, &o, &err) == 0,
                  "%s", err.message);
    tes_tile_free(&idx);
    ck_assert_int_eq(rt("quicklook --size 16 p.tif p.png"), 0);
    ck_assert_int_eq(rt("quicklook --size 16 -j 1 n.tif n.png"), 0);
    ck_assert_int_eq(rt("quicklook --size 16 -j 2 n.tif m.png"), 0);
    ck_assert(same_file("n.png", "m.png"));
    png8 a, b;
    png_load("p.png", &a);
    png_load("n.png", &b);
    ck_assert(a.w == 16 && a.h == 8 && a.ch == 3); /* no nodata: RGB */
    ck_assert(b.w == 16 && b.h == 8 && b.ch == 4); /* a hole: RGBA */
    for (int j = 0; j < 8; j++)
        for (int i = 0; i < 16; i++)
            for (int c = 0; c < 3; c++) {
                /* p.tif: index 7 is a colour like any other */
                double sum = 0;
                for (int y = j * 4; y < j * 4 + 4; y++)
                    for (int x = i * 4; x < i * 4 + 4; x++)
                        sum += pal(pal_index(x, y), c) >> 8;
                ck_assert_msg(px(&a, i, j, c) == byte_of(sum / 16, 0, 255),
                              "(%d,%d,%d): %d for %g", i, j, c,
                              px(&a, i, j, c), sum / 16);
                double v = pal_mean(i, j, 4, c);
                ck_assert_int_eq(px(&b, i, j, 3), isnan(v) ? 0 : 255);
                if (!isnan(v))
                    ck_assert_int_eq(px(&b, i, j, c), byte_of(v, 0, 255));
            }
    ck_assert_int_eq(px(&b, 0, 0, 3), 0); /* the nodata box */
    free(a.px);
    free(b.px);
}
END_TEST

/* Box (i, j) of side s of image t (read back with libtiff) whose last
 * band is alpha, as the preview shows it: the alpha's mean, and the
 * colour of band b weighted by the alpha (premultiplied: the colours'
 * sum over the alpha's, times opaque). */
static void alpha_box(const tes_tile *t, int i, int j, int s, int b,
                      bool premultiplied, double opaque, double *colour,
                      double *alpha)
{
    double cs = 0, as = 0;
    int nb = t->bands;
    for (int y = j * s; y < (j + 1) * s; y++)
        for (int x = i * s; x < (i + 1) * s; x++) {
            double a = tes_tile_get(t, nb - 1, x, y);
            double c = tes_tile_get(t, b, x, y);
            cs += premultiplied ? c : c * a;
            as += a;
        }
    *alpha = as / (s * s);
    *colour = as > 0 ? cs / as * (premultiplied ? opaque : 1) : 0;
}

/* The PNG's alpha comes from the band the file marks as alpha
 * (ExtraSamples), never from a band count: RGBA (associated or not) and
 * grey + alpha get one, the colours weighted by it; 4 bands without the
 * mark (plain, or RGB + near infrared) do not; color-relief --alpha's
 * output does; the alpha itself shown as a band is no alpha. */
START_TEST(quicklook_alpha_from_the_file_not_the_count)
{
    static const tu_alpha_image c[] = {
        { "un.tif", 4, 8, PHOTOMETRIC_RGB, EXTRASAMPLE_UNASSALPHA },
        { "as.tif", 4, 8, PHOTOMETRIC_RGB, EXTRASAMPLE_ASSOCALPHA },
        { "ga.tif", 2, 16, PHOTOMETRIC_MINISBLACK, EXTRASAMPLE_UNASSALPHA },
        { "nir.tif", 4, 8, PHOTOMETRIC_RGB, EXTRASAMPLE_UNSPECIFIED },
        { "four.tif", 4, 8, PHOTOMETRIC_MINISBLACK, EXTRASAMPLE_UNSPECIFIED },
    };
    tu_quiet_libtiff();
    for (size_t k = 0; k < sizeof c / sizeof c[0]; k++) {
        bool marked = c[k].kind != EXTRASAMPLE_UNSPECIFIED;
        bool pre = c[k].kind == EXTRASAMPLE_ASSOCALPHA;
        tes_sample_type type = c[k].bits == 8 ? TES_U8 : TES_U16;
        double opaque = c[k].bits == 8 ? 255 : 65535;
        ck_assert_int_eq(tu_write_alpha(P(c[k].name), 256, 64, &c[k], 64),
                         0);
        tes_tile t;
        ck_assert_int_eq(tu_read_libtiff(P(c[k].name), &t, type, c[k].bands),
                         0);
        /* 256 x 64 to 64 x 16: boxes of 4 x 4; 16 bits stretched min-max
         * over the boxes that show */
        ck_assert_int_eq(rt("quicklook --size 64 --overwrite --stretch %s "
                            "%s q.png",
                            c[k].bits == 8 ? "none" : "minmax", c[k].name),
                         0);
        png8 p;
        png_load("q.png", &p);
        int colours = c[k].bands == 2 ? 1 : 3;
        ck_assert_msg(p.w == 64 && p.h == 16 &&
                          p.ch == colours + (marked ? 1 : 0),
                      "%s: %d x %d, %d channels", c[k].name, p.w, p.h, p.ch);
        double lo = INFINITY, hi = -INFINITY, v, a;
        for (int j = 0; j < 16 && !marked; j++)
            for (int i = 0; i < 64; i++)
                for (int b = 0; b < colours; b++) {
                    double sum = 0;
                    for (int y = j * 4; y < j * 4 + 4; y++)
                        for (int x = i * 4; x < i * 4 + 4; x++)
                            sum += tes_tile_get(&t, b, x, y);
                    ck_assert_int_eq(px(&p, i, j, b),
                                     byte_of(sum / 16, 0, 255));
                }
        for (int j = 0; j < 16 && marked; j++)
            for (int i = 0; i < 64; i++) {
                alpha_box(&t, i, j, 4, 0, pre, opaque, &v, &a);
                if (a > 0) {
                    lo = v < lo ? v : lo;
                    hi = v > hi ? v : hi;
                }
            }
        for (int j = 0; j < 16 && marked; j++)
            for (int i = 0; i < 64; i++)
                for (int b = 0; b < colours; b++) {
                    alpha_box(&t, i, j, 4, b, pre, opaque, &v, &a);
                    int want_a = byte_of(a, 0, opaque);
                    ck_assert_msg(px(&p, i, j, colours) == want_a,
                                  "%s (%d,%d): alpha %d, not %d", c[k].name,
                                  i, j, px(&p, i, j, colours), want_a);
                    if (!want_a)
                        continue;
                    int want = c[k].bits == 8 ? byte_of(v, 0, 255)
                                              : byte_of(v, lo, hi);
                    /* one unit for the order of the sums */
                    ck_assert_msg(abs(px(&p, i, j, b) - want) <= 1,
                                  "%s (%d,%d,%d): %d, not %d", c[k].name, i,
                                  j, b, px(&p, i, j, b), want);
                }
        free(p.px);
        tes_tile_free(&t);
    }
    /* band 4 of RGBA shown is no alpha */
    ck_assert_int_eq(rt("quicklook --size 64 --band 4 un.tif b.png"), 0);
    png8 p;
    png_load("b.png", &p);
    ck_assert_int_eq(p.ch, 1);
    free(p.px);
    /* color-relief --alpha marks its fourth band: it shows */
    synth("d.tif", 128, 64, 3, 0);
    FILE *f = fopen(P("k.txt"), "w");
    fputs("0% 0 0 255 0\n50% 0 255 0 128\n100% 255 0 0 255\n", f);
    fclose(f);
    ck_assert_int_eq(rt("color-relief --quiet --alpha d.tif k.txt r.tif"), 0);
    ck_assert_int_eq(rt("quicklook --size 128 r.tif r.png"), 0);
    png_load("r.png", &p);
    ck_assert_int_eq(p.ch, 4);
    tes_tile r;
    ck_assert_int_eq(tu_read_libtiff(P("r.tif"), &r, TES_U8, 4), 0);
    for (int y = 0; y < 64; y++)
        for (int x = 0; x < 128; x++)
            ck_assert_int_eq(px(&p, x, y, 3), (int)tes_tile_get(&r, 3, x, y));
    tes_tile_free(&r);
    free(p.px);
}
END_TEST

START_TEST(quicklook_same_bytes_any_threads_and_errors)
{
    synth("d.tif", 500, 300, 4, 0.05);
    ck_assert_int_eq(rt("quicklook --size 128 -j 1 d.tif a.png"), 0);
    ck_assert_int_eq(rt("quicklook --size 128 -j 3 d.tif b.png"), 0);
    ck_assert(same_file("a.png", "b.png"));
    /* an existing output stays, without --overwrite */
    ck_assert_int_eq(rt("quicklook d.tif a.png"), 1);
    ck_assert_str_eq(err_txt, "raster-tool: a.png: file exists (use "
                              "--overwrite)\n");
    ck_assert(same_file("a.png", "b.png"));
    ck_assert_int_eq(rt("quicklook --size 64 --overwrite d.tif a.png"), 0);
    ck_assert(!same_file("a.png", "b.png"));
    ck_assert_int_eq(rt("quicklook --band 2 d.tif c.png"), 1);
    ck_assert_str_eq(err_txt, "raster-tool: d.tif: has 1 band(s), no band "
                              "2\n");
    ck_assert_int_eq(rt("quicklook --stretch wild d.tif c.png"), 2);
    ck_assert_int_eq(rt("quicklook d.tif nodir/c.png"), 1);
    ck_assert_int_eq(rt("quicklook --multiply a.png d.tif c.png"), 1);
    /* nothing half-written: only what was there */
    ck_assert_int_eq(tu_count_files(dir), 3); /* d.tif a.png b.png */
}
END_TEST

/* The preview's sums, which --size and the input's header size, count
 * against the budget before they are allocated: a 33 KB file that claims
 * 65536 x 65536 pixels with --size 65536 (137 GB of sums) is refused in a
 * moment, nothing written; a preview whose estimate just fits the budget
 * runs and gives the bytes of a run without one, just under it is
 * refused. */
START_TEST(quicklook_huge_size_refused_up_front)
{
    tu_write_sparse(P("huge.tif"), 65536, 65536, 1, 1024);
    struct stat st;
    ck_assert_int_eq(stat(P("huge.tif"), &st), 0);
    double secs;
    long rss;
    ck_assert_int_eq(rt_measured("quicklook --size 65536 --memory 4G "
                                 "huge.tif q.png", &secs, &rss), 1);
    fprintf(stderr, "budget: quicklook --size 65536 of a %lld-byte file "
                    "claiming 65536 x 65536: refused in %.3f s, peak RSS "
                    "%ld KB\n", (long long)st.st_size, secs, rss);
    ck_assert_str_eq(err_txt, "raster-tool: huge.tif: needs about 137.6 GB "
                              "of memory (the preview's sums of 137.4 GB), "
                              "more than the memory budget of 4.3 GB (see "
                              "--memory)\n");
#ifndef TU_SANITIZED
    ck_assert_int_lt(rss, 50 * 1024);
#endif
    /* the default budget, on any machine with less than 275 GB */
    if (tes_memory_default() < 137000000000ull) {
        ck_assert_int_eq(rt("quicklook --size 65536 huge.tif q.png"), 1);
        ck_assert_ptr_nonnull(strstr(err_txt, "needs about 137.6 GB"));
    }
    ck_assert_int_eq(tu_count_files(dir), 1);

    /* a real preview: its estimate (the budget fixes none of its parts:
     * quicklook's cache is its own) read from a refusal */
    synth("d.tif", 500, 300, 4, 0.05);
    ck_assert_int_eq(rt("quicklook --size 256 d.tif a.png"), 0);
    ck_assert_int_eq(rt("quicklook --size 256 --memory 1M d.tif b.png"), 1);
    double slack, need = tu_needs_bytes(err_txt, &slack);
    ck_assert_double_gt(need, 1e6);
    ck_assert_int_eq(rt("quicklook --size 256 --memory %.0f d.tif b.png",
                        need - slack), 1);
    ck_assert_ptr_nonnull(strstr(err_txt, "more than the memory budget"));
    ck_assert(!tu_exists(P("b.png")));
    ck_assert_int_eq(rt("quicklook --size 256 --memory %.0f d.tif b.png",
                        need + slack), 0);
    ck_assert(same_file("a.png", "b.png"));
}
END_TEST

/* 32768 x 32768 (1 GiB of 8-bit samples, written as one constant tile
 * repeated) goes through in under 100 MB. */
START_TEST(quicklook_huge_input_flat_memory)
{
    const int n = 32768, ts = 512;
    uint8_t *tile = malloc((size_t)ts * ts);
    ck_assert_ptr_nonnull(tile);
    memset(tile, 77, (size_t)ts * ts);
    /* one tile compressed with zlib (TIFF's deflate is a zlib stream),
     * written raw for every tile */
    uLongf raw_size = compressBound((uLong)ts * ts);
    uint8_t *raw = malloc(raw_size);
    ck_assert_ptr_nonnull(raw);
    ck_assert_int_eq(compress2(raw, &raw_size, tile, (uLong)ts * ts, 6),
                     Z_OK);
    TIFF *t = TIFFOpen(P("big.tif"), "w8");
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, n);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, n);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
    TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    TIFFSetField(t, TIFFTAG_TILEWIDTH, ts);
    TIFFSetField(t, TIFFTAG_TILELENGTH, ts);
    TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_ADOBE_DEFLATE);
    for (uint32_t i = 0; i < TIFFNumberOfTiles(t); i++)
        ck_assert_int_eq(TIFFWriteRawTile(t, i, raw, (tmsize_t)raw_size),
                         (tmsize_t)raw_size);
    TIFFClose(t);
    free(raw);
    free(tile);
    ck_assert_int_eq(rt("quicklook -j 2 big.tif big.png"), 0);
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    fprintf(stderr, "quicklook of 32768 x 32768: peak RSS %ld MB\n",
            ru.ru_maxrss / 1024);
    /* a sanitizer's shadow memory is not ours to count */
    const char *b = getenv("TES_BUILD");
    if (!b || !strstr(b, "san-"))
        ck_assert_msg(ru.ru_maxrss < 100 * 1024, "peak RSS %ld KB",
                      ru.ru_maxrss);
    png8 p;
    png_load("big.png", &p);
    ck_assert(p.w == 1024 && p.h == 1024 && p.ch == 1);
    for (size_t i = 0; i < (size_t)p.w * p.h; i++)
        ck_assert_int_eq(p.px[i], 77);
    free(p.px);
}
END_TEST

static Suite *quicklook_suite(void)
{
    Suite *s = suite_create("cli_quicklook");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, quicklook_box_averages_and_stretches);
    tcase_add_test(tc, quicklook_rgb_alpha_colors_and_shade);
    tcase_add_test(tc, quicklook_palette_through_its_table);
    tcase_add_test(tc, quicklook_alpha_from_the_file_not_the_count);
    tcase_add_test(tc, quicklook_same_bytes_any_threads_and_errors);
    tcase_add_test(tc, quicklook_huge_size_refused_up_front);
    suite_add_tcase(s, tc);
    TCase *big = tcase_create("big");
    tcase_add_checked_fixture(big, setup, teardown);
    tcase_set_timeout(big, 300);
    tcase_add_test(big, quicklook_huge_input_flat_memory);
    suite_add_tcase(s, big);
    return s;
}

TES_CHECK_MAIN(quicklook_suite)
