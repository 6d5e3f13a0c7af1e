/*
 * tessera_raster.h — tiled raster I/O and the tile pipeline
 * (libtessera_raster). See tessera_raster(3). The built-in kernels, and
 * the runner for images in memory, are in tessera_kernels.h.
 *
 * Four parts:
 *   1. Sample types and tile buffers (tes_tile): the only thing a kernel
 *      sees. Plain structs, stable layout, no files, no threads.
 *   2. Kernel descriptors (tes_kernel): halo, types, a per-tile function and,
 *      for reductions, a per-tile partial plus an in-order combine.
 *   3. Rasters (tes_raster): TIFF/BigTIFF files read through libtiff, with
 *      their GeoTIFF and GDAL tags; output options for tiled, compressed,
 *      atomic writes.
 *   4. The pipeline (tes_raster_run): runs a kernel over every output tile on
 *      a tessera pool, reading input windows through a bounded shared cache,
 *      compressing each output tile on the worker that made it, appending
 *      the tiles in a fixed order, renaming the output only on success.
 *
 * Errors: functions return 0 or a negative errno-style code, or one of the
 * TES_E... codes of tessera.h and below. Where a person needs more words,
 * they fill an optional tes_raster_error (may be NULL) whose message has the
 * form "FILE: reason" and never ends with a newline. Nothing here prints,
 * exits or aborts on a recoverable error.
 *
 * Threads: functions marked "any thread" may run concurrently; everything
 * else must not run concurrently on the same object.
 *
 * Options structs: start from their _INIT macros (designated
 * initializers, so fields added later get their defaults). A zeroed
 * tes_kernel or tes_pipeline_options is its INIT; a zeroed
 * tes_raster_create_options is NOT (see there).
 */
#ifndef TESSERA_RASTER_H
#define TESSERA_RASTER_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tessera.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Error codes of our own (negative, beside those of tessera.h). */
#define TES_EUNSUPPORTED (-10101) /* a valid file this library cannot read */
#define TES_ECORRUPT (-10102)     /* a truncated, lying or damaged file */
#define TES_EKERNEL (-10103)      /* a kernel failed without an errno code */
#define TES_ETOOBIG (-10104)      /* a run would take more memory than its
                                     budget (tes_pipeline_options) */

/* A constant string for any code this library returns (falls back to
 * tes_strerror() for the runtime's codes and to strerror for errno). */
TES_API const char *tes_raster_strerror(int code);

/* ------------------------------------------------------------------------
 * 1. Sample types and tile buffers
 * ------------------------------------------------------------------------ */

typedef enum tes_sample_type {
    TES_TYPE_NONE = 0, /* "unspecified": use the input's type */
    TES_U8,
    TES_I8,
    TES_U16,
    TES_I16,
    TES_U32,
    TES_I32,
    TES_F32,
    TES_F64
} tes_sample_type;

/* Bytes per sample (1, 2, 4 or 8); 0 for TES_TYPE_NONE or junk. */
TES_API size_t tes_sample_size(tes_sample_type t);
/* "uint8" "int8" "uint16" "int16" "uint32" "int32" "float32" "float64";
 * "none" for anything else. */
TES_API const char *tes_sample_type_name(tes_sample_type t);
/* Parses the names above (also "byte", "u8", "i16", "f32", ...).
 * Returns 0 and sets *t, or -EINVAL. */
TES_API int tes_sample_type_parse(const char *name, tes_sample_type *t);
TES_API bool tes_sample_type_is_float(tes_sample_type t);
TES_API bool tes_sample_type_is_signed(tes_sample_type t);

/*
 * A tile buffer: a rectangle of a raster's pixels in memory, all bands,
 * band-sequential ("planar"). Sample (band b, column x, row y), with
 * 0 <= x < width, 0 <= y < height, 0 <= b < bands, is at
 *
 *     (char *)data + ((size_t)b * band_stride + (size_t)y * stride + x)
 *                    * tes_sample_size(type)
 *
 * Strides count samples, not bytes. (x0, y0) is where column 0 / row 0 sit
 * in the raster: a halo window starts outside the raster at its edges, so
 * x0 and y0 may be negative and x0 + width may pass raster_width. Pixels
 * outside the raster were filled as the kernel's edge mode asked.
 *
 * The pipeline owns every tile it hands to a kernel; a kernel reads its
 * inputs, writes every pixel of its output, and keeps no pointer after it
 * returns.
 */
typedef struct tes_tile {
    void *data;             /* sample (0, 0, 0) */
    tes_sample_type type;   /* of every sample */
    int width, height;      /* pixels */
    int bands;              /* >= 1 */
    size_t stride;          /* samples from one row to the next, >= width */
    size_t band_stride;     /* samples from one band to the next,
                               >= stride * height */
    int64_t x0, y0;         /* raster position of column 0 / row 0 */
    int64_t raster_width;   /* size of the whole raster this tile is from */
    int64_t raster_height;
    bool has_nodata;        /* nodata holds the raster's nodata value */
    double nodata;
} tes_tile;

/* Pointer to row y of band b (no bounds checks). */
static inline void *tes_tile_row(const tes_tile *t, int b, int y)
{
    return (char *)t->data + ((size_t)b * t->band_stride +
                              (size_t)y * t->stride) * tes_sample_size(t->type);
}

/* Sample (b, x, y) as a double, and its store with C conversion rules
 * (no clamping: use tes_convert_samples for saturating conversion). Slow
 * paths for tests and references; kernels work on typed rows. */
TES_API double tes_tile_get(const tes_tile *t, int b, int x, int y);
TES_API void tes_tile_set(tes_tile *t, int b, int x, int y, double v);

/* Allocates a tile (stride = width, band_stride = width * height), zeroed,
 * with x0 = y0 = 0, raster size = its own size and no nodata.
 * Returns 0 or -EINVAL / -ENOMEM. Free with tes_tile_free (NULL fine);
 * only for tiles made by tes_tile_alloc. */
