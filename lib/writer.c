/*
 * writer.c — the single writer of an output: a temporary file beside the
 * destination (written through outfile.c), the TIFF and GeoTIFF tags,
 * already-compressed tiles appended with TIFFWriteRawTile in the order
 * they are given, then flush, fsync and rename on success; on any failure
 * the temporary file is removed and the destination is untouched. An
 * output may hold overview levels after its main image: one image after
 * the other, or as a COG, every IFD first (their tile arrays deferred,
 * libtiff's TIFFDeferStrileArrayWriting) and the tiles after, smallest
 * level first. Also resolves output options.
 */
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "raster_internal.h"

struct tes__writer {
    tes__tiff h;            /* the output's libtiff handle, on io */
    tes__outfile io;        /* valid once io_ready */
    bool io_ready;
    int fd;
    char *path, *tmp, *dir;
    bool overwrite;
    bool planar;
    tes__writer_params params;  /* set_tags of later images (pointers in
                                   it live as long as the writer) */
    int n_images;               /* the main image and the levels */
    int64_t *img_w, *img_h;
    bool cog;
    bool all_reduced;
    int cur;                    /* the image whose tiles are being put */
};

static uint32_t tiles_per_plane(const tes__writer *w, int img,
                                const tes__enc_params *e)
{
    uint64_t across = ((uint64_t)w->img_w[img] + (uint64_t)e->tile_width - 1) /
                      (uint64_t)e->tile_width;
    uint64_t down = ((uint64_t)w->img_h[img] + (uint64_t)e->tile_height - 1) /
                    (uint64_t)e->tile_height;
    return (uint32_t)(across * down);
}

int tes__check_level(tes_compress c, int level, const char *path,
                     tes_raster_error *err)
{
    switch (c) {
    case TES_COMPRESS_NONE:
    case TES_COMPRESS_LZW:
        return 0; /* no levels: ignored */
    case TES_COMPRESS_DEFLATE:
        if (level < 0 || level > 12)
            return tes__err(err, -EINVAL, path,
                            "deflate level %d is not in 1..12", level);
        return 0;
    case TES_COMPRESS_ZSTD:
        if (level < 0 || level > 22)
            return tes__err(err, -EINVAL, path,
                            "zstd level %d is not in 1..22", level);
        return 0;
    }
    return tes__err(err, -EINVAL, path, "unknown compression %d", (int)c);
}

int tes__resolve_output(const tes_raster_create_options *o,
                        tes_sample_type type, int bands, int64_t width,
                        int64_t height, const char *path, tes__enc_params *e,
                        bool *bigtiff, tes_raster_error *err)
{
    tes_raster_create_options d = TES_RASTER_CREATE_OPTIONS_INIT;
    if (!o)
        o = &d;
    memset(e, 0, sizeof *e);
    e->type = type;
    e->bands = bands;
    e->planar = o->planar && bands > 1;
    e->tile_width = o->tile_width ? o->tile_width : 256;
    e->tile_height = o->tile_height ? o->tile_height : 256;
    if (!tes_sample_size(type) || bands < 1 || bands > 65535 || width < 1 ||
        height < 1 || width > UINT32_MAX || height > UINT32_MAX)
        return tes__err(err, -EINVAL, path, "invalid output size or type");
    if (e->tile_width % 16 || e->tile_height % 16 || e->tile_width < 16 ||
        e->tile_height < 16 || e->tile_width > 65536 ||
        e->tile_height > 65536)
        return tes__err(err, -EINVAL, path,
                        "tile size %dx%d is not a multiple of 16",
                        e->tile_width, e->tile_height);
    e->compress = o->compress;
    int rc = tes__check_level(o->compress, o->level, path, err);
    if (rc)
        return rc;
    e->level = o->compress == TES_COMPRESS_NONE ||
                       o->compress == TES_COMPRESS_LZW
                   ? 0
                   : o->level;
    bool fp = tes_sample_type_is_float(type);
    e->predictor = o->predictor;
    if (o->compress == TES_COMPRESS_NONE)
        e->predictor = 1;
    else if (e->predictor == -1 || e->predictor == 0)
        e->predictor = fp ? 3 : 2;
    if (e->predictor < 1 || e->predictor > 3 || (e->predictor == 3 && !fp))
        return tes__err(err, -EINVAL, path,
                        "predictor %d does not suit %s samples",
                        o->predictor, tes_sample_type_name(type));
    if (o->colormap &&
        (bands != 1 || (type != TES_U8 && type != TES_U16) ||
         o->colormap->n < 1 || !o->colormap->red || !o->colormap->green ||
         !o->colormap->blue ||
         o->colormap->n > (1 << (8 * tes_sample_size(type)))))
        return tes__err(err, -EINVAL, path,
                        "a colour table needs one band of uint8 or uint16 "
                        "(%d bands of %s, %d entries)",
                        bands, tes_sample_type_name(type),
                        o->colormap->n);
    if (o->rgb && bands < 3)
        return tes__err(err, -EINVAL, path, "RGB needs 3 bands, not %d",
                        bands);
    if (o->alpha && bands < (o->rgb ? 4 : 2))
        return tes__err(err, -EINVAL, path,
                        "an alpha band needs %d bands, not %d",
                        o->rgb ? 4 : 2, bands);
    if (o->alpha_associated && !o->alpha)
        return tes__err(err, -EINVAL, path,
                        "associated alpha needs an alpha band");
    uint64_t raw = (uint64_t)width * (uint64_t)height * (uint64_t)bands *
                   tes_sample_size(type);
    *bigtiff = o->bigtiff == TES_BIGTIFF_YES ||
               (o->bigtiff == TES_BIGTIFF_AUTO && raw > 4000000000ull);
    if (o->bigtiff == TES_BIGTIFF_NO && raw > 4200000000ull &&
        o->compress == TES_COMPRESS_NONE)
        return tes__err(err, -EFBIG, path,
                        "needs BigTIFF (%llu bytes uncompressed)",
                        (unsigned long long)raw);
    return 0;
}

