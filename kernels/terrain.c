/*
 * terrain.c — slope, aspect, hillshade (Lambert, multidirectional,
 * combined, Igor's), TRI, TPI and roughness over 3x3 windows with
 * gdaldem's formulas and conventions (Horn or Zevenbergen-Thorne
 * gradients, nodata and --compute-edges rules, output nodata), computed
 * in double precision.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "kernels_builtin.h"

#if defined(__GNUC__) && !defined(__clang__)
/* GCC's -O2 vectorises only trivial loops, and errno from sqrt and the
 * possibility of traps block if-conversion; the row loops below are worth
 * the full vectoriser. No result changes: nothing here reads errno or
 * traps on floating-point exceptions. (clang vectorises them at -O2.) */
#pragma GCC optimize("O3", "no-math-errno", "no-trapping-math")
#endif

#define DEG (180.0 / M_PI)
#define RAD (M_PI / 180.0)
#define INV_SQ_HALF_PI (1.0 / ((M_PI * M_PI) / 4))

/* ---- the per-window formulas ---------------------------------------------
 * Window w is row-major: 0 1 2 / 3 4 5 / 6 7 8, row 0 at the top (north for
 * a north-up raster). hx = left - right and hy = bottom - top, as gdaldem.
 * The fast path computes hx, hy for a whole row with the same operations
 * in the same order, then the same inline value functions, so a pixel has
 * the same bits whichever path computed it. */

#define TES_INLINE static inline __attribute__((always_inline))

TES_INLINE void gradient(const tes_terrain_state *s, const double *w,
                         double *hx, double *hy)
{
    if (s->o.zt) {
        *hx = w[3] - w[5];
        *hy = w[7] - w[1];
    } else {
        *hx = (w[0] + w[3] + w[3] + w[6]) - (w[2] + w[5] + w[5] + w[8]);
        *hy = (w[6] + w[7] + w[7] + w[8]) - (w[0] + w[1] + w[1] + w[2]);
    }
}

/* atan(a) for 0 <= a <= 1 without branches (so that it does not mispredict
 * on real terrain): the nearest of atan = 0, pi/12, pi/6, pi/4 is split
 * off with the addition formula, leaving |t| <= tan(pi/24) = 0.1317,
 * where the series to t^15 is exact to about 1e-16 (the next term is
 * below 6e-17). */
TES_INLINE double atan01(double a)
{
    /* the split points are tan(pi/24), tan(3pi/24), tan(5pi/24); selects,
     * not a table, so that the loops around vectorise */
    bool k1 = a > 0.13165249758739585, k2 = a > 0.41421356237309503,
         k3 = a > 0.76732698797896042;
    double c = k3 ? 1.0 : k2 ? 0.57735026918962576 /* tan pi/6 */
               : k1 ? 0.26794919243112270 /* tan pi/12 */ : 0.0;
    double base = k3 ? M_PI / 4 : k2 ? M_PI / 6 : k1 ? M_PI / 12 : 0.0;
    double t = (a - c) / (1.0 + a * c);
    double t2 = t * t;
    double p = -1.0 / 15;
    p = p * t2 + 1.0 / 13;
    p = p * t2 - 1.0 / 11;
    p = p * t2 + 1.0 / 9;
    p = p * t2 - 1.0 / 7;
    p = p * t2 + 1.0 / 5;
    p = p * t2 - 1.0 / 3;
    p = p * t2 + 1.0;
    return base + t * p;
}

/* atan(r) for r >= 0 (r = +inf gives pi/2). */
TES_INLINE double atan_pos(double r)
{
    double inv = 1.0 / r; /* +inf for 0: never chosen */
    double v = atan01(r < inv ? r : inv);
    return r > 1.0 ? M_PI / 2 - v : v;
}

/* atan2(y, x) in (-pi, pi]; (0, 0) gives 0. */
TES_INLINE double atan2_fast(double y, double x)
{
    double ax = fabs(x), ay = fabs(y);
    double lo = ay < ax ? ay : ax, hi = ay < ax ? ax : ay;
    double q = lo / (hi > 0 ? hi : 1.0);
    double v = atan01(q);
    v = ay > ax ? M_PI / 2 - v : v;
    v = x < 0 ? M_PI - v : v;
    return y < 0 ? -v : v;
}

