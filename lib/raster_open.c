/*
 * raster_open.c — opening a TIFF for reading: every property checked up
 * front (with a one-line refusal naming the file and the property), the
 * info and GeoTIFF/GDAL tags collected, the per-reader libtiff handles,
 * and decoding one block (tile or strip) into band-sequential samples.
 */
#include <ctype.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "raster_internal.h"

int tes__georef_parse(tes_raster_info *info); /* georef.c */

static atomic_uint_fast64_t next_raster_id = 1;

static int check_magic(const char *path, tes_raster_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return tes__err(err, -errno, path, "%s", strerror(errno));
    unsigned char m[4] = { 0 };
    ssize_t n = read(fd, m, sizeof m);
    close(fd);
    if (n < 4)
        return tes__err(err, TES_ECORRUPT, path,
                        "not a TIFF file (only %zd bytes)", n < 0 ? 0 : n);
    bool ii = m[0] == 'I' && m[1] == 'I' && (m[2] == 42 || m[2] == 43) &&
              m[3] == 0;
    bool mm = m[0] == 'M' && m[1] == 'M' && m[2] == 0 &&
              (m[3] == 42 || m[3] == 43);
    if (!ii && !mm)
        return tes__err(err, TES_EUNSUPPORTED, path, "not a TIFF file");
    return 0;
}

/* Copies a counted custom tag into malloc'd storage. */
static int get_array(TIFF *tif, uint32_t tag, size_t elem, void **dst,
                     int *n)
{
    uint16_t count = 0;
    void *p = NULL;
    if (!TIFFGetField(tif, tag, &count, &p) || !p || count == 0)
        return 0;
    *dst = malloc((size_t)count * elem);
    if (!*dst)
        return -ENOMEM;
    memcpy(*dst, p, (size_t)count * elem);
    *n = count;
    return 0;
}

static int get_string(TIFF *tif, uint32_t tag, char **dst)
{
    const char *p = NULL;
    if (!TIFFGetField(tif, tag, &p) || !p)
        return 0;
    *dst = strdup(p);
    return *dst ? 0 : -ENOMEM;
}

static int read_georef(tes_raster *r, TIFF *tif)
{
    tes_georef *g = &r->info.georef;
    int rc = 0;
    rc |= get_array(tif, TES_TAG_PIXEL_SCALE, sizeof(double),
                    (void **)&r->pixel_scale, &g->n_pixel_scale);
    rc |= get_array(tif, TES_TAG_TIEPOINT, sizeof(double),
                    (void **)&r->tiepoints, &g->n_tiepoints);
    rc |= get_array(tif, TES_TAG_TRANSFORMATION, sizeof(double),
                    (void **)&r->transformation, &g->n_transformation);
    rc |= get_array(tif, TES_TAG_GEOKEYS, sizeof(uint16_t),
                    (void **)&r->geokeys, &g->n_geokeys);
    rc |= get_array(tif, TES_TAG_GEO_DOUBLES, sizeof(double),
                    (void **)&r->geo_doubles, &g->n_geo_doubles);
    rc |= get_string(tif, TES_TAG_GEO_ASCII, &r->geo_ascii);
    rc |= get_string(tif, TES_TAG_GDAL_METADATA, &r->gdal_metadata);
    rc |= get_string(tif, TES_TAG_GDAL_NODATA, &r->gdal_nodata);
    if (rc)
        return -ENOMEM;
    g->pixel_scale = r->pixel_scale;
    g->tiepoints = r->tiepoints;
    g->transformation = r->transformation;
    g->geokeys = r->geokeys;
    g->geo_doubles = r->geo_doubles;
    g->geo_ascii = r->geo_ascii;
    g->gdal_metadata = r->gdal_metadata;
    g->gdal_nodata = r->gdal_nodata;
    if (r->gdal_nodata) {
        char *end;
        double v = strtod(r->gdal_nodata, &end);
        if (end != r->gdal_nodata) {
            r->info.has_nodata = true;
            r->info.nodata = v;
        }
    }
    return tes__georef_parse(&r->info);
}

