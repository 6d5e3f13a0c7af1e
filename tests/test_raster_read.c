/*
 * test_raster_read.c — the stored forms the reader decodes as GDAL does,
 * each in files written by other tools (libtiff's ppm2tiff, tiffmedian,
 * tiffcp, tiff2bw, tiffdither, fax2tiff; GDAL when installed) and every
 * pixel compared with an independent reading: the bits we wrote, the
 * pixels tiff2rgba decodes, and GDAL's own reading when installed. Each
 * read goes through the pipeline at 1 and 2 threads. Also nodata kept
 * exactly, and a strip larger than 256 MB read in bounded memory.
 */
#include <check.h>
#include <math.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "raster_test_util.h"
#include "suite_main.h"

static char *dir;

static void setup(void) { dir = tu_tmpdir(); }
static void teardown(void) { tu_rmdir(dir); }

/* ---- reading a whole raster through the pipeline ------------------------ */

/* The tile function copies its window into the image arg points to. */
static int grab_tile(tes_tile_job *job)
{
    tes_tile *img = job->arg;
    const tes_tile *in = &job->in[0];
    size_t ss = tes_sample_size(in->type);
    for (int b = 0; b < in->bands; b++)
        for (int y = 0; y < in->height; y++)
            memcpy((char *)tes_tile_row(img, b, (int)in->y0 + y) +
                       (size_t)in->x0 * ss,
                   tes_tile_row(in, b, y), (size_t)in->width * ss);
    for (int b = 0; b < job->out->bands; b++)
        for (int y = 0; y < job->out->height; y++)
            memset(tes_tile_row(job->out, b, y), 0,
                   (size_t)job->out->width * ss);
    return 0;
}

/* Opens path and reads all of it through tes_raster_run with `threads`
 * workers and small tiles (so that windows cross blocks); checks that a
 * second run at the other thread count reads the same. */
static void read_all(const char *path, tes_tile *img)
{
    tes_raster *r;
    tes_raster_error err;
    ck_assert_msg(tes_raster_open(&r, path, &err) == 0, "open: %s",
                  err.message);
    const tes_raster_info *in = tes_raster_info_get(r);
    tes_tile other;
    ck_assert_int_eq(tes_tile_alloc(img, in->type, (int)in->width,
                                    (int)in->height, in->bands), 0);
    ck_assert_int_eq(tes_tile_alloc(&other, in->type, (int)in->width,
                                    (int)in->height, in->bands), 0);
    for (int threads = 1; threads <= 2; threads++) {
        tes_pool_options po = TES_POOL_OPTIONS_INIT;
        po.threads = threads;
        tes_pool *pool;
        ck_assert_int_eq(tes_pool_create(&pool, &po), 0);
        tes_kernel k = TES_KERNEL_INIT;
        k.tile = grab_tile;
        k.arg = threads == 1 ? img : &other;
        tes_raster_create_options o = TES_RASTER_CREATE_OPTIONS_INIT;
        o.tile_width = o.tile_height = 16;
        int rc = tes_raster_run(pool, &k, &r, 1, NULL, &o, NULL, NULL, &err);
        ck_assert_msg(rc == 0, "%s: %s", path, err.message);
        tes_pool_destroy(pool);
    }
    ck_assert_msg(tu_tiles_equal(img, &other), "%s: 1 and 2 threads differ",
                  path);
    tes_tile_free(&other);
    tes_raster_close(r);
}

/* Compares img with GDAL's reading of path, when GDAL is installed. */
static void same_as_gdal(const char *path, const tes_tile *img,
                         const char *gdal_type)
{
    char type[64];
    size_t n;
    void *g = tu_gdal_read(path, &n, type, sizeof type);
    if (!g)
        return;
    size_t want = (size_t)img->width * (size_t)img->height *
                  (size_t)img->bands * tes_sample_size(img->type);
    ck_assert_msg(n == want, "%s: GDAL read %zu bytes, we %zu", path, n,
                  want);
    ck_assert_msg(strcmp(type, gdal_type) == 0, "%s: GDAL reads %s", path,
                  type);
    ck_assert_msg(memcmp(g, img->data, n) == 0, "%s: differs from GDAL",
                  path);
    free(g);
}

/* ---- independent readings ---------------------------------------------- */

/* tiff2rgba's decoding of path as R, G, B, A planes (8-bit). */
static void rgba_reference(const char *path, tes_tile *ref)
{
    char out[4200];
    snprintf(out, sizeof out, "%s.rgba.tif", path);
    ck_assert_int_eq(tu_sh("tiff2rgba -c none '%s' '%s'", path, out), 0);
    TIFF *t = TIFFOpen(out, "r");
    ck_assert_ptr_nonnull(t);
    uint32_t w, h;
    uint16_t spp;
    TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &w);
    TIFFGetField(t, TIFFTAG_IMAGELENGTH, &h);
    TIFFGetField(t, TIFFTAG_SAMPLESPERPIXEL, &spp);
    ck_assert_int_eq(spp, 4);
    ck_assert_int_eq(tes_tile_alloc(ref, TES_U8, (int)w, (int)h, 4), 0);
    uint8_t *row = malloc((size_t)TIFFScanlineSize(t));
    for (uint32_t y = 0; y < h; y++) {
        ck_assert_int_ge(TIFFReadScanline(t, row, y, 0), 0);
        for (uint32_t x = 0; x < w; x++)
            for (int b = 0; b < 4; b++)
                ((uint8_t *)tes_tile_row(ref, b, (int)y))[x] = row[4 * x + b];
    }
    free(row);
    TIFFClose(t);
    unlink(out);
}

/* The first `bands` planes of a and b are equal (ref has 4). */
static void same_rgb(const tes_tile *img, const tes_tile *ref, int bands,
                     const char *what)
{
    ck_assert_int_eq(img->width, ref->width);
    ck_assert_int_eq(img->height, ref->height);
    for (int b = 0; b < bands; b++)
        for (int y = 0; y < img->height; y++)
            ck_assert_msg(memcmp(tes_tile_row(img, b, y),
                                 tes_tile_row(ref, b, y),
                                 (size_t)img->width) == 0,
                          "%s: band %d row %d differs from tiff2rgba", what,
                          b + 1, y);
}

