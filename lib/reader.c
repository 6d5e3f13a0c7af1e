/*
 * reader.c — everything between a TIFF's stored blocks and the decoded,
 * band-sequential blocks the cache and windows use: the pool of libtiff
 * handles, block reading (sparse blocks, the fast decoders of decode.c,
 * libtiff's codecs), band de-interleaving, and the decode dispatch for
 * the stored forms GDAL reads: 1- to 32-bit integers (sub-byte samples
 * unpacked to uint8), 16- and 24-bit floats (widened to float32), JPEG
 * YCbCr through libtiff's RGB colour mode, other YCbCr and old-style JPEG
 * through libtiff's RGBA interface, and strips too large to be one block,
 * read in pieces of rows with memory bounded.
 */
#include <stdlib.h>
#include <string.h>

#include "raster_internal.h"

/* Pieces of a large strip: about this many bytes (all bands), kept in a
 * ring of PIECE_RING so that windows asking a little out of order do not
 * restart the strip's decoding. */
#define PIECE_TARGET ((size_t)2 << 20)
#define PIECE_RING 8

typedef struct piece_slot {
    uint32_t piece;
    bool used;
    uint64_t stamp;         /* last use, for eviction */
    void *data;             /* one block */
} piece_slot;

/* Piece mode: a compressed strip can only be decoded from its start, so
 * each plane has one handle that decodes rows in order (libtiff reads the
 * strip in bounded chunks as it goes). */
typedef struct tes__pieces {
    pthread_mutex_t lock;   /* protects everything below; no other lock
                               is taken while it is held */
    int planes;
    tes__tiff **h;          /* per plane, opened on first use */
    uint32_t next_piece;    /* every plane's handle is positioned here */
    piece_slot ring[PIECE_RING];
    uint64_t clock;
    void *row;              /* one stored row of one plane */
} tes__pieces;

static size_t block_bytes(const tes__source *s)
{
    return s->block_plane_samples * (size_t)s->bands *
           tes_sample_size(s->type);
}

size_t tes__source_block_bytes(const tes__source *s)
{
    return block_bytes(s);
}

/* ---- handles ---------------------------------------------------------- */

static int handle_open(tes_raster *r, tes__tiff **out, tes_raster_error *err)
{
    tes__tiff *h = calloc(1, sizeof *h);
    if (!h)
        return tes__err(err, -ENOMEM, r->path, "out of memory");
    if (!tes__tiff_open(h, r->path, NULL, "rm")) {
        int rc = tes__err(err, -EIO, r->path, "cannot reopen: %s",
                          h->msg[0] ? h->msg : "libtiff error");
        free(h);
        return rc;
    }
    /* JPEG YCbCr decodes to RGB in libtiff's JPEG codec, as GDAL asks. */
    if (r->lay.jpeg_rgb &&
        !TIFFSetField(h->tif, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB)) {
        TIFFClose(h->tif);
        free(h);
        return tes__err(err, TES_EUNSUPPORTED, r->path,
                        "libtiff cannot decode JPEG YCbCr to RGB");
    }
    *out = h;
    return 0;
}

static void handle_free(tes__tiff *h)
{
    if (!h)
        return;
    if (h->tif)
        TIFFClose(h->tif);
    tes__codecs_free(&h->cx);
    free(h->scratch);
    free(h->raw);
    free(h);
}

int tes__raster_handle_get(tes_raster *r, tes__tiff **out,
                           tes_raster_error *err)
{
    pthread_mutex_lock(&r->lock);
    tes__tiff *h = r->free_handles;
    if (h)
        r->free_handles = h->next;
    pthread_mutex_unlock(&r->lock);
    if (!h) {
        int rc = handle_open(r, &h, err);
        if (rc)
            return rc;
        pthread_mutex_lock(&r->lock);
        r->n_handles++;
        pthread_mutex_unlock(&r->lock);
    }
    h->next = NULL;
    *out = h;
    return 0;
}

void tes__raster_handle_put(tes_raster *r, tes__tiff *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&r->lock);
    h->next = r->free_handles;
    r->free_handles = h;
    pthread_mutex_unlock(&r->lock);
}

/* ---- stored samples to typed planes ----------------------------------- */

