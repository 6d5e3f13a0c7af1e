/*
 * tessera_kernels.h — the built-in kernels of libtessera_raster (terrain,
 * band math, convolution, Gaussian blur, statistics, synthetic terrain)
 * and the runner that applies any kernel to images in memory. See
 * tessera_kernels(3).
 *
 * A kernel (tes_kernel, tessera_raster.h) is a descriptor that either
 * runner takes: tes_raster_run over files, tes_raster_run_memory over
 * arrays; both give the same pixels, bit for bit, at any thread count.
 *
 * Ownership: every constructor below fills *k with a kernel whose state
 * it allocates (k->arg); tes_kernel_release frees that state, and NULL, a
 * zeroed kernel and a kernel whose constructor failed are all fine to
 * release. A copy of a tes_kernel shares the original's state: release
 * one of them, once. Nothing the constructor was given needs to outlive
 * the call.
 * After construction the caller may change k->name and k->out_type (the
 * output is then converted to that type, integers rounded and saturated)
 * and nothing else.
 *
 * Threads: a constructed kernel is read-only; any number of runs may use
 * it, one after another or at the same time, from any threads, until it
 * is released. Constructors and tes_kernel_release are safe on different
 * kernels from any threads.
 *
 * Errors: functions return 0 or a negative errno-style code. Where a
 * person needs words, an optional tes_raster_error (may be NULL) gets the
 * code and a one-line message that says what and where, with no trailing
 * newline: "expression: unexpected ')' at column 12".
 *
 * ABI: new terrain kinds are appended to tes_terrain_kind and new options
 * take the reserved fields, which must be zero (the _INIT macros zero
 * them), so programs built against this header keep working.
 */
#ifndef TESSERA_KERNELS_H
#define TESSERA_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tessera_raster.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------
 * Kernel descriptors
 * ------------------------------------------------------------------------ */

/* Calls k->release(k->arg) when there is one, then resets *k to
 * TES_KERNEL_INIT. NULL, a zeroed kernel and a kernel whose constructor
 * failed are fine. Not while a run uses k. */
TES_API void tes_kernel_release(tes_kernel *k);

/* The sample type and band count of k's output over inputs whose input 0
 * has type in0_type and in0_bands bands (TES_TYPE_NONE and 0 for a kernel
 * without inputs): what an output tile for tes_raster_run_memory must be.
 * Returns 0, or -EINVAL (NULL k, type or bands). */
TES_API int tes_kernel_output_format(const tes_kernel *k,
                                     tes_sample_type in0_type, int in0_bands,
                                     tes_sample_type *type, int *bands);

/* ------------------------------------------------------------------------
 * Terrain: slope, aspect, hillshade, TRI, TPI and roughness with gdaldem's
 * formulas and conventions
 * ------------------------------------------------------------------------ */

typedef enum tes_terrain_kind {
    TES_TERRAIN_SLOPE = 0,
    TES_TERRAIN_ASPECT = 1,
    TES_TERRAIN_HILLSHADE = 2,
    /* Since issue 14: */
    TES_TERRAIN_TRI = 3,       /* terrain ruggedness index */
    TES_TERRAIN_TPI = 4,       /* topographic position index */
    TES_TERRAIN_ROUGHNESS = 5  /* largest difference in the 3x3 window */
    /* new kinds are appended; values never change */
} tes_terrain_kind;

/* The TRI formula (gdaldem TRI -alg). */
typedef enum tes_tri_alg {
    TES_TRI_RILEY = 0,  /* sqrt of the sum of the 8 squared differences to
                           the centre (Riley et al. 1999; gdaldem's default,
                           for terrestrial DEMs) */
    TES_TRI_WILSON = 1  /* mean of the 8 absolute differences (Wilson et
                           al. 2007, for bathymetry) */
} tes_tri_alg;

/*
 * START FROM TES_TERRAIN_OPTIONS_INIT: a zeroed struct is NOT the defaults
 * (scale, z and the pixel sizes would be 0, azimuth north, the sun on the
 * horizon); tes_kernel_terrain refuses zero pixel sizes or scale.
 */