/* The rule for every output band that is its input band unchanged in
 * meaning (see tessera_raster.h); the checks above accept what it sets. */
TES_API void tes_raster_keep_meaning(tes_raster_create_options *opts,
                                     const tes_raster_info *in,
                                     const int *bands, int n,
                                     tes_sample_type type)
{
    if (!bands)
        n = in->bands;
#define BAND(i) (bands ? bands[i] : (i))
    /* the palette band (the first: the others are extra samples) keeps
     * its colour table while its type is kept (other indices would be
     * other values), */
    opts->colormap = in->colormap && n == 1 && BAND(0) == 0 &&
                             (!type || type == in->type)
                         ? in->colormap
                         : NULL;
    /* RGB stays RGB while the bands stay in order, */
    opts->rgb = in->rgb && n >= 3 && BAND(0) == 0 && BAND(1) == 1 &&
                BAND(2) == 2;
    /* and an alpha band stays alpha as the last of two or more, associated
     * (the other bands premultiplied by it) or not as it was, whatever
     * the type */
    opts->alpha = in->alpha_band && n >= (opts->rgb ? 4 : 2) &&
                  BAND(n - 1) == in->alpha_band - 1;
    opts->alpha_associated = opts->alpha && in->alpha_associated;
#undef BAND
}

/* The mode a new file gets: 0666 less the umask, read without changing it. */
static mode_t file_mode(void)
{
    mode_t m = 022;
    FILE *f = fopen("/proc/self/status", "re");
    if (f) {
        char line[128];
        while (fgets(line, sizeof line, f))
            if (strncmp(line, "Umask:", 6) == 0) {
                m = (mode_t)strtoul(line + 6, NULL, 8);
                break;
            }
        fclose(f);
    }
    return 0666 & ~m;
}

/* TIFF wants 2^bits entries: the table's, then black. */
static int set_colormap(TIFF *t, const tes_colormap *c, tes_sample_type type)
{
    size_t n = (size_t)1 << (8 * tes_sample_size(type));
    uint16_t *m = calloc(3 * n, sizeof *m);
    if (!m)
        return 0;
    for (int i = 0; i < c->n; i++) {
        m[i] = c->red[i];
        m[n + i] = c->green[i];
        m[2 * n + i] = c->blue[i];
    }
    int ok = TIFFSetField(t, TIFFTAG_COLORMAP, m, m + n, m + 2 * n);
    free(m);
    return ok;
}

/* The tags of image img: the main image (0) gets the georeferencing and
 * metadata, overview levels are reduced-resolution images. */
