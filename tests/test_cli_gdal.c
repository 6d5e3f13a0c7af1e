/*
 * test_cli_gdal.c — raster-tool as a drop-in for gdaldem and gdal_calc.py:
 * recorded command lines of theirs run unchanged but for the program's
 * name give the bytes our own spelling gives, and, when GDAL is
 * installed, the pixels gdaldem 3.6 and gdal_calc.py give on DEMs made
 * here (float with nodata holes, int16, geographic with a scale);
 * creation options, refusals by name with their exact lines, progress in
 * GDAL's form and on a terminal, colour relief's files and errors.
 */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <sys/wait.h>

#include "cli_test_util.h"
#include "raster_test_util.h"
#include "suite_main.h"
#include "trace_test_util.h"

static bool have(const char *prog)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", prog);
    return system(cmd) == 0;
}

/* Runs a shell command in dir, quietly; its exit status. */
static int sh(const char *fmt, ...) TES_PRINTF(1, 2);
static int sh(const char *fmt, ...)
{
    char c[8192], cmd[9000];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c, sizeof c, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "cd '%s' && %s >/dev/null 2>&1", dir, c);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The three DEMs: f.tif float32 with nodata holes, i.tif int16 with
 * holes, geo.tif float32 in degrees (EPSG:4326), for -s 111120. */
static void make_dems(void)
{
    synth("f.tif", 150, 110, 7, 0.03);
    ck_assert_int_eq(rt("synth --quiet --size 150x110 --seed 8 --holes 0.03 "
                        "--nodata -32768 --type int16 --feature 60 --tile 64 "
                        "i.tif"), 0);
    tes_tile t;
    ck_assert_int_eq(tes_tile_alloc(&t, TES_F32, 120, 90, 1), 0);
    for (int y = 0; y < 90; y++)
        for (int x = 0; x < 120; x++)
            tes_tile_set(&t, 0, x, y, 800 + 300 * sin(x * 0.11) *
                                                cos(y * 0.07) + 2 * x);
    double gt[6] = { 10.0, 0.0008, 0, 46.0, 0, -0.0008 };
    tes_georef g;
    void *owned;
    ck_assert_int_eq(tes_georef_from_geotransform(&g, &owned, gt, 4326), 0);
    tes_raster_create_options o = TES_RASTER_CREATE_OPTIONS_INIT;
    o.georef = &g;
    o.tile_width = o.tile_height = 64;
    tes_raster_error err;
    ck_assert_int_eq(tes_raster_write_tile(P("geo.tif"), &t, &o, &err), 0);
    tes_georef_release(&g, owned);
    tes_tile_free(&t);
}

static const char *const colors_txt =
    "# elevations of the synthetic DEMs\n"
    "nv 0 0 0 0\n"
    "-500 20 40 90\n"
    "0 60 120 60 255\n"
    "700 brown\n"
    "1200,230,200,120\n"
    "1800:white:200\n"
    "3000 255 255 255\n";
static const double entry_values[] = { -500, 0, 700, 1200, 1800, 3000 };

static void write_colors(void)
{
    FILE *f = fopen(P("colors.txt"), "w");
    ck_assert_ptr_nonnull(f);
    fputs(colors_txt, f);
    fclose(f);
    f = fopen(P("pct.txt"), "w");
    ck_assert_ptr_nonnull(f);
    fputs("0% 0 0 128\n25% cyan\n50% 0 200 0\n75% yellow\n100% red\n"
          "nv 255 0 255 0\n", f);
    fclose(f);
    f = fopen(P("g.cpt"), "w");
    ck_assert_ptr_nonnull(f);
    fputs("# COLOR_MODEL = RGB\n-1000 0 0 0 1000 255 0 0\n"
          "1000 255 0 0 3000 0 255 0\nB 0 0 0\nF 0 0 0\nN 7 7 7\n", f);
    fclose(f);
}

/* gdaldem sums TRI, TPI and roughness in float32: the rounding of its sum
 * of 8 or 9 values is at most 8 units in the last place of float32 at the
 * window's largest magnitude. We compare within 1e-4 plus that bound. */
static double window_bound(const tes_tile *dem, int x, int y)
{
    double m = 0;
    for (int j = -1; j <= 1; j++)
        for (int i = -1; i <= 1; i++) {
            int xx = x + i < 0 ? 0 : x + i >= dem->width ? dem->width - 1
                                                          : x + i;
            int yy = y + j < 0 ? 0 : y + j >= dem->height ? dem->height - 1
                                                           : y + j;
            double v = fabs(tes_tile_get(dem, 0, xx, yy));
            m = v > m ? v : m;
        }
    return 1e-4 + 8 * m * FLT_EPSILON / 2;
}

enum { K_SHADE, K_SLOPE, K_ASPECT, K_WINDOW, K_COLOR, K_EXACT };

