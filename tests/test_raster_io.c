/*
 * test_raster_io.c — reading and writing rasters: every sample type, tiles
 * and strips, chunky and planar, every codec with and without predictor,
 * checked against libtiff's own encoder and decoder; tiffcp-made inputs;
 * BigTIFF; GeoTIFF and GDAL tags; saturating conversion; window edges.
 */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <zlib.h>

#include "raster_test_util.h"
#include "suite_main.h"

static const tes_sample_type types[] = { TES_U8, TES_I8, TES_U16, TES_I16,
                                         TES_U32, TES_I32, TES_F32, TES_F64 };
static const uint16_t codecs[] = { COMPRESSION_NONE, COMPRESSION_ADOBE_DEFLATE,
                                   COMPRESSION_LZW, COMPRESSION_ZSTD };

static void make_source(tes_tile *t, tes_sample_type type, int w, int h,
                        int bands, uint64_t seed)
{
    ck_assert_int_eq(tes_tile_alloc(t, type, w, h, bands), 0);
    tu_fill_smooth(t, seed);
}

/* Opens path with tessera and compares all of it with want. */
static void check_read(const char *path, const tes_tile *want)
{
    tes_raster *r;
    tes_raster_error err;
    int rc = tes_raster_open(&r, path, &err);
    ck_assert_msg(rc == 0, "open: %s", err.message);
    const tes_raster_info *in = tes_raster_info_get(r);
    ck_assert_int_eq(in->width, want->width);
    ck_assert_int_eq(in->height, want->height);
    ck_assert_int_eq(in->bands, want->bands);
    ck_assert_int_eq(in->type, want->type);
    tes_tile got;
    ck_assert_int_eq(tes_tile_alloc(&got, want->type, want->width,
                                    want->height, want->bands), 0);
    rc = tes_raster_read(r, 0, 0, &got, TES_EDGE_REPLICATE, 0, &err);
    ck_assert_msg(rc == 0, "read: %s", err.message);
    ck_assert_msg(tu_tiles_equal(&got, want), "%s: samples differ", path);
    tes_tile_free(&got);
    tes_raster_close(r);
}

START_TEST(raster_io_reads_libtiff_files)
{
    tes_sample_type type = types[_i];
    char *dir = tu_tmpdir();
    tes_tile src;
    make_source(&src, type, 37, 29, 3, (uint64_t)_i);
    for (int tiled = 0; tiled < 2; tiled++)
        for (int planar = 0; planar < 2; planar++)
            for (size_t c = 0; c < 4; c++)
                for (int pred = 0; pred < 2; pred++) {
                    if (pred && codecs[c] == COMPRESSION_NONE)
                        continue;
                    uint16_t p = !pred ? 1
                                 : tes_sample_type_is_float(type) ? 3 : 2;
                    char name[64];
                    snprintf(name, sizeof name, "in-%d-%d-%zu-%d.tif", tiled,
                             planar, c, pred);
                    char *path = tu_path(dir, name);
                    ck_assert_int_eq(tu_write_libtiff(path, &src, false,
                                                      tiled ? 16 : 0,
                                                      tiled ? 16 : 5, planar,
                                                      codecs[c], p), 0);
                    check_read(path, &src);
                    free(path);
                }
    tes_tile_free(&src);
    tu_rmdir(dir);
}
END_TEST

START_TEST(raster_io_writes_what_libtiff_reads)
{
    tes_sample_type type = types[_i];
    char *dir = tu_tmpdir();
    tes_tile src;
    make_source(&src, type, 41, 35, 2, 100 + (uint64_t)_i);
    for (int planar = 0; planar < 2; planar++)
        for (int c = 0; c < 4; c++)
            for (int pred = 0; pred < 2; pred++) {
                if (pred && c == TES_COMPRESS_NONE)
                    continue;
                tes_raster_create_options o = TES_RASTER_CREATE_OPTIONS_INIT;
                o.tile_width = 16;
                o.tile_height = 32;
                o.compress = (tes_compress)c;
                o.predictor = pred ? -1 : 1;
                o.planar = planar;
                char name[64];
                snprintf(name, sizeof name, "out-%d-%d-%d.tif", planar, c,
                         pred);
                char *path = tu_path(dir, name);
                tes_raster_error err;
                int rc = tes_raster_write_tile(path, &src, &o, &err);
                ck_assert_msg(rc == 0, "write: %s", err.message);
                tes_tile back;
                ck_assert_int_eq(tu_read_libtiff(path, &back, type, 2), 0);
                ck_assert_msg(tu_tiles_equal(&back, &src),
                              "%s: libtiff reads other samples", name);
                tes_tile_free(&back);
                check_read(path, &src);
                free(path);
            }
    ck_assert_int_eq(tu_count_files(dir), 14); /* no temporary files left */
    tes_tile_free(&src);
    tu_rmdir(dir);
}
END_TEST

