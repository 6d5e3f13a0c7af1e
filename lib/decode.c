/*
 * decode.c — decoding compressed blocks without libtiff's codecs:
 * uncompressed, deflate (libdeflate), zstd and LZW, in the host's byte
 * order, with the horizontal or floating-point predictor undone here
 * (libtiff's own undo allocates per row and works byte by byte; float32
 * rows go 16 or, where the CPU has AVX2, 32 bytes at a time). Used by the
 * reader for input blocks (anything else, or any block whose stream does
 * not decode to exactly the expected size, goes back to libtiff, so the
 * fast path never changes what a file reads as) and by stored overview
 * levels, which hold our own encoder's tiles.
 */
#include <libdeflate.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#include "raster_internal.h"

void tes__codecs_free(tes__codecs *cx)
{
    if (cx->inflater)
        libdeflate_free_decompressor(cx->inflater);
    if (cx->zstd_d)
        ZSTD_freeDCtx(cx->zstd_d);
    free(cx->row);
    memset(cx, 0, sizeof *cx);
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

/* Predictor 3, scalar: byte running sums with a stride of one pixel, then
 * the significance planes (most significant first) put back together into
 * little-endian samples. tmp holds one row. */
static void fpacc_scalar(uint8_t *row, size_t n, size_t stride, size_t ss,
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

#if defined(__SSE2__)
/* Predictor 3 for one-sample float32 rows, the layout of nearly every
 * float raster, 16 bytes at a time: the running sum of the row's bytes
 * into tmp (a prefix sum inside each vector in four shifted adds, plus the
 * carry of the vectors before), then the four significance planes of tmp
 * interleaved back into little-endian samples in row. Same bytes as
 * fpacc_scalar. */
static void fpacc_f32(uint8_t *row, size_t n, uint8_t *tmp)
{
    size_t cc = 4 * n, i = 0;
    __m128i carry = _mm_setzero_si128();
    for (; i + 16 <= cc; i += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(row + i));
        x = _mm_add_epi8(x, _mm_slli_si128(x, 1));
        x = _mm_add_epi8(x, _mm_slli_si128(x, 2));
        x = _mm_add_epi8(x, _mm_slli_si128(x, 4));
        x = _mm_add_epi8(x, _mm_slli_si128(x, 8));
        x = _mm_add_epi8(x, carry);
        _mm_storeu_si128((__m128i *)(tmp + i), x);
        /* byte 15 of x into all 16 lanes */
        __m128i h = _mm_unpackhi_epi8(x, x);
        h = _mm_shufflehi_epi16(h, 0xFF);
        carry = _mm_shuffle_epi32(h, 0xFF);
    }
    uint8_t a = (uint8_t)_mm_cvtsi128_si32(carry);
    for (; i < cc; i++)
        tmp[i] = a = (uint8_t)(a + row[i]);
    const uint8_t *p0 = tmp, *p1 = tmp + n, *p2 = tmp + 2 * n,
                  *p3 = tmp + 3 * n;
    size_t k = 0;
    for (; k + 16 <= n; k += 16) {
        __m128i a0 = _mm_loadu_si128((const __m128i *)(p0 + k));
        __m128i a1 = _mm_loadu_si128((const __m128i *)(p1 + k));
        __m128i a2 = _mm_loadu_si128((const __m128i *)(p2 + k));
        __m128i a3 = _mm_loadu_si128((const __m128i *)(p3 + k));
        __m128i lo = _mm_unpacklo_epi8(a3, a2), hi = _mm_unpacklo_epi8(a1, a0);
        uint8_t *d = row + 4 * k;
        _mm_storeu_si128((__m128i *)d, _mm_unpacklo_epi16(lo, hi));
        _mm_storeu_si128((__m128i *)(d + 16), _mm_unpackhi_epi16(lo, hi));
        lo = _mm_unpackhi_epi8(a3, a2);
        hi = _mm_unpackhi_epi8(a1, a0);
        _mm_storeu_si128((__m128i *)(d + 32), _mm_unpacklo_epi16(lo, hi));
        _mm_storeu_si128((__m128i *)(d + 48), _mm_unpackhi_epi16(lo, hi));
    }
    uint32_t *w = (uint32_t *)row;
    for (; k < n; k++)
        w[k] = (uint32_t)p0[k] << 24 | (uint32_t)p1[k] << 16 |
               (uint32_t)p2[k] << 8 | p3[k];
}
#endif

#if defined(__x86_64__) && defined(__GNUC__)
#define TES_HAVE_AVX2_PATH 1
/* fpacc_f32 32 bytes at a time where the CPU has AVX2 (chosen at run
 * time). The shifts and unpacks work within 128-bit lanes: the running
 * sum carries lane 0's last byte into lane 1, and the interleaved pixels
 * come out as [0-3|16-19] [4-7|20-23] ..., put in order by lane permutes.
 * Same bytes as fpacc_scalar. */
__attribute__((target("avx2"))) static void
fpacc_f32_avx2(uint8_t *row, size_t n, uint8_t *tmp)
{
    size_t cc = 4 * n, i = 0;
    const __m256i last = _mm256_set1_epi8(15);
    __m256i carry = _mm256_setzero_si256();
    for (; i + 32 <= cc; i += 32) {
        __m256i x = _mm256_loadu_si256((const __m256i *)(row + i));
        x = _mm256_add_epi8(x, _mm256_slli_si256(x, 1));
        x = _mm256_add_epi8(x, _mm256_slli_si256(x, 2));
        x = _mm256_add_epi8(x, _mm256_slli_si256(x, 4));
        x = _mm256_add_epi8(x, _mm256_slli_si256(x, 8));
        /* lane 0's total into every byte of lane 1 */
        __m256i t = _mm256_shuffle_epi8(x, last);
        x = _mm256_add_epi8(x, _mm256_permute2x128_si256(t, t, 0x08));
        x = _mm256_add_epi8(x, carry);
        _mm256_storeu_si256((__m256i *)(tmp + i), x);
        /* byte 31 of x into all 32 lanes */
        carry = _mm256_permute4x64_epi64(_mm256_shuffle_epi8(x, last), 0xFF);
    }
    uint8_t a = (uint8_t)_mm256_extract_epi8(carry, 0);
    for (; i < cc; i++)
        tmp[i] = a = (uint8_t)(a + row[i]);
    const uint8_t *p0 = tmp, *p1 = tmp + n, *p2 = tmp + 2 * n,
                  *p3 = tmp + 3 * n;
    size_t k = 0;
    for (; k + 32 <= n; k += 32) {
        __m256i a0 = _mm256_loadu_si256((const __m256i *)(p0 + k));
        __m256i a1 = _mm256_loadu_si256((const __m256i *)(p1 + k));
        __m256i a2 = _mm256_loadu_si256((const __m256i *)(p2 + k));
        __m256i a3 = _mm256_loadu_si256((const __m256i *)(p3 + k));
        __m256i lo = _mm256_unpacklo_epi8(a3, a2);
        __m256i hi = _mm256_unpacklo_epi8(a1, a0);
        __m256i A = _mm256_unpacklo_epi16(lo, hi); /* px 0-3 | 16-19 */
        __m256i B = _mm256_unpackhi_epi16(lo, hi); /* px 4-7 | 20-23 */
        lo = _mm256_unpackhi_epi8(a3, a2);
        hi = _mm256_unpackhi_epi8(a1, a0);
        __m256i C = _mm256_unpacklo_epi16(lo, hi); /* px 8-11 | 24-27 */
        __m256i D = _mm256_unpackhi_epi16(lo, hi); /* px 12-15 | 28-31 */
        uint8_t *d = row + 4 * k;
        _mm256_storeu_si256((__m256i *)d,
                            _mm256_permute2x128_si256(A, B, 0x20));
        _mm256_storeu_si256((__m256i *)(d + 32),
                            _mm256_permute2x128_si256(C, D, 0x20));
        _mm256_storeu_si256((__m256i *)(d + 64),
                            _mm256_permute2x128_si256(A, B, 0x31));
        _mm256_storeu_si256((__m256i *)(d + 96),
                            _mm256_permute2x128_si256(C, D, 0x31));
    }
    uint32_t *w = (uint32_t *)row;
    for (; k < n; k++)
        w[k] = (uint32_t)p0[k] << 24 | (uint32_t)p1[k] << 16 |
               (uint32_t)p2[k] << 8 | p3[k];
}
#endif

static void fpacc(uint8_t *row, size_t n, size_t stride, size_t ss,
                  uint8_t *tmp, bool avx2)
{
#if defined(TES_HAVE_AVX2_PATH)
    if (stride == 1 && ss == 4 && avx2) {
        fpacc_f32_avx2(row, n, tmp);
        return;
    }
#else
    (void)avx2;
#endif
#if defined(__SSE2__)
    if (stride == 1 && ss == 4) {
        fpacc_f32(row, n, tmp);
        return;
    }
#endif
    fpacc_scalar(row, n, stride, ss, tmp);
}

/* The first want bytes of a zlib stream that holds more (zlib's inflate
 * stops when dst is full, as libtiff's own decoder does). Returns 0 when
 * the stream gave all want bytes. */
static int inflate_first(const void *src, size_t n, void *dst, size_t want)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (n > UINT32_MAX || want > UINT32_MAX || inflateInit(&z) != Z_OK)
        return -1;
    z.next_in = (Bytef *)src;
    z.avail_in = (uInt)n;
    z.next_out = dst;
    z.avail_out = (uInt)want;
    int rc = inflate(&z, Z_FINISH);
    bool full = z.avail_out == 0;
    inflateEnd(&z);
    return full && (rc == Z_STREAM_END || rc == Z_OK || rc == Z_BUF_ERROR)
               ? 0
               : -1;
}

