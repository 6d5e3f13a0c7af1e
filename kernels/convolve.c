/*
 * convolve.c — 2-D convolution with a user kernel and separable Gaussian
 * blur, edges replicated (the window's fill), every band. Nodata-aware:
 * a nodata centre stays nodata; in convolve a nodata neighbour takes the
 * centre's value, in blur nodata pixels get no weight (the weights of the
 * valid ones are renormalised). The kernel is applied as written
 * (correlation, like vips conv), not flipped.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels_builtin.h"

#if defined(__GNUC__) && !defined(__clang__)
/* The row loops are worth GCC's full vectoriser (-O2 tries only trivial
 * loops); no result changes: nothing here reads errno or traps. */
#pragma GCC optimize("O3", "no-math-errno", "no-trapping-math")
#endif

int tes__conv_parse(tes_conv_state *st, const char *text, bool normalize,
                    char *msg, size_t msg_size)
{
    memset(st, 0, sizeof *st);
    int rows = 0, cols = -1, n = 0;
    const char *s = text;
    if (!text)
        return -EINVAL;
    for (;;) {
        int c = 0;
        for (;;) {
            while (*s == ' ' || *s == '\t' || *s == ',')
                s++;
            if (*s == ';' || *s == 0)
                break;
            char *end;
            double v = strtod(s, &end);
            if (end == s || !isfinite(v)) {
                snprintf(msg, msg_size, "kernel: bad number at column %d",
                         (int)(s - text) + 1);
                return -EINVAL;
            }
            if (n >= TES_CONV_MAX * TES_CONV_MAX || c >= TES_CONV_MAX) {
                snprintf(msg, msg_size, "kernel: more than %d columns",
                         TES_CONV_MAX);
                return -EINVAL;
            }
            st->w[n++] = v;
            c++;
            s = end;
        }
        if (c == 0 && *s == 0 && rows > 0 && s > text && s[-1] == ';')
            break; /* a trailing ';' */
        if (cols >= 0 && c != cols) {
            snprintf(msg, msg_size,
                     "kernel: row %d has %d values, row 1 has %d", rows + 1,
                     c, cols);
            return -EINVAL;
        }
        cols = c;
        rows++;
        if (rows > TES_CONV_MAX) {
            snprintf(msg, msg_size, "kernel: more than %d rows", TES_CONV_MAX);
            return -EINVAL;
        }
        if (*s == 0)
            break;
        s++;
    }
    if (cols <= 0) {
        snprintf(msg, msg_size, "kernel: no values");
        return -EINVAL;
    }
    if (rows % 2 == 0 || cols % 2 == 0) {
        snprintf(msg, msg_size, "kernel: %dx%d: sides must be odd", cols,
                 rows);
        return -EINVAL;
    }
    st->kw = cols;
    st->kh = rows;
    if (normalize) {
        double sum = 0;
        for (int i = 0; i < n; i++)
            sum += st->w[i];
        if (sum != 0)
            for (int i = 0; i < n; i++)
                st->w[i] /= sum;
    }
    return 0;
}

int tes__conv_gaussian(tes_conv_state *st, double sigma)
{
    if (!(sigma > 0) || sigma > TES_BLUR_MAX_SIGMA)
        return -EINVAL;
    memset(st, 0, sizeof *st);
    int r = (int)ceil(3 * sigma);
    double sum = 0;
    for (int i = -r; i <= r; i++)
        sum += st->w1d[i + r] = exp(-(double)i * i / (2 * sigma * sigma));
    for (int i = 0; i <= 2 * r; i++)
        st->w1d[i] /= sum;
    st->separable = true;
    st->radius = r;
    st->kw = st->kh = 2 * r + 1;
    return 0;
}

/* ---- tile functions ------------------------------------------------------ */

typedef struct nd_info {
    bool has;
    bool is_nan;
    double v;
} nd_info;

static inline bool nd_is(const nd_info *n, double v)
{
    return n->has && (v == n->v || (n->is_nan && v != v));
}

/* Window band b as doubles (ww * wh), and whether any is nodata. */
static bool load_band(const tes_tile *in, int b, double *dst,
                      const nd_info *nd)
{
    bool any = false;
    for (int y = 0; y < in->height; y++) {
        double *d = dst + (size_t)y * in->width;
        tes_convert_samples(d, TES_F64, tes_tile_row(in, b, y), in->type,
                            (size_t)in->width);
        if (nd->has)
            for (int x = 0; x < in->width; x++)
                any |= nd_is(nd, d[x]);
    }
    return any;
}

