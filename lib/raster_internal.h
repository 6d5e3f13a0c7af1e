/*
 * raster_internal.h — private to lib/: the raster handle's layout, libtiff
 * handles with captured error text, block decoding, the tile cache, the
 * tile encoder and the atomic writer. Not installed.
 */
#ifndef TES_RASTER_INTERNAL_H
#define TES_RASTER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>
#include <tiffio.h>

#include "tessera_kernels.h"

/* GeoTIFF and GDAL private tags (registered with libtiff by tes__tiff_init). */
#define TES_TAG_PIXEL_SCALE 33550
#define TES_TAG_TIEPOINT 33922
#define TES_TAG_TRANSFORMATION 34264
#define TES_TAG_GEOKEYS 34735
#define TES_TAG_GEO_DOUBLES 34736
#define TES_TAG_GEO_ASCII 34737
#define TES_TAG_GDAL_METADATA 42112
#define TES_TAG_GDAL_NODATA 42113

/* Largest decoded block (all bands) we accept; beyond this a file is
 * refused rather than risking memory blow-ups on lying headers. Strips
 * larger than TES_PIECE_BYTES are not blocks: they are read in pieces
 * (see tes__layout.piece_rows). */
#define TES_MAX_BLOCK_BYTES ((size_t)256 << 20)
#define TES_PIECE_BYTES ((size_t)32 << 20)

/* ---- codecs shared by the reader and stored levels (decode.c) -------- */

/* A decompressor's reusable state. Used by one thread at a time. */
typedef struct tes__codecs {
    void *inflater;        /* struct libdeflate_decompressor * */
    void *zstd_d;          /* ZSTD_DCtx * */
    uint8_t *row;          /* one row, for the floating-point predictor */
    size_t row_cap;
} tes__codecs;

/* Decodes the n compressed bytes at src (libtiff COMPRESSION_ code comp:
 * none, deflate, zstd or, for our own tiles, LZW) into exactly `want`
 * bytes at dst, then undoes predictor 2 or 3 on its `rows` rows of
 * spp-sample pixels of ss bytes each, in the host's byte order. Returns
 * 0, 1 when the stream is not one it handles or does not decode to
 * exactly want bytes (the caller falls back or reports corruption), or
 * -ENOMEM. src and dst never overlap. */
int tes__decode_chunk(tes__codecs *cx, int comp, int predictor,
                      const void *src, size_t n, void *dst, size_t want,
                      size_t rows, size_t spp, size_t ss);
void tes__codecs_free(tes__codecs *cx);

/* TIFF LZW (MSB-first, early change) of n bytes at src into exactly want
 * bytes at dst. Returns 0 or 1 (malformed or a different size). */
int tes__lzw_decode(const uint8_t *src, size_t n, uint8_t *dst, size_t want);

/* ---- block sources: what the cache holds and windows are made of ----- */

/*
 * A raster as a grid of decoded blocks: every block is block_width x
 * block_height pixels of every band, band-sequential (band b's plane at
 * b * block_plane_samples samples), in `type`. Implemented by opened
 * rasters (reader.c) and by overview levels kept in a tile store
 * (level.c). Fields are set before first use and read-only afterwards;
 * load may be called from many threads at once.
 */
typedef struct tes__source tes__source;
struct tes__source {
    uint64_t id;            /* unique per source (cache keys) */
    const char *name;       /* file name for messages */
    int64_t width, height;
    int bands;
    tes_sample_type type;
    int block_width, block_height;
    uint32_t blocks_across, blocks_down;
    size_t block_plane_samples; /* block_width * block_height */
    bool has_nodata;
    double nodata;
    /* Decodes block `block` (row-major) into dst, which holds
     * tes__source_block_bytes bytes; rows past the raster's end may be
     * left untouched. Adds the compressed bytes it read to *bytes_in.
     * Returns 0 or a negative code with err. */
    int (*load)(tes__source *s, uint32_t block, void *dst,
                uint64_t *bytes_in, tes_raster_error *err);
};

/* Bytes of one decoded block, all bands. */
size_t tes__source_block_bytes(const tes__source *s);
/* A new unique source id (relaxed atomic counter). */
uint64_t tes__source_new_id(void);

/* ---- the reader: libtiff handles and decoding (reader.c) ------------ */

/* One libtiff handle and the text of its last error. Used by one thread
 * at a time: whoever borrowed it from the raster's free list. */
typedef struct tes__tiff {
    TIFF *tif;
    char msg[256];         /* last error libtiff reported on this handle */
    void *scratch;         /* a packed or interleaved block (reader.c) */
    size_t scratch_bytes;
    void *raw;             /* compressed block */
    size_t raw_cap;
    tes__codecs cx;
    struct tes__tiff *next; /* free list link; guarded by tes_raster.lock */
} tes__tiff;

/* How reader.c turns the file's stored samples into tes__source blocks,
 * decided once at open (tes__reader_setup). */