/* A gdaldem command line (DEM and OUT as %s %s) and ours, and how the
 * outputs compare with gdaldem's. */
static const struct gd_case {
    const char *gdal, *ours;
    const char *dem;
    int kind;
} gd_cases[] = {
    /* the example, as a user typed it */
    { "hillshade -az 200 -alt 30 -compute_edges -co COMPRESS=DEFLATE -q %s %s",
      "hillshade --azimuth 200 --altitude 30 --compute-edges --compress "
      "deflate --quiet %s %s", "f.tif", K_SHADE },
    { "hillshade -igor -q %s %s", "hillshade --igor --quiet %s %s", "f.tif",
      K_SHADE },
    { "hillshade %s %s -multidirectional -b 1 -q",
      "hillshade --multidirectional --band 1 %s %s", "i.tif", K_SHADE },
    { "hillshade -z 2 -s 111120 -igor %s %s -q",
      "hillshade -z 2 --scale 111120 --igor %s %s", "geo.tif", K_SHADE },
    { "slope -s 111120 -p -compute_edges %s %s -q",
      "slope --scale 111120 --percent --compute-edges %s %s", "geo.tif",
      K_SLOPE },
    { "aspect -trigonometric -alg ZevenbergenThorne %s %s -q",
      "aspect --trigonometric --alg zt %s %s", "i.tif", K_ASPECT },
    { "TRI %s %s -q", "tri %s %s", "f.tif", K_WINDOW },
    { "TRI -alg Wilson -compute_edges %s %s -q",
      "tri --alg wilson --compute-edges %s %s", "i.tif", K_WINDOW },
    { "TRI -alg Riley %s %s -q", "tri --alg riley %s %s", "geo.tif",
      K_WINDOW },
    { "TPI %s %s -q", "tpi %s %s", "f.tif", K_WINDOW },
    { "TPI -compute_edges %s %s -q", "tpi --compute-edges %s %s", "i.tif",
      K_WINDOW },
    { "roughness -compute_edges %s %s -q", "roughness --compute-edges %s %s",
      "f.tif", K_WINDOW },
    { "roughness %s %s -q", "roughness %s %s", "i.tif", K_WINDOW },
    { "color-relief %s colors.txt %s -q",
      "color-relief %s colors.txt %s", "f.tif", K_COLOR },
    { "color-relief -alpha %s colors.txt %s -q",
      "color-relief --alpha %s colors.txt %s", "i.tif", K_COLOR },
    { "color-relief -nearest_color_entry -alpha %s colors.txt %s -q",
      "color-relief --nearest-color-entry --alpha %s colors.txt %s", "f.tif",
      K_COLOR },
    { "color-relief -exact_color_entry -alpha %s colors.txt %s -q",
      "color-relief --exact-color-entry --alpha %s colors.txt %s", "i.tif",
      K_EXACT },
    { "color-relief %s pct.txt %s -alpha -q",
      "color-relief %s pct.txt %s --alpha", "f.tif", K_COLOR },
    { "color-relief %s g.cpt %s -q", "color-relief %s g.cpt %s", "i.tif",
      K_COLOR },
};

static void compare_gdaldem(const struct gd_case *c, const char *ours,
                            const char *theirs)
{
    tes_tile a, b, dem;
    read_all(ours, &a);
    read_all(theirs, &b);
    read_all(c->dem, &dem);
    ck_assert_int_eq(a.bands, b.bands);
    ck_assert_int_eq(a.has_nodata, b.has_nodata);
    if (a.has_nodata)
        ck_assert_double_eq(a.nodata, b.nodata);
    double nd = a.nodata;
    for (int y = 0; y < a.height; y++)
        for (int x = 0; x < a.width; x++)
            for (int k = 0; k < a.bands; k++) {
                double u = tes_tile_get(&a, k, x, y);
                double v = tes_tile_get(&b, k, x, y);
                if (a.has_nodata)
                    ck_assert_msg((u == nd) == (v == nd),
                                  "%s: nodata masks differ at (%d,%d): %g, "
                                  "gdaldem %g", c->ours, x, y, u, v);
                if (c->kind == K_COLOR) {
                    ck_assert_msg(u == v, "%s: (%d,%d) band %d: %g, gdaldem "
                                          "%g", c->ours, x, y, k, u, v);
                } else if (c->kind == K_EXACT) {
                    /* gdaldem 3.6 matched only the lowest entry: where it
                     * wrote 0 and we did not, the value is an entry's */
                    if (u == v)
                        continue;
                    double e = (float)tes_tile_get(&dem, 0, x, y);
                    bool entry = false;
                    for (size_t i = 0; i < sizeof entry_values /
                                               sizeof entry_values[0]; i++)
                        entry |= e == entry_values[i];
                    ck_assert_msg(v == 0 && entry, "%s: (%d,%d) band %d: %g, "
                                  "gdaldem %g (value %g)", c->ours, x, y, k,
                                  u, v, e);
                } else if (u != nd) {
                    double d = fabs(u - v);
                    if (c->kind == K_ASPECT && d > 180)
                        d = 360 - d;
                    double lim = c->kind == K_SHADE    ? 1
                                 : c->kind == K_SLOPE  ? 1e-3
                                 : c->kind == K_ASPECT ? 1e-2
                                 : window_bound(&dem, x, y);
                    ck_assert_msg(d <= lim, "%s: (%d,%d): %.9g, gdaldem "
                                  "%.9g", c->ours, x, y, u, v);
                }
            }
    tes_tile_free(&a);
    tes_tile_free(&b);
    tes_tile_free(&dem);
}

