/*
 * resample.c — one overview tile from its window of the level above, with
 * the formulas of GDAL's overview code (gdaladdo, the COG driver) so that
 * the pixels agree: nearest (the source pixel at 0.5 + i * ratio),
 * average (area-weighted, fractional edge weights when the ratio is not
 * 2), bilinear and cubic (separable convolution, the kernel widened by
 * the ratio and cut and renormalised at the raster's edges), mode (the
 * first value to reach the highest count). Nodata pixels are left out
 * (GDAL's nodata mask) and a result equal to nodata is nudged off it. One
 * difference, on purpose: GDAL computes every type but uint8 and uint16
 * in float32; here 32-bit integers and float64 keep their precision.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "raster_internal.h"

int tes__resample_margin(tes_resampling m)
{
    /* source pixels beyond the scaled tile a kernel may read, for
     * ratios up to 2 (a level is at least half the one above) */
    switch (m) {
    case TES_RESAMPLE_BILINEAR: return 3;
    case TES_RESAMPLE_CUBIC: return 5;
    default: return 1;
    }
}

/* A sample of the window at raster position (x, y), as a double. */
static inline double at(const tes_tile *w, int b, int64_t x, int64_t y)
{
    const void *row = tes_tile_row(w, b, (int)(y - w->y0));
    size_t i = (size_t)(x - w->x0);
    switch (w->type) {
    case TES_U8: return ((const uint8_t *)row)[i];
    case TES_I8: return ((const int8_t *)row)[i];
    case TES_U16: return ((const uint16_t *)row)[i];
    case TES_I16: return ((const int16_t *)row)[i];
    case TES_U32: return ((const uint32_t *)row)[i];
    case TES_I32: return ((const int32_t *)row)[i];
    case TES_F32: return ((const float *)row)[i];
    default: return ((const double *)row)[i];
    }
}

static bool is_nodata(const tes__resample *p, double v)
{
    return p->has_nodata && (isnan(p->nodata) ? isnan(v) : v == p->nodata);
}

/* What leaves a source pixel out of band b: its nodata value, or (GDAL's
 * alpha mask) an alpha of 0 in the last band. The alpha band itself is
 * its own mask, and then its value alone decides, nodata or not. Every
 * band is masked when one is (the alpha band's own mask comes with nodata
 * or with the others' alpha mask): has_nodata || alpha_mask. */
typedef struct band_mask {
    bool nodata, alpha;
    bool own;              /* b is the alpha band */
} band_mask;

/* The mask of the last band (last) or of another. */
static band_mask mask_of(const tes__resample *p, bool last)
{
    band_mask m = { p->has_nodata, false, false };
    if (p->alpha_self && last)
        m = (band_mask){ false, true, true };
    else if (p->alpha_mask)
        m.alpha = true;
    return m;
}

static inline bool left_out(const tes__resample *p, band_mask m,
                            const tes_tile *w, int64_t x, int64_t y, double v)
{
    return (m.nodata && is_nodata(p, v)) ||
           (m.alpha && at(w, w->bands - 1, x, y) == 0);
}

/* The weight GDAL's alpha mask gives a pixel of alpha a in a convolution
 * (bilinear, cubic): its mask as a byte. The colour bands' mask is the
 * alpha scaled to 8 bits, 1..256 kept non-zero (GDALRescaledAlphaBand);
 * the alpha band is its own mask, read as bytes (saturated at 255). */
static double alpha_weight(tes_sample_type t, bool own, double a)
{
    if (t != TES_U16)
        return a;
    if (own)
        return a > 255 ? 255 : a;
    return a > 0 && a < 257 ? 1 : floor(a * 255 / 65535);
}

/* What a pixel with nothing valid under it gets: nodata, else 0. */
static double empty_value(const tes__resample *p)
{
    return p->has_nodata ? p->nodata : 0;
}

/* GDAL's stand-in for a computed value that would read as nodata. */
static double replacement(const tes__resample *p)
{
    double nd = p->nodata;
    switch (p->type) {
    case TES_U8: return nd == 255 ? 254 : nd + 1;
    case TES_I8: return nd == 127 ? 126 : nd + 1;
    case TES_U16: return nd == 65535 ? 65534 : nd + 1;
    case TES_I16: return nd == 32767 ? 32766 : nd + 1;
    case TES_U32: return nd >= 4294967295.0 ? nd - 1 : nd + 1;
    case TES_I32: return nd >= 2147483647.0 ? nd - 1 : nd + 1;
    default: return nd == 0 ? FLT_MIN : (double)(float)(nd + 1e-7 * nd);
    }
}