static void codec_name(tes_raster *r, uint16_t c)
{
    const char *n;
    switch (c) {
    case COMPRESSION_NONE: n = "none"; break;
    case COMPRESSION_ADOBE_DEFLATE:
    case COMPRESSION_DEFLATE: n = "deflate"; break;
    case COMPRESSION_LZW: n = "lzw"; break;
    case COMPRESSION_ZSTD: n = "zstd"; break;
    case COMPRESSION_LZMA: n = "lzma"; break;
    case COMPRESSION_PACKBITS: n = "packbits"; break;
    case COMPRESSION_JPEG: n = "jpeg"; break;
    case COMPRESSION_WEBP: n = "webp"; break;
    case COMPRESSION_LERC: n = "lerc"; break;
    default: {
        const TIFFCodec *k = TIFFFindCODEC(c);
        n = k ? k->name : "unknown";
    }
    }
    snprintf(r->compression_name, sizeof r->compression_name, "%s", n);
    for (char *p = r->compression_name; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    r->info.compression_name = r->compression_name;
}

static int sample_type(uint16_t fmt, uint16_t bits, tes_sample_type *t)
{
    switch (fmt) {
    case SAMPLEFORMAT_UINT:
        *t = bits == 8 ? TES_U8 : bits == 16 ? TES_U16 : bits == 32 ? TES_U32
                                                                    : 0;
        break;
    case SAMPLEFORMAT_INT:
        *t = bits == 8 ? TES_I8 : bits == 16 ? TES_I16 : bits == 32 ? TES_I32
                                                                    : 0;
        break;
    case SAMPLEFORMAT_IEEEFP:
        *t = bits == 32 ? TES_F32 : bits == 64 ? TES_F64 : 0;
        break;
    default:
        *t = 0;
    }
    return *t ? 0 : -1;
}

/* Every property the reader depends on, checked once. */
static int validate(tes_raster *r, TIFF *tif, uint64_t file_size,
                    tes_raster_error *err)
{
    const char *p = r->path;
    tes_raster_info *in = &r->info;
    uint32_t w = 0, h = 0;
    uint16_t spp = 1, bits = 1, fmt = SAMPLEFORMAT_UINT, photo = 0;
    uint16_t planar = PLANARCONFIG_CONTIG, comp = COMPRESSION_NONE;

    if (!TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &w) ||
        !TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &h))
        return tes__err(err, TES_ECORRUPT, p, "missing image width or height");
    if (w == 0 || h == 0)
        return tes__err(err, TES_ECORRUPT, p, "zero %s",
                        w == 0 ? "width" : "height");
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &spp);
    TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &bits);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &fmt);
    TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &planar);
    TIFFGetFieldDefaulted(tif, TIFFTAG_COMPRESSION, &comp);
    if (!TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &photo))
        photo = spp >= 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK;
    if (spp == 0)
        return tes__err(err, TES_ECORRUPT, p, "zero samples per pixel");
    if (photo == PHOTOMETRIC_PALETTE)
        return tes__err(err, TES_EUNSUPPORTED, p,
                        "palette (colour-mapped) images are not supported");
    if (photo == PHOTOMETRIC_YCBCR) {
        uint16_t sh = 1, sv = 1;
        TIFFGetFieldDefaulted(tif, TIFFTAG_YCBCRSUBSAMPLING, &sh, &sv);
        if (sh != 1 || sv != 1 || comp == COMPRESSION_JPEG)
            return tes__err(err, TES_EUNSUPPORTED, p,
                            "YCbCr subsampling %ux%u is not supported",
                            sh, sv);
    }
    if (bits != 8 && bits != 16 && bits != 32 && bits != 64)
        return tes__err(err, TES_EUNSUPPORTED, p,
                        "%u-bit samples are not supported (8, 16, 32, 64)",
                        bits);
    if (sample_type(fmt, bits, &in->type))
        return tes__err(err, TES_EUNSUPPORTED, p,
                        "sample format %u with %u bits is not supported",
                        fmt, bits);
    if (planar != PLANARCONFIG_CONTIG && planar != PLANARCONFIG_SEPARATE)
        return tes__err(err, TES_ECORRUPT, p, "planar configuration %u",
                        planar);
    if (!TIFFIsCODECConfigured(comp))
        return tes__err(err, TES_EUNSUPPORTED, p,
                        "compression %u is not available in this libtiff",
                        comp);
    in->width = w;
    in->height = h;
    in->bands = spp;
    in->planar = planar == PLANARCONFIG_SEPARATE && spp > 1;
    in->compression = comp;
    codec_name(r, comp);
    uint16_t pred = 1;
    if (comp != COMPRESSION_NONE &&
        !TIFFGetField(tif, TIFFTAG_PREDICTOR, &pred))
        pred = 1;
    in->predictor = pred;
    in->bigtiff = TIFFIsBigTIFF(tif) != 0;
    r->fast_ok = !TIFFIsByteSwapped(tif) &&
                 (comp == COMPRESSION_NONE || comp == COMPRESSION_ZSTD ||
                  comp == COMPRESSION_ADOBE_DEFLATE ||
                  comp == COMPRESSION_DEFLATE) &&
                 (pred == 1 || pred == 2 ||
                  (pred == 3 && (fmt == SAMPLEFORMAT_IEEEFP)));
    in->file_size = file_size;
    r->bits = bits;

    uint32_t bw, bh;
    if (TIFFIsTiled(tif)) {
        if (!TIFFGetField(tif, TIFFTAG_TILEWIDTH, &bw) ||
            !TIFFGetField(tif, TIFFTAG_TILELENGTH, &bh) || bw == 0 ||
            bh == 0)
            return tes__err(err, TES_ECORRUPT, p, "missing tile size");
        in->tiled = true;
    } else {
        uint32_t rps = h;
        TIFFGetFieldDefaulted(tif, TIFFTAG_ROWSPERSTRIP, &rps);
        if (rps == 0)
            return tes__err(err, TES_ECORRUPT, p, "zero rows per strip");
        bw = w;
        bh = rps > h ? h : rps;
    }
    size_t ss = (size_t)bits / 8;
    if ((uint64_t)bw * bh * spp * ss > TES_MAX_BLOCK_BYTES)
        return tes__err(err, TES_EUNSUPPORTED, p,
                        "a %s of %ux%u pixels x %u bands is too large",
                        in->tiled ? "tile" : "strip", bw, bh, spp);
    in->block_width = (int)bw;
    in->block_height = (int)bh;
    r->blocks_across = (uint32_t)((w + (uint64_t)bw - 1) / bw);
    r->blocks_down = (uint32_t)((h + (uint64_t)bh - 1) / bh);
    r->block_plane_samples = (size_t)bw * bh;
    uint64_t per_plane = (uint64_t)r->blocks_across * r->blocks_down;
    uint64_t want = per_plane * (in->planar ? spp : 1);
    uint32_t have = in->tiled ? TIFFNumberOfTiles(tif) : TIFFNumberOfStrips(tif);
    if (per_plane > UINT32_MAX / 2 || want != have)
        return tes__err(err, TES_ECORRUPT, p,
                        "%u %s where the size says %llu",
                        have, in->tiled ? "tiles" : "strips",
                        (unsigned long long)want);
    r->blocks_per_plane = (uint32_t)per_plane;
    for (uint32_t i = 0; i < have; i++) {
        int bad = 0; /* libtiff sets it on failure */
        uint64_t off = TIFFGetStrileOffsetWithErr(tif, i, &bad);
        uint64_t n = bad ? 0 : TIFFGetStrileByteCountWithErr(tif, i, &bad);
        if (bad)
            return tes__err(err, TES_ECORRUPT, p,
                            "cannot read the offset of %s %u",
                            in->tiled ? "tile" : "strip", i);
        if (n != 0 && (off > file_size || n > file_size - off))
            return tes__err(err, TES_ECORRUPT, p,
                            "%s %u lies beyond the end of the file "
                            "(truncated?)", in->tiled ? "tile" : "strip", i);
    }
    return 0;
}