typedef struct tes_terrain_options {
    tes_terrain_kind kind;
    bool zt;               /* Zevenbergen-Thorne instead of Horn */
    double ewres, nsres;   /* geotransform[1] and [5] (nsres < 0 north-up);
                              1 and 1 for a file without a geotransform,
                              as gdaldem */
    double scale;          /* horizontal units per vertical unit (> 0) */
    double z;              /* vertical exaggeration (hillshade) */
    double azimuth;        /* degrees clockwise from north (hillshade) */
    double altitude;       /* degrees above the horizon (hillshade) */
    bool percent;          /* slope in percent instead of degrees */
    bool trigonometric;    /* aspect counter-clockwise from east */
    bool zero_for_flat;    /* aspect: 0 for flat cells and no nodata */
    bool compute_edges;    /* extrapolate edges as gdaldem does */
    bool multidirectional; /* hillshade from 225, 270, 315 and 360 */
    bool combined;         /* hillshade combined with slope */
    int band;              /* 0-based band of the input to use */
    /* Since issue 14 (they took reserved fields, so the layout holds): */
    int tri_alg;           /* TRI: a tes_tri_alg (0: Riley) */
    int igor;              /* hillshade: nonzero for Igor's (gdaldem -igor):
                              no sun elevation, slope times the facing */
    int reserved_int[6];   /* zero: room for later options */
    double reserved_dbl[4];
} tes_terrain_options;

/* gdaldem's defaults: slope, Horn, scale 1, z 1, sun at 315 and 45 degrees,
 * pixel sizes 1 and -1, band 0, TRI after Riley. */
#define TES_TERRAIN_OPTIONS_INIT                                             \
    { .kind = TES_TERRAIN_SLOPE, .zt = false, .ewres = 1.0, .nsres = -1.0,   \
      .scale = 1.0, .z = 1.0, .azimuth = 315.0, .altitude = 45.0,            \
      .percent = false, .trigonometric = false, .zero_for_flat = false,      \
      .compute_edges = false, .multidirectional = false, .combined = false,  \
      .band = 0, .tri_alg = TES_TRI_RILEY, .igor = 0 }

/*
 * Slope (float32 degrees or percent, nodata -9999), aspect (float32
 * degrees, nodata -9999; with zero_for_flat 0 for flat cells and no
 * nodata), hillshade (uint8 1..255, nodata 0; Igor's 0..255), TRI, TPI
 * or roughness (float32 in elevation units, nodata -9999): halo 1, one
 * input (band o->band of it), one output band; the output nodata is in
 * k->out_nodata_mode / k->out_nodata. Every kind has gdaldem's rules for
 * the outer ring and for windows that touch nodata (compute_edges).
 * Values are computed in double precision from the input's samples (gdaldem
 * reads float32 and sums TRI, TPI and roughness in float32: the two differ
 * by that rounding, see tessera_kernels(3)). TRI, TPI and roughness
 * ignore the pixel sizes, scale, z and the sun.
 * Returns 0, or -EINVAL (NULL k or o, zero or non-finite pixel sizes,
 * scale <= 0, non-finite z, azimuth or altitude, a negative band, an
 * unknown kind or tri_alg, more than one of multidirectional, combined
 * and igor, reserved fields not zero) or -ENOMEM.
 * tes_kernel_terrain_err says which in err.
 */
TES_API int tes_kernel_terrain(tes_kernel *k, const tes_terrain_options *o);
TES_API int tes_kernel_terrain_err(tes_kernel *k,
                                   const tes_terrain_options *o,
                                   tes_raster_error *err);

/* ------------------------------------------------------------------------
 * Colour relief: gdaldem color-relief's colour file and lookup
 * ------------------------------------------------------------------------ */

/* How a value between two entries of the colour file gets its colour. */
typedef enum tes_color_mode {
    TES_COLOR_INTERPOLATE = 0, /* linear between the two (gdaldem's default) */
    TES_COLOR_EXACT = 1,       /* an entry's own value only; others are
                                  0,0,0,0 (-exact_color_entry) */
    TES_COLOR_NEAREST = 2      /* the nearer entry (-nearest_color_entry) */
} tes_color_mode;

typedef struct tes_color_relief_options {
    tes_color_mode mode;
    bool alpha;             /* four bands, the fourth the entries' alpha */
    int band;               /* 0-based band of the input to colour */
    /* The band's nodata: what "nv" (and a .cpt's N) lines stand for. Without
     * it those lines are ignored, as gdaldem ignores them. */
    bool has_nodata;
    double nodata;
    /* The band's minimum and maximum (over valid pixels): what "N%" lines
     * are relative to; a file with percentages needs them (take them in a
     * first pass with tes_kernel_stats). */
    bool has_range;
    double min, max;
    /* The input's sample type when known: for 8- and 16-bit integers the
     * constructor tabulates every value once (a 256 KiB table for 16 bits)
     * and tiles look colours up; TES_TYPE_NONE is fine. */
    tes_sample_type in_type;
    int reserved_int[8];    /* zero */
    double reserved_dbl[4];
} tes_color_relief_options;

