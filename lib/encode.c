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
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "raster_internal.h"

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
    free(e->cap);
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

/* Predictor 3 (libtiff's fpDiff), scalar: the row's bytes regrouped by
 * significance, most significant first, then byte differences with a
 * stride of one pixel's sample count. Little-endian hosts. */
static void fpdiff_scalar(uint8_t *row, size_t n, size_t stride, size_t ss,
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

#if defined(__SSE2__)
/* Predictor 3 for one-sample float32 rows, 16 samples at a time: the
 * samples' bytes split into the four significance planes in tmp (two
 * rounds of masking and saturating packs), then each byte of tmp minus
 * the one before it into row. Same bytes as fpdiff_scalar. */
static void fpdiff_f32(uint8_t *row, size_t n, uint8_t *tmp)
{
    uint8_t *p0 = tmp, *p1 = tmp + n, *p2 = tmp + 2 * n, *p3 = tmp + 3 * n;
    const __m128i lo8 = _mm_set1_epi16(0x00FF);
    size_t k = 0;
    for (; k + 16 <= n; k += 16) {
        const uint8_t *s = row + 4 * k;
        __m128i v0 = _mm_loadu_si128((const __m128i *)s);
        __m128i v1 = _mm_loadu_si128((const __m128i *)(s + 16));
        __m128i v2 = _mm_loadu_si128((const __m128i *)(s + 32));
        __m128i v3 = _mm_loadu_si128((const __m128i *)(s + 48));
        /* bytes 0 and 2 of each sample, then bytes 1 and 3 */
        __m128i e01 = _mm_packus_epi16(_mm_and_si128(v0, lo8),
                                       _mm_and_si128(v1, lo8));
        __m128i e23 = _mm_packus_epi16(_mm_and_si128(v2, lo8),
                                       _mm_and_si128(v3, lo8));
        __m128i o01 = _mm_packus_epi16(_mm_srli_epi16(v0, 8),
                                       _mm_srli_epi16(v1, 8));
        __m128i o23 = _mm_packus_epi16(_mm_srli_epi16(v2, 8),
                                       _mm_srli_epi16(v3, 8));
        __m128i b0 = _mm_packus_epi16(_mm_and_si128(e01, lo8),
                                      _mm_and_si128(e23, lo8));
        __m128i b2 = _mm_packus_epi16(_mm_srli_epi16(e01, 8),
                                      _mm_srli_epi16(e23, 8));
        __m128i b1 = _mm_packus_epi16(_mm_and_si128(o01, lo8),
                                      _mm_and_si128(o23, lo8));
        __m128i b3 = _mm_packus_epi16(_mm_srli_epi16(o01, 8),
                                      _mm_srli_epi16(o23, 8));
        _mm_storeu_si128((__m128i *)(p0 + k), b3);
        _mm_storeu_si128((__m128i *)(p1 + k), b2);
        _mm_storeu_si128((__m128i *)(p2 + k), b1);
        _mm_storeu_si128((__m128i *)(p3 + k), b0);
    }
    const uint32_t *w = (const uint32_t *)row;
    for (; k < n; k++) {
        uint32_t v;
        memcpy(&v, w + k, 4);
        p0[k] = (uint8_t)(v >> 24);
        p1[k] = (uint8_t)(v >> 16);
        p2[k] = (uint8_t)(v >> 8);
        p3[k] = (uint8_t)v;
    }
    size_t cc = 4 * n, i = 1;
    row[0] = tmp[0];
    for (; i + 16 <= cc; i += 16) {
        __m128i c = _mm_loadu_si128((const __m128i *)(tmp + i));
        __m128i p = _mm_loadu_si128((const __m128i *)(tmp + i - 1));
        _mm_storeu_si128((__m128i *)(row + i), _mm_sub_epi8(c, p));
    }
    for (; i < cc; i++)
        row[i] = (uint8_t)(tmp[i] - tmp[i - 1]);
}
#endif

static void fpdiff(uint8_t *row, size_t n, size_t stride, size_t ss,
                   uint8_t *tmp)
{
#if defined(__SSE2__)
    if (stride == 1 && ss == 4) {
        fpdiff_f32(row, n, tmp);
        return;
    }
#endif
    fpdiff_scalar(row, n, stride, ss, tmp);
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
    if (y >= t->height) {
        memset(dst, 0, row_bytes);
        return;
    }
    if (band >= 0 || t->bands == 1) {
        size_t n = (size_t)t->width * ss;
        memcpy(dst, tes_tile_row(t, band >= 0 ? band : 0, y), n);
        memset(dst + n, 0, row_bytes - n);
        return;
    }
    memset(dst, 0, row_bytes);
    switch (ss) {
    case 1: INTERLEAVE(uint8_t); break;
    case 2: INTERLEAVE(uint16_t); break;
    case 4: INTERLEAVE(uint32_t); break;
    default: INTERLEAVE(uint64_t); break;
    }
}

/* Compresses n bytes of raw into *out (capacity *cap, grown as needed). */
static int compress_chunk(const tes__enc_params *p, tes__enc_ctx *c,
                          const uint8_t *raw, size_t n, uint8_t **out,
                          size_t *cap, size_t *out_n)
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
        *out = tes__reserve(*out, cap,
                            libdeflate_zlib_compress_bound(c->deflate, n));
        if (!*out)
            return -ENOMEM;
        *out_n = libdeflate_zlib_compress(c->deflate, raw, n, *out, *cap);
        return *out_n ? 0 : -EIO;
    }
    case TES_COMPRESS_ZSTD: {
        if (!c->zstd && !(c->zstd = ZSTD_createCCtx()))
            return -ENOMEM;
        if (!(*out = tes__reserve(*out, cap, ZSTD_compressBound(n))))
            return -ENOMEM;
        size_t r = ZSTD_compressCCtx(c->zstd, *out, *cap, raw, n,
                                     p->level ? p->level : 9);
        if (ZSTD_isError(r))
            return -EIO;
        *out_n = r;
        return 0;
    }
    case TES_COMPRESS_LZW: {
        uint8_t *lzw;
        int rc = tes__lzw_encode(raw, n, &lzw, out_n);
        if (rc)
            return rc;
        free(*out);
        *out = lzw;
        *cap = *out_n;
        return 0;
    }
    default:
        return -EINVAL;
    }
}