/* A 37x29 RGB test card as a PPM, and its pixels. */
#define W 37
#define H 29
static void write_ppm(const char *path)
{
    FILE *f = fopen(path, "wb");
    fprintf(f, "P6\n%d %d\n255\n", W, H);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            fputc((x * 7) % 256, f);
            fputc((y * 9) % 256, f);
            fputc(((x + y) * 5) % 256, f);
        }
    fclose(f);
}

/* The mask bit of the 1-bit card: 1 where (x + y) % 3 == 0. */
static int mask_bit(int x, int y) { return (x + y) % 3 == 0; }

static void write_pbm(const char *path)
{
    FILE *f = fopen(path, "wb");
    fprintf(f, "P4\n%d %d\n", W, H);
    for (int y = 0; y < H; y++)
        for (int x0 = 0; x0 < W; x0 += 8) {
            int byte = 0;
            for (int k = 0; k < 8; k++)
                byte = byte << 1 | (x0 + k < W && mask_bit(x0 + k, y));
            fputc(byte, f);
        }
    fclose(f);
}

/* ---- cases --------------------------------------------------------------- */

/* The test card made a palette image by ppm2tiff and tiffmedian; the
 * caller frees the path. */
static char *palette_file(void)
{
    char *ppm = tu_path(dir, "card.ppm"), *rgb = tu_path(dir, "rgb.tif");
    char *pal = tu_path(dir, "pal.tif");
    write_ppm(ppm);
    ck_assert_int_eq(tu_sh("ppm2tiff '%s' '%s'", ppm, rgb), 0);
    ck_assert_int_eq(tu_sh("tiffmedian '%s' '%s'", rgb, pal), 0);
    free(ppm);
    free(rgb);
    return pal;
}

START_TEST(read_palette_keeps_indices_and_table)
{
    char *pal = palette_file();
    tes_tile img, ref;
    read_all(pal, &img);
    rgba_reference(pal, &ref);
    tes_raster *r;
    ck_assert_int_eq(tes_raster_open(&r, pal, NULL), 0);
    const tes_raster_info *in = tes_raster_info_get(r);
    ck_assert_int_eq(in->type, TES_U8);
    ck_assert_int_eq(in->bands, 1);
    ck_assert_ptr_nonnull(in->colormap);
    ck_assert_int_eq(in->colormap->n, 256);
    /* The colour of every index is the pixel tiff2rgba decodes. */
    const tes_colormap *c = in->colormap;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            int i = ((uint8_t *)tes_tile_row(&img, 0, y))[x];
            ck_assert_int_eq(c->red[i] >> 8,
                             ((uint8_t *)tes_tile_row(&ref, 0, y))[x]);
            ck_assert_int_eq(c->green[i] >> 8,
                             ((uint8_t *)tes_tile_row(&ref, 1, y))[x]);
            ck_assert_int_eq(c->blue[i] >> 8,
                             ((uint8_t *)tes_tile_row(&ref, 2, y))[x]);
        }
    same_as_gdal(pal, &img, "Byte");
    tes_raster_close(r);
    tes_tile_free(&img);
    tes_tile_free(&ref);
    free(pal);
}
END_TEST

/* Converting a palette image keeps its indices and its table; changing
 * the type drops the table. */
START_TEST(read_palette_table_kept_by_copy)
{
    char *pal = palette_file(), *out = tu_path(dir, "out.tif");
    tes_raster *r;
    tes_raster_error err;
    ck_assert_int_eq(tes_raster_open(&r, pal, &err), 0);
    const tes_raster_info *in = tes_raster_info_get(r);
    tes_tile img;
    ck_assert_int_eq(tes_tile_alloc(&img, TES_U8, W, H, 1), 0);
    ck_assert_int_eq(tes_raster_read(r, 0, 0, &img, TES_EDGE_REPLICATE, 0,
                                     &err), 0);
    tes_raster_create_options o = TES_RASTER_CREATE_OPTIONS_INIT;
    o.colormap = in->colormap;
    ck_assert_int_eq(tes_raster_write_tile(out, &img, &o, &err), 0);
    /* libtiff's own reading of the table we wrote */
    TIFF *t = TIFFOpen(out, "r");
    uint16_t photo, *red, *green, *blue;
    ck_assert(TIFFGetField(t, TIFFTAG_PHOTOMETRIC, &photo));
    ck_assert_int_eq(photo, PHOTOMETRIC_PALETTE);
    ck_assert(TIFFGetField(t, TIFFTAG_COLORMAP, &red, &green, &blue));
    for (int i = 0; i < 256; i++) {
        ck_assert_int_eq(red[i], in->colormap->red[i]);
        ck_assert_int_eq(green[i], in->colormap->green[i]);
        ck_assert_int_eq(blue[i], in->colormap->blue[i]);
    }
    TIFFClose(t);
    tes_tile back;
    read_all(out, &back);
    ck_assert(tu_tiles_equal(&img, &back));
    /* A table on something that is not one integer band is refused. */
    tes_tile f;
    ck_assert_int_eq(tes_tile_alloc(&f, TES_F32, 4, 4, 1), 0);
    o.overwrite = true;
    ck_assert_int_eq(tes_raster_write_tile(out, &f, &o, &err), -EINVAL);
    ck_assert_msg(strstr(err.message, "colour table"), "%s", err.message);
    tes_tile_free(&f);
    tes_tile_free(&back);
    tes_tile_free(&img);
    tes_raster_close(r);
    free(pal);
    free(out);
}
END_TEST

/* 1-bit files from ppm2tiff (min-is-white, PackBits), tiffcp -c g4 and
 * g3, fax2tiff (from tiffcp's G3 strip), tiffdither (min-is-black): the
 * stored bits, as GDAL reads them, with a width not a multiple of 8. */