TES_API int tes_tile_alloc(tes_tile *t, tes_sample_type type, int width,
                           int height, int bands);
TES_API void tes_tile_free(tes_tile *t);

/* Converts n samples from src (type st) to dst (type dt). Float to integer
 * rounds to nearest and saturates at the type's range (NaN becomes 0);
 * everything else is exact or IEEE rounding. src and dst may be equal only
 * when st == dt. */
TES_API void tes_convert_samples(void *dst, tes_sample_type dt,
                                 const void *src, tes_sample_type st,
                                 size_t n);

/* ------------------------------------------------------------------------
 * 2. Kernels
 * ------------------------------------------------------------------------ */

/* What an input window holds beyond the raster's edges. */
typedef enum tes_edge_mode {
    TES_EDGE_REPLICATE = 0, /* the nearest edge pixel */
    TES_EDGE_NODATA = 1     /* the input's nodata value, else edge_fill */
} tes_edge_mode;

/* Where an output's nodata comes from: the nodata_mode of a
 * tes_kernel (what the kernel writes) and of tes_raster_create_options
 * (what the caller asks for; it wins unless it is TES_NODATA_INHERIT). */
#define TES_NODATA_INHERIT 0 /* kernel: input 0's, converted to the output
                                type; options: the kernel's */
#define TES_NODATA_NONE 1    /* no nodata */
#define TES_NODATA_SET 2     /* the value in the nodata field beside it */

/*
 * One call of a kernel on one output tile. The pipeline fills everything
 * but msg. in[i] is input i's window: the output tile's rectangle grown by
 * halo pixels on every side, of type kernel.in_type (or the raster's own
 * type), every band of the input. out is NULL for a pure reduction;
 * otherwise it has the tile's clipped size (edge tiles are smaller), type
 * out_type and out_bands bands, and out->has_nodata / out->nodata say the
 * output's nodata. partial is NULL unless the kernel reduces; then it
 * points to partial_size bytes set up by partial_init, for the kernel's
 * reduce callback to fill. Windows and out may have any strides.
 */
typedef struct tes_tile_job {
    const tes_tile *in;   /* n_in windows */
    int n_in;
    tes_tile *out;        /* NULL when the kernel has no tile function */
    void *partial;        /* the tile's partial result (the buffer);
                             NULL when the kernel does not reduce */
    void *arg;            /* tes_kernel.arg */
    int64_t tile_index;   /* row-major index in the output tile grid */
    int worker;           /* tes_worker_index(), or 0 off the pool */
    char msg[256];        /* a kernel's reason on failure (no file name) */
} tes_tile_job;

/* Helper for kernels: writes a printf-style reason into job->msg and
 * returns code (a negative errno or TES_E...), so that a kernel can
 * `return tes_tile_fail(job, -EDOM, "log of %g", v);`. */
static inline int tes_tile_fail(tes_tile_job *job, int code, const char *fmt,
                                ...) TES_PRINTF(3, 4);
static inline int tes_tile_fail(tes_tile_job *job, int code, const char *fmt,
                                ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(job->msg, sizeof job->msg, fmt, ap);
    va_end(ap);
    return code < 0 ? code : TES_EKERNEL;
}

/*
 * A kernel, described for the runners (tes_raster_run over files,
 * tes_raster_run_memory of tessera_kernels.h over arrays). Start from
 * TES_KERNEL_INIT, which is all zeros: a zeroed tes_kernel is the same.
 * The built-in kernels of tessera_kernels.h come from constructors.
 *
 * Callback roles: tile and reduce run concurrently on many workers, once
 * per output tile, in no particular order; they must be pure functions of
 * their job (arg is shared and read-only while a run uses the kernel, so
 * that several runs may use one kernel at once). partial_init and combine
 * run on the thread that called the runner, one at a time: combine folds
 * the tiles' partials into the result in row-major tile order, so a
 * reduction's result does not depend on the thread count. release runs
 * once, from tes_kernel_release (tessera_kernels.h). Callbacks return 0
 * or a negative code (with job->msg).
 */
typedef struct tes_kernel {
    const char *name;          /* for messages ("slope"); not copied */
    int halo;                  /* pixels of context on each side, >= 0 */
    tes_edge_mode edge;        /* fill beyond the raster's edges */
    double edge_fill;          /* TES_EDGE_NODATA without input nodata */
    tes_sample_type in_type;   /* windows converted to this; NONE: as is */
    tes_sample_type out_type;  /* NONE: input 0's type (in_type if set;
                                  float32 without inputs) */
    int out_bands;             /* 0: input 0's band count (1 without) */
    int (*tile)(tes_tile_job *job);    /* map; NULL for a pure reduction */
    /* Reductions (all four, or none): */
    size_t partial_size;               /* bytes of one partial */
    void (*partial_init)(void *partial, void *arg);
    union {
        /* Fills job->partial from the tile's windows (and job->out). */
        int (*reduce)(tes_tile_job *job);
        /* The same callback under its first name, kept so that older
         * code builds; new code says reduce. */
        int (*partial)(tes_tile_job *job);
    };
    void (*combine)(void *acc, const void *partial, void *arg);
    void *arg;                 /* passed to every callback */
    /* The nodata the kernel writes: TES_NODATA_INHERIT (input 0's, as the
     * output type stores it; none without inputs), TES_NODATA_NONE, or
     * TES_NODATA_SET with out_nodata. The runners give it to the output
     * (tile or file) unless the create options say otherwise. */
    int out_nodata_mode;
    double out_nodata;
    /* Frees arg (and whatever it owns); NULL: nothing to free. Called by
     * tes_kernel_release, never by a run. */
    void (*release)(void *arg);
    void *reserved[6];         /* zero: room for later fields */
} tes_kernel;

