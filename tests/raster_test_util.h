/*
 * raster_test_util.h — helpers for the raster suites (header-only, since
 * helper .c files in tests/ are linked into the runtime suites too, which have no
 * libtiff): scratch folders, deterministic sample data, an independent
 * writer that uses libtiff's own codecs, and folder listings.
 */
#ifndef TES_RASTER_TEST_UTIL_H
#define TES_RASTER_TEST_UTIL_H

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <tiffio.h>
#include <unistd.h>

#include "tessera_kernels.h"

/* A fresh folder under $TMPDIR or /tmp; caller frees the string. */
static inline char *tu_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char *p = malloc(4096);
    snprintf(p, 4096, "%s/tes-raster-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(p)) {
        free(p);
        return NULL;
    }
    return p;
}

/* Removes every file in dir, then dir. */
static inline void tu_rmdir(char *dir)
{
    if (!dir)
        return;
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        char p[4200];
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
                snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
                unlink(p);
            }
        closedir(d);
    }
    rmdir(dir);
    free(dir);
}

/* Entries in dir other than . and .. */
static inline int tu_count_files(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

/* Files in dir whose name holds ".tmp-": output temporaries. */
static inline int tu_count_temporaries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".tmp-"))
            n++;
    closedir(d);
    return n;
}

/* TU_SANITIZED: built with AddressSanitizer or ThreadSanitizer (gcc's
 * macros, clang's __has_feature), which replace the allocator and slow
 * programs several times. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define TU_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define TU_SANITIZED 1
#endif
#endif

/* The estimate in a budget's refusal ("needs about 12.3 MB of memory"),
 * in bytes; *slack: twice its rounding (0.1 of its unit). */
static inline double tu_needs_bytes(const char *msg, double *slack)
{
    const char *p = strstr(msg, "needs about ");
    ck_assert_msg(p != NULL, "no estimate in '%s'", msg);
    double v;
    char unit[4];
    ck_assert_int_eq(sscanf(p + 12, "%lf %3s", &v, unit), 2);
    double u = strcmp(unit, "GB") == 0   ? 1e9
               : strcmp(unit, "MB") == 0 ? 1e6
                                         : 1e3;
    *slack = u / 10;
    return v * u;
}

static inline bool tu_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static inline char *tu_path(const char *dir, const char *name)
{
    char *p = malloc(4200);
    snprintf(p, 4200, "%s/%s", dir, name);
    return p;
}

/* Deterministic pseudo-random bytes. */
static inline void tu_fill_random(void *buf, size_t n, uint64_t seed)
{
    uint8_t *b = buf;
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        b[i] = (uint8_t)(s >> 24);
    }
}

/* Smooth-ish values of type t (so predictors matter), band-sequential. */
static inline void tu_fill_smooth(tes_tile *t, uint64_t seed)
{
    uint8_t noise[64];
    tu_fill_random(noise, sizeof noise, seed);
    for (int b = 0; b < t->bands; b++)
        for (int y = 0; y < t->height; y++)
            for (int x = 0; x < t->width; x++) {
                double v = 50 + 40 * (b + 1) + (x * 3 + y * 2) % 97 +
                           noise[(x + 7 * y + b) & 63] % 5;
                if (tes_sample_type_is_float(t->type))
                    v += 0.25 * (x % 4) - 100;
                else if (tes_sample_type_is_signed(t->type))
                    v -= 100;
                /* 8-bit values wrap (as integers: a double out of the
                 * type's range would be undefined to convert) */
                if (t->type == TES_U8)
                    v = (uint8_t)(int)v;
                else if (t->type == TES_I8)
                    v = (int8_t)(int)v;
                tes_tile_set(t, b, x, y, v);
            }
}

static inline void tu_tiff_format(tes_sample_type t, uint16_t *fmt,
                                  uint16_t *bits)
{
    *bits = (uint16_t)(8 * tes_sample_size(t));
    *fmt = tes_sample_type_is_float(t)    ? SAMPLEFORMAT_IEEEFP
           : tes_sample_type_is_signed(t) ? SAMPLEFORMAT_INT
                                          : SAMPLEFORMAT_UINT;
}