TES_INLINE float slope_of(const tes_terrain_state *s, double hx, double hy)
{
    double dx = hx * s->inv_ew, dy = hy * s->inv_ns;
    double r = sqrt(dx * dx + dy * dy) * (s->o.zt ? 0.5 : 0.125);
    return s->o.percent ? (float)(100.0 * r) : (float)(atan_pos(r) * DEG);
}

/* east: nonzero for --trigonometric. Written so that the row loop
 * vectorises (no loads of flags, selects in double). */
TES_INLINE float aspect_calc(double east, double flat_value, double hx,
                             double hy)
{
    /* gdaldem: atan2(dy, -dx) with dx = right - left, rounded to float */
    float a = (float)(atan2_fast(hy, hx) * DEG);
    float from_north = a > 90.0f ? 450.0f - a : 90.0f - a;
    float from_east = a < 0 ? a + 360.0f : a;
    double v = east != 0 ? (double)from_east : (double)from_north;
    v = v == 360.0 ? 0.0 : v;
    /* flat: both zero (a sum of magnitudes is 0 only then) */
    return (float)(fabs(hx) + fabs(hy) == 0 ? flat_value : v);
}

TES_INLINE float aspect_of(const tes_terrain_state *s, double hx, double hy)
{
    return aspect_calc(s->o.trigonometric ? 1.0 : 0.0, s->out_nodata, hx,
                       hy);
}

TES_INLINE float shade_of(const tes_terrain_state *s, double hx, double hy)
{
    double x = hx * s->inv_ew, y = hy * s->inv_ns;
    double num = s->sin_alt254 - (y * s->cos_az_alt_z254 -
                                  x * s->sin_az_alt_z254);
    double c = num / sqrt(1 + s->zf2 * (x * x + y * y));
    return (float)(c <= 0 ? 1.0 : 1.0 + c);
}

TES_INLINE float shade_multi_of(const tes_terrain_state *s, double hx,
                                double hy)
{
    double x = hx * s->inv_ew, y = hy * s->inv_ns;
    double xx_yy = x * x + y * y;
    double v225 = s->md_sin127 + (x - y) * s->md_cos225_127;
    double v270 = s->md_sin127 - x * s->md_cos127;
    double v315 = s->md_sin127 + (x + y) * s->md_cos225_127;
    double v360 = s->md_sin127 - y * s->md_cos127;
    v225 = v225 <= 0 ? 0 : v225;
    v270 = v270 <= 0 ? 0 : v270;
    v315 = v315 <= 0 ? 0 : v315;
    v360 = v360 <= 0 ? 0 : v360;
    double w225 = 0.5 * xx_yy - x * y, w270 = x * x;
    double w315 = xx_yy - w225, w360 = y * y;
    double c = (w225 * v225 + w270 * v270 + w315 * v315 + w360 * v360) /
               (xx_yy > 0 ? xx_yy : 1.0) / sqrt(1 + s->zf2 * xx_yy);
    return (float)(xx_yy == 0 ? 1.0 + s->sin_alt254 : 1.0 + c);
}

static inline float shade_combined_of(const tes_terrain_state *s, double hx,
                                      double hy)
{
    double x = hx * s->inv_ew, y = hy * s->inv_ns;
    double sl = (x * x + y * y) * s->zf2;
    double num = s->sin_alt - (y * s->cos_az_alt_z - x * s->sin_az_alt_z);
    double c = num / sqrt(1 + sl);
    c = c > 1 ? 1 : c < -1 ? -1 : c;
    c = 1 - acos(c) * atan(sqrt(sl)) * INV_SQ_HALF_PI;
    return c <= 0 ? 1.0f : (float)(1.0 + 254.0 * c);
}

/* Igor's hillshade (gdaldem -igor, after Igor Ivanov via QGIS): darker
 * with slope, the more so the more the cell faces away from the light;
 * no sun elevation. 255 (1 - slope/90 * (1 - |aspect - light| / pi)),
 * from the slope's tangent t (before its atan). */