START_TEST(cli_gdaldem_command_lines)
{
    make_dems();
    write_colors();
    bool gdal = have("gdaldem");
    if (!gdal)
        fprintf(stderr, "cli_gdaldem_command_lines: gdaldem not installed "
                        "(gdal-bin): our spellings only\n");
    for (size_t i = 0; i < sizeof gd_cases / sizeof gd_cases[0]; i++) {
        const struct gd_case *c = &gd_cases[i];
        char line[600];
        /* gdaldem's line, with raster-tool for gdaldem */
        snprintf(line, sizeof line, c->gdal, c->dem, "t.tif");
        ck_assert_msg(rt("%s", line) == 0, "%s: %s", line, err_txt);
        ck_assert_str_eq(err_txt, "");
        snprintf(line, sizeof line, c->ours, c->dem, "o.tif");
        ck_assert_msg(rt("%s", line) == 0, "%s: %s", line, err_txt);
        ck_assert_msg(same_file("t.tif", "o.tif"), "%s: not the bytes of %s",
                      c->gdal, c->ours);
        if (gdal) {
            snprintf(line, sizeof line, c->gdal, c->dem, "g.tif");
            ck_assert_msg(sh("gdaldem %s", line) == 0, "gdaldem %s", line);
            compare_gdaldem(c, "t.tif", "g.tif");
            unlink(P("g.tif"));
        }
        unlink(P("t.tif"));
        unlink(P("o.tif"));
    }
}
END_TEST

/* The same bytes at any thread count, and the georeferencing carried. */
START_TEST(cli_gdaldem_kinds_any_threads)
{
    make_dems();
    write_colors();
    static const char *const cmds[] = {
        "tri --alg wilson f.tif",     "tpi --compute-edges i.tif",
        "roughness f.tif",            "hillshade --igor f.tif",
        "color-relief --alpha f.tif pct.txt",
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        ck_assert_int_eq(rt("%s -j 1 a.tif", cmds[i]), 0);
        ck_assert_int_eq(rt("%s -j 3 --tile 32 b.tif", cmds[i]), 0);
        ck_assert_int_eq(rt("%s -j 2 --tile 32 c.tif", cmds[i]), 0);
        ck_assert_msg(same_file("b.tif", "c.tif"), "%s", cmds[i]);
        tes_tile a, b;
        read_all("a.tif", &a);
        read_all("b.tif", &b);
        ck_assert(memcmp(a.data, b.data, sizeof(double) * (size_t)a.width *
                                             (size_t)a.height *
                                             (size_t)a.bands) == 0);
        tes_tile_free(&a);
        tes_tile_free(&b);
        tes_raster *r, *s;
        ck_assert_int_eq(tes_raster_open(&r, P("a.tif"), NULL), 0);
        ck_assert_int_eq(tes_raster_open(&s, P(strstr(cmds[i], "i.tif")
                                                  ? "i.tif" : "f.tif"), NULL),
                         0);
        const tes_raster_info *ri = tes_raster_info_get(r);
        ck_assert(ri->has_geotransform);
        ck_assert(memcmp(ri->geotransform,
                         tes_raster_info_get(s)->geotransform,
                         sizeof ri->geotransform) == 0);
        ck_assert_int_eq(ri->epsg, tes_raster_info_get(s)->epsg);
        tes_raster_close(r);
        tes_raster_close(s);
        unlink(P("a.tif"));
        unlink(P("b.tif"));
        unlink(P("c.tif"));
    }
}
END_TEST