typedef struct tes__layout {
    int bits;               /* bits per stored sample, 1..64 */
    int spp;                /* samples per pixel in the file */
    bool is_signed;         /* SAMPLEFORMAT_INT */
    bool half;              /* 16- or 24-bit floats, widened to float32 */
    bool packed;            /* stored samples are not the type's bytes */
    bool rgba;              /* decoded by libtiff's RGBA interface */
    bool jpeg_rgb;          /* JPEGCOLORMODE_RGB set on every handle */
    bool fast_ok;           /* decode.c may decode blocks itself */
    bool once;              /* a handle decodes one block, then closes:
                               libtiff's old-style JPEG decoder reads a
                               strip it has read before wrongly */
    bool planar;            /* one strile per band */
    uint32_t rows_per_strip; /* strips; the tile height for tiles */
    uint32_t strile_width;  /* pixels per row of one strile */
    size_t strile_row_bytes; /* bytes of one stored row of one strile */
    uint32_t striles_per_plane;
    int piece_rows;         /* > 0: strips read in pieces of these rows */
} tes__layout;

struct tes__pieces; /* reader.c */

struct tes_raster {
    tes__source src;        /* the block grid (load: the reader) */
    char *path;
    tes_raster_info info;
    dev_t dev;
    ino_t ino;
    tes__layout lay;
    /* Storage of info's strings and arrays (freed at close). */
    double *pixel_scale, *tiepoints, *transformation, *geo_doubles;
    uint16_t *geokeys;
    char *geo_ascii, *gdal_metadata, *gdal_nodata;
    char compression_name[32];
    tes_colormap colormap;
    uint16_t *colormap_rgb;  /* 3 * colormap.n entries */
    tes_overview *overviews;

    pthread_mutex_t lock;   /* protects free_handles and n_handles */
    tes__tiff *free_handles;
    int n_handles;
    struct tes__pieces *pieces; /* piece mode's state, or NULL */
    /* tes_raster_read's budget: tes_memory_default(), looked up at the
     * first read (0 until then). Relaxed: threads that race compute the
     * same value, and nothing else is published with it. */
    atomic_uint_fast64_t read_limit;
};

/* The first four bytes libtiff writes to a new TIFF (mode "w": the
 * host's byte order) or BigTIFF ("w8"): a temporary's magic (temp.c). */
void tes__tiff_magic(uint8_t m[4], bool bigtiff);

/* Registers the GeoTIFF and GDAL tags with libtiff, once per process. */
void tes__tiff_init(void);

/* Opens path (mode "r", "w", "w8"), or the output file io when not NULL
 * (path then only names it), with error text captured in h->msg rather
 * than printed. Returns h->tif or NULL. */
struct tes__outfile;
TIFF *tes__tiff_open(tes__tiff *h, const char *path,
                     struct tes__outfile *io, const char *mode);

/* Fills err (when not NULL) with code and "path: reason" (just the reason
 * when path is NULL: in-memory runs have no file); returns code. */
int tes__err(tes_raster_error *err, int code, const char *path,
             const char *fmt, ...) TES_PRINTF(4, 5);

/* Decides r->lay and the block grid of r->src from the file's tags (tif
 * is on the main image); r->info's type, bands and block size must be
 * set. Refuses what it cannot decode with TES_EUNSUPPORTED and a message
 * naming what is missing. */
typedef struct tes__tiff_tags {
    uint32_t width, height;
    uint16_t spp, bits, fmt, photo, planar, comp, predictor;
    uint16_t extra_alpha;   /* 1 + index of an alpha extra sample, or 0 */
    bool alpha_assoc;       /* that sample is associated alpha */
    bool tiled;
    uint32_t block_w, block_h; /* tile size, or width x rows per strip */
} tes__tiff_tags;
int tes__reader_setup(tes_raster *r, TIFF *tif, const tes__tiff_tags *t,
                      tes_raster_error *err);
/* Frees the reader's state: handles, pieces. */
void tes__reader_close(tes_raster *r);

/* Borrow / return one of r's libtiff handles (opened on demand). */
int tes__raster_handle_get(tes_raster *r, tes__tiff **h,
                           tes_raster_error *err);
void tes__raster_handle_put(tes_raster *r, tes__tiff *h);

/* Decodes block `block` (row-major in the block grid) of every band into
 * dst, band-sequential, the source's type: r->src.load with a handle of
 * the caller's. */
int tes__raster_read_block(tes_raster *r, tes__tiff *h, uint32_t block,
                           void *dst, uint64_t *bytes_in,
                           tes_raster_error *err);

/* A reusable buffer of at least n bytes: buf itself when its capacity
 * *cap suffices, else a new one (contents not kept, aligned on
 * TES_IO_ALIGN so that the writer can hand it to the disk as it is) with
 * buf freed. NULL, with buf freed and *cap 0, when out of memory. */