TES_INLINE float igor_from(const tes_terrain_state *s, double t, double hx,
                           double hy)
{
    double slope_deg = atan_pos(t) * DEG;
    /* gdaldem: atan2 of the unscaled gradient in its own convention, then
     * fmod to [0, 2 pi), which for (-pi, pi] adds 2 pi to the negatives */
    double aspect = atan2_fast(hy, hx);
    aspect = aspect < 0 ? aspect + 2 * M_PI : aspect;
    double d = fabs(aspect - s->igor_light);
    d = d > M_PI ? 2 * M_PI - d : d;
    double shadowness = 1.0 - slope_deg / 90 * (1 - d / M_PI);
    return (float)(255.0 * shadowness);
}

TES_INLINE float shade_igor_of(const tes_terrain_state *s, double hx,
                               double hy)
{
    double x = hx * s->inv_ew, y = hy * s->inv_ns;
    return igor_from(s, sqrt(x * x + y * y) * s->zf, hx, hy);
}

static float value_of(const tes_terrain_state *s, double hx, double hy)
{
    switch (s->o.kind) {
    case TES_TERRAIN_SLOPE: return slope_of(s, hx, hy);
    case TES_TERRAIN_ASPECT: return aspect_of(s, hx, hy);
    default:
        if (s->o.multidirectional)
            return shade_multi_of(s, hx, hy);
        if (s->o.combined)
            return shade_combined_of(s, hx, hy);
        if (s->o.igor)
            return shade_igor_of(s, hx, hy);
        return shade_of(s, hx, hy);
    }
}

static void sqrt_row(double *v, int n);

/* ---- TRI, TPI, roughness: functions of the whole window ------------------
 * Written over the window's columns a (left), b (centre), c (right) of
 * rows 0..2 so that the same inline code serves one window and a whole
 * row; the sums run in the order of gdaldem's (0 1 2 3 5 6 7 8). */

static inline bool window_kind(tes_terrain_kind k)
{
    return k == TES_TERRAIN_TRI || k == TES_TERRAIN_TPI ||
           k == TES_TERRAIN_ROUGHNESS;
}

TES_INLINE double tri_riley(double w0, double w1, double w2, double w3,
                            double w4, double w5, double w6, double w7,
                            double w8)
{
    double d0 = w0 - w4, d1 = w1 - w4, d2 = w2 - w4, d3 = w3 - w4;
    double d5 = w5 - w4, d6 = w6 - w4, d7 = w7 - w4, d8 = w8 - w4;
    return d0 * d0 + d1 * d1 + d2 * d2 + d3 * d3 + d5 * d5 + d6 * d6 +
           d7 * d7 + d8 * d8; /* the caller takes the root */
}

TES_INLINE double tri_wilson(double w0, double w1, double w2, double w3,
                             double w4, double w5, double w6, double w7,
                             double w8)
{
    return (fabs(w0 - w4) + fabs(w1 - w4) + fabs(w2 - w4) + fabs(w3 - w4) +
            fabs(w5 - w4) + fabs(w6 - w4) + fabs(w7 - w4) + fabs(w8 - w4)) *
           0.125;
}

TES_INLINE double tpi(double w0, double w1, double w2, double w3, double w4,
                      double w5, double w6, double w7, double w8)
{
    return w4 - (w0 + w1 + w2 + w3 + w5 + w6 + w7 + w8) * 0.125;
}

TES_INLINE double max2(double a, double b) { return a > b ? a : b; }
TES_INLINE double min2(double a, double b) { return a < b ? a : b; }

TES_INLINE double roughness(double w0, double w1, double w2, double w3,
                            double w4, double w5, double w6, double w7,
                            double w8)
{
    double hi = max2(max2(max2(w0, w1), max2(w2, w3)),
                     max2(max2(w4, w5), max2(max2(w6, w7), w8)));
    double lo = min2(min2(min2(w0, w1), min2(w2, w3)),
                     min2(min2(w4, w5), min2(min2(w6, w7), w8)));
    return hi - lo;
}

