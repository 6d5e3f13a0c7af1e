/*
 * synth.c — synthetic terrain: multi-octave gradient (Perlin) noise, a
 * blend of smooth hills and ridges, with optional nodata holes. Each pixel
 * depends only on (seed, x, y), so any tiling and thread count gives the
 * same bytes. A generator kernel: no inputs, one float band converted to
 * the requested type.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tessera_kernels.h"

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double fade(double t) { return t * t * t * (t * (t * 6 - 15) + 10); }

/* The 8 gradient directions, as tables so the inner loop has no branch. */
static const double grad_x[8] = { 1, 1, -1, -1, 1, -1, 0, 0 };
static const double grad_y[8] = { 1, -1, 1, -1, 0, 0, 1, -1 };

static inline double grad(int h, double x, double y)
{
    return grad_x[h & 7] * x + grad_y[h & 7] * y;
}

/* Gradient noise in about [-1, 1], period 256 lattice cells, with the
 * row's lattice row Y, fraction yf and its fade v already worked out. */
static inline double noise_row(const uint8_t *p, double x, int Y, double yf,
                               double v)
{
    double fx = floor(x);
    int X = (int)((int64_t)fx & 255);
    double xf = x - fx;
    double u = fade(xf);
    int a = p[X] + Y, b = p[X + 1] + Y;
    double n00 = grad(p[a], xf, yf), n10 = grad(p[b], xf - 1, yf);
    double n01 = grad(p[a + 1], xf, yf - 1), n11 = grad(p[b + 1], xf - 1, yf - 1);
    double n0 = n00 + u * (n10 - n00), n1 = n01 + u * (n11 - n01);
    return n0 + v * (n1 - n0);
}

static double noise(const uint8_t *p, double x, double y)
{
    double fy = floor(y);
    double yf = y - fy;
    return noise_row(p, x, (int)((int64_t)fy & 255), yf, fade(yf));
}

/* Elevation in [0, 1] for the w pixel centres of row py starting at column
 * x0, into e (w doubles); ridge is scratch of w doubles. */
static void terrain_row(const tes_synth_state *s, int64_t x0, double py,
                        int w, double *e, double *ridge)
{
    const tes_synth_options *o = &s->o;
    double f = 1.0 / o->feature_px, amp = 1, norm = 0;
    for (int x = 0; x < w; x++)
        e[x] = ridge[x] = 0;
    for (int i = 0; i < o->octaves; i++) {
        double off = 37.17 * i;
        double y = py * f - off;
        double fy = floor(y);
        int Y = (int)((int64_t)fy & 255);
        double yf = y - fy, v = fade(yf);
        for (int x = 0; x < w; x++) {
            double px = (double)(x0 + x) + 0.5;
            double n = noise_row(s->perm, px * f + off, Y, yf, v);
            e[x] += amp * n;
            double r = 1 - fabs(n);
            ridge[x] += amp * r * r;
        }
        norm += amp;
        amp *= 0.5;
        f *= 2;
    }
    for (int x = 0; x < w; x++) {
        double h = 0.5 + 0.45 * e[x] / norm * 1.6;
        double rg = ridge[x] / norm;
        double t = 0.65 * h + 0.35 * rg * h * 1.4;
        e[x] = t < 0 ? 0 : t > 1 ? 1 : t;
    }
}

static bool hole(const tes_synth_state *s, double x, double y)
{
    if (s->o.holes <= 0)
        return false;
    double f = 4.0 / s->o.feature_px;
    double n = noise(s->perm, x * f + 101.3, y * f + 57.9) +
               0.5 * noise(s->perm, x * f * 2 - 11.1, y * f * 2 + 3.3);
    return n > s->hole_threshold;
}

/* The threshold on the hole field that leaves about `holes` of the pixels
 * above it, interpolated from fractions measured on a 2048x2048 area. */