START_TEST(cli_creation_options)
{
    synth("f.tif", 100, 70, 3, 0);
    ck_assert_int_eq(rt("slope f.tif a.tif -co COMPRESS=ZSTD -co ZSTD_LEVEL=3 "
                        "-co BLOCKXSIZE=128 -co BLOCKYSIZE=64 -co "
                        "PREDICTOR=FLOATING_POINT -co NUM_THREADS=2 -co "
                        "BIGTIFF=YES -co TILED=YES -q"), 0);
    ck_assert_int_eq(rt("slope f.tif b.tif --compress zstd --level 3 --tile "
                        "128x64 --predictor 3 -j 2 --bigtiff yes --quiet"), 0);
    ck_assert(same_file("a.tif", "b.tif"));
    tes_raster *r;
    ck_assert_int_eq(tes_raster_open(&r, P("a.tif"), NULL), 0);
    const tes_raster_info *i = tes_raster_info_get(r);
    ck_assert_str_eq(i->compression_name, "zstd");
    ck_assert_int_eq(i->block_width, 128);
    ck_assert_int_eq(i->block_height, 64);
    ck_assert_int_eq(i->predictor, 3);
    ck_assert(i->bigtiff);
    tes_raster_close(r);
    /* ZLEVEL counts for deflate, ZSTD_LEVEL for zstd, whatever the order */
    ck_assert_int_eq(rt("slope -co ZLEVEL=9 -co COMPRESS=DEFLATE f.tif c.tif "
                        "-q"), 0);
    ck_assert_int_eq(rt("slope --level 9 f.tif d.tif"), 0);
    ck_assert(same_file("c.tif", "d.tif"));
    ck_assert_int_eq(rt("slope -of GTiff -co COMPRESS=NONE f.tif e.tif -q"),
                     0);
    ck_assert_int_eq(rt("slope --compress none f.tif g.tif"), 0);
    ck_assert(same_file("e.tif", "g.tif"));
}
END_TEST

