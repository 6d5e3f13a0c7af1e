/*
 * overviews.c — tes_raster_build_overviews, gdaladdo's job: the levels
 * computed one from the other (cog.c's passes, the first reading the file
 * itself), then either a new FILE.ovr written by the writer, or a copy of
 * the file, cut after its main image and with the levels appended by
 * libtiff, renamed over the file once complete. Either way the file is as
 * it was until the rename.
 */
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "raster_internal.h"

#define MAX_LEVELS 32

/* The file has nothing after its main image but overviews (no masks, no
 * other pages), which a rewrite may drop. */
static int only_overviews_follow(const char *path, tes_raster_error *err)
{
    tes__tiff h;
    memset(&h, 0, sizeof h);
    if (!tes__tiff_open(&h, path, NULL, "rm"))
        return tes__err(err, TES_ECORRUPT, path, "cannot read TIFF: %s",
                        h.msg);
    int rc = 0, n = 0;
    while (!rc && TIFFReadDirectory(h.tif)) {
        uint32_t sub = 0;
        TIFFGetField(h.tif, TIFFTAG_SUBFILETYPE, &sub);
        if (!(sub & FILETYPE_REDUCEDIMAGE) || (sub & FILETYPE_MASK))
            rc = tes__err(err, TES_EUNSUPPORTED, path,
                          "holds another image after the main one (a mask "
                          "or a page): internal overviews are not supported "
                          "(use --external)");
        if (++n > 1000)
            break;
    }
    TIFFClose(h.tif);
    return rc;
}

/* An n-byte unsigned integer at p in the file's byte order. */
static uint64_t get_uint(const uint8_t *p, int n, bool le)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v |= (uint64_t)p[le ? i : n - 1 - i] << (8 * i);
    return v;
}

/* Ends fd's TIFF after its first IFD: its next-IFD offset becomes 0. */
static int cut_after_main(int fd, const char *path, tes_raster_error *err)
{
    uint8_t hd[16], cnt[8];
    int rc = tes__pread_all(fd, hd, sizeof hd, 0);
    bool le = hd[0] == 'I', big = (le ? hd[2] : hd[3]) == 43;
    uint64_t ifd = big ? get_uint(hd + 8, 8, le) : get_uint(hd + 4, 4, le);
    if (!rc)
        rc = tes__pread_all(fd, cnt, big ? 8 : 2, ifd);
    if (rc)
        return tes__err(err, -rc, path, "%s", strerror(rc));
    uint64_t n = get_uint(cnt, big ? 8 : 2, le);
    uint64_t at = big ? ifd + 8 + 20 * n : ifd + 2 + 12 * n;
    static const uint8_t zero[8];
    rc = tes__pwrite_all(fd, zero, big ? 8 : 4, at);
    if (rc)
        return tes__err(err, -rc, path, "cannot rewrite: %s", strerror(rc));
    return 0;
}

/* A copy of the file beside it, cut after its main image, in a temporary
 * whose lock *lock holds (see temp.c): keep it open until the rename. */
