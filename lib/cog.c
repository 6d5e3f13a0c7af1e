/*
 * cog.c — a run's output as a Cloud-Optimized GeoTIFF. The kernel's pass
 * puts the full resolution's tiles in a store; each overview level is then
 * a pass of its own over the level above, read back from its store tile
 * by tile through the cache (never a whole level in memory), resampled
 * (resample.c) into a store of its own; last, the writer puts every IFD
 * first and copies the stored tiles after them, smallest level first,
 * the full resolution last. The extra disk traffic is the stores: the
 * output's size written once and read back about twice (by the next
 * level and by the assembly), reported in the run's statistics.
 */
#include <stdlib.h>
#include <string.h>

#include "raster_internal.h"

#define MAX_LEVELS 32

/* Halves width x height (rounding up, as GDAL's overview sizes) until
 * both fit one tile; returns the number of levels. */
int tes__cog_levels(int64_t width, int64_t height, int tw, int th,
                    int64_t *lw, int64_t *lh)
{
    int n = 0;
    while ((width > tw || height > th) && n < MAX_LEVELS) {
        width = (width + 1) / 2;
        height = (height + 1) / 2;
        lw[n] = width;
        lh[n] = height;
        n++;
    }
    return n;
}

/* Copies every tile of store s into image img of w, in row-major order. */
static int copy_image(tes__writer *w, int img, tes__store *s, int64_t tiles,
                      int chunks, tes_trace_track *tr, tes_raster_error *err)
{
    uint8_t *data[chunks > 0 ? chunks : 1];
    size_t size[chunks > 0 ? chunks : 1];
    uint8_t *buf[chunks > 0 ? chunks : 1];
    size_t cap[chunks > 0 ? chunks : 1];
    memset(buf, 0, sizeof buf);
    memset(cap, 0, sizeof cap);
    tes__encoded view = { chunks, data, size, NULL }; /* the writer copies */
    if (img)
        tes_trace_begin(tr, "write overview %d", img);
    else
        tes_trace_begin(tr, "write full size");
    int rc = tes__store_flush(s, err);
    for (int64_t t = 0; t < tiles && !rc; t++) {
        for (int k = 0; k < chunks && !rc; k++) {
            const uint8_t *d;
            rc = tes__store_get(s, t, k, &d, &size[k], &buf[k], &cap[k], err);
            data[k] = (uint8_t *)d;
        }
        if (!rc)
            rc = tes__writer_put_image(w, img, t, &view, err);
        tes__store_drop(s, t);
    }
    for (int k = 0; k < chunks; k++)
        free(buf[k]);
    tes_trace_end(tr);
    return rc;
}

static int64_t tiles_of(int64_t w, int64_t h, int tw, int th)
{
    return ((w + tw - 1) / tw) * ((h + th - 1) / th);
}

/* Whether the levels leave transparent pixels out, as GDAL's overviews
 * do for grey + alpha and RGB + alpha images of 8 or 16 bits (the alpha
 * the last of 2 or 4 bands): a pixel whose alpha is 0 is left out of the
 * alpha band and, without nodata, of the other bands too (resample.c).
 * That suits unassociated alpha, where a transparent pixel's colour
 * means nothing. Associated (premultiplied) alpha is averaged as it is,
 * on purpose: a premultiplied colour is the colour times its coverage,
 * so the plain weighted means of colour and alpha are exactly the
 * downsampled premultiplied pixel, a transparent pixel (colour 0, alpha
 * 0) counting as the coverage it lacks; nothing to un-premultiply. (GDAL,
 * which does not tell the two apart when it resamples, masks both; on
 * premultiplied edges its alpha comes out higher.) */
static bool gdal_alpha_mask(const tes__overview_job *j)
{
    const tes__enc_params *e = j->enc;
    return j->alpha && !j->alpha_associated &&
           (e->bands == 2 || e->bands == 4) &&
           (e->type == TES_U8 || e->type == TES_U16);
}