TES_API int tes_raster_open(tes_raster **out, const char *path,
                            tes_raster_error *err)
{
    if (!out || !path)
        return tes__err(err, -EINVAL, path, "invalid argument");
    *out = NULL;
    struct stat st;
    if (stat(path, &st) != 0)
        return tes__err(err, -errno, path, "%s", strerror(errno));
    if (S_ISDIR(st.st_mode))
        return tes__err(err, -EISDIR, path, "is a directory");
    int rc = check_magic(path, err);
    if (rc)
        return rc;
    tes_raster *r = calloc(1, sizeof *r);
    tes__tiff *h = calloc(1, sizeof *h);
    if (!r || !h || !(r->path = strdup(path))) {
        free(h);
        if (r)
            free(r->path);
        free(r);
        return tes__err(err, -ENOMEM, path, "out of memory");
    }
    rc = pthread_mutex_init(&r->lock, NULL);
    if (rc) {
        free(h);
        free(r->path);
        free(r);
        return tes__err(err, -rc, path, "%s", strerror(rc));
    }
    r->dev = st.st_dev;
    r->ino = st.st_ino;
    /* relaxed: only uniqueness matters, nothing is published with it */
    r->id = atomic_fetch_add_explicit(&next_raster_id, 1,
                                      memory_order_relaxed);
    if (!tes__tiff_open(h, path, NULL, "rm")) {
        rc = tes__err(err, TES_ECORRUPT, path, "cannot read TIFF: %s",
                      h->msg[0] ? h->msg : "unknown libtiff error");
        free(h);
        tes_raster_close(r);
        return rc;
    }
    r->n_handles = 1;
    r->free_handles = h;
    rc = validate(r, h->tif, (uint64_t)st.st_size, err);
    if (!rc && read_georef(r, h->tif))
        rc = tes__err(err, -ENOMEM, path, "out of memory");
    if (rc) {
        tes_raster_close(r);
        return rc;
    }
    *out = r;
    return 0;
}