START_TEST(read_one_bit_from_tools)
{
    char *pbm = tu_path(dir, "m.pbm"), *b = tu_path(dir, "b.tif");
    char *g4 = tu_path(dir, "g4.tif"), *g3 = tu_path(dir, "g3.tif");
    char *fax = tu_path(dir, "fax.tif"), *raw = tu_path(dir, "strip.g3");
    write_pbm(pbm);
    ck_assert_int_eq(tu_sh("ppm2tiff '%s' '%s'", pbm, b), 0);
    ck_assert_int_eq(tu_sh("tiffcp -c g4 '%s' '%s'", b, g4), 0);
    ck_assert_int_eq(tu_sh("tiffcp -c g3 -r %d '%s' '%s'", H, b, g3), 0);
    /* fax2tiff reads a raw G3 stream: tiffcp's one strip is one */
    TIFF *t = TIFFOpen(g3, "r");
    ck_assert_ptr_nonnull(t);
    uint64_t n = TIFFGetStrileByteCount(t, 0);
    void *bytes = malloc(n);
    ck_assert_int_eq(TIFFReadRawStrip(t, 0, bytes, (tmsize_t)n), (tmsize_t)n);
    TIFFClose(t);
    FILE *f = fopen(raw, "wb");
    fwrite(bytes, 1, n, f);
    fclose(f);
    free(bytes);
    ck_assert_int_eq(tu_sh("fax2tiff -M -X %d -o '%s' '%s'", W, fax, raw),
                     0);
    const char *files[] = { b, g4, g3, fax };
    for (int i = 0; i < 4; i++) {
        tes_tile img;
        read_all(files[i], &img);
        ck_assert_int_eq(img.type, TES_U8);
        ck_assert_int_eq(img.width, W);
        ck_assert_int_ge(img.height, H);
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                ck_assert_msg(((uint8_t *)tes_tile_row(&img, 0, y))[x] ==
                                  mask_bit(x, y),
                              "%s (%d, %d)", files[i], x, y);
        if (i < 3)
            same_as_gdal(files[i], &img, "Byte");
        tes_raster *r;
        ck_assert_int_eq(tes_raster_open(&r, files[i], NULL), 0);
        const tes_raster_info *in = tes_raster_info_get(r);
        ck_assert_int_eq(in->bits, 1);
        /* GDAL's table for min-is-white bits: 0 white, 1 black */
        ck_assert_ptr_nonnull(in->colormap);
        ck_assert_int_eq(in->colormap->n, 2);
        ck_assert_int_eq(in->colormap->red[0], 65535);
        ck_assert_int_eq(in->colormap->red[1], 0);
        tes_raster_close(r);
        tes_tile_free(&img);
    }
    free(pbm);
    free(b);
    free(g4);
    free(g3);
    free(fax);
    free(raw);
}
END_TEST

/* Packs v (w x h values of `bits` bits, `spp` samples per pixel) into
 * TIFF rows, most significant bits first, each row padded to a byte. */
static uint8_t *pack(const uint32_t *v, int w, int h, int spp, int bits,
                     size_t *row_bytes)
{
    *row_bytes = ((size_t)w * (size_t)spp * (size_t)bits + 7) / 8;
    uint8_t *p = calloc(*row_bytes * (size_t)h, 1);
    for (int y = 0; y < h; y++)
        for (size_t i = 0; i < (size_t)w * (size_t)spp; i++) {
            uint32_t s = v[(size_t)y * (size_t)w * (size_t)spp + i];
            for (int k = 0; k < bits; k++)
                if (s >> (bits - 1 - k) & 1) {
                    size_t bit = i * (size_t)bits + (size_t)k;
                    p[(size_t)y * *row_bytes + bit / 8] |=
                        (uint8_t)(0x80 >> (bit % 8));
                }
        }
    return p;
}

/* 2-, 4-, 12- and 5-bit samples (chunky, two per pixel), min-is-white
 * and min-is-black, strips and tiles: the values we packed. */
START_TEST(read_sub_byte_and_odd_widths)
{
    static const struct {
        int bits, spp;
        uint16_t photo;
        bool tiled;
    } c[] = {
        { 2, 1, PHOTOMETRIC_MINISWHITE, false },
        { 4, 1, PHOTOMETRIC_MINISBLACK, false },
        { 4, 1, PHOTOMETRIC_MINISWHITE, true },
        { 12, 1, PHOTOMETRIC_MINISBLACK, true },
        { 5, 2, PHOTOMETRIC_MINISBLACK, false },
        { 1, 1, PHOTOMETRIC_MINISBLACK, true },
    };
    char *p = tu_path(dir, "odd.tif");
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        int w = 45, h = 21, spp = c[i].spp, bits = c[i].bits;
        uint32_t *v = malloc((size_t)w * (size_t)h * (size_t)spp * 4);
        for (int k = 0; k < w * h * spp; k++)
            v[k] = (uint32_t)(k * 2654435761u >> 7) & ((1u << bits) - 1);
        TIFF *t = TIFFOpen(p, "w");
        TIFFSetField(t, TIFFTAG_IMAGEWIDTH, w);
        TIFFSetField(t, TIFFTAG_IMAGELENGTH, h);
        TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, bits);
        TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, spp);
        TIFFSetField(t, TIFFTAG_PHOTOMETRIC, c[i].photo);
        TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
        TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_ADOBE_DEFLATE);
        if (c[i].tiled) {
            /* 16x16 tiles: pack the image padded to whole tiles */
            TIFFSetField(t, TIFFTAG_TILEWIDTH, 16);
            TIFFSetField(t, TIFFTAG_TILELENGTH, 16);
            for (int ty = 0; ty < h; ty += 16)
                for (int tx = 0; tx < w; tx += 16) {
                    uint32_t tv[16 * 16 * 2] = { 0 };
                    for (int y = 0; y < 16 && ty + y < h; y++)
                        for (int x = 0; x < 16 && tx + x < w; x++)
                            for (int s = 0; s < spp; s++)
                                tv[(y * 16 + x) * spp + s] =
                                    v[((ty + y) * w + tx + x) * spp + s];
                    size_t rb;
                    uint8_t *pk = pack(tv, 16, 16, spp, bits, &rb);
                    ck_assert_int_ge(TIFFWriteEncodedTile(
                                         t, TIFFComputeTile(t, (uint32_t)tx,
                                                            (uint32_t)ty, 0,
                                                            0),
                                         pk, (tmsize_t)(rb * 16)),
                                     0);
                    free(pk);
                }
        } else {
            TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 8);
            size_t rb;
            uint8_t *pk = pack(v, w, h, spp, bits, &rb);
            for (int s = 0; s * 8 < h; s++) {
                int rows = h - s * 8 < 8 ? h - s * 8 : 8;
                ck_assert_int_ge(TIFFWriteEncodedStrip(
                                     t, (uint32_t)s, pk + (size_t)s * 8 * rb,
                                     (tmsize_t)(rb * (size_t)rows)),
                                 0);
            }
            free(pk);
        }
        TIFFClose(t);
        tes_tile img;
        read_all(p, &img);
        ck_assert_int_eq(img.type, bits <= 8 ? TES_U8 : TES_U16);
        ck_assert_int_eq(img.bands, spp);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int s = 0; s < spp; s++)
                    ck_assert_msg(tes_tile_get(&img, s, x, y) ==
                                      (double)v[(y * w + x) * spp + s],
                                  "%d bits: (%d, %d) band %d", bits, x, y,
                                  s + 1);
        same_as_gdal(p, &img, bits <= 8 ? "Byte" : "UInt16");
        tes_tile_free(&img);
        free(v);
        unlink(p);
    }
    free(p);
}
END_TEST