/* A new TIFF at path whose header says: w x h pixels of `bands` chunky
 * 8-bit bands (grey and extra samples) in tiles of tile x tile,
 * compressed with comp. Its tiles are the caller's to write. */
static inline TIFF *tu_tiff_u8_tiled(const char *path, uint32_t w, uint32_t h,
                                     int bands, uint32_t tile, uint16_t comp)
{
    TIFF *t = TIFFOpen(path, "w");
    ck_assert_ptr_nonnull(t);
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, w);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, h);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, bands);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
    TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    if (bands > 1) {
        uint16_t *extra = calloc((size_t)bands, sizeof *extra);
        ck_assert_ptr_nonnull(extra);
        TIFFSetField(t, TIFFTAG_EXTRASAMPLES, bands - 1, extra);
        free(extra);
    }
    TIFFSetField(t, TIFFTAG_TILEWIDTH, tile);
    TIFFSetField(t, TIFFTAG_TILELENGTH, tile);
    TIFFSetField(t, TIFFTAG_COMPRESSION, comp);
    return t;
}

/* tu_tiff_u8_tiled's file, deflate, every tile sparse (offset and size 0,
 * as GDAL writes them): a header that claims a large raster in a small
 * file. */
static inline void tu_write_sparse(const char *path, uint32_t w, uint32_t h,
                                   int bands, uint32_t tile)
{
    TIFF *t = tu_tiff_u8_tiled(path, w, h, bands, tile,
                               COMPRESSION_ADOBE_DEFLATE);
    ck_assert(TIFFWriteCheck(t, 1, path));
    ck_assert(TIFFWriteDirectory(t));
    TIFFClose(t);
}

/* Writes tile t (band-sequential) with libtiff's own encoder. block_w == 0
 * writes strips of block_h rows. Returns 0 or -1. */
static inline int tu_write_libtiff(const char *path, const tes_tile *t,
                                   bool bigtiff, int block_w, int block_h,
                                   bool planar, uint16_t compression,
                                   uint16_t predictor)
{
    TIFF *tif = TIFFOpen(path, bigtiff ? "w8" : "w");
    if (!tif)
        return -1;
    uint16_t fmt, bits;
    tu_tiff_format(t->type, &fmt, &bits);
    size_t ss = tes_sample_size(t->type);
    int spp = t->bands;
    planar = planar && spp > 1;
    TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, (uint32_t)t->width);
    TIFFSetField(tif, TIFFTAG_IMAGELENGTH, (uint32_t)t->height);
    TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, bits);
    TIFFSetField(tif, TIFFTAG_SAMPLEFORMAT, fmt);
    TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, (uint16_t)spp);
    TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
    TIFFSetField(tif, TIFFTAG_PLANARCONFIG,
                 planar ? PLANARCONFIG_SEPARATE : PLANARCONFIG_CONTIG);
    TIFFSetField(tif, TIFFTAG_COMPRESSION, compression);
    if (predictor > 1)
        TIFFSetField(tif, TIFFTAG_PREDICTOR, predictor);
    if (spp > 1) {
        uint16_t extra[16] = { 0 };
        TIFFSetField(tif, TIFFTAG_EXTRASAMPLES, (uint16_t)(spp - 1), extra);
    }
    int bw = block_w ? block_w : t->width;
    if (block_w) {
        TIFFSetField(tif, TIFFTAG_TILEWIDTH, (uint32_t)block_w);
        TIFFSetField(tif, TIFFTAG_TILELENGTH, (uint32_t)block_h);
    } else {
        TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, (uint32_t)block_h);
    }
    int planes = planar ? spp : 1, per = planar ? 1 : spp;
    size_t bytes = (size_t)bw * block_h * per * ss;
    uint8_t *buf = malloc(bytes);
    int rc = 0;
    uint32_t idx = 0;
    for (int p = 0; p < planes && !rc; p++)
        for (int by = 0; by < t->height && !rc; by += block_h)
            for (int bx = 0; bx < t->width && !rc; bx += bw, idx++) {
                memset(buf, 0, bytes);
                int rows = block_w ? block_h
                           : by + block_h > t->height ? t->height - by
                                                      : block_h;
                for (int y = 0; y < rows; y++)
                    for (int x = 0; x < bw; x++)
                        for (int s = 0; s < per; s++) {
                            int X = bx + x, Y = by + y, B = planar ? p : s;
                            if (X >= t->width || Y >= t->height)
                                continue;
                            memcpy(buf + (((size_t)y * bw + x) * per + s) * ss,
                                   (char *)tes_tile_row(t, B, Y) + (size_t)X * ss,
                                   ss);
                        }
                size_t n = (size_t)bw * rows * per * ss;
                tmsize_t w = block_w ? TIFFWriteEncodedTile(tif, idx, buf, (tmsize_t)n)
                                     : TIFFWriteEncodedStrip(tif, idx, buf, (tmsize_t)n);
                if (w < 0)
                    rc = -1;
            }
    free(buf);
    TIFFClose(tif);
    return rc;
}