/* 16-bit IEEE half to float (exact). */
static float half_to_float(uint32_t h)
{
    uint32_t s = (h & 0x8000u) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ff;
    uint32_t f;
    if (e == 0 && m == 0) {
        f = s;
    } else if (e == 0) { /* subnormal: normalise */
        e = 113;
        while (!(m & 0x400)) {
            m <<= 1;
            e--;
        }
        f = s | e << 23 | (m & 0x3ff) << 13;
    } else if (e == 31) {
        f = s | 0x7f800000u | m << 13;
    } else {
        f = s | (e + 112) << 23 | m << 13;
    }
    float v;
    memcpy(&v, &f, sizeof v);
    return v;
}

/* 24-bit float (1 sign, 7 exponent bits biased by 63, 16 mantissa bits)
 * to float (exact). */
static float fp24_to_float(uint32_t t)
{
    uint32_t s = (t & 0x800000u) << 8, e = (t >> 16) & 0x7f, m = t & 0xffff;
    uint32_t f;
    if (e == 0 && m == 0) {
        f = s;
    } else if (e == 0) {
        e = 65;
        while (!(m & 0x10000)) {
            m <<= 1;
            e--;
        }
        f = s | e << 23 | (m & 0xffff) << 7;
    } else if (e == 127) {
        f = s | 0x7f800000u | m << 7;
    } else {
        f = s | (e + 64) << 23 | m << 7;
    }
    float v;
    memcpy(&v, &f, sizeof v);
    return v;
}

/* `bits` bits at bit position pos of a row, most significant first. */
static inline uint32_t bits_at(const uint8_t *row, size_t pos, int bits)
{
    const uint8_t *p = row + (pos >> 3);
    int need = (int)(pos & 7) + bits, nbytes = (need + 7) / 8;
    uint64_t v = 0;
    for (int i = 0; i < nbytes; i++)
        v = v << 8 | p[i];
    v >>= nbytes * 8 - need;
    return (uint32_t)(v & ((1ull << bits) - 1));
}

/* Stores v (the stored sample) in sample i of a plane of type t. */
static inline void put_sample(void *plane, size_t i, tes_sample_type t,
                              const tes__layout *L, uint32_t v)
{
    if (L->is_signed && L->bits < 32) { /* sign-extend */
        uint32_t m = 1u << (L->bits - 1);
        v = (v ^ m) - m;
    }
    switch (t) {
    case TES_U8:
    case TES_I8: ((uint8_t *)plane)[i] = (uint8_t)v; break;
    case TES_U16:
    case TES_I16: ((uint16_t *)plane)[i] = (uint16_t)v; break;
    case TES_F32:
        ((float *)plane)[i] = L->bits == 16 ? half_to_float(v)
                                            : fp24_to_float(v);
        break;
    default: ((uint32_t *)plane)[i] = v; break;
    }
}

/* Unpacks `rows` stored rows of a packed strile (row_bytes apart, width
 * pixels of n samples each) into band planes of dst: sample s goes to
 * band band0 + s, row y to row y of the block (block_width apart). */
static void unpack(const tes_raster *r, const uint8_t *src, size_t rows,
                   size_t width, int n, int band0, void *dst)
{
    const tes__layout *L = &r->lay;
    const tes__source *S = &r->src;
    size_t ss = tes_sample_size(S->type), bw = (size_t)S->block_width;
    int bits = L->bits;
    for (size_t y = 0; y < rows; y++) {
        const uint8_t *row = src + y * L->strile_row_bytes;
        for (int s = 0; s < n; s++) {
            void *plane = (char *)dst + ((size_t)(band0 + s) *
                                             S->block_plane_samples +
                                         y * bw) * ss;
            if (n == 1 && bits == 1 && !L->is_signed) {
                uint8_t *d = plane;
                for (size_t x = 0; x < width; x++)
                    d[x] = (uint8_t)((row[x >> 3] >> (7 - (x & 7))) & 1);
            } else if (n == 1 && bits == 4 && !L->is_signed) {
                uint8_t *d = plane;
                for (size_t x = 0; x < width; x++)
                    d[x] = (uint8_t)((row[x >> 1] >> (x & 1 ? 0 : 4)) & 15);
            } else if (bits == 24 && L->half) {
                /* libtiff hands 24-bit floats over in the host's order */
                for (size_t x = 0; x < width; x++) {
                    const uint8_t *p = row + 3 * (x * (size_t)n + (size_t)s);
                    put_sample(plane, x, S->type, L,
                               (uint32_t)p[0] | (uint32_t)p[1] << 8 |
                                   (uint32_t)p[2] << 16);
                }
            } else if (bits == 16) { /* halves, in the host's order */
                const uint16_t *p = (const uint16_t *)row;
                for (size_t x = 0; x < width; x++)
                    put_sample(plane, x, S->type, L, p[x * (size_t)n + s]);
            } else {
                for (size_t x = 0; x < width; x++)
                    put_sample(plane, x, S->type, L,
                               bits_at(row, (x * (size_t)n + (size_t)s) *
                                                (size_t)bits,
                                       bits));
            }
        }
    }
}