/* JPEG YCbCr from tiffcp, striped and tiled: the RGB libtiff's codec
 * gives tiff2rgba (the same decoder), and what GDAL reads. */
START_TEST(read_jpeg_ycbcr_as_rgb)
{
    char *ppm = tu_path(dir, "card.ppm"), *rgb = tu_path(dir, "rgb.tif");
    char *js = tu_path(dir, "js.tif"), *jt = tu_path(dir, "jt.tif");
    write_ppm(ppm);
    ck_assert_int_eq(tu_sh("ppm2tiff '%s' '%s'", ppm, rgb), 0);
    ck_assert_int_eq(tu_sh("tiffcp -c jpeg -r 16 '%s' '%s'", rgb, js), 0);
    ck_assert_int_eq(tu_sh("tiffcp -c jpeg -t -w 16 -l 16 '%s' '%s'", rgb,
                           jt), 0);
    const char *files[] = { js, jt };
    for (int i = 0; i < 2; i++) {
        tes_tile img, ref;
        read_all(files[i], &img);
        ck_assert_int_eq(img.bands, 3);
        rgba_reference(files[i], &ref);
        same_rgb(&img, &ref, 3, files[i]);
        same_as_gdal(files[i], &img, "Byte");
        tes_raster *r;
        ck_assert_int_eq(tes_raster_open(&r, files[i], NULL), 0);
        ck_assert(tes_raster_info_get(r)->rgb);
        ck_assert_int_eq(tes_raster_info_get(r)->photometric,
                         PHOTOMETRIC_YCBCR);
        tes_raster_close(r);
        tes_tile_free(&img);
        tes_tile_free(&ref);
    }
    free(ppm);
    free(rgb);
    free(js);
    free(jt);
}
END_TEST

/* Uncompressed YCbCr with 2x2 subsampling (written with libtiff), read
 * through the RGBA interface as GDAL does. */
START_TEST(read_ycbcr_subsampled_uncompressed)
{
    char *p = tu_path(dir, "ycc.tif");
    TIFF *t = TIFFOpen(p, "w");
    /* 5 x 3 blocks of 4 Y + Cb + Cr; the last strip has one row */
    int w = 10, h = 5;
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, w);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, h);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 3);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_YCBCR);
    TIFFSetField(t, TIFFTAG_YCBCRSUBSAMPLING, 2, 2);
    TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 2);
    uint8_t strip[5 * 6];
    for (int s = 0; s < 3; s++) {
        for (int i = 0; i < 30; i++)
            strip[i] = (uint8_t)(40 + 13 * i + 29 * s);
        ck_assert_int_ge(TIFFWriteRawStrip(t, (uint32_t)s, strip, 30), 0);
    }
    TIFFClose(t);
    tes_tile img, ref;
    read_all(p, &img);
    ck_assert_int_eq(img.bands, 3);
    rgba_reference(p, &ref);
    same_rgb(&img, &ref, 3, p);
    same_as_gdal(p, &img, "Byte");
    tes_tile_free(&img);
    tes_tile_free(&ref);
    free(p);
}
END_TEST

/* Old-style JPEG: the new-style stream tiffcp writes, made one JFIF
 * stream (tables, then the strip without its SOI) and wrapped in an
 * OJPEG TIFF with JPEGInterchangeFormat; what libtiff's OJPEG decoder
 * gives tiff2rgba, and GDAL. */
static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