static int set_tags(tes__writer *w, const tes__writer_params *p, int img)
{
    bool reduced = img > 0 || w->all_reduced;
    return tes__set_image_tags(w->h.tif, p, w->img_w[img], w->img_h[img],
                               reduced);
}

int tes__set_image_tags(TIFF *t, const tes__writer_params *p, int64_t width,
                        int64_t height, bool reduced)
{
    const tes__enc_params *e = &p->enc;
    uint16_t fmt = tes_sample_type_is_float(e->type) ? SAMPLEFORMAT_IEEEFP
                   : tes_sample_type_is_signed(e->type) ? SAMPLEFORMAT_INT
                                                        : SAMPLEFORMAT_UINT;
    static const uint16_t codec[] = { COMPRESSION_NONE,
                                      COMPRESSION_ADOBE_DEFLATE,
                                      COMPRESSION_LZW, COMPRESSION_ZSTD };
    int ok = TIFFSetField(t, TIFFTAG_IMAGEWIDTH, (uint32_t)width) &&
             TIFFSetField(t, TIFFTAG_IMAGELENGTH, (uint32_t)height) &&
             TIFFSetField(t, TIFFTAG_BITSPERSAMPLE,
                          (uint16_t)(8 * tes_sample_size(e->type))) &&
             TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, (uint16_t)e->bands) &&
             TIFFSetField(t, TIFFTAG_SAMPLEFORMAT, fmt) &&
             TIFFSetField(t, TIFFTAG_PLANARCONFIG,
                          e->planar ? PLANARCONFIG_SEPARATE
                                    : PLANARCONFIG_CONTIG) &&
             TIFFSetField(t, TIFFTAG_PHOTOMETRIC,
                          p->colormap ? PHOTOMETRIC_PALETTE
                          : p->rgb    ? PHOTOMETRIC_RGB
                                      : PHOTOMETRIC_MINISBLACK) &&
             TIFFSetField(t, TIFFTAG_TILEWIDTH, (uint32_t)e->tile_width) &&
             TIFFSetField(t, TIFFTAG_TILELENGTH, (uint32_t)e->tile_height) &&
             TIFFSetField(t, TIFFTAG_COMPRESSION, codec[e->compress]) &&
             TIFFSetField(t, TIFFTAG_SOFTWARE,
                          p->software ? p->software : "tessera " TES_VERSION_STRING);
    if (ok && e->predictor > 1)
        ok = TIFFSetField(t, TIFFTAG_PREDICTOR, (uint16_t)e->predictor);
    if (ok && reduced)
        ok = TIFFSetField(t, TIFFTAG_SUBFILETYPE, FILETYPE_REDUCEDIMAGE);
    if (ok && p->colormap)
        ok = set_colormap(t, p->colormap, e->type);
    if (ok && e->bands > (p->rgb ? 3 : 1)) {
        uint16_t n = (uint16_t)(e->bands - (p->rgb ? 3 : 1));
        uint16_t *extra = calloc(n, sizeof *extra); /* EXTRASAMPLE_UNSPECIFIED */
        int a = p->alpha_band - (e->bands - n) - 1; /* its extra sample */
        if (extra && p->alpha_band && a >= 0)
            extra[a] = p->alpha_associated ? EXTRASAMPLE_ASSOCALPHA
                                           : EXTRASAMPLE_UNASSALPHA;
        ok = extra && TIFFSetField(t, TIFFTAG_EXTRASAMPLES, n, extra);
        free(extra);
    }
    const tes_georef *g = reduced ? NULL : p->georef;
    if (ok && g) {
        if (g->n_pixel_scale)
            ok &= TIFFSetField(t, TES_TAG_PIXEL_SCALE, g->n_pixel_scale,
                               g->pixel_scale);
        if (g->n_tiepoints)
            ok &= TIFFSetField(t, TES_TAG_TIEPOINT, g->n_tiepoints,
                               g->tiepoints);
        if (g->n_transformation)
            ok &= TIFFSetField(t, TES_TAG_TRANSFORMATION,
                               g->n_transformation, g->transformation);
        if (g->n_geokeys)
            ok &= TIFFSetField(t, TES_TAG_GEOKEYS, g->n_geokeys, g->geokeys);
        if (g->n_geo_doubles)
            ok &= TIFFSetField(t, TES_TAG_GEO_DOUBLES, g->n_geo_doubles,
                               g->geo_doubles);
        if (g->geo_ascii)
            ok &= TIFFSetField(t, TES_TAG_GEO_ASCII, g->geo_ascii);
        if (g->gdal_metadata)
            ok &= TIFFSetField(t, TES_TAG_GDAL_METADATA, g->gdal_metadata);
    }
    if (ok && p->has_nodata && p->nodata_text) {
        ok = TIFFSetField(t, TES_TAG_GDAL_NODATA, p->nodata_text);
    } else if (ok && p->has_nodata) {
        char s[64];
        if (isnan(p->nodata))
            snprintf(s, sizeof s, "nan");
        else
            snprintf(s, sizeof s, "%.17g", p->nodata);
        ok = TIFFSetField(t, TES_TAG_GDAL_NODATA, s);
    }
    return ok ? 0 : -EIO;
}