#define TES_KERNEL_INIT                                                      \
    { .name = NULL, .halo = 0, .edge = TES_EDGE_REPLICATE, .edge_fill = 0.0, \
      .in_type = TES_TYPE_NONE, .out_type = TES_TYPE_NONE, .out_bands = 0,   \
      .tile = NULL, .partial_size = 0, .partial_init = NULL,                \
      .reduce = NULL, .combine = NULL, .arg = NULL,                          \
      .out_nodata_mode = TES_NODATA_INHERIT, .out_nodata = 0.0,              \
      .release = NULL }

/* ------------------------------------------------------------------------
 * 3. Rasters
 * ------------------------------------------------------------------------ */

typedef struct tes_raster tes_raster; /* opaque */

/* A human-readable failure: code and "FILE: reason". */
typedef struct tes_raster_error {
    int code;
    char message[512];
} tes_raster_error;

/*
 * Georeferencing and GDAL tags exactly as stored in the file, so that they
 * can be carried to an output untouched. Arrays are NULL with count 0 when
 * the tag is absent. In a tes_raster_info they belong to the raster and
 * live until it is closed; given to tes_raster_create_options they are
 * copied during the run.
 */
typedef struct tes_georef {
    const double *pixel_scale;     /* ModelPixelScaleTag (33550), 3 */
    int n_pixel_scale;
    const double *tiepoints;       /* ModelTiepointTag (33922), 6 each */
    int n_tiepoints;
    const double *transformation;  /* ModelTransformationTag (34264), 16 */
    int n_transformation;
    const uint16_t *geokeys;       /* GeoKeyDirectoryTag (34735) */
    int n_geokeys;
    const double *geo_doubles;     /* GeoDoubleParamsTag (34736) */
    int n_geo_doubles;
    const char *geo_ascii;         /* GeoAsciiParamsTag (34737) */
    const char *gdal_metadata;     /* GDAL_METADATA (42112), XML */
    const char *gdal_nodata;       /* GDAL_NODATA (42113), as text */
} tes_georef;

/* A colour table (TIFF ColorMap): entry i of a palette band's index i is
 * (red[i], green[i], blue[i]), 0..65535 as TIFF stores them (GDAL shows
 * them as value / 256). n is at most 65536. */
typedef struct tes_colormap {
    int n;
    const uint16_t *red, *green, *blue;
} tes_colormap;

/* One reduced-resolution image (overview) stored with a raster. */
typedef struct tes_overview {
    int64_t width, height;
    bool external;           /* in FILE.ovr rather than in FILE */
} tes_overview;

/* Everything tes_raster_info reports. Strings and arrays belong to the
 * raster. */
typedef struct tes_raster_info {
    int64_t width, height;
    int bands;
    tes_sample_type type;
    bool tiled;              /* false: strips */
    int block_width;         /* tile width, or the image width for strips */
    int block_height;        /* tile height, or rows per strip */
    bool planar;             /* PLANARCONFIG_SEPARATE */
    int compression;         /* libtiff COMPRESSION_... code */
    const char *compression_name; /* "none" "deflate" "lzw" "zstd" ... */
    int predictor;           /* 1 none, 2 horizontal, 3 floating point */
    bool bigtiff;
    uint64_t file_size;      /* bytes */
    bool has_nodata;         /* parsed from GDAL_NODATA */
    double nodata;
    bool has_geotransform;   /* from pixel scale + tiepoint, or the matrix */
    double geotransform[6];  /* GDAL order: x0, dx, rx, y0, ry, dy
                                (pixel corner, "area" convention) */
    int epsg;                /* ProjectedCSType or GeographicType; 0 unknown */
    bool pixel_is_point;     /* GTRasterTypeGeoKey says PixelIsPoint */
    tes_georef georef;
    /* Since issue 13: */
    int bits;                /* bits per sample as stored: 1..64 (1-, 2-
                                and 4-bit samples read as uint8, 12-bit
                                as uint16, 16-bit floats as float32) */
    int photometric;         /* libtiff PHOTOMETRIC_... as stored */
    bool rgb;                /* the bands are red, green, blue[, alpha]
                                (RGB, or YCbCr decoded to RGB) */
    const tes_colormap *colormap; /* the band's colour table, or NULL:
                                palette images, and as GDAL shows them,
                                1-bit and min-is-white bands */
    int n_overviews;         /* reduced-resolution images, largest first */
    const tes_overview *overviews;
    int alpha_band;          /* 1-based band that is alpha (an ExtraSamples
                                associated or unassociated alpha: GDAL's
                                ColorInterp=Alpha), or 0 */
    bool alpha_associated;   /* that alpha is associated: the colours are
                                premultiplied by it (ExtraSamples 1,
                                GDAL's ALPHA=PREMULTIPLIED); false for
                                unassociated alpha (2) or no alpha */
} tes_raster_info;

/*
 * Opens a TIFF or BigTIFF for reading and checks, up front, everything the
 * reader needs: size, sample format and depth, band layout, blocks,
 * photometric and compression. What it cannot read is refused here with
 * TES_EUNSUPPORTED (palette, 1- or 12-bit, YCbCr subsampling, ...) or
 * TES_ECORRUPT (a missing required tag, offsets beyond the file, absurd
 * sizes), and err->message names the file and the property.
 * Returns 0 and sets *r, or, with err filled: -EINVAL (NULL r or path),
 * -EISDIR, -ENOMEM, -EIO, a negated errno of open(2) or fstat(2)
 * (-ENOENT, -EACCES, ...), TES_EUNSUPPORTED or TES_ECORRUPT. Close with
 * tes_raster_close. The file is read through libtiff handles that the
 * raster opens as needed, at most one per concurrent reader.
 */
TES_API int tes_raster_open(tes_raster **r, const char *path,
                            tes_raster_error *err);

/* Closes r and frees everything it owns. NULL is fine. Not while a read or
 * a pipeline that uses r runs. */
TES_API void tes_raster_close(tes_raster *r);

/* The raster's description; valid until tes_raster_close. Any thread. */
TES_API const tes_raster_info *tes_raster_info_get(const tes_raster *r);

/* The path r was opened with. Any thread. */
TES_API const char *tes_raster_path(const tes_raster *r);