void *tes__reserve(void *buf, size_t *cap, size_t n);

/* ---- the shared, bounded cache of decoded blocks (cache.c) ---------- */

typedef struct tes__cache tes__cache;
typedef struct tes__block tes__block;

int tes__cache_create(tes__cache **c, size_t limit_bytes);
void tes__cache_destroy(tes__cache *c);

/* The output tile grid a run walks: tiles of tile_width x tile_height
 * over width x height, each reading the source window of its rectangle
 * scaled by rx, ry (source pixels per output pixel; 1 for kernels, about
 * 2 for an overview level) and grown by halo pixels on every side. */
typedef struct tes__grid {
    int64_t width, height;
    int tile_width, tile_height;
    int halo;
    double rx, ry;
    /* The tiles this process computes (a distributed run); NULL: all. */
    bool (*owns)(void *ctx, int64_t tile);
    void *owns_ctx;
} tes__grid;

/* Tile (tx, ty)'s rectangle [*x0, *x1) x [*y0, *y1) in the output, and
 * its source window [*wx0, *wx1) x [*wy0, *wy1) (not clipped). */
void tes__grid_tile(const tes__grid *g, int64_t tx, int64_t ty, int64_t *x0,
                    int64_t *y0, int64_t *x1, int64_t *y1, int64_t *wx0,
                    int64_t *wy0, int64_t *wx1, int64_t *wy1);

/* Counts how many windows of grid g will read each block of s, so that a
 * block is dropped as soon as its last reader is done instead of waiting
 * for LRU eviction. Before any tes__cache_get of s; at most
 * TES_CACHE_MAX_INPUTS sources. Returns 0, -ENOMEM or -EINVAL (too many
 * sources). */
#define TES_CACHE_MAX_INPUTS 32
int tes__cache_plan(tes__cache *c, const tes__source *s, const tes__grid *g);

/* Returns, pinned, the decoded block of s: decoding it on this thread when
 * no one has, waiting when another thread is decoding it. *data points to
 * its samples (layout of tes__source). Unpin with tes__cache_put. Any
 * thread. */
int tes__cache_get(tes__cache *c, tes__source *s, uint32_t block,
                   tes__block **b, const void **data, tes_raster_error *err);
void tes__cache_put(tes__cache *c, tes__block *b);

/* What c did, for traces: blocks found in the cache, blocks decoded, and
 * the compressed bytes read to decode them. Any thread. */
typedef struct tes__cache_counts {
    uint64_t hits, decoded, bytes_in;
} tes__cache_counts;
void tes__cache_counts_get(tes__cache *c, tes__cache_counts *n);
/* Blocks the calling thread has decoded, ever (a thread-local count: the
 * difference around a window's read tells a tile's cache hit from miss). */
uint64_t tes__cache_decoded_here(void);

/* ---- windows (window.c) --------------------------------------------- */

/*
 * Where a window's blocks come from: the one interface the cached path (a
 * run's shared cache) and the uncached path (tes_raster_read: each block
 * decoded into a private buffer) both implement. get returns the block's
 * samples and a token for put; the samples stay valid until put.
 */
typedef struct tes__blocks {
    tes__source *src;
    int (*get)(struct tes__blocks *b, uint32_t block, const void **data,
               void **token, tes_raster_error *err);
    void (*put)(struct tes__blocks *b, void *token);
    tes__cache *cache;      /* the cached path's */
    void *buf;              /* the uncached path's block buffer */
} tes__blocks;

/* The cached path over c. */
void tes__blocks_cached(tes__blocks *b, tes__source *s, tes__cache *c);

/* Reads the window at (x0, y0) of dst's size into dst (see
 * tes_raster_read) from b's blocks, converting to dst->type. */
int tes__read_window(tes__blocks *b, int64_t x0, int64_t y0, tes_tile *dst,
                     tes_edge_mode edge, double edge_fill,
                     tes_raster_error *err);

/* Fills the parts of window dst outside [cx0, cx1) x [cy0, cy1) (window
 * coordinates: the part that lies inside the raster, already filled) as
 * edge asks: copies of the nearest inside pixel, or fill (the raster's
 * nodata, else the kernel's edge_fill) converted to dst's type. An empty
 * inside part (cx0 >= cx1 or cy0 >= cy1) fills everything with fill. The
 * file pipeline's windows and the in-memory runner's share it, so their
 * edges are the same bits. */
void tes__window_fill_edges(tes_tile *dst, int64_t cx0, int64_t cx1,
                            int64_t cy0, int64_t cy1, tes_edge_mode edge,
                            double fill);

/* Lends the window [x0, x0 + w) x [y0, y0 + h) of s in its own sample
 * type straight from the cached block that holds all of it, with no copy:
 * dst points into the block (stride: the block's width), which stays
 * pinned in *held until the caller's tes__cache_put. Returns 0, 1 when the
 * window is not inside one block of s or needs converting (assemble it
 * with tes__read_window instead), or a negative code with err. */