/* Gives e n chunks (their buffers kept when it has n already). */
static int chunks(tes__encoded *e, int n)
{
    if (e->n == n)
        return 0;
    tes__encoded_free(e);
    e->data = calloc((size_t)n, sizeof *e->data);
    e->size = calloc((size_t)n, sizeof *e->size);
    e->cap = calloc((size_t)n, sizeof *e->cap);
    if (!e->data || !e->size || !e->cap) {
        tes__encoded_free(e);
        return -ENOMEM;
    }
    e->n = n;
    return 0;
}

void *tes__encode_in_place(const tes__enc_params *p, int width, int height,
                           tes__encoded *e)
{
    if (p->compress != TES_COMPRESS_NONE || p->bands != 1 ||
        width != p->tile_width || height != p->tile_height || chunks(e, 1))
        return NULL;
    size_t bytes = (size_t)width * (size_t)height * tes_sample_size(p->type);
    return e->data[0] = tes__reserve(e->data[0], &e->cap[0], bytes);
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
    if (t->type != p->type || t->bands != p->bands ||
        t->width > p->tile_width || t->height > p->tile_height)
        return -EINVAL;
    if (!(c->raw = tes__reserve(c->raw, &c->raw_cap, bytes)) ||
        !(c->row = tes__reserve(c->row, &c->row_cap, row_bytes))) {
        tes__encoded_free(e);
        return -ENOMEM;
    }
    if (chunks(e, n))
        return -ENOMEM;
    for (int k = 0; k < n; k++) {
        /* Uncompressed chunks are laid out in their own buffer, which
         * becomes the chunk: no copy after. */
        bool direct = p->compress == TES_COMPRESS_NONE;
        if (direct && t->data == e->data[k]) { /* see tes__encode_in_place */
            e->size[k] = bytes;
            continue;
        }
        if (direct &&
            !(e->data[k] = tes__reserve(e->data[k], &e->cap[k], bytes))) {
            tes__encoded_free(e);
            return -ENOMEM;
        }
        uint8_t *raw = direct ? e->data[k] : c->raw;
        for (int y = 0; y < p->tile_height; y++) {
            uint8_t *row = raw + (size_t)y * row_bytes;
            fill_row(row, t, p->planar ? k : -1, y, row_bytes, ss);
            if (p->predictor == 2)
                hdiff(row, row_samples, spp, ss);
            else if (p->predictor == 3)
                fpdiff(row, row_samples, spp, ss, c->row);
        }
        if (direct) {
            e->size[k] = bytes;
            continue;
        }
        int rc = compress_chunk(p, c, c->raw, bytes, &e->data[k],
                                &e->cap[k], &e->size[k]);
        if (rc) {
            tes__encoded_free(e);
            return rc;
        }
    }
    return 0;
}
