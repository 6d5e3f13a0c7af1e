/*
 * run.c — tes_raster_run: the arguments checked and resolved (sizes,
 * types, encoding, nodata kept exactly), the writer opened, a distributed
 * run's begin and end around it, and the one pass of pipeline.c (or the
 * passes of a COG, cog.c); and tes_raster_write_tile.
 */
#include <stdlib.h>
#include <string.h>

#include "raster_internal.h"

/* The arguments, the output's size, type, encoding and nodata. */
static int run_check(tes__run *r, tes_raster_error *err)
{
    const tes_kernel *k = r->k;
    tes_raster *const *in = r->in;
    int n_in = r->n_in;
    const tes_raster_create_options *oo = r->oo;
    const char *name = r->out_path ? r->out_path
                       : n_in > 0 && in && in[0] ? in[0]->path
                       : k && k->name            ? k->name
                                                 : "pipeline";
    r->out_name = name;
    if (!r->pool)
        return tes__err(err, -EINVAL, name, "no pool");
    const char *why = tes__kernel_refusal(k);
    if (why)
        return tes__err(err, -EINVAL, name, "%s", why);
    if (n_in < 0 || (n_in > 0 && !in) || (r->out_path && !k->tile))
        return tes__err(err, -EINVAL, name, "invalid arguments");
    if (n_in > TES_CACHE_MAX_INPUTS)
        return tes__err(err, -EINVAL, name, "more than %d inputs",
                        TES_CACHE_MAX_INPUTS);
    for (int i = 0; i < n_in; i++)
        if (!in[i])
            return tes__err(err, -EINVAL, name, "input %d is missing", i + 1);
    if (k->partial && !r->result)
        return tes__err(err, -EINVAL, name, "no result buffer");
    if (n_in > 0) {
        r->width = in[0]->info.width;
        r->height = in[0]->info.height;
        for (int i = 1; i < n_in; i++)
            if (in[i]->info.width != r->width ||
                in[i]->info.height != r->height)
                return tes__err(err, -EINVAL, in[i]->path,
                                "size %lldx%lld differs from %s (%lldx%lld)",
                                (long long)in[i]->info.width,
                                (long long)in[i]->info.height, in[0]->path,
                                (long long)r->width, (long long)r->height);
    } else {
        r->width = r->po->width;
        r->height = r->po->height;
        if (r->width < 1 || r->height < 1)
            return tes__err(err, -EINVAL, name, "no output size given");
    }
    tes_kernel_output_format(k, n_in > 0 ? in[0]->info.type : TES_TYPE_NONE,
                             n_in > 0 ? in[0]->info.bands : 0, &r->out_type,
                             &r->out_bands);
    if (r->out_path) {
        int rc = tes__resolve_output(oo, r->out_type, r->out_bands, r->width,
                                     r->height, r->out_path, &r->enc,
                                     &r->bigtiff, err);
        if (rc)
            return rc;
        r->tw = r->enc.tile_width;
        r->th = r->enc.tile_height;
    } else {
        r->tw = oo->tile_width > 0 ? oo->tile_width : 256;
        r->th = oo->tile_height > 0 ? oo->tile_height : 256;
    }
    const tes_raster_info *i0 = n_in > 0 ? &in[0]->info : NULL;
    tes__output_nodata(k, oo->nodata_mode, oo->nodata, i0 && i0->has_nodata,
                       i0 ? i0->nodata : 0, r->out_type, &r->out_has_nodata,
                       &r->out_nodata);
    /* Input 0's nodata kept with its type is kept exactly as written, in
     * range or not (as GDAL keeps -1 on a uint8 band), its text too. */
    int mode = oo->nodata_mode == TES_NODATA_INHERIT ? k->out_nodata_mode
                                                     : oo->nodata_mode;
    if (mode == TES_NODATA_INHERIT && i0 && i0->has_nodata &&
        r->out_type == i0->type) {
        r->out_nodata = i0->nodata;
        r->nodata_text = i0->georef.gdal_nodata;
    }
    return 0;
}