int tes__window_borrow(tes__source *s, tes__cache *c, int64_t x0, int64_t y0,
                       int w, int h, tes_sample_type type, tes_tile *dst,
                       tes__block **held, tes_raster_error *err);

/* ---- kernel descriptors (kernel.c) ------------------------------------ */

/* Why k cannot be run (a constant phrase), or NULL when it can. */
const char *tes__kernel_refusal(const tes_kernel *k);

/* The output's nodata (*has, *v) of kernel k writing out_type samples:
 * opts_mode / opts_value (a create option, TES_NODATA_INHERIT when there
 * are none) unless that inherits, then k->out_nodata_mode; inheriting
 * from the input gives in_nodata as out_type stores it, when in_has. */
void tes__output_nodata(const tes_kernel *k, int opts_mode,
                        double opts_value, bool in_has, double in_nodata,
                        tes_sample_type out_type, bool *has, double *v);

/* ---- encoding one output tile (encode.c, lzw.c) --------------------- */

typedef struct tes__enc_params {
    tes_sample_type type;
    int bands;
    bool planar;            /* one TIFF tile per band */
    int tile_width, tile_height;
    tes_compress compress;
    int level;
    int predictor;          /* 1, 2 or 3 (resolved) */
} tes__enc_params;

/* Compressed bytes of one output tile: chunk i is TIFF tile i of it (one
 * chunk for chunky output, one per band for planar), size[i] bytes in a
 * buffer of cap[i] (aligned on TES_IO_ALIGN, except LZW's). */
typedef struct tes__encoded {
    int n;                  /* chunks */
    uint8_t **data;
    size_t *size;
    size_t *cap;
} tes__encoded;

/* A compressor's reusable state (codec contexts, buffers). Used by one
 * thread at a time; made lazily by tes__encode_tile. */
typedef struct tes__enc_ctx {
    void *deflate;          /* struct libdeflate_compressor * */
    int deflate_level;
    void *zstd;             /* ZSTD_CCtx * */
    uint8_t *raw;           /* one chunk, predicted, before compression */
    size_t raw_cap;
    uint8_t *row;           /* one row, for the floating-point predictor */
    size_t row_cap;
} tes__enc_ctx;

/* Encodes t (t->type must be p->type; its width x height padded with zeros
 * to the full tile) into out: zeroed before its first use, it keeps its
 * buffers for the next tile (no allocation per tile); free them with
 * tes__encoded_free. Returns 0 or -EINVAL (t does not fit p), -ENOMEM or
 * -EIO; after -ENOMEM or -EIO out is empty. */
int tes__encode_tile(const tes__enc_params *p, const tes_tile *t,
                     tes__encoded *out, tes__enc_ctx *ctx);
void tes__encoded_free(tes__encoded *e);
/* Where a full tile (width x height) may be computed straight into its
 * encoded form, with no copy after: e's one chunk, when the output is
 * uncompressed and of one band; NULL otherwise (or out of memory). A tile
 * whose data is that chunk then encodes with no work. */
void *tes__encode_in_place(const tes__enc_params *p, int width, int height,
                           tes__encoded *e);
void tes__enc_ctx_free(tes__enc_ctx *ctx); /* the contents; not ctx */

/* TIFF LZW (MSB-first, early change) of n bytes into a malloc'd buffer. */
int tes__lzw_encode(const uint8_t *src, size_t n, uint8_t **dst,
                    size_t *dst_n);

/* ---- stored tiles (store.c) -------------------------------------------- */

/* Bytes a store keeps per chunk of every tile, besides the tiles it holds
 * in memory: its index entry (checked in store.c). */
#define TES__STORE_ENTRY_BYTES 24

/* Encoded tiles kept aside: in memory up to mem_limit bytes, the rest in
 * an unlinked temporary file in path's folder. put, has, drop and flush
 * on one thread (the driver's); get from any thread once the puts are
 * flushed, or from the driver's at any time. */
typedef struct tes__store tes__store;
int tes__store_create(tes__store **s, const char *path, int64_t n_tiles,
                      int chunks, size_t mem_limit, tes_raster_error *err);
void tes__store_destroy(tes__store *s);
/* Copies tile's chunks (e->n must be the store's chunks) into the store. */
int tes__store_put(tes__store *s, int64_t tile, const tes__encoded *e,
                   tes_raster_error *err);
bool tes__store_has(const tes__store *s, int64_t tile);
/* Chunk k of tile: *data points to the store's memory, or to *buf (grown
 * as needed, capacity *cap) filled from the file; *size bytes. */
int tes__store_get(tes__store *s, int64_t tile, int k, const uint8_t **data,
                   size_t *size, uint8_t **buf, size_t *cap,
                   tes_raster_error *err);
