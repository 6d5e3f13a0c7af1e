/*
 * test_cli_bounds.c — memory bounded by the file and a budget, not by a
 * header's word: the small 4096-band file through stats
 * --histogram 100000 is refused before it allocates (peak RSS measured,
 * printed, and bounded), headers that claim more data than the file
 * holds are refused at open, --memory / TESSERA_MEMORY / the API's
 * memory_limit refuse a run that would not fit and let one that fits run
 * unchanged, and sizes parse as people write them.
 */
#include <check.h>
#include <fcntl.h>

#include "cli_test_util.h"
#include "suite_main.h"


/* 16 x 16 pixels of `bands` 8-bit bands, one deflate strip per band: the
 * issue's file (about 90 KB for 4096 bands). raw_bytes > 0 writes every
 * strip as that many raw bytes instead, the header unchanged (a header
 * that claims more than the file holds). */
static void many_bands(const char *path, int bands, uint16_t comp,
                       int raw_bytes)
{
    TIFF *t = TIFFOpen(path, "w");
    ck_assert_ptr_nonnull(t);
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, 16);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, 16);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, bands);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
    TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_SEPARATE);
    TIFFSetField(t, TIFFTAG_COMPRESSION, comp);
    TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 16);
    uint16_t *extra = calloc((size_t)bands, sizeof *extra);
    TIFFSetField(t, TIFFTAG_EXTRASAMPLES, bands - 1, extra);
    uint8_t buf[256];
    for (int b = 0; b < bands; b++) {
        memset(buf, b, sizeof buf);
        tmsize_t w = raw_bytes ? TIFFWriteRawStrip(t, (uint32_t)b, buf,
                                                   raw_bytes)
                               : TIFFWriteEncodedStrip(t, (uint32_t)b, buf,
                                                       sizeof buf);
        ck_assert_int_ge(w, 0);
    }
    TIFFClose(t);
    free(extra);
}

START_TEST(bounds_many_bands_histogram_refused)
{
    many_bands(P("b4096.tif"), 4096, COMPRESSION_ADOBE_DEFLATE, 0);
    struct stat st;
    ck_assert_int_eq(stat(P("b4096.tif"), &st), 0);
    /* what the histogram pass needs: bands x bins x 8 bytes per tile in
     * flight (2 x 2 + 2 with -j 2) and the result */
    double need = 4096.0 * 100000 * 8 * 7;
    double secs;
    long rss;
    /* the default budget refuses it on any machine with less than twice
     * that memory; elsewhere the test does not run it (it would run) */
    if ((double)tes_memory_default() < need) {
        ck_assert_int_eq(rt_measured("stats -j 2 --histogram 100000 "
                                     "b4096.tif", &secs, &rss), 1);
        fprintf(stderr, "bounds: %lld-byte 4096-band file, stats "
                        "--histogram 100000: refused in %.3f s, peak RSS "
                        "%ld KB\n", (long long)st.st_size, secs, rss);
        ck_assert_ptr_nonnull(strstr(err_txt, "more than the memory budget"));
        ck_assert_ptr_nonnull(strstr(err_txt, "kernel's partial result"));
        ck_assert_int_eq(strchr(err_txt, '\n') - err_txt,
                         (long)strlen(err_txt) - 1);
#ifndef TU_SANITIZED
        ck_assert_int_lt(rss, 50 * 1024);
#endif
        ck_assert_double_lt(secs, 5); /* a hang guard; the time is above */
    }
    /* with a budget given: refused the same way, whatever the machine */
    ck_assert_int_eq(rt_measured("stats -j 2 --memory 1G --histogram 100000 "
                                 "b4096.tif", &secs, &rss), 1);
    ck_assert_str_eq(err_txt,
                     "raster-tool: b4096.tif: needs about 23.0 GB of memory "
                     "(6 tiles in flight of 3.3 GB each, mostly the "
                     "kernel's partial result), more than the memory budget "
                     "of 1.1 GB (see --memory)\n");
#ifndef TU_SANITIZED
    ck_assert_int_lt(rss, 50 * 1024);
#endif
    /* ... and with the ranges given (one pass): refused before it too */
    ck_assert_int_eq(rt_measured("stats -j 2 --memory 1G --histogram 100000 "
                                 "--range 0 255 b4096.tif", &secs, &rss),
                     1);
    ck_assert_ptr_nonnull(strstr(err_txt, "needs about 23.0 GB"));
    /* a histogram that fits runs, and counts right: band b is all b - 1
     * (mod 256) */
    ck_assert_int_eq(rt("stats -j 2 --histogram 4 --range 0 256 "
                        "b4096.tif | sed -n '1,2p;399,400p'"), 0);
    ck_assert_str_eq(out_txt,
                     "band 1: count 256, nodata 0, min 0, max 0, mean 0, "
                     "stddev 0\n  histogram 4 bins over [0, 256]: 256 0 0 0\n"
                     "band 200: count 256, nodata 0, min 199, max 199, mean "
                     "199, stddev 0\n  histogram 4 bins over [0, 256]: 0 0 0 "
                     "256\n");
}
END_TEST

