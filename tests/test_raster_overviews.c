/*
 * test_raster_overviews.c — tes_raster_build_overviews: levels inside the
 * file (replacing earlier ones) and in FILE.ovr, their sizes and pixels
 * against a naive cascade, the main image untouched, agreement with
 * gdaladdo (when installed), alpha bands (GDAL's mask for unassociated
 * alpha, every pixel for premultiplied), refusals, and atomicity: a write
 * that fails mid-way (the file-size limit of a full disk) leaves the file
 * as it was and nothing beside it.
 */
#include <check.h>
#include <math.h>
#include <signal.h>
#include <sys/resource.h>
#include <time.h>

#include "raster_test_util.h"
#include "suite_main.h"

static char *dir;

static void setup(void) { dir = tu_tmpdir(); }
static void teardown(void) { tu_rmdir(dir); }

/* A 300 x 200 uint16 file of 32-pixel tiles, deflate. */
static void make_input(const char *path, tes_tile *src)
{
    ck_assert_int_eq(tes_tile_alloc(src, TES_U16, 300, 200, 1), 0);
    tu_fill_smooth(src, 7);
    tes_raster_create_options o = TES_RASTER_CREATE_OPTIONS_INIT;
    o.tile_width = o.tile_height = 32;
    o.overwrite = true;
    ck_assert_int_eq(tes_raster_write_tile(path, src, &o, NULL), 0);
}

/* Directory d of path (or of path.ovr), as libtiff reads it. */
static void read_dir(const char *path, int d, tes_tile *out)
{
    TIFF *t = TIFFOpen(path, "r");
    ck_assert_ptr_nonnull(t);
    ck_assert(TIFFSetDirectory(t, (tdir_t)d));
    uint32_t w, h, tw, th, sub = 0;
    TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &w);
    TIFFGetField(t, TIFFTAG_IMAGELENGTH, &h);
    TIFFGetField(t, TIFFTAG_TILEWIDTH, &tw);
    TIFFGetField(t, TIFFTAG_TILELENGTH, &th);
    TIFFGetField(t, TIFFTAG_SUBFILETYPE, &sub);
    ck_assert_int_eq(tes_tile_alloc(out, TES_U16, (int)w, (int)h, 1), 0);
    uint16_t *buf = malloc((size_t)TIFFTileSize(t));
    for (uint32_t y0 = 0; y0 < h; y0 += th)
        for (uint32_t x0 = 0; x0 < w; x0 += tw) {
            ck_assert_int_ge(TIFFReadTile(t, buf, x0, y0, 0, 0), 0);
            for (uint32_t y = 0; y < th && y0 + y < h; y++)
                memcpy((uint16_t *)tes_tile_row(out, 0, (int)(y0 + y)) + x0,
                       buf + (size_t)y * tw,
                       (x0 + tw > w ? w - x0 : tw) * sizeof *buf);
        }
    free(buf);
    TIFFClose(t);
}

static int directories(const char *path)
{
    TIFF *t = TIFFOpen(path, "r");
    ck_assert_ptr_nonnull(t);
    int n = TIFFNumberOfDirectories(t);
    TIFFClose(t);
    return n;
}

/* Level l + 1 from level l by nearest: the pixel at (int)(0.5 + i * r). */
static void naive_nearest(const tes_tile *src, tes_tile *dst)
{
    int w = (src->width + 1) / 2, h = (src->height + 1) / 2;
    ck_assert_int_eq(tes_tile_alloc(dst, src->type, w, h, 1), 0);
    double rx = (double)src->width / w, ry = (double)src->height / h;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            tes_tile_set(dst, 0, x, y,
                         tes_tile_get(src, 0, (int)(0.5 + x * rx),
                                      (int)(0.5 + y * ry)));
}