/* Frees tile's copies in memory (a tile written out of the store). */
void tes__store_drop(tes__store *s, int64_t tile);
int tes__store_flush(tes__store *s, tes_raster_error *err);
/* Bytes that went to the file; *read_back: bytes read back from it. */
uint64_t tes__store_spilled(const tes__store *s, uint64_t *read_back);
/* Bytes of tile, all chunks. */
uint64_t tes__store_bytes(const tes__store *s, int64_t tile);

/* ---- memory estimates against a budget (budget.c) --------------------- */

/*
 * What a job will allocate, as named parts, estimated before it allocates
 * anything its inputs' headers or its options make large, and checked
 * against its budget with one message for every job: "NAME: needs about
 * 23.0 GB of memory (6 tiles in flight of 3.3 GB each, ...), more than
 * the memory budget of 1.1 GB", the part named being the largest.
 */
typedef enum tes__mem_kind {
    TES__MEM_ONE,          /* "WHAT of SIZE" */
    TES__MEM_EACH,         /* "COUNT WHAT of SIZE each" */
    TES__MEM_PER_WORKER    /* "WHAT of SIZE for each of COUNT workers" */
} tes__mem_kind;

typedef struct tes__mem_part {
    tes__mem_kind kind;
    uint64_t count, each;  /* bytes: count * each, saturating */
    const char *what;      /* static text: "tiles in flight" */
    const char *note;      /* said after the part when it is the largest
                              (", mostly ..."), or NULL */
} tes__mem_part;

#define TES__MEM_PARTS 12
typedef struct tes__mem {
    tes__mem_part part[TES__MEM_PARTS];
    int n;                 /* parts beyond TES__MEM_PARTS are refused by
                              an assert: the callers add a fixed few */
} tes__mem;

/* a * b and a + b, saturating at UINT64_MAX. */
uint64_t tes__mem_mul(uint64_t a, uint64_t b);
uint64_t tes__mem_sum(uint64_t a, uint64_t b);
/* Adds a part of count * each bytes (count 1 for TES__MEM_ONE); a part
 * of no bytes is left out. */
void tes__mem_add(tes__mem *m, tes__mem_kind kind, uint64_t count,
                  uint64_t each, const char *what, const char *note);
uint64_t tes__mem_total(const tes__mem *m);
/* Appends add's parts to m. */
void tes__mem_merge(tes__mem *m, const tes__mem *add);
/* Adds what an output file's writer keeps to m: its buffers, and an
 * index entry for each of its `chunks` TIFF tiles (every image's), with
 * a reorder store's entry too when tiles may arrive out of turn. */
void tes__writer_mem(tes__mem *m, uint64_t chunks, bool reorder);
/* *need (when not NULL) gets m's total. Returns 0 when it fits budget,
 * else TES_ETOOBIG with err's message as above (name may be NULL). */
int tes__mem_check(const tes__mem *m, uint64_t budget, const char *name,
                   uint64_t *need, tes_raster_error *err);
/* ---- one pass of tiles (pipeline.c), a run (run.c) --------------------- */

struct tes__writer;

/*
 * One walk over an output tile grid: each tile a task that reads its
 * windows of the sources through a shared cache, runs the kernel and
 * encodes its tile; the calling thread hands the tiles to a file (in
 * row-major order, whatever order they were computed in), or to a store
 * (in any order), and folds reductions in row-major order.
 */
typedef struct tes__pass {
    tes_pool *pool;
    const tes_kernel *k;
    int n_in;
    tes__source *const *src;      /* the inputs' blocks */
    tes__grid grid;               /* halo: k->halo plus any margin */
    tes_sample_type out_type;
    int out_bands;
    bool out_has_nodata;
    double out_nodata;
    const tes__enc_params *enc;   /* NULL: tiles are not encoded */
    struct tes__writer *w;        /* tiles to this file, */
    tes__store *store;            /* or to this store; or neither */
    void *result;                 /* k's reduction */
    const tes_pipeline_options *po;
    uint64_t progress_base;       /* tiles of earlier passes */
    uint64_t progress_total;      /* tiles of every pass */
    const char *out_name;         /* for messages and beside which a
                                     reorder store goes */
    tes_run_stats *stats;         /* added to; never NULL */
    /* The calling thread's track in the pool's trace (its waits for
     * tiles, its hand-overs, the tiles in flight), or NULL. */
    tes_trace_track *trace;
    /* A run shared with other processes (tes_pipeline_dist): only the
     * tiles dist owns are computed here, row by row; the writer gets the
     * others' through dist->get, any other process puts its own. */
    const tes_pipeline_dist *dist;
    int lookahead;                /* dist's extra tiles in flight */
} tes__pass;

/* Runs p; returns 0 or the first failure's code with err. The file's
 * writer is neither committed nor aborted. */