/* The error of a failed write: the descriptor's own (full disk, file too
 * large, ...) when there was one, else libtiff's text. */
static int write_failed(tes__writer *w, tes_raster_error *err)
{
    if (w->io.err)
        return tes__err(err, -w->io.err, w->path, "write failed: %s",
                        strerror(w->io.err));
    return tes__err(err, -EIO, w->path, "write failed: %s",
                    w->h.msg[0] ? w->h.msg : "libtiff error");
}

int tes__writer_open(tes__writer **out, const tes__writer_params *p,
                     tes_raster_error *err)
{
    const char *path = p->path;
    struct stat st;
    if (stat(path, &st) == 0) {
        for (int i = 0; i < p->n_inputs; i++)
            if (p->inputs[i] && p->inputs[i]->dev == st.st_dev &&
                p->inputs[i]->ino == st.st_ino)
                return tes__err(err, -EINVAL, path,
                                "output is the same file as input %d", i + 1);
        if (S_ISDIR(st.st_mode))
            return tes__err(err, -EISDIR, path, "is a directory");
        if (!p->overwrite)
            return tes__err(err, -EEXIST, path, "already exists");
    }
    tes__writer *w = calloc(1, sizeof *w);
    char *copy = strdup(path);
    if (!w || !copy) {
        free(w);
        free(copy);
        return tes__err(err, -ENOMEM, path, "out of memory");
    }
    w->fd = -1;
    w->overwrite = p->overwrite;
    w->planar = p->enc.planar;
    w->path = strdup(path);
    w->dir = strdup(dirname(copy));
    free(copy);
    if (!w->path || !w->dir) {
        tes__writer_abort(w);
        return tes__err(err, -ENOMEM, path, "out of memory");
    }
    uint8_t magic[4];
    tes__tiff_magic(magic, p->bigtiff);
    int rc = tes_temp_create(path, magic, sizeof magic, &w->tmp, &w->fd, err);
    if (rc) {
        tes__writer_abort(w);
        return rc;
    }
    if (fchmod(w->fd, file_mode()) != 0) {
        int e = errno;
        tes__writer_abort(w);
        return tes__err(err, -e, path, "%s", strerror(e));
    }
    if (tes__outfile_init(&w->io, w->fd)) {
        tes__writer_abort(w);
        return tes__err(err, -ENOMEM, path, "out of memory");
    }
    w->io_ready = true;
    if (!tes__tiff_open(&w->h, w->tmp, &w->io, p->bigtiff ? "w8" : "w")) {
        rc = tes__err(err, -EIO, path, "cannot start TIFF: %s", w->h.msg);
        tes__writer_abort(w);
        return rc;
    }
    w->n_images = 1 + p->n_levels;
    w->img_w = calloc((size_t)w->n_images, sizeof *w->img_w);
    w->img_h = calloc((size_t)w->n_images, sizeof *w->img_h);
    if (!w->img_w || !w->img_h) {
        tes__writer_abort(w);
        return tes__err(err, -ENOMEM, path, "out of memory");
    }
    w->img_w[0] = p->width;
    w->img_h[0] = p->height;
    for (int i = 0; i < p->n_levels; i++) {
        w->img_w[i + 1] = p->level_w[i];
        w->img_h[i + 1] = p->level_h[i];
    }
    w->cog = p->cog;
    w->all_reduced = p->all_reduced;
    /* A COG's IFDs all come first, their tile arrays written once the
     * tiles are (TIFFForceStrileArrayWriting); any other output's IFD
     * follows its tiles. */
    for (int i = 0; i < (w->cog ? w->n_images : 1); i++) {
        int ok = set_tags(w, p, i) == 0;
        if (ok && w->cog)
            ok = TIFFDeferStrileArrayWriting(w->h.tif) &&
                 TIFFWriteCheck(w->h.tif, 1, "cog") &&
                 TIFFWriteDirectory(w->h.tif);
        if (!ok) {
            int rc = write_failed(w, err);
            tes__writer_abort(w);
            return rc;
        }
    }
    w->cur = w->cog ? -1 : 0; /* a COG's tiles start with a switch */
    w->params = *p;
    *out = w;
    return 0;
}

