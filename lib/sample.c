/*
 * sample.c — sample types, their names and sizes, saturating conversion
 * between them, tile buffer allocation and slow per-pixel access, and the
 * names of this library's codes, compressions and resamplings.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "tessera_raster.h"

TES_API size_t tes_sample_size(tes_sample_type t)
{
    switch (t) {
    case TES_U8: case TES_I8: return 1;
    case TES_U16: case TES_I16: return 2;
    case TES_U32: case TES_I32: case TES_F32: return 4;
    case TES_F64: return 8;
    default: return 0;
    }
}

static const char *const type_names[] = {
    "none", "uint8", "int8", "uint16", "int16",
    "uint32", "int32", "float32", "float64",
};

TES_API const char *tes_sample_type_name(tes_sample_type t)
{
    if ((int)t < 0 || (int)t > (int)TES_F64)
        return "none";
    return type_names[t];
}

TES_API int tes_sample_type_parse(const char *name, tes_sample_type *t)
{
    static const struct { const char *n; tes_sample_type t; } alias[] = {
        { "byte", TES_U8 }, { "u8", TES_U8 }, { "i8", TES_I8 },
        { "u16", TES_U16 }, { "i16", TES_I16 }, { "u32", TES_U32 },
        { "i32", TES_I32 }, { "f32", TES_F32 }, { "f64", TES_F64 },
        { "float", TES_F32 }, { "double", TES_F64 },
    };
    if (!name || !t)
        return -EINVAL;
    for (int i = 1; i <= (int)TES_F64; i++)
        if (strcasecmp(name, type_names[i]) == 0) {
            *t = (tes_sample_type)i;
            return 0;
        }
    for (size_t i = 0; i < sizeof alias / sizeof alias[0]; i++)
        if (strcasecmp(name, alias[i].n) == 0) {
            *t = alias[i].t;
            return 0;
        }
    return -EINVAL;
}

TES_API bool tes_sample_type_is_float(tes_sample_type t)
{
    return t == TES_F32 || t == TES_F64;
}

TES_API bool tes_sample_type_is_signed(tes_sample_type t)
{
    return t == TES_I8 || t == TES_I16 || t == TES_I32 || t == TES_F32 ||
           t == TES_F64;
}

/* ---- conversion --------------------------------------------------------
 * Each destination type has two converters: from an integer (held in
 * int64_t, exact for every integer source) and from a double. Integer
 * destinations saturate; doubles round half away from zero. */

#define SAT_INT(T, NAME, LO, HI)                                             \
    static inline T cvi_##NAME(int64_t v)                                    \
    {                                                                        \
        return v < (LO) ? (T)(LO) : v > (HI) ? (T)(HI) : (T)v;               \
    }                                                                        \
    static inline T cvf_##NAME(double v)                                     \
    {                                                                        \
        if (v != v)                                                          \
            return 0;                                                        \
        if (v <= (double)(LO))                                               \
            return (T)(LO);                                                  \
        if (v >= (double)(HI))                                               \
            return (T)(HI);                                                  \
        return (T)(v < 0 ? v - 0.5 : v + 0.5);                               \
    }
SAT_INT(uint8_t, u8, 0, UINT8_MAX)
SAT_INT(int8_t, i8, INT8_MIN, INT8_MAX)
SAT_INT(uint16_t, u16, 0, UINT16_MAX)
SAT_INT(int16_t, i16, INT16_MIN, INT16_MAX)
SAT_INT(uint32_t, u32, 0, (int64_t)UINT32_MAX)
SAT_INT(int32_t, i32, INT32_MIN, INT32_MAX)
static inline float cvi_f32(int64_t v) { return (float)v; }
static inline float cvf_f32(double v) { return (float)v; }
static inline double cvi_f64(int64_t v) { return (double)v; }
static inline double cvf_f64(double v) { return v; }

#define LOOP(DT, ST, FN)                                                     \
    do {                                                                     \
        DT *d_ = (DT *)dst;                                                  \
        const ST *s_ = (const ST *)src;                                      \
        for (size_t i_ = 0; i_ < n; i_++)                                    \
            d_[i_] = FN(s_[i_]);                                             \
    } while (0)