START_TEST(bounds_lying_headers_refused)
{
    /* uncompressed strips of 10 bytes where the header says 256 */
    many_bands(P("short.tif"), 8, COMPRESSION_NONE, 10);
    ck_assert_int_eq(rt("info short.tif"), 1);
    ck_assert_str_eq(err_txt, "raster-tool: short.tif: strip 0 holds 10 "
                              "bytes, too few for the 256 its header's "
                              "sizes say it decodes to (truncated, or a "
                              "lying header?)\n");
    /* deflate cannot turn 1 byte into more than 1032 */
    TIFF *t = TIFFOpen(P("deflate.tif"), "w");
    ck_assert_ptr_nonnull(t);
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, 4096);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, 4096);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
    TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_ADOBE_DEFLATE);
    TIFFSetField(t, TIFFTAG_TILEWIDTH, 4096);
    TIFFSetField(t, TIFFTAG_TILELENGTH, 4096);
    uint8_t junk[100] = { 0x78, 0x9c };
    ck_assert_int_ge(TIFFWriteRawTile(t, 0, junk, sizeof junk), 0);
    TIFFClose(t);
    ck_assert_int_eq(rt("stats deflate.tif"), 1);
    ck_assert_ptr_nonnull(strstr(err_txt, "tile 0 holds 100 bytes, too few "
                                          "for the 16777216"));
    /* the honest files of the same shapes are read */
    many_bands(P("honest.tif"), 8, COMPRESSION_NONE, 0);
    ck_assert_int_eq(rt("stats honest.tif"), 0);
    ck_assert_ptr_nonnull(strstr(out_txt, "band 8: count 256"));
}
END_TEST

/* rt() with environment assignments before the tool. */
static int run_captured_env(const char *env, const char *args)
{
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "cd '%s' && %s '%s' %s >stdout.txt "
                              "2>stderr.txt", dir, env, tool, args);
    return run_captured(cmd);
}

START_TEST(bounds_memory_option)
{
    synth("dem.tif", 512, 512, 3, 0);
    ck_assert_int_eq(rt("slope --quiet -j 2 dem.tif a.tif"), 0);
    /* a budget the run fits: the same bytes */
    ck_assert_int_eq(rt("slope --quiet -j 2 --memory 1G dem.tif b.tif"), 0);
    ck_assert(same_file("a.tif", "b.tif"));
    /* a tight one: the cache shrinks to a quarter of it, same bytes */
    ck_assert_int_eq(rt("slope --quiet -j 2 --memory 48M dem.tif c.tif"), 0);
    ck_assert(same_file("a.tif", "c.tif"));
    /* too tight: refused before anything, no output, nothing beside it */
    ck_assert_int_eq(rt("slope --quiet -j 2 --memory 4M dem.tif d.tif"), 1);
    ck_assert_ptr_nonnull(strstr(err_txt, "raster-tool: d.tif: needs about "));
    ck_assert_ptr_nonnull(strstr(err_txt, "more than the memory budget of "
                                          "4.2 MB (see --memory)\n"));
    ck_assert(!tu_exists(P("d.tif")));
    ck_assert_int_eq(tu_count_files(dir), 4);
    /* the environment's default, and the option over it */
    ck_assert_int_eq(rt("slope --quiet dem.tif e.tif") , 0);
    ck_assert_int_eq(run_captured_env("TESSERA_MEMORY=4M",
                                      "slope --quiet dem.tif f.tif"), 1);
    ck_assert_ptr_nonnull(strstr(err_txt, "more than the memory budget"));
    ck_assert_int_eq(run_captured_env("TESSERA_MEMORY=4M",
                                      "slope --quiet --memory none dem.tif "
                                      "f.tif"), 0);
    /* usage errors */
    ck_assert_int_eq(rt("slope --memory lots dem.tif g.tif"), 2);
    ck_assert_str_eq(err_txt, "raster-tool slope: --memory lots: expects a "
                              "size such as 512M, 4G or none\nTry "
                              "'raster-tool slope --help'.\n");
    ck_assert_int_eq(rt("stats --memory 0 dem.tif"), 2);
    ck_assert_int_eq(rt("slope --help"), 0);
    ck_assert_ptr_nonnull(strstr(out_txt, "--memory SIZE"));
}
END_TEST