START_TEST(read_old_style_jpeg)
{
    char *ppm = tu_path(dir, "card.ppm"), *rgb = tu_path(dir, "rgb.tif");
    char *js = tu_path(dir, "js.tif"), *oj = tu_path(dir, "oj.tif");
    write_ppm(ppm);
    ck_assert_int_eq(tu_sh("ppm2tiff '%s' '%s'", ppm, rgb), 0);
    ck_assert_int_eq(tu_sh("tiffcp -c jpeg -r %d '%s' '%s'", H, rgb, js), 0);
    TIFF *t = TIFFOpen(js, "r");
    uint32_t nt = 0;
    void *tables = NULL;
    ck_assert(TIFFGetField(t, TIFFTAG_JPEGTABLES, &nt, &tables));
    uint64_t ns = TIFFGetStrileByteCount(t, 0);
    uint8_t *strip = malloc(ns);
    ck_assert_int_eq(TIFFReadRawStrip(t, 0, strip, (tmsize_t)ns), (tmsize_t)ns);
    size_t njfif = nt - 2 + ns - 2; /* tables less EOI, strip less SOI */
    uint8_t *jfif = malloc(njfif);
    memcpy(jfif, tables, nt - 2);
    memcpy(jfif + nt - 2, strip + 2, ns - 2);
    TIFFClose(t);
    /* The OJPEG TIFF: header, one IFD of 14 entries, BitsPerSample's
     * three values, the stream. */
    enum { N = 14 };
    uint32_t ifd = 8, bps = ifd + 2 + 12 * N + 4, data = bps + 6;
    uint8_t *f = calloc(data + njfif, 1);
    memcpy(f, "II*\0", 4);
    put32(f + 4, ifd);
    put16(f + ifd, N);
    const uint32_t e[N][4] = {
        { 256, 3, 1, W }, { 257, 3, 1, H }, { 258, 3, 3, bps },
        { 259, 3, 1, COMPRESSION_OJPEG }, { 262, 3, 1, PHOTOMETRIC_YCBCR },
        { 273, 4, 1, data }, { 277, 3, 1, 3 }, { 278, 3, 1, H },
        { 279, 4, 1, (uint32_t)njfif }, { 284, 3, 1, 1 }, { 512, 3, 1, 1 },
        { 513, 4, 1, data }, { 514, 4, 1, (uint32_t)njfif },
        { 530, 3, 2, 2 | 2 << 16 },
    };
    for (int i = 0; i < N; i++) {
        uint8_t *q = f + ifd + 2 + 12 * i;
        put16(q, (uint16_t)e[i][0]);
        put16(q + 2, (uint16_t)e[i][1]);
        put32(q + 4, e[i][2]);
        if (e[i][1] == 3 && e[i][2] == 1)
            put16(q + 8, (uint16_t)e[i][3]);
        else
            put32(q + 8, e[i][3]);
    }
    put16(f + bps, 8);
    put16(f + bps + 2, 8);
    put16(f + bps + 4, 8);
    memcpy(f + data, jfif, njfif);
    FILE *o = fopen(oj, "wb");
    fwrite(f, 1, data + njfif, o);
    fclose(o);
    tes_tile img, ref;
    read_all(oj, &img);
    ck_assert_int_eq(img.bands, 3);
    rgba_reference(oj, &ref);
    same_rgb(&img, &ref, 3, oj);
    same_as_gdal(oj, &img, "Byte");
    tes_tile_free(&img);
    tes_tile_free(&ref);
    free(f);
    free(jfif);
    free(strip);
    free(ppm);
    free(rgb);
    free(js);
    free(oj);
}
END_TEST

/* tiff2bw's greyscale (from ppm2tiff's RGB) and tiffdither's bits of it,
 * as GDAL reads them. */
START_TEST(read_tiff2bw_and_tiffdither)
{
    if (!tu_have_gdal())
        return;
    char *ppm = tu_path(dir, "card.ppm"), *rgb = tu_path(dir, "rgb.tif");
    char *bw = tu_path(dir, "bw.tif"), *d = tu_path(dir, "d.tif");
    write_ppm(ppm);
    ck_assert_int_eq(tu_sh("ppm2tiff '%s' '%s'", ppm, rgb), 0);
    ck_assert_int_eq(tu_sh("tiff2bw '%s' '%s'", rgb, bw), 0);
    ck_assert_int_eq(tu_sh("tiffdither '%s' '%s'", bw, d), 0);
    const char *files[] = { bw, d };
    for (int i = 0; i < 2; i++) {
        tes_tile img;
        read_all(files[i], &img);
        same_as_gdal(files[i], &img, "Byte");
        tes_tile_free(&img);
    }
    free(ppm);
    free(rgb);
    free(bw);
    free(d);
}
END_TEST

/* Files GDAL writes (when installed): NBITS 1 to 24 in strips and tiles,
 * band-interleaved sub-byte, 16-bit floats, big-endian; every pixel as
 * GDAL reads it back. */
START_TEST(read_gdal_written_forms)
{
    if (!tu_have_gdal())
        return;
    char *script = tu_path(dir, "mk.py");
    FILE *f = fopen(script, "w");
    fputs("import sys\n"
          "import numpy as np\n"
          "from osgeo import gdal\n"
          "d = sys.argv[1]\n"
          "drv = gdal.GetDriverByName('GTiff')\n"
          "h, w = 53, 67\n"
          "y, x = np.mgrid[0:h, 0:w]\n"
          "def mk(name, arrs, dt, opts):\n"
          "    ds = drv.Create(d + '/' + name, w, h, len(arrs), dt, opts)\n"
          "    for i, a in enumerate(arrs):\n"
          "        ds.GetRasterBand(i + 1).WriteArray(a)\n"
          "mk('n12.tif', [(x * 61 + y * 17) % 4096], gdal.GDT_UInt16,"
          " ['NBITS=12', 'COMPRESS=DEFLATE'])\n"
          "mk('n12t.tif', [(x * 61 + y * 17) % 4096], gdal.GDT_UInt16,"
          " ['NBITS=12', 'TILED=YES', 'BLOCKXSIZE=32', 'BLOCKYSIZE=32'])\n"
          "mk('n3p.tif', [(x + y) % 8, (x * 3) % 8, (y * 5) % 8],"
          " gdal.GDT_Byte, ['NBITS=3', 'INTERLEAVE=BAND'])\n"
          "mk('n5c.tif', [(x + y) % 32, (x * 3) % 32], gdal.GDT_Byte,"
          " ['NBITS=5', 'INTERLEAVE=PIXEL', 'COMPRESS=LZW'])\n"
          "mk('n24.tif', [(x * 100003 + y * 7919) % (1 << 24)],"
          " gdal.GDT_UInt32, ['NBITS=24'])\n"
          "mk('n20be.tif', [(x * 100003 + y * 7919) % (1 << 20)],"
          " gdal.GDT_UInt32, ['NBITS=20', 'ENDIANNESS=BIG'])\n"
          "hf = ((x - 30) * 0.37 + y * 1.5).astype(np.float32)\n"
          "mk('h16.tif', [hf], gdal.GDT_Float32,"
          " ['NBITS=16', 'COMPRESS=DEFLATE', 'PREDICTOR=3'])\n"
          "mk('h16be.tif', [hf], gdal.GDT_Float32,"
          " ['NBITS=16', 'ENDIANNESS=BIG'])\n"
          "mk('b1t.tif', [(x + y) % 2], gdal.GDT_Byte, ['NBITS=1',"
          " 'TILED=YES', 'BLOCKXSIZE=16', 'BLOCKYSIZE=16'])\n",
          f);
    fclose(f);
    ck_assert_int_eq(tu_sh("/usr/bin/python3 '%s' '%s'", script, dir), 0);
    static const struct {
        const char *name, *gdal_type;
    } c[] = {
        { "n12.tif", "UInt16" }, { "n12t.tif", "UInt16" },
        { "n3p.tif", "Byte" },   { "n5c.tif", "Byte" },
        { "n24.tif", "UInt32" }, { "n20be.tif", "UInt32" },
        { "h16.tif", "Float32" }, { "h16be.tif", "Float32" },
        { "b1t.tif", "Byte" },
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        char *p = tu_path(dir, c[i].name);
        tes_tile img;
        read_all(p, &img);
        same_as_gdal(p, &img, c[i].gdal_type);
        tes_tile_free(&img);
        free(p);
    }
    free(script);
}
END_TEST