/*
 * Reads the rectangle (x0, y0, dst->width, dst->height) of every band into
 * dst, converting to dst->type (dst->bands must equal the raster's band
 * count; dst's strides are honoured). Pixels outside the raster are filled
 * per edge/edge_fill as for kernels. Sets dst's x0, y0, raster size and
 * nodata. Any thread, concurrently: each call borrows its own libtiff
 * handle. A call holds three buffers of one block as the header sizes it
 * (the block decoded, the handle's stored and compressed forms), counted
 * against tes_memory_default() (looked up at r's first read) before any
 * is allocated. Returns 0, or with err filled: -EINVAL (NULL r, a dst
 * that does not suit r), TES_ETOOBIG (those buffers exceed the budget;
 * dst untouched), -ENOMEM, -EIO, TES_ECORRUPT or TES_EUNSUPPORTED (a
 * block that does not decode).
 */
TES_API int tes_raster_read(tes_raster *r, int64_t x0, int64_t y0,
                            tes_tile *dst, tes_edge_mode edge,
                            double edge_fill, tes_raster_error *err);

/* Output compression. */
typedef enum tes_compress {
    TES_COMPRESS_NONE = 0,
    TES_COMPRESS_DEFLATE,
    TES_COMPRESS_LZW,
    TES_COMPRESS_ZSTD
} tes_compress;

/* "none" "deflate" "lzw" "zstd"; Parse returns 0 or -EINVAL. */
TES_API const char *tes_compress_name(tes_compress c);
TES_API int tes_compress_parse(const char *name, tes_compress *c);

/* How overviews are computed from the level above (the names and
 * formulas of gdaladdo -r; see tessera_raster(3) for where they differ).
 * TES_RESAMPLE_AUTO is the GDAL COG driver's default: nearest for
 * palette images, cubic otherwise. */
typedef enum tes_resampling {
    TES_RESAMPLE_AUTO = 0,
    TES_RESAMPLE_NEAREST,
    TES_RESAMPLE_AVERAGE,
    TES_RESAMPLE_BILINEAR,
    TES_RESAMPLE_CUBIC,
    TES_RESAMPLE_MODE
} tes_resampling;

/* "auto" "nearest" "average" "bilinear" "cubic" "mode"; Parse returns 0
 * or -EINVAL (it also takes "near"). */
TES_API const char *tes_resampling_name(tes_resampling r);
TES_API int tes_resampling_parse(const char *name, tes_resampling *r);

typedef enum tes_bigtiff {
    TES_BIGTIFF_AUTO = 0, /* when the uncompressed size may pass ~4 GiB */
    TES_BIGTIFF_YES,
    TES_BIGTIFF_NO
} tes_bigtiff;

/*
 * How to write an output. START FROM TES_RASTER_CREATE_OPTIONS_INIT: a
 * zeroed struct is NOT the defaults (its compress, 0, means
 * TES_COMPRESS_NONE where the defaults say deflate); every other field's
 * zero is its default. Passing NULL for the options gives the defaults.
 * Pointers must stay valid until the call that uses the options returns.
 */
typedef struct tes_raster_create_options {
    int tile_width, tile_height; /* multiples of 16; 0: 256 */
    tes_compress compress;       /* default TES_COMPRESS_DEFLATE */
    int level;                   /* 0: codec default (deflate 6, zstd 9);
                                    deflate 1..12 (libdeflate), zstd 1..22 */
    int predictor;               /* -1: auto (2 for integers, 3 for floats
                                    when compressed); 1 none; 2; 3 */
    tes_bigtiff bigtiff;
    bool planar;                 /* write PLANARCONFIG_SEPARATE */
    bool overwrite;              /* false: an existing output is -EEXIST */
    /* Georeferencing to write. NULL: carried from input 0 of a pipeline
     * (tes_raster_run), none otherwise. */
    const tes_georef *georef;
    /* Nodata to write: TES_NODATA_INHERIT (what the kernel says it
     * writes: its out_nodata_mode, which by default is input 0's nodata
     * converted to the output type's range), TES_NODATA_NONE, or
     * TES_NODATA_SET with nodata. */
    int nodata_mode;
    double nodata;
    const char *software;        /* TIFFTAG_SOFTWARE; NULL: "tessera" */
    /* Since issue 13: */
    /* A colour table to write: the output (one band of uint8 or uint16)
     * is then palette indices (PHOTOMETRIC_PALETTE). NULL: none. Never
     * inherited: a kernel that computes new values has no table; pass
     * tes_raster_info.colormap when the band keeps its meaning. */
    const tes_colormap *colormap;
    bool rgb;                    /* bands 1-3 are red, green, blue
                                    (PHOTOMETRIC_RGB; 3 or more bands) */
    /* A Cloud-Optimized GeoTIFF: tiled, with internal overviews down to
     * one tile (each level computed from the one above with
     * overview_resampling), every IFD before the image data, the
     * overviews' data before the full resolution's, smallest first. */
    bool cog;
    tes_resampling overview_resampling;
    /* The last band is alpha: ExtraSamples says unassociated alpha (as
     * GDAL writes a band whose ColorInterp is Alpha). 2 or more bands:
     * grey and alpha, or with rgb red, green, blue and alpha. */
    bool alpha;
    /* With alpha: that alpha is associated instead (ExtraSamples 1, GDAL's
     * ALPHA=PREMULTIPLIED): the other bands are premultiplied by it. Pass
     * tes_raster_info.alpha_associated when the bands keep their meaning.
     * Overviews (cog) of unassociated alpha leave transparent pixels out,
     * as GDAL's do; of associated alpha they average every pixel, which
     * is exact for premultiplied colours (see tessera_raster(3)). Without
     * alpha: -EINVAL. */
    bool alpha_associated;
} tes_raster_create_options;