START_TEST(overviews_internal_then_replaced_and_external)
{
    char *p = tu_path(dir, "f.tif"), *ovr = tu_path(dir, "f.tif.ovr");
    tes_tile src;
    make_input(p, &src);
    tes_overview_options o = TES_OVERVIEW_OPTIONS_INIT;
    o.resampling = TES_RESAMPLE_NEAREST;
    o.min_size = 40; /* 150x100, 75x50, 38x25 */
    for (int round = 0; round < 3; round++) {
        o.external = round == 2;
        tes_pool *pool = tu_pool(round + 1);
        tes_raster_error err;
        int rc = tes_raster_build_overviews(pool, p, &o, &err);
        ck_assert_msg(rc == 0, "%s", err.message);
        tes_pool_destroy(pool);
        /* inside: the main image and three levels, whether it had them
         * or not; outside: three levels in f.tif.ovr */
        const char *holder = o.external ? ovr : p;
        ck_assert_int_eq(directories(holder), o.external ? 3 : 4);
        tes_tile level, want;
        read_dir(p, 0, &level);
        ck_assert(tu_tiles_equal(&level, &src));
        tes_tile_free(&level);
        tes_tile above = src;
        for (int d = 1; d <= 3; d++) {
            naive_nearest(&above, &want);
            read_dir(holder, o.external ? d - 1 : d, &level);
            ck_assert_msg(tu_tiles_equal(&level, &want), "level %d", d);
            tes_tile_free(&level);
            if (d > 1)
                tes_tile_free(&above);
            above = want;
        }
        tes_tile_free(&above);
        tes_raster *r;
        ck_assert_int_eq(tes_raster_open(&r, p, NULL), 0);
        const tes_raster_info *in = tes_raster_info_get(r);
        ck_assert_int_eq(in->n_overviews, o.external ? 6 : 3);
        ck_assert_int_eq(in->overviews[2].width, 38);
        ck_assert_int_eq(in->overviews[2].height, 25);
        ck_assert(in->overviews[in->n_overviews - 1].external == o.external);
        tes_raster_close(r);
    }
    /* too small for any level: left alone */
    struct stat before, after;
    ck_assert_int_eq(stat(p, &before), 0);
    o.external = false;
    o.min_size = 1000;
    tes_pool *pool = tu_pool(2);
    ck_assert_int_eq(tes_raster_build_overviews(pool, p, &o, NULL), 0);
    tes_pool_destroy(pool);
    ck_assert_int_eq(stat(p, &after), 0);
    ck_assert_int_eq(before.st_ino, after.st_ino);
    tes_tile_free(&src);
    free(p);
    free(ovr);
}
END_TEST

/* A second page is not an overview: refused, named, the file as it was. */
START_TEST(overviews_refuse_other_pages)
{
    char *p = tu_path(dir, "two.tif");
    TIFF *t = TIFFOpen(p, "w");
    for (int page = 0; page < 2; page++) {
        TIFFSetField(t, TIFFTAG_IMAGEWIDTH, 600);
        TIFFSetField(t, TIFFTAG_IMAGELENGTH, 400);
        TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
        TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
        TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 400);
        uint8_t *row = calloc(600, 400);
        TIFFWriteEncodedStrip(t, 0, row, 600 * 400);
        free(row);
        TIFFWriteDirectory(t);
    }
    TIFFClose(t);
    size_t n0;
    uint8_t *before = tu_slurp(p, &n0);
    tes_pool *pool = tu_pool(2);
    tes_raster_error err;
    int rc = tes_raster_build_overviews(pool, p, NULL, &err);
    ck_assert_int_eq(rc, TES_EUNSUPPORTED);
    ck_assert_msg(strstr(err.message, p) && strstr(err.message, "--external"),
                  "%s", err.message);
    size_t n1;
    uint8_t *after = tu_slurp(p, &n1);
    ck_assert(n0 == n1 && memcmp(before, after, n0) == 0);
    ck_assert_int_eq(tu_count_files(dir), 1);
    /* outside it, it is fine */
    tes_overview_options o = TES_OVERVIEW_OPTIONS_INIT;
    o.external = true;
    ck_assert_int_eq(tes_raster_build_overviews(pool, p, &o, &err), 0);
    ck_assert_int_eq(tu_count_files(dir), 2);
    tes_pool_destroy(pool);
    free(before);
    free(after);
    free(p);
}
END_TEST

/* A compression level the file's codec does not take is refused before
 * any work, in the same words as for a new file (not as a failure of the
 * compressor), and the file is left as it was. */