#define TES_COLOR_RELIEF_OPTIONS_INIT                                        \
    { .mode = TES_COLOR_INTERPOLATE, .alpha = false, .band = 0,              \
      .has_nodata = false, .nodata = 0.0, .has_range = false, .min = 0.0,    \
      .max = 0.0, .in_type = TES_TYPE_NONE }

/* What a colour file holds, from tes_color_file_scan. */
typedef struct tes_color_file_info {
    int lines;          /* lines read */
    int entries;        /* colour entries (nv and N lines included) */
    bool percent;       /* some values are N% (needs the band's range) */
    bool nodata_entry;  /* an nv (or .cpt N) line */
    bool gmt;           /* a GMT .cpt file (# COLOR_MODEL = RGB) */
} tes_color_file_info;

/*
 * The colour file's text as gdaldem reads it: lines "VALUE R G B [A]" or
 * "VALUE NAME [A]" with fields split at spaces, tabs, commas or colons;
 * VALUE a number, "N%" (of the band's range) or "nv" (nodata); NAME one of
 * gdaldem's named colours (white black red green blue yellow magenta cyan
 * aqua grey gray orange brown purple violet indigo); A 255 when absent;
 * lines starting with '#' or '/' are comments. A "# COLOR_MODEL = RGB"
 * line makes it a GMT .cpt: "Z0 R G B Z1 R G B" segments and "B|F|N R G
 * B" lines (only N, nodata, is used). Where gdaldem would silently misread
 * a line (a field that is not a finite number, a component outside
 * 0..255, a value without a colour, an unknown .cpt line) this refuses it.
 * Checks the text and fills info (when not NULL). Returns 0, or -EINVAL
 * with err ("colors: line 3: unknown colour 'reed'"; "colors: no colour
 * entries") or -ENOMEM.
 */
TES_API int tes_color_file_scan(const char *text, tes_color_file_info *info,
                                tes_raster_error *err);

/*
 * A kernel that colours band o->band of its one input by the colour file
 * text (copied): uint8 RGB, or RGBA with o->alpha, no nodata, halo 0. The
 * colours are gdaldem 3.6's byte for byte: its sorting, its treatment of
 * repeated values and of entries beside nodata, its rounding, values read
 * as float32 unless they are 8- or 16-bit integers; except that
 * TES_COLOR_EXACT matches every entry (gdaldem 3.6 matched only the
 * lowest, a bug later GDAL releases fixed). Returns 0, or with err:
 * -EINVAL (a line tes_color_file_scan refuses, a percentage without
 * o->has_range, no entry left, an unknown mode, a negative band, reserved
 * fields not zero, NULL k, colors or o) or -ENOMEM.
 */
TES_API int tes_kernel_color_relief(tes_kernel *k, const char *colors,
                                    const tes_color_relief_options *o,
                                    tes_raster_error *err);

/* The colour k gives value (rgba[3] is 255 without alpha entries): for
 * tests and legends. Returns 0, or -EINVAL when k is not a colour relief
 * kernel. */
TES_API int tes_color_relief_rgba(const tes_kernel *k, double value,
                                  unsigned char rgba[4]);

/* ------------------------------------------------------------------------
 * Band math: the expression language of raster-tool calc
 * ------------------------------------------------------------------------ */

/*
 * Compiles expr into a kernel of n_inputs inputs, named A, B, ... in the
 * order the runner is given them (A is band 1 of input A, A[2] its band
 * 2), with one output band of out_type (TES_TYPE_NONE: float32). The
 * language: numbers, + - * / % ^, unary -, < <= > >= == != && || !,
 * parentheses, where(c, a, b) min max abs sqrt exp log log10 pow sin cos
 * tan atan2 floor ceil round clamp(x, lo, hi) isnodata(X); see
 * raster-tool(1). Nodata inputs propagate, and a nodata or NaN result is
 * written as the output's nodata: gdal_calc's default for out_type (0 for
 * uint8, the type's lowest value for signed and highest for unsigned
 * integers, FLT_MAX for float32, DBL_MAX for float64), in k->out_nodata.
 * Returns 0, or with err filled: -EINVAL (a syntax error, with its column:
 * "expression: unexpected ')' at column 12"; a letter at or beyond
 * n_inputs; n_inputs outside 0..26 (0: a generator, for a constant
 * expression); NULL k or expr; an out_type with no size) or -ENOMEM. An input with fewer bands than the expression reads
 * fails the run ("input B has 1 band(s), not 2").
 */
