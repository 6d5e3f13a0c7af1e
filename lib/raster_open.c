/*
 * raster_open.c — opening a TIFF for reading: every property checked up
 * front (with a one-line refusal naming the file and what is missing),
 * and the description collected: info, GeoTIFF and GDAL tags, colour
 * table, overviews. Reading the blocks is reader.c's.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "raster_internal.h"

int tes__georef_parse(tes_raster_info *info); /* georef.c */

static atomic_uint_fast64_t next_source_id = 1;

uint64_t tes__source_new_id(void)
{
    /* relaxed: only uniqueness matters, nothing is published with it */
    return atomic_fetch_add_explicit(&next_source_id, 1,
                                     memory_order_relaxed);
}

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

/* The sample type GDAL reads stored samples as: sub-byte and odd widths
 * widen to the next integer type, 16- and 24-bit floats to float32. */
static int sample_type(const char *p, uint16_t fmt, uint16_t bits,
                       tes_sample_type *t, tes_raster_error *err)
{
    *t = TES_TYPE_NONE;
    switch (fmt) {
    case SAMPLEFORMAT_UINT:
    case SAMPLEFORMAT_VOID: /* "undefined": GDAL reads it as unsigned */
        *t = bits <= 8 ? TES_U8 : bits <= 16 ? TES_U16 : bits <= 32 ? TES_U32
                                                                    : 0;
        break;
    case SAMPLEFORMAT_INT:
        *t = bits <= 8 ? TES_I8 : bits <= 16 ? TES_I16 : bits <= 32 ? TES_I32
                                                                    : 0;
        break;
    case SAMPLEFORMAT_IEEEFP:
        *t = bits == 16 || bits == 24 || bits == 32 ? TES_F32
             : bits == 64                           ? TES_F64
                                                    : 0;
        break;
    case SAMPLEFORMAT_COMPLEXINT:
    case SAMPLEFORMAT_COMPLEXIEEEFP:
        return tes__err(err, TES_EUNSUPPORTED, p,
                        "complex samples (sample format %u) are not "
                        "supported",
                        fmt);
    default:
        return tes__err(err, TES_EUNSUPPORTED, p,
                        "sample format %u is not supported", fmt);
    }
    if (bits == 0)
        return tes__err(err, TES_ECORRUPT, p, "zero bits per sample");
    if (!*t && fmt == SAMPLEFORMAT_IEEEFP)
        return tes__err(err, TES_EUNSUPPORTED, p,
                        "%u-bit floating-point samples are not supported "
                        "(16, 24, 32, 64)",
                        bits);
    if (!*t)
        return tes__err(err, TES_EUNSUPPORTED, p,
                        "%u-bit integer samples are not supported (1 to 32)",
                        bits);
    return 0;
}

/* The colour table: a palette image's own, or the one GDAL shows for
 * 1-bit bands (black and white) and min-is-white bands (white to black). */
static int read_colormap(tes_raster *r, TIFF *tif, const tes__tiff_tags *t,
                         tes_raster_error *err)
{
    const char *p = r->path;
    int n = 0;
    uint16_t *red = NULL, *green = NULL, *blue = NULL;
    bool palette = t->photo == PHOTOMETRIC_PALETTE;
    if (palette) {
        if (t->spp != 1 || t->bits > 16 || r->info.type == TES_F32)
            return tes__err(err, TES_EUNSUPPORTED, p,
                            "palette images of %u samples of %u bits are "
                            "not supported (1 sample of 1 to 16 bits)",
                            t->spp, t->bits);
        if (!TIFFGetField(tif, TIFFTAG_COLORMAP, &red, &green, &blue) ||
            !red || !green || !blue)
            return tes__err(err, TES_ECORRUPT, p,
                            "palette image without a colour map");
        n = 1 << t->bits;
    } else if (t->spp == 1 && r->info.type == TES_U8 &&
               (t->bits == 1 || t->photo == PHOTOMETRIC_MINISWHITE)) {
        n = 1 << t->bits;
    } else {
        return 0;
    }
    r->colormap_rgb = malloc(3 * (size_t)n * sizeof *r->colormap_rgb);
    if (!r->colormap_rgb)
        return tes__err(err, -ENOMEM, p, "out of memory");
    uint16_t *c = r->colormap_rgb;
    for (int i = 0; i < n; i++) {
        if (palette) {
            c[i] = red[i];
            c[n + i] = green[i];
            c[2 * n + i] = blue[i];
        } else {
            /* 0 black .. n-1 white, reversed for min-is-white */
            int v = 255 * i / (n - 1);
            if (t->photo == PHOTOMETRIC_MINISWHITE)
                v = 255 - v;
            c[i] = c[n + i] = c[2 * n + i] = (uint16_t)(v * 257);
        }
    }
    r->colormap.n = n;
    r->colormap.red = c;
    r->colormap.green = c + n;
    r->colormap.blue = c + 2 * n;
    r->info.colormap = &r->colormap;
    return 0;
}