START_TEST(overviews_refuse_bad_level)
{
    char *p = tu_path(dir, "in.tif");
    tes_tile src;
    make_input(p, &src); /* deflate */
    size_t n0;
    uint8_t *before = tu_slurp(p, &n0);
    tes_pool *pool = tu_pool(2);
    tes_overview_options o = TES_OVERVIEW_OPTIONS_INIT;
    o.min_size = 64;
    o.level = 13;
    tes_raster_error err;
    ck_assert_int_eq(tes_raster_build_overviews(pool, p, &o, &err), -EINVAL);
    ck_assert_msg(strstr(err.message, p) &&
                      strstr(err.message, "deflate level 13 is not in 1..12"),
                  "%s", err.message);
    size_t n1;
    uint8_t *after = tu_slurp(p, &n1);
    ck_assert(n0 == n1 && memcmp(before, after, n0) == 0);
    ck_assert_int_eq(tu_count_files(dir), 1);
    o.level = 12; /* the top of deflate's range is fine */
    ck_assert_int_eq(tes_raster_build_overviews(pool, p, &o, &err), 0);
    tes_pool_destroy(pool);
    tes_tile_free(&src);
    free(before);
    free(after);
    free(p);
}
END_TEST

/* Everything the levels take that the file's header or the options make
 * large (tiles in flight and their windows, decoded blocks, the stores)
 * is estimated against the budget before anything is allocated or
 * written: a small sparse file whose header claims 4096 bands is refused
 * in a moment, the file untouched and nothing beside it; levels built
 * within a budget that just fits their estimate are the bytes of levels
 * built without one, and just under it they are refused. */
START_TEST(overviews_within_memory_budget)
{
    char *p = tu_path(dir, "bands.tif");
    tu_write_sparse(p, 1024, 1024, 4096, 256);
    size_t n0;
    uint8_t *before = tu_slurp(p, &n0);
#ifndef TU_SANITIZED
    /* were the estimate missing, the levels' allocations fail here rather
     * than take the machine's memory (sanitizers reserve more address
     * space than this) */
    struct rlimit rl = { (rlim_t)2 << 30, (rlim_t)2 << 30 };
    ck_assert_int_eq(setrlimit(RLIMIT_AS, &rl), 0);
#endif
    tes_pool *pool = tu_pool(2);
    tes_overview_options o = TES_OVERVIEW_OPTIONS_INIT;
    o.memory_limit = (uint64_t)1 << 30;
    tes_raster_error err;
    for (int external = 0; external < 2; external++) {
        o.external = external;
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        long rss0 = ru.ru_maxrss;
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        ck_assert_int_eq(tes_raster_build_overviews(pool, p, &o, &err),
                         TES_ETOOBIG);
        clock_gettime(CLOCK_MONOTONIC, &b);
        getrusage(RUSAGE_SELF, &ru);
        fprintf(stderr, "budget: overviews%s of a %zu-byte file claiming "
                        "4096 bands: refused in %.6f s, peak RSS +%ld KB\n",
                external ? " --external" : "", n0,
                (double)(b.tv_sec - a.tv_sec) +
                    (double)(b.tv_nsec - a.tv_nsec) * 1e-9,
                ru.ru_maxrss - rss0);
        char want[4400];
        snprintf(want, sizeof want,
                 "%s: needs about 11.4 GB of memory (6 tiles in flight of "
                 "1.7 GB each), more than the memory budget of 1.1 GB", p);
        ck_assert_str_eq(err.message, want);
#ifndef TU_SANITIZED
        ck_assert_int_lt(ru.ru_maxrss - rss0, 50 * 1024);
#endif
        size_t n1;
        uint8_t *after = tu_slurp(p, &n1);
        ck_assert(n0 == n1 && memcmp(before, after, n0) == 0);
        free(after);
        ck_assert_int_eq(tu_count_files(dir), 1);
    }
    /* the default budget, where the machine has less than twice that */
    double slack, need = tu_needs_bytes(err.message, &slack);
    o.memory_limit = 0;
    o.external = false;
    if ((double)tes_memory_default() < need - slack)
        ck_assert_int_eq(tes_raster_build_overviews(pool, p, &o, &err),
                         TES_ETOOBIG);
    free(before);
    free(p);

    /* a real file: its estimate (a cache of its own, so that the budget
     * fixes none of its parts) read from a refusal */
    char *a = tu_path(dir, "a.tif"), *c = tu_path(dir, "c.tif");
    tes_tile src;
    make_input(a, &src);
    tes_tile_free(&src);
    make_input(c, &src);
    o.cache_bytes = 1 << 20;
    ck_assert_int_eq(tes_raster_build_overviews(pool, a, &o, &err), 0);
    o.memory_limit = 1000;
    ck_assert_int_eq(tes_raster_build_overviews(pool, c, &o, &err),
                     TES_ETOOBIG);
    need = tu_needs_bytes(err.message, &slack);
    o.memory_limit = (uint64_t)(need - slack);
    ck_assert_int_eq(tes_raster_build_overviews(pool, c, &o, &err),
                     TES_ETOOBIG);
    ck_assert_int_eq(directories(c), 1);
    o.memory_limit = (uint64_t)(need + slack);
    ck_assert_msg(tes_raster_build_overviews(pool, c, &o, &err) == 0, "%s",
                  err.message);
    ck_assert_int_eq(directories(c), 2);
    ck_assert(tu_files_equal(a, c));
    tes_pool_destroy(pool);
    tes_tile_free(&src);
    free(a);
    free(c);
}
END_TEST