static bool integer_type(tes_sample_type t)
{
    return !tes_sample_type_is_float(t);
}

/* Stores v in sample (b, x, y) of o as GDAL writes a float result to the
 * band: rounded to nearest and saturated for integers. */
static void store(tes_tile *o, int b, int x, int y, double v)
{
    size_t ss = tes_sample_size(o->type);
    tes_convert_samples((char *)tes_tile_row(o, b, y) + (size_t)x * ss,
                        o->type, &v, TES_F64, 1);
}

/* v (a float result of GDAL's convolution) nudged off nodata as GDAL
 * does, comparing the value as the type will hold it. */
static double off_nodata(const tes__resample *p, double v)
{
    if (p->has_nodata && !isnan(v)) {
        uint8_t one[8];
        double held;
        tes_convert_samples(one, p->type, &v, TES_F64, 1);
        tes_convert_samples(&held, TES_F64, one, p->type, 1);
        if (integer_type(p->type) ? held == p->nodata : v == p->nodata)
            v = replacement(p);
    }
    return v;
}

/* ---- nearest ------------------------------------------------------------ */

static void nearest(const tes__resample *p, const tes_tile *w, tes_tile *o)
{
    size_t ss = tes_sample_size(o->type);
    for (int y = 0; y < o->height; y++) {
        int64_t sy = (int64_t)(0.5 + (double)(o->y0 + y) * p->ry);
        if (sy >= p->src_h)
            sy = p->src_h - 1;
        for (int b = 0; b < o->bands; b++) {
            const char *srow = tes_tile_row(w, b, (int)(sy - w->y0));
            char *drow = tes_tile_row(o, b, y);
            for (int x = 0; x < o->width; x++) {
                int64_t sx = (int64_t)(0.5 + (double)(o->x0 + x) * p->rx);
                if (sx >= p->src_w)
                    sx = p->src_w - 1;
                memcpy(drow + (size_t)x * ss,
                       srow + (size_t)(sx - w->x0) * ss, ss);
            }
        }
    }
}

/* ---- average and mode: the source span of output pixel i ---------------- */

typedef struct span {
    int64_t a, b;           /* [a, b) */
    double wa, wb;          /* weights of pixels a and b - 1 */
    double full;            /* total weight of the span */
} span;

static span span_of(int64_t i, double ratio, int64_t limit)
{
    span s;
    double d0 = (double)i * ratio, d1 = (double)(i + 1) * ratio;
    s.a = (int64_t)(d0 + 1e-8);
    s.b = (int64_t)ceil(d1 - 1e-8);
    if (s.b == s.a)
        s.b++;
    if (s.b > limit)
        s.b = limit;
    s.wa = s.b == s.a + 1 ? 1.0 : 1 - (d0 - (double)s.a);
    s.wb = 1 - ((double)s.b - d1);
    s.full = s.wa;
    if (s.a + 1 < s.b)
        s.full += (double)(s.b - s.a - 2) + s.wb;
    return s;
}

static double span_weight(const span *s, int64_t k)
{
    return k == s->a ? s->wa : k + 1 == s->b ? s->wb : 1.0;
}

/* Squared distance from colour (r, g, b) to entry e of the table, in
 * GDAL's 8-bit units. */
static int colour_dist(const tes_colormap *c, int e, int r, int g, int b)
{
    int dr = r - (c->red[e] >> 8), dg = g - (c->green[e] >> 8),
        db = b - (c->blue[e] >> 8);
    return dr * dr + dg * dg + db * db;
}

/* Average of a palette band as GDAL makes it: the mean colour of the
 * pixels that are not nodata, then the nearest entry of the table. */