static float window_value(const tes_terrain_state *s, const double *w)
{
    switch (s->o.kind) {
    case TES_TERRAIN_TRI:
        if (s->o.tri_alg == TES_TRI_WILSON)
            return (float)tri_wilson(w[0], w[1], w[2], w[3], w[4], w[5],
                                     w[6], w[7], w[8]);
        return (float)sqrt(tri_riley(w[0], w[1], w[2], w[3], w[4], w[5],
                                     w[6], w[7], w[8]));
    case TES_TERRAIN_TPI:
        return (float)tpi(w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7],
                          w[8]);
    default:
        return (float)roughness(w[0], w[1], w[2], w[3], w[4], w[5], w[6],
                                w[7], w[8]);
    }
}

/* Window kinds over output pixels [0, n) from three window rows. */
#define WINDOW_ROW(NAME, FN)                                                 \
    static void NAME(const double *restrict r0, const double *restrict r1,  \
                     const double *restrict r2, int n, double *restrict v)   \
    {                                                                        \
        for (int x = 0; x < n; x++)                                          \
            v[x] = FN(r0[x], r0[x + 1], r0[x + 2], r1[x], r1[x + 1],         \
                      r1[x + 2], r2[x], r2[x + 1], r2[x + 2]);               \
    }
WINDOW_ROW(tri_riley_row, tri_riley)
WINDOW_ROW(tri_wilson_row, tri_wilson)
WINDOW_ROW(tpi_row, tpi)
WINDOW_ROW(roughness_row, roughness)

/* TRI, TPI or roughness of output pixels [0, n) from three window rows
 * into out; v is scratch of n doubles (the other kinds' gradient row). */
static void window_row(const tes_terrain_state *s, const double *r0,
                       const double *r1, const double *r2, int n,
                       double *v, float *out)
{
    switch (s->o.kind) {
    case TES_TERRAIN_TRI:
        if (s->o.tri_alg == TES_TRI_WILSON) {
            tri_wilson_row(r0, r1, r2, n, v);
        } else {
            tri_riley_row(r0, r1, r2, n, v);
            sqrt_row(v, n);
        }
        break;
    case TES_TERRAIN_TPI: tpi_row(r0, r1, r2, n, v); break;
    default: roughness_row(r0, r1, r2, n, v); break;
    }
    for (int x = 0; x < n; x++)
        out[x] = (float)v[x];
}

double tes__terrain_value(const tes_terrain_state *s, const double w[9])
{
    if (window_kind(s->o.kind))
        return window_value(s, w);
    double hx, hy;
    gradient(s, w, &hx, &hy);
    return value_of(s, hx, hy);
}

/* Gradients of output pixels [0, n) from three window rows (a pixel's
 * window starts at its own column). */
static void gradient_row(const tes_terrain_state *s,
                                         const double *restrict r0,
                                         const double *restrict r1,
                                         const double *restrict r2, int n,
                                         double *restrict hx,
                                         double *restrict hy)
{
    if (s->o.zt) {
        for (int x = 0; x < n; x++) {
            hx[x] = r1[x] - r1[x + 2];
            hy[x] = r2[x + 1] - r0[x + 1];
        }
        return;
    }
    for (int x = 0; x < n; x++) {
        hx[x] = (r0[x] + r1[x] + r1[x] + r2[x]) -
                (r0[x + 2] + r1[x + 2] + r1[x + 2] + r2[x + 2]);
        hy[x] = (r2[x] + r2[x + 1] + r2[x + 1] + r2[x + 2]) -
                (r0[x] + r0[x + 1] + r0[x + 1] + r0[x + 2]);
    }
}

#define VALUE_ROW(NAME, FN)                                                  \
    static void NAME(const tes_terrain_state *s, const double *restrict hx,  \
                     const double *restrict hy, int n, float *restrict out)  \
    {                                                                        \
        for (int x = 0; x < n; x++)                                          \
            out[x] = FN(s, hx[x], hy[x]);                                    \
    }

/* Square roots of v[0..n) in place. GCC keeps a scalar sqrt (it must set
 * errno for negative input, which stops vectorisation whatever the
 * flags of one function say), so the SSE2 form is written out. */