START_TEST(bounds_memory_parse)
{
    uint64_t v;
    ck_assert_int_eq(tes_memory_parse("512M", &v), 0);
    ck_assert_uint_eq(v, (uint64_t)512 << 20);
    ck_assert_int_eq(tes_memory_parse("1.5G", &v), 0);
    ck_assert_uint_eq(v, (uint64_t)3 << 29);
    ck_assert_int_eq(tes_memory_parse("2GiB", &v), 0);
    ck_assert_uint_eq(v, (uint64_t)2 << 30);
    ck_assert_int_eq(tes_memory_parse("64k", &v), 0);
    ck_assert_uint_eq(v, 65536);
    ck_assert_int_eq(tes_memory_parse("1000", &v), 0);
    ck_assert_uint_eq(v, 1000);
    ck_assert_int_eq(tes_memory_parse("none", &v), 0);
    ck_assert_uint_eq(v, UINT64_MAX);
    const char *bad[] = { "", "0", "-1", "1X", "M", " 1M", "1M ", "nan",
                          "1e30", "0.1" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(tes_memory_parse(bad[i], &v) == -EINVAL, "'%s'",
                      bad[i]);
    ck_assert_int_eq(tes_memory_parse(NULL, &v), -EINVAL);
    ck_assert_uint_gt(tes_memory_default(), 0);
}
END_TEST

START_TEST(bounds_estimate_api)
{
    synth("dem.tif", 300, 200, 3, 0);
    tes_raster *r;
    tes_raster_error err;
    ck_assert_int_eq(tes_raster_open(&r, P("dem.tif"), &err), 0);
    tes_pool *pool;
    tes_pool_options o = TES_POOL_OPTIONS_INIT;
    o.threads = 3;
    ck_assert_int_eq(tes_pool_create(&pool, &o), 0);
    tes_kernel k;
    ck_assert_int_eq(tes_kernel_stats(&k, 1, 1000000, 0, 1), 0);
    tes_pipeline_options po = TES_PIPELINE_OPTIONS_INIT;
    po.memory_limit = (uint64_t)64 << 20;
    uint64_t need = 0;
    /* 8 tiles in flight and the result, 8 MB each: over 64 MB */
    ck_assert_int_eq(tes_raster_run_estimate(pool, &k, &r, 1, NULL, NULL,
                                             &po, &need, &err),
                     TES_ETOOBIG);
    ck_assert_uint_gt(need, (uint64_t)9 * 8000000);
    ck_assert_ptr_nonnull(strstr(err.message, "8 tiles in flight"));
    /* and the run itself refuses the same way, before touching result */
    ck_assert_int_eq(tes_raster_run(pool, &k, &r, 1, NULL, NULL, NULL, &po,
                                    &err), -EINVAL); /* no result */
    void *res = malloc(k.partial_size);
    ck_assert_int_eq(tes_raster_run(pool, &k, &r, 1, NULL, NULL, res, &po,
                                    &err), TES_ETOOBIG);
    ck_assert_str_eq(tes_raster_strerror(TES_ETOOBIG),
                     "more memory than the budget allows");
    po.memory_limit = (uint64_t)1 << 30;
    ck_assert_int_eq(tes_raster_run_estimate(pool, &k, &r, 1, NULL, NULL,
                                             &po, &need, &err), 0);
    ck_assert_int_eq(tes_raster_run(pool, &k, &r, 1, NULL, NULL, res, &po,
                                    &err), 0);
    ck_assert_uint_eq(tes_stats_band(res, 0)->count, 300 * 200);
    free(res);
    tes_kernel_release(&k);
    tes_pool_destroy(pool);
    tes_raster_close(r);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("cli_bounds");
    TCase *tc = tcase_create("bounds");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, bounds_many_bands_histogram_refused);
    tcase_add_test(tc, bounds_lying_headers_refused);
    tcase_add_test(tc, bounds_memory_option);
    tcase_add_test(tc, bounds_memory_parse);
    tcase_add_test(tc, bounds_estimate_api);
    suite_add_tcase(s, tc);
    return s;
}

TES_CHECK_MAIN(make_suite)