/* Reads image d (0: the main one) of a file with libtiff's own API
 * (TIFFReadRGBA excluded: raw samples) into a band-sequential tile of
 * type t. Returns 0 or -1. */
static inline int tu_read_libtiff_dir(const char *path, int d, tes_tile *out,
                                      tes_sample_type t, int bands)
{
    TIFF *tif = TIFFOpen(path, "r");
    if (!tif)
        return -1;
    if (!TIFFSetDirectory(tif, (tdir_t)d)) {
        TIFFClose(tif);
        return -1;
    }
    uint32_t w, h;
    uint16_t spp = 1, planar = 1;
    TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &w);
    TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &h);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &spp);
    TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &planar);
    if (spp != bands || tes_tile_alloc(out, t, (int)w, (int)h, bands)) {
        TIFFClose(tif);
        return -1;
    }
    size_t ss = tes_sample_size(t);
    int rc = 0;
    if (TIFFIsTiled(tif)) {
        uint32_t tw, th;
        TIFFGetField(tif, TIFFTAG_TILEWIDTH, &tw);
        TIFFGetField(tif, TIFFTAG_TILELENGTH, &th);
        uint8_t *buf = malloc(TIFFTileSize(tif));
        int planes = planar == PLANARCONFIG_SEPARATE ? spp : 1;
        int per = planar == PLANARCONFIG_SEPARATE ? 1 : spp;
        for (int p = 0; p < planes && !rc; p++)
            for (uint32_t y0 = 0; y0 < h && !rc; y0 += th)
                for (uint32_t x0 = 0; x0 < w && !rc; x0 += tw) {
                    if (TIFFReadTile(tif, buf, x0, y0, 0, (uint16_t)p) < 0) {
                        rc = -1;
                        break;
                    }
                    for (uint32_t y = 0; y < th && y0 + y < h; y++)
                        for (uint32_t x = 0; x < tw && x0 + x < w; x++)
                            for (int s = 0; s < per; s++)
                                memcpy((char *)tes_tile_row(out, planes > 1 ? p : s,
                                                            (int)(y0 + y)) +
                                           (x0 + x) * ss,
                                       buf + (((size_t)y * tw + x) * per + s) * ss,
                                       ss);
                }
        free(buf);
    } else {
        rc = -1;
    }
    TIFFClose(tif);
    if (rc)
        tes_tile_free(out);
    return rc;
}

static inline int tu_read_libtiff(const char *path, tes_tile *out,
                                  tes_sample_type t, int bands)
{
    return tu_read_libtiff_dir(path, 0, out, t, bands);
}

/* The alpha of pixel (x, y) of tu_write_alpha's images, 0..1: 0 in the
 * first 100 columns, some zeros elsewhere, steps between. */
static inline double tu_alpha_at(int x, int y)
{
    return x < 100 || (x + y) % 11 == 0 ? 0 : (x * 13 + y * 7) % 256 / 255.0;
}