static void sqrt_row(double *v, int n)
{
    int i = 0;
#if defined(__SSE2__)
    for (; i + 2 <= n; i += 2)
        _mm_storeu_pd(v + i, _mm_sqrt_pd(_mm_loadu_pd(v + i)));
#endif
    for (; i < n; i++)
        v[i] = sqrt(v[i]);
}

/* Slope in three vectorisable passes: squared gradient, its root, the
 * angle. The same operations as slope_of, pixel for pixel. */
static void slope_row(const tes_terrain_state *s, const double *restrict hx,
                      const double *restrict hy, int n, float *restrict out)
{
    double k[256];
    const double f = s->o.zt ? 0.5 : 0.125;
    for (int x0 = 0; x0 < n; x0 += 256) {
        int m = n - x0 < 256 ? n - x0 : 256;
        for (int i = 0; i < m; i++) {
            double dx = hx[x0 + i] * s->inv_ew, dy = hy[x0 + i] * s->inv_ns;
            k[i] = dx * dx + dy * dy;
        }
        sqrt_row(k, m);
        if (s->o.percent)
            for (int i = 0; i < m; i++)
                out[x0 + i] = (float)(100.0 * (k[i] * f));
        else
            for (int i = 0; i < m; i++)
                out[x0 + i] = (float)(atan_pos(k[i] * f) * DEG);
    }
}

static void aspect_row(const tes_terrain_state *s, const double *restrict hx,
                       const double *restrict hy, int n,
                       float *restrict out)
{
    const double east = s->o.trigonometric ? 1.0 : 0.0;
    const double flat = s->out_nodata;
    for (int x = 0; x < n; x++)
        out[x] = aspect_calc(east, flat, hx[x], hy[x]);
}

/* The usual hillshade in the same vectorisable passes as slope_row, with
 * the operations of shade_of. */
static void shade_row(const tes_terrain_state *s, const double *restrict hx,
                      const double *restrict hy, int n, float *restrict out)
{
    double d[256];
    for (int x0 = 0; x0 < n; x0 += 256) {
        int m = n - x0 < 256 ? n - x0 : 256;
        for (int i = 0; i < m; i++) {
            double x = hx[x0 + i] * s->inv_ew, y = hy[x0 + i] * s->inv_ns;
            d[i] = 1 + s->zf2 * (x * x + y * y);
        }
        sqrt_row(d, m);
        for (int i = 0; i < m; i++) {
            double x = hx[x0 + i] * s->inv_ew, y = hy[x0 + i] * s->inv_ns;
            double num = s->sin_alt254 - (y * s->cos_az_alt_z254 -
                                          x * s->sin_az_alt_z254);
            double c = num / d[i];
            out[x0 + i] = (float)(c <= 0 ? 1.0 : 1.0 + c);
        }
    }
}

VALUE_ROW(shade_multi_row, shade_multi_of)
VALUE_ROW(shade_combined_row, shade_combined_of)

/* Igor's in the passes of slope_row: the squared gradient, its root, the
 * rest; the operations of shade_igor_of. */
static void shade_igor_row(const tes_terrain_state *s,
                           const double *restrict hx,
                           const double *restrict hy, int n,
                           float *restrict out)
{
    double k[256];
    for (int x0 = 0; x0 < n; x0 += 256) {
        int m = n - x0 < 256 ? n - x0 : 256;
        for (int i = 0; i < m; i++) {
            double x = hx[x0 + i] * s->inv_ew, y = hy[x0 + i] * s->inv_ns;
            k[i] = x * x + y * y;
        }
        sqrt_row(k, m);
        for (int i = 0; i < m; i++)
            out[x0 + i] = igor_from(s, k[i] * s->zf, hx[x0 + i], hy[x0 + i]);
    }
}

static void value_row(const tes_terrain_state *s, const double *hx,
                      const double *hy, int n, float *out)
{
    switch (s->o.kind) {
    case TES_TERRAIN_SLOPE: slope_row(s, hx, hy, n, out); break;
    case TES_TERRAIN_ASPECT: aspect_row(s, hx, hy, n, out); break;
    default:
        if (s->o.multidirectional)
            shade_multi_row(s, hx, hy, n, out);
        else if (s->o.combined)
            shade_combined_row(s, hx, hy, n, out);
        else if (s->o.igor)
            shade_igor_row(s, hx, hy, n, out);
        else
            shade_row(s, hx, hy, n, out);
    }
}