/* Makes image img the one tiles go to: a COG's directory is read back
 * (its deferred tile arrays of the one before written); otherwise the
 * current image's directory is written and the next one begun. */
static int switch_image(tes__writer *w, int img, tes_raster_error *err)
{
    TIFF *t = w->h.tif;
    if (w->cog) {
        if (w->cur >= 0 && !TIFFForceStrileArrayWriting(t))
            return write_failed(w, err);
        if (!TIFFSetDirectory(t, (tdir_t)img))
            return write_failed(w, err);
    } else {
        if (img != w->cur + 1)
            return tes__err(err, -EINVAL, w->path, "image %d after %d", img,
                            w->cur);
        if (!TIFFWriteDirectory(t) || set_tags(w, &w->params, img))
            return write_failed(w, err);
    }
    w->cur = img;
    return 0;
}

int tes__writer_put_image(tes__writer *w, int img, int64_t tile,
                          tes__encoded *e, tes_raster_error *err)
{
    if (img < 0 || img >= w->n_images)
        return tes__err(err, -EINVAL, w->path, "no image %d", img);
    if (img != w->cur) {
        int rc = switch_image(w, img, err);
        if (rc)
            return rc;
    }
    uint32_t per_plane = tiles_per_plane(w, img, &w->params.enc);
    for (int k = 0; k < e->n; k++) {
        uint32_t idx = (uint32_t)tile + (w->planar ? (uint32_t)k * per_plane : 0);
        w->io.tile_next = true;
        w->io.may_hold = e->cap != NULL;
        w->io.may_hold_cap = e->cap ? e->cap[k] : 0;
        tmsize_t n = TIFFWriteRawTile(w->h.tif, idx, e->data[k],
                                      (tmsize_t)e->size[k]);
        w->io.tile_next = w->io.may_hold = false;
        if (w->io.took) /* the file keeps this buffer until written */
            tes__outfile_give(&w->io, &e->data[k], &e->cap[k]);
        if (n < 0)
            return write_failed(w, err);
    }
    return 0;
}

bool tes__writer_placeable(const tes__writer *w)
{
    const tes__enc_params *e = &w->params.enc;
    return !w->cog && w->n_images == 1 && e->compress == TES_COMPRESS_NONE;
}

/* Bytes of one chunk of an uncompressed tile, and where chunk k of tile
 * goes: the first tile's first chunk at TES_IO_DATA_START, then every
 * chunk in the order they are appended. */
static uint64_t chunk_bytes(const tes__writer *w)
{
    const tes__enc_params *e = &w->params.enc;
    return (uint64_t)e->tile_width * (uint64_t)e->tile_height *
           (uint64_t)(e->planar ? 1 : e->bands) * tes_sample_size(e->type);
}

static uint64_t chunk_place(const tes__writer *w, int64_t tile, int k)
{
    int chunks = w->planar ? w->params.enc.bands : 1;
    return TES_IO_DATA_START +
           ((uint64_t)tile * (uint64_t)chunks + (uint64_t)k) * chunk_bytes(w);
}

int tes__writer_place(tes__writer *w, int64_t tile, const tes__encoded *e,
                      tes_raster_error *err)
{
    for (int k = 0; k < e->n; k++) {
        if (e->size[k] != chunk_bytes(w))
            return tes__err(err, -EINVAL, w->path, "tile %lld is not %llu "
                            "bytes", (long long)tile,
                            (unsigned long long)chunk_bytes(w));
        int rc = tes__outfile_place(&w->io, e->data[k], e->size[k],
                                    chunk_place(w, tile, k));
        if (rc)
            return write_failed(w, err);
    }
    return 0;
}