static void conv2d_band(const tes_conv_state *st, const double *src, int ww,
                        double *out, int ow, int oh, bool any_nd,
                        const nd_info *nd, double out_nd)
{
    int rx = st->kw / 2, ry = st->kh / 2;
    if (!any_nd) {
        for (int y = 0; y < oh; y++) {
            double *restrict o = out + (size_t)y * ow;
            memset(o, 0, sizeof(double) * (size_t)ow);
            for (int j = 0; j < st->kh; j++) {
                const double *row = src + (size_t)(y + j) * ww;
                for (int i = 0; i < st->kw; i++) {
                    double w = st->w[j * st->kw + i];
                    if (w == 0)
                        continue;
                    const double *restrict s = row + i;
                    for (int x = 0; x < ow; x++)
                        o[x] += w * s[x];
                }
            }
        }
        return;
    }
    for (int y = 0; y < oh; y++)
        for (int x = 0; x < ow; x++) {
            double c = src[(size_t)(y + ry) * ww + x + rx];
            if (nd_is(nd, c)) {
                out[(size_t)y * ow + x] = out_nd;
                continue;
            }
            double acc = 0;
            for (int j = 0; j < st->kh; j++)
                for (int i = 0; i < st->kw; i++) {
                    /* zero weights are skipped as in the loop above, so
                     * that an infinite neighbour under a 0 weight gives
                     * the same pixel whichever loop its tile takes (0 *
                     * inf would be NaN here only: found by fuzz_convolve) */
                    double w = st->w[j * st->kw + i];
                    if (w == 0)
                        continue;
                    double v = src[(size_t)(y + j) * ww + x + i];
                    acc += w * (nd_is(nd, v) ? c : v);
                }
            out[(size_t)y * ow + x] = acc;
        }
}

/* Separable pass over src (sw x sh) along x (dx=1) giving (sw-2r) x sh, or
 * along y giving sw x (sh-2r). */
static void pass(const double *w1, int r, const double *restrict src,
                 int sw, int sh, double *restrict dst, bool along_x)
{
    int dw = along_x ? sw - 2 * r : sw, dh = along_x ? sh : sh - 2 * r;
    for (int y = 0; y < dh; y++) {
        double *o = dst + (size_t)y * dw;
        memset(o, 0, sizeof(double) * (size_t)dw);
        for (int k = 0; k <= 2 * r; k++) {
            double w = w1[k];
            const double *restrict s = along_x ? src + (size_t)y * sw + k
                                               : src + (size_t)(y + k) * sw;
            for (int x = 0; x < dw; x++)
                o[x] += w * s[x];
        }
    }
}

static void blur_band(const tes_conv_state *st, double *src, int ww, int wh,
                      double *out, int ow, int oh, bool any_nd,
                      const nd_info *nd, double out_nd, double *tmp,
                      double *mask, double *mtmp, double *mout)
{
    int r = st->radius;
    if (!any_nd) {
        pass(st->w1d, r, src, ww, wh, tmp, true);
        pass(st->w1d, r, tmp, ow, wh, out, false);
        return;
    }
    size_t n = (size_t)ww * wh;
    for (size_t i = 0; i < n; i++) {
        bool bad = nd_is(nd, src[i]);
        mask[i] = bad ? 0.0 : 1.0;
        if (bad)
            src[i] = 0;
    }
    pass(st->w1d, r, src, ww, wh, tmp, true);
    pass(st->w1d, r, tmp, ow, wh, out, false);
    pass(st->w1d, r, mask, ww, wh, mtmp, true);
    pass(st->w1d, r, mtmp, ow, wh, mout, false);
    for (int y = 0; y < oh; y++)
        for (int x = 0; x < ow; x++) {
            size_t o = (size_t)y * ow + x;
            bool centre_bad = mask[(size_t)(y + r) * ww + x + r] == 0;
            out[o] = (centre_bad || !(mout[o] > 0)) ? out_nd : out[o] / mout[o];
        }
}