int tes__decode_chunk(tes__codecs *cx, int comp, int predictor,
                      const void *src, size_t n, void *dst, size_t want,
                      size_t rows, size_t spp, size_t ss)
{
    switch (comp) {
    case COMPRESSION_NONE:
        if (n < want)
            return 1;
        memcpy(dst, src, want);
        return 0; /* no predictor without compression */
    case COMPRESSION_ADOBE_DEFLATE:
    case COMPRESSION_DEFLATE: {
        if (!cx->inflater && !(cx->inflater = libdeflate_alloc_decompressor()))
            return -ENOMEM;
        size_t out_n = 0;
        enum libdeflate_result res = libdeflate_zlib_decompress(
            cx->inflater, src, n, dst, want, &out_n);
        if (res == LIBDEFLATE_INSUFFICIENT_SPACE) {
            /* The stream holds more than the block. libtiff built with
             * libdeflate takes that for success but leaves the end of the
             * block unwritten (libdeflate stops before the match that
             * overflows): decoded here instead, the block's first bytes
             * as zlib gives them (found by fuzz_tiff: two reads of one
             * tile differed). */
            if (inflate_first(src, n, dst, want))
                return 1;
        } else if (res != LIBDEFLATE_SUCCESS || out_n != want) {
            return 1;
        }
        break;
    }
    case COMPRESSION_ZSTD: {
        if (!cx->zstd_d && !(cx->zstd_d = ZSTD_createDCtx()))
            return -ENOMEM;
        size_t z = ZSTD_decompressDCtx(cx->zstd_d, dst, want, src, n);
        if (ZSTD_isError(z) || z != want)
            return 1;
        break;
    }
    case COMPRESSION_LZW:
        if (tes__lzw_decode(src, n, dst, want))
            return 1;
        break;
    default:
        return 1;
    }
    if (predictor == 1 || rows == 0)
        return 0;
    size_t row_bytes = want / rows;
    size_t row_samples = row_bytes / ss;
    if (predictor == 3 &&
        !(cx->row = tes__reserve(cx->row, &cx->row_cap, row_bytes)))
        return -ENOMEM;
#if defined(TES_HAVE_AVX2_PATH)
    bool avx2 = __builtin_cpu_supports("avx2");
#else
    bool avx2 = false;
#endif
    for (size_t y = 0; y < rows; y++) {
        uint8_t *row = (uint8_t *)dst + y * row_bytes;
        if (predictor == 2)
            hacc(row, row_samples, spp, ss);
        else
            fpacc(row, row_samples, spp, ss, cx->row, avx2);
    }
    return 0;
}