int tes__writer_put_placed(tes__writer *w, int64_t tile,
                           tes_raster_error *err)
{
    int chunks = w->planar ? w->params.enc.bands : 1;
    uint32_t per_plane = tiles_per_plane(w, 0, &w->params.enc);
    static uint8_t unread; /* the bytes are not read: they are placed */
    for (int k = 0; k < chunks; k++) {
        uint32_t idx = (uint32_t)tile + (w->planar ? (uint32_t)k * per_plane : 0);
        w->io.tile_next = w->io.placed = true;
        tmsize_t n = TIFFWriteRawTile(w->h.tif, idx, &unread,
                                      (tmsize_t)chunk_bytes(w));
        w->io.tile_next = w->io.placed = false;
        if (n < 0)
            return write_failed(w, err);
        if (TIFFGetStrileOffset(w->h.tif, idx) != chunk_place(w, tile, k))
            return tes__err(err, -EIO, w->path,
                            "tile %lld was placed at the wrong offset",
                            (long long)tile);
    }
    return 0;
}

int tes__writer_put(tes__writer *w, int64_t tile, tes__encoded *e,
                    tes_raster_error *err)
{
    return tes__writer_put_image(w, w->cog ? 0 : w->cur, tile, e, err);
}

void tes__sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int tes__writer_commit(tes__writer *w, tes_raster_error *err)
{
    if (w->cog && w->cur >= 0 && !TIFFForceStrileArrayWriting(w->h.tif)) {
        int rc = write_failed(w, err);
        tes__writer_abort(w);
        return rc;
    }
    if (!w->cog && w->cur != w->n_images - 1) {
        int rc = tes__err(err, -EINVAL, w->path, "%d of %d images written",
                          w->cur + 1, w->n_images);
        tes__writer_abort(w);
        return rc;
    }
    if (!TIFFFlush(w->h.tif)) {
        int rc = write_failed(w, err);
        tes__writer_abort(w);
        return rc;
    }
    TIFFClose(w->h.tif); /* leaves the descriptors to us */
    w->h.tif = NULL;
    if (tes__outfile_flush(&w->io)) {
        int rc = write_failed(w, err);
        tes__writer_abort(w);
        return rc;
    }
    if (fsync(w->fd) != 0) {
        int e = errno;
        tes__writer_abort(w);
        return tes__err(err, -e, w->path, "fsync: %s", strerror(e));
    }
    tes__outfile_free(&w->io);
    w->io_ready = false;
    /* w->fd stays open, holding the temporary's lock, until the rename:
     * closed earlier, another process's sweep could take the complete
     * file for a dead run's temporary (see temp.c). Its data is on the
     * disk already (fsync above). */
    int rc = 0;
    if (w->overwrite) {
        if (rename(w->tmp, w->path) != 0)
            rc = -errno;
    } else if (renameat2(AT_FDCWD, w->tmp, AT_FDCWD, w->path,
                         RENAME_NOREPLACE) != 0) {
        rc = -errno;
        /* Filesystems without RENAME_NOREPLACE: link fails if it exists. */
        if (rc == -EINVAL || rc == -ENOSYS) {
            rc = link(w->tmp, w->path) == 0 ? 0 : -errno;
            if (rc == 0)
                unlink(w->tmp);
        }
    }
    if (rc) {
        tes__err(err, rc, w->path, "%s",
                 rc == -EEXIST ? "already exists" : strerror(-rc));
        tes__writer_abort(w);
        return rc;
    }
    tes__sync_dir(w->dir);
    free(w->tmp);
    w->tmp = NULL;
    rc = close(w->fd) != 0 ? -errno : 0;
    w->fd = -1;
    tes__writer_abort(w);
    if (rc) /* the file is in place and synced: only say so */
        return tes__err(err, rc, w->path, "close: %s", strerror(-rc));
    return 0;
}

void tes__writer_abort(tes__writer *w)
{
    if (!w)
        return;
    if (w->h.tif) {
        /* TIFFCleanup flushes the directory, which a file being removed
         * does not want: writes fail from here on. */
        if (w->io_ready && !w->io.err)
            w->io.err = ECANCELED;
        TIFFCleanup(w->h.tif);
        w->h.tif = NULL;
    }
    if (w->io_ready)
        tes__outfile_free(&w->io);
    if (w->fd >= 0)
        close(w->fd);
    if (w->tmp)
        unlink(w->tmp);
    free(w->tmp);
    free(w->path);
    free(w->dir);
    free(w->img_w);
    free(w->img_h);
    free(w);
}
