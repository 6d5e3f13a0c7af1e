/*
 * stats.c — per-band statistics as a pipeline reduction: each tile gives
 * count, nodata count, min, max, mean and the sum of squared deviations
 * (two passes over the tile, pairwise row sums), and tiles merge in tile
 * order with Chan et al.'s update, so results never depend on threads.
 * Optional fixed-range histograms. NaN samples count as nodata.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels_builtin.h"

#if defined(__GNUC__) && !defined(__clang__)
/* The row loops are worth GCC's full vectoriser (-O2 tries only trivial
 * loops); no result changes: nothing here reads errno or traps. */
#pragma GCC optimize("O3", "no-math-errno", "no-trapping-math")
#endif

/* Pairwise sum of v[0..n): error grows as O(log n), not O(n). */
static double pairwise(const double *v, size_t n)
{
    if (n <= 16) {
        double s = 0;
        for (size_t i = 0; i < n; i++)
            s += v[i];
        return s;
    }
    size_t h = n / 2;
    return pairwise(v, h) + pairwise(v + h, n - h);
}

void tes__stats_merge(tes_band_stats *a, const tes_band_stats *b)
{
    a->nodata_count += b->nodata_count;
    if (b->count == 0)
        return;
    if (a->count == 0) {
        uint64_t nd = a->nodata_count;
        *a = *b;
        a->nodata_count = nd;
        return;
    }
    double na = (double)a->count, nb = (double)b->count, n = na + nb;
    double delta = b->mean - a->mean;
    a->mean += delta * (nb / n);
    a->m2 += b->m2 + delta * delta * (na * nb / n);
    a->count += b->count;
    if (b->min < a->min)
        a->min = b->min;
    if (b->max > a->max)
        a->max = b->max;
}

TES_API double tes_band_stats_stddev(const tes_band_stats *s)
{
    return s && s->count ? sqrt(s->m2 / (double)s->count) : NAN;
}

static void stats_init(void *p, void *arg)
{
    const tes_stats_state *st = arg;
    memset(p, 0, st->partial_size);
    for (int b = 0; b < st->bands; b++) {
        tes_band_stats *s = tes__stats_band(p, b);
        s->min = INFINITY;
        s->max = -INFINITY;
    }
}

static void stats_combine(void *acc, const void *part, void *arg)
{
    const tes_stats_state *st = arg;
    for (int b = 0; b < st->bands; b++) {
        tes__stats_merge(tes__stats_band(acc, b),
                         tes__stats_band((void *)part, b));
        if (st->bins) {
            uint64_t *h = tes__stats_hist(acc, st, b);
            const uint64_t *g = tes__stats_hist((void *)part, st, b);
            for (int i = 0; i < st->bins; i++)
                h[i] += g[i];
        }
    }
}

static int stats_partial(tes_tile_job *job)
{
    const tes_stats_state *st = job->arg;
    const tes_tile *in = &job->in[0];
    int w = in->width, h = in->height;
    if (in->bands < st->bands)
        return tes_tile_fail(job, -EINVAL, "stats: %d bands, not %d",
                             in->bands, st->bands);
    /* one band at a time: values compacted (nodata dropped) in vals */
    double *row = malloc(sizeof(double) * (size_t)w * ((size_t)h + 1) +
                         sizeof(double) * (size_t)h);
    if (!row)
        return tes_tile_fail(job, -ENOMEM, "out of memory");
    double *vals = row + w, *rsum = vals + (size_t)w * h;
    bool has = in->has_nodata;
    double nd = in->type == TES_F32 ? (double)(float)in->nodata : in->nodata;
    for (int b = 0; b < st->bands; b++) {
        double lo = st->band_lo ? st->band_lo[b] : st->lo;
        double hi = st->band_hi ? st->band_hi[b] : st->hi;
        double scale = st->bins && hi > lo ? st->bins / (hi - lo) : 0;
        tes_band_stats *s = tes__stats_band(job->partial, b);
        size_t n = 0;
        double mn = INFINITY, mx = -INFINITY;
        for (int y = 0; y < h; y++) {
            tes_convert_samples(row, TES_F64, tes_tile_row(in, b, y),
                                in->type, (size_t)w);
            size_t n0 = n;
            for (int x = 0; x < w; x++) {
                double v = row[x];
                if (v != v || (has && v == nd))
                    continue;
                vals[n++] = v;
                mn = v < mn ? v : mn;
                mx = v > mx ? v : mx;
            }
            rsum[y] = pairwise(vals + n0, n - n0);
        }
        s->nodata_count = (uint64_t)w * h - n;
        s->count = n;
        if (n == 0)
            continue;
        s->min = mn;
        s->max = mx;
        double mean = pairwise(rsum, (size_t)h) / (double)n;
        double m2 = 0, comp = 0;
        for (size_t i = 0; i < n; i++) {
            double d = vals[i] - mean;
            m2 += d * d;
            comp += d;
        }
        /* the corrected two-pass form: removes the mean's rounding error */
        m2 -= comp * comp / (double)n;
        s->mean = mean + comp / (double)n;
        s->m2 = m2 < 0 ? 0 : m2;
        if (st->bins) {
            uint64_t *hist = tes__stats_hist(job->partial, st, b);
            for (size_t i = 0; i < n; i++) {
                double v = vals[i];
                if (v < lo || v > hi)
                    continue;
                long k = (long)((v - lo) * scale);
                if (k >= st->bins)
                    k = st->bins - 1;
                hist[k]++;
            }
        }
    }
    free(row);
    return 0;
}