void tes__run_writer_params(const tes__run *r, tes__writer_params *wp)
{
    const tes_raster_create_options *oo = r->oo;
    memset(wp, 0, sizeof *wp);
    wp->path = r->out_path;
    wp->width = r->width;
    wp->height = r->height;
    wp->enc = r->enc;
    wp->georef = oo->georef         ? oo->georef
                 : r->n_in > 0 ? &r->in[0]->info.georef
                                    : NULL;
    wp->has_nodata = r->out_has_nodata;
    wp->nodata = r->out_nodata;
    wp->nodata_text = r->nodata_text;
    wp->colormap = oo->colormap;
    wp->rgb = oo->rgb;
    wp->alpha_band = oo->alpha ? r->enc.bands : 0;
    wp->alpha_associated = oo->alpha_associated;
    wp->software = oo->software;
    wp->bigtiff = r->bigtiff;
    wp->overwrite = oo->overwrite;
    wp->inputs = (const tes_raster *const *)r->in;
    wp->n_inputs = r->n_in;
}

void tes__run_pass(tes__run *r, tes__pass *p, tes__source **src)
{
    memset(p, 0, sizeof *p);
    p->pool = r->pool;
    p->k = r->k;
    p->n_in = r->n_in;
    for (int i = 0; i < r->n_in; i++)
        src[i] = &r->in[i]->src;
    p->src = src;
    p->grid = (tes__grid){ .width = r->width, .height = r->height,
                           .tile_width = r->tw, .tile_height = r->th,
                           .halo = r->k->halo, .rx = 1, .ry = 1 };
    p->out_type = r->out_type;
    p->out_bands = r->out_bands;
    p->out_has_nodata = r->out_has_nodata;
    p->out_nodata = r->out_nodata;
    p->enc = r->out_path ? &r->enc : NULL;
    p->result = r->result;
    p->po = r->po;
    p->progress_total = (uint64_t)((r->width + r->tw - 1) / r->tw) *
                        (uint64_t)((r->height + r->th - 1) / r->th);
    p->out_name = r->out_name;
    p->stats = &r->stats;
    p->trace = r->trace;
}

/* A distributed run's beginning: the layout every process derives alike;
 * *lookahead, the local tiles that may wait beyond max_in_flight. */
static int dist_begin(const tes__run *r, int *lookahead,
                      tes_raster_error *err)
{
    const tes_kernel *k = r->k;
    bool write = r->out_path != NULL;
    tes_dist_layout l = {
        .width = r->width, .height = r->height,
        .tile_width = r->tw, .tile_height = r->th,
        .tiles = ((r->width + r->tw - 1) / r->tw) *
                 ((r->height + r->th - 1) / r->th),
        .tiles_across = (r->width + r->tw - 1) / r->tw,
        .chunks = write ? (r->enc.planar ? r->out_bands : 1) : 0,
        .tile_bytes = write ? (size_t)r->tw * (size_t)r->th *
                                  (size_t)r->out_bands *
                                  tes_sample_size(r->out_type)
                            : 0,
        .partial_size = k->partial ? k->partial_size : 0,
        .out_type = r->out_type, .out_bands = r->out_bands,
        .n_inputs = r->n_in,
    };
    const tes_pipeline_dist *d = r->po->dist;
    *lookahead = 0;
    int rc = d->begin(d->ctx, &l, lookahead, err);
    if (!rc && (*lookahead < 0 || *lookahead > (1 << 20)))
        rc = tes__err(err, -EINVAL, r->out_name, "lookahead %d",
                      *lookahead);
    return rc;
}

int tes__run_prepare(tes__run *r, tes_pool *pool, const tes_kernel *k,
                     tes_raster *const *in, int n_in, const char *out_path,
                     const tes_raster_create_options *oo, void *result,
                     const tes_pipeline_options *po, tes_raster_error *err)
{
    static const tes_pipeline_options pd = TES_PIPELINE_OPTIONS_INIT;
    static const tes_raster_create_options od =
        TES_RASTER_CREATE_OPTIONS_INIT;
    memset(r, 0, sizeof *r);
    r->pool = pool;
    r->k = k;
    r->in = in;
    r->n_in = n_in;
    r->out_path = out_path;
    r->oo = oo ? oo : &od;
    r->po_own = po ? *po : pd;
    r->po = &r->po_own;
    r->result = result;
    tes__resolve_memory(&r->po_own);
    return run_check(r, err);
}