/* spp 8-bit samples of w x h with photometric photo and the extra
 * samples extra[0..n_extra), by libtiff. */
static void write_extra(const char *path, int spp, uint16_t photo,
                        const uint16_t *extra, int n_extra)
{
    TIFF *t = TIFFOpen(path, "w");
    ck_assert_ptr_nonnull(t);
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, 20);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, 10);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, spp);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, photo);
    TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 10);
    if (n_extra)
        TIFFSetField(t, TIFFTAG_EXTRASAMPLES, (uint16_t)n_extra, extra);
    uint8_t row[20 * 8];
    for (int y = 0; y < 10; y++) {
        for (int i = 0; i < 20 * spp; i++)
            row[i] = (uint8_t)(i * 7 + y);
        ck_assert_int_eq(TIFFWriteScanline(t, row, (uint32_t)y, 0), 1);
    }
    TIFFClose(t);
}

/* The band that is alpha: an associated or unassociated extra sample
 * (GDAL's ColorInterp=Alpha), in files libtiff and tiff2rgba write. */
START_TEST(read_alpha_band_as_gdal_shows_it)
{
    static const uint16_t un = EXTRASAMPLE_UNASSALPHA,
                          as[2] = { EXTRASAMPLE_UNSPECIFIED,
                                    EXTRASAMPLE_ASSOCALPHA },
                          none = EXTRASAMPLE_UNSPECIFIED;
    static const struct {
        const char *name;
        int spp;
        uint16_t photo;
        const uint16_t *extra;
        int n_extra, alpha;
    } c[] = {
        { "ga.tif", 2, PHOTOMETRIC_MINISBLACK, &un, 1, 2 },
        { "rgbxa.tif", 5, PHOTOMETRIC_RGB, as, 2, 5 },
        { "rgbx.tif", 4, PHOTOMETRIC_RGB, &none, 1, 0 },
        { "g.tif", 1, PHOTOMETRIC_MINISBLACK, NULL, 0, 0 },
        { "rgba.tif", 0, 0, NULL, 0, 4 }, /* tiff2rgba's */
    };
    char *ppm = tu_path(dir, "card.ppm"), *rgb = tu_path(dir, "rgb.tif");
    write_ppm(ppm);
    ck_assert_int_eq(tu_sh("ppm2tiff '%s' '%s'", ppm, rgb), 0);
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        char *p = tu_path(dir, c[i].name);
        if (c[i].spp)
            write_extra(p, c[i].spp, c[i].photo, c[i].extra, c[i].n_extra);
        else
            ck_assert_int_eq(tu_sh("tiff2rgba '%s' '%s'", rgb, p), 0);
        tes_raster *r;
        tes_raster_error err;
        ck_assert_msg(tes_raster_open(&r, p, &err) == 0, "%s", err.message);
        ck_assert_msg(tes_raster_info_get(r)->alpha_band == c[i].alpha,
                      "%s: alpha band %d", c[i].name,
                      tes_raster_info_get(r)->alpha_band);
        tes_raster_close(r);
        if (tu_have_gdal()) {
            /* GDAL's alpha band: 1 + the index of ColorInterp=Alpha */
            char *out = tu_path(dir, "ci.txt"), text[64];
            ck_assert_int_eq(
                tu_sh("/usr/bin/python3 -c 'import sys\n"
                      "from osgeo import gdal\n"
                      "d = gdal.Open(sys.argv[1])\n"
                      "a = [i + 1 for i in range(d.RasterCount) if d."
                      "GetRasterBand(i + 1).GetColorInterpretation() == "
                      "gdal.GCI_AlphaBand]\n"
                      "open(sys.argv[2], \"w\").write(str(a[0] if a else "
                      "0))' '%s' '%s'",
                      p, out),
                0);
            tu_read_text(out, text, sizeof text);
            ck_assert_msg(atoi(text) == c[i].alpha, "%s: GDAL says %s",
                          c[i].name, text);
            free(out);
        }
        free(p);
    }
    free(ppm);
    free(rgb);
}
END_TEST

/* The GDAL_NODATA text goes to an output of the same type as it was
 * written, in range or not; another type gets the value it can hold. */