/* Appends the reduced-resolution images of tif's chain (from its current
 * directory on, all of them when external) to r's list. Leaves tif on
 * another directory. */
#define MAX_OVERVIEWS 64
static int list_overviews(tes_raster *r, TIFF *tif, bool external)
{
    tes_raster_info *in = &r->info;
    do {
        uint32_t sub = 0, w = 0, h = 0;
        TIFFGetField(tif, TIFFTAG_SUBFILETYPE, &sub);
        if ((!external && !(sub & FILETYPE_REDUCEDIMAGE)) ||
            (sub & FILETYPE_MASK) || !TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &w) ||
            !TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &h))
            continue;
        if (in->n_overviews == MAX_OVERVIEWS)
            break;
        if (!r->overviews &&
            !(r->overviews = calloc(MAX_OVERVIEWS, sizeof *r->overviews)))
            return -ENOMEM;
        tes_overview *o = &r->overviews[in->n_overviews++];
        o->width = w;
        o->height = h;
        o->external = external;
    } while (TIFFReadDirectory(tif));
    in->overviews = r->overviews;
    return 0;
}

/* Internal overviews (the IFDs after the main one), then those of
 * FILE.ovr as gdaladdo -ro writes them. h ends on the main image. */
static int read_overviews(tes_raster *r, tes__tiff *h, tes_raster_error *err)
{
    int rc = 0;
    bool moved = TIFFReadDirectory(h->tif) != 0;
    if (moved)
        rc = list_overviews(r, h->tif, false);
    if (!rc) {
        size_t n = strlen(r->path) + 5;
        char *ovr = malloc(n);
        struct stat st;
        if (!ovr)
            rc = -ENOMEM;
        else
            snprintf(ovr, n, "%s.ovr", r->path);
        if (!rc && stat(ovr, &st) == 0 && S_ISREG(st.st_mode)) {
            tes__tiff o;
            memset(&o, 0, sizeof o);
            if (tes__tiff_open(&o, ovr, NULL, "rm")) {
                rc = list_overviews(r, o.tif, true);
                TIFFClose(o.tif);
            }
        }
        free(ovr);
    }
    if (rc)
        return tes__err(err, rc, r->path, "out of memory");
    if (moved && !TIFFSetDirectory(h->tif, 0))
        return tes__err(err, TES_ECORRUPT, r->path,
                        "cannot return to the main image: %s", h->msg);
    return 0;
}

/* Every property the reader depends on, checked once. */
/* The most bytes one stored byte of compression comp decodes to, where
 * the format bounds it: none 1, PackBits 64 (2 bytes for a run of 128),
 * deflate 1032 (zlib's documented limit), LZW 4096 (a code of 9 to 12
 * bits emits at most a table's worth). 0: no useful bound (zstd, JPEG,
 * the rest), and no check. */
static uint64_t max_ratio(uint16_t comp)
{
    switch (comp) {
    case COMPRESSION_NONE: return 1;
    case COMPRESSION_PACKBITS: return 64;
    case COMPRESSION_ADOBE_DEFLATE:
    case COMPRESSION_DEFLATE: return 1032;
    case COMPRESSION_LZW: return 4096;
    default: return 0;
    }
}

/* Bytes strile i decodes to, as the header's sizes say (a strip at the
 * bottom holds only the rows left). */
static uint64_t strile_bytes(TIFF *tif, const tes__tiff_tags *t, uint32_t i,
                             uint64_t per_plane)
{
    if (t->tiled)
        return (uint64_t)TIFFTileSize64(tif);
    uint64_t row = (i % per_plane) * (uint64_t)t->block_h;
    uint64_t rows = t->height - row < t->block_h ? t->height - row
                                                 : t->block_h;
    return (uint64_t)TIFFVStripSize64(tif, (uint32_t)rows);
}