#define DEINTERLEAVE(T)                                                      \
    do {                                                                     \
        const T *s_ = src;                                                   \
        T *d_ = dst;                                                         \
        for (size_t y_ = 0; y_ < rows; y_++)                                 \
            for (size_t x_ = 0; x_ < width; x_++)                            \
                for (int b_ = 0; b_ < spp; b_++)                             \
                    d_[(size_t)b_ * plane + y_ * bw + x_] =                  \
                        s_[(y_ * width + x_) * (size_t)spp + b_];            \
    } while (0)

/* Pixel-interleaved samples of the type's size into band planes. */
static void deinterleave(void *dst, const void *src, size_t rows,
                         size_t width, size_t bw, int spp, size_t plane,
                         size_t ss)
{
    switch (ss) {
    case 1: DEINTERLEAVE(uint8_t); break;
    case 2: DEINTERLEAVE(uint16_t); break;
    case 4: DEINTERLEAVE(uint32_t); break;
    default: DEINTERLEAVE(uint64_t); break;
    }
}

/* Fills bands [band0, band0 + n) of a block with nodata (converted to the
 * type, as GDAL fills sparse blocks), else zero. */
static void fill_sparse(const tes_raster *r, void *dst, int band0, int n)
{
    const tes__source *S = &r->src;
    size_t ss = tes_sample_size(S->type);
    uint8_t one[8] = { 0 };
    if (S->has_nodata)
        tes_convert_samples(one, S->type, &S->nodata, TES_F64, 1);
    char *p = (char *)dst + (size_t)band0 * S->block_plane_samples * ss;
    size_t count = (size_t)n * S->block_plane_samples;
    for (size_t i = 0; i < count; i++)
        memcpy(p + i * ss, one, ss);
}

/* ---- blocks ------------------------------------------------------------ */

/* Reads stored strile idx (rows rows) into dst, exactly `want` bytes in
 * the file's stored form, libtiff's codecs or decode.c's. */
static int read_strile(tes_raster *r, tes__tiff *h, uint32_t idx, void *dst,
                       size_t want, size_t rows, tes_raster_error *err)
{
    const tes__layout *L = &r->lay;
    const char *what = r->info.tiled ? "tile" : "strip";
    if (L->fast_ok) {
        uint64_t n = TIFFGetStrileByteCount(h->tif, idx);
        int comp = r->info.compression;
        if (n > 0 && n <= TES_MAX_BLOCK_BYTES * 2 &&
            (comp != COMPRESSION_NONE || n >= want)) {
            /* Uncompressed blocks are read straight into dst. */
            void *src = dst;
            size_t toread = comp == COMPRESSION_NONE ? want : (size_t)n;
            if (comp != COMPRESSION_NONE &&
                !(src = h->raw = tes__reserve(h->raw, &h->raw_cap, toread)))
                return tes__err(err, -ENOMEM, r->path, "out of memory");
            tmsize_t got =
                r->info.tiled
                    ? TIFFReadRawTile(h->tif, idx, src, (tmsize_t)toread)
                    : TIFFReadRawStrip(h->tif, idx, src, (tmsize_t)toread);
            if (got >= 0 && (size_t)got == toread) {
                int fast = comp == COMPRESSION_NONE
                               ? 0
                               : tes__decode_chunk(
                                     &h->cx, comp, r->info.predictor, src,
                                     toread, dst, want, rows,
                                     L->planar ? 1 : (size_t)L->spp,
                                     (size_t)L->bits / 8);
                if (fast < 0)
                    return tes__err(err, fast, r->path, "%s %u: %s", what,
                                    idx, tes_raster_strerror(fast));
                if (fast == 0)
                    return 0;
            }
        }
    }
    h->msg[0] = '\0';
    /* libtiff may report a block whole that it did not fill (a deflate
     * stream longer than the block, through libdeflate): what it leaves is
     * zeros, never the last block's bytes or the heap's */
    memset(dst, 0, want);
    tmsize_t got = r->info.tiled
                       ? TIFFReadEncodedTile(h->tif, idx, dst, (tmsize_t)want)
                       : TIFFReadEncodedStrip(h->tif, idx, dst,
                                              (tmsize_t)want);
    if (got < 0 || (size_t)got != want)
        return tes__err(err, TES_ECORRUPT, r->path,
                        "%s %u: corrupt or truncated data (%s)", what, idx,
                        h->msg[0] ? h->msg : "short read");
    return 0;
}