int tes__pass_run(const tes__pass *p, tes_raster_error *err);
/* Adds what p's tiles will take to m: the tiles in flight (windows,
 * output tiles, their encoded bytes, reduction partials), each worker's
 * decoding buffers, the block cache and the inputs' block indexes; not
 * p's sink (its writer or store), which its caller counts. */
void tes__pass_mem(const tes__pass *p, tes__mem *m);

/* A tes_raster_run call, checked and resolved: what its passes share. */
typedef struct tes__run {
    tes_pool *pool;
    const tes_kernel *k;
    tes_raster *const *in;
    int n_in;
    const char *out_path;         /* NULL: no output */
    const tes_raster_create_options *oo;
    const tes_pipeline_options *po; /* &po_own */
    tes_pipeline_options po_own;  /* the caller's, cache_bytes and
                                     memory_limit resolved */
    void *result;
    const char *out_name;         /* for messages */
    int64_t width, height;
    int tw, th;
    tes_sample_type out_type;
    int out_bands;
    bool out_has_nodata;
    double out_nodata;
    const char *nodata_text;      /* input 0's, kept with its type */
    tes__enc_params enc;
    bool bigtiff;
    tes_run_stats stats;          /* copied to po->stats at the end */
    tes_trace_track *trace;       /* the caller's track ("writer"), or NULL */
} tes__run;

/* Fills r from tes_raster_run's arguments and checks them (NULL oo and
 * po: the defaults). Returns 0 or a negative code with err. */
int tes__run_prepare(tes__run *r, tes_pool *pool, const tes_kernel *k,
                     tes_raster *const *in, int n_in, const char *out_path,
                     const tes_raster_create_options *oo, void *result,
                     const tes_pipeline_options *po, tes_raster_error *err);
/* Sets po's memory_limit (0: tes_memory_default()) and, when 0, its
 * cache_bytes: 64 MiB, or a quarter of a smaller budget. */
void tes__resolve_memory(tes_pipeline_options *po);
/* The memory r will take (*need), checked against its budget: 0, or
 * TES_ETOOBIG with err naming the largest part (budget.c). */
int tes__run_budget(tes__run *r, uint64_t *need, tes_raster_error *err);

struct tes__writer_params;
/* The writer's parameters for r's output. */
void tes__run_writer_params(const tes__run *r,
                            struct tes__writer_params *wp);
/* The pass of r's kernel over its inputs (src: room for their sources),
 * to no sink yet. */
void tes__run_pass(tes__run *r, tes__pass *p, tes__source **src);
/* r's output as a Cloud-Optimized GeoTIFF (cog.c). */
int tes__cog_run(tes__run *r, tes_raster_error *err);

/* ---- overview levels (resample.c, level.c) ------------------------------ */

/* How one overview level is made from the level above (the kernel's arg
 * of tes__resample_tile). */
typedef struct tes__resample {
    tes_resampling method;        /* resolved: not AUTO */
    double rx, ry;                /* src_w / dst_w, src_h / dst_h */
    int64_t src_w, src_h, dst_w, dst_h;
    tes_sample_type type;         /* of both levels */
    bool has_nodata;
    double nodata;
    const tes_colormap *colormap; /* palette bands average colours */
    /* GDAL's alpha masks, for an unassociated alpha that is the last of 2
     * or 4 bands: alpha_self, the alpha band is its own mask (a pixel of
     * alpha 0 is left out of it, as a nodata pixel is); alpha_mask (never
     * with has_nodata: nodata comes first), it masks the other bands
     * too */
    bool alpha_mask, alpha_self;
} tes__resample;

/* Source pixels beyond the scaled tile that method m reads. */
int tes__resample_margin(tes_resampling m);
/* A tes_kernel tile function: job->out from the window job->in[0] of the
 * level above, in the same type. */
int tes__resample_tile(tes_tile_job *job);

/* A level kept in a store, as a block source: its tiles are its blocks,
 * decoded (any thread) with the codecs of decode.c. */
typedef struct tes__level tes__level;
int tes__level_create(tes__level **l, tes__store *store,
                      const tes__enc_params *enc, int64_t width,
                      int64_t height, bool has_nodata, double nodata,
                      const char *name, tes_raster_error *err);
tes__source *tes__level_source(tes__level *l);
void tes__level_destroy(tes__level *l);

/* Overview levels made one from the other, each into a store of its own
 * (cog.c): level 0 from `first` (src_w x src_h), level l from level
 * l - 1, read back from its store. Used by COG outputs and by
 * tes_raster_build_overviews. */