static double average_colours(const tes__resample *p, const tes_tile *w,
                              int b, const span *sx, const span *sy)
{
    const tes_colormap *c = p->colormap;
    int64_t tr = 0, tg = 0, tb = 0, n = 0;
    for (int64_t y = sy->a; y < sy->b; y++)
        for (int64_t x = sx->a; x < sx->b; x++) {
            double v = at(w, b, x, y);
            if (v < 0 || v >= c->n || is_nodata(p, v))
                continue;
            int e = (int)v;
            tr += c->red[e] >> 8;
            tg += c->green[e] >> 8;
            tb += c->blue[e] >> 8;
            n++;
        }
    if (n == 0)
        return p->has_nodata ? p->nodata : 0;
    int r = (int)((tr + n / 2) / n), g = (int)((tg + n / 2) / n),
        bl = (int)((tb + n / 2) / n);
    int best = 0, dist = -1;
    for (int e = 0; e < c->n; e++) {
        if (p->has_nodata && e == (int)p->nodata && p->nodata >= 0)
            continue; /* the nodata entry is transparent */
        int d = colour_dist(c, e, r, g, bl);
        if (dist < 0 || d < dist) {
            dist = d;
            best = e;
        }
    }
    return best;
}

static void average(const tes__resample *p, const tes_tile *w, tes_tile *o)
{
    bool small_int = p->type == TES_U8 || p->type == TES_U16;
    /* GDAL's float32 path for a ratio of exactly 2 sums in float, SSE
     * style for the first multiple of 4 pixels of a row and in order for
     * the rest; types float32 holds exactly take it here too */
    bool masked = p->has_nodata || p->alpha_mask; /* every band or none */
    bool two = p->src_w == 2 * p->dst_w && !masked &&
               (p->type == TES_F32 || p->type == TES_I16 ||
                p->type == TES_I8);
    int64_t sse_end = p->dst_w / 4 * 4;
    /* the bands' masks: the last band's, and every other's */
    band_mask last = mask_of(p, true), other = mask_of(p, false);
    double empty = empty_value(p);
    for (int y = 0; y < o->height; y++) {
        span sy = span_of(o->y0 + y, p->ry, p->src_h);
        for (int x = 0; x < o->width; x++) {
            span sx = span_of(o->x0 + x, p->rx, p->src_w);
            for (int b = 0; b < o->bands; b++) {
                if (p->colormap) {
                    store(o, b, x, y,
                                 average_colours(p, w, b, &sx, &sy));
                    continue;
                }
                if (two && sy.b == sy.a + 2) {
                    float r0a = (float)at(w, b, sx.a, sy.a),
                          r0b = (float)at(w, b, sx.a + 1, sy.a),
                          r1a = (float)at(w, b, sx.a, sy.a + 1),
                          r1b = (float)at(w, b, sx.a + 1, sy.a + 1);
                    float sum = o->x0 + x < sse_end
                                    ? (r0a + r1a) + (r0b + r1b)
                                    : ((r0a + r0b) + r1a) + r1b;
                    store(o, b, x, y, (double)(0.25f * sum));
                    continue;
                }
                band_mask bm = b == o->bands - 1 ? last : other;
                double total = 0, weight = 0;
                int64_t count = 0;
                for (int64_t sy0 = sy.a; sy0 < sy.b; sy0++) {
                    double wy = sy0 == sy.a ? sy.wa
                                : sy0 + 1 == sy.b ? sy.wb
                                                  : 1.0;
                    double line = 0, lw = 0;
                    for (int64_t sx0 = sx.a; sx0 < sx.b; sx0++) {
                        double v = at(w, b, sx0, sy0);
                        if (left_out(p, bm, w, sx0, sy0, v))
                            continue;
                        double wx = span_weight(&sx, sx0);
                        line += v * wx;
                        lw += wx;
                        count++;
                    }
                    total += line * wy;
                    weight += lw * wy;
                }
                if (!masked)
                    weight = sx.full * sy.full;
                double v = empty;
                if (count) {
                    v = small_int ? floor(total / weight + 0.5)
                                  : total / weight;
                    if (p->type == TES_F32 || p->type == TES_I16 ||
                        p->type == TES_I8)
                        v = (float)v; /* GDAL's float32 result */
                    /* compared before the type rounds it, as GDAL does */
                    if (is_nodata(p, v))
                        v = replacement(p);
                }
                store(o, b, x, y, v);
            }
        }
    }
}

/* ---- mode --------------------------------------------------------------- */