/* ---- windows at edges and holes ------------------------------------------ */

typedef struct ctx {
    const tes_terrain_state *s;
    bool has_nd, nd_nan, f32, integer;
    double nd;
} ctx;

static inline bool is_nd(const ctx *c, double v)
{
    return c->has_nd && (v == c->nd || (c->nd_nan && v != v));
}

/* gdaldem's extrapolation beyond an edge: 2 * edge - inner. */
static double interp(const ctx *c, double a, double b)
{
    if (is_nd(c, a) || is_nd(c, b))
        return c->nd;
    double v = 2 * a - b;
    if (c->f32)
        v = (float)v;
    if (c->has_nd && v == c->nd) {
        if (c->integer)
            v = c->nd + 1;
        else
            v = (float)(c->nd * (1 + 3 * (double)FLT_EPSILON));
    }
    return v;
}

/* Builds the window of the output pixel at raster (X, Y), window column wx
 * (its centre) of the three buffered rows, with gdaldem's rules. Returns
 * false when the output is nodata. */
static bool edge_window(const ctx *c, const double *const rows[3], int wx,
                        int64_t X, int64_t Y, int64_t RW, int64_t RH,
                        double w[9])
{
    bool ce = c->s->o.compute_edges;
    bool edge = X == 0 || Y == 0 || X == RW - 1 || Y == RH - 1;
    if (edge && (!ce || RW < 2 || RH < 2))
        return false;
    double centre = rows[1][wx];
    if (is_nd(c, centre))
        return false;
    if (Y == 0 || Y == RH - 1) {
        int col[3] = { X == 0 ? wx : wx - 1, wx, X == RW - 1 ? wx : wx + 1 };
        for (int k = 0; k < 3; k++) {
            if (Y == 0) {
                w[k] = interp(c, rows[1][col[k]], rows[2][col[k]]);
                w[3 + k] = rows[1][col[k]];
                w[6 + k] = rows[2][col[k]];
            } else {
                w[k] = rows[0][col[k]];
                w[3 + k] = rows[1][col[k]];
                w[6 + k] = interp(c, rows[1][col[k]], rows[0][col[k]]);
            }
        }
    } else {
        for (int r = 0; r < 3; r++) {
            const double *p = rows[r];
            w[3 * r + 1] = p[wx];
            w[3 * r] = X == 0 ? interp(c, p[wx], p[wx + 1]) : p[wx - 1];
            w[3 * r + 2] =
                X == RW - 1 ? interp(c, p[wx], p[wx - 1]) : p[wx + 1];
        }
    }
    if (c->has_nd)
        for (int k = 0; k < 9; k++)
            if (is_nd(c, w[k])) {
                if (!ce)
                    return false;
                w[k] = centre;
            }
    return true;
}

/* ---- the tile function ---------------------------------------------------- */