static double hole_threshold(double holes)
{
    static const double f[] = { 0.0, 0.0149, 0.0247, 0.0425, 0.112, 0.232,
                                0.589 };
    static const double t[] = { 0.70, 0.587, 0.535, 0.47, 0.34, 0.21,
                                -0.05 };
    int i = 1;
    while (i < 6 && holes > f[i])
        i++;
    return t[i - 1] + (holes - f[i - 1]) * (t[i] - t[i - 1]) / (f[i] - f[i - 1]);
}

static int synth_tile(tes_tile_job *job)
{
    const tes_synth_state *s = job->arg;
    tes_tile *out = job->out;
    double *row = malloc(2 * (size_t)out->width * sizeof *row);
    if (!row)
        return tes_tile_fail(job, -ENOMEM, "out of memory");
    double *ridge = row + out->width;
    for (int y = 0; y < out->height; y++) {
        double py = (double)(out->y0 + y) + 0.5;
        terrain_row(s, out->x0, py, out->width, row, ridge);
        for (int x = 0; x < out->width; x++) {
            double px = (double)(out->x0 + x) + 0.5;
            row[x] = hole(s, px, py) ? s->o.nodata
                                     : s->o.base + s->o.relief * row[x];
        }
        for (int b = 0; b < out->bands; b++)
            tes_convert_samples(tes_tile_row(out, b, y), out->type, row,
                                TES_F64, (size_t)out->width);
    }
    free(row);
    return 0;
}

TES_API int tes_kernel_synth(tes_kernel *k, tes_synth_state *st,
                             const tes_synth_options *o)
{
    tes_synth_options d = TES_SYNTH_OPTIONS_INIT;
    if (!k || !st)
        return -EINVAL;
    if (!o)
        o = &d;
    if (o->octaves < 0 || o->octaves > 24 || !(o->feature_px >= 0) ||
        !isfinite(o->feature_px) || !(o->holes >= 0 && o->holes <= 0.5) ||
        !(o->relief >= 0) || !isfinite(o->relief) || !isfinite(o->base) ||
        (o->type != TES_TYPE_NONE && !tes_sample_size(o->type)))
        return -EINVAL;
    memset(st, 0, sizeof *st);
    st->o = *o;
    if (!st->o.octaves)
        st->o.octaves = 8;
    if (st->o.feature_px == 0)
        st->o.feature_px = 1024;
    if (st->o.relief == 0)
        st->o.relief = 2500;
    if (!st->o.type)
        st->o.type = TES_F32;
    st->hole_threshold = hole_threshold(st->o.holes);
    uint64_t seed = o->seed;
    for (int i = 0; i < 256; i++)
        st->perm[i] = (uint8_t)i;
    for (int i = 255; i > 0; i--) {
        int j = (int)(splitmix(&seed) % (uint64_t)(i + 1));
        uint8_t t = st->perm[i];
        st->perm[i] = st->perm[j];
        st->perm[j] = t;
    }
    memcpy(st->perm + 256, st->perm, 256);
    tes_kernel kk = TES_KERNEL_INIT;
    kk.name = "synth";
    kk.out_type = st->o.type;
    kk.out_bands = 1;
    kk.tile = synth_tile;
    kk.arg = st;
    if (st->o.holes > 0) {
        kk.out_nodata_mode = TES_NODATA_SET;
        kk.out_nodata = st->o.nodata;
    } else {
        kk.out_nodata_mode = TES_NODATA_NONE;
    }
    *k = kk;
    return 0;
}

TES_API int tes_kernel_synth_alloc(tes_kernel *k, const tes_synth_options *o)
{
    if (!k)
        return -EINVAL;
    tes_kernel none = TES_KERNEL_INIT;
    *k = none;
    tes_synth_state *st = malloc(sizeof *st);
    if (!st)
        return -ENOMEM;
    int rc = tes_kernel_synth(k, st, o);
    if (rc) {
        free(st);
        return rc;
    }
    k->release = free;
    return 0;
}

TES_API void tes_synth_geotransform(double gt[6])
{
    gt[0] = 500000.0;
    gt[1] = 30.0;
    gt[2] = 0.0;
    gt[3] = 5000000.0;
    gt[4] = 0.0;
    gt[5] = -30.0;
}
