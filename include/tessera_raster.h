/*
 * tessera_raster.h — tiled raster I/O and the tile pipeline
 * (libtessera_raster). See tessera_raster(3).
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

/*
 * One call of a kernel on one output tile. The pipeline fills everything
 * but msg. in[i] is input i's window: the output tile's rectangle grown by
 * halo pixels on every side, of type kernel.in_type (or the raster's own
 * type), every band of the input. out is NULL for a pure reduction;
 * otherwise it has the tile's clipped size (edge tiles are smaller), type
 * out_type and out_bands bands. partial is NULL unless the kernel reduces;
 * then it points to partial_size bytes set up by partial_init.
 */
typedef struct tes_tile_job {
    const tes_tile *in;   /* n_in windows */
    int n_in;
    tes_tile *out;        /* NULL when the kernel has no tile function */
    void *partial;        /* NULL when the kernel has no partial function */
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
 * A kernel, described for the pipeline. Fill from TES_KERNEL_INIT.
 *
 * Callback roles: tile and partial run concurrently on many workers, once
 * per output tile, in no particular order; they must be pure functions of
 * their job (arg is shared and read-only while the pipeline runs).
 * partial_init and combine run on the thread that called tes_raster_run,
 * one at a time: combine folds the tiles' partials into the result in
 * row-major tile order, so a reduction's result does not depend on the
 * thread count. Callbacks return 0 or a negative code (with job->msg).
 */
typedef struct tes_kernel {
    const char *name;          /* for messages ("slope"); not copied */
    int halo;                  /* pixels of context on each side, >= 0 */
    tes_edge_mode edge;        /* fill beyond the raster's edges */
    double edge_fill;          /* TES_EDGE_NODATA without input nodata */
    tes_sample_type in_type;   /* windows converted to this; NONE: as is */
    tes_sample_type out_type;  /* NONE: input 0's type (in_type if set) */
    int out_bands;             /* 0: input 0's band count */
    int (*tile)(tes_tile_job *job);    /* map; NULL for a pure reduction */
    /* Reductions (all three, or none): */
    size_t partial_size;               /* bytes of one partial */
    void (*partial_init)(void *partial, void *arg);
    int (*partial)(tes_tile_job *job); /* fills job->partial */
    void (*combine)(void *acc, const void *partial, void *arg);
    void *arg;                 /* passed to every callback */
} tes_kernel;

#define TES_KERNEL_INIT                                                      \
    { NULL, 0, TES_EDGE_REPLICATE, 0.0, TES_TYPE_NONE, TES_TYPE_NONE, 0,     \
      NULL, 0, NULL, NULL, NULL, NULL }

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
} tes_raster_info;

/*
 * Opens a TIFF or BigTIFF for reading and checks, up front, everything the
 * reader needs: size, sample format and depth, band layout, blocks,
 * photometric and compression. What it cannot read is refused here with
 * TES_EUNSUPPORTED (palette, 1- or 12-bit, YCbCr subsampling, ...) or
 * TES_ECORRUPT (a missing required tag, offsets beyond the file, absurd
 * sizes), and err->message names the file and the property.
 * Returns 0 and sets *r, or the code (-ENOENT, -EACCES, ...). Close with
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
 * handle. Returns 0, -EINVAL, -ENOMEM, -EIO or TES_ECORRUPT with err.
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

typedef enum tes_bigtiff {
    TES_BIGTIFF_AUTO = 0, /* when the uncompressed size may pass ~4 GiB */
    TES_BIGTIFF_YES,
    TES_BIGTIFF_NO
} tes_bigtiff;

/*
 * How to write an output. Start from TES_RASTER_CREATE_OPTIONS_INIT.
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
    /* Nodata to write: TES_NODATA_INHERIT (from input 0, converted to the
     * output type's range), TES_NODATA_NONE, or TES_NODATA_SET with
     * nodata. */
    int nodata_mode;
    double nodata;
    const char *software;        /* TIFFTAG_SOFTWARE; NULL: "tessera" */
} tes_raster_create_options;

#define TES_NODATA_INHERIT 0
#define TES_NODATA_NONE 1
#define TES_NODATA_SET 2

#define TES_RASTER_CREATE_OPTIONS_INIT                                       \
    { 0, 0, TES_COMPRESS_DEFLATE, 0, -1, TES_BIGTIFF_AUTO, false, false,     \
      NULL, TES_NODATA_INHERIT, 0.0, NULL }

/* Fills g's arrays (and returns the storage in *owned, to be freed with
 * free()) for a north-up geotransform (GDAL order, dy < 0 for north-up)
 * and an EPSG code (projected when >= 2000 and not 4xxx geographic; 0: no
 * CRS key). Returns 0 or -ENOMEM / -EINVAL. */
TES_API int tes_georef_from_geotransform(tes_georef *g, void **owned,
                                         const double geotransform[6],
                                         int epsg);

/* ------------------------------------------------------------------------
 * 4. The pipeline
 * ------------------------------------------------------------------------ */

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
} tes_pipeline_options;

#define TES_PIPELINE_OPTIONS_INIT { 0, 0, 0, 0, NULL, NULL, NULL }

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
 * k->partial, and compresses its output tile; the calling thread appends
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
 * ("OUT: tile 12: kernel slope: ..." or "IN: tile 3: ..."). An out_path
 * that names one of the inputs (same inode) is refused with -EINVAL.
 *
 * With opts->dist (see 5. below) this process runs only its share of the
 * tiles: a process that is not the writer creates no file (out_path then
 * only names the output in messages) and gets the result from the dist's
 * end.
 *
 * Call from any thread that is not one of pool's workers; inputs must not
 * be used by another pipeline at the same time. Returns 0 or a negative
 * code.
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
 * outputs and examples. Returns 0 or a negative code with err. */
TES_API int tes_raster_write_tile(const char *path, const tes_tile *t,
                                  const tes_raster_create_options *opts,
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

#define TES_SYNTH_OPTIONS_INIT { 1, 0, 0.0, 0.0, 0.0, 0.0, -9999.0, TES_F32 }

/* Fills k (and *state, which k->arg points to; keep it alive while k is
 * used) with the synth generator: no inputs, out_bands 1. */
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
