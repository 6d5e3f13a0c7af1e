/*
 * test_raster_refuse.c — inputs the reader must refuse, each made here:
 * truncated, empty, not a TIFF, zero width, absurd dimensions, 64-bit
 * integers, complex and 8-bit float samples, YCbCr forms we do not
 * decode, a missing required tag, a corrupted compressed tile; and a write into a full disk
 * (RLIMIT_FSIZE in a child). Each time: a one-line error naming the file,
 * no crash, no output left behind.
 */
#include <check.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "raster_test_util.h"
#include "suite_main.h"

static char *dir;

static void setup(void) { dir = tu_tmpdir(); }
static void teardown(void) { tu_rmdir(dir); }

/* Asserts that opening path fails with code (0: any) and a one-line
 * message that starts with the path and contains `what`. */
static void refused(const char *path, int code, const char *what)
{
    tes_raster *r = NULL;
    tes_raster_error err;
    memset(&err, 0, sizeof err);
    int rc = tes_raster_open(&r, path, &err);
    ck_assert_msg(rc < 0, "%s was accepted", path);
    ck_assert_ptr_null(r);
    if (code)
        ck_assert_int_eq(rc, code);
    ck_assert_int_eq(err.code, rc);
    ck_assert_msg(strncmp(err.message, path, strlen(path)) == 0 &&
                      err.message[strlen(path)] == ':',
                  "message: %s", err.message);
    ck_assert_msg(!strchr(err.message, '\n'), "two lines: %s", err.message);
    if (what)
        ck_assert_msg(strstr(err.message, what), "message: %s", err.message);
}

typedef struct entry {
    uint16_t tag, type;
    uint32_t count, value;
} entry;

/* A little-endian classic TIFF with one IFD of inline SHORT/LONG entries
 * (sorted by the caller); 64 bytes of pixel data follow at offset 512. */
static void write_raw_tiff(const char *path, const entry *e, int n)
{
    uint8_t buf[576];
    memset(buf, 0, sizeof buf);
    memcpy(buf, "II*\0", 4);
    buf[4] = 8;
    buf[8] = (uint8_t)n;
    for (int i = 0; i < n; i++) {
        uint8_t *p = buf + 10 + 12 * i;
        memcpy(p, &e[i].tag, 2);
        memcpy(p + 2, &e[i].type, 2);
        memcpy(p + 4, &e[i].count, 4);
        if (e[i].type == TIFF_SHORT) {
            uint16_t v = (uint16_t)e[i].value;
            memcpy(p + 8, &v, 2);
        } else {
            memcpy(p + 8, &e[i].value, 4);
        }
    }
    FILE *f = fopen(path, "wb");
    fwrite(buf, 1, sizeof buf, f);
    fclose(f);
}

#define S(tag, v) { tag, TIFF_SHORT, 1, v }
#define L(tag, v) { tag, TIFF_LONG, 1, v }

START_TEST(refuse_not_tiff_empty_missing)
{
    char *p = tu_path(dir, "text.tif");
    FILE *f = fopen(p, "w");
    fputs("hello, this is not an image\n", f);
    fclose(f);
    refused(p, TES_EUNSUPPORTED, "not a TIFF file");
    f = fopen(p, "w");
    fclose(f);
    refused(p, TES_ECORRUPT, "not a TIFF file");
    unlink(p);
    refused(p, -ENOENT, "No such file");
    refused(dir, -EISDIR, "is a directory");
    free(p);
}
END_TEST

START_TEST(refuse_truncated_file)
{
    char *p = tu_path(dir, "t.tif");
    tes_tile t;
    ck_assert_int_eq(tes_tile_alloc(&t, TES_U16, 100, 100, 1), 0);
    tu_fill_random(t.data, 100 * 100 * 2, 3);
    /* libtiff writes the directory last, so cut the data before it by
     * writing strips first with a directory at the front: use tiffcp. */
    char *q = tu_path(dir, "src.tif");
    ck_assert_int_eq(tu_write_libtiff(q, &t, false, 16, 16, false,
                                      COMPRESSION_ADOBE_DEFLATE, 1), 0);
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "tiffcp -c zip -t '%s' '%s' 2>/dev/null", q, p);
    ck_assert_int_eq(system(cmd), 0);
    /* Find the first tile's end and cut the file there. */
    TIFF *tif = TIFFOpen(p, "r");
    uint64_t off = TIFFGetStrileOffset(tif, 0) + 10;
    uint64_t diroff = TIFFCurrentDirOffset(tif);
    TIFFClose(tif);
    if (diroff < off) {
        ck_assert_int_eq(truncate(p, (off_t)off), 0);
        refused(p, TES_ECORRUPT, "beyond the end of the file");
    }
    /* A file cut inside its directory. */
    ck_assert_int_eq(truncate(q, 200), 0);
    refused(q, 0, NULL);
    tes_tile_free(&t);
    free(p);
    free(q);
}
END_TEST