/* An image whose last band is alpha (tu_alpha_at): bands samples of bits
 * (8 or 16) bits, photometric photo, the last extra sample of kind kind
 * (EXTRASAMPLE_ASSOCALPHA: the colours premultiplied by it;
 * EXTRASAMPLE_UNSPECIFIED: no alpha at all). name: a file name. */
typedef struct tu_alpha_image {
    const char *name;
    int bands;
    uint16_t bits, photo, kind;
} tu_alpha_image;

/* Writes image a, w x h in tiles of tile x tile, with libtiff. Returns 0
 * or -1. */
static inline int tu_write_alpha(const char *path, int w, int h,
                                 const tu_alpha_image *a, int tile)
{
    int bands = a->bands;
    uint16_t bits = a->bits, photo = a->photo, kind = a->kind;
    TIFF *t = TIFFOpen(path, "w");
    if (!t)
        return -1;
    uint16_t extra[8] = { 0 };
    int n_extra = bands - (photo == PHOTOMETRIC_RGB ? 3 : 1);
    extra[n_extra - 1] = kind;
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, (uint32_t)w);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, (uint32_t)h);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, (uint16_t)bands);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, bits);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, photo);
    TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    TIFFSetField(t, TIFFTAG_EXTRASAMPLES, (uint16_t)n_extra, extra);
    TIFFSetField(t, TIFFTAG_TILEWIDTH, (uint32_t)tile);
    TIFFSetField(t, TIFFTAG_TILELENGTH, (uint32_t)tile);
    size_t ss = bits / 8, size = (size_t)tile * tile * bands * ss;
    uint8_t *buf = malloc(size);
    double top = bits == 8 ? 255 : 65535;
    uint32_t idx = 0;
    int rc = buf ? 0 : -1;
    for (int ty = 0; ty < h && !rc; ty += tile)
        for (int tx = 0; tx < w && !rc; tx += tile, idx++) {
            for (int y = 0; y < tile; y++)
                for (int x = 0; x < tile; x++) {
                    int X = tx + x, Y = ty + y;
                    double al = tu_alpha_at(X, Y);
                    for (int b = 0; b < bands; b++) {
                        double v = (X + Y * 3 + b * 40) % 256 / 255.0;
                        if (kind == EXTRASAMPLE_ASSOCALPHA)
                            v *= al;
                        v = (b == bands - 1 ? al : v) * top + 0.5;
                        size_t at = (((size_t)y * tile + x) * bands + b) * ss;
                        if (bits == 8) {
                            buf[at] = (uint8_t)v;
                        } else {
                            uint16_t u = (uint16_t)v;
                            memcpy(buf + at, &u, 2);
                        }
                    }
                }
            if (TIFFWriteEncodedTile(t, idx, buf, (tmsize_t)size) < 0)
                rc = -1;
        }
    free(buf);
    TIFFClose(t);
    return rc;
}

static inline bool tu_tiles_equal(const tes_tile *a, const tes_tile *b)
{
    if (a->type != b->type || a->width != b->width ||
        a->height != b->height || a->bands != b->bands)
        return false;
    size_t row = (size_t)a->width * tes_sample_size(a->type);
    for (int k = 0; k < a->bands; k++)
        for (int y = 0; y < a->height; y++)
            if (memcmp(tes_tile_row(a, k, y), tes_tile_row(b, k, y), row))
                return false;
    return true;
}

/* Whole file contents (malloc'd) and size; NULL on failure. */
static inline uint8_t *tu_slurp(const char *path, size_t *n)
{
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(sz > 0 ? (size_t)sz : 1);
    *n = fread(b, 1, (size_t)sz, f);
    fclose(f);
    return b;
}

/* Reads a text file into buf (at most cap - 1 bytes, NUL-terminated);
 * an unreadable file reads as "". For a command's captured output. */
static inline void tu_read_text(const char *path, char *buf, size_t cap)
{
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fclose(f);
}

static inline bool tu_files_equal(const char *a, const char *b)
{
    size_t na = 0, nb = 0;
    uint8_t *x = tu_slurp(a, &na), *y = tu_slurp(b, &nb);
    bool eq = x && y && na == nb && memcmp(x, y, na) == 0;
    free(x);
    free(y);
    return eq;
}

