/*
 * pipeline.c — tes_raster_run: one task per output tile on a tessera pool,
 * at most max_in_flight of them at once, each assembling its input windows
 * through the shared block cache (or borrowing the cached block itself
 * when a halo-free window is one block), running the kernel and
 * compressing its tile with buffers reused from tile to tile; the calling
 * thread awaits the tiles in row-major order, appends them to the output
 * and folds reduction partials, so the bytes and the results never depend
 * on the thread count. Also tes_raster_write_tile.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "raster_internal.h"

/* Shared by the driver and every tile task; read-only while tasks run,
 * except stop (atomic) and free_work (ctx_lock). */
typedef struct run_ctx {
    tes_pool *pool;
    const tes_kernel *k;
    tes_raster *const *in;
    int n_in;
    tes_sample_type *win_type;  /* per input */
    tes__cache *cache;
    int64_t width, height;
    int tw, th;
    int64_t across, total;
    const tes_pipeline_dist *dist; /* NULL: every tile is ours */
    bool write;                 /* tiles are encoded (a file is written,
                                   here or by the dist's writer) */
    tes__enc_params enc;
    tes_sample_type out_type;
    int out_bands;
    bool out_has_nodata;
    double out_nodata;
    const char *out_name;       /* for messages */
    bool traced;                /* the pool traces: tiles name their spans */
    /* Set when a tile fails (or the run is cancelled): tiles that have not
     * started skip their work. A hint only: results travel through the
     * futures, so relaxed loads and stores suffice (no data is published
     * through this flag). */
    atomic_bool stop;
    pthread_mutex_t ctx_lock;   /* protects free_work */
    struct work *free_work;
} run_ctx;

/* What one tile task needs besides its slot, reused from tile to tile so
 * that the pixel buffers are neither allocated nor cleared per tile: the
 * window buffers (one per input), the output tile's buffer, and the
 * compressor. Owned by one task at a time (taken from and returned to
 * run_ctx.free_work). */
typedef struct work {
    tes__enc_ctx enc;
    void *out_buf;
    size_t out_cap;
    void **win_buf;             /* n_in of them */
    size_t *win_cap;
    struct work *next;          /* free list link (run_ctx.ctx_lock) */
} work;

/* One tile in flight. The driver fills run, tile and partial before the
 * spawn; the task writes rc, skipped, err, enc and partial; the driver reads
 * them only after tes_await returns, which orders the two (the future's
 * completion is the hand-over). Slot i % max_in_flight is reused for tile i,
 * enc's buffers with it: tile i's task spawns after tile i - max_in_flight
 * was written. */
typedef struct slot {
    run_ctx *run;
    int64_t tile;
    tes_future *f;
    int rc;
    bool skipped;               /* did nothing because stop was set */
    tes_raster_error err;
    tes__encoded enc;
    void *partial;
} slot;

static work *work_get(run_ctx *c)
{
    pthread_mutex_lock(&c->ctx_lock);
    work *w = c->free_work;
    if (w)
        c->free_work = w->next;
    pthread_mutex_unlock(&c->ctx_lock);
    if (w)
        return w;
    size_t n = c->n_in > 0 ? (size_t)c->n_in : 1;
    w = calloc(1, sizeof *w);
    if (w) {
        w->win_buf = calloc(n, sizeof *w->win_buf);
        w->win_cap = calloc(n, sizeof *w->win_cap);
    }
    if (!w || !w->win_buf || !w->win_cap) {
        if (w) {
            free(w->win_buf);
            free(w->win_cap);
        }
        free(w);
        return NULL;
    }
    return w;
}

static void work_put(run_ctx *c, work *w)
{
    pthread_mutex_lock(&c->ctx_lock);
    w->next = c->free_work;
    c->free_work = w;
    pthread_mutex_unlock(&c->ctx_lock);
}

static void work_free(run_ctx *c, work *w)
{
    tes__enc_ctx_free(&w->enc);
    free(w->out_buf);
    for (int i = 0; i < c->n_in; i++)
        free(w->win_buf[i]);
    free(w->win_buf);
    free(w->win_cap);
    free(w);
}