START_TEST(refuse_zero_width_and_absurd_size)
{
    char *p = tu_path(dir, "z.tif");
    entry zero[] = {
        L(256, 0), L(257, 10), S(258, 8), S(259, 1), S(262, 1),
        L(273, 512), S(277, 1), L(278, 10), L(279, 0),
    };
    write_raw_tiff(p, zero, 9);
    refused(p, 0, NULL);
    entry huge[] = {
        L(256, 2000000000u), L(257, 2000000000u), S(258, 8), S(259, 1),
        S(262, 1), L(273, 512), S(277, 1), L(278, 2000000000u), L(279, 64),
    };
    write_raw_tiff(p, huge, 9);
    refused(p, 0, NULL);
    entry no_offsets[] = {
        L(256, 8), L(257, 8), S(258, 8), S(259, 1), S(262, 1),
        S(277, 1), L(278, 8), L(279, 64),
    };
    write_raw_tiff(p, no_offsets, 8);
    refused(p, 0, NULL);
    free(p);
}
END_TEST

/* Writes an 8x8 image with libtiff: spp samples of the given bit depth,
 * format and photometric, pixel-interleaved unless planar. */
static void write_odd(const char *path, uint16_t bits, uint16_t fmt,
                      uint16_t photo, uint16_t spp, bool planar)
{
    TIFF *t = TIFFOpen(path, "w");
    ck_assert_ptr_nonnull(t);
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, 8);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, 8);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, bits);
    TIFFSetField(t, TIFFTAG_SAMPLEFORMAT, fmt);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, spp);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, photo);
    TIFFSetField(t, TIFFTAG_PLANARCONFIG,
                 planar ? PLANARCONFIG_SEPARATE : PLANARCONFIG_CONTIG);
    TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 8);
    if (photo == PHOTOMETRIC_PALETTE) {
        uint16_t map[256] = { 0 };
        TIFFSetField(t, TIFFTAG_COLORMAP, map, map, map);
    }
    uint8_t buf[8 * 8 * 8 * 4] = { 0 };
    int planes = planar ? spp : 1, per = planar ? 1 : spp;
    for (int p = 0; p < planes; p++)
        TIFFWriteRawStrip(t, (uint32_t)p, buf,
                          (tmsize_t)(8 * 8 * bits * per / 8));
    TIFFClose(t);
}

/* What GDAL reads and we still do not, each refused by name (the list in
 * raster-tool(1)). */
START_TEST(refuse_unsupported_samples_and_colour)
{
    char *p = tu_path(dir, "o.tif");
    write_odd(p, 64, SAMPLEFORMAT_INT, PHOTOMETRIC_MINISBLACK, 1, false);
    refused(p, TES_EUNSUPPORTED, "64-bit integer samples are not supported");
    write_odd(p, 64, SAMPLEFORMAT_UINT, PHOTOMETRIC_MINISBLACK, 1, false);
    refused(p, TES_EUNSUPPORTED, "64-bit integer samples are not supported");
    write_odd(p, 16, SAMPLEFORMAT_COMPLEXINT, PHOTOMETRIC_MINISBLACK, 1,
              false);
    refused(p, TES_EUNSUPPORTED, "complex samples (sample format 5)");
    write_odd(p, 8, SAMPLEFORMAT_IEEEFP, PHOTOMETRIC_MINISBLACK, 1, false);
    refused(p, TES_EUNSUPPORTED, "8-bit floating-point samples");
    write_odd(p, 8, SAMPLEFORMAT_UINT, PHOTOMETRIC_YCBCR, 3, true);
    refused(p, TES_EUNSUPPORTED, "band-separate YCbCr");
    write_odd(p, 16, SAMPLEFORMAT_UINT, PHOTOMETRIC_YCBCR, 3, false);
    refused(p, TES_EUNSUPPORTED, "16-bit YCbCr");
    free(p);
}
END_TEST