/* Rows of block `block` inside the image (strips end early). */
static size_t block_rows(const tes_raster *r, uint32_t block)
{
    const tes__source *S = &r->src;
    int64_t by = block / S->blocks_across;
    int64_t left = S->height - by * S->block_height;
    return r->info.tiled || left >= S->block_height ? (size_t)S->block_height
                                                    : (size_t)left;
}

/* A block through libtiff's RGBA interface: ABGR pixels, bottom row
 * first, into R, G, B (and A) planes. */
static int read_rgba(tes_raster *r, tes__tiff *h, uint32_t block, void *dst,
                     tes_raster_error *err)
{
    const tes__source *S = &r->src;
    size_t bw = (size_t)S->block_width, bh = (size_t)S->block_height;
    size_t rows = block_rows(r, block);
    size_t n = bw * bh * 4;
    if (!(h->scratch = tes__reserve(h->scratch, &h->scratch_bytes, n)))
        return tes__err(err, -ENOMEM, r->path, "out of memory");
    uint32_t *px = h->scratch;
    uint32_t bx = block % S->blocks_across, by = block / S->blocks_across;
    h->msg[0] = '\0';
    int ok = r->info.tiled
                 ? TIFFReadRGBATile(h->tif, bx * (uint32_t)bw,
                                    by * (uint32_t)bh, px)
                 : TIFFReadRGBAStrip(h->tif, by * (uint32_t)bh, px);
    if (!ok)
        return tes__err(err, TES_ECORRUPT, r->path,
                        "%s %u: corrupt or truncated data (%s)",
                        r->info.tiled ? "tile" : "strip", block,
                        h->msg[0] ? h->msg : "RGBA decoding failed");
    /* A tile comes as a whole tile, a strip as its own rows. */
    size_t flip = r->info.tiled ? bh : rows;
    uint8_t *d = dst;
    for (size_t y = 0; y < rows; y++) {
        const uint32_t *s = px + (flip - 1 - y) * bw;
        for (size_t x = 0; x < bw; x++) {
            uint32_t v = s[x];
            for (int b = 0; b < S->bands; b++)
                d[(size_t)b * S->block_plane_samples + y * bw + x] =
                    (uint8_t)(v >> (8 * b));
        }
    }
    return 0;
}

/* ---- piece mode --------------------------------------------------------- */

/* Decodes piece k of every plane into slot data with the sequential
 * handles, which must stand at row k * piece_rows or at the start of its
 * strip (the rows before it are then skipped). */