/* A kernel's tile function that copies window 0 to the output, converted
 * to the output's type (saturating). */
static inline int tu_copy_tile(tes_tile_job *job)
{
    const tes_tile *in = &job->in[0];
    for (int b = 0; b < job->out->bands; b++)
        for (int y = 0; y < job->out->height; y++)
            tes_convert_samples(tes_tile_row(job->out, b, y), job->out->type,
                                tes_tile_row(in, b, y), in->type,
                                (size_t)job->out->width);
    return 0;
}

/* Runs a shell command with its output discarded (unless it redirects
 * it itself); its exit status. */
static inline int tu_sh(const char *fmt, ...) TES_PRINTF(1, 2);
static inline int tu_sh(const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    cmd[0] = '{';
    cmd[1] = ' ';
    vsnprintf(cmd + 2, sizeof cmd - 32, fmt, ap);
    va_end(ap);
    strcat(cmd, "\n} >/dev/null 2>&1");
    int st = system(cmd);
    return st == -1 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* A pool of `threads` workers, or NULL. */
static inline tes_pool *tu_pool(int threads)
{
    tes_pool_options o = TES_POOL_OPTIONS_INIT;
    o.threads = threads;
    tes_pool *p;
    return tes_pool_create(&p, &o) ? NULL : p;
}

/* Whether GDAL's Python bindings are installed (Debian's python3-gdal,
 * for Debian's interpreter). The first time they are not, says so. */
static inline bool tu_have_gdal(void)
{
    static int have = -1;
    if (have < 0) {
        have = tu_sh("/usr/bin/python3 -c 'from osgeo import gdal'") == 0;
        if (!have)
            fprintf(stderr, "GDAL's Python bindings not installed: "
                            "comparisons with GDAL skipped\n");
    }
    return have;
}

/* GDAL's reading of every pixel of path: the samples of all bands,
 * band-sequential, in the type GDAL reads them as (malloc'd, *n bytes),
 * and that type's GDAL name in type_name (cap bytes). NULL when GDAL is
 * not installed or cannot read the file. */
static inline void *tu_gdal_read(const char *path, size_t *n,
                                 char *type_name, size_t cap)
{
    *n = 0;
    if (!tu_have_gdal())
        return NULL;
    char out[4200], tname[4200];
    snprintf(out, sizeof out, "%s.gdal", path);
    snprintf(tname, sizeof tname, "%s.gdaltype", path);
    if (tu_sh("/usr/bin/python3 -c 'import sys\n"
              "from osgeo import gdal\n"
              "ds = gdal.Open(sys.argv[1])\n"
              "a = ds.ReadAsArray()\n"
              "open(sys.argv[2], \"wb\").write(a.tobytes())\n"
              "open(sys.argv[3], \"w\").write(gdal.GetDataTypeName("
              "ds.GetRasterBand(1).DataType))' '%s' '%s' '%s'",
              path, out, tname))
        return NULL;
    void *b = tu_slurp(out, n);
    tu_read_text(tname, type_name, cap);
    unlink(out);
    unlink(tname);
    return b;
}

/* libtiff's default handlers print; the suites silence them. */
static inline void tu_quiet_libtiff(void)
{
    TIFFSetErrorHandler(NULL);
    TIFFSetWarningHandler(NULL);
}

/* tes_raster_run_memory with tiles of tw x th, the failure's message in
 * msg (when not NULL). */
static inline int tu_run_memory(tes_pool *pool, const tes_kernel *k,
                                const tes_tile *in, int n_in, tes_tile *out,
                                void *result, int tw, int th, char *msg,
                                size_t msg_size)
{
    tes_memory_options o = TES_MEMORY_OPTIONS_INIT;
    o.tile_width = tw;
    o.tile_height = th;
    tes_raster_error err = { 0, "" };
    int rc = tes_raster_run_memory_opts(pool, k, in, n_in, out, result, &o,
                                        &err);
    if (msg)
        snprintf(msg, msg_size, "%s", rc ? err.message : "");
    return rc;
}

#endif