typedef struct tes__overview_job {
    tes_pool *pool;
    const tes_pipeline_options *po;
    tes_run_stats *stats;         /* added to */
    const char *name;             /* the output: messages, stores' folder */
    tes__source *first;
    int64_t src_w, src_h;
    int n_levels;
    const int64_t *lw, *lh;       /* the levels' sizes */
    const tes__enc_params *enc;   /* of every level */
    tes_resampling method;        /* AUTO: nearest with a colour table,
                                     else cubic (GDAL's COG driver) */
    const tes_colormap *colormap;
    bool has_nodata;
    double nodata;
    bool alpha;                   /* the last band is alpha, */
    bool alpha_associated;        /* premultiplied (associated) */
    tes__store **stores;          /* n_levels, filled; the caller frees
                                     them (tes__stores_free) */
    size_t store_mem;             /* level l keeps store_mem >> (l + 1) */
    uint64_t progress_base, progress_total;
    tes_trace_track *trace;       /* the caller's track, or NULL */
} tes__overview_job;
int tes__overview_passes(tes__overview_job *j, tes_raster_error *err);
/* What j's passes take, before any is made (j->first may be NULL: a
 * stand-in of the level above's shape is estimated): *worst becomes the
 * costliest level pass when it costs more than *worst already does; the
 * stores, which live through every pass, are added to fixed. */
void tes__overview_mem(const tes__overview_job *j, tes__mem *worst,
                       tes__mem *fixed);
/* The same for r's COG output (r->oo->cog): its level passes into *worst
 * (as above), the stores, the full size's included, into fixed. */
void tes__cog_mem(tes__run *r, tes__mem *worst, tes__mem *fixed);
/* The levels down to one tile of tw x th (GDAL's sizes); returns how many
 * (at most 32). */
int tes__cog_levels(int64_t width, int64_t height, int tw, int th,
                    int64_t *lw, int64_t *lh);
/* Adds the stores' traffic to st and destroys them. */
void tes__stores_free(tes__store **s, int n, tes_run_stats *st);

/* ---- the output file under libtiff (outfile.c) ----------------------- */

/* Direct I/O granule: offsets, sizes and addresses of direct writes are
 * multiples of it. Uncompressed tiles are allocated on it. */
#define TES_IO_ALIGN ((size_t)4096)
/* An output's first tile starts here, so that tiles whose size is a
 * multiple of TES_IO_ALIGN all sit on blocks (the gap after the header is
 * zeros). */
#define TES_IO_DATA_START ((uint64_t)4096)

/* Tile buffers an output file may keep before writing them in one call. */
#define TES_OUTFILE_HOLD 8

/* One output file as libtiff sees it (see outfile.c). Used by the writer's
 * thread only. */
typedef struct tes__outfile {
    int fd;             /* buffered descriptor (the caller's) */
    int dfd;            /* O_DIRECT descriptor of the same file, or -1 */
    uint8_t *stage;     /* file bytes [flushed, flushed + len) */
    size_t cap, len;
    uint64_t flushed;   /* bytes below this are in the file or held; a
                           multiple of TES_IO_ALIGN while dfd is open,
                           until the final flush */
    uint64_t pos;       /* libtiff's position */
    uint64_t kicked;    /* buffered mode: writeback started up to here */
    bool tile_next;     /* set by the writer around tile appends */
    bool may_hold;      /* ... and when it can give up the tile's buffer */
    size_t may_hold_cap; /* that buffer's capacity */
    bool took;          /* the last write kept the buffer: see give */
    bool placed;        /* set by the writer around the append of bytes
                           tes__outfile_place already wrote */
    struct {            /* kept buffers, end to end before flushed */
        uint8_t *data;
        size_t size, cap;
    } held[TES_OUTFILE_HOLD];
    int n_held;
    size_t held_bytes;  /* their capacities */
    struct {            /* written ones, for give */
        uint8_t *data;
        size_t cap;
    } idle[TES_OUTFILE_HOLD];
    int n_idle;
    size_t idle_bytes;  /* their capacities */
    int err;            /* errno value of the first failed write, sticky */
} tes__outfile;

/* pwrite / pread of all n bytes at `at`, retried past EINTR and short
 * counts. Return 0 or an errno value (EIO for an early end of file). */
int tes__pwrite_all(int fd, const void *buf, size_t n, uint64_t at);
int tes__pread_all(int fd, void *buf, size_t n, uint64_t at);

/* Sets o up over fd (which stays the caller's): the staging buffer and,
 * unless TESSERA_DIRECT_IO=0 or the filesystem refuses, a direct
 * descriptor. Returns 0 or -ENOMEM. */
int tes__outfile_init(tes__outfile *o, int fd);
/* A libtiff handle on o (TIFFClientOpenExt); o must outlive it. */
TIFF *tes__outfile_tiff(tes__outfile *o, const char *name, const char *mode,
                        TIFFOpenOptions *opts);
/* libtiff's procedures on o (h is o), exposed for the tests: read, write
 * and seek at o->pos, and the file's size, all as libtiff expects. */
tmsize_t tes__outfile_read(thandle_t h, void *buf, tmsize_t size);
tmsize_t tes__outfile_write(thandle_t h, void *buf, tmsize_t size);
toff_t tes__outfile_seek(thandle_t h, toff_t off, int whence);
toff_t tes__outfile_size(thandle_t h);
/* After a write that kept the caller's buffer (o->took), hands the caller
 * a buffer in exchange: an idle one with its capacity, or NULL and 0. The
 * kept one is o's until written, then freed or given out in turn. */