static int decode_piece(tes_raster *r, tes__pieces *P, uint32_t k,
                        uint32_t from_row, void *data, uint64_t *bytes_in,
                        tes_raster_error *err)
{
    const tes__layout *L = &r->lay;
    const tes__source *S = &r->src;
    size_t ss = tes_sample_size(S->type);
    uint32_t row0 = k * (uint32_t)L->piece_rows;
    uint32_t row1 = row0 + (uint32_t)L->piece_rows;
    if (row1 > (uint32_t)S->height)
        row1 = (uint32_t)S->height;
    for (int p = 0; p < P->planes; p++) {
        tes__tiff *h = P->h[p];
        for (uint32_t y = from_row; y < row1; y++) {
            if (y % L->rows_per_strip == 0) /* a strip read from its start */
                *bytes_in += TIFFGetStrileByteCount(
                    h->tif, y / L->rows_per_strip +
                                (uint32_t)p * L->striles_per_plane);
            h->msg[0] = '\0';
            if (TIFFReadScanline(h->tif, P->row, y, (uint16_t)p) < 0)
                return tes__err(err, TES_ECORRUPT, r->path,
                                "strip %u, row %u: corrupt or truncated "
                                "data (%s)",
                                y / L->rows_per_strip, y,
                                h->msg[0] ? h->msg : "short read");
            if (y < row0)
                continue;
            size_t dy = y - row0;
            if (L->packed) {
                /* unpack writes row 0 of the block: shift dst by dy rows */
                unpack(r, P->row, 1, (size_t)S->width,
                       L->planar ? 1 : L->spp, L->planar ? p : 0,
                       (char *)data + dy * (size_t)S->block_width * ss);
            } else if (L->planar || L->spp == 1) {
                memcpy((char *)data + ((size_t)p * S->block_plane_samples +
                                       dy * (size_t)S->block_width) * ss,
                       P->row, (size_t)S->width * ss);
            } else {
                deinterleave((char *)data + dy * (size_t)S->block_width * ss,
                             P->row, 1, (size_t)S->width,
                             (size_t)S->block_width, L->spp,
                             S->block_plane_samples, ss);
            }
        }
    }
    return 0;
}

static int read_piece(tes_raster *r, uint32_t k, void *dst,
                      uint64_t *bytes_in, tes_raster_error *err)
{
    tes__pieces *P = r->pieces;
    const tes__layout *L = &r->lay;
    size_t bytes = block_bytes(&r->src);
    int rc = 0;
    pthread_mutex_lock(&P->lock);
    for (int p = 0; p < P->planes && !rc; p++)
        if (!P->h[p])
            rc = handle_open(r, &P->h[p], err);
    if (!rc && !P->row &&
        !(P->row = malloc(L->strile_row_bytes ? L->strile_row_bytes : 1)))
        rc = tes__err(err, -ENOMEM, r->path, "out of memory");
    piece_slot *hit = NULL;
    for (int i = 0; i < PIECE_RING && !rc; i++)
        if (P->ring[i].used && P->ring[i].piece == k)
            hit = &P->ring[i];
    if (!rc && !hit) {
        uint32_t from = P->next_piece;
        uint32_t from_row = from * (uint32_t)L->piece_rows;
        if (k < from) { /* behind the handles: restart k's strip */
            from = k;
            from_row = k * (uint32_t)L->piece_rows / L->rows_per_strip *
                       L->rows_per_strip;
        }
        /* The pieces on the way are kept: windows ask for them soon. */
        for (uint32_t j = from; j <= k && !rc; j++) {
            piece_slot *s = &P->ring[0];
            for (int i = 1; i < PIECE_RING; i++)
                if (!P->ring[i].used || P->ring[i].stamp < s->stamp)
                    s = &P->ring[i];
            if (!s->data && !(s->data = malloc(bytes))) {
                rc = tes__err(err, -ENOMEM, r->path, "out of memory");
                break;
            }
            s->used = false;
            rc = decode_piece(r, P, j, from_row, s->data, bytes_in, err);
            from_row = (j + 1) * (uint32_t)L->piece_rows;
            P->next_piece = rc ? 0 : j + 1; /* after a failure: restart */
            if (!rc) {
                s->used = true;
                s->piece = j;
                s->stamp = ++P->clock;
                hit = s;
            }
        }
    }
    if (!rc) {
        hit->stamp = ++P->clock;
        memcpy(dst, hit->data, bytes);
    }
    pthread_mutex_unlock(&P->lock);
    return rc;
}

static void pieces_free(tes__pieces *P)
{
    if (!P)
        return;
    for (int p = 0; p < P->planes; p++)
        handle_free(P->h[p]);
    for (int i = 0; i < PIECE_RING; i++)
        free(P->ring[i].data);
    free(P->h);
    free(P->row);
    pthread_mutex_destroy(&P->lock);
    free(P);
}

/* ---- the block reader ---------------------------------------------------- */