TES_API int tes_kernel_calc(tes_kernel *k, const char *expr, int n_inputs,
                            tes_sample_type out_type, tes_raster_error *err);

/* Everything tes_kernel_calc decides, and the letter of each input. */
typedef struct tes_calc_options {
    int n_inputs;             /* inputs the runner is given, 1..26 */
    /* NULL: input i is letter 'A' + i. Else n_inputs letters, input i is
     * letters[i] ("AC": input 0 is A, input 1 is C); each letter at most
     * once. */
    const char *letters;
    tes_sample_type out_type; /* TES_TYPE_NONE: float32 */
    bool has_nodata;          /* false: gdal_calc's default for out_type */
    double nodata;            /* the output's nodata when has_nodata */
    int reserved_int[8];      /* zero */
} tes_calc_options;

#define TES_CALC_OPTIONS_INIT                                                \
    { .n_inputs = 1, .letters = NULL, .out_type = TES_TYPE_NONE,             \
      .has_nodata = false, .nodata = 0.0 }

/* tes_kernel_calc with options. Returns as tes_kernel_calc, and -EINVAL
 * when o is NULL, a letter is not A..Z or repeats, or the expression reads
 * a letter that no input has ("expression: reads C, which is not among
 * the inputs AB"). */
TES_API int tes_kernel_calc_opts(tes_kernel *k, const char *expr,
                                 const tes_calc_options *o,
                                 tes_raster_error *err);

/* What expr reads, without making a kernel: bit i of *letters is set when
 * it reads letter 'A' + i, and max_band[i] (when max_band is not NULL) is
 * the highest 1-based band it reads of that letter (0 when unread).
 * Returns 0, or -EINVAL with err (a syntax error, NULL expr or letters) or
 * -ENOMEM. */
TES_API int tes_calc_inputs(const char *expr, uint32_t *letters,
                            int max_band[26], tes_raster_error *err);

/* ------------------------------------------------------------------------
 * Convolution and Gaussian blur
 * ------------------------------------------------------------------------ */

/* Largest side of a convolution kernel. */
#define TES_CONVOLVE_MAX 63

/*
 * Convolves every band with weights: rows separated by ';', values by
 * spaces or commas ("1 2 1; 2 4 2; 1 2 1"), odd sides up to
 * TES_CONVOLVE_MAX, applied as written (correlation, not flipped) and
 * centred on the pixel; with normalize, the weights are divided by their
 * sum when it is not 0. Edges are replicated; a nodata pixel stays nodata
 * and a nodata neighbour counts as the centre's value. The output has the
 * input's type and bands (set k->out_type for another) and its nodata.
 * Returns 0, or with err filled: -EINVAL ("kernel: no values",
 * "kernel: bad number at column 7", "kernel: 2x2: sides must be odd", a
 * NULL k or weights) or -ENOMEM.
 */
TES_API int tes_kernel_convolve(tes_kernel *k, const char *weights,
                                bool normalize, tes_raster_error *err);

/* Largest sigma of tes_kernel_blur. */
#define TES_BLUR_MAX_SIGMA 80.0

/*
 * Separable Gaussian blur of every band with standard deviation sigma
 * pixels over a radius of ceil(3 sigma), edges replicated; nodata pixels
 * stay nodata and give no weight to their neighbours. Output as for
 * tes_kernel_convolve. Returns 0, or -EINVAL (NULL k, sigma not in
 * (0, TES_BLUR_MAX_SIGMA]) or -ENOMEM; tes_kernel_blur_err says which in
 * err.
 */
TES_API int tes_kernel_blur(tes_kernel *k, double sigma);
TES_API int tes_kernel_blur_err(tes_kernel *k, double sigma,
                                tes_raster_error *err);

/* ------------------------------------------------------------------------
 * Statistics and histograms (a reduction)
 * ------------------------------------------------------------------------ */

/* One band's statistics. NaN samples count as nodata. */
typedef struct tes_band_stats {
    uint64_t count;        /* valid pixels */
    uint64_t nodata_count;
    double min, max;       /* meaningful when count > 0 */
    double mean;
    double m2;             /* sum of squared deviations from mean */
} tes_band_stats;