/* Disk full half-way: the copy of the file fits the limit, its levels do
 * not. The file is byte for byte as before; nothing is left beside it. */
START_TEST(overviews_failing_write_leaves_file_untouched)
{
    char *p = tu_path(dir, "f.tif");
    tes_tile src;
    ck_assert_int_eq(tes_tile_alloc(&src, TES_F64, 700, 500, 1), 0);
    tu_fill_random(src.data, 700 * 500 * 8, 4);
    tes_raster_create_options co = TES_RASTER_CREATE_OPTIONS_INIT;
    co.compress = TES_COMPRESS_NONE;
    co.tile_width = co.tile_height = 64;
    ck_assert_int_eq(tes_raster_write_tile(p, &src, &co, NULL), 0);
    size_t n0;
    uint8_t *before = tu_slurp(p, &n0);
    for (int external = 0; external < 2; external++) {
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            signal(SIGXFSZ, SIG_IGN);
            /* the copy (2.9 MB) fits, a third more does not; the .ovr's
             * 0.9 MB does not fit 0.5 MB */
            rlim_t lim = external ? 500000 : (rlim_t)n0 + 300000;
            struct rlimit rl = { lim, lim };
            setrlimit(RLIMIT_FSIZE, &rl);
            tes_pool *pool = tu_pool(2);
            tes_overview_options o = TES_OVERVIEW_OPTIONS_INIT;
            o.external = external;
            o.cache_bytes = 1 << 20; /* the stores spill too */
            tes_raster_error err;
            int rc = tes_raster_build_overviews(pool, p, &o, &err);
            tes_pool_destroy(pool);
            free(p);
            _exit(rc == -EFBIG && !strchr(err.message, '\n') ? 0 : 12);
        }
        int st;
        ck_assert_int_eq(waitpid(pid, &st, 0), pid);
        ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
                      "child status %d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
        size_t n1;
        uint8_t *after = tu_slurp(p, &n1);
        ck_assert(n0 == n1 && memcmp(before, after, n0) == 0);
        free(after);
        ck_assert_int_eq(tu_count_files(dir), 1);
    }
    free(before);
    tes_tile_free(&src);
    free(p);
}
END_TEST

/* Inside and outside, every method against gdaladdo on the same file. */
START_TEST(overviews_agree_with_gdaladdo)
{
    if (!tu_have_gdal())
        return;
    char *p = tu_path(dir, "f.tif"), *g = tu_path(dir, "g.tif");
    tes_tile src;
    static const char *const names[] = { "nearest", "average", "bilinear",
                                         "cubic", "mode" };
    for (int m = 0; m < 5; m++) {
        make_input(p, &src);
        ck_assert_int_eq(tu_sh("cp '%s' '%s' && gdaladdo -q -r %s '%s' 2 4 8",
                               p, g, names[m], g), 0);
        tes_overview_options o = TES_OVERVIEW_OPTIONS_INIT;
        o.resampling = (tes_resampling)(TES_RESAMPLE_NEAREST + m);
        o.min_size = 40;
        tes_pool *pool = tu_pool(2);
        ck_assert_int_eq(tes_raster_build_overviews(pool, p, &o, NULL), 0);
        tes_pool_destroy(pool);
        for (int d = 1; d <= 3; d++) {
            tes_tile a, b;
            read_dir(p, d, &a);
            read_dir(g, d, &b);
            ck_assert_msg(tu_tiles_equal(&a, &b), "%s level %d", names[m], d);
            tes_tile_free(&a);
            tes_tile_free(&b);
        }
        tes_tile_free(&src);
    }
    free(p);
    free(g);
}
END_TEST