static tes_resampling job_method(const tes__overview_job *j)
{
    if (j->method != TES_RESAMPLE_AUTO)
        return j->method;
    return j->colormap ? TES_RESAMPLE_NEAREST : TES_RESAMPLE_CUBIC;
}

/* The pass that makes level l from *src (the level above, sw x sh) with
 * rs and k (filled here; they must live as long as p), to no sink yet. */
static void level_pass(const tes__overview_job *j, int l, tes__source **src,
                       tes__resample *rs, tes_kernel *k, tes__pass *p)
{
    tes_resampling m = job_method(j);
    const tes__enc_params *e = j->enc;
    int64_t sw = l ? j->lw[l - 1] : j->src_w;
    int64_t sh = l ? j->lh[l - 1] : j->src_h;
    bool am = gdal_alpha_mask(j);
    *rs = (tes__resample){
        .method = m,
        .rx = (double)sw / (double)j->lw[l],
        .ry = (double)sh / (double)j->lh[l],
        .src_w = sw, .src_h = sh, .dst_w = j->lw[l], .dst_h = j->lh[l],
        .type = e->type, .has_nodata = j->has_nodata,
        .nodata = j->nodata, .colormap = NULL,
        .alpha_mask = am && !j->has_nodata, .alpha_self = am,
    };
    /* GDAL averages a palette band's colours, unless its table is the
     * identity (then the indices are the colours) */
    if (m == TES_RESAMPLE_AVERAGE && j->colormap) {
        const tes_colormap *c = j->colormap;
        for (int i = 0; i < c->n && !rs->colormap; i++)
            if (c->red[i] >> 8 != i || c->green[i] >> 8 != i ||
                c->blue[i] >> 8 != i)
                rs->colormap = c;
    }
    *k = (tes_kernel)TES_KERNEL_INIT;
    k->name = "overview";
    k->tile = tes__resample_tile;
    k->arg = rs;
    memset(p, 0, sizeof *p);
    p->pool = j->pool;
    p->k = k;
    p->n_in = 1;
    p->src = src;
    p->grid = (tes__grid){ .width = j->lw[l], .height = j->lh[l],
                           .tile_width = e->tile_width,
                           .tile_height = e->tile_height,
                           .halo = tes__resample_margin(m),
                           .rx = rs->rx, .ry = rs->ry };
    p->out_type = e->type;
    p->out_bands = e->bands;
    p->out_has_nodata = j->has_nodata;
    p->out_nodata = j->nodata;
    p->enc = e;
    p->po = j->po;
    p->progress_base = j->progress_base;
    p->progress_total = j->progress_total;
    p->out_name = j->name;
    p->stats = j->stats;
    p->trace = j->trace;
}

int tes__overview_passes(tes__overview_job *j, tes_raster_error *err)
{
    int rc = 0;
    const tes__enc_params *e = j->enc;
    int chunks = e->planar ? e->bands : 1;
    for (int l = 0; l < j->n_levels && !rc; l++) {
        int64_t sw = l ? j->lw[l - 1] : j->src_w;
        int64_t sh = l ? j->lh[l - 1] : j->src_h;
        tes__source *src = j->first;
        tes__level *lv = NULL;
        if (l > 0) {
            rc = tes__store_flush(j->stores[l - 1], err);
            if (!rc)
                rc = tes__level_create(&lv, j->stores[l - 1], e, sw, sh,
                                       j->has_nodata, j->nodata, j->name,
                                       err);
            if (rc)
                break;
            src = tes__level_source(lv);
        }
        size_t mem = j->store_mem >> (l + 1);
        rc = tes__store_create(&j->stores[l], j->name,
                               tiles_of(j->lw[l], j->lh[l], e->tile_width,
                                        e->tile_height),
                               chunks, mem, err);
        tes__resample rs;
        tes_kernel k;
        tes__pass p;
        level_pass(j, l, &src, &rs, &k, &p);
        p.store = j->stores[l];
        if (!rc)
            rc = tes__pass_run(&p, err);
        j->progress_base +=
            (uint64_t)tiles_of(j->lw[l], j->lh[l], e->tile_width,
                               e->tile_height);
        tes__level_destroy(lv);
    }
    if (!rc && j->n_levels)
        rc = tes__store_flush(j->stores[j->n_levels - 1], err);
    return rc;
}