START_TEST(raster_io_lzw_long_input_resets_table)
{
    /* Random bytes fill LZW's 4096-entry table many times over. */
    char *dir = tu_tmpdir();
    char *path = tu_path(dir, "lzw.tif");
    tes_tile src;
    ck_assert_int_eq(tes_tile_alloc(&src, TES_U8, 300, 200, 1), 0);
    tu_fill_random(src.data, 300 * 200, 7);
    for (int i = 0; i < 300 * 50; i++) /* and some runs */
        ((uint8_t *)src.data)[i] = (uint8_t)(i / 900);
    tes_raster_create_options o = TES_RASTER_CREATE_OPTIONS_INIT;
    o.compress = TES_COMPRESS_LZW;
    o.predictor = 1;
    tes_raster_error err;
    ck_assert_int_eq(tes_raster_write_tile(path, &src, &o, &err), 0);
    tes_tile back;
    ck_assert_int_eq(tu_read_libtiff(path, &back, TES_U8, 1), 0);
    ck_assert(tu_tiles_equal(&back, &src));
    tes_tile_free(&back);
    tes_tile_free(&src);
    free(path);
    tu_rmdir(dir);
}
END_TEST

START_TEST(raster_io_reads_tiffcp_outputs)
{
    static const char *const variants[] = {
        "-c lzw:2 -t -w 32 -l 16",
        "-c zip:2 -p separate -t -w 16 -l 16",
        "-c packbits -s -r 3",
        "-c zstd -s -r 7",
        "-c lzma -t -w 16 -l 48",
        "-c none -p separate -s -r 1",
        "-8 -c zip -t -w 48 -l 16",
        "-c jpeg", /* refused or read: never garbage */
    };
    char *dir = tu_tmpdir();
    char *base = tu_path(dir, "base.tif");
    tes_tile src;
    make_source(&src, TES_U16, 70, 45, 3, 5);
    ck_assert_int_eq(tu_write_libtiff(base, &src, false, 0, 45, false,
                                      COMPRESSION_NONE, 1), 0);
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        char name[32], cmd[8400];
        snprintf(name, sizeof name, "cp%zu.tif", i);
        char *path = tu_path(dir, name);
        snprintf(cmd, sizeof cmd, "tiffcp %s '%s' '%s' 2>/dev/null",
                 variants[i], base, path);
        int st = system(cmd);
        if (st != 0 || !tu_exists(path)) {
            free(path); /* this libtiff lacks the codec */
            continue;
        }
        if (strstr(variants[i], "jpeg")) {
            tes_raster *r;
            tes_raster_error err;
            if (tes_raster_open(&r, path, &err) == 0)
                tes_raster_close(r);
        } else {
            check_read(path, &src);
        }
        free(path);
    }
    tes_tile_free(&src);
    free(base);
    tu_rmdir(dir);
}
END_TEST

START_TEST(raster_io_bigtiff_forced_and_read)
{
    char *dir = tu_tmpdir();
    char *ours = tu_path(dir, "ours.tif"), *theirs = tu_path(dir, "lt.tif");
    tes_tile src;
    make_source(&src, TES_F32, 50, 40, 1, 9);
    tes_raster_create_options o = TES_RASTER_CREATE_OPTIONS_INIT;
    o.bigtiff = TES_BIGTIFF_YES;
    o.tile_width = o.tile_height = 32;
    tes_raster_error err;
    ck_assert_int_eq(tes_raster_write_tile(ours, &src, &o, &err), 0);
    TIFF *t = TIFFOpen(ours, "r");
    ck_assert_ptr_nonnull(t);
    ck_assert(TIFFIsBigTIFF(t));
    TIFFClose(t);
    check_read(ours, &src);
    tes_raster *r;
    ck_assert_int_eq(tes_raster_open(&r, ours, &err), 0);
    ck_assert(tes_raster_info_get(r)->bigtiff);
    tes_raster_close(r);
    ck_assert_int_eq(tu_write_libtiff(theirs, &src, true, 16, 16, false,
                                      COMPRESSION_ADOBE_DEFLATE, 3), 0);
    check_read(theirs, &src);
    /* Auto stays classic for small files; "no" too. */
    o.bigtiff = TES_BIGTIFF_AUTO;
    o.overwrite = true;
    ck_assert_int_eq(tes_raster_write_tile(ours, &src, &o, &err), 0);
    t = TIFFOpen(ours, "r");
    ck_assert(!TIFFIsBigTIFF(t));
    TIFFClose(t);
    tes_tile_free(&src);
    free(ours);
    free(theirs);
    tu_rmdir(dir);
}
END_TEST

