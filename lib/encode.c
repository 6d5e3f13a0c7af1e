/*
 * encode.c — turning one output tile into the bytes of its TIFF tile(s):
 * pixel interleaving (or one chunk per band for planar output), zero
 * padding of edge tiles, the horizontal and floating-point predictors
 * (byte-for-byte as libtiff applies them), and deflate (libdeflate), zstd
 * or LZW compression. Runs on the worker that computed the tile.
 */
#include <libdeflate.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "raster_internal.h"

static int reserve(uint8_t **buf, size_t *cap, size_t n)
{
    if (*cap >= n)
        return 0;
    free(*buf);
    *buf = malloc(n);
    *cap = *buf ? n : 0;
    return *buf ? 0 : -ENOMEM;
}

void tes__enc_ctx_free(tes__enc_ctx *c)
{
    if (!c)
        return;
    if (c->deflate)
        libdeflate_free_compressor(c->deflate);
    if (c->zstd)
        ZSTD_freeCCtx(c->zstd);
    free(c->raw);
    free(c->row);
    memset(c, 0, sizeof *c);
}

void tes__encoded_free(tes__encoded *e)
{
    if (!e)
        return;
    for (int i = 0; i < e->n; i++)
        free(e->data ? e->data[i] : NULL);
    free(e->data);
    free(e->size);
    memset(e, 0, sizeof *e);
}

/* Predictor 2: each sample minus the one `stride` samples before it. */
#define HDIFF(T)                                                             \
    do {                                                                     \
        T *w_ = (T *)row;                                                    \
        if (stride == 1) { /* the previous sample stays in a register */    \
            T p_ = w_[0];                                                    \
            for (size_t i_ = 1; i_ < n; i_++) {                              \
                T c_ = w_[i_];                                               \
                w_[i_] = (T)(c_ - p_);                                       \
                p_ = c_;                                                     \
            }                                                                \
        } else {                                                             \
            for (size_t i_ = n - 1; i_ >= stride && i_ < n; i_--)            \
                w_[i_] = (T)(w_[i_] - w_[i_ - stride]);                      \
        }                                                                    \
    } while (0)

static void hdiff(uint8_t *row, size_t n, size_t stride, size_t ss)
{
    switch (ss) {
    case 1: HDIFF(uint8_t); break;
    case 2: HDIFF(uint16_t); break;
    case 4: HDIFF(uint32_t); break;
    default: HDIFF(uint64_t); break;
    }
}

/* Predictor 3 (libtiff's fpDiff): the row's bytes regrouped by
 * significance, most significant first, then byte differences with a
 * stride of one pixel's sample count. Little-endian hosts. */
static void fpdiff(uint8_t *row, size_t n, size_t stride, size_t ss,
                   uint8_t *tmp)
{
    size_t cc = n * ss;
    memcpy(tmp, row, cc);
    if (ss == 4) {
        const uint32_t *w = (const uint32_t *)tmp;
        uint8_t *p0 = row, *p1 = row + n, *p2 = row + 2 * n, *p3 = row + 3 * n;
        for (size_t i = 0; i < n; i++) {
            p0[i] = (uint8_t)(w[i] >> 24);
            p1[i] = (uint8_t)(w[i] >> 16);
            p2[i] = (uint8_t)(w[i] >> 8);
            p3[i] = (uint8_t)w[i];
        }
    } else {
        for (size_t i = 0; i < n; i++)
            for (size_t b = 0; b < ss; b++)
                row[(ss - b - 1) * n + i] = tmp[ss * i + b];
    }
    if (stride == 1) { /* the previous byte stays in a register */
        uint8_t p = row[0];
        for (size_t i = 1; i < cc; i++) {
            uint8_t c = row[i];
            row[i] = (uint8_t)(c - p);
            p = c;
        }
    } else {
        for (size_t i = cc - 1; i >= stride && i < cc; i--)
            row[i] = (uint8_t)(row[i] - row[i - stride]);
    }
}

#define INTERLEAVE(T)                                                        \
    do {                                                                     \
        T *d_ = (T *)dst;                                                    \
        for (int b_ = 0; b_ < t->bands; b_++) {                              \
            const T *s_ = (const T *)tes_tile_row(t, b_, y);                 \
            for (int x_ = 0; x_ < t->width; x_++)                            \
                d_[(size_t)x_ * (size_t)t->bands + (size_t)b_] = s_[x_];     \
        }                                                                    \
    } while (0)