/* Shapes t over buf as tes_tile_alloc shapes a tile, not cleared: the
 * window's assembly and the kernel (which writes every pixel of its
 * output) fill it. */
static void tile_on(tes_tile *t, void *buf, tes_sample_type type, int width,
                    int height, int bands)
{
    size_t n = (size_t)width * (size_t)height;
    memset(t, 0, sizeof *t);
    t->data = buf;
    t->type = type;
    t->width = width;
    t->height = height;
    t->bands = bands;
    t->stride = (size_t)width;
    t->band_stride = n;
    t->raster_width = width;
    t->raster_height = height;
}

/* tile_on over the buffer of *cap bytes at *buf, grown as needed. */
static int tile_in(tes_tile *t, void **buf, size_t *cap, tes_sample_type type,
                   int width, int height, int bands)
{
    size_t bytes = (size_t)width * (size_t)height * (size_t)bands *
                   tes_sample_size(type);
    if (!(*buf = tes__reserve(*buf, cap, bytes)))
        return -ENOMEM;
    tile_on(t, *buf, type, width, height, bands);
    return 0;
}

/* A kernel's failure as the run reports it: its code (a positive or
 * unknown value becomes TES_EKERNEL) and "OUT: tile N: NAME: reason". */
static int kernel_failed(slot *s, const tes_tile_job *job, int rc)
{
    const run_ctx *c = s->run;
    int code = rc < 0 ? rc : TES_EKERNEL;
    return tes__err(&s->err, code, c->out_name, "tile %lld: %s: %s",
                    (long long)s->tile, c->k->name ? c->k->name : "kernel",
                    job->msg[0] ? job->msg : tes_raster_strerror(code));
}

/* Unpins the blocks lent as windows. */
static void windows_return(run_ctx *c, tes__block **held)
{
    for (int i = 0; i < c->n_in; i++) {
        tes__cache_put(c->cache, held[i]);
        held[i] = NULL;
    }
}

/* The tile's input windows, through the cache. */
static int read_windows(slot *s, work *wk, tes_tile *win, tes__block **held,
                        int64_t x0, int64_t y0, int w, int h)
{
    run_ctx *c = s->run;
    const tes_kernel *k = c->k;
    int halo = k->halo;
    for (int i = 0; i < c->n_in; i++) {
        const tes_raster_info *ri = &c->in[i]->info;
        if (halo == 0) {
            int rc = tes__window_borrow(c->in[i], c->cache, x0, y0, w, h,
                                        c->win_type[i], &win[i], &held[i],
                                        &s->err);
            if (rc <= 0) {
                if (rc < 0)
                    return rc;
                continue;
            }
        }
        int rc = tile_in(&win[i], &wk->win_buf[i], &wk->win_cap[i],
                         c->win_type[i], w + 2 * halo, h + 2 * halo,
                         ri->bands);
        if (rc)
            return tes__err(&s->err, rc, c->in[i]->path, "out of memory");
        rc = tes__read_window(c->in[i], c->cache, x0 - halo, y0 - halo,
                              &win[i], k->edge, k->edge_fill, &s->err);
        if (rc)
            return rc;
    }
    return 0;
}

/* One tile: its windows, the kernel, the compression, each a span of the
 * tile's in a trace (tr NULL when the pool does not trace). */