/* A stand-in for a level kept in a store, w x h in enc's tiles: the shape
 * the estimate needs, with nothing to load. */
static void level_shape(tes__source *s, const tes__enc_params *e, int64_t w,
                        int64_t h)
{
    memset(s, 0, sizeof *s);
    s->width = w;
    s->height = h;
    s->bands = e->bands;
    s->type = e->type;
    s->block_width = e->tile_width;
    s->block_height = e->tile_height;
    s->blocks_across = (uint32_t)((w + e->tile_width - 1) / e->tile_width);
    s->blocks_down = (uint32_t)((h + e->tile_height - 1) / e->tile_height);
    s->block_plane_samples = (size_t)e->tile_width * (size_t)e->tile_height;
}

void tes__overview_mem(const tes__overview_job *j, tes__mem *worst,
                       tes__mem *fixed)
{
    const tes__enc_params *e = j->enc;
    uint64_t chunks = e->planar ? (uint64_t)e->bands : 1, index = 0;
    for (int l = 0; l < j->n_levels; l++) {
        tes__source above, *src = j->first;
        if (l > 0 || !src) {
            level_shape(&above, e, l ? j->lw[l - 1] : j->src_w,
                        l ? j->lh[l - 1] : j->src_h);
            src = &above;
        }
        tes__resample rs;
        tes_kernel k;
        tes__pass p;
        level_pass(j, l, &src, &rs, &k, &p);
        tes__mem m = { .n = 0 };
        tes__pass_mem(&p, &m);
        if (tes__mem_total(&m) > tes__mem_total(worst))
            *worst = m;
        index = tes__mem_sum(
            index, tes__mem_mul((uint64_t)tiles_of(j->lw[l], j->lh[l],
                                                   e->tile_width,
                                                   e->tile_height),
                                chunks));
    }
    if (!j->n_levels)
        return;
    /* the stores: tiles kept in memory (store_mem >> (l + 1) for level l,
     * under store_mem in all) and an entry per tile (store.c) */
    tes__mem_add(fixed, TES__MEM_ONE, 1,
                 tes__mem_sum(j->store_mem,
                              tes__mem_mul(index, TES__STORE_ENTRY_BYTES)),
                 "the levels' tile stores", NULL);
}

/* Adds the stores' traffic to st and frees them. */
void tes__stores_free(tes__store **s, int n, tes_run_stats *st)
{
    for (int i = 0; i < n; i++) {
        if (!s[i])
            continue;
        uint64_t back;
        st->spill_written += tes__store_spilled(s[i], &back);
        st->spill_read += back;
        tes__store_destroy(s[i]);
        s[i] = NULL;
    }
}

/* The overview job of r's COG, its stores not made yet: the levels
 * (lw, lh: room for MAX_LEVELS) and the full size's store in memory. */
static void cog_job(tes__run *r, int64_t *lw, int64_t *lh,
                    tes__overview_job *j, size_t *full_mem)
{
    int n = tes__cog_levels(r->width, r->height, r->tw, r->th, lw, lh);
    const tes_raster_create_options *oo = r->oo;
    size_t cache = r->po->cache_bytes ? r->po->cache_bytes : (size_t)64 << 20;
    *full_mem = cache / 8;
    *j = (tes__overview_job){
        .pool = r->pool, .po = r->po, .stats = &r->stats,
        .name = r->out_name, .first = NULL,
        .src_w = r->width, .src_h = r->height, .n_levels = n, .lw = lw,
        .lh = lh, .enc = &r->enc, .method = oo->overview_resampling,
        .colormap = oo->colormap, .has_nodata = r->out_has_nodata,
        .nodata = r->out_nodata, .alpha = oo->alpha,
        .alpha_associated = oo->alpha_associated, .stores = NULL,
        .store_mem = cache / 8, .progress_base = 0,
        .progress_total = 0, .trace = r->trace,
    };
}