static int conv_tile(tes_tile_job *job)
{
    const tes_conv_state *st = job->arg;
    const tes_tile *in = &job->in[0];
    tes_tile *out = job->out;
    int ww = in->width, wh = in->height, ow = out->width, oh = out->height;
    int halo = (st->kw > st->kh ? st->kw : st->kh) / 2;
    if (ww != ow + 2 * halo || wh != oh + 2 * halo)
        return tes_tile_fail(job, -EINVAL, "convolve: bad window");
    /* a non-square kernel reads the middle of the square window */
    size_t off = (size_t)(halo - st->kh / 2) * ww + (size_t)(halo - st->kw / 2);
    nd_info nd = { in->has_nodata, false, in->nodata };
    if (nd.has) {
        nd.is_nan = isnan(nd.v);
        if (in->type == TES_F32)
            nd.v = (float)nd.v;
    }
    double out_nd = in->nodata; /* the output inherits it */
    size_t wn = (size_t)ww * wh, on = (size_t)ow * oh;
    size_t tn = (size_t)ow * wh;
    size_t total = wn + on + (st->separable ? 2 * tn + wn + on : 0);
    double *mem = malloc(total * sizeof(double));
    if (!mem)
        return tes_tile_fail(job, -ENOMEM, "out of memory");
    double *src = mem, *res = mem + wn;
    double *tmp = res + on, *mtmp = tmp + tn, *mask = mtmp + tn;
    double *mout = mask + wn;
    for (int b = 0; b < in->bands && b < out->bands; b++) {
        bool any = load_band(in, b, src, &nd);
        if (st->separable)
            blur_band(st, src, ww, wh, res, ow, oh, any, &nd, out_nd, tmp,
                      mask, mtmp, mout);
        else
            conv2d_band(st, src + off, ww, res, ow, oh, any, &nd, out_nd);
        for (int y = 0; y < oh; y++)
            tes_convert_samples(tes_tile_row(out, b, y), out->type,
                                res + (size_t)y * ow, TES_F64, (size_t)ow);
    }
    free(mem);
    return 0;
}

int tes__kernel_conv(tes_kernel *k, tes_conv_state *st)
{
    if (!k || !st || st->kw < 1 || st->kh < 1 || !(st->kw & 1) ||
        !(st->kh & 1))
        return -EINVAL;
    tes_kernel kk = TES_KERNEL_INIT;
    kk.name = st->separable ? "blur" : "convolve";
    /* the pipeline's windows grow equally on all sides */
    kk.halo = (st->kw > st->kh ? st->kw : st->kh) / 2;
    kk.edge = TES_EDGE_REPLICATE;
    kk.out_type = st->out_type;
    kk.tile = conv_tile;
    kk.arg = st;
    *k = kk;
    return 0;
}

/* ---- the public constructors ------------------------------------------- */

TES_API int tes_kernel_convolve(tes_kernel *k, const char *weights,
                                bool normalize, tes_raster_error *err)
{
    if (!k || !weights)
        return tes__kernel_err(err, -EINVAL, "kernel: none given");
    tes_kernel none = TES_KERNEL_INIT;
    *k = none;
    tes_conv_state *st = malloc(sizeof *st);
    if (!st)
        return tes__kernel_err(err, -ENOMEM, "kernel: out of memory");
    char msg[200];
    int rc = tes__conv_parse(st, weights, normalize, msg, sizeof msg);
    if (rc) {
        free(st);
        return tes__kernel_err(err, rc, "%s", msg);
    }
    tes__kernel_conv(k, st);
    k->release = free;
    return 0;
}

TES_API int tes_kernel_blur_err(tes_kernel *k, double sigma,
                                tes_raster_error *err)
{
    if (!k)
        return tes__kernel_err(err, -EINVAL, "blur: no kernel");
    tes_kernel none = TES_KERNEL_INIT;
    *k = none;
    if (!(sigma > 0) || sigma > TES_BLUR_MAX_SIGMA)
        return tes__kernel_err(err, -EINVAL,
                               "blur: sigma %g: expects 0 < sigma <= %g",
                               sigma, TES_BLUR_MAX_SIGMA);
    tes_conv_state *st = malloc(sizeof *st);
    if (!st)
        return tes__kernel_err(err, -ENOMEM, "blur: out of memory");
    tes__conv_gaussian(st, sigma);
    tes__kernel_conv(k, st);
    k->release = free;
    return 0;
}

TES_API int tes_kernel_blur(tes_kernel *k, double sigma)
{
    return tes_kernel_blur_err(k, sigma, NULL);
}
