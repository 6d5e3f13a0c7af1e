/*
 * pipeline.c — one pass of tiles: one task per output tile on a tessera pool,
 * at most max_in_flight of them at once, each assembling its input windows
 * through the shared block cache (or borrowing the cached block itself
 * when a halo-free window is one block), running the kernel and
 * compressing its tile with buffers reused from tile to tile. The tiles
 * are computed row by row, or in column bands when a row's input blocks
 * would not fit the cache; the calling thread hands them to the output in
 * row-major order (those computed before their turn are written at their
 * place in an uncompressed file, or wait in a store) and folds reduction
 * partials in that order, so the bytes and the results never depend on
 * the thread count. A run spread over processes (tes_pipeline_dist)
 * computes the tiles this one owns, row by row; its writer gets the
 * others' in turn. tes_raster_run itself (run.c) is one pass, or several
 * for a COG (cog.c).
 */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "raster_internal.h"

/* Bytes of tiles computed ahead of their turn kept in memory before the
 * reorder store spills them to its file. */
#define REORDER_MEM ((size_t)16 << 20)

/* Shared by the driver and every tile task; read-only while tasks run,
 * except stop (atomic) and free_work (ctx_lock). */
typedef struct run_ctx {
    const tes__pass *p;
    const tes_kernel *k;
    int n_in;
    tes_sample_type *win_type;  /* per input */
    tes__cache *cache;
    tes__blocks *blocks;        /* per input, through cache */
    tes__grid g;
    int64_t across, down, total;
    int64_t band;               /* the walk: column bands of band tiles */
    const char *out_name;       /* for messages */
    /* The driver's own (the calling thread's), never read by tasks: */
    struct slot *slots;         /* max_in_flight of them */
    int K;
    uint8_t *placed;            /* per tile: written at its place in an
                                   uncompressed file before its turn, */
    tes__store *reorder;        /* or else waiting for it here */
    tes__encoded view;          /* a stored tile lent to the writer */
    void *got_partial;          /* a distributed run's tile made elsewhere */
    uint8_t **view_buf;
    size_t *view_cap;
    bool mutex_ready;
    bool traced;                /* the pool traces: tiles name their spans */
    uint64_t bytes_out;         /* compressed bytes handed on (traces) */
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
 * completion is the hand-over). Slot i % max_in_flight is reused for the
 * i-th tile of the walk, enc's buffers with it: it spawns after the
 * (i - max_in_flight)-th was handed on. */
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