#define TES_RASTER_CREATE_OPTIONS_INIT                                       \
    { .tile_width = 0, .tile_height = 0, .compress = TES_COMPRESS_DEFLATE,    \
      .level = 0, .predictor = -1, .bigtiff = TES_BIGTIFF_AUTO,              \
      .planar = false, .overwrite = false, .georef = NULL,                   \
      .nodata_mode = TES_NODATA_INHERIT, .nodata = 0.0, .software = NULL,    \
      .colormap = NULL, .rgb = false, .cog = false,                          \
      .overview_resampling = TES_RESAMPLE_AUTO, .alpha = false,              \
      .alpha_associated = false }

/* Fills g's arrays for a north-up geotransform (GDAL order, dy < 0 for
 * north-up) and an EPSG code (projected when >= 2000 and not 4xxx
 * geographic; 0: no CRS key), in storage returned in *owned: release it
 * with tes_georef_release(g, *owned) once g is no longer used (a georef
 * given to create options is copied during the run). Returns 0, -EINVAL
 * (NULL g, owned or geotransform, or a non-finite value) or -ENOMEM; on
 * failure *owned is NULL. */
TES_API int tes_georef_from_geotransform(tes_georef *g, void **owned,
                                         const double geotransform[6],
                                         int epsg);

/* Frees the storage tes_georef_from_geotransform returned in owned and
 * clears g (when not NULL), so that nothing points into freed memory.
 * NULL owned is fine. (The storage is one malloc block, so free() has
 * always worked too.) */
TES_API void tes_georef_release(tes_georef *g, void *owned);

/* What an output keeps of what the input's bands mean, when output band b
 * holds input band bands[b] (0-based; bands NULL: all n = in->bands in
 * order) as samples of type (TES_TYPE_NONE: the input's) with their values
 * unchanged otherwise, as raster-tool convert writes them. Sets opts's
 * colormap, rgb, alpha and alpha_associated, and nothing else:
 *   colormap   in->colormap, when the output is the input's band 1 (the
 *              palette band; any others are extra samples) alone, of the
 *              input's type (a different type changes what the indices
 *              are);
 *   rgb        when the input is RGB and output bands 1-3 are its bands
 *              1-3 in order;
 *   alpha      when the input has an alpha band and it is the last of two
 *              or more output bands (four or more with rgb), with
 *              alpha_associated as the input's: what the bands hold does
 *              not change with their type.
 * Cleared where the rule does not keep them. opts->colormap then points
 * into in: use opts before closing the input. The raster-tool convert
 * command and the Python package's convert both call this, so the two
 * write the same file. */
TES_API void tes_raster_keep_meaning(tes_raster_create_options *opts,
                                     const tes_raster_info *in,
                                     const int *bands, int n,
                                     tes_sample_type type);

/* ------------------------------------------------------------------------
 * 4. The pipeline
 * ------------------------------------------------------------------------ */

/* What a run did, for tuning and benchmarks (tes_pipeline_options.stats). */
typedef struct tes_run_stats {
    uint64_t tiles;           /* output tiles computed, overview levels
                                 included */
    uint64_t blocks_decoded;  /* input blocks decoded, each re-decode of a
                                 block evicted too early counted again */
    uint64_t spill_written;   /* bytes written to temporary tile files
                                 (tiles waiting for their turn, COG levels) */
    uint64_t spill_read;      /* bytes read back from them */
} tes_run_stats;

typedef struct tes_pipeline_options {
    /* Output size when there are no inputs (generators such as synth);
     * otherwise every input must have input 0's size, which the output
     * gets. */
    int64_t width, height;
    size_t cache_bytes;     /* upper bound of the decoded input block
                               cache; 0: 64 MiB. A block is dropped once
                               the last window that reads it is done, so
                               a copy keeps only blocks in flight, and a
                               focal kernel about two rows of blocks. */
    int max_in_flight;      /* output tiles started but not yet handed
                               to the writer;
                               0: 2 * threads + 2 */
    /* Called on the calling thread, one call at a time, after each tile is
     * handed to the writer, which may hold a few before they reach the
     * file (done = 1..total). Nonzero stops the run with -ECANCELED. */
    int (*progress)(uint64_t done, uint64_t total, void *ctx);
    void *progress_ctx;
    /* One process's share of a run spread over several (see 5. below);
     * NULL: this process runs every tile. */
    const struct tes_pipeline_dist *dist;
    /* Since issue 13: filled (not added to) when the run returns, if not
     * NULL. */
    tes_run_stats *stats;
    /* Since issue 15: the memory budget of the run, in bytes. Before it
     * allocates anything its inputs' headers or these options make large
     * (tiles in flight with their windows, encoded tiles and reduction
     * partials, decoded blocks, the cache, block and tile indexes, the
     * writer, a COG's levels and their stores), a run estimates what it
     * will take (tes_raster_run_estimate) and refuses with TES_ETOOBIG
     * when that exceeds the budget. 0: tes_memory_default(); UINT64_MAX:
     * no limit. */
    uint64_t memory_limit;
    /* Since issue 15: memory the caller allocates for this run besides
     * what the run itself does (a result larger than the kernel's
     * partial_size, buffers it fills afterwards), counted in the estimate
     * against memory_limit; extra_name names it when it is the largest
     * part ("the preview's sums"; NULL: "the caller's buffers"). */
    uint64_t extra_bytes;
    const char *extra_name;
} tes_pipeline_options;

/* All zeros: a zeroed tes_pipeline_options is the defaults too. */
#define TES_PIPELINE_OPTIONS_INIT                                            \
    { .width = 0, .height = 0, .cache_bytes = 0, .max_in_flight = 0,         \
      .progress = NULL, .progress_ctx = NULL, .dist = NULL,                 \
      .stats = NULL, .memory_limit = 0, .extra_bytes = 0,                    \
      .extra_name = NULL }

/* The default memory budget: TESSERA_MEMORY from the environment when it
 * is set (a size as tes_memory_parse reads it), else half of the memory
 * this process may use: the machine's, its cgroup's limit
 * (memory.max), RLIMIT_AS and RLIMIT_DATA, whichever is least. Any
 * thread. */