/* Level l + 1 from level l by average, ratio 2, as GDAL does it for an
 * image whose last band is alpha: unassociated, a pixel of alpha 0 is
 * left out of every band (none left: 0); associated (premultiplied),
 * every pixel counts. */
static void naive_alpha_average(const tes_tile *src, tes_tile *dst,
                                bool associated)
{
    int w = src->width / 2, h = src->height / 2, nb = src->bands;
    ck_assert_int_eq(tes_tile_alloc(dst, src->type, w, h, nb), 0);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int b = 0; b < nb; b++) {
                double sum = 0;
                int n = 0;
                for (int k = 0; k < 4; k++) {
                    int sx = 2 * x + k % 2, sy = 2 * y + k / 2;
                    if (!associated &&
                        tes_tile_get(src, nb - 1, sx, sy) == 0)
                        continue;
                    sum += tes_tile_get(src, b, sx, sy);
                    n++;
                }
                tes_tile_set(dst, b, x, y, n ? floor(sum / n + 0.5) : 0);
            }
}

/* Average overviews of images with an alpha band against the naive
 * cascade above: unassociated alpha masks as GDAL's does, associated
 * alpha is averaged as it is (exact for premultiplied colours); 8-bit
 * RGBA and 16-bit grey + alpha. */
START_TEST(overviews_alpha_average_as_gdal_or_premultiplied)
{
    static const tu_alpha_image c[] = {
        { "a.tif", 4, 8, PHOTOMETRIC_RGB, EXTRASAMPLE_UNASSALPHA },
        { "a.tif", 4, 8, PHOTOMETRIC_RGB, EXTRASAMPLE_ASSOCALPHA },
        { "a.tif", 2, 16, PHOTOMETRIC_MINISBLACK, EXTRASAMPLE_UNASSALPHA },
        { "a.tif", 2, 16, PHOTOMETRIC_MINISBLACK, EXTRASAMPLE_ASSOCALPHA },
    };
    char *p = tu_path(dir, "a.tif");
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        tes_sample_type t = c[i].bits == 8 ? TES_U8 : TES_U16;
        bool assoc = c[i].kind == EXTRASAMPLE_ASSOCALPHA;
        ck_assert_int_eq(tu_write_alpha(p, 256, 192, &c[i], 32), 0);
        tes_overview_options o = TES_OVERVIEW_OPTIONS_INIT;
        o.resampling = TES_RESAMPLE_AVERAGE;
        o.min_size = 40;
        tes_pool *pool = tu_pool(2);
        ck_assert_int_eq(tes_raster_build_overviews(pool, p, &o, NULL), 0);
        tes_pool_destroy(pool);
        ck_assert_int_eq(directories(p), 4);
        tes_tile above;
        ck_assert_int_eq(tu_read_libtiff_dir(p, 0, &above, t, c[i].bands), 0);
        for (int d = 1; d <= 3; d++) {
            tes_tile got, want;
            ck_assert_int_eq(tu_read_libtiff_dir(p, d, &got, t, c[i].bands),
                             0);
            naive_alpha_average(&above, &want, assoc);
            ck_assert_msg(tu_tiles_equal(&got, &want), "case %zu level %d",
                          i, d);
            tes_tile_free(&want);
            tes_tile_free(&above);
            above = got;
        }
        tes_tile_free(&above);
    }
    free(p);
}
END_TEST

static Suite *suite(void)
{
    tu_quiet_libtiff();
    Suite *s = suite_create("raster_overviews");
    TCase *tc = tcase_create("overviews");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, overviews_internal_then_replaced_and_external);
    tcase_add_test(tc, overviews_refuse_other_pages);
    tcase_add_test(tc, overviews_refuse_bad_level);
    tcase_add_test(tc, overviews_within_memory_budget);
    tcase_add_test(tc, overviews_failing_write_leaves_file_untouched);
    tcase_add_test(tc, overviews_agree_with_gdaladdo);
    tcase_add_test(tc, overviews_alpha_average_as_gdal_or_premultiplied);
    suite_add_tcase(s, tc);
    return s;
}

TES_CHECK_MAIN(suite)