void tes__grid_tile(const tes__grid *g, int64_t tx, int64_t ty, int64_t *x0,
                    int64_t *y0, int64_t *x1, int64_t *y1, int64_t *wx0,
                    int64_t *wy0, int64_t *wx1, int64_t *wy1)
{
    *x0 = tx * g->tile_width;
    *y0 = ty * g->tile_height;
    *x1 = *x0 + g->tile_width > g->width ? g->width : *x0 + g->tile_width;
    *y1 = *y0 + g->tile_height > g->height ? g->height
                                           : *y0 + g->tile_height;
    if (g->rx == 1.0 && g->ry == 1.0) {
        *wx0 = *x0 - g->halo;
        *wy0 = *y0 - g->halo;
        *wx1 = *x1 + g->halo;
        *wy1 = *y1 + g->halo;
        return;
    }
    *wx0 = (int64_t)floor((double)*x0 * g->rx) - g->halo;
    *wy0 = (int64_t)floor((double)*y0 * g->ry) - g->halo;
    *wx1 = (int64_t)ceil((double)*x1 * g->rx) + g->halo;
    *wy1 = (int64_t)ceil((double)*y1 * g->ry) + g->halo;
}

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
static int read_windows(slot *s, work *wk, tes_tile *win, tes__block **held)
{
    run_ctx *c = s->run;
    const tes__pass *p = c->p;
    const tes_kernel *k = c->k;
    int64_t x0, y0, x1, y1, wx0, wy0, wx1, wy1;
    tes__grid_tile(&c->g, s->tile % c->across, s->tile / c->across, &x0, &y0,
                   &x1, &y1, &wx0, &wy0, &wx1, &wy1);
    int w = (int)(x1 - x0), h = (int)(y1 - y0);
    for (int i = 0; i < c->n_in; i++) {
        tes__source *src = p->src[i];
        int ww = (int)(wx1 - wx0), wh = (int)(wy1 - wy0);
        if (wx0 == x0 && wy0 == y0 && ww == w && wh == h) {
            int rc = tes__window_borrow(src, c->cache, wx0, wy0, ww, wh,
                                        c->win_type[i], &win[i], &held[i],
                                        &s->err);
            if (rc <= 0) {
                if (rc < 0)
                    return rc;
                continue;
            }
        }
        int rc = tile_in(&win[i], &wk->win_buf[i], &wk->win_cap[i],
                         c->win_type[i], ww, wh, src->bands);
        if (rc)
            return tes__err(&s->err, rc, src->name, "out of memory");
        rc = tes__read_window(&c->blocks[i], wx0, wy0, &win[i], k->edge,
                              k->edge_fill, &s->err);
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
    const tes__pass *p = c->p;
    const tes_kernel *k = c->k;
    int64_t x0, y0, x1, y1, wx0, wy0, wx1, wy1;
    tes__grid_tile(&c->g, s->tile % c->across, s->tile / c->across, &x0, &y0,
                   &x1, &y1, &wx0, &wy0, &wx1, &wy1);
    int w = (int)(x1 - x0), h = (int)(y1 - y0);
    if (c->n_in > 0) {
        /* a hit when every block came from the cache */
        uint64_t before = tr ? tes__cache_decoded_here() : 0;
        tes_trace_begin(tr, "decode");
        int rc = read_windows(s, wk, win, held);
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
        void *chunk = p->enc ? tes__encode_in_place(p->enc, w, h, &s->enc)
                             : NULL;
        int rc = 0;
        if (chunk)
            tile_on(out, chunk, p->out_type, w, h, p->out_bands);
        else
            rc = tile_in(out, &wk->out_buf, &wk->out_cap, p->out_type, w, h,
                         p->out_bands);
        if (rc)
            return tes__err(&s->err, rc, c->out_name, "out of memory");
        out->x0 = x0;
        out->y0 = y0;
        out->raster_width = c->g.width;
        out->raster_height = c->g.height;
        out->has_nodata = p->out_has_nodata;
        out->nodata = p->out_nodata;
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
    if (p->enc) {
        tes_trace_begin(tr, "encode");
        int rc = tes__encode_tile(p->enc, out, &s->enc, &wk->enc);
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

/* ---- the walk --------------------------------------------------------- */

/* Bytes of decoded input blocks a walk in column bands of `band` tiles
 * keeps cached: for each input, the blocks under a band's windows, for
 * the rows of blocks one window spans (the cache drops a block after its
 * last reader: the row above goes while the row below comes). band =
 * across: row by row. */
static uint64_t working_set(const run_ctx *c, int64_t band)
{
    uint64_t sum = 0;
    for (int i = 0; i < c->n_in; i++) {
        const tes__source *s = c->p->src[i];
        double span_x = (double)band * c->g.tile_width * c->g.rx +
                        2.0 * c->g.halo;
        double span_y = (double)c->g.tile_height * c->g.ry +
                        2.0 * c->g.halo;
        uint64_t bx = (uint64_t)ceil(span_x / s->block_width) + 1;
        uint64_t by = (uint64_t)ceil(span_y / s->block_height) + 1;
        if (bx > s->blocks_across)
            bx = s->blocks_across;
        if (by > s->blocks_down)
            by = s->blocks_down;
        sum += bx * by * tes__source_block_bytes(s);
    }
    return sum;
}

/* Row by row while a row's working set fits three quarters of the cache
 * (the rest is slack for blocks in flight); otherwise the widest column
 * bands whose working set does. Reductions fold in row-major order and go
 * row by row; so do walks that narrower bands would not help. */
static int64_t plan_walk(const run_ctx *c, size_t cache_bytes)
{
    uint64_t budget = cache_bytes / 4 * 3;
    if (c->k->partial || c->across < 4 || working_set(c, c->across) <= budget)
        return c->across;
    int64_t lo = 1, hi = c->across;
    while (lo < hi) { /* the widest band that fits */
        int64_t mid = (lo + hi + 1) / 2;
        if (working_set(c, mid) <= budget)
            lo = mid;
        else
            hi = mid - 1;
    }
    if (working_set(c, lo) >= working_set(c, c->across))
        return c->across;
    return lo;
}

/* The i-th tile of the walk (row-major index in the grid). */
static int64_t walk_tile(const run_ctx *c, int64_t i)
{
    if (c->band >= c->across)
        return i;
    int64_t per_band = c->band * c->down;  /* every band but the last */
    int64_t b = i / per_band, j = i - b * per_band;
    int64_t col0 = b * c->band;
    int64_t width = c->across - col0 < c->band ? c->across - col0 : c->band;
    return (j / width) * c->across + col0 + j % width;
}

/* ---- one pass: set-up, drive loop, clean-up ----------------------------- */

static int pass_setup(run_ctx *c, tes_raster_error *err)
{
    const tes__pass *p = c->p;
    const tes_kernel *k = p->k;
    c->k = k;
    c->n_in = p->n_in;
    c->out_name = p->out_name;
    c->g = p->grid;
    if (c->g.rx == 0)
        c->g.rx = 1;
    if (c->g.ry == 0)
        c->g.ry = 1;
    c->across = (c->g.width + c->g.tile_width - 1) / c->g.tile_width;
    c->down = (c->g.height + c->g.tile_height - 1) / c->g.tile_height;
    c->total = c->across * c->down;
    c->traced = tes_pool_trace_path(p->pool) != NULL;
    int threads = tes_pool_threads(p->pool);
    c->K = (p->po->max_in_flight > 0 ? p->po->max_in_flight
                                     : 2 * threads + 2) +
           p->lookahead;
    if (p->dist) {
        c->g.owns = p->dist->owns;
        c->g.owns_ctx = p->dist->ctx;
    }
    size_t n = c->n_in > 0 ? (size_t)c->n_in : 1;
    c->win_type = calloc(n, sizeof *c->win_type);
    c->blocks = calloc(n, sizeof *c->blocks);
    c->slots = calloc((size_t)c->K, sizeof *c->slots);
    if (!c->win_type || !c->blocks || !c->slots)
        return tes__err(err, -ENOMEM, c->out_name, "out of memory");
    size_t cache_bytes = p->po->cache_bytes ? p->po->cache_bytes
                                            : (size_t)64 << 20;
    int rc = tes__cache_create(&c->cache, cache_bytes);
    if (rc)
        return tes__err(err, rc, c->out_name, "out of memory");
    rc = pthread_mutex_init(&c->ctx_lock, NULL);
    if (rc)
        return tes__err(err, -rc, c->out_name, "%s", strerror(rc));
    c->mutex_ready = true;
    for (int i = 0; i < c->n_in; i++) {
        tes__source *s = p->src[i];
        c->win_type[i] = k->in_type ? k->in_type : s->type;
        tes__blocks_cached(&c->blocks[i], s, c->cache);
        rc = tes__cache_plan(c->cache, s, &c->g);
        if (rc)
            return tes__err(err, rc, s->name, "out of memory");
    }
    if (k->partial) {
        for (int i = 0; i < c->K; i++)
            if (!(c->slots[i].partial = malloc(k->partial_size)))
                return tes__err(err, -ENOMEM, c->out_name, "out of memory");
        /* the writer folds partials of tiles made elsewhere in this one */
        if (p->dist && p->dist->writer &&
            !(c->got_partial = malloc(k->partial_size)))
            return tes__err(err, -ENOMEM, c->out_name, "out of memory");
    }
    c->band = p->dist ? c->across : plan_walk(c, cache_bytes);
    if (c->band < c->across && p->w && tes__writer_placeable(p->w)) {
        if (!(c->placed = calloc((size_t)c->total, 1)))
            rc = tes__err(err, -ENOMEM, c->out_name, "out of memory");
    } else if (c->band < c->across && p->w) {
        int chunks = p->enc->planar ? p->enc->bands : 1;
        /* in memory: a quarter of the cache's budget, at most 16 MiB */
        size_t mem = cache_bytes / 4 < REORDER_MEM ? cache_bytes / 4
                                                   : REORDER_MEM;
        rc = tes__store_create(&c->reorder, c->out_name, c->total, chunks,
                               mem, err);
        if (!rc) {
            c->view.n = chunks;
            c->view.data = calloc((size_t)chunks, sizeof *c->view.data);
            c->view.size = calloc((size_t)chunks, sizeof *c->view.size);
            c->view_buf = calloc((size_t)chunks, sizeof *c->view_buf);
            c->view_cap = calloc((size_t)chunks, sizeof *c->view_cap);
            if (!c->view.data || !c->view.size || !c->view_buf ||
                !c->view_cap)
                rc = tes__err(err, -ENOMEM, c->out_name, "out of memory");
        }
    }
    return rc;
}

/* Hands the file the tiles from *next on that came before their turn,
 * while they are there. */
static int drain_reorder(run_ctx *c, int64_t *next, tes_raster_error *err)
{
    while (c->placed && *next < c->total && c->placed[*next]) {
        int rc = tes__writer_put_placed(c->p->w, *next, err);
        if (rc)
            return rc;
        (*next)++;
    }
    while (c->reorder && tes__store_has(c->reorder, *next)) {
        for (int k = 0; k < c->view.n; k++) {
            const uint8_t *d;
            int rc = tes__store_get(c->reorder, *next, k, &d,
                                    &c->view.size[k], &c->view_buf[k],
                                    &c->view_cap[k], err);
            if (rc)
                return rc;
            c->view.data[k] = (uint8_t *)d;
        }
        /* view.cap is NULL: the writer copies what it keeps */
        int rc = tes__writer_put(c->p->w, *next, &c->view, err);
        tes__store_drop(c->reorder, *next);
        if (rc)
            return rc;
        (*next)++;
    }
    return 0;
}

/* Hands finished slot s on: to the store, or to the file now or once its
 * turn comes; its partial to the reduction. */
static int hand_on(run_ctx *c, slot *s, int64_t *next_write,
                   tes_raster_error *err)
{
    const tes__pass *p = c->p;
    int rc = 0;
    if (p->store) {
        rc = tes__store_put(p->store, s->tile, &s->enc, err);
    } else if (p->w && s->tile != *next_write && c->placed) {
        rc = tes__writer_place(p->w, s->tile, &s->enc, err);
        c->placed[s->tile] = 1;
    } else if (p->w && s->tile != *next_write) {
        rc = tes__store_put(c->reorder, s->tile, &s->enc, err);
    } else if (p->w) {
        rc = tes__writer_put(p->w, s->tile, &s->enc, err);
        (*next_write)++;
        if (!rc)
            rc = drain_reorder(c, next_write, err);
    }
    if (!rc && c->k->partial) /* the walk is row-major (plan_walk) */
        c->k->combine(p->result, s->partial, c->k->arg);
    return rc;
}

/* Whether this process computes tile t, and the first such tile from t
 * on (c->total when none is left). */
static inline bool own(const run_ctx *c, int64_t t)
{
    const tes_pipeline_dist *d = c->p->dist;
    return !d || d->owns(d->ctx, t);
}

static int64_t next_own(const run_ctx *c, int64_t t)
{
    while (t < c->total && !own(c, t))
        t++;
    return t;
}

/* The writer's turn for tile t of a distributed run, made elsewhere:
 * written and folded as if it were ours. */
static int dist_get(run_ctx *c, int64_t t, int64_t *next_write,
                    tes_raster_error *err)
{
    const tes__pass *p = c->p;
    const tes_pipeline_dist *d = p->dist;
    tes_tile_bytes b = { 0, NULL, NULL };
    int rc = d->get(d->ctx, t, &b, c->got_partial, err);
    if (rc)
        return rc;
    if (p->enc && p->w) {
        int want = p->enc->planar ? p->out_bands : 1;
        if (b.n != want || !b.data || !b.size)
            return tes__err(err, -EPROTO, c->out_name,
                            "tile %lld arrived with %d chunks, not %d",
                            (long long)t, b.n, want);
        /* The writer only reads chunks it may not keep (no capacities). */
        tes__encoded e = { b.n, (uint8_t **)b.data, (size_t *)b.size, NULL };
        rc = tes__writer_put(p->w, t, &e, err);
    }
    (*next_write)++;
    if (!rc && c->k->partial)
        c->k->combine(p->result, c->got_partial, c->k->arg);
    return rc;
}

/* The tiles this process computes (progress of one that is not the
 * writer). */
static int64_t own_count(const run_ctx *c)
{
    int64_t n = 0;
    for (int64_t t = next_own(c, 0); t < c->total; t = next_own(c, t + 1))
        n++;
    return n;
}

/* Spawns our tiles in the walk's order, at most K in flight, and hands
 * each finished one on; a distributed run's writer visits every tile in
 * order (awaiting ours, getting the others'), any other process only its
 * own. Returns the first failure's code (with err), or 0. */
static int pass_drive(run_ctx *c, tes_raster_error *err)
{
    const tes__pass *p = c->p;
    const tes_kernel *k = c->k;
    const tes_pipeline_options *po = p->po;
    const tes_pipeline_dist *d = p->dist;
    bool writer = !d || d->writer;
    int K = c->K, rc = 0;
    /* cursor: the walk's index, or with a dist the next tile of ours */
    int64_t cursor = d ? next_own(c, 0) : 0, n_spawned = 0, n_done = 0;
    int64_t next_write = 0, pos = writer ? 0 : cursor;
    uint64_t own_total = d && !writer ? (uint64_t)own_count(c) : 0;
    bool failed = false;
    tes_trace_track *wt = p->trace;
    if (wt)
        tes_trace_counter(wt, "in-flight bound", K);
    for (;;) {
        while (!failed && cursor < c->total && n_spawned - n_done < K) {
            slot *s = &c->slots[n_spawned % K];
            s->run = c;
            s->tile = d ? cursor : walk_tile(c, cursor);
            s->rc = 0;
            s->skipped = false;
            if (k->partial)
                k->partial_init(s->partial, k->arg);
            int src = tes_spawn(&s->f, p->pool, tile_task, s);
            if (src) {
                rc = tes__err(err, src, c->out_name,
                              "cannot start a tile: %s", tes_strerror(src));
                failed = true;
                /* relaxed: a hint; see run_ctx.stop */
                atomic_store_explicit(&c->stop, true, memory_order_relaxed);
                break;
            }
            n_spawned++;
            cursor = d ? next_own(c, cursor + 1) : cursor + 1;
        }
        tes_trace_counter(wt, "tiles in flight",
                          (double)(n_spawned - n_done));
        if (failed) {
            /* Drain what started, keeping the first real error: a tile
             * that was skipped only saw another tile's failure. */
            if (n_done == n_spawned)
                break;
            slot *s = &c->slots[n_done++ % K];
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
        if (d ? pos >= c->total : n_done == n_spawned)
            break;
        int wrc = 0;
        if (!d || own(c, pos)) {
            slot *s = &c->slots[n_done++ % K];
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
                /* relaxed: a hint; see run_ctx.stop */
                atomic_store_explicit(&c->stop, true, memory_order_relaxed);
                continue;
            }
            p->stats->tiles++;
            if (writer) {
                for (int i = 0; wt && p->enc && i < s->enc.n; i++)
                    c->bytes_out += s->enc.size[i];
                tes_trace_begin(wt, "write tile %lld", (long long)s->tile);
                wrc = hand_on(c, s, &next_write, err);
                tes_trace_end(wt);
            } else {
                tes_tile_bytes b = { s->enc.n,
                                     (const uint8_t *const *)s->enc.data,
                                     s->enc.size };
                wrc = d->put(d->ctx, pos, p->enc ? &b : NULL,
                             k->partial ? s->partial : NULL, err);
            }
        } else {
            wrc = dist_get(c, pos, &next_write, err);
        }
        uint64_t done = !d    ? (uint64_t)n_done
                        : writer ? (uint64_t)pos + 1
                                 : (uint64_t)n_done;
        uint64_t total = d && !writer ? own_total : p->progress_total;
        if (!wrc && po->progress &&
            po->progress(p->progress_base + done, total, po->progress_ctx))
            wrc = tes__err(err, -ECANCELED, c->out_name, "cancelled");
        if (wrc) {
            rc = wrc;
            failed = true;
            /* relaxed: a hint; see run_ctx.stop */
            atomic_store_explicit(&c->stop, true, memory_order_relaxed);
        }
        if (d)
            pos = writer ? pos + 1 : next_own(c, pos + 1);
    }
    if (failed && !rc)
        rc = tes__err(err, -ECANCELED, c->out_name, "stopped");
    if (c->traced) {
        /* the pass's counters, summed over the passes and runs of the
         * pool */
        tes__cache_counts n;
        tes__cache_counts_get(c->cache, &n);
        tes_trace_counter(wt, "tiles in flight", 0);
        tes_trace_add(p->pool, "tiles", (double)n_done);
        tes_trace_add(p->pool, "blocks_decoded", (double)n.decoded);
        tes_trace_add(p->pool, "cache_hits", (double)n.hits);
        tes_trace_add(p->pool, "bytes_in", (double)n.bytes_in);
        tes_trace_add(p->pool, "bytes_out", (double)c->bytes_out);
    }
    return rc;
}

/* The one clean-up of every pass, set up in full or in part. */
static void pass_cleanup(run_ctx *c)
{
    for (int i = 0; c->slots && i < c->K; i++) {
        free(c->slots[i].partial);
        tes__encoded_free(&c->slots[i].enc);
    }
    free(c->slots);
    for (work *wk = c->free_work, *n; wk; wk = n) {
        n = wk->next;
        work_free(c, wk);
    }
    if (c->mutex_ready)
        pthread_mutex_destroy(&c->ctx_lock);
    tes_run_stats *st = c->p->stats;
    if (c->reorder) {
        uint64_t back;
        st->spill_written += tes__store_spilled(c->reorder, &back);
        st->spill_read += back;
    }
    if (c->cache) {
        tes__cache_counts n;
        tes__cache_counts_get(c->cache, &n);
        st->blocks_decoded += n.decoded;
    }
    tes__store_destroy(c->reorder);
    free(c->placed);
    for (int k = 0; c->view_buf && k < c->view.n; k++)
        free(c->view_buf[k]);
    free(c->view_buf);
    free(c->view_cap);
    free(c->view.data);
    free(c->view.size);
    free(c->got_partial);
    tes__cache_destroy(c->cache);
    free(c->blocks);
    free(c->win_type);
}

int tes__pass_run(const tes__pass *p, tes_raster_error *err)
{
    run_ctx c;
    memset(&c, 0, sizeof c);
    c.p = p;
    atomic_init(&c.stop, false);
    int rc = pass_setup(&c, err);
    if (!rc)
        rc = pass_drive(&c, err);
    pass_cleanup(&c);
    return rc;
}