TES_API uint64_t tes_memory_default(void);

/* Reads a size: a positive number of bytes, with an optional binary unit
 * K, M, G or T (also KiB, MB, ...: all powers of 1024), e.g. "512M",
 * "1.5G"; "none" or "unlimited" is UINT64_MAX. Returns 0 or -EINVAL. */
TES_API int tes_memory_parse(const char *s, uint64_t *bytes);

/* Checks a run's arguments as tes_raster_run does (result is not needed)
 * and estimates the memory it would take, without allocating anything
 * large, reading pixels or creating files: *bytes (when not NULL) gets
 * the estimate. Returns 0, TES_ETOOBIG (over opts->memory_limit, with
 * err naming the largest part: tiles in flight and the kernel's partial
 * results, decoded blocks, the cache) or what tes_raster_run would
 * return for its arguments. For a caller that allocates a reduction's
 * result buffer first. Any thread. */
TES_API int tes_raster_run_estimate(tes_pool *pool, const tes_kernel *k,
                                    tes_raster *const *inputs, int n_in,
                                    const char *out_path,
                                    const tes_raster_create_options *out_opts,
                                    const tes_pipeline_options *opts,
                                    uint64_t *bytes, tes_raster_error *err);

/*
 * Runs kernel k over the output tile grid on pool.
 *
 *   inputs, n_in   the input rasters (n_in may be 0 for a generator)
 *   out_path       the output file, or NULL when k only reduces
 *   out_opts       how to write it (NULL: defaults)
 *   result         for a reduction: partial_size bytes that receive the
 *                  combined result (may be NULL otherwise)
 *
 * Each output tile is one task: it assembles its input windows through a
 * shared cache that decodes each input block once, calls k->tile and/or
 * k->reduce, and compresses its output tile; the calling thread appends
 * the tiles in row-major order (band-major within a tile for planar
 * output) to a temporary file in out_path's folder, then fsyncs and renames
 * it. The file's blocks go to the disk with O_DIRECT where the filesystem
 * allows it, past the page cache (TESSERA_DIRECT_IO=0 in the environment
 * writes through the cache instead); the bytes are the same either way.
 * At most max_in_flight tiles exist at once, and the writer holds at most
 * 16 MiB of tiles waiting to be written and a 4 MiB staging buffer, so
 * memory is bounded by threads, tile size and cache_bytes, not by the
 * raster's size. The output
 * bytes and the reduction result do not depend on pool's thread count.
 *
 * On the first failure no more tiles start, the temporary file is removed,
 * nothing at out_path changes, and the code is returned with err filled
 * ("OUT: tile 12: slope: ..." or "IN: tile 3: ..."). An out_path
 * that names one of the inputs (same inode) is refused with -EINVAL.
 *
 * With opts->dist (see 5. below) this process runs only its share of the
 * tiles: a process that is not the writer creates no file (out_path then
 * only names the output in messages) and gets the result from the dist's
 * end.
 *
 * The output's nodata: out_opts->nodata_mode, or, when that is
 * TES_NODATA_INHERIT, the kernel's out_nodata_mode (see tes_kernel).
 *
 * Threads: any thread, including a task running on pool (or on another
 * pool): there the calling worker does not sleep while it waits for a
 * tile, it runs tiles and other queued work itself (tes_await's helping),
 * so a pipeline started inside a task never deadlocks the pool, even a
 * pool of one thread. The progress callback and the writing run on the
 * calling thread. Inputs must not be used by another pipeline at the same
 * time.
 *
 * Returns 0 or a negative code:
 *   -EINVAL        a NULL pool or kernel, an inconsistent kernel (negative
 *                  or huge halo, a reduction without all its callbacks,
 *                  neither tile nor reduce), an output for a pure
 *                  reduction, NULL result for a reduction, inputs of
 *                  different sizes, no output size for a generator, bad
 *                  create options, out_path naming an input, or a dist
 *                  without all its callbacks;
 *   -EEXIST        out_path exists and out_opts->overwrite is false;
 *   -ENOMEM        out of memory;
 *   TES_ETOOBIG    the run would take more memory than opts->memory_limit
 *                  (checked before it allocates; see there);
 *   -ECANCELED     the progress callback asked to stop;
 *   -errno         a system call on the input or output failed (-ENOENT,
 *                  -EACCES, -ENOSPC, -EIO, ...);
 *   TES_ECORRUPT, TES_EUNSUPPORTED   an input block cannot be decoded;
 *   the kernel's   its tile or reduce callback failed (a positive or
 *   code           unknown one becomes TES_EKERNEL);
 *   TES_ESHUTDOWN, TES_EFORKED       pool cannot take tasks.
 */
TES_API int tes_raster_run(tes_pool *pool, const tes_kernel *k,
                           tes_raster *const *inputs, int n_in,
                           const char *out_path,
                           const tes_raster_create_options *out_opts,
                           void *result, const tes_pipeline_options *opts,
                           tes_raster_error *err);

/* ------------------------------------------------------------------------
 * 5. Distributed runs
 * ------------------------------------------------------------------------
 *
 * One run of tes_raster_run spread over several processes that see the same
 * input files (a cluster with a shared filesystem): each process calls
 * tes_raster_run with the same kernel, inputs and options, and a
 * tes_pipeline_dist whose callbacks carry tiles between them. Exactly one
 * process is the writer: it creates the output, writes every tile in the
 * order a run on one machine does, and folds every tile's reduction partial
 * in tile order, so the file's bytes and the result are those of a run on
 * one machine whatever the number of processes. The others compute their
 * own tiles and hand them over with put. libtessera_mpi is one transport
 * (tessera_mpi(3)); these callbacks are what any other needs.
 *
 * Callback roles: every callback runs on the thread that called
 * tes_raster_run, one at a time. Partials move as plain bytes, so a
 * reducing kernel's partial may hold no pointers.
 */

/* What every process of a distributed run derives alike from the same
 * arguments (a transport may compare them across processes). */