TES_API void tes_raster_close(tes_raster *r)
{
    if (!r)
        return;
    for (tes__tiff *h = r->free_handles, *n; h; h = n) {
        n = h->next;
        TIFFClose(h->tif);
        tes__tiff_free_codecs(h);
        free(h->scratch);
        free(h);
    }
    pthread_mutex_destroy(&r->lock);
    free(r->pixel_scale);
    free(r->tiepoints);
    free(r->transformation);
    free(r->geokeys);
    free(r->geo_doubles);
    free(r->geo_ascii);
    free(r->gdal_metadata);
    free(r->gdal_nodata);
    free(r->path);
    free(r);
}

TES_API const tes_raster_info *tes_raster_info_get(const tes_raster *r)
{
    return r ? &r->info : NULL;
}

TES_API const char *tes_raster_path(const tes_raster *r)
{
    return r ? r->path : NULL;
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
        h = calloc(1, sizeof *h);
        if (!h)
            return tes__err(err, -ENOMEM, r->path, "out of memory");
        if (!tes__tiff_open(h, r->path, NULL, "rm")) {
            int rc = tes__err(err, -EIO, r->path, "cannot reopen: %s",
                              h->msg[0] ? h->msg : "libtiff error");
            free(h);
            return rc;
        }
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

size_t tes__raster_block_bytes(const tes_raster *r)
{
    return r->block_plane_samples * (size_t)r->info.bands *
           tes_sample_size(r->info.type);
}

/* Reads TIFF strile `idx` into dst, expecting exactly `want` bytes. */
static int read_strile(tes_raster *r, tes__tiff *h, uint32_t idx, void *dst,
                       size_t want, size_t rows, size_t spp,
                       tes_raster_error *err)
{
    const char *what = r->info.tiled ? "tile" : "strip";
    if (TIFFGetStrileByteCount(h->tif, idx) == 0) {
        /* A sparse block (GDAL writes these): nodata, else zero. */
        size_t ss = tes_sample_size(r->info.type);
        uint8_t one[8] = { 0 };
        if (r->info.has_nodata)
            tes_convert_samples(one, r->info.type, &r->info.nodata, TES_F64,
                                1);
        for (size_t i = 0; i < want; i += ss)
            memcpy((char *)dst + i, one, ss);
        return 0;
    }
    int fast = tes__decode_fast(r, h, idx, dst, want, rows, spp);
    if (fast < 0)
        return tes__err(err, fast, r->path, "%s %u: %s", what, idx,
                        tes_raster_strerror(fast));
    if (fast == 0)
        return 0;
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

#define DEINTERLEAVE(T)                                                      \
    do {                                                                     \
        const T *s_ = src;                                                   \
        T *d_ = dst;                                                         \
        for (size_t i_ = 0; i_ < npix; i_++)                                 \
            for (int b_ = 0; b_ < spp; b_++)                                 \
                d_[(size_t)b_ * plane + i_] = s_[i_ * (size_t)spp + b_];     \
    } while (0)

static void deinterleave(void *dst, const void *src, size_t npix, int spp,
                         size_t plane, size_t ss)
{
    switch (ss) {
    case 1: DEINTERLEAVE(uint8_t); break;
    case 2: DEINTERLEAVE(uint16_t); break;
    case 4: DEINTERLEAVE(uint32_t); break;
    default: DEINTERLEAVE(uint64_t); break;
    }
}

int tes__raster_read_block(tes_raster *r, tes__tiff *h, uint32_t block,
                           void *dst, tes_raster_error *err)
{
    const tes_raster_info *in = &r->info;
    size_t ss = tes_sample_size(in->type);
    size_t plane = r->block_plane_samples;
    size_t rows = (size_t)in->block_height;
    if (!in->tiled) {
        int64_t left = in->height - (int64_t)block * in->block_height;
        if (left < (int64_t)rows)
            rows = (size_t)left;
    }
    size_t npix = rows * (size_t)in->block_width;
    if (in->planar || in->bands == 1) {
        for (int b = 0; b < in->bands; b++) {
            int rc = read_strile(r, h, block + (uint32_t)b * r->blocks_per_plane,
                                 (char *)dst + (size_t)b * plane * ss,
                                 npix * ss, rows, 1, err);
            if (rc)
                return rc;
        }
        return 0;
    }
    size_t want = npix * (size_t)in->bands * ss;
    if (h->scratch_bytes < want) {
        free(h->scratch);
        h->scratch = malloc(want);
        h->scratch_bytes = h->scratch ? want : 0;
        if (!h->scratch)
            return tes__err(err, -ENOMEM, r->path, "out of memory");
    }
    int rc = read_strile(r, h, block, h->scratch, want, rows,
                         (size_t)in->bands, err);
    if (rc)
        return rc;
    deinterleave(dst, h->scratch, npix, in->bands, plane, ss);
    return 0;
}