static int tile_work(slot *s, work *wk, tes_tile *win, tes__block **held,
                     tes_tile *out, tes_trace_track *tr)
{
    run_ctx *c = s->run;
    const tes_kernel *k = c->k;
    int64_t tx = s->tile % c->across, ty = s->tile / c->across;
    int64_t x0 = tx * c->tw, y0 = ty * c->th;
    int w = (int)(x0 + c->tw > c->width ? c->width - x0 : c->tw);
    int h = (int)(y0 + c->th > c->height ? c->height - y0 : c->th);
    if (c->n_in > 0) {
        /* a hit when every block came from the cache */
        uint64_t before = tr ? tes__cache_decoded_here() : 0;
        tes_trace_begin(tr, "decode");
        int rc = read_windows(s, wk, win, held, x0, y0, w, h);
        if (tr)
            tes_trace_end_as(tr, tes__cache_decoded_here() > before
                                     ? "decode (miss)" : "decode (hit)");
        if (rc)
            return rc;
    }
    tes_tile_job job;
    memset(&job, 0, sizeof job);
    job.in = win;
    job.n_in = c->n_in;
    job.arg = k->arg;
    job.tile_index = s->tile;
    job.worker = tes_worker_index() < 0 ? 0 : tes_worker_index();
    if (k->tile) {
        /* An uncompressed output tile is computed in the chunk the writer
         * appends, when it can be. */
        void *chunk = c->write ? tes__encode_in_place(&c->enc, w, h, &s->enc)
                               : NULL;
        int rc = 0;
        if (chunk)
            tile_on(out, chunk, c->out_type, w, h, c->out_bands);
        else
            rc = tile_in(out, &wk->out_buf, &wk->out_cap, c->out_type, w, h,
                         c->out_bands);
        if (rc)
            return tes__err(&s->err, rc, c->out_name, "out of memory");
        out->x0 = x0;
        out->y0 = y0;
        out->raster_width = c->width;
        out->raster_height = c->height;
        out->has_nodata = c->out_has_nodata;
        out->nodata = c->out_nodata;
        job.out = out;
        tes_trace_begin(tr, "kernel %s", k->name ? k->name : "");
        rc = k->tile(&job);
        tes_trace_end(tr);
        if (rc)
            return kernel_failed(s, &job, rc);
    }
    if (k->partial) {
        job.out = k->tile ? out : NULL;
        job.partial = s->partial;
        tes_trace_begin(tr, "reduce %s", k->name ? k->name : "");
        int rc = k->partial(&job);
        tes_trace_end(tr);
        if (rc)
            return kernel_failed(s, &job, rc);
    }
    windows_return(c, held);
    if (c->write) {
        tes_trace_begin(tr, "encode");
        int rc = tes__encode_tile(&c->enc, out, &s->enc, &wk->enc);
        tes_trace_end(tr);
        if (rc)
            return tes__err(&s->err, rc, c->out_name,
                            "tile %lld: compression failed: %s",
                            (long long)s->tile, tes_raster_strerror(rc));
    }
    return 0;
}

static void *tile_task(void *arg)
{
    slot *s = arg;
    run_ctx *c = s->run;
    /* relaxed: a hint to skip work; see run_ctx.stop */
    if (atomic_load_explicit(&c->stop, memory_order_relaxed)) {
        s->skipped = true;
        return NULL;
    }
    tes_tile win[c->n_in > 0 ? c->n_in : 1];
    tes_tile out;
    memset(win, 0, sizeof win);
    memset(&out, 0, sizeof out);
    tes__block *held[c->n_in > 0 ? c->n_in : 1];
    memset(held, 0, sizeof held);
    tes_trace_track *tr = NULL;
    if (c->traced) {
        tes_trace_name_task("tile %lld (%lld,%lld)", (long long)s->tile,
                            (long long)(s->tile % c->across),
                            (long long)(s->tile / c->across));
        tr = tes_trace_self();
    }
    work *wk = work_get(c);
    if (wk) {
        s->rc = tile_work(s, wk, win, held, &out, tr);
        windows_return(c, held);
        work_put(c, wk);
    } else {
        s->rc = tes__err(&s->err, -ENOMEM, c->out_name, "out of memory");
    }
    if (s->rc) {
        tes__encoded_free(&s->enc);
        /* relaxed: a hint to other tiles; see run_ctx.stop */
        atomic_store_explicit(&c->stop, true, memory_order_relaxed);
    }
    return NULL;
}

/* Whether this process computes tile t, and the first such tile from t
 * on (c->total when none is left). */
static inline bool own(const run_ctx *c, int64_t t)
{
    return !c->dist || c->dist->owns(c->dist->ctx, t);
}

static int64_t next_own(const run_ctx *c, int64_t t)
{
    while (t < c->total && !own(c, t))
        t++;
    return t;
}

/* How many of our tile windows read each block of r: the cache drops a
 * block after its last reader, so aligned copies keep almost nothing
 * cached. */