START_TEST(raster_io_geotags_and_nodata_round_trip)
{
    char *dir = tu_tmpdir();
    char *a = tu_path(dir, "a.tif"), *b = tu_path(dir, "b.tif");
    tes_tile src;
    make_source(&src, TES_I16, 33, 20, 1, 3);
    double gt[6] = { 123456.5, 10, 0, 7654321.25, 0, -20 };
    tes_georef g;
    void *owned;
    ck_assert_int_eq(tes_georef_from_geotransform(&g, &owned, gt, 32631), 0);
    g.gdal_metadata = "<GDALMetadata><Item name=\"K\">v</Item></GDALMetadata>";
    g.geo_ascii = "WGS 84 / UTM zone 31N|";
    tes_raster_create_options o = TES_RASTER_CREATE_OPTIONS_INIT;
    o.georef = &g;
    o.nodata_mode = TES_NODATA_SET;
    o.nodata = -32768;
    tes_raster_error err;
    ck_assert_int_eq(tes_raster_write_tile(a, &src, &o, &err), 0);

    /* Read back with libtiff's API. */
    TIFF *t = TIFFOpen(a, "r");
    ck_assert_ptr_nonnull(t);
    uint16_t n = 0;
    double *d = NULL;
    ck_assert(TIFFGetField(t, 33550, &n, &d));
    ck_assert_int_eq(n, 3);
    ck_assert(d[0] == 10 && d[1] == 20);
    ck_assert(TIFFGetField(t, 33922, &n, &d));
    ck_assert_int_eq(n, 6);
    ck_assert(d[3] == 123456.5 && d[4] == 7654321.25);
    uint16_t *keys = NULL;
    ck_assert(TIFFGetField(t, 34735, &n, &keys));
    ck_assert_int_eq(n, g.n_geokeys);
    ck_assert(memcmp(keys, g.geokeys, n * sizeof *keys) == 0);
    const char *s = NULL;
    ck_assert(TIFFGetField(t, 42113, &s));
    ck_assert_str_eq(s, "-32768");
    ck_assert(TIFFGetField(t, 42112, &s));
    ck_assert_str_eq(s, g.gdal_metadata);
    ck_assert(TIFFGetField(t, 34737, &s));
    ck_assert_str_eq(s, g.geo_ascii);
    TIFFClose(t);

    /* Read back with ours, and carried by a pipeline copy. */
    tes_raster *r;
    ck_assert_int_eq(tes_raster_open(&r, a, &err), 0);
    const tes_raster_info *in = tes_raster_info_get(r);
    ck_assert(in->has_geotransform);
    for (int i = 0; i < 6; i++)
        ck_assert(in->geotransform[i] == gt[i]);
    ck_assert_int_eq(in->epsg, 32631);
    ck_assert(in->has_nodata && in->nodata == -32768);
    ck_assert_str_eq(in->georef.gdal_metadata, g.gdal_metadata);

    tes_pool *pool;
    ck_assert_int_eq(tes_pool_create(&pool, NULL), 0);
    tes_kernel k = TES_KERNEL_INIT;
    k.tile = tu_copy_tile;
    int rc = tes_raster_run(pool, &k, &r, 1, b, NULL, NULL, NULL, &err);
    ck_assert_msg(rc == 0, "%s", err.message);
    tes_pool_destroy(pool);
    tes_raster_close(r);
    ck_assert_int_eq(tes_raster_open(&r, b, &err), 0);
    in = tes_raster_info_get(r);
    ck_assert(in->has_geotransform && in->geotransform[0] == gt[0] &&
              in->geotransform[3] == gt[3] && in->geotransform[5] == gt[5]);
    ck_assert_int_eq(in->epsg, 32631);
    ck_assert(in->has_nodata && in->nodata == -32768);
    ck_assert_str_eq(in->georef.geo_ascii, g.geo_ascii);
    ck_assert_str_eq(in->georef.gdal_metadata, g.gdal_metadata);
    tes_raster_close(r);
    check_read(b, &src);
    free(owned);
    tes_tile_free(&src);
    free(a);
    free(b);
    tu_rmdir(dir);
}
END_TEST