START_TEST(read_nodata_kept_exactly)
{
    char *p = tu_path(dir, "nd.tif"), *o1 = tu_path(dir, "o1.tif");
    char *o2 = tu_path(dir, "o2.tif");
    static const struct {
        tes_sample_type type;
        const char *text, *other;
        tes_sample_type other_type;
    } c[] = {
        { TES_U8, "-1", "0", TES_U16 },
        { TES_F32, "-9999.000", "-9999", TES_I16 },
        { TES_I16, "32767", "32767", TES_F64 },
        { TES_F64, "nan", "nan", TES_F32 },
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        tes_tile t;
        ck_assert_int_eq(tes_tile_alloc(&t, c[i].type, 20, 20, 1), 0);
        tu_fill_smooth(&t, 1);
        unlink(p);
        ck_assert_int_eq(tes_raster_write_tile(p, &t, NULL, NULL), 0);
        TIFF *tif = TIFFOpen(p, "r+");
        ck_assert(TIFFSetField(tif, 42113, c[i].text));
        ck_assert(TIFFRewriteDirectory(tif));
        TIFFClose(tif);
        tes_raster *r;
        ck_assert_int_eq(tes_raster_open(&r, p, NULL), 0);
        const tes_raster_info *in = tes_raster_info_get(r);
        ck_assert(in->has_nodata);
        ck_assert_str_eq(in->georef.gdal_nodata, c[i].text);
        double want = strtod(c[i].text, NULL);
        ck_assert(isnan(want) ? isnan(in->nodata) : in->nodata == want);
        tes_pool *pool;
        ck_assert_int_eq(tes_pool_create(&pool, NULL), 0);
        tes_kernel k = TES_KERNEL_INIT;
        k.tile = grab_tile;
        tes_tile sink;
        ck_assert_int_eq(tes_tile_alloc(&sink, c[i].type, 20, 20, 1), 0);
        k.arg = &sink;
        unlink(o1);
        ck_assert_int_eq(tes_raster_run(pool, &k, &r, 1, o1, NULL, NULL,
                                        NULL, NULL), 0);
        tes_tile_free(&sink);
        ck_assert_int_eq(tes_tile_alloc(&sink, c[i].other_type, 20, 20, 1),
                         0);
        k.in_type = c[i].other_type;
        unlink(o2);
        ck_assert_int_eq(tes_raster_run(pool, &k, &r, 1, o2, NULL, NULL,
                                        NULL, NULL), 0);
        tes_tile_free(&sink);
        tes_pool_destroy(pool);
        tes_raster_close(r);
        const char *want_text[2] = { c[i].text, c[i].other };
        const char *outs[2] = { o1, o2 };
        for (int j = 0; j < 2; j++) {
            TIFF *ot = TIFFOpen(outs[j], "r");
            const char *s = NULL;
            ck_assert(TIFFGetField(ot, 42113, &s));
            ck_assert_msg(strcmp(s, want_text[j]) == 0, "%s: nodata %s, "
                          "want %s", outs[j], s, want_text[j]);
            TIFFClose(ot);
        }
        tes_tile_free(&t);
    }
    free(p);
    free(o1);
    free(o2);
}
END_TEST

static int64_t sum_u8;
static void sum_init(void *p, void *arg)
{
    (void)arg;
    *(int64_t *)p = 0;
}
static int sum_partial(tes_tile_job *job)
{
    const tes_tile *t = &job->in[0];
    int64_t s = 0;
    for (int y = 0; y < t->height; y++) {
        const uint8_t *r = tes_tile_row(t, 0, y);
        for (int x = 0; x < t->width; x++)
            s += r[x] * (int64_t)((t->x0 + x) % 7 + 1);
    }
    *(int64_t *)job->partial = s;
    return 0;
}
static void sum_combine(void *acc, const void *p, void *arg)
{
    (void)arg;
    *(int64_t *)acc += *(const int64_t *)p;
}

/* One deflate strip of 16384 x 16400 bytes (269 MB decoded): read in
 * pieces, every pixel right (a weighted sum against the closed form),
 * in a child whose peak RSS must stay far below the strip's size. */
START_TEST(read_strip_larger_than_256mb)
{
    char *p = tu_path(dir, "big.tif");
    const uint32_t w = 16384, h = 16400;
    TIFF *t = TIFFOpen(p, "w");
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, w);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, h);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
    TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_ADOBE_DEFLATE);
    TIFFSetField(t, TIFFTAG_ZIPQUALITY, 1);
    TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, h);
    uint8_t *row = malloc(w);
    int64_t want = 0;
    for (uint32_t y = 0; y < h; y++) {
        for (uint32_t x = 0; x < w; x++) {
            row[x] = (uint8_t)((x / 64 + y / 64) % 251);
            want += row[x] * (int64_t)(x % 7 + 1);
        }
        ck_assert_int_ge(TIFFWriteScanline(t, row, y, 0), 0);
    }
    free(row);
    TIFFClose(t);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        tes_raster *r;
        tes_raster_error err;
        if (tes_raster_open(&r, p, &err))
            _exit(10);
        tes_pool_options po = TES_POOL_OPTIONS_INIT;
        po.threads = 2;
        tes_pool *pool;
        if (tes_pool_create(&pool, &po))
            _exit(11);
        tes_kernel k = TES_KERNEL_INIT;
        k.partial_size = sizeof(int64_t);
        k.partial_init = sum_init;
        k.partial = sum_partial;
        k.combine = sum_combine;
        int rc = tes_raster_run(pool, &k, &r, 1, NULL, NULL, &sum_u8, NULL,
                                &err);
        tes_pool_destroy(pool);
        tes_raster_close(r);
        if (rc)
            _exit(12);
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        free(p);
        /* 269 MB decoded; the pieces, the cache and the tiles in flight
         * stay well below half of it (a sanitizer's memory is its own) */
        const char *b = getenv("TES_BUILD");
        bool san = b && strstr(b, "san-");
        _exit(sum_u8 != want                         ? 13
              : !san && ru.ru_maxrss > 128 * 1024 ? 14
                                                   : 0);
    }
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %d",
                  WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    free(p);
}
END_TEST

/* A tiled zstd TIFF of w x w pixels of `bands` 8-bit bands in one tile:
 * band b of pixel (x, y) is (x + 3 y + 7 b) % 251, or, with junk, the tile
 * is 24 bytes of nothing that the header says decode to the whole tile
 * (zstd's ratio has no bound, so the file is as small as that). */