typedef struct tes_dist_layout {
    int64_t width, height;      /* the output raster */
    int tile_width, tile_height;
    int64_t tiles;              /* tiles in the grid, row-major */
    int64_t tiles_across;
    int chunks;                 /* TIFF tiles per output tile: 1, or the
                                   bands for planar output; 0 when the run
                                   writes no file */
    size_t tile_bytes;          /* one output tile uncompressed, every
                                   band; 0 when the run writes no file */
    size_t partial_size;        /* 0 unless the kernel reduces */
    tes_sample_type out_type;
    int out_bands;
    int n_inputs;
} tes_dist_layout;

/* The compressed bytes of one output tile: n chunks (TIFF tiles), chunk i
 * size[i] bytes at data[i]. */
typedef struct tes_tile_bytes {
    int n;
    const uint8_t *const *data;
    const size_t *size;
} tes_tile_bytes;

typedef struct tes_pipeline_dist {
    bool writer;            /* this process writes and folds */
    /* First, once: the run's layout. Set *lookahead to the number of local
     * tiles that may wait, finished, beyond the usual max_in_flight (they
     * keep only their compressed bytes). Nonzero ends the run (end is
     * still called). */
    int (*begin)(void *ctx, const tes_dist_layout *layout, int *lookahead,
                 tes_raster_error *err);
    /* Whether this process computes tile t; a pure function of t, the
     * same on every process for a given layout. */
    bool (*owns)(void *ctx, int64_t t);
    /* Not the writer: local tile t is finished, in tile order. bytes is
     * NULL when the run writes no file, partial NULL when it does not
     * reduce; both live until put returns. */
    int (*put)(void *ctx, int64_t t, const tes_tile_bytes *bytes,
               const void *partial, tes_raster_error *err);
    /* The writer: tile t, computed elsewhere, in tile order: set *bytes
     * (layout.chunks chunks, alive until the next get or end) when the run
     * writes, and copy the tile's partial_size bytes to partial when it
     * reduces. */
    int (*get)(void *ctx, int64_t t, tes_tile_bytes *bytes, void *partial,
               tes_raster_error *err);
    /* Last, always once begin was called: rc is this process's outcome
     * (0, or a code with err filled); the writer calls it after the output
     * is renamed into place or removed. Returns the run's outcome, which
     * tes_raster_run returns: a failure elsewhere turns 0 into a code (with
     * err). On success a process that is not the writer gets the combined
     * reduction in result (partial_size bytes). */
    int (*end)(void *ctx, int rc, void *result, tes_raster_error *err);
    void *ctx;
} tes_pipeline_dist;

/* Convenience: writes one in-memory tile (x0 = y0 = 0, the whole raster)
 * to path through the same encoder and atomic writer. For tests, small
 * outputs and examples. Returns 0, or with err filled: -EINVAL (NULL path
 * or tile, bad options), -EEXIST (path exists, no overwrite), -ENOMEM, or
 * a system call's -errno (-EACCES, -ENOSPC, -EIO, ...). Any thread. */
TES_API int tes_raster_write_tile(const char *path, const tes_tile *t,
                                  const tes_raster_create_options *opts,
                                  tes_raster_error *err);

/* How tes_raster_build_overviews builds. Start from
 * TES_OVERVIEW_OPTIONS_INIT. */
typedef struct tes_overview_options {
    tes_resampling resampling;  /* AUTO: nearest for palette images, cubic
                                   otherwise (gdaladdo's default is
                                   nearest: ask for it) */
    bool external;              /* FILE.ovr, as gdaladdo -ro, instead of
                                   inside FILE */
    int min_size;               /* levels until both sides are at most
                                   this; 0: 256 (gdaladdo's) */
    int tile_size;              /* the levels' tiles, a multiple of 16;
                                   0: the file's when tiled, else 256 */
    /* Compression of the levels: the file's when it is one of ours
     * (none, deflate, lzw, zstd), else deflate; level 0: the default. */
    int level;
    size_t cache_bytes;         /* as tes_pipeline_options */
    int max_in_flight;
    int (*progress)(uint64_t done, uint64_t total, void *ctx);
    void *progress_ctx;
    tes_run_stats *stats;       /* filled when not NULL */
    /* Since issue 15: as tes_pipeline_options'. Before it allocates or
     * writes anything, the builder estimates what its levels take (the
     * costliest level's tiles in flight, in every band, the file's
     * decoded blocks, the cache, the levels' stores, the writer) and
     * refuses with TES_ETOOBIG, the file as it was, over the budget. */
    uint64_t memory_limit;
} tes_overview_options;

#define TES_OVERVIEW_OPTIONS_INIT                                            \
    { TES_RESAMPLE_AUTO, false, 0, 0, 0, 0, 0, NULL, NULL, NULL, 0 }

/*
 * Adds overviews to the GeoTIFF at path, as gdaladdo does: reduced-
 * resolution images halving the size until both sides are at most
 * min_size, each computed from the one above (read back tile by tile, in
 * bounded memory) with the chosen resampling. Inside the file, replacing
 * the overviews it had (their space is not reclaimed), or in path.ovr.
 * Atomic either way: the file (or path.ovr) is rewritten beside itself
 * and renamed into place only when complete, so a failure at any point
 * (a full disk included) leaves it as it was. A file too small for any
 * level is left alone. Call from a thread that is not one of pool's
 * workers; nothing else may write the file meanwhile. Returns 0 or a
 * negative code with err.
 */
TES_API int tes_raster_build_overviews(tes_pool *pool, const char *path,
                                       const tes_overview_options *o,
                                       tes_raster_error *err);