static int terrain_tile(tes_tile_job *job)
{
    const tes_terrain_state *s = job->arg;
    const tes_tile *in = &job->in[0];
    tes_tile *out = job->out;
    int ow = out->width, oh = out->height, ww = in->width;
    if (in->width != ow + 2 || in->height != oh + 2 ||
        s->o.band >= in->bands)
        return tes_tile_fail(job, -EINVAL, "terrain: bad window");
    ctx c = { s, in->has_nodata, false, in->type == TES_F32,
              !tes_sample_type_is_float(in->type), in->nodata };
    if (c.has_nd) {
        c.nd_nan = isnan(c.nd);
        if (c.f32)
            c.nd = (float)c.nd;
    }
    /* three window rows, the two gradient rows, then ww bytes of flags */
    double *buf = malloc(sizeof(double) * 6 * (size_t)ww);
    float *orow = malloc(sizeof(float) * (size_t)ow + 1);
    if (!buf || !orow) {
        free(buf);
        free(orow);
        return tes_tile_fail(job, -ENOMEM, "out of memory");
    }
    double *gx = buf + 3 * (size_t)ww, *gy = gx + ww;
    bool row_nd[3] = { false, false, false };
    const int64_t RW = in->raster_width, RH = in->raster_height;
    /* window row r is buffer slot r % 3 */
    for (int r = 0; r < oh + 2; r++) {
        double *dst = buf + (size_t)(r % 3) * ww;
        tes_convert_samples(dst, TES_F64, tes_tile_row(in, s->o.band, r),
                            in->type, (size_t)ww);
        bool nd = false;
        if (c.has_nd)
            for (int x = 0; x < ww; x++)
                nd |= is_nd(&c, dst[x]);
        row_nd[r % 3] = nd;
        if (r < 2)
            continue;
        int oy = r - 2;
        const double *rows[3] = { buf + (size_t)((r - 2) % 3) * ww,
                                  buf + (size_t)((r - 1) % 3) * ww,
                                  buf + (size_t)(r % 3) * ww };
        const double *r0 = rows[0], *r1 = rows[1], *r2 = rows[2];
        int64_t Y = in->y0 + 1 + oy, OX = in->x0 + 1;
        /* output columns x whose window lies inside the raster */
        int x_lo = 0, x_hi = ow;
        if (OX == 0)
            x_lo = 1;
        if (OX + ow >= RW)
            x_hi = (int)(RW - 1 - OX);
        if (x_hi < x_lo)
            x_hi = x_lo;
        bool fast = Y > 0 && Y < RH - 1;
        bool holes = row_nd[0] || row_nd[1] || row_nd[2];
        if (fast && x_hi > x_lo && window_kind(s->o.kind)) {
            window_row(s, r0 + x_lo, r1 + x_lo, r2 + x_lo, x_hi - x_lo, gx,
                       orow + x_lo);
        } else if (fast && x_hi > x_lo) {
            gradient_row(s, r0 + x_lo, r1 + x_lo, r2 + x_lo, x_hi - x_lo,
                         gx, gy);
            value_row(s, gx, gy, x_hi - x_lo, orow + x_lo);
        }
        /* near holes, redo the pixels whose window holds nodata */
        uint8_t *col_nd = (uint8_t *)(gy + ww); /* the bytes after gy */
        if (fast && holes)
            for (int x = 0; x < ww; x++)
                col_nd[x] = is_nd(&c, r0[x]) || is_nd(&c, r1[x]) ||
                            is_nd(&c, r2[x]);
        for (int x = 0; x < ow; x++) {
            if (fast && x >= x_lo && x < x_hi) {
                if (!holes) {
                    x = x_hi - 1; /* all done by the fast loop */
                    continue;
                }
                if (!(col_nd[x] | col_nd[x + 1] | col_nd[x + 2]))
                    continue;
            }
            double w[9];
            if (edge_window(&c, rows, x + 1, OX + x, Y, RW, RH, w))
                orow[x] = (float)tes__terrain_value(s, w);
            else
                orow[x] = s->out_nodata;
        }
        void *o = tes_tile_row(out, 0, oy);
        if (out->type == TES_F32)
            memcpy(o, orow, sizeof(float) * (size_t)ow);
        else
            tes_convert_samples(o, out->type, orow, TES_F32, (size_t)ow);
    }
    free(buf);
    free(orow);
    return 0;
}

/* Why o cannot make a kernel, or NULL when it can. */
static const char *terrain_refusal(const tes_terrain_options *o)
{
    if (!(o->ewres != 0) || !(o->nsres != 0) || !isfinite(o->ewres) ||
        !isfinite(o->nsres))
        return "terrain: pixel sizes must be finite and not 0 (start from "
               "TES_TERRAIN_OPTIONS_INIT)";
    if (!(o->scale > 0) || !isfinite(o->scale))
        return "terrain: scale must be > 0";
    if (!isfinite(o->z) || !isfinite(o->azimuth) || !isfinite(o->altitude))
        return "terrain: z, azimuth and altitude must be finite";
    if (o->band < 0)
        return "terrain: band must be >= 0";
    if ((unsigned)o->kind > TES_TERRAIN_ROUGHNESS)
        return "terrain: unknown kind";
    if ((unsigned)o->tri_alg > TES_TRI_WILSON)
        return "terrain: unknown TRI algorithm";
    if ((o->multidirectional != 0) + (o->combined != 0) + (o->igor != 0) > 1)
        return "terrain: multidirectional, combined and igor exclude each "
               "other";
    for (size_t i = 0; i < sizeof o->reserved_int / sizeof o->reserved_int[0];
         i++)
        if (o->reserved_int[i])
            return "terrain: reserved options must be zero";
    for (size_t i = 0; i < sizeof o->reserved_dbl / sizeof o->reserved_dbl[0];
         i++)
        if (o->reserved_dbl[i] != 0)
            return "terrain: reserved options must be zero";
    return NULL;
}