static void mode(const tes__resample *p, const tes_tile *w, tes_tile *o,
                 float *vals, int *sums)
{
    for (int y = 0; y < o->height; y++) {
        span sy = span_of(o->y0 + y, p->ry, p->src_h);
        for (int x = 0; x < o->width; x++) {
            span sx = span_of(o->x0 + x, p->rx, p->src_w);
            for (int b = 0; b < o->bands; b++) {
                band_mask bm = mask_of(p, b == o->bands - 1);
                double v = empty_value(p);
                if (p->type == TES_U8) {
                    /* GDAL's byte path: the first value whose count
                     * passes the highest so far (it sees nodata but not
                     * an alpha mask: gdaladdo 3.6 counts transparent
                     * pixels in) */
                    int count[256] = { 0 }, max = 0, best = -1;
                    for (int64_t sy0 = sy.a; sy0 < sy.b; sy0++)
                        for (int64_t sx0 = sx.a; sx0 < sx.b; sx0++) {
                            double s = at(w, b, sx0, sy0);
                            if (is_nodata(p, s))
                                continue;
                            int k = (int)s;
                            if (++count[k] > max) {
                                best = k;
                                max = count[k];
                            }
                        }
                    if (best >= 0)
                        v = best;
                } else {
                    /* GDAL's general path on float32 values, its way of
                     * counting included */
                    int n = 0, imax = 0;
                    bool valid = false;
                    for (int64_t sy0 = sy.a; sy0 < sy.b; sy0++)
                        for (int64_t sx0 = sx.a; sx0 < sx.b; sx0++) {
                            double s = at(w, b, sx0, sy0);
                            if (left_out(p, bm, w, sx0, sy0, s))
                                continue;
                            float f = (float)s;
                            int i = 0;
                            for (; i < n; i++)
                                if (vals[i] == f && ++sums[i] > sums[imax]) {
                                    imax = i;
                                    valid = true;
                                    break;
                                }
                            if (i == n) {
                                vals[n] = f;
                                sums[n] = 1;
                                if (!valid) {
                                    imax = n;
                                    valid = true;
                                }
                                n++;
                            }
                        }
                    if (valid)
                        v = vals[imax];
                }
                store(o, b, x, y, v);
            }
        }
    }
}

/* ---- bilinear and cubic --------------------------------------------------- */

static double kernel_at(tes_resampling m, double x)
{
    double a = fabs(x);
    if (m == TES_RESAMPLE_BILINEAR)
        return a <= 1 ? 1 - a : 0;
    if (a <= 1)
        return a * a * (1.5 * a - 2.5) + 1;
    if (a <= 2)
        return a * (a * (-0.5 * a + 2.5) - 4) + 2;
    return 0;
}

/* The taps of output pixel i along one axis: source pixels [*start,
 * *start + n) and their weights (normalised unless masked). */
static int taps(tes_resampling m, int64_t i, double ratio, int64_t limit,
                bool normalise, int64_t *start, double *wt)
{
    int radius = m == TES_RESAMPLE_BILINEAR ? 1 : 2;
    double scale = ratio > 1 ? 1 / ratio : 1;
    double r = radius / scale;
    double c = ((double)i + 0.5) * ratio;
    int64_t a = (int64_t)floor(c - r + 0.5), b = (int64_t)(c + r + 0.5);
    if (a < 0)
        a = 0;
    if (b > limit)
        b = limit;
    double x = scale * ((double)a - c + 0.5), sum = 0;
    int n = 0;
    for (int64_t k = a; k < b; k++, x += scale) {
        wt[n] = kernel_at(m, x);
        sum += wt[n++];
    }
    if (normalise && sum != 0)
        for (int k = 0; k < n; k++)
            wt[k] *= 1 / sum;
    *start = a;
    return n;
}

/* The largest run of valid taps is at least half of them (GDAL's test
 * for kernels with negative weights). */
static bool enough_valid(const uint8_t *ok, int n, size_t step)
{
    int run = 0, best = 0;
    for (int k = 0; k < n; k++) {
        if (ok[(size_t)k * step]) {
            run++;
        } else if (run) {
            best = run > best ? run : best;
            run = 0;
        }
    }
    best = run > best ? run : best;
    return best >= n / 2;
}

#define MAX_TAPS 32