START_TEST(raster_io_conversion_saturates_and_rounds)
{
    double src[] = { 300.6, -5, 2.5, -2.5, NAN, 254.49 };
    uint8_t u8[6];
    tes_convert_samples(u8, TES_U8, src, TES_F64, 6);
    ck_assert_int_eq(u8[0], 255);
    ck_assert_int_eq(u8[1], 0);
    ck_assert_int_eq(u8[2], 3);
    ck_assert_int_eq(u8[3], 0);
    ck_assert_int_eq(u8[4], 0);
    ck_assert_int_eq(u8[5], 254);
    int32_t i32[2] = { -70000, 70000 };
    int16_t i16[2];
    tes_convert_samples(i16, TES_I16, i32, TES_I32, 2);
    ck_assert_int_eq(i16[0], -32768);
    ck_assert_int_eq(i16[1], 32767);
    uint32_t u32 = 4000000000u;
    int32_t o;
    tes_convert_samples(&o, TES_I32, &u32, TES_U32, 1);
    ck_assert_int_eq(o, INT32_MAX);
    float f;
    tes_convert_samples(&f, TES_F32, &u32, TES_U32, 1);
    ck_assert(f == 4e9f);
}
END_TEST

START_TEST(raster_io_window_edges_replicate_or_fill)
{
    char *dir = tu_tmpdir();
    char *path = tu_path(dir, "e.tif");
    tes_tile src;
    make_source(&src, TES_I32, 20, 10, 1, 4);
    tes_raster_error err;
    ck_assert_int_eq(tes_raster_write_tile(path, &src, NULL, &err), 0);
    tes_raster *r;
    ck_assert_int_eq(tes_raster_open(&r, path, &err), 0);
    tes_tile w;
    ck_assert_int_eq(tes_tile_alloc(&w, TES_F64, 8, 6, 1), 0);
    ck_assert_int_eq(tes_raster_read(r, -3, 7, &w, TES_EDGE_REPLICATE, 0,
                                     &err), 0);
    ck_assert_int_eq(w.x0, -3);
    for (int y = 0; y < 6; y++)
        for (int x = 0; x < 8; x++) {
            int sx = x - 3 < 0 ? 0 : x - 3, sy = 7 + y > 9 ? 9 : 7 + y;
            ck_assert(tes_tile_get(&w, 0, x, y) == tes_tile_get(&src, 0, sx, sy));
        }
    ck_assert_int_eq(tes_raster_read(r, -3, 7, &w, TES_EDGE_NODATA, -1.5,
                                     &err), 0);
    for (int y = 0; y < 6; y++)
        for (int x = 0; x < 8; x++) {
            bool out = x < 3 || 7 + y > 9;
            double want = out ? -1.5 : tes_tile_get(&src, 0, x - 3, 7 + y);
            ck_assert(tes_tile_get(&w, 0, x, y) == want);
        }
    tes_tile_free(&w);
    tes_raster_close(r);
    tes_tile_free(&src);
    free(path);
    tu_rmdir(dir);
}
END_TEST

START_TEST(raster_io_names_parse)
{
    tes_sample_type t;
    ck_assert_int_eq(tes_sample_type_parse("float32", &t), 0);
    ck_assert_int_eq(t, TES_F32);
    ck_assert_int_eq(tes_sample_type_parse("byte", &t), 0);
    ck_assert_int_eq(t, TES_U8);
    ck_assert_int_eq(tes_sample_type_parse("complex", &t), -EINVAL);
    ck_assert_str_eq(tes_sample_type_name(TES_I16), "int16");
    tes_compress c;
    ck_assert_int_eq(tes_compress_parse("zstd", &c), 0);
    ck_assert_int_eq(c, TES_COMPRESS_ZSTD);
    ck_assert_int_eq(tes_compress_parse("jpeg", &c), -EINVAL);
    ck_assert_str_eq(tes_compress_name(TES_COMPRESS_LZW), "lzw");
    ck_assert_str_eq(tes_raster_strerror(TES_ECORRUPT),
                     "corrupt or truncated raster");
}
END_TEST