static int count_uses(run_ctx *c, tes_raster *r, tes_raster_error *err)
{
    const tes_raster_info *in = &r->info;
    uint32_t n = r->blocks_across * r->blocks_down;
    uint32_t *left = calloc(n ? n : 1, sizeof *left);
    if (!left)
        return tes__err(err, -ENOMEM, r->path, "out of memory");
    int64_t halo = c->k->halo, bw = in->block_width, bh = in->block_height;
    for (int64_t t = next_own(c, 0); t < c->total; t = next_own(c, t + 1)) {
        int64_t x0 = t % c->across * c->tw, y0 = t / c->across * c->th;
        int64_t wx0 = x0 - halo, wy0 = y0 - halo;
        int64_t wx1 = x0 + c->tw + halo, wy1 = y0 + c->th + halo;
        wx0 = wx0 < 0 ? 0 : wx0;
        wy0 = wy0 < 0 ? 0 : wy0;
        wx1 = wx1 > in->width ? in->width : wx1;
        wy1 = wy1 > in->height ? in->height : wy1;
        for (int64_t by = wy0 / bh; by <= (wy1 - 1) / bh; by++)
            for (int64_t bx = wx0 / bw; bx <= (wx1 - 1) / bw; bx++) {
                uint32_t *u = &left[by * r->blocks_across + bx];
                if (*u < UINT32_MAX)
                    (*u)++;
            }
    }
    int rc = tes__cache_set_uses(c->cache, r, left, n);
    return rc ? tes__err(err, rc, r->path, "too many inputs") : 0;
}

static int setup(run_ctx *c, const tes_kernel *k, tes_raster *const *in,
                 int n_in, const char *out_path,
                 const tes_pipeline_options *po, tes_raster_error *err)
{
    const char *name = out_path                  ? out_path
                       : n_in > 0 && in && in[0] ? in[0]->path
                       : k && k->name            ? k->name
                                                 : "pipeline";
    c->out_name = name;
    const char *why = tes__kernel_refusal(k);
    if (why)
        return tes__err(err, -EINVAL, name, "%s", why);
    if (n_in < 0 || (n_in > 0 && !in) || (out_path && !k->tile))
        return tes__err(err, -EINVAL, name, "invalid arguments");
    for (int i = 0; i < n_in; i++)
        if (!in[i])
            return tes__err(err, -EINVAL, name, "input %d is missing", i + 1);
    if (n_in > 0) {
        c->width = in[0]->info.width;
        c->height = in[0]->info.height;
        for (int i = 1; i < n_in; i++)
            if (in[i]->info.width != c->width ||
                in[i]->info.height != c->height)
                return tes__err(err, -EINVAL, in[i]->path,
                                "size %lldx%lld differs from %s (%lldx%lld)",
                                (long long)in[i]->info.width,
                                (long long)in[i]->info.height, in[0]->path,
                                (long long)c->width, (long long)c->height);
    } else {
        c->width = po->width;
        c->height = po->height;
        if (c->width < 1 || c->height < 1)
            return tes__err(err, -EINVAL, name, "no output size given");
    }
    tes_kernel_output_format(k, n_in > 0 ? in[0]->info.type : TES_TYPE_NONE,
                             n_in > 0 ? in[0]->info.bands : 0, &c->out_type,
                             &c->out_bands);
    c->win_type = calloc(n_in > 0 ? (size_t)n_in : 1, sizeof *c->win_type);
    if (!c->win_type)
        return tes__err(err, -ENOMEM, name, "out of memory");
    for (int i = 0; i < n_in; i++)
        c->win_type[i] = k->in_type ? k->in_type : in[i]->info.type;
    return 0;
}

/* ---- a run shared with other processes (tes_pipeline_dist) ---------- */