/* One band's rows [y0, y1) x columns [x0, x1) of the window as doubles. */
static void rows_of(const tes_tile *w, int b, int64_t x0, int64_t x1,
                    int64_t y0, int64_t y1, double *dst)
{
    size_t ss = tes_sample_size(w->type), n = (size_t)(x1 - x0);
    for (int64_t y = y0; y < y1; y++)
        tes_convert_samples(dst + (size_t)(y - y0) * n, TES_F64,
                            (const char *)tes_tile_row(w, b,
                                                       (int)(y - w->y0)) +
                                (size_t)(x0 - w->x0) * ss,
                            w->type, n);
}

/* The horizontal sum of n taps v of a masked band, weights wt, alphas a
 * (NULL without an alpha mask): the valid taps' weighted mean. GDAL
 * weighs each tap by its mask's value: all or nothing for nodata, the
 * alpha for an alpha mask (the vertical pass is all or nothing again).
 * *good: there is a value (cubic needs half its taps valid in a row). */
static inline double masked_taps(const tes__resample *p, band_mask bm,
                                 const double *v, const double *a,
                                 const double *wt, int n, bool negative,
                                 bool *good)
{
    uint8_t ok[MAX_TAPS];
    double acc = 0, ws = 0;
    if (!a) { /* nodata only: the common case, kept tight */
        for (int k = 0; k < n; k++)
            ok[k] = !is_nodata(p, v[k]);
        *good = !negative || enough_valid(ok, n, 1);
        for (int k = 0; *good && k < n; k++)
            if (ok[k]) {
                acc += v[k] * wt[k];
                ws += wt[k];
            }
    } else {
        for (int k = 0; k < n; k++)
            ok[k] = !(bm.nodata && is_nodata(p, v[k])) && a[k] != 0;
        *good = !negative || enough_valid(ok, n, 1);
        for (int k = 0; *good && k < n; k++)
            if (ok[k]) {
                double wk = wt[k] * alpha_weight(p->type, bm.own, a[k]);
                acc += v[k] * wk;
                ws += wk;
            }
    }
    *good = *good && ws > 0;
    return *good ? acc / ws : 0;
}