/* Refused by name, with a usage error (exit 2) and these exact lines. */
START_TEST(cli_gdal_refusals)
{
    synth("f.tif", 40, 30, 3, 0);
    static const struct { const char *args, *line; } bad[] = {
        { "hillshade -co PHOTOMETRIC=RGB f.tif o.tif",
          "raster-tool hillshade: -co PHOTOMETRIC: creation option not "
          "supported (COMPRESS, PREDICTOR, ZLEVEL, ZSTD_LEVEL, TILED, "
          "BLOCKXSIZE, BLOCKYSIZE, BIGTIFF, NUM_THREADS are, and for COG "
          "BLOCKSIZE, LEVEL, RESAMPLING, OVERVIEW_RESAMPLING)" },
        { "TPI -of COG -co RESAMPLING=LANCZOS f.tif o.tif",
          "raster-tool tpi: -co RESAMPLING=LANCZOS: expects NEAREST, AVERAGE, "
          "BILINEAR, CUBIC or MODE" },
        { "TRI -of COG -co BLOCKSIZE=500 f.tif o.tif",
          "raster-tool tri: -co BLOCKSIZE=500: expects a multiple of 16" },
        { "slope -co COMPRESS=JPEG f.tif o.tif",
          "raster-tool slope: -co COMPRESS=JPEG: raster-tool writes NONE, "
          "DEFLATE, LZW or ZSTD" },
        { "slope -co BLOCKXSIZE=100 f.tif o.tif",
          "raster-tool slope: -co BLOCKXSIZE=100: expects a multiple of 16" },
        { "slope -co COMPRESS f.tif o.tif",
          "raster-tool slope: -co COMPRESS: expects NAME=VALUE" },
        { "TRI -of PNG f.tif o.tif",
          "raster-tool tri: -of PNG: raster-tool writes GeoTIFF (GTiff or "
          "COG)" },
        { "hillshade -xscale 2 f.tif o.tif",
          "raster-tool hillshade: unknown option -xscale" },
        { "TPI -alg Riley f.tif o.tif",
          "raster-tool tpi: option --alg is not for tpi" },
        { "slope -alg Wilson f.tif o.tif",
          "raster-tool slope: invalid value 'Wilson'" },
        { "TRI -alg Horn f.tif o.tif", "raster-tool tri: invalid value 'Horn'" },
        { "slope -igor f.tif o.tif",
          "raster-tool slope: option --igor is not for slope" },
        { "hillshade -igor -combined f.tif o.tif",
          "raster-tool hillshade: --multidirectional, --combined and --igor "
          "exclude each other" },
        { "color-relief -exact_color_entry -nearest_color_entry f.tif c.txt "
          "o.tif",
          "raster-tool color-relief: --exact-color-entry and "
          "--nearest-color-entry exclude each other" },
        { "color-relief f.tif o.tif",
          "raster-tool color-relief: needs DEM, COLORS and OUT" },
        { "calc -A f.tif --calc 'arcsin(A)' --outfile o.tif",
          "raster-tool calc: --calc: the function arcsin is not translated" },
        { "calc -A f.tif --calc 'A & 1' --outfile o.tif",
          "raster-tool calc: --calc: '&' on numbers (bitwise) is not "
          "translated; it is translated between masks such as (A > 0) & "
          "(B < 5)" },
        { "calc -A f.tif --calc 'a + 1' --outfile o.tif",
          "raster-tool calc: --calc: lowercase input a is not supported: name "
          "inputs -A to -Z" },
        { "calc -A f.tif --calc 'A[0]' --outfile o.tif",
          "raster-tool calc: --calc: subscripts ([...]) are not translated: "
          "pick bands with --A_band" },
        { "calc -A f.tif --calc '1 < A < 3' --outfile o.tif",
          "raster-tool calc: --calc: chained comparisons (a < b < c) are not "
          "translated: numpy refuses them on arrays; use (a < b) & (b < c)" },
        { "calc -A f.tif --calc 'A.astype(numpy.uint8)' --outfile o.tif",
          "raster-tool calc: --calc: astype(uint8) is not translated (only "
          "float types: values are computed in double precision)" },
        { "calc -A f.tif --calc 'numpy.round(A)' --outfile o.tif",
          "raster-tool calc: --calc: numpy.round (halves to even) is not "
          "translated; use floor(x + 0.5)" },
        { "calc -A f.tif --calc A --hideNoData --outfile o.tif",
          "raster-tool calc: gdal_calc's --hideNoData is not supported" },
        { "calc -A f.tif --calc A --calc B --outfile o.tif",
          "raster-tool calc: several --calc (a multi-band output) are not "
          "supported" },
        { "calc -A f.tif --calc A --expr A --outfile o.tif",
          "raster-tool calc: --expr and --calc exclude each other" },
        { "calc -A f.tif --B_band 2 --calc A --outfile o.tif",
          "raster-tool calc: --B_band without -B" },
        { "calc -A f.tif --calc A --outfile o.tif p.tif",
          "raster-tool calc: --outfile and OUT both given" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(rt("%s", bad[i].args) == 2, "%s: %s", bad[i].args,
                      err_txt);
        char want[1024];
        snprintf(want, sizeof want, "%s\n", bad[i].line);
        ck_assert_msg(strncmp(err_txt, want, strlen(want)) == 0,
                      "%s:\n got: %s want: %s", bad[i].args, err_txt, want);
        ck_assert(!tu_exists(P("o.tif")));
    }
}
END_TEST

START_TEST(cli_color_relief_files)
{
    synth("f.tif", 60, 40, 3, 0.05);
    write_colors();
    /* a bad line: its number, exit 1, nothing written */
    FILE *f = fopen(P("bad.txt"), "w");
    fputs("0 red\n# fine\n100 reed\n", f);
    fclose(f);
    ck_assert_int_eq(rt("color-relief f.tif bad.txt o.tif"), 1);
    ck_assert_str_eq(err_txt, "raster-tool: bad.txt: line 3: unknown colour "
                              "'reed'\n");
    ck_assert(!tu_exists(P("o.tif")));
    ck_assert_int_eq(rt("color-relief f.tif nope.txt o.tif"), 1);
    ck_assert_str_eq(err_txt, "raster-tool: nope.txt: No such file or "
                              "directory\n");
    /* nv on a DEM without nodata: gdaldem's warning, and on it goes */
    synth("n.tif", 60, 40, 3, 0);
    ck_assert_int_eq(rt("color-relief n.tif colors.txt o.tif"), 0);
    ck_assert_str_eq(err_txt, "raster-tool: warning: n.tif has no nodata "
                              "value; the nv entry of colors.txt is "
                              "ignored\n");
    tes_raster *r;
    ck_assert_int_eq(tes_raster_open(&r, P("o.tif"), NULL), 0);
    ck_assert_int_eq(tes_raster_info_get(r)->bands, 3);
    ck_assert_int_eq(tes_raster_info_get(r)->type, TES_U8);
    ck_assert(!tes_raster_info_get(r)->has_nodata);
    tes_raster_close(r);
    /* percentages come from a first pass over the band: 0% is its
     * minimum, 100% its maximum */
    ck_assert_int_eq(rt("color-relief f.tif pct.txt p.tif --alpha"), 0);
    tes_tile dem, col;
    read_all("f.tif", &dem);
    read_all("p.tif", &col);
    double lo = INFINITY, hi = -INFINITY;
    int xlo = 0, ylo = 0, xhi = 0, yhi = 0;
    for (int y = 0; y < 40; y++)
        for (int x = 0; x < 60; x++) {
            double v = tes_tile_get(&dem, 0, x, y);
            if (v == dem.nodata)
                continue;
            if (v < lo) {
                lo = v;
                xlo = x;
                ylo = y;
            }
            if (v > hi) {
                hi = v;
                xhi = x;
                yhi = y;
            }
        }
    ck_assert_double_eq(tes_tile_get(&col, 2, xlo, ylo), 128); /* 0% */
    ck_assert_double_eq(tes_tile_get(&col, 0, xhi, yhi), 255); /* 100% */
    ck_assert_double_eq(tes_tile_get(&col, 1, xhi, yhi), 0);
    tes_tile_free(&dem);
    tes_tile_free(&col);
}
END_TEST

/* Photometric and extra samples of every image (overviews too) of a
 * colour relief: RGB, and one unassociated alpha when alpha. */
static void rgb_tags(const char *name, bool alpha)
{
    tu_quiet_libtiff(); /* GeoTIFF's tags are unknown to libtiff */
    TIFF *t = TIFFOpen(P(name), "r");
    ck_assert_ptr_nonnull(t);
    do {
        uint16_t photo = 0, n = 0, *extra = NULL;
        ck_assert(TIFFGetField(t, TIFFTAG_PHOTOMETRIC, &photo));
        ck_assert_int_eq(photo, PHOTOMETRIC_RGB);
        TIFFGetField(t, TIFFTAG_EXTRASAMPLES, &n, &extra);
        ck_assert_int_eq(n, alpha ? 1 : 0);
        if (alpha)
            ck_assert_int_eq(extra[0], EXTRASAMPLE_UNASSALPHA);
    } while (TIFFReadDirectory(t));
    TIFFClose(t);
}

/* GDAL's colour interpretation of name's bands, as "Red Green Blue". */
static void gdal_color_interp(const char *name, char *text, size_t cap)
{
    ck_assert_int_eq(
        sh("/usr/bin/python3 -c 'import sys\n"
           "from osgeo import gdal\n"
           "d = gdal.Open(sys.argv[1])\n"
           "print(\" \".join(gdal.GetColorInterpretationName(d.GetRasterBand("
           "i + 1).GetColorInterpretation()) for i in range(d.RasterCount)),"
           " file=open(sys.argv[2], \"w\"))' %s ci.txt", name),
        0);
    tu_read_text(P("ci.txt"), text, cap);
    unlink(P("ci.txt"));
}

/* gdaldem's modes as COGs: -of COG is --cog, with the COG driver's
 * creation options; colour relief is RGB (and unassociated alpha) as
 * gdaldem writes it, in every image. */
START_TEST(cli_cog_on_gdaldem_modes)
{
    synth("f.tif", 700, 500, 3, 0.02);
    write_colors();
    static const struct { const char *gdal, *ours; int levels, rgb; } c[] = {
        { "TRI -of COG f.tif a.tif -q", "tri --cog --quiet f.tif b.tif", 2,
          0 },
        { "TPI -of COG -co BLOCKSIZE=128 -co RESAMPLING=AVERAGE -co LEVEL=3 "
          "f.tif a.tif -q",
          "tpi --cog --tile 128 --overview-resampling average --level 3 "
          "f.tif b.tif", 3, 0 },
        { "roughness -of cog -co OVERVIEW_RESAMPLING=nearest -co "
          "COMPRESS=ZSTD f.tif a.tif -q",
          "roughness --cog --overview-resampling nearest --compress zstd "
          "f.tif b.tif", 2, 0 },
        { "color-relief -alpha -of COG f.tif colors.txt a.tif -q",
          "color-relief --alpha --cog f.tif colors.txt b.tif", 2, 2 },
        { "color-relief -of COG f.tif colors.txt a.tif -q",
          "color-relief --cog f.tif colors.txt b.tif", 2, 1 },
    };
    bool gdaldem = have("gdaldem") && tu_have_gdal();
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        ck_assert_msg(rt("%s", c[i].gdal) == 0, "%s: %s", c[i].gdal, err_txt);
        ck_assert_msg(rt("%s", c[i].ours) == 0, "%s: %s", c[i].ours, err_txt);
        ck_assert_msg(same_file("a.tif", "b.tif"), "%s", c[i].gdal);
        is_cog("a.tif", c[i].levels);
        if (c[i].rgb) {
            rgb_tags("a.tif", c[i].rgb == 2);
            ck_assert_int_eq(rt("color-relief %sf.tif colors.txt g.tif",
                                c[i].rgb == 2 ? "-alpha " : ""), 0);
            rgb_tags("g.tif", c[i].rgb == 2);
            /* convert keeps the colours' meaning, overviews too */
            ck_assert_int_eq(rt("convert --quiet g.tif h.tif"), 0);
            rgb_tags("h.tif", c[i].rgb == 2);
            ck_assert_int_eq(rt("overviews --quiet --min-size 200 g.tif"), 0);
            rgb_tags("g.tif", c[i].rgb == 2);
        }
        if (c[i].rgb && gdaldem) {
            ck_assert_int_eq(sh("gdaldem %s", c[i].gdal), 0); /* a.tif */
            char ours[256], theirs[256];
            gdal_color_interp("b.tif", ours, sizeof ours);
            gdal_color_interp("a.tif", theirs, sizeof theirs);
            ck_assert_str_eq(ours, c[i].rgb == 2 ? "Red Green Blue Alpha\n"
                                                 : "Red Green Blue\n");
            ck_assert_str_eq(ours, theirs);
            gdal_color_interp("h.tif", ours, sizeof ours);
            ck_assert_str_eq(ours, theirs);
        }
        unlink(P("a.tif"));
        unlink(P("b.tif"));
        unlink(P("g.tif"));
        unlink(P("h.tif"));
    }
    if (!gdaldem)
        fprintf(stderr, "cli_cog_on_gdaldem_modes: gdaldem or GDAL's Python "
                        "bindings not installed: colour interpretation not "
                        "compared\n");
}
END_TEST

