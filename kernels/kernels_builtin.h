/*
 * kernels_builtin.h — private: the internals of the built-in kernels of
 * kernels/ (terrain, band math, convolution and blur, statistics) under
 * the public constructors of tessera_kernels.h, for those constructors,
 * the white-box tests and kern_bench. Not installed.
 *
 * Every tes__kernel_* function fills a tes_kernel whose arg points to a
 * caller-owned state struct: keep the state alive, unchanged, while the
 * kernel is in use. They return 0 or -EINVAL (bad options), -ENOMEM. The
 * public constructors allocate that state and set k->release.
 */
#ifndef TES_KERNELS_BUILTIN_H
#define TES_KERNELS_BUILTIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tessera_kernels.h"

/* ---- terrain: slope, aspect, hillshade with gdaldem's conventions ------ */

/* tes_terrain_kind, tes_terrain_options: tessera_kernels.h */

typedef struct tes_terrain_state {
    tes_terrain_options o;
    double inv_ew, inv_ns;   /* 1 / (res * scale) */
    double zf, zf2;          /* z / 8 (Horn) or z / 2 (ZT), squared */
    double sin_alt, sin_alt254, cos_az_alt_z, sin_az_alt_z;
    double cos_az_alt_z254, sin_az_alt_z254;
    double md_sin127, md_cos127, md_cos225_127;
    double igor_light;       /* Igor: 3 pi / 2 - azimuth, in [0, 2 pi) */
    float out_nodata;        /* value written for nodata (and flat aspect) */
} tes_terrain_state;

/* Fills k: halo 1, one input, one output band, float32 (slope, aspect,
 * TRI, TPI, roughness) or uint8 (hillshade), and the output's nodata. */
int tes__kernel_terrain(tes_kernel *k, tes_terrain_state *st,
                        const tes_terrain_options *o);
/* The value for one 3x3 window w (row-major, no nodata in it), as the
 * kernel computes it before storing (for tests). */
double tes__terrain_value(const tes_terrain_state *st, const double w[9]);

/* ---- calc: band math ---------------------------------------------------- */

typedef struct tes_expr tes_expr; /* compiled expression, opaque */

typedef struct tes_expr_error {
    int column;       /* 1-based column of the problem, 0 when none */
    char message[200]; /* "unexpected ')' at column 12" */
} tes_expr_error;

/* Compiles text. Returns 0 and *e, or -EINVAL with err filled, -ENOMEM.
 * Free with tes__expr_free (NULL fine). */
int tes__expr_compile(tes_expr **e, const char *text, tes_expr_error *err);
void tes__expr_free(tes_expr *e);
/* Bit i set when input i (A = 0) is read; *max_band[i] the highest band
 * (1-based) read of input i. */
uint32_t tes__expr_inputs(const tes_expr *e, int max_band[26]);
/* Evaluates e for one pixel: in[i][b] the value of input i band b
 * (nodata given by isnd[i][b]); returns NaN when the result is nodata.
 * Slow, for tests. */
double tes__expr_eval1(const tes_expr *e, const double *const *in,
                       const bool *const *isnd);

typedef struct tes_calc_state {
    const tes_expr *expr;
    int n_in;                 /* inputs the pipeline passes */
    int slot[26];             /* job->in index of input letter i (A = 0) */
    tes_sample_type out_type;
    double out_nodata;        /* written where the result is nodata */
} tes_calc_state;

/* Fills k: halo 0, out_bands 1, out_type st->out_type. Set slot[] (or
 * call tes__calc_slots_identity) before running. */
void tes__calc_slots_identity(tes_calc_state *st);
int tes__kernel_calc(tes_kernel *k, tes_calc_state *st);

/* ---- convolve and blur -------------------------------------------------- */

#define TES_CONV_MAX TES_CONVOLVE_MAX /* largest kernel side */

typedef struct tes_conv_state {
    int kw, kh;                  /* odd sizes */
    double w[TES_CONV_MAX * TES_CONV_MAX]; /* row-major weights */
    bool separable;              /* blur: w1d used twice */
    int radius;                  /* separable: half width */
    double w1d[2 * 256 + 1];
    tes_sample_type out_type;    /* NONE: as the input */
} tes_conv_state;

/* Parses "1 2 1; 2 4 2; 1 2 1" (rows split by ';', numbers by spaces or
 * commas; odd sizes up to TES_CONV_MAX). With normalize, divides by the
 * sum when it is not 0. Returns 0 or -EINVAL with msg. */
int tes__conv_parse(tes_conv_state *st, const char *text, bool normalize,
                    char *msg, size_t msg_size);
/* A normalised Gaussian of sigma (0 < sigma <= 80), radius ceil(3 sigma). */
int tes__conv_gaussian(tes_conv_state *st, double sigma);
/* Fills k: halo = radius, edges replicated, all bands. */
int tes__kernel_conv(tes_kernel *k, tes_conv_state *st);

/* ---- statistics --------------------------------------------------------- */

/* tes_band_stats: tessera_kernels.h */

typedef struct tes_stats_state {
    int bands;
    int bins;              /* 0: no histogram */
    double lo, hi;         /* histogram range (bins > 0) */
    const double *band_lo; /* NULL, or a range per band (bands entries, */
    const double *band_hi; /* set after tes__kernel_stats, kept alive) */
    size_t partial_size;
} tes_stats_state;

/* The partial/result layout: bands tes_band_stats, then, when bins > 0,
 * bands * bins uint64_t counts. */
static inline tes_band_stats *tes__stats_band(void *p, int b)
{
    return (tes_band_stats *)p + b;
}
static inline uint64_t *tes__stats_hist(void *p, const tes_stats_state *st,
                                        int b)
{
    return (uint64_t *)((tes_band_stats *)p + st->bands) +
           (size_t)b * (size_t)st->bins;
}

/* Fills k: a pure reduction, halo 0. bands must be the input's count. */
int tes__kernel_stats(tes_kernel *k, tes_stats_state *st, int bands,
                      int bins, double lo, double hi);
/* Combines b into a (Chan et al.): exact for counts, min, max. */
void tes__stats_merge(tes_band_stats *a, const tes_band_stats *b);

/* ---- colour relief ------------------------------------------------------- */

typedef struct tes__color_entry {
    double value;
    int rgba[4];
    int order;               /* place in the file, for a stable sort */
} tes__color_entry;

/* Between two entries: what interpolating there needs. */
typedef struct tes__color_span {
    double lo, width;        /* the lower entry's value; upper minus lower */
    double base[4], step[4]; /* 0.45 + lower's component; upper - lower */
} tes__color_span;

typedef struct tes_color_relief_state {
    tes__color_entry *e;     /* sorted, processed as gdaldem does */
    int n;
    tes__color_span *span;   /* n + 1; span i between entries i - 1, i */
    tes_color_mode mode;
    int band;
    bool alpha;
    unsigned char *lut;      /* NULL, or rgba of lut_n integer samples */
    int lut_lo, lut_n;       /* from lut_lo */
    tes_sample_type lut_type; /* the input type the table is for */
} tes_color_relief_state;

/* ---- shared by the public constructors (kernel_common.c) ---------------- */

/* Fills err (when not NULL) with code and the printf-style message;
 * returns code. */
int tes__kernel_err(tes_raster_error *err, int code, const char *fmt, ...)
    TES_PRINTF(3, 4);

#endif