static int convolve(const tes__resample *p, const tes_tile *w, tes_tile *o)
{
    tes_resampling m = p->method;
    bool masked = p->has_nodata || p->alpha_mask, /* every band or none */
         negative = m == TES_RESAMPLE_CUBIC;
    size_t cols = (size_t)o->width, orows = (size_t)o->height;
    /* the taps of every output column and row, computed once */
    int64_t *xs = malloc(cols * sizeof *xs), *ys = malloc(orows * sizeof *ys);
    int *xn = malloc(cols * sizeof *xn), *yn = malloc(orows * sizeof *yn);
    double *xw = malloc(cols * MAX_TAPS * sizeof *xw);
    double *yw = malloc(orows * MAX_TAPS * sizeof *yw);
    double *src = NULL, *h = NULL, *alpha = NULL;
    uint8_t *hm = NULL;
    int rc = -ENOMEM;
    if (!xs || !ys || !xn || !yn || !xw || !yw)
        goto done;
    int64_t cx0 = INT64_MAX, cx1 = 0, ry0 = INT64_MAX, ry1 = 0;
    for (size_t x = 0; x < cols; x++) {
        xn[x] = taps(m, o->x0 + (int64_t)x, p->rx, p->src_w, !masked, &xs[x],
                     xw + x * MAX_TAPS);
        cx0 = xs[x] < cx0 ? xs[x] : cx0;
        cx1 = xs[x] + xn[x] > cx1 ? xs[x] + xn[x] : cx1;
    }
    for (size_t y = 0; y < orows; y++) {
        yn[y] = taps(m, o->y0 + (int64_t)y, p->ry, p->src_h, !masked, &ys[y],
                     yw + y * MAX_TAPS);
        ry0 = ys[y] < ry0 ? ys[y] : ry0;
        ry1 = ys[y] + yn[y] > ry1 ? ys[y] + yn[y] : ry1;
    }
    size_t rows = (size_t)(ry1 - ry0), scols = (size_t)(cx1 - cx0);
    src = malloc((rows * scols > cols ? rows * scols : cols) * sizeof *src);
    h = malloc(rows * cols * sizeof *h);
    hm = masked ? malloc(rows * cols + cols) : NULL;
    /* the alpha mask's rows, read once for every band */
    bool alpha_any = p->alpha_mask || p->alpha_self;
    alpha = alpha_any ? malloc(rows * scols * sizeof *alpha) : NULL;
    if (!src || !h || (masked && !hm) || (alpha_any && !alpha))
        goto done;
    if (alpha)
        rows_of(w, w->bands - 1, cx0, cx1, ry0, ry1, alpha);
    uint8_t *ok_row = masked ? hm + rows * cols : NULL;
    rc = 0;
    for (int b = 0; b < o->bands; b++) {
        band_mask bm = mask_of(p, b == o->bands - 1);
        rows_of(w, b, cx0, cx1, ry0, ry1, src);
        /* horizontal pass over the source rows */
        for (size_t r = 0; r < rows; r++) {
            const double *row = src + r * scols;
            double *hr = h + r * cols;
            for (size_t x = 0; !masked && x < cols; x++) {
                const double *v = row + (xs[x] - cx0), *wt = xw + x * MAX_TAPS;
                double acc = 0;
                for (int k = 0; k < xn[x]; k++)
                    acc += v[k] * wt[k];
                hr[x] = acc;
            }
            for (size_t x = 0; masked && x < cols; x++) {
                size_t at = (size_t)(xs[x] - cx0);
                bool good;
                hr[x] = masked_taps(p, bm, row + at,
                                    bm.alpha ? alpha + r * scols + at : NULL,
                                    xw + x * MAX_TAPS, xn[x], negative,
                                    &good);
                hm[r * cols + x] = good;
            }
        }
        /* vertical pass, rounded to float as GDAL's is, a row at a time
         * into the output's type */
        for (size_t y = 0; y < orows; y++) {
            const double *wt = yw + y * MAX_TAPS;
            int n = yn[y];
            size_t r0 = (size_t)(ys[y] - ry0);
            double *out = src; /* the source rows are done with */
            for (size_t x = 0; x < cols; x++)
                out[x] = 0;
            if (!masked) {
                for (int k = 0; k < n; k++) {
                    const double *hr = h + (r0 + (size_t)k) * cols;
                    for (size_t x = 0; x < cols; x++)
                        out[x] += hr[x] * wt[k];
                }
                for (size_t x = 0; x < cols; x++)
                    out[x] = (float)out[x];
            }
            for (size_t x = 0; masked && x < cols; x++) {
                const double *col = h + r0 * cols + x;
                const uint8_t *cm = hm + r0 * cols + x;
                double v = 0, ws = 0;
                if (negative && !enough_valid(cm, n, cols)) {
                    ok_row[x] = 0;
                    continue;
                }
                for (int k = 0; k < n; k++)
                    if (cm[(size_t)k * cols]) {
                        v += col[(size_t)k * cols] * wt[k];
                        ws += wt[k];
                    }
                ok_row[x] = ws > 0;
                out[x] = ws > 0 ? (float)(v / ws) : 0;
            }
            if (masked)
                for (size_t x = 0; x < cols; x++)
                    out[x] = ok_row[x] ? off_nodata(p, out[x])
                                       : empty_value(p);
            tes_convert_samples(tes_tile_row(o, b, (int)y), o->type, out,
                                TES_F64, cols);
        }
    }
done:
    free(src);
    free(h);
    free(hm);
    free(alpha);
    free(xs);
    free(ys);
    free(xn);
    free(yn);
    free(xw);
    free(yw);
    return rc;
}

int tes__resample_tile(tes_tile_job *job)
{
    const tes__resample *p = job->arg;
    const tes_tile *w = &job->in[0];
    tes_tile *o = job->out;
    switch (p->method) {
    case TES_RESAMPLE_NEAREST:
        nearest(p, w, o);
        return 0;
    case TES_RESAMPLE_AVERAGE:
        average(p, w, o);
        return 0;
    case TES_RESAMPLE_MODE: {
        /* a span holds at most 3 x 3 pixels for ratios up to 2 */
        float vals[64];
        int sums[64];
        mode(p, w, o, vals, sums);
        return 0;
    }
    default: {
        int rc = convolve(p, w, o);
        return rc ? tes_tile_fail(job, rc, "out of memory") : 0;
    }
    }
}