/* gdal_calc.py's command lines: ours against gdal_calc.py when installed,
 * and always against our own spelling of the same computation. */
static const struct calc_case {
    const char *args;   /* inputs, --calc and options, not --outfile */
    const char *ours;   /* our spelling: calc ... */
    bool integer;       /* an integer output: exact */
} calc_cases[] = {
    { "-A f.tif --calc=\"A*2+1\"",
      "-A f.tif --expr 'where(isnodata(A), 0/0, A*2+1)' --type float32 "
      "--nodata 3.402823466e38", false },
    { "-A f.tif -B i.tif --calc=\"(A+B)/2\" --type=Float32",
      "-A f.tif -B i.tif --expr 'where(isnodata(A) || isnodata(B), 0/0, "
      "(A+B)/2)' --type float32 --nodata 3.402823466e38", false },
    { "-A f.tif -B i.tif --calc=\"numpy.where(A>1000, A, B)\"",
      "-A f.tif -B i.tif --expr 'where(isnodata(A) || isnodata(B), 0/0, "
      "where(A>1000, A, B))' --type float32 --nodata 3.402823466e38", false },
    { "-A i.tif --A_band=1 --calc=\"logical_and(A>100,A<1500)*A\" "
      "--type=Int16 --NoDataValue=-1",
      "-A i.tif --expr 'where(isnodata(A), 0/0, (A>100 && A<1500)*A)' "
      "--type int16 --nodata -1", true },
    { "-A f.tif --calc=\"(A>500)&(A<1500)|~(A<10)\" --type=Byte",
      "-A f.tif --expr 'where(isnodata(A), 0/0, (A>500 && A<1500) || "
      "!(A<10))' --type uint8 --nodata 255", true },
    { "-A i.tif --calc=\"A.astype(float)/3\" --type=Int32",
      "-A i.tif --expr 'where(isnodata(A), 0/0, A/3)' --type int32 "
      "--nodata -2147483647", true },
    { "-A i.tif -B f.tif --calc=\"numpy.maximum(A, B) - minimum(A, 500) + "
      "clip(B, 100, 900)\"",
      "-A i.tif -B f.tif --expr 'where(isnodata(A) || isnodata(B), 0/0, "
      "max(A, B) - min(A, 500) + clamp(B, 100, 900))' --type float32 "
      "--nodata 3.402823466e38", false },
};