static void zstd_tile(const char *path, uint32_t w, int bands, bool junk)
{
    TIFF *t = tu_tiff_u8_tiled(path, w, w, bands, w, COMPRESSION_ZSTD);
    if (junk) {
        uint8_t bytes[24] = { 0x28, 0xb5, 0x2f, 0xfd };
        ck_assert_int_ge(TIFFWriteRawTile(t, 0, bytes, sizeof bytes), 0);
    } else {
        size_t n = (size_t)w * w * (size_t)bands;
        uint8_t *px = malloc(n);
        ck_assert_ptr_nonnull(px);
        for (size_t i = 0; i < n; i++) {
            size_t p = i / (size_t)bands, b = i % (size_t)bands;
            px[i] = (uint8_t)((p % w + 3 * (p / w) + 7 * b) % 251);
        }
        ck_assert_int_ge(TIFFWriteEncodedTile(t, 0, px, (tmsize_t)n), 0);
        free(px);
    }
    TIFFClose(t);
}

/* tes_raster_read's block buffers (the block decoded, and the handle's
 * stored and compressed forms: three blocks), which a header sizes, are
 * counted against the default memory budget before they are allocated:
 * a file of 200 bytes claiming 256 MiB blocks is refused in a moment with
 * dst untouched; a read at exactly three blocks runs and reads right,
 * one byte less is refused. */
START_TEST(read_block_buffers_within_budget)
{
    char *p = tu_path(dir, "claims.tif");
    zstd_tile(p, 8192, 4, true);
    struct stat st;
    ck_assert_int_eq(stat(p, &st), 0);
    ck_assert_int_lt(st.st_size, 1000);
    ck_assert_int_eq(setenv("TESSERA_MEMORY", "512M", 1), 0);
    tes_raster *r;
    tes_raster_error err;
    ck_assert_int_eq(tes_raster_open(&r, p, &err), 0);
    tes_tile dst;
    ck_assert_int_eq(tes_tile_alloc(&dst, TES_U8, 16, 16, 4), 0);
    memset(dst.data, 0xA5, 16 * 16 * 4);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    long rss0 = ru.ru_maxrss;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    ck_assert_int_eq(tes_raster_read(r, 0, 0, &dst, TES_EDGE_NODATA, 0,
                                     &err),
                     TES_ETOOBIG);
    clock_gettime(CLOCK_MONOTONIC, &b);
    getrusage(RUSAGE_SELF, &ru);
    fprintf(stderr, "budget: tes_raster_read of a %lld-byte file claiming "
                    "256 MiB zstd blocks: refused in %.6f s, peak RSS +%ld "
                    "KB\n", (long long)st.st_size,
            (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) *
                                                1e-9,
            ru.ru_maxrss - rss0);
    char want[512];
    snprintf(want, sizeof want, "%s: needs about 805.3 MB of memory (3 "
                                "block buffers of 268.4 MB each), more than "
                                "the memory budget of 536.9 MB", p);
    ck_assert_str_eq(err.message, want);
    for (int i = 0; i < 16 * 16 * 4; i++)
        ck_assert_uint_eq(((uint8_t *)dst.data)[i], 0xA5);
#ifndef TU_SANITIZED
    ck_assert_int_lt(ru.ru_maxrss - rss0, 50 * 1024);
#endif
    tes_raster_close(r);
    tes_tile_free(&dst);

    /* 4 MiB blocks: three fit 12 MiB exactly, not a byte less (the budget
     * is looked up at a raster's first read) */
    zstd_tile(p, 1024, 4, false);
    ck_assert_int_eq(setenv("TESSERA_MEMORY", "12582911", 1), 0);
    ck_assert_int_eq(tes_raster_open(&r, p, &err), 0);
    ck_assert_int_eq(tes_tile_alloc(&dst, TES_U8, 40, 30, 4), 0);
    ck_assert_int_eq(tes_raster_read(r, 500, 700, &dst, TES_EDGE_NODATA, 0,
                                     &err),
                     TES_ETOOBIG);
    tes_raster_close(r);
    ck_assert_int_eq(setenv("TESSERA_MEMORY", "12M", 1), 0);
    ck_assert_int_eq(tes_raster_open(&r, p, &err), 0);
    ck_assert_msg(tes_raster_read(r, 500, 700, &dst, TES_EDGE_NODATA, 0,
                                  &err) == 0,
                  "%s", err.message);
    for (int c = 0; c < 4; c++)
        for (int y = 0; y < 30; y++)
            for (int x = 0; x < 40; x++)
                ck_assert_uint_eq(
                    ((const uint8_t *)tes_tile_row(&dst, c, y))[x],
                    (500 + x + 3 * (700 + y) + 7 * c) % 251);
    tes_raster_close(r);
    tes_tile_free(&dst);
    unsetenv("TESSERA_MEMORY");
    free(p);
}
END_TEST

static Suite *suite(void)
{
    tu_quiet_libtiff();
    Suite *s = suite_create("raster_read");
    TCase *tc = tcase_create("read");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, read_palette_keeps_indices_and_table);
    tcase_add_test(tc, read_palette_table_kept_by_copy);
    tcase_add_test(tc, read_one_bit_from_tools);
    tcase_add_test(tc, read_sub_byte_and_odd_widths);
    tcase_add_test(tc, read_jpeg_ycbcr_as_rgb);
    tcase_add_test(tc, read_ycbcr_subsampled_uncompressed);
    tcase_add_test(tc, read_old_style_jpeg);
    tcase_add_test(tc, read_tiff2bw_and_tiffdither);
    tcase_add_test(tc, read_gdal_written_forms);
    tcase_add_test(tc, read_nodata_kept_exactly);
    tcase_add_test(tc, read_alpha_band_as_gdal_shows_it);
    tcase_add_test(tc, read_block_buffers_within_budget);
    suite_add_tcase(s, tc);
    TCase *big = tcase_create("big");
    tcase_add_checked_fixture(big, setup, teardown);
    tcase_set_timeout(big, 120);
    tcase_add_test(big, read_strip_larger_than_256mb);
    suite_add_tcase(s, big);
    return s;
}

TES_CHECK_MAIN(suite)