TES_API int tes_raster_run(tes_pool *pool, const tes_kernel *k,
                           tes_raster *const *in, int n_in,
                           const char *out_path,
                           const tes_raster_create_options *oo, void *result,
                           const tes_pipeline_options *po,
                           tes_raster_error *err)
{
    tes__run r;
    int rc = tes__run_prepare(&r, pool, k, in, n_in, out_path, oo, result,
                              po, err);
    /* before anything the inputs' headers or the options make large */
    uint64_t need;
    if (!rc)
        rc = tes__run_budget(&r, &need, err);
    if (rc)
        return rc;
    const tes_pipeline_dist *d = r.po->dist;
    bool writer = !d || d->writer;
    if (d && (!d->begin || !d->owns || !d->end ||
              (writer ? !d->get : !d->put)))
        return tes__err(err, -EINVAL, r.out_name,
                        "incomplete distributed run callbacks");
    if (d && out_path && r.oo->cog)
        return tes__err(err, -EINVAL, r.out_name,
                        "a COG is written by one process, not a "
                        "distributed run");
    if (k->partial && writer)
        k->partial_init(result, k->arg);
    /* the calling thread's waits and writes, in a trace */
    r.trace = tes_trace_track_open(pool, "writer");
    if (out_path && r.oo->cog)
        return tes__cog_run(&r, err);
    tes__writer *w = NULL;
    if (out_path && writer) {
        tes__writer_params wp;
        tes__run_writer_params(&r, &wp);
        rc = tes__writer_open(&w, &wp, err);
        if (rc)
            return rc;
    }
    /* A shared run begins once this process's own set-up held. */
    int lookahead = 0;
    if (d)
        rc = dist_begin(&r, &lookahead, err);
    if (!rc) {
        tes__source *src[TES_CACHE_MAX_INPUTS];
        tes__pass p;
        tes__run_pass(&r, &p, src);
        p.w = w;
        p.dist = d;
        p.lookahead = lookahead;
        rc = tes__pass_run(&p, err);
    }
    if (w) {
        if (rc)
            tes__writer_abort(w);
        else
            rc = tes__writer_commit(w, err);
    }
    if (r.po->stats)
        *r.po->stats = r.stats;
    return d ? d->end(d->ctx, rc, result, err) : rc;
}

TES_API int tes_raster_write_tile(const char *path, const tes_tile *t,
                                  const tes_raster_create_options *o,
                                  tes_raster_error *err)
{
    tes_raster_create_options od = TES_RASTER_CREATE_OPTIONS_INIT;
    if (!o)
        o = &od;
    if (!path || !t || !t->data)
        return tes__err(err, -EINVAL, path, "invalid argument");
    tes__enc_params enc;
    bool bigtiff;
    int rc = tes__resolve_output(o, t->type, t->bands, t->width, t->height,
                                 path, &enc, &bigtiff, err);
    if (rc)
        return rc;
    tes__writer_params wp = {
        .path = path, .width = t->width, .height = t->height, .enc = enc,
        .georef = o->georef,
        .colormap = o->colormap, .rgb = o->rgb,
        .alpha_band = o->alpha ? t->bands : 0,
        .alpha_associated = o->alpha_associated,
        .has_nodata = o->nodata_mode == TES_NODATA_SET ||
                      (o->nodata_mode == TES_NODATA_INHERIT && t->has_nodata),
        .nodata = o->nodata_mode == TES_NODATA_SET ? o->nodata : t->nodata,
        .software = o->software, .bigtiff = bigtiff,
        .overwrite = o->overwrite,
    };
    tes__writer *w;
    rc = tes__writer_open(&w, &wp, err);
    if (rc)
        return rc;
    tes__enc_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    tes__encoded e;
    memset(&e, 0, sizeof e);
    int64_t tile = 0;
    for (int y0 = 0; y0 < t->height && !rc; y0 += enc.tile_height)
        for (int x0 = 0; x0 < t->width && !rc; x0 += enc.tile_width, tile++) {
            tes_tile v = *t;
            v.data = (char *)t->data + ((size_t)y0 * t->stride + (size_t)x0) *
                                           tes_sample_size(t->type);
            v.width = x0 + enc.tile_width > t->width ? t->width - x0
                                                     : enc.tile_width;
            v.height = y0 + enc.tile_height > t->height ? t->height - y0
                                                        : enc.tile_height;
            rc = tes__encode_tile(&enc, &v, &e, &ctx);
            if (rc)
                tes__err(err, rc, path, "compression failed: %s",
                         tes_raster_strerror(rc));
            else
                rc = tes__writer_put(w, tile, &e, err);
        }
    tes__encoded_free(&e);
    tes__enc_ctx_free(&ctx);
    if (rc) {
        tes__writer_abort(w);
        return rc;
    }
    return tes__writer_commit(w, err);
}