int tes__raster_read_block(tes_raster *r, tes__tiff *h, uint32_t block,
                           void *dst, uint64_t *bytes_in,
                           tes_raster_error *err)
{
    const tes__layout *L = &r->lay;
    const tes__source *S = &r->src;
    if (L->piece_rows)
        return read_piece(r, block, dst, bytes_in, err);
    if (L->rgba) {
        *bytes_in += TIFFGetStrileByteCount(h->tif, block);
        return read_rgba(r, h, block, dst, err);
    }
    size_t ss = tes_sample_size(S->type);
    size_t rows = block_rows(r, block);
    size_t width = L->strile_width;
    size_t want = rows * L->strile_row_bytes;
    int planes = L->planar ? S->bands : 1;
    for (int p = 0; p < planes; p++) {
        uint32_t idx = block + (uint32_t)p * L->striles_per_plane;
        int band0 = L->planar ? p : 0, n = L->planar ? 1 : S->bands;
        uint64_t stored = TIFFGetStrileByteCount(h->tif, idx);
        *bytes_in += stored;
        if (stored == 0) {
            /* A sparse block (GDAL writes these). */
            fill_sparse(r, dst, band0, n);
            continue;
        }
        /* One band as the type stores it decodes in place. */
        bool direct = !L->packed && n == 1;
        void *buf = (char *)dst + (size_t)band0 * S->block_plane_samples * ss;
        if (!direct &&
            !(buf = h->scratch = tes__reserve(h->scratch, &h->scratch_bytes,
                                              want)))
            return tes__err(err, -ENOMEM, r->path, "out of memory");
        int rc = read_strile(r, h, idx, buf, want, rows, err);
        if (rc)
            return rc;
        if (direct)
            continue;
        if (L->packed)
            unpack(r, buf, rows, width, n, band0, dst);
        else
            deinterleave(dst, buf, rows, width, (size_t)S->block_width, n,
                         S->block_plane_samples, ss);
    }
    return 0;
}

/* tes__source.load of a raster: a borrowed handle, one block. */
static int raster_load(tes__source *s, uint32_t block, void *dst,
                       uint64_t *bytes_in, tes_raster_error *err)
{
    tes_raster *r = (tes_raster *)s; /* src is r's first member */
    tes__tiff *h = NULL;
    if (!r->lay.piece_rows) {
        int rc = tes__raster_handle_get(r, &h, err);
        if (rc)
            return rc;
    }
    int rc = tes__raster_read_block(r, h, block, dst, bytes_in, err);
    if (r->lay.once) { /* see tes__layout.once */
        pthread_mutex_lock(&r->lock);
        r->n_handles--;
        pthread_mutex_unlock(&r->lock);
        handle_free(h);
    } else {
        tes__raster_handle_put(r, h);
    }
    return rc;
}

/* ---- set-up ------------------------------------------------------------- */