/* Population standard deviation: sqrt(m2 / count); NaN when count is 0
 * or s is NULL. */
TES_API double tes_band_stats_stddev(const tes_band_stats *s);

/* Largest bin count of a histogram. */
#define TES_STATS_MAX_BINS 1000000

/*
 * Per-band statistics of an input of `bands` bands (its band count) and,
 * when bins > 0, a histogram of bins equal bins over [lo, hi] (values
 * outside are not counted; hi falls in the last bin). A pure reduction:
 * run it with out NULL (no output file) and a result of k->partial_size
 * bytes, which holds `bands` tes_band_stats, then bands * bins uint64_t
 * counts (band by band); tes_stats_band and tes_stats_histogram read it.
 * Sums are pairwise within a tile and tiles merge in order, so the result
 * does not depend on the thread count. Returns 0, or -EINVAL (NULL k,
 * bands < 1, bins < 0 or > TES_STATS_MAX_BINS, with bins a non-finite
 * range or hi < lo) or -ENOMEM; tes_kernel_stats_ranges says which in err.
 */
TES_API int tes_kernel_stats(tes_kernel *k, int bands, int bins, double lo,
                             double hi);

/* The same with a histogram range per band: [lo[b], hi[b]] for band b,
 * arrays of `bands` values (copied), read only when bins > 0 (then they
 * must not be NULL). Returns as tes_kernel_stats, with err filled. */
TES_API int tes_kernel_stats_ranges(tes_kernel *k, int bands, int bins,
                                    const double *lo, const double *hi,
                                    tes_raster_error *err);

/* Band b's statistics in a stats result. */
static inline const tes_band_stats *tes_stats_band(const void *result, int b)
{
    return (const tes_band_stats *)result + b;
}

/* Band b's bins counts in a stats result of `bands` bands. */
static inline const uint64_t *tes_stats_histogram(const void *result,
                                                  int bands, int bins, int b)
{
    return (const uint64_t *)((const tes_band_stats *)result + bands) +
           (size_t)b * (size_t)bins;
}

/* ------------------------------------------------------------------------
 * Synthetic terrain
 * ------------------------------------------------------------------------ */

/* tes_kernel_synth (tessera_raster.h) with state of its own, freed by
 * tes_kernel_release. o NULL: TES_SYNTH_OPTIONS_INIT. Returns 0, -EINVAL
 * (as tes_kernel_synth) or -ENOMEM. */
TES_API int tes_kernel_synth_alloc(tes_kernel *k, const tes_synth_options *o);

/* ------------------------------------------------------------------------
 * Running a kernel over images in memory
 * ------------------------------------------------------------------------ */

typedef struct tes_memory_options {
    int tile_width, tile_height; /* > 0; 0: 256, the file pipeline's
                                    default, whose reduction results this
                                    then equals bit for bit */
    int max_in_flight;           /* for a reduction or with progress:
                                    tiles started, not yet combined;
                                    0: 2 * threads + 2 */
    /* Called on the calling thread, one call at a time, after each tile is
     * done (done = 1..total). Nonzero stops the run with -ECANCELED (out
     * is then partly written). */
    int (*progress)(uint64_t done, uint64_t total, void *ctx);
    void *progress_ctx;
    /* Since issue 15, in room that was reserved (zero in older callers):
     * the run's memory budget, in bytes, as tes_pipeline_options'. Before
     * it allocates anything k or these options make large (reduction
     * partials of the tiles in flight, window buffers), the run
     * estimates what it will take (tes_raster_run_memory_estimate) and
     * refuses with TES_ETOOBIG when that exceeds the budget. The images
     * and result are the caller's and do not count. 0:
     * tes_memory_default(); UINT64_MAX: no limit. */
    uint64_t memory_limit;
    /* Memory the caller allocates for this run besides its images (a
     * result buffer, a staging image), counted in the estimate;
     * extra_name names it in the refusal (NULL: "the caller's
     * buffers"). As tes_pipeline_options' fields of the same names. */
    uint64_t extra_bytes;
    const char *extra_name;
    void *reserved[1];           /* zero */
} tes_memory_options;

/* All zeros: a zeroed tes_memory_options is the defaults too. */
#define TES_MEMORY_OPTIONS_INIT                                              \
    { .tile_width = 0, .tile_height = 0, .max_in_flight = 0,                 \
      .progress = NULL, .progress_ctx = NULL, .memory_limit = 0,             \
      .extra_bytes = 0, .extra_name = NULL }

