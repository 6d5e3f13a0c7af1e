/*
 * decode.c — the fast path for decoding the common blocks: uncompressed,
 * deflate (libdeflate) and zstd, in the host's byte order, with the
 * horizontal or floating-point predictor undone here (libtiff's own undo
 * allocates per row and works byte by byte). Anything else, or any block
 * whose stream does not decode to exactly the expected size, goes back to
 * libtiff, so the fast path never changes what a file reads as.
 */
#include <libdeflate.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "raster_internal.h"

void tes__tiff_free_codecs(tes__tiff *h)
{
    if (h->inflater)
        libdeflate_free_decompressor(h->inflater);
    if (h->zstd_d)
        ZSTD_freeDCtx(h->zstd_d);
    free(h->raw);
    h->inflater = h->zstd_d = h->raw = NULL;
    h->raw_cap = 0;
}

/* Predictor 2: running sums of each sample along the row. */
#define HACC(T)                                                              \
    do {                                                                     \
        T *w_ = (T *)row;                                                    \
        if (stride == 1) { /* the running sum stays in a register */        \
            T a_ = w_[0];                                                    \
            for (size_t i_ = 1; i_ < n; i_++)                                \
                w_[i_] = a_ = (T)(a_ + w_[i_]);                              \
        } else {                                                             \
            for (size_t i_ = stride; i_ < n; i_++)                           \
                w_[i_] = (T)(w_[i_] + w_[i_ - stride]);                      \
        }                                                                    \
    } while (0)

static void hacc(uint8_t *row, size_t n, size_t stride, size_t ss)
{
    switch (ss) {
    case 1: HACC(uint8_t); break;
    case 2: HACC(uint16_t); break;
    case 4: HACC(uint32_t); break;
    default: HACC(uint64_t); break;
    }
}

/* Predictor 3: byte running sums with a stride of one pixel, then the
 * significance planes (most significant first) put back together into
 * little-endian samples. tmp holds one row. */
static void fpacc(uint8_t *row, size_t n, size_t stride, size_t ss,
                  uint8_t *tmp)
{
    size_t cc = n * ss;
    if (stride == 1) { /* the running sum stays in a register */
        uint8_t a = row[0];
        for (size_t i = 1; i < cc; i++)
            row[i] = a = (uint8_t)(a + row[i]);
    } else {
        for (size_t i = stride; i < cc; i++)
            row[i] = (uint8_t)(row[i] + row[i - stride]);
    }
    memcpy(tmp, row, cc);
    if (ss == 4) {
        const uint8_t *p0 = tmp, *p1 = tmp + n, *p2 = tmp + 2 * n,
                      *p3 = tmp + 3 * n;
        uint32_t *w = (uint32_t *)row;
        for (size_t i = 0; i < n; i++)
            w[i] = (uint32_t)p0[i] << 24 | (uint32_t)p1[i] << 16 |
                   (uint32_t)p2[i] << 8 | p3[i];
        return;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t b = 0; b < ss; b++)
            row[ss * i + b] = tmp[(ss - b - 1) * n + i];
}

static int reserve(void **buf, size_t *cap, size_t n)
{
    if (*cap >= n)
        return 0;
    free(*buf);
    *buf = malloc(n);
    *cap = *buf ? n : 0;
    return *buf ? 0 : -ENOMEM;
}

int tes__decode_fast(tes_raster *r, tes__tiff *h, uint32_t idx, void *dst,
                     size_t want, size_t rows, size_t spp)
{
    const tes_raster_info *in = &r->info;
    int comp = in->compression;
    if (!r->fast_ok)
        return 1;
    uint64_t n = TIFFGetStrileByteCount(h->tif, idx);
    if (n == 0 || n > TES_MAX_BLOCK_BYTES * 2)
        return 1;
    void *src = dst;
    if (comp != COMPRESSION_NONE) {
        if (reserve(&h->raw, &h->raw_cap, (size_t)n))
            return -ENOMEM;
        src = h->raw;
    } else if (n < want) {
        return 1;
    }
    size_t toread = comp == COMPRESSION_NONE ? want : (size_t)n;
    tmsize_t got = in->tiled
                       ? TIFFReadRawTile(h->tif, idx, src, (tmsize_t)toread)
                       : TIFFReadRawStrip(h->tif, idx, src, (tmsize_t)toread);
    if (got < 0 || (size_t)got != toread)
        return 1;
    if (comp == COMPRESSION_ADOBE_DEFLATE || comp == COMPRESSION_DEFLATE) {
        if (!h->inflater && !(h->inflater = libdeflate_alloc_decompressor()))
            return -ENOMEM;
        size_t out_n = 0;
        if (libdeflate_zlib_decompress(h->inflater, src, (size_t)n, dst, want,
                                       &out_n) != LIBDEFLATE_SUCCESS ||
            out_n != want)
            return 1;
    } else if (comp == COMPRESSION_ZSTD) {
        if (!h->zstd_d && !(h->zstd_d = ZSTD_createDCtx()))
            return -ENOMEM;
        size_t z = ZSTD_decompressDCtx(h->zstd_d, dst, want, src, (size_t)n);
        if (ZSTD_isError(z) || z != want)
            return 1;
    }
    if (comp == COMPRESSION_NONE || in->predictor == 1)
        return 0;
    size_t ss = tes_sample_size(in->type);
    size_t row_bytes = want / rows;
    size_t row_samples = row_bytes / ss;
    uint8_t *tmp = NULL;
    if (in->predictor == 3) {
        tmp = malloc(row_bytes);
        if (!tmp)
            return -ENOMEM;
    }
    for (size_t y = 0; y < rows; y++) {
        uint8_t *row = (uint8_t *)dst + y * row_bytes;
        if (in->predictor == 2)
            hacc(row, row_samples, spp, ss);
        else
            fpacc(row, row_samples, spp, ss, tmp);
    }
    free(tmp);
    return 0;
}