/* ------------------------------------------------------------------------
 * Temporary files: what a killed run leaves, and how a later one knows
 * ------------------------------------------------------------------------
 *
 * Every output (tes_raster_run, tes_raster_write_tile, COG outputs,
 * tes_raster_build_overviews) is written to ".NAME.tmp-XXXXXX" beside
 * NAME and renamed into place when complete; a failure removes it, but a
 * process killed outright (SIGKILL, a crash, a power cut) cannot. Such a
 * temporary is recognised later as ours by its name AND its content (the
 * format's magic bytes), and as dead because no process holds the
 * exclusive flock(2) its writer holds for the file's whole life (the
 * kernel drops it with the writer's last descriptor, whatever the pid
 * became since). Where the filesystem keeps user extended attributes,
 * user.tessera.writer records the writer's host, boot id, pid and start
 * time: a temporary written on another host is left alone unless asked
 * (TES_TEMP_OTHER_HOSTS), because on NFS mounted with nolock (or
 * local_lock=flock) a lock taken on one client is invisible on another.
 */

/* Creates the temporary for an output at path, in path's folder, with
 * mode 0600, holding its lock; writes the n magic bytes at its start (the
 * format's: a TIFF's "II*\0", a PNG's signature; a sweep removes only
 * files that start with a TIFF, BigTIFF or PNG signature). The file is
 * made unnamed (O_TMPFILE) and given its name only once locked, recorded
 * and marked, so that a process killed at any moment leaves nothing a
 * sweep does not recognise; where the filesystem has no unnamed files it
 * is made by name, and a kill in its first instants leaves an empty file
 * that a sweep removes once ten minutes old. Sets *tmp (its
 * path; free it) and *fd (keep it open until the temporary is renamed or
 * removed: closing it ends the lock, and another process's
 * tes_temp_clean may then take the file for a dead run's). For programs
 * that write outputs of their own beside ours (raster-tool's PNGs).
 * Returns 0, or -EINVAL, -ENOMEM or a negated errno of open(2),
 * mkstemp(3) or write(2) with err. Any thread. */
TES_API int tes_temp_create(const char *path, const void *magic, size_t n,
                            char **tmp, int *fd, tes_raster_error *err);

/* One temporary a sweep looked at (the visit callback's argument). */
typedef enum tes_temp_state {
    TES_TEMP_DEAD = 0,      /* its writer is gone: removed (unless a dry
                               run, or removing it failed) */
    TES_TEMP_LIVE,          /* a running process writes it: left */
    TES_TEMP_OTHER_HOST     /* written on another host: left */
} tes_temp_state;

typedef struct tes_temp_entry {
    const char *name;       /* in the folder; valid during the call */
    tes_temp_state state;
    bool removed;
    uint64_t bytes;
    char host[128];         /* the writer's, "" when not recorded */
    long pid;               /* the writer's, 0 when not recorded */
} tes_temp_entry;

typedef struct tes_temp_report {
    int dead, removed, live, other_host;
    uint64_t dead_bytes, removed_bytes;
} tes_temp_report;

#define TES_TEMP_DRY_RUN 1u     /* report, remove nothing */
#define TES_TEMP_OTHER_HOSTS 2u /* trust the lock for other hosts' too */

/*
 * Removes from folder dir the temporaries that dead runs of ours left
 * (see above); leaves everything else, and files of other users. Calls
 * visit (may be NULL) for each temporary of ours it finds, dead or alive,
 * and sums them in *rep (may be NULL). Returns 0, or a negative code with
 * err: dir cannot be read (-ENOENT, -ENOTDIR, -EACCES, ...), or a dead
 * temporary could not be removed (the sweep goes on; the first failure
 * is returned). Any thread; processes may sweep the same folder at once.
 */
TES_API int tes_temp_clean(const char *dir, unsigned flags,
                           void (*visit)(const tes_temp_entry *e, void *ctx),
                           void *ctx, tes_temp_report *rep,
                           tes_raster_error *err);

/* ------------------------------------------------------------------------
 * Built-in kernels (kernels/)
 * ------------------------------------------------------------------------ */

/* Synthetic terrain: seeded multi-octave gradient noise. Every pixel is a
 * function of (seed, x, y) only, so the bytes never depend on tiling or
 * threads. */
typedef struct tes_synth_options {
    uint64_t seed;
    int octaves;            /* 0: 8 */
    double feature_px;      /* wavelength of the first octave, pixels;
                               0: 1024 */
    double relief;          /* metres from lowest to highest; 0: 2500 */
    double base;            /* elevation offset in metres; 0 is fine */
    double holes;           /* fraction of pixels in nodata holes, 0..0.5 */
    double nodata;          /* value of holes; used when holes > 0 */
    tes_sample_type type;   /* NONE: TES_F32 */
} tes_synth_options;

/* A zeroed struct differs from the INIT in seed (0, a valid seed of its
 * own) and nodata (0); every other zero means the default. */
#define TES_SYNTH_OPTIONS_INIT                                               \
    { .seed = 1, .octaves = 0, .feature_px = 0.0, .relief = 0.0, .base = 0.0, \
      .holes = 0.0, .nodata = -9999.0, .type = TES_F32 }

/* Fills k (and *state, which k->arg points to; keep it alive while k is
 * used) with the synth generator: no inputs, out_bands 1, output nodata
 * o->nodata when o->holes > 0 and none otherwise. Returns 0, or -EINVAL
 * (NULL pointers, holes outside 0..0.5, a negative or non-finite size,
 * octaves outside 0..24, a type with no size). tes_kernel_synth_alloc
 * (tessera_kernels.h) is the same generator with state of its own. */
typedef struct tes_synth_state {
    tes_synth_options o;
    uint8_t perm[512];      /* shuffled lattice, derived from seed */
    double hole_threshold;  /* derived from o.holes */
} tes_synth_state;

TES_API int tes_kernel_synth(tes_kernel *k, tes_synth_state *state,
                             const tes_synth_options *o);

/* The default georeferencing synth outputs carry: UTM zone 33N
 * (EPSG:32633), 30 m pixels, upper-left corner (500000, 5000000). */
TES_API void tes_synth_geotransform(double gt[6]);
#define TES_SYNTH_EPSG 32633

#ifdef __cplusplus
}
#endif

#endif /* TESSERA_RASTER_H */