#define TO_ANY(ST, K)                                                        \
    switch (dt) {                                                            \
    case TES_U8: LOOP(uint8_t, ST, K##_u8); break;                           \
    case TES_I8: LOOP(int8_t, ST, K##_i8); break;                            \
    case TES_U16: LOOP(uint16_t, ST, K##_u16); break;                        \
    case TES_I16: LOOP(int16_t, ST, K##_i16); break;                         \
    case TES_U32: LOOP(uint32_t, ST, K##_u32); break;                        \
    case TES_I32: LOOP(int32_t, ST, K##_i32); break;                         \
    case TES_F32: LOOP(float, ST, K##_f32); break;                           \
    case TES_F64: LOOP(double, ST, K##_f64); break;                          \
    default: break;                                                          \
    }

TES_API void tes_convert_samples(void *dst, tes_sample_type dt,
                                 const void *src, tes_sample_type st,
                                 size_t n)
{
    if (dt == st) {
        if (dst != src)
            memcpy(dst, src, n * tes_sample_size(st));
        return;
    }
#if defined(__SSE2__)
    /* float32 <-> float64, the conversions of every float kernel, two
     * samples per instruction (the same instructions a scalar cast uses,
     * so the same results, NaN payloads and rounding included). */
    if (st == TES_F32 && dt == TES_F64) {
        const float *s = src;
        double *d = dst;
        size_t i = 0;
        for (; i + 4 <= n; i += 4) {
            __m128 v = _mm_loadu_ps(s + i);
            _mm_storeu_pd(d + i, _mm_cvtps_pd(v));
            _mm_storeu_pd(d + i + 2, _mm_cvtps_pd(_mm_movehl_ps(v, v)));
        }
        for (; i < n; i++)
            d[i] = s[i];
        return;
    }
    if (st == TES_F64 && dt == TES_F32) {
        const double *s = src;
        float *d = dst;
        size_t i = 0;
        for (; i + 4 <= n; i += 4) {
            __m128 lo = _mm_cvtpd_ps(_mm_loadu_pd(s + i));
            __m128 hi = _mm_cvtpd_ps(_mm_loadu_pd(s + i + 2));
            _mm_storeu_ps(d + i, _mm_movelh_ps(lo, hi));
        }
        for (; i < n; i++)
            d[i] = (float)s[i];
        return;
    }
#endif
    switch (st) {
    case TES_U8: TO_ANY(uint8_t, cvi) break;
    case TES_I8: TO_ANY(int8_t, cvi) break;
    case TES_U16: TO_ANY(uint16_t, cvi) break;
    case TES_I16: TO_ANY(int16_t, cvi) break;
    case TES_U32: TO_ANY(uint32_t, cvi) break;
    case TES_I32: TO_ANY(int32_t, cvi) break;
    case TES_F32: TO_ANY(float, cvf) break;
    case TES_F64: TO_ANY(double, cvf) break;
    default: break;
    }
}

/* ---- tiles ------------------------------------------------------------- */

TES_API double tes_tile_get(const tes_tile *t, int b, int x, int y)
{
    const void *p = (const char *)tes_tile_row(t, b, y) +
                    (size_t)x * tes_sample_size(t->type);
    switch (t->type) {
    case TES_U8: return *(const uint8_t *)p;
    case TES_I8: return *(const int8_t *)p;
    case TES_U16: return *(const uint16_t *)p;
    case TES_I16: return *(const int16_t *)p;
    case TES_U32: return *(const uint32_t *)p;
    case TES_I32: return *(const int32_t *)p;
    case TES_F32: return *(const float *)p;
    case TES_F64: return *(const double *)p;
    default: return NAN;
    }
}

TES_API void tes_tile_set(tes_tile *t, int b, int x, int y, double v)
{
    void *p = (char *)tes_tile_row(t, b, y) +
              (size_t)x * tes_sample_size(t->type);
    switch (t->type) {
    case TES_U8: *(uint8_t *)p = (uint8_t)v; break;
    case TES_I8: *(int8_t *)p = (int8_t)v; break;
    case TES_U16: *(uint16_t *)p = (uint16_t)v; break;
    case TES_I16: *(int16_t *)p = (int16_t)v; break;
    case TES_U32: *(uint32_t *)p = (uint32_t)v; break;
    case TES_I32: *(int32_t *)p = (int32_t)v; break;
    case TES_F32: *(float *)p = (float)v; break;
    case TES_F64: *(double *)p = v; break;
    default: break;
    }
}

TES_API int tes_tile_alloc(tes_tile *t, tes_sample_type type, int width,
                           int height, int bands)
{
    size_t sz = tes_sample_size(type);
    if (!t || !sz || width <= 0 || height <= 0 || bands <= 0)
        return -EINVAL;
    size_t n = (size_t)width * (size_t)height;
    if (n / (size_t)width != (size_t)height || n > SIZE_MAX / sz / bands)
        return -ENOMEM;
    memset(t, 0, sizeof *t);
    t->data = calloc(n * (size_t)bands, sz);
    if (!t->data)
        return -ENOMEM;
    t->type = type;
    t->width = width;
    t->height = height;
    t->bands = bands;
    t->stride = (size_t)width;
    t->band_stride = n;
    t->raster_width = width;
    t->raster_height = height;
    return 0;
}

TES_API void tes_tile_free(tes_tile *t)
{
    if (!t)
        return;
    free(t->data);
    t->data = NULL;
}

/* ---- names ------------------------------------------------------------- */

TES_API const char *tes_raster_strerror(int code)
{
    switch (code) {
    case TES_EUNSUPPORTED: return "unsupported raster";
    case TES_ECORRUPT: return "corrupt or truncated raster";
    case TES_EKERNEL: return "kernel failed";
    default: return tes_strerror(code);
    }
}

static const char *const compress_names[] = { "none", "deflate", "lzw",
                                              "zstd" };

TES_API const char *tes_compress_name(tes_compress c)
{
    if ((int)c < 0 || (int)c > (int)TES_COMPRESS_ZSTD)
        return "none";
    return compress_names[c];
}

TES_API int tes_compress_parse(const char *name, tes_compress *c)
{
    if (!name || !c)
        return -EINVAL;
    for (int i = 0; i <= (int)TES_COMPRESS_ZSTD; i++)
        if (strcasecmp(name, compress_names[i]) == 0) {
            *c = (tes_compress)i;
            return 0;
        }
    return -EINVAL;
}

static const char *const resampling_names[] = { "auto", "nearest", "average",
                                                "bilinear", "cubic", "mode" };

TES_API const char *tes_resampling_name(tes_resampling r)
{
    if ((int)r < 0 || (int)r > (int)TES_RESAMPLE_MODE)
        return "auto";
    return resampling_names[r];
}

TES_API int tes_resampling_parse(const char *name, tes_resampling *r)
{
    if (!name || !r)
        return -EINVAL;
    for (int i = 0; i <= (int)TES_RESAMPLE_MODE; i++)
        if (strcasecmp(name, resampling_names[i]) == 0) {
            *r = (tes_resampling)i;
            return 0;
        }
    if (strcasecmp(name, "near") == 0) { /* gdaladdo's spelling */
        *r = TES_RESAMPLE_NEAREST;
        return 0;
    }
    return -EINVAL;
}