/*
 * Runs k over in-memory images the way tes_raster_run runs it over files:
 * output tiles (256 x 256) in parallel on pool (NULL: on the calling
 * thread), input windows grown by k->halo with the edges filled as k->edge
 * asks (the file pipeline's own edge filling), reductions combined in
 * tile order, so the result equals the file pipeline's, bit for bit, at
 * any thread count.
 *
 *   in, n_in   the input images: each tes_tile is a whole image (its
 *              width x height is the raster; x0, y0 and the raster size
 *              fields are ignored); any strides (rows of a bigger array,
 *              padded rows, band-interleaved or planar bands); has_nodata
 *              and nodata are honoured. All of input 0's size. Read only.
 *              n_in 0 for a generator (synth): out gives the size.
 *   out        the output image, NULL for a pure reduction: input 0's
 *              size, the type and band count of tes_kernel_output_format,
 *              any strides, not overlapping any input. Every pixel is
 *              written; on success out->has_nodata and out->nodata say
 *              the output's nodata (k->out_nodata_mode), x0 = y0 = 0 and
 *              the raster size is its own.
 *   result     for a reduction: k->partial_size bytes that receive the
 *              combined result; may be NULL otherwise.
 *
 * The caller owns every buffer; nothing is kept after the call. Memory
 * beyond the images: a window buffer per tile running at once (for tiles
 * at the edges, or whose type the kernel converts; other windows are views
 * of the inputs), and for a reduction max_in_flight partials: estimated
 * against the options' memory_limit before any is allocated. A plain map
 * without a progress callback runs as one tes_parallel_for over the tiles
 * (the caller sleeps once, not once a tile); a reduction, or a run with
 * progress, awaits its tiles in order, max_in_flight ahead.
 *
 * Threads: any thread, including a task of pool, where the worker runs
 * tiles while it waits instead of sleeping. Several runs, of one kernel or
 * several, may go on at once on one pool or on different pools, with
 * different outputs.
 *
 * Returns 0 or, with err filled ("tile 12: slope: reason" for a kernel's
 * failure): -EINVAL (NULL k, an inconsistent kernel, n_in outside 0..26,
 * an input or output of the wrong size, type, bands or strides, overlap,
 * NULL out for a kernel with a tile function, NULL result for a
 * reduction), TES_ETOOBIG (over the options' memory_limit, checked before
 * anything is allocated or touched), -ENOMEM, -ECANCELED (the progress
 * callback), the kernel's
 * code (a positive or unknown one becomes TES_EKERNEL), TES_ESHUTDOWN or
 * TES_EFORKED (pool cannot take tasks).
 */
TES_API int tes_raster_run_memory(tes_pool *pool, const tes_kernel *k,
                                  const tes_tile *in, int n_in, tes_tile *out,
                                  void *result, tes_raster_error *err);

/* The same with options (NULL: the defaults). */
TES_API int tes_raster_run_memory_opts(tes_pool *pool, const tes_kernel *k,
                                       const tes_tile *in, int n_in,
                                       tes_tile *out, void *result,
                                       const tes_memory_options *o,
                                       tes_raster_error *err);

/* Checks a run's arguments as tes_raster_run_memory_opts does (result is
 * not needed) and estimates the memory it would allocate beyond the
 * caller's images, without allocating anything or running a tile: *bytes
 * (when not NULL) gets the estimate. Returns 0, TES_ETOOBIG (over
 * o->memory_limit, with err naming the total, the largest part and the
 * budget: "stats: needs about 5.6 GB of memory (6 tiles in flight of
 * 800.0 MB each, mostly the kernel's partial result), more than the
 * memory budget of 1.0 GB"), or what the run would return for its
 * arguments. For a caller that allocates a reduction's result or a
 * staging image first: out may describe an image not allocated yet, its
 * data NULL (its size, type, bands and strides are checked, overlap with
 * the inputs is not). Any thread. */
TES_API int tes_raster_run_memory_estimate(tes_pool *pool,
                                           const tes_kernel *k,
                                           const tes_tile *in, int n_in,
                                           const tes_tile *out,
                                           const tes_memory_options *o,
                                           uint64_t *bytes,
                                           tes_raster_error *err);

#ifdef __cplusplus
}
#endif

#endif /* TESSERA_KERNELS_H */