static int dist_begin(run_ctx *c, int *lookahead, tes_raster_error *err)
{
    const tes_kernel *k = c->k;
    tes_dist_layout l = {
        .width = c->width, .height = c->height,
        .tile_width = c->tw, .tile_height = c->th,
        .tiles = c->total, .tiles_across = c->across,
        .chunks = c->write ? (c->enc.planar ? c->out_bands : 1) : 0,
        .tile_bytes = c->write ? (size_t)c->tw * (size_t)c->th *
                                     (size_t)c->out_bands *
                                     tes_sample_size(c->out_type)
                               : 0,
        .partial_size = k->partial ? k->partial_size : 0,
        .out_type = c->out_type, .out_bands = c->out_bands,
        .n_inputs = c->n_in,
    };
    const tes_pipeline_dist *d = c->dist;
    *lookahead = 0;
    int rc = d->begin(d->ctx, &l, lookahead, err);
    if (!rc && (*lookahead < 0 || *lookahead > (1 << 20)))
        rc = tes__err(err, -EINVAL, c->out_name, "lookahead %d",
                      *lookahead);
    return rc;
}

/* Our tiles (progress of a process that is not the writer). */
static int64_t own_count(const run_ctx *c)
{
    int64_t n = 0;
    for (int64_t t = next_own(c, 0); t < c->total; t = next_own(c, t + 1))
        n++;
    return n;
}

/* The writer's turn for tile t, made elsewhere: written and folded as if
 * it were ours. */
static int dist_get(run_ctx *c, tes__writer *w, int64_t t, void *partial,
                    void *result, tes_raster_error *err)
{
    const tes_pipeline_dist *d = c->dist;
    tes_tile_bytes b = { 0, NULL, NULL };
    int rc = d->get(d->ctx, t, &b, partial, err);
    if (rc)
        return rc;
    if (c->write) {
        int want = c->enc.planar ? c->out_bands : 1;
        if (b.n != want || !b.data || !b.size)
            return tes__err(err, -EPROTO, c->out_name,
                            "tile %lld arrived with %d chunks, not %d",
                            (long long)t, b.n, want);
        /* The writer only reads chunks it may not keep (no capacities). */
        tes__encoded e = { b.n, (uint8_t **)b.data, (size_t *)b.size, NULL };
        rc = tes__writer_put(w, t, &e, err);
    }
    if (!rc && c->k->partial)
        c->k->combine(result, partial, c->k->arg);
    return rc;
}