static int copy_beside(const char *path, char **tmp, int *lock,
                       tes_raster_error *err)
{
    int in = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (in < 0 || fstat(in, &st) != 0) {
        int e = errno;
        if (in >= 0)
            close(in);
        return tes__err(err, -e, path, "cannot read: %s", strerror(e));
    }
    uint8_t magic[4];
    int rc = tes__pread_all(in, magic, sizeof magic, 0);
    if (rc) {
        close(in);
        return tes__err(err, -rc, path, "cannot read: %s", strerror(rc));
    }
    rc = tes_temp_create(path, magic, sizeof magic, tmp, lock, err);
    if (rc) {
        close(in);
        return rc;
    }
    int out = *lock;
    /* the file keeps its permissions */
    if (fchmod(out, st.st_mode & 07777) != 0)
        rc = tes__err(err, -errno, path, "%s", strerror(errno));
    off_t left = st.st_size;
    while (!rc && left > 0) {
        ssize_t k = copy_file_range(in, NULL, out, NULL, (size_t)left, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            rc = tes__err(err, k < 0 ? -errno : -EIO, path,
                          "cannot copy: %s",
                          k < 0 ? strerror(errno) : "short copy");
        else
            left -= k;
    }
    if (!rc)
        rc = cut_after_main(out, path, err);
    close(in);
    if (rc) {
        unlink(*tmp);
        close(out);
        *lock = -1;
        free(*tmp);
        *tmp = NULL;
    }
    return rc;
}

/* Appends the levels to the copy (libtiff's append mode links each new
 * IFD after the last), then fsyncs it. */
static int append_levels(const char *path, const char *tmp,
                         const tes__writer_params *wp, tes__store **stores,
                         int n, const int64_t *lw, const int64_t *lh,
                         tes_raster_error *err)
{
    tes__tiff h;
    memset(&h, 0, sizeof h);
    if (!tes__tiff_open(&h, tmp, NULL, "a"))
        return tes__err(err, -EIO, path, "cannot append: %s", h.msg);
    const tes__enc_params *e = &wp->enc;
    int chunks = e->planar ? e->bands : 1, rc = 0;
    uint8_t *buf = NULL;
    size_t cap = 0;
    for (int l = 0; l < n && !rc; l++) {
        if (tes__set_image_tags(h.tif, wp, lw[l], lh[l], true)) {
            rc = tes__err(err, -EIO, path, "cannot set tags: %s", h.msg);
            break;
        }
        int64_t across = (lw[l] + e->tile_width - 1) / e->tile_width;
        int64_t tiles = across * ((lh[l] + e->tile_height - 1) /
                                  e->tile_height);
        for (int64_t t = 0; t < tiles && !rc; t++)
            for (int k = 0; k < chunks && !rc; k++) {
                const uint8_t *d;
                size_t size;
                rc = tes__store_get(stores[l], t, k, &d, &size, &buf, &cap,
                                    err);
                errno = 0;
                if (!rc && TIFFWriteRawTile(h.tif,
                                            (uint32_t)(t + k * tiles),
                                            (void *)d, (tmsize_t)size) < 0)
                    rc = tes__err(err, errno ? -errno : -EIO, path,
                                  "write failed: %s",
                                  errno ? strerror(errno) : h.msg);
            }
        errno = 0;
        if (!rc && !TIFFWriteDirectory(h.tif))
            rc = tes__err(err, errno ? -errno : -EIO, path,
                          "write failed: %s",
                          errno ? strerror(errno) : h.msg);
    }
    free(buf);
    /* TIFFClose writes nothing more: every directory is written */
    TIFFClose(h.tif);
    if (!rc) {
        int fd = open(tmp, O_RDWR | O_CLOEXEC);
        if (fd < 0 || fsync(fd) != 0)
            rc = tes__err(err, -errno, path, "fsync: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
    }
    return rc;
}

/* The levels' encoding: the file's codec and predictor when ours. */
static void level_encoding(const tes_raster *r, const tes_overview_options *o,
                           tes__writer_params *wp)
{
    const tes_raster_info *in = &r->info;
    tes__enc_params *e = &wp->enc;
    memset(wp, 0, sizeof *wp);
    e->type = in->type;
    e->bands = in->bands;
    e->planar = in->planar;
    int tile = o->tile_size;
    if (!tile)
        tile = in->tiled && in->block_width == in->block_height &&
                       in->block_width % 16 == 0 && in->block_width <= 4096
                   ? in->block_width
                   : 256;
    e->tile_width = e->tile_height = tile;
    switch (in->compression) {
    case COMPRESSION_NONE: e->compress = TES_COMPRESS_NONE; break;
    case COMPRESSION_LZW: e->compress = TES_COMPRESS_LZW; break;
    case COMPRESSION_ZSTD: e->compress = TES_COMPRESS_ZSTD; break;
    default: e->compress = TES_COMPRESS_DEFLATE; break;
    }
    e->level = o->level;
    bool fp = tes_sample_type_is_float(in->type);
    e->predictor = e->compress == TES_COMPRESS_NONE ? 1
                   : in->predictor == 2 || (in->predictor == 3 && fp)
                       ? in->predictor
                   : in->compression == COMPRESSION_NONE ||
                           in->compression == COMPRESSION_LZW ||
                           in->compression == COMPRESSION_ZSTD ||
                           in->compression == COMPRESSION_ADOBE_DEFLATE ||
                           in->compression == COMPRESSION_DEFLATE
                       ? 1
                       : fp ? 3 : 2;
    wp->has_nodata = in->has_nodata;
    wp->nodata = in->nodata;
    wp->nodata_text = in->georef.gdal_nodata;
    wp->colormap = in->colormap && in->photometric == PHOTOMETRIC_PALETTE
                       ? in->colormap
                       : NULL;
    wp->rgb = in->rgb;
    /* the reduced images' alpha is the main image's, associated or not */
    wp->alpha_band = in->alpha_band > (in->rgb ? 3 : 1) ? in->alpha_band : 0;
    wp->alpha_associated = in->alpha_associated;
}

/* What building j's levels will take, against its budget; written out
 * by the writer in wp's encoding (total: the levels' tiles). */
static int budget(const tes__overview_job *j, const tes__writer_params *wp,
                  uint64_t total, tes_raster_error *err)
{
    tes__mem work = { .n = 0 }, fixed = { .n = 0 };
    tes__overview_mem(j, &work, &fixed);
    uint64_t chunks = wp->enc.planar ? (uint64_t)wp->enc.bands : 1;
    tes__writer_mem(&fixed, tes__mem_mul(total, chunks), false);
    /* the levels copied out of the stores a tile at a time (at worst as
     * large encoded as decoded) */
    tes__mem_add(&fixed, TES__MEM_ONE, 1,
                 tes__mem_mul((uint64_t)wp->enc.tile_width *
                                  (uint64_t)wp->enc.tile_height,
                              tes__mem_mul((uint64_t)wp->enc.bands,
                                           tes_sample_size(wp->enc.type))),
                 "a tile read back", NULL);
    tes__mem_merge(&work, &fixed);
    return tes__mem_check(&work, j->po->memory_limit, j->name, NULL, err);
}

TES_API int tes_raster_build_overviews(tes_pool *pool, const char *path,
                                       const tes_overview_options *o,
                                       tes_raster_error *err)
{
    tes_overview_options od = TES_OVERVIEW_OPTIONS_INIT;
    if (!o)
        o = &od;
    if (!pool || !path)
        return tes__err(err, -EINVAL, path, "invalid argument");
    int min = o->min_size > 0 ? o->min_size : 256;
    if (o->tile_size % 16 || o->tile_size < 0 || o->tile_size > 65536)
        return tes__err(err, -EINVAL, path,
                        "tile size %d is not a multiple of 16", o->tile_size);
    tes_raster *r;
    int rc = tes_raster_open(&r, path, err);
    if (rc)
        return rc;
    tes_run_stats stats;
    memset(&stats, 0, sizeof stats);
    const tes_raster_info *in = &r->info;
    int64_t lw[MAX_LEVELS], lh[MAX_LEVELS];
    int n = tes__cog_levels(in->width, in->height, min, min, lw, lh);
    tes__writer_params wp;
    level_encoding(r, o, &wp);
    char *ovr = NULL, *tmp = NULL;
    /* checked before any work, as a new file's level is */
    rc = tes__check_level(wp.enc.compress, o->level, path, err);
    if (!rc && n && !o->external)
        rc = only_overviews_follow(path, err);
    tes__store *stores[MAX_LEVELS] = { NULL };
    uint64_t total = 0;
    for (int l = 0; l < n; l++)
        total += (uint64_t)(((lw[l] + wp.enc.tile_width - 1) /
                             wp.enc.tile_width) *
                            ((lh[l] + wp.enc.tile_height - 1) /
                             wp.enc.tile_height));
    tes_pipeline_options po = TES_PIPELINE_OPTIONS_INIT;
    po.cache_bytes = o->cache_bytes;
    po.max_in_flight = o->max_in_flight;
    po.memory_limit = o->memory_limit;
    po.progress = o->progress;
    po.progress_ctx = o->progress_ctx;
    /* the budget, and a cache that fits a tight one, as a run's */
    tes__resolve_memory(&po);
    tes__overview_job j = {
        .pool = pool, .po = &po, .stats = &stats, .name = path,
        .first = &r->src, .src_w = in->width, .src_h = in->height,
        .n_levels = n, .lw = lw, .lh = lh, .enc = &wp.enc,
        .method = o->resampling, .colormap = in->colormap,
        .has_nodata = in->has_nodata, .nodata = in->nodata,
        .alpha = wp.alpha_band && wp.alpha_band == in->bands,
        .alpha_associated = in->alpha_associated,
        .stores = stores, .store_mem = po.cache_bytes / 4,
        .progress_total = total,
        .trace = tes_trace_track_open(pool, "writer"),
    };
    /* before anything the file's header or the options make large: the
     * levels' tiles in flight and their windows, the file's decoded
     * blocks, the stores, the writer */
    if (!rc && n)
        rc = budget(&j, &wp, total, err);
    if (!rc && n)
        rc = tes__overview_passes(&j, err);
    if (!rc && n && o->external) {
        size_t len = strlen(path) + 5;
        if (!(ovr = malloc(len))) {
            rc = tes__err(err, -ENOMEM, path, "out of memory");
        } else {
            snprintf(ovr, len, "%s.ovr", path);
            tes__writer *w = NULL;
            wp.path = ovr;
            wp.width = lw[0];
            wp.height = lh[0];
            wp.n_levels = n - 1;
            wp.level_w = lw + 1;
            wp.level_h = lh + 1;
            wp.all_reduced = true;
            wp.overwrite = true;
            wp.inputs = (const tes_raster *const *)&r;
            wp.n_inputs = 1;
            uint64_t raw = (uint64_t)lw[0] * (uint64_t)lh[0] *
                           (uint64_t)wp.enc.bands *
                           tes_sample_size(wp.enc.type);
            wp.bigtiff = raw / 3 * 4 > 4000000000ull;
            rc = tes__writer_open(&w, &wp, err);
            int chunks = wp.enc.planar ? wp.enc.bands : 1;
            uint8_t *buf[chunks], *data[chunks];
            size_t cap[chunks], size[chunks];
            memset(buf, 0, sizeof buf);
            memset(cap, 0, sizeof cap);
            tes__encoded view = { chunks, data, size, NULL };
            for (int l = 0; l < n && !rc; l++) {
                int64_t tiles = ((lw[l] + wp.enc.tile_width - 1) /
                                 wp.enc.tile_width) *
                                ((lh[l] + wp.enc.tile_height - 1) /
                                 wp.enc.tile_height);
                for (int64_t t = 0; t < tiles && !rc; t++) {
                    for (int k = 0; k < chunks && !rc; k++) {
                        const uint8_t *d;
                        rc = tes__store_get(stores[l], t, k, &d, &size[k],
                                            &buf[k], &cap[k], err);
                        data[k] = (uint8_t *)d;
                    }
                    if (!rc)
                        rc = tes__writer_put_image(w, l, t, &view, err);
                }
            }
            for (int k = 0; k < chunks; k++)
                free(buf[k]);
            if (w) {
                if (rc)
                    tes__writer_abort(w);
                else
                    rc = tes__writer_commit(w, err);
            }
        }
    } else if (!rc && n) {
        int lock = -1;
        rc = copy_beside(path, &tmp, &lock, err);
        if (!rc)
            rc = append_levels(path, tmp, &wp, stores, n, lw, lh, err);
        if (!rc && rename(tmp, path) != 0)
            rc = tes__err(err, -errno, path, "cannot rename into place: %s",
                          strerror(errno));
        if (rc && tmp)
            unlink(tmp);
        if (lock >= 0)
            close(lock); /* after the rename or the unlink: see temp.c */
        if (!rc) {
            char *copy = strdup(path);
            if (copy)
                tes__sync_dir(dirname(copy));
            free(copy);
        }
    }
    tes__stores_free(stores, n, &stats);
    if (o->stats)
        *o->stats = stats;
    free(tmp);
    free(ovr);
    tes_raster_close(r);
    return rc;
}