/* Row y of the chunk (band `band`, or all bands interleaved if < 0). */
static void fill_row(uint8_t *dst, const tes_tile *t, int band, int y,
                     size_t row_bytes, size_t ss)
{
    memset(dst, 0, row_bytes);
    if (y >= t->height)
        return;
    if (band >= 0) {
        memcpy(dst, tes_tile_row(t, band, y), (size_t)t->width * ss);
        return;
    }
    if (t->bands == 1) {
        memcpy(dst, tes_tile_row(t, 0, y), (size_t)t->width * ss);
        return;
    }
    switch (ss) {
    case 1: INTERLEAVE(uint8_t); break;
    case 2: INTERLEAVE(uint16_t); break;
    case 4: INTERLEAVE(uint32_t); break;
    default: INTERLEAVE(uint64_t); break;
    }
}

static int compress_chunk(const tes__enc_params *p, tes__enc_ctx *c,
                          const uint8_t *raw, size_t n, uint8_t **out,
                          size_t *out_n)
{
    switch (p->compress) {
    case TES_COMPRESS_DEFLATE: {
        int level = p->level ? p->level : 6;
        if (c->deflate && c->deflate_level != level) {
            libdeflate_free_compressor(c->deflate);
            c->deflate = NULL;
        }
        if (!c->deflate) {
            c->deflate = libdeflate_alloc_compressor(level);
            if (!c->deflate)
                return -ENOMEM;
            c->deflate_level = level;
        }
        size_t cap = libdeflate_zlib_compress_bound(c->deflate, n);
        *out = malloc(cap);
        if (!*out)
            return -ENOMEM;
        *out_n = libdeflate_zlib_compress(c->deflate, raw, n, *out, cap);
        return *out_n ? 0 : -EIO;
    }
    case TES_COMPRESS_ZSTD: {
        if (!c->zstd && !(c->zstd = ZSTD_createCCtx()))
            return -ENOMEM;
        size_t cap = ZSTD_compressBound(n);
        *out = malloc(cap);
        if (!*out)
            return -ENOMEM;
        size_t r = ZSTD_compressCCtx(c->zstd, *out, cap, raw, n,
                                     p->level ? p->level : 9);
        if (ZSTD_isError(r))
            return -EIO;
        *out_n = r;
        return 0;
    }
    case TES_COMPRESS_LZW:
        return tes__lzw_encode(raw, n, out, out_n);
    default:
        *out = malloc(n ? n : 1);
        if (!*out)
            return -ENOMEM;
        memcpy(*out, raw, n);
        *out_n = n;
        return 0;
    }
}

int tes__encode_tile(const tes__enc_params *p, const tes_tile *t,
                     tes__encoded *e, tes__enc_ctx *c)
{
    size_t ss = tes_sample_size(p->type);
    int n = p->planar ? p->bands : 1;
    size_t spp = p->planar ? 1 : (size_t)p->bands;
    size_t row_samples = (size_t)p->tile_width * spp;
    size_t row_bytes = row_samples * ss;
    size_t bytes = row_bytes * (size_t)p->tile_height;
    memset(e, 0, sizeof *e);
    if (t->type != p->type || t->bands != p->bands ||
        t->width > p->tile_width || t->height > p->tile_height)
        return -EINVAL;
    if (reserve(&c->raw, &c->raw_cap, bytes) ||
        reserve(&c->row, &c->row_cap, row_bytes))
        return -ENOMEM;
    e->data = calloc((size_t)n, sizeof *e->data);
    e->size = calloc((size_t)n, sizeof *e->size);
    if (!e->data || !e->size) {
        tes__encoded_free(e);
        return -ENOMEM;
    }
    e->n = n;
    for (int k = 0; k < n; k++) {
        for (int y = 0; y < p->tile_height; y++) {
            uint8_t *row = c->raw + (size_t)y * row_bytes;
            fill_row(row, t, p->planar ? k : -1, y, row_bytes, ss);
            if (p->predictor == 2)
                hdiff(row, row_samples, spp, ss);
            else if (p->predictor == 3)
                fpdiff(row, row_samples, spp, ss, c->row);
        }
        int rc = compress_chunk(p, c, c->raw, bytes, &e->data[k],
                                &e->size[k]);
        if (rc) {
            tes__encoded_free(e);
            return rc;
        }
    }
    return 0;
}