static int validate(tes_raster *r, tes__tiff *h, uint64_t file_size,
                    tes_raster_error *err)
{
    TIFF *tif = h->tif;
    const char *p = r->path;
    tes_raster_info *in = &r->info;
    tes__tiff_tags t;
    memset(&t, 0, sizeof t);
    t.spp = 1;
    t.bits = 1;
    t.fmt = SAMPLEFORMAT_UINT;
    t.planar = PLANARCONFIG_CONTIG;
    t.comp = COMPRESSION_NONE;
    t.predictor = 1;

    if (!TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &t.width) ||
        !TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &t.height))
        return tes__err(err, TES_ECORRUPT, p, "missing image width or height");
    if (t.width == 0 || t.height == 0)
        return tes__err(err, TES_ECORRUPT, p, "zero %s",
                        t.width == 0 ? "width" : "height");
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &t.spp);
    TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &t.bits);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &t.fmt);
    TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &t.planar);
    TIFFGetFieldDefaulted(tif, TIFFTAG_COMPRESSION, &t.comp);
    if (!TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &t.photo))
        t.photo = t.spp >= 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK;
    if (t.spp == 0)
        return tes__err(err, TES_ECORRUPT, p, "zero samples per pixel");
    int rc = sample_type(p, t.fmt, t.bits, &in->type, err);
    if (rc)
        return rc;
    if (t.planar != PLANARCONFIG_CONTIG && t.planar != PLANARCONFIG_SEPARATE)
        return tes__err(err, TES_ECORRUPT, p, "planar configuration %u",
                        t.planar);
    if (!TIFFIsCODECConfigured(t.comp))
        return tes__err(err, TES_EUNSUPPORTED, p,
                        "compression %u is not available in this libtiff",
                        t.comp);
    if (t.comp != COMPRESSION_NONE &&
        !TIFFGetField(tif, TIFFTAG_PREDICTOR, &t.predictor))
        t.predictor = 1;
    uint16_t n_extra = 0, *extra = NULL;
    if (TIFFGetField(tif, TIFFTAG_EXTRASAMPLES, &n_extra, &extra) && extra)
        for (uint16_t i = 0; i < n_extra; i++)
            if (extra[i] == EXTRASAMPLE_ASSOCALPHA ||
                extra[i] == EXTRASAMPLE_UNASSALPHA) {
                t.extra_alpha = (uint16_t)(i + 1);
                t.alpha_assoc = extra[i] == EXTRASAMPLE_ASSOCALPHA;
            }
    bool ycbcr = t.photo == PHOTOMETRIC_YCBCR ||
                 (t.comp == COMPRESSION_OJPEG && t.spp >= 3);
    in->width = t.width;
    in->height = t.height;
    in->bands = t.spp;
    if (ycbcr) { /* decoded to R, G, B and alpha when there is one */
        if (t.spp < 3)
            return tes__err(err, TES_ECORRUPT, p,
                            "YCbCr with %u samples per pixel", t.spp);
        in->bands = t.extra_alpha && t.comp != COMPRESSION_JPEG ? 4 : 3;
        if (t.comp == COMPRESSION_JPEG)
            in->bands = t.spp;
        in->type = TES_U8;
    }
    in->planar = t.planar == PLANARCONFIG_SEPARATE && t.spp > 1;
    if (ycbcr && in->planar)
        return tes__err(err, TES_EUNSUPPORTED, p,
                        "band-separate YCbCr is not supported");
    in->compression = t.comp;
    codec_name(r, t.comp);
    in->predictor = t.predictor;
    in->bigtiff = TIFFIsBigTIFF(tif) != 0;
    in->file_size = file_size;
    in->bits = t.bits;
    in->photometric = t.photo;
    in->rgb = (t.photo == PHOTOMETRIC_RGB || ycbcr) && in->bands >= 3;
    /* the extra samples are the last bands (RGBA decoding keeps only an
     * alpha, as band 4) */
    if (t.extra_alpha && n_extra <= t.spp) {
        in->alpha_band = ycbcr && in->bands == 4 && t.comp != COMPRESSION_JPEG
                             ? 4
                             : (int)(t.spp - n_extra) + t.extra_alpha;
        in->alpha_associated = t.alpha_assoc;
    }

    if (TIFFIsTiled(tif)) {
        if (!TIFFGetField(tif, TIFFTAG_TILEWIDTH, &t.block_w) ||
            !TIFFGetField(tif, TIFFTAG_TILELENGTH, &t.block_h) ||
            t.block_w == 0 || t.block_h == 0)
            return tes__err(err, TES_ECORRUPT, p, "missing tile size");
        t.tiled = true;
    } else {
        uint32_t rps = t.height;
        TIFFGetFieldDefaulted(tif, TIFFTAG_ROWSPERSTRIP, &rps);
        if (rps == 0)
            return tes__err(err, TES_ECORRUPT, p, "zero rows per strip");
        t.block_w = t.width;
        t.block_h = rps > t.height ? t.height : rps;
    }
    in->tiled = t.tiled;
    uint64_t across = ((uint64_t)t.width + t.block_w - 1) / t.block_w;
    uint64_t down = ((uint64_t)t.height + t.block_h - 1) / t.block_h;
    uint64_t per_plane = across * down;
    uint64_t want = per_plane * (in->planar ? t.spp : 1);
    uint32_t have = t.tiled ? TIFFNumberOfTiles(tif) : TIFFNumberOfStrips(tif);
    if (per_plane > UINT32_MAX / 2 || want != have)
        return tes__err(err, TES_ECORRUPT, p,
                        "%u %s where the size says %llu",
                        have, t.tiled ? "tiles" : "strips",
                        (unsigned long long)want);
    uint64_t ratio = max_ratio(t.comp);
    for (uint32_t i = 0; i < have; i++) {
        int bad = 0; /* libtiff sets it on failure */
        uint64_t off = TIFFGetStrileOffsetWithErr(tif, i, &bad);
        uint64_t n = bad ? 0 : TIFFGetStrileByteCountWithErr(tif, i, &bad);
        if (bad)
            return tes__err(err, TES_ECORRUPT, p,
                            "cannot read the offset of %s %u",
                            t.tiled ? "tile" : "strip", i);
        if (n != 0 && (off > file_size || n > file_size - off))
            return tes__err(err, TES_ECORRUPT, p,
                            "%s %u lies beyond the end of the file "
                            "(truncated?)", t.tiled ? "tile" : "strip", i);
        /* A stored block decodes to at most `ratio` times its bytes:
         * the header's sizes must fit what the file holds (absent
         * blocks, n == 0, read as nodata). */
        uint64_t want = ratio ? strile_bytes(tif, &t, i, per_plane) : 0;
        if (n != 0 && want && n < (want + ratio - 1) / ratio)
            return tes__err(err, TES_ECORRUPT, p,
                            "%s %u holds %llu bytes, too few for the %llu "
                            "its header's sizes say it decodes to "
                            "(truncated, or a lying header?)",
                            t.tiled ? "tile" : "strip", i,
                            (unsigned long long)n, (unsigned long long)want);
    }
    rc = read_colormap(r, tif, &t, err);
    if (!rc)
        rc = read_overviews(r, h, err);
    if (!rc)
        rc = tes__reader_setup(r, tif, &t, err);
    return rc;
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
    if (!tes__tiff_open(h, path, NULL, "rm")) {
        rc = tes__err(err, TES_ECORRUPT, path, "cannot read TIFF: %s",
                      h->msg[0] ? h->msg : "unknown libtiff error");
        free(h);
        tes_raster_close(r);
        return rc;
    }
    r->n_handles = 1;
    r->free_handles = h;
    rc = validate(r, h, (uint64_t)st.st_size, err);
    if (!rc && read_georef(r, h->tif))
        rc = tes__err(err, -ENOMEM, path, "out of memory");
    r->src.has_nodata = r->info.has_nodata;
    r->src.nodata = r->info.nodata;
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
    tes__reader_close(r);
    pthread_mutex_destroy(&r->lock);
    free(r->pixel_scale);
    free(r->tiepoints);
    free(r->transformation);
    free(r->geokeys);
    free(r->geo_doubles);
    free(r->geo_ascii);
    free(r->gdal_metadata);
    free(r->gdal_nodata);
    free(r->colormap_rgb);
    free(r->overviews);
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