TES_API int tes_raster_run(tes_pool *pool, const tes_kernel *k,
                           tes_raster *const *in, int n_in,
                           const char *out_path,
                           const tes_raster_create_options *oo, void *result,
                           const tes_pipeline_options *po,
                           tes_raster_error *err)
{
    tes_pipeline_options pd = TES_PIPELINE_OPTIONS_INIT;
    tes_raster_create_options od = TES_RASTER_CREATE_OPTIONS_INIT;
    if (!po)
        po = &pd;
    if (!oo)
        oo = &od;
    if (!pool)
        return tes__err(err, -EINVAL, out_path, "no pool");
    run_ctx c;
    memset(&c, 0, sizeof c);
    c.pool = pool;
    c.k = k;
    c.in = in;
    c.n_in = n_in;
    atomic_init(&c.stop, false);
    int rc = setup(&c, k, in, n_in, out_path, po, err);
    if (rc) {
        free(c.win_type);
        return rc;
    }
    if (k->partial && !result) {
        free(c.win_type);
        return tes__err(err, -EINVAL, c.out_name, "no result buffer");
    }
    c.write = out_path != NULL;
    tes__writer *w = NULL;
    bool bigtiff = false;
    if (c.write) {
        rc = tes__resolve_output(oo, c.out_type, c.out_bands, c.width,
                                 c.height, out_path, &c.enc, &bigtiff, err);
        if (rc) {
            free(c.win_type);
            return rc;
        }
        c.tw = c.enc.tile_width;
        c.th = c.enc.tile_height;
    } else {
        c.tw = oo->tile_width > 0 ? oo->tile_width : 256;
        c.th = oo->tile_height > 0 ? oo->tile_height : 256;
    }
    tes__output_nodata(k, oo->nodata_mode, oo->nodata,
                       n_in > 0 && in[0]->info.has_nodata,
                       n_in > 0 ? in[0]->info.nodata : 0, c.out_type,
                       &c.out_has_nodata, &c.out_nodata);
    c.across = (c.width + c.tw - 1) / c.tw;
    c.total = c.across * ((c.height + c.th - 1) / c.th);
    const tes_pipeline_dist *d = c.dist = po->dist;
    bool writer = !d || d->writer;
    if (d && (!d->begin || !d->owns || !d->end ||
              (writer ? !d->get : !d->put))) {
        free(c.win_type);
        return tes__err(err, -EINVAL, c.out_name,
                        "incomplete distributed run callbacks");
    }
    if (c.write && writer) {
        tes__writer_params wp = {
            .path = out_path, .width = c.width, .height = c.height,
            .enc = c.enc,
            .georef = oo->georef ? oo->georef
                      : n_in > 0 ? &in[0]->info.georef : NULL,
            .has_nodata = c.out_has_nodata, .nodata = c.out_nodata,
            .software = oo->software, .bigtiff = bigtiff,
            .overwrite = oo->overwrite,
            .inputs = (const tes_raster *const *)in, .n_inputs = n_in,
        };
        rc = tes__writer_open(&w, &wp, err);
        if (rc) {
            free(c.win_type);
            return rc;
        }
    }
    /* A shared run begins once this process's own set-up held. */
    int lookahead = 0;
    if (d) {
        rc = dist_begin(&c, &lookahead, err);
        if (rc) {
            tes__writer_abort(w);
            free(c.win_type);
            return d->end(d->ctx, rc, result, err);
        }
    }
    int threads = tes_pool_threads(pool);
    int K = (po->max_in_flight > 0 ? po->max_in_flight : 2 * threads + 2) +
            lookahead;
    slot *slots = calloc((size_t)K, sizeof *slots);
    rc = slots ? tes__cache_create(&c.cache, po->cache_bytes
                                                 ? po->cache_bytes
                                                 : (size_t)64 << 20)
               : -ENOMEM;
    if (!rc && pthread_mutex_init(&c.ctx_lock, NULL))
        rc = -ENOMEM;
    if (rc) {
        tes__writer_abort(w);
        tes__cache_destroy(c.cache);
        free(slots);
        free(c.win_type);
        rc = tes__err(err, rc, c.out_name, "out of memory");
        return d ? d->end(d->ctx, rc, result, err) : rc;
    }
    for (int i = 0; i < n_in && !rc; i++)
        rc = count_uses(&c, in[i], err);
    /* The writer folds partials of tiles made elsewhere in this one. */
    void *got_partial = NULL;
    if (k->partial) {
        for (int i = 0; i < K && !rc; i++)
            if (!(slots[i].partial = malloc(k->partial_size)))
                rc = tes__err(err, -ENOMEM, c.out_name, "out of memory");
        if (!rc && d && writer &&
            !(got_partial = malloc(k->partial_size)))
            rc = tes__err(err, -ENOMEM, c.out_name, "out of memory");
        if (!rc && writer)
            k->partial_init(result, k->arg);
    }

    /* The writer's track: its waits for tiles, its writes, the tiles in
     * flight against their bound. */
    c.traced = tes_pool_trace_path(pool) != NULL;
    tes_trace_track *wt = NULL;
    if (c.traced) {
        wt = tes_trace_track_open(pool, "writer");
        tes_trace_counter(wt, "in-flight bound", K);
    }
    uint64_t bytes_out = 0;
    /* Our tiles are spawned in tile order into slot (count % K); the
     * writer visits every tile in order (awaiting ours, getting the
     * others'), any other process only its own. */
    int64_t spawn_at = next_own(&c, 0), n_spawned = 0, n_done = 0;
    int64_t pos = writer ? 0 : spawn_at;
    uint64_t own_total = d ? (uint64_t)own_count(&c) : (uint64_t)c.total;
    bool failed = rc != 0;
    for (;;) {
        while (!failed && spawn_at < c.total && n_spawned - n_done < K) {
            slot *s = &slots[n_spawned % K];
            s->run = &c;
            s->tile = spawn_at;
            s->rc = 0;
            s->skipped = false;
            if (k->partial)
                k->partial_init(s->partial, k->arg);
            int src = tes_spawn(&s->f, pool, tile_task, s);
            if (src) {
                rc = tes__err(err, src, c.out_name, "cannot start a tile: %s",
                              tes_strerror(src));
                failed = true;
                atomic_store_explicit(&c.stop, true, memory_order_relaxed);
                break;
            }
            n_spawned++;
            spawn_at = next_own(&c, spawn_at + 1);
        }
        tes_trace_counter(wt, "tiles in flight",
                          (double)(n_spawned - n_done));
        if (failed) {
            /* Drain what started, keeping the first real error: a tile
             * that was skipped only saw another tile's failure. */
            if (n_done == n_spawned)
                break;
            slot *s = &slots[n_done++ % K];
            tes_await(s->f, NULL);
            tes_future_release(s->f);
            s->f = NULL;
            if (!rc && s->rc) {
                rc = s->rc;
                if (err)
                    *err = s->err;
            }
            continue;
        }
        if (pos >= c.total)
            break; /* every tile we started was awaited on its way here */
        int wrc = 0;
        if (own(&c, pos)) {
            slot *s = &slots[n_done++ % K];
            tes_trace_begin(wt, "wait tile %lld", (long long)s->tile);
            tes_await(s->f, NULL);
            tes_trace_end(wt);
            tes_future_release(s->f);
            s->f = NULL;
            if (s->skipped || s->rc) {
                if (s->rc) {
                    rc = s->rc;
                    if (err)
                        *err = s->err;
                }
                failed = true;
                continue;
            }
            if (writer) {
                if (c.write) {
                    for (int i = 0; wt && i < s->enc.n; i++)
                        bytes_out += s->enc.size[i];
                    tes_trace_begin(wt, "write tile %lld",
                                    (long long)s->tile);
                    wrc = tes__writer_put(w, s->tile, &s->enc, err);
                    tes_trace_end(wt);
                }
                if (!wrc && k->partial)
                    k->combine(result, s->partial, k->arg);
            } else {
                tes_tile_bytes b = { s->enc.n,
                                     (const uint8_t *const *)s->enc.data,
                                     s->enc.size };
                wrc = d->put(d->ctx, pos, c.write ? &b : NULL,
                             k->partial ? s->partial : NULL, err);
            }
        } else {
            wrc = dist_get(&c, w, pos, got_partial, result, err);
        }
        uint64_t done = writer ? (uint64_t)pos + 1 : (uint64_t)n_done;
        if (!wrc && po->progress &&
            po->progress(done, writer ? (uint64_t)c.total : own_total,
                         po->progress_ctx))
            wrc = tes__err(err, -ECANCELED, c.out_name, "cancelled");
        if (wrc) {
            rc = wrc;
            failed = true;
            /* relaxed: a hint; see run_ctx.stop */
            atomic_store_explicit(&c.stop, true, memory_order_relaxed);
        }
        pos = writer ? pos + 1 : next_own(&c, pos + 1);
    }
    if (failed && !rc)
        rc = tes__err(err, -ECANCELED, c.out_name, "stopped");
    if (wt) {
        /* the run's counters, summed over the runs of the pool */
        tes__cache_counts n;
        tes__cache_counts_get(c.cache, &n);
        tes_trace_counter(wt, "tiles in flight", 0);
        tes_trace_add(pool, "tiles", (double)n_done);
        tes_trace_add(pool, "blocks_decoded", (double)n.decoded);
        tes_trace_add(pool, "cache_hits", (double)n.hits);
        tes_trace_add(pool, "bytes_in", (double)n.bytes_in);
        tes_trace_add(pool, "bytes_out", (double)bytes_out);
    }
    if (w) {
        if (rc)
            tes__writer_abort(w);
        else
            rc = tes__writer_commit(w, err);
    }
    for (int i = 0; i < K; i++) {
        free(slots[i].partial);
        tes__encoded_free(&slots[i].enc);
    }
    free(slots);
    free(got_partial);
    for (work *wk = c.free_work, *n; wk; wk = n) {
        n = wk->next;
        work_free(&c, wk);
    }
    pthread_mutex_destroy(&c.ctx_lock);
    tes__cache_destroy(c.cache);
    free(c.win_type);
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
