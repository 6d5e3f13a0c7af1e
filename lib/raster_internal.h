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
 * refused rather than risking memory blow-ups on lying headers. */
#define TES_MAX_BLOCK_BYTES ((size_t)256 << 20)

/* One libtiff handle and the text of its last error. Used by one thread at
 * a time: whoever borrowed it from the raster's free list. */
typedef struct tes__tiff {
    TIFF *tif;
    char msg[256];         /* last error libtiff reported on this handle */
    void *scratch;         /* interleaved block buffer for chunky files */
    size_t scratch_bytes;
    void *raw;             /* compressed block (decode.c) */
    size_t raw_cap;
    void *inflater;        /* struct libdeflate_decompressor * */
    void *zstd_d;          /* ZSTD_DCtx * */
    struct tes__tiff *next; /* free list link; guarded by tes_raster.lock */
} tes__tiff;

struct tes_raster {
    char *path;
    tes_raster_info info;
    dev_t dev;
    ino_t ino;
    uint64_t id;            /* unique per open raster (cache keys) */
    int bits;               /* bits per sample */
    bool fast_ok;           /* decode.c may decode blocks itself */
    uint32_t blocks_across, blocks_down; /* block grid of one band plane */
    uint32_t blocks_per_plane;
    size_t block_plane_samples; /* block_width * block_height */
    /* Storage of info.georef (freed at close). */
    double *pixel_scale, *tiepoints, *transformation, *geo_doubles;
    uint16_t *geokeys;
    char *geo_ascii, *gdal_metadata, *gdal_nodata;
    char compression_name[32];

    pthread_mutex_t lock;   /* protects free_handles and n_handles */
    tes__tiff *free_handles;
    int n_handles;
};

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

/* Borrow / return one of r's libtiff handles (opened on demand). */
int tes__raster_handle_get(tes_raster *r, tes__tiff **h,
                           tes_raster_error *err);
void tes__raster_handle_put(tes_raster *r, tes__tiff *h);

/* Decodes block `block` (row-major in the plane's block grid) of every
 * band into dst: band-sequential, block_width x block_height per band,
 * the raster's own type. Rows past the image's end (last strip) are left
 * untouched. Returns 0 or a code with err. */
int tes__raster_read_block(tes_raster *r, tes__tiff *h, uint32_t block,
                           void *dst, tes_raster_error *err);

/* Decodes TIFF strile idx (rows rows of spp-sample pixels, want bytes)
 * into dst without libtiff's codec: 0 done, 1 not handled (use libtiff),
 * or a negative code. */
int tes__decode_fast(tes_raster *r, tes__tiff *h, uint32_t idx, void *dst,
                     size_t want, size_t rows, size_t spp);
void tes__tiff_free_codecs(tes__tiff *h);

/* Bytes of one decoded block, all bands. */
size_t tes__raster_block_bytes(const tes_raster *r);

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

/* Tells the cache how many windows will read each block of r (uses[i] for
 * block i; the cache takes ownership of the malloc'd array): a block is
 * dropped as soon as its last reader is done, instead of waiting for LRU
 * eviction. Before any tes__cache_get; at most TES_CACHE_MAX_INPUTS. */
#define TES_CACHE_MAX_INPUTS 32
int tes__cache_set_uses(tes__cache *c, const tes_raster *r, uint32_t *uses,
                        uint32_t n);

/* Returns, pinned, the decoded block of r: decoding it on this thread when
 * no one has, waiting when another thread is decoding it. *data points to
 * its samples (layout of tes__raster_read_block). Unpin with
 * tes__cache_put. Any thread. */
int tes__cache_get(tes__cache *c, tes_raster *r, uint32_t block,
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

/* Reads a window into dst (see tes_raster_read), through cache c when not
 * NULL, else directly with a borrowed handle. */
int tes__read_window(tes_raster *r, tes__cache *c, int64_t x0, int64_t y0,
                     tes_tile *dst, tes_edge_mode edge, double edge_fill,
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

/* Lends the window [x0, x0 + w) x [y0, y0 + h) of r in its own sample
 * type straight from the cached block that holds all of it, with no copy:
 * dst points into the block (stride: the block's width), which stays
 * pinned in *held until the caller's tes__cache_put. Returns 0, 1 when the
 * window is not inside one block of r or needs converting (assemble it
 * with tes__read_window instead), or a negative code with err. */
int tes__window_borrow(tes_raster *r, tes__cache *c, int64_t x0, int64_t y0,
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
    const char *software;
    bool bigtiff;
    bool overwrite;
    const tes_raster *const *inputs; /* refused as outputs (same inode) */
    int n_inputs;
} tes__writer_params;

int tes__writer_open(tes__writer **w, const tes__writer_params *p,
                     tes_raster_error *err);
/* Appends the chunks of output tile `tile` (row-major), in order. */
/* e's buffers may be exchanged for others (see tes__outfile_give). */
int tes__writer_put(tes__writer *w, int64_t tile, tes__encoded *e,
                    tes_raster_error *err);
/* Writes the directory, fsyncs, renames into place. Frees w either way. */
int tes__writer_commit(tes__writer *w, tes_raster_error *err);
/* Removes the temporary file and frees w. NULL is fine. */
void tes__writer_abort(tes__writer *w);

/* Resolves options against the output's type: tile size, predictor,
 * level, BigTIFF. Returns 0 or -EINVAL with err. */
int tes__resolve_output(const tes_raster_create_options *o,
                        tes_sample_type type, int bands, int64_t width,
                        int64_t height, const char *path,
                        tes__enc_params *enc, bool *bigtiff,
                        tes_raster_error *err);

#endif /* TES_RASTER_INTERNAL_H */