typedef struct reader_arg {
    tes_raster *r;
    const tes_tile *src;
    int seed;
    int bad;
} reader_arg;

static void *reader(void *p)
{
    reader_arg *a = p;
    uint8_t rnd[64];
    tu_fill_random(rnd, sizeof rnd, (uint64_t)a->seed);
    for (int i = 0; i < 16; i++) {
        int x0 = rnd[2 * i] % 60 - 10, y0 = rnd[2 * i + 1] % 50 - 10;
        tes_tile w;
        if (tes_tile_alloc(&w, TES_F64, 23, 17, a->src->bands)) {
            a->bad++;
            continue;
        }
        tes_raster_error err;
        if (tes_raster_read(a->r, x0, y0, &w, TES_EDGE_REPLICATE, 0, &err))
            a->bad++;
        for (int b = 0; b < w.bands; b++)
            for (int y = 0; y < w.height; y++)
                for (int x = 0; x < w.width; x++) {
                    int sx = x0 + x, sy = y0 + y;
                    sx = sx < 0 ? 0 : sx >= a->src->width ? a->src->width - 1 : sx;
                    sy = sy < 0 ? 0 : sy >= a->src->height ? a->src->height - 1 : sy;
                    if (tes_tile_get(&w, b, x, y) != tes_tile_get(a->src, b, sx, sy))
                        a->bad++;
                }
        tes_tile_free(&w);
    }
    return NULL;
}