int tes__reader_setup(tes_raster *r, TIFF *tif, const tes__tiff_tags *t,
                      tes_raster_error *err)
{
    const char *p = r->path;
    tes__layout *L = &r->lay;
    tes__source *S = &r->src;
    tes_raster_info *in = &r->info;
    memset(L, 0, sizeof *L);
    L->bits = t->bits;
    L->spp = t->spp;
    L->is_signed = t->fmt == SAMPLEFORMAT_INT;
    L->half = t->fmt == SAMPLEFORMAT_IEEEFP && t->bits < 32;
    L->planar = in->planar;
    bool ojpeg = t->comp == COMPRESSION_OJPEG;
    /* GDAL's choices: JPEG YCbCr through the codec's RGB mode; any other
     * YCbCr, and old-style JPEG in colour, through the RGBA interface. */
    L->jpeg_rgb = t->comp == COMPRESSION_JPEG &&
                  t->photo == PHOTOMETRIC_YCBCR;
    L->rgba = !L->jpeg_rgb && (t->photo == PHOTOMETRIC_YCBCR ||
                               (ojpeg && t->spp >= 3));
    L->once = ojpeg;
    L->packed = !L->rgba && (L->half || (t->bits != 8 && t->bits != 16 &&
                                         t->bits != 32 && t->bits != 64));
    if (L->rgba && t->bits != 8)
        return tes__err(err, TES_EUNSUPPORTED, p,
                        "%u-bit YCbCr is not supported (8)", t->bits);
    if (L->jpeg_rgb &&
        !TIFFSetField(tif, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB))
        return tes__err(err, TES_EUNSUPPORTED, p,
                        "libtiff cannot decode JPEG YCbCr to RGB");
    uint32_t bw = t->block_w, bh = t->block_h;
    in->block_width = (int)bw;      /* as stored; the grid may be pieces */
    in->block_height = (int)bh;
    L->rows_per_strip = bh;
    L->strile_width = bw;
    uint64_t row_bytes = t->tiled ? (uint64_t)TIFFTileRowSize64(tif)
                                  : (uint64_t)TIFFScanlineSize64(tif);
    if (L->rgba)
        row_bytes = (uint64_t)bw * 4;
    if (row_bytes == 0)
        return tes__err(err, TES_ECORRUPT, p, "cannot size a row of %s",
                        t->tiled ? "a tile" : "a strip");
    L->strile_row_bytes = (size_t)row_bytes;
    size_t ss = tes_sample_size(in->type);
    uint64_t row_out = (uint64_t)bw * (uint64_t)in->bands * ss;
    if (row_out > TES_MAX_BLOCK_BYTES || row_bytes > TES_MAX_BLOCK_BYTES)
        return tes__err(err, TES_EUNSUPPORTED, p,
                        "a row of %u pixels x %d bands is too large", bw,
                        in->bands);
    uint64_t block_out = row_out * bh;
    if (block_out > TES_PIECE_BYTES && !t->tiled) {
        if (L->rgba)
            return tes__err(err, TES_EUNSUPPORTED, p,
                            "YCbCr or old-style JPEG strips of more than "
                            "%zu MB are not supported",
                            TES_PIECE_BYTES >> 20);
        uint64_t pr = PIECE_TARGET / row_out;
        L->piece_rows = (int)(pr < 1 ? 1 : pr > bh ? bh : pr);
        bh = (uint32_t)L->piece_rows;
    } else if (block_out > TES_MAX_BLOCK_BYTES) {
        return tes__err(err, TES_EUNSUPPORTED, p,
                        "a %s of %ux%u pixels x %d bands is too large",
                        t->tiled ? "tile" : "strip", bw, bh, in->bands);
    }
    /* decode.c decodes the common streams itself, in the host's order
     * (bytes need no order), with predictors libtiff also accepts. */
    bool swapped = TIFFIsByteSwapped(tif) && t->bits > 8;
    uint16_t c = t->comp;
    L->fast_ok = !L->rgba && !L->jpeg_rgb && !swapped && t->bits % 8 == 0 &&
                 (c == COMPRESSION_NONE || c == COMPRESSION_ZSTD ||
                  c == COMPRESSION_ADOBE_DEFLATE ||
                  c == COMPRESSION_DEFLATE) &&
                 (t->predictor == 1 ||
                  (t->predictor == 2 && t->bits != 24) ||
                  (t->predictor == 3 && t->fmt == SAMPLEFORMAT_IEEEFP));
    S->id = tes__source_new_id();
    S->name = r->path;
    S->width = t->width;
    S->height = t->height;
    S->bands = in->bands;
    S->type = in->type;
    S->block_width = (int)bw;
    S->block_height = (int)bh;
    S->blocks_across = (uint32_t)(((uint64_t)t->width + bw - 1) / bw);
    S->blocks_down = (uint32_t)(((uint64_t)t->height + bh - 1) / bh);
    S->block_plane_samples = (size_t)bw * bh;
    S->load = raster_load;
    uint32_t strile_down =
        (uint32_t)(((uint64_t)t->height + t->block_h - 1) / t->block_h);
    L->striles_per_plane = S->blocks_across * strile_down;
    if (L->piece_rows) {
        tes__pieces *P = calloc(1, sizeof *P);
        int planes = L->planar ? in->bands : 1;
        if (P)
            P->h = calloc((size_t)planes, sizeof *P->h);
        if (!P || !P->h || pthread_mutex_init(&P->lock, NULL)) {
            if (P)
                free(P->h);
            free(P);
            return tes__err(err, -ENOMEM, p, "out of memory");
        }
        P->planes = planes;
        r->pieces = P;
    }
    return 0;
}

void tes__reader_close(tes_raster *r)
{
    for (tes__tiff *h = r->free_handles, *n; h; h = n) {
        n = h->next;
        handle_free(h);
    }
    r->free_handles = NULL;
    pieces_free(r->pieces);
    r->pieces = NULL;
}