int tes__kernel_terrain(tes_kernel *k, tes_terrain_state *st,
                        const tes_terrain_options *o)
{
    if (!k || !st || !o || terrain_refusal(o))
        return -EINVAL;
    memset(st, 0, sizeof *st);
    st->o = *o;
    st->inv_ew = 1.0 / (o->ewres * o->scale);
    st->inv_ns = 1.0 / (o->nsres * o->scale);
    st->zf = o->z / (o->zt ? 2.0 : 8.0);
    st->zf2 = st->zf * st->zf;
    double alt = o->altitude * RAD, az = o->azimuth * RAD;
    st->sin_alt = sin(alt);
    st->sin_alt254 = 254.0 * sin(alt);
    st->cos_az_alt_z = cos(az) * cos(alt) * st->zf;
    st->sin_az_alt_z = sin(az) * cos(alt) * st->zf;
    st->cos_az_alt_z254 = 254.0 * st->cos_az_alt_z;
    st->sin_az_alt_z254 = 254.0 * st->sin_az_alt_z;
    st->md_sin127 = 127.0 * sin(alt);
    st->md_cos127 = 127.0 * cos(alt) * st->zf;
    st->md_cos225_127 = 127.0 * cos(225 * RAD) * cos(alt) * st->zf;
    /* Igor: the aspect (gdaldem's atan2 convention) facing the light, in
     * [0, 2 pi) as gdaldem takes it (fmod) */
    st->igor_light = fmod(M_PI * 3 / 2 - az, 2 * M_PI);
    if (st->igor_light < 0)
        st->igor_light += 2 * M_PI;
    if (o->kind == TES_TERRAIN_HILLSHADE)
        st->out_nodata = 0.0f;
    else if (o->kind == TES_TERRAIN_ASPECT && o->zero_for_flat)
        st->out_nodata = 0.0f;
    else
        st->out_nodata = -9999.0f;

    tes_kernel kk = TES_KERNEL_INIT;
    static const char *const names[] = { "slope", "aspect", "hillshade",
                                         "TRI", "TPI", "roughness" };
    kk.name = names[o->kind];
    kk.halo = 1;
    kk.edge = TES_EDGE_REPLICATE;
    kk.out_type = o->kind == TES_TERRAIN_HILLSHADE ? TES_U8 : TES_F32;
    kk.out_bands = 1;
    kk.tile = terrain_tile;
    kk.arg = st;
    if (o->kind == TES_TERRAIN_ASPECT && o->zero_for_flat) {
        kk.out_nodata_mode = TES_NODATA_NONE;
    } else {
        kk.out_nodata_mode = TES_NODATA_SET;
        kk.out_nodata = st->out_nodata;
    }
    *k = kk;
    return 0;
}

TES_API int tes_kernel_terrain_err(tes_kernel *k,
                                   const tes_terrain_options *o,
                                   tes_raster_error *err)
{
    if (!k || !o)
        return tes__kernel_err(err, -EINVAL, "terrain: no kernel or options");
    tes_kernel none = TES_KERNEL_INIT;
    *k = none;
    const char *why = terrain_refusal(o);
    if (why)
        return tes__kernel_err(err, -EINVAL, "%s", why);
    tes_terrain_state *st = malloc(sizeof *st);
    if (!st)
        return tes__kernel_err(err, -ENOMEM, "terrain: out of memory");
    tes__kernel_terrain(k, st, o);
    k->release = free;
    return 0;
}

TES_API int tes_kernel_terrain(tes_kernel *k, const tes_terrain_options *o)
{
    return tes_kernel_terrain_err(k, o, NULL);
}