void tes__outfile_give(tes__outfile *o, uint8_t **buf, size_t *cap);
/* Writes n bytes at `at`, past every byte appended so far, straight to
 * the file (direct I/O when p, n and at are aligned): the bytes of an
 * append to come, which the writer then makes with o->placed set so that
 * it is not written twice. Returns 0 or an errno value (sticky). */
int tes__outfile_place(tes__outfile *o, const uint8_t *p, size_t n,
                       uint64_t at);
/* Writes the held buffers and every staged byte to the file. Returns 0 or
 * the errno value of the first write that failed, now or earlier. */
int tes__outfile_flush(tes__outfile *o);
/* Closes the direct descriptor and frees the staging, held and idle
 * buffers (held ones unwritten); not fd. */
void tes__outfile_free(tes__outfile *o);

/* ---- the atomic writer (writer.c) ------------------------------------ */

typedef struct tes__writer tes__writer;

typedef struct tes__writer_params {
    const char *path;
    int64_t width, height;
    tes__enc_params enc;
    const tes_georef *georef;      /* may be NULL */
    bool has_nodata;
    double nodata;
    const char *nodata_text;       /* written as it is when not NULL */
    const tes_colormap *colormap;  /* PHOTOMETRIC_PALETTE; may be NULL */
    bool rgb;                      /* PHOTOMETRIC_RGB */
    int alpha_band;                /* 1-based band that is alpha (an
                                      extra sample: past the colour
                                      bands), or 0 */
    bool alpha_associated;         /* it is associated (premultiplied)
                                      alpha; else unassociated */
    const char *software;
    bool bigtiff;
    bool overwrite;
    const tes_raster *const *inputs; /* refused as outputs (same inode) */
    int n_inputs;
    /* Overview levels after the main image, level_w[i] x level_h[i],
     * encoded as enc (pointers live as long as the writer). */
    int n_levels;
    const int64_t *level_w, *level_h;
    bool cog;                      /* every IFD before any tile, the
                                      images' tiles put smallest first */
    bool all_reduced;              /* every image, the first too, is a
                                      reduced-resolution one (.ovr) */
} tes__writer_params;

int tes__writer_open(tes__writer **w, const tes__writer_params *p,
                     tes_raster_error *err);
/* fsyncs a folder, so that a rename in it is durable (best effort). */
void tes__sync_dir(const char *dir);
/* Sets the tags of one image of p's encoding on t (reduced: an overview,
 * without georeferencing). Returns 0 or -EIO. */
int tes__set_image_tags(TIFF *t, const tes__writer_params *p, int64_t width,
                        int64_t height, bool reduced);
/* Appends the chunks of output tile `tile` (row-major) of the current
 * image (the main one for a COG), in order. e's buffers may be exchanged
 * for others (see tes__outfile_give). */
int tes__writer_put(tes__writer *w, int64_t tile, tes__encoded *e,
                    tes_raster_error *err);
/* Tiles of an uncompressed output (not a COG) have fixed places in the
 * file: one that comes before its turn can be written there at once
 * (tes__writer_place) and appended, with no second write, when its turn
 * comes (tes__writer_put_placed). */
bool tes__writer_placeable(const tes__writer *w);
int tes__writer_place(tes__writer *w, int64_t tile, const tes__encoded *e,
                      tes_raster_error *err);
int tes__writer_put_placed(tes__writer *w, int64_t tile,
                           tes_raster_error *err);
/* The same for image img (0 the main image, i the i-th level): images one
 * after the other in order, or for a COG in any order of whole images
 * (smallest first makes it cloud-optimized). */
int tes__writer_put_image(tes__writer *w, int img, int64_t tile,
                          tes__encoded *e, tes_raster_error *err);
/* Writes the directory, fsyncs, renames into place. Frees w either way. */
int tes__writer_commit(tes__writer *w, tes_raster_error *err);
/* Removes the temporary file and frees w. NULL is fine. */
void tes__writer_abort(tes__writer *w);

/* Whether level suits codec c (0: its default; none and LZW take any, as
 * they have no levels). Returns 0 or -EINVAL with err naming path. */
int tes__check_level(tes_compress c, int level, const char *path,
                     tes_raster_error *err);

/* Resolves options against the output's type: tile size, predictor,
 * level, BigTIFF. Returns 0 or -EINVAL with err. */
int tes__resolve_output(const tes_raster_create_options *o,
                        tes_sample_type type, int bands, int64_t width,
                        int64_t height, const char *path,
                        tes__enc_params *enc, bool *bigtiff,
                        tes_raster_error *err);

#endif /* TES_RASTER_INTERNAL_H */