START_TEST(refuse_corrupted_tile_through_pipeline)
{
    char *p = tu_path(dir, "c.tif"), *out = tu_path(dir, "out.tif");
    tes_tile t;
    ck_assert_int_eq(tes_tile_alloc(&t, TES_F32, 64, 64, 1), 0);
    tu_fill_smooth(&t, 1);
    tes_raster_create_options o = TES_RASTER_CREATE_OPTIONS_INIT;
    o.tile_width = o.tile_height = 32;
    tes_raster_error err;
    ck_assert_int_eq(tes_raster_write_tile(p, &t, &o, &err), 0);
    TIFF *tif = TIFFOpen(p, "r");
    uint64_t off = TIFFGetStrileOffset(tif, 2);
    uint64_t n = TIFFGetStrileByteCount(tif, 2);
    TIFFClose(tif);
    FILE *f = fopen(p, "r+b");
    fseek(f, (long)(off + 2), SEEK_SET);
    for (uint64_t i = 2; i < n; i++)
        fputc(0xA5, f);
    fclose(f);
    tes_raster *r;
    ck_assert_int_eq(tes_raster_open(&r, p, &err), 0);
    tes_pool *pool;
    ck_assert_int_eq(tes_pool_create(&pool, NULL), 0);
    tes_kernel k = TES_KERNEL_INIT;
    k.tile = tu_copy_tile;
    int rc = tes_raster_run(pool, &k, &r, 1, out, &o, NULL, NULL, &err);
    ck_assert_int_eq(rc, TES_ECORRUPT);
    ck_assert_msg(strstr(err.message, p) && strstr(err.message, "tile 2"),
                  "message: %s", err.message);
    ck_assert(!tu_exists(out));
    ck_assert_int_eq(tu_count_files(dir), 1);
    tes_pool_destroy(pool);
    tes_raster_close(r);
    tes_tile_free(&t);
    free(p);
    free(out);
}
END_TEST

START_TEST(refuse_full_disk_leaves_nothing)
{
    char *p = tu_path(dir, "big.tif"), *out = tu_path(dir, "out.tif");
    tes_tile t;
    ck_assert_int_eq(tes_tile_alloc(&t, TES_F64, 300, 300, 1), 0);
    tu_fill_random(t.data, 300 * 300 * 8, 5);
    tes_raster_create_options o = TES_RASTER_CREATE_OPTIONS_INIT;
    o.compress = TES_COMPRESS_NONE;
    tes_raster_error err;
    ck_assert_int_eq(tes_raster_write_tile(p, &t, &o, &err), 0);
    tes_tile_free(&t);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN); /* else the kernel kills the writer */
        struct rlimit rl = { 100000, 100000 };
        setrlimit(RLIMIT_FSIZE, &rl);
        tes_raster *r;
        if (tes_raster_open(&r, p, &err))
            _exit(10);
        tes_pool *pool;
        if (tes_pool_create(&pool, NULL))
            _exit(11);
        tes_kernel k = TES_KERNEL_INIT;
        k.tile = tu_copy_tile;
        int rc = tes_raster_run(pool, &k, &r, 1, out, &o, NULL, NULL, &err);
        tes_pool_destroy(pool);
        tes_raster_close(r);
        if (rc != -EFBIG)
            _exit(12);
        if (!strstr(err.message, out) || strchr(err.message, '\n'))
            _exit(13);
        bool left = tu_exists(out) || tu_count_files(dir) != 1;
        free(p); /* the child's copies: valgrind checks its leaks too */
        free(out);
        _exit(left ? 14 : 0);
    }
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %d",
                  WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    ck_assert_int_eq(tu_count_files(dir), 1);
    free(p);
    free(out);
}
END_TEST

static Suite *suite(void)
{
    tu_quiet_libtiff();
    Suite *s = suite_create("raster_refuse");
    TCase *tc = tcase_create("refuse");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, refuse_not_tiff_empty_missing);
    tcase_add_test(tc, refuse_truncated_file);
    tcase_add_test(tc, refuse_zero_width_and_absurd_size);
    tcase_add_test(tc, refuse_unsupported_samples_and_colour);
    tcase_add_test(tc, refuse_corrupted_tile_through_pipeline);
    tcase_add_test(tc, refuse_full_disk_leaves_nothing);
    suite_add_tcase(s, tc);
    return s;
}

TES_CHECK_MAIN(suite)