START_TEST(cli_gdal_calc_command_lines)
{
    make_dems();
    bool gdal = have("gdal_calc.py");
    if (!gdal)
        fprintf(stderr, "cli_gdal_calc_command_lines: gdal_calc.py not "
                        "installed (python3-gdal): our spellings only\n");
    for (size_t i = 0; i < sizeof calc_cases / sizeof calc_cases[0]; i++) {
        const struct calc_case *c = &calc_cases[i];
        ck_assert_msg(rt("calc %s --outfile=t.tif --overwrite --quiet",
                         c->args) == 0, "%s: %s", c->args, err_txt);
        ck_assert_int_eq(rt("calc %s o.tif", c->ours), 0);
        ck_assert_msg(same_file("t.tif", "o.tif"), "%s", c->args);
        if (gdal) {
            ck_assert_msg(sh("gdal_calc.py %s --outfile=g.tif --quiet",
                             c->args) == 0, "gdal_calc.py %s", c->args);
            tes_tile a, b;
            read_all("t.tif", &a);
            read_all("g.tif", &b);
            tes_raster *r, *s;
            ck_assert_int_eq(tes_raster_open(&r, P("t.tif"), NULL), 0);
            ck_assert_int_eq(tes_raster_open(&s, P("g.tif"), NULL), 0);
            ck_assert_int_eq(tes_raster_info_get(r)->type,
                             tes_raster_info_get(s)->type);
            tes_raster_close(r);
            tes_raster_close(s);
            ck_assert_int_eq(a.has_nodata, b.has_nodata);
            ck_assert_double_eq(a.nodata, b.nodata);
            for (int y = 0; y < a.height; y++)
                for (int x = 0; x < a.width; x++) {
                    double u = tes_tile_get(&a, 0, x, y);
                    double v = tes_tile_get(&b, 0, x, y);
                    ck_assert_msg((u == a.nodata) == (v == b.nodata),
                                  "%s: nodata at (%d,%d): %g vs %g", c->args,
                                  x, y, u, v);
                    /* numpy keeps float32 inputs' arithmetic in float32 */
                    double lim = c->integer ? 0 : 1e-6 * fmax(1, fabs(v));
                    ck_assert_msg(fabs(u - v) <= lim, "%s: (%d,%d): %.9g, "
                                  "gdal_calc %.9g", c->args, x, y, u, v);
                }
            tes_tile_free(&a);
            tes_tile_free(&b);
            unlink(P("g.tif"));
        }
        unlink(P("t.tif"));
        unlink(P("o.tif"));
    }
}
END_TEST