START_TEST(raster_io_concurrent_reads_agree)
{
    /* tes_raster_read from several threads at once on one raster: each
     * call borrows its own libtiff handle. */
    char *dir = tu_tmpdir();
    char *path = tu_path(dir, "c.tif");
    tes_tile src;
    make_source(&src, TES_U16, 64, 48, 2, 8);
    tes_raster_create_options o = TES_RASTER_CREATE_OPTIONS_INIT;
    o.tile_width = o.tile_height = 16;
    o.compress = TES_COMPRESS_ZSTD;
    tes_raster_error err;
    ck_assert_int_eq(tes_raster_write_tile(path, &src, &o, &err), 0);
    tes_raster *r;
    ck_assert_int_eq(tes_raster_open(&r, path, &err), 0);
    pthread_t th[4];
    reader_arg a[4];
    for (int i = 0; i < 4; i++) {
        a[i] = (reader_arg){ r, &src, i + 1, 0 };
        ck_assert_int_eq(pthread_create(&th[i], NULL, reader, &a[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(a[i].bad, 0);
    }
    tes_raster_close(r);
    tes_tile_free(&src);
    free(path);
    tu_rmdir(dir);
}
END_TEST

START_TEST(raster_io_plain_tiff_has_no_georef)
{
    char *dir = tu_tmpdir();
    char *path = tu_path(dir, "plain.tif");
    tes_tile src;
    make_source(&src, TES_U8, 20, 20, 1, 1);
    ck_assert_int_eq(tu_write_libtiff(path, &src, false, 0, 20, false,
                                      COMPRESSION_NONE, 1), 0);
    tes_raster *r;
    tes_raster_error err;
    ck_assert_int_eq(tes_raster_open(&r, path, &err), 0);
    const tes_raster_info *in = tes_raster_info_get(r);
    ck_assert(!in->has_geotransform && !in->has_nodata && in->epsg == 0);
    ck_assert(!in->tiled && in->block_width == 20 && in->block_height == 20);
    ck_assert_str_eq(in->compression_name, "none");
    ck_assert_ptr_null(in->georef.geokeys);
    ck_assert_str_eq(tes_raster_path(r), path);
    tes_raster_close(r);
    tes_raster_close(NULL);
    tes_tile_free(&src);
    free(path);
    tu_rmdir(dir);
}
END_TEST

/* A deflate stream that holds more than its tile (found by fuzz_tiff: two
 * reads of one tile differed). The tile reads as the stream's first bytes,
 * as zlib's inflate gives them; libtiff built with libdeflate reported
 * such a tile whole but left its end unwritten. In the host's byte order
 * the reader decodes the stream itself; a byte-swapped 16-bit file goes
 * through libtiff, whose unwritten bytes must read as 0, never as what
 * the buffer held before (the tile to the left, all 0xEEEE, is read
 * first into the same buffer). */
START_TEST(raster_io_deflate_stream_longer_than_block)
{
    char *dir = tu_tmpdir();
    char *path = tu_path(dir, "long.tif");
    enum { S = 16, N = S * S, BYTES = 2 * N, EXTRA = 400 };
    uint8_t raw[BYTES + EXTRA], full[BYTES];
    /* a run across the tile's end: one long match past it */
    for (int i = 0; i < BYTES + EXTRA; i++)
        raw[i] = i < BYTES - 80 ? (uint8_t)(i * 7 + i / 13) : 0x55;
    memset(full, 0xEE, sizeof full);
    uLongf zn = compressBound(sizeof raw), fn = compressBound(BYTES);
    uint8_t *z = malloc(zn), *zf = malloc(fn);
    ck_assert_int_eq(compress2(z, &zn, raw, sizeof raw, 9), Z_OK);
    ck_assert_int_eq(compress2(zf, &fn, full, BYTES, 9), Z_OK);
    for (int big = 0; big < 2; big++) {
        TIFF *t = TIFFOpen(path, big ? "wb" : "wl");
        ck_assert_ptr_nonnull(t);
        TIFFSetField(t, TIFFTAG_IMAGEWIDTH, 2 * S);
        TIFFSetField(t, TIFFTAG_IMAGELENGTH, S);
        TIFFSetField(t, TIFFTAG_TILEWIDTH, S);
        TIFFSetField(t, TIFFTAG_TILELENGTH, S);
        TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 16);
        TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
        TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
        TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_ADOBE_DEFLATE);
        ck_assert_int_eq(TIFFWriteRawTile(t, 0, zf, (tmsize_t)fn),
                         (tmsize_t)fn);
        ck_assert_int_eq(TIFFWriteRawTile(t, 1, z, (tmsize_t)zn),
                         (tmsize_t)zn);
        TIFFClose(t);
        const uint16_t one = 1;
        bool swapped = big == *(const uint8_t *)&one; /* host little */
        tes_raster *r;
        tes_raster_error err;
        ck_assert_int_eq(tes_raster_open(&r, path, &err), 0);
        tes_tile got;
        ck_assert_int_eq(tes_tile_alloc(&got, TES_U16, 2 * S, S, 1), 0);
        ck_assert_int_eq(tes_raster_read(r, 0, 0, &got, TES_EDGE_REPLICATE,
                                         0, &err), 0);
        for (int i = 0; i < N; i++) {
            int want = big ? raw[2 * i] << 8 | raw[2 * i + 1]
                           : raw[2 * i] | raw[2 * i + 1] << 8;
            int g = (int)tes_tile_get(&got, 0, S + i % S, i / S);
            ck_assert_int_eq((int)tes_tile_get(&got, 0, i % S, i / S),
                             0xEEEE);
            /* libtiff may stop in the middle of a sample: each byte is
             * the stream's or 0 */
            bool ok = g == want ||
                      (swapped && ((g >> 8) == 0 || (g >> 8) == want >> 8) &&
                       ((g & 255) == 0 || (g & 255) == (want & 255)));
            ck_assert_msg(ok, "%s order, sample %d: %#x, not %#x",
                          swapped ? "swapped" : "host", i, g, want);
        }
        tes_tile_free(&got);
        tes_raster_close(r);
    }
    free(z);
    free(zf);
    free(path);
    tu_rmdir(dir);
}
END_TEST

static Suite *suite(void)
{
    tu_quiet_libtiff();
    Suite *s = suite_create("raster_io");
    TCase *tc = tcase_create("io");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, raster_io_reads_libtiff_files, 0, 8);
    tcase_add_loop_test(tc, raster_io_writes_what_libtiff_reads, 0, 8);
    tcase_add_test(tc, raster_io_lzw_long_input_resets_table);
    tcase_add_test(tc, raster_io_reads_tiffcp_outputs);
    tcase_add_test(tc, raster_io_bigtiff_forced_and_read);
    tcase_add_test(tc, raster_io_geotags_and_nodata_round_trip);
    tcase_add_test(tc, raster_io_conversion_saturates_and_rounds);
    tcase_add_test(tc, raster_io_window_edges_replicate_or_fill);
    tcase_add_test(tc, raster_io_names_parse);
    tcase_add_test(tc, raster_io_concurrent_reads_agree);
    tcase_add_test(tc, raster_io_plain_tiff_has_no_georef);
    tcase_add_test(tc, raster_io_deflate_stream_longer_than_block);
    suite_add_tcase(s, tc);
    return s;
}

TES_CHECK_MAIN(suite)