int tes__kernel_stats(tes_kernel *k, tes_stats_state *st, int bands,
                      int bins, double lo, double hi)
{
    if (!k || !st || bands < 1 || bins < 0 || bins > 1000000 ||
        (bins && !(isfinite(lo) && isfinite(hi) && hi >= lo)))
        return -EINVAL;
    st->bands = bands;
    st->band_lo = st->band_hi = NULL;
    st->bins = bins;
    st->lo = lo;
    st->hi = hi;
    st->partial_size = sizeof(tes_band_stats) * (size_t)bands +
                       sizeof(uint64_t) * (size_t)bands * (size_t)bins;
    tes_kernel kk = TES_KERNEL_INIT;
    kk.name = "stats";
    kk.halo = 0;
    kk.partial_size = st->partial_size;
    kk.partial_init = stats_init;
    kk.reduce = stats_partial;
    kk.combine = stats_combine;
    kk.arg = st;
    *k = kk;
    return 0;
}

/* ---- the public constructors ------------------------------------------- */

/* A public stats kernel's state (first, so that k->arg is both) and the
 * per-band ranges it owns (2 * bands values: lo, then hi), one block. */
typedef struct stats_owned {
    tes_stats_state st;
    double range[];
} stats_owned;

/* Both constructors: one range lo1..hi1 for every band, or, when lo is
 * not NULL, lo[b]..hi[b] for band b (hi must then not be NULL). */
static int stats_make(tes_kernel *k, int bands, int bins, double lo1,
                      double hi1, const double *lo, const double *hi,
                      tes_raster_error *err)
{
    if (!k)
        return tes__kernel_err(err, -EINVAL, "stats: no kernel");
    tes_kernel none = TES_KERNEL_INIT;
    *k = none;
    if (bands < 1 || bands > 65535)
        return tes__kernel_err(err, -EINVAL,
                               "stats: %d bands: expects 1..65535", bands);
    if (bins < 0 || bins > TES_STATS_MAX_BINS)
        return tes__kernel_err(err, -EINVAL,
                               "stats: %d bins: expects 0..%d", bins,
                               TES_STATS_MAX_BINS);
    bool per_band = bins && lo;
    if (per_band && !hi)
        return tes__kernel_err(err, -EINVAL,
                               "stats: a histogram needs its range");
    for (int b = 0; bins && b < (per_band ? bands : 1); b++) {
        double l = per_band ? lo[b] : lo1, h = per_band ? hi[b] : hi1;
        if (!(isfinite(l) && isfinite(h) && h >= l))
            return tes__kernel_err(err, -EINVAL,
                                   "stats: histogram range [%g, %g]: "
                                   "expects finite lo <= hi", l, h);
    }
    size_t n = per_band ? 2 * (size_t)bands : 0;
    stats_owned *o = malloc(sizeof *o + n * sizeof(double));
    if (!o)
        return tes__kernel_err(err, -ENOMEM, "stats: out of memory");
    tes__kernel_stats(k, &o->st, bands, bins, bins ? lo1 : 0,
                      bins ? hi1 : 0);
    if (per_band) {
        memcpy(o->range, lo, (size_t)bands * sizeof(double));
        memcpy(o->range + bands, hi, (size_t)bands * sizeof(double));
        o->st.band_lo = o->range;
        o->st.band_hi = o->range + bands;
    }
    k->release = free;
    return 0;
}

TES_API int tes_kernel_stats_ranges(tes_kernel *k, int bands, int bins,
                                    const double *lo, const double *hi,
                                    tes_raster_error *err)
{
    /* NULL hi with lo, or lo NULL with bins: refused as "needs its range" */
    static const double none[1] = { 0 };
    return stats_make(k, bands, bins, 0, 0, bins ? (lo ? lo : none) : NULL,
                      lo ? hi : NULL, err);
}

TES_API int tes_kernel_stats(tes_kernel *k, int bands, int bins, double lo,
                             double hi)
{
    return stats_make(k, bands, bins, lo, hi, NULL, NULL, NULL);
}