START_TEST(cli_progress_forms)
{
    synth("f.tif", 300, 200, 3, 0);
    /* GDAL's form, on stdout, whatever stdout is */
    ck_assert_int_eq(rt("slope --progress=gdal f.tif a.tif"), 0);
    ck_assert_str_eq(out_txt,
                     "0...10...20...30...40...50...60...70...80...90...100 - "
                     "done.\n");
    ck_assert_str_eq(err_txt, "");
    /* gdaldem's -q silences it; the bar says nothing off a terminal */
    ck_assert_int_eq(rt("slope --progress=gdal -q f.tif b.tif"), 0);
    ck_assert_str_eq(out_txt, "");
    ck_assert_int_eq(rt("slope f.tif c.tif"), 0);
    ck_assert_str_eq(out_txt, "");
    ck_assert_str_eq(err_txt, "");
    ck_assert_int_eq(rt("slope --progress=nope f.tif d.tif"), 2);
    /* on a terminal: percent, elapsed time, MPix/s, one line */
    if (!have("script")) {
        fprintf(stderr, "cli_progress_forms: script (util-linux) missing, "
                        "terminal bar not checked\n");
        return;
    }
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "cd '%s' && script -qec \"'%s' slope f.tif "
             "e.tif\" /dev/null > tty.txt 2>&1", dir, tool);
    ck_assert_int_eq(system(cmd), 0);
    char tty[1 << 14];
    tu_read_text(P("tty.txt"), tty, sizeof tty);
    ck_assert_msg(strstr(tty, "100% [########################]"), "%s", tty);
    ck_assert_msg(strstr(tty, " MPix/s"), "%s", tty);
    ck_assert_msg(strchr(tty, '\r'), "%s", tty);
    /* one line: a single newline, at the end */
    char *nl = strchr(tty, '\n');
    ck_assert_ptr_nonnull(nl);
    ck_assert_msg(strspn(nl, "\r\n") == strlen(nl), "%s", tty);
}
END_TEST

/* --trace FILE on every command that runs tiles: a valid trace with the
 * run's tiles named and counted. */
START_TEST(cli_trace_on_every_command)
{
    synth("f.tif", 200, 150, 3, 0.02);
    write_colors();
    static const char *const cmds[] = {
        "synth --size 100x80 s.tif", "convert f.tif o.tif",
        "slope f.tif o.tif",         "tri f.tif o.tif",
        "color-relief f.tif pct.txt o.tif",
        "calc -A f.tif --expr 'A * 2' o.tif",
        "blur --sigma 2 f.tif o.tif", "stats f.tif",
        "quicklook f.tif o.png",
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        ck_assert_msg(rt("%s --trace t.json", cmds[i]) == 0, "%s: %s",
                      cmds[i], err_txt);
        jv t;
        jv_load(P("t.json"), &t);
        const jv *evs = jv_get(&t, "traceEvents");
        int tiles = 0;
        for (size_t k = 0; evs && k < evs->n; k++)
            tiles += !strncmp(jv_str(&evs->items[k], "name"), "tile ", 5) &&
                     !strcmp(jv_str(&evs->items[k], "ph"), "B");
        /* color-relief's percentages take a first pass: its tiles too */
        double counted = jv_num(jv_get(&t, "otherData"), "tiles", -1);
        ck_assert_msg(tiles > 0 && counted == tiles, "%s: %d tile spans, %g "
                      "counted", cmds[i], tiles, counted);
        jv_free(&t);
        unlink(P("t.json"));
        unlink(P("o.tif"));
        unlink(P("o.png"));
    }
}
END_TEST

static Suite *cli_gdal_suite(void)
{
    Suite *s = suite_create("cli_gdal");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, cli_gdaldem_command_lines);
    tcase_add_test(tc, cli_gdaldem_kinds_any_threads);
    tcase_add_test(tc, cli_creation_options);
    tcase_add_test(tc, cli_gdal_refusals);
    tcase_add_test(tc, cli_color_relief_files);
    tcase_add_test(tc, cli_cog_on_gdaldem_modes);
    tcase_add_test(tc, cli_gdal_calc_command_lines);
    tcase_add_test(tc, cli_progress_forms);
    tcase_add_test(tc, cli_trace_on_every_command);
    suite_add_tcase(s, tc);
    return s;
}

TES_CHECK_MAIN(cli_gdal_suite)