void tes__cog_mem(tes__run *r, tes__mem *worst, tes__mem *fixed)
{
    int64_t lw[MAX_LEVELS], lh[MAX_LEVELS];
    tes__overview_job j;
    size_t full_mem;
    cog_job(r, lw, lh, &j, &full_mem);
    uint64_t chunks = r->enc.planar ? (uint64_t)r->enc.bands : 1;
    uint64_t t0 = (uint64_t)tiles_of(r->width, r->height, r->tw, r->th);
    tes__mem_add(fixed, TES__MEM_ONE, 1,
                 tes__mem_sum(full_mem,
                              tes__mem_mul(tes__mem_mul(t0, chunks),
                                           TES__STORE_ENTRY_BYTES)),
                 "the full size's tile store", NULL);
    tes__overview_mem(&j, worst, fixed);
}

int tes__cog_run(tes__run *r, tes_raster_error *err)
{
    int64_t lw[MAX_LEVELS], lh[MAX_LEVELS];
    tes__overview_job j;
    size_t full_mem;
    cog_job(r, lw, lh, &j, &full_mem);
    int n = j.n_levels;
    const tes_raster_create_options *oo = r->oo;
    /* the levels add a third to the size BigTIFF is chosen by */
    uint64_t raw = (uint64_t)r->width * (uint64_t)r->height *
                   (uint64_t)r->out_bands * tes_sample_size(r->out_type);
    if (oo->bigtiff == TES_BIGTIFF_AUTO && raw / 3 * 4 > 4000000000ull)
        r->bigtiff = true;
    int chunks = r->enc.planar ? r->enc.bands : 1;
    tes__store *stores[MAX_LEVELS + 1] = { NULL };
    int64_t t0 = tiles_of(r->width, r->height, r->tw, r->th);
    uint64_t total = (uint64_t)t0;
    for (int l = 0; l < n; l++)
        total += (uint64_t)tiles_of(lw[l], lh[l], r->tw, r->th);

    /* the kernel's pass, into the full resolution's store */
    int rc = tes__store_create(&stores[0], r->out_name, t0, chunks,
                               full_mem, err);
    tes__source *src[TES_CACHE_MAX_INPUTS];
    tes__pass p;
    tes__run_pass(r, &p, src);
    p.store = stores[0];
    p.progress_total = total;
    if (!rc)
        rc = tes__pass_run(&p, err);
    tes__level *full = NULL;
    if (!rc)
        rc = tes__store_flush(stores[0], err);
    if (!rc && n)
        rc = tes__level_create(&full, stores[0], &r->enc, r->width,
                               r->height, r->out_has_nodata, r->out_nodata,
                               r->out_name, err);
    j.first = full ? tes__level_source(full) : NULL;
    j.stores = stores + 1;
    j.progress_base = (uint64_t)t0;
    j.progress_total = total;
    if (!rc)
        rc = tes__overview_passes(&j, err);
    tes__level_destroy(full);

    /* every IFD, then the levels smallest first, then the full size */
    tes__writer *w = NULL;
    if (!rc) {
        tes__writer_params wp;
        tes__run_writer_params(r, &wp);
        wp.n_levels = n;
        wp.level_w = lw;
        wp.level_h = lh;
        wp.cog = true;
        rc = tes__writer_open(&w, &wp, err);
    }
    for (int l = n; l >= 1 && !rc; l--)
        rc = copy_image(w, l, stores[l], tiles_of(lw[l - 1], lh[l - 1],
                                                  r->tw, r->th),
                        chunks, r->trace, err);
    if (!rc)
        rc = copy_image(w, 0, stores[0], t0, chunks, r->trace, err);
    tes__stores_free(stores, n + 1, &r->stats);
    if (w) {
        if (rc)
            tes__writer_abort(w);
        else
            rc = tes__writer_commit(w, err);
    }
    if (r->po->stats)
        *r->po->stats = r->stats;
    return rc;
}
