/*
 * run_memory.c — tes_raster_run_memory: a kernel over images in memory,
 * with the file pipeline's contract (tile grid, halo windows filled at the
 * edges by window.c's own code, partials folded in tile order) and no
 * files: windows that lie inside an input, in its type, are views of it,
 * the others are assembled in buffers reused from tile to tile, and output
 * tiles are views of the caller's output. A reduction, or a run with a
 * progress callback, keeps a window of tiles in flight and awaits them in
 * order on the calling thread; a plain map is one parallel_for over the
 * tiles, so that the caller sleeps once rather than once a tile.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raster_internal.h"

#define MAX_INPUTS TES_CACHE_MAX_INPUTS

/* Shared by the driver and every tile task; read-only while tasks run,
 * except stop (atomic) and free_work (lock). */
typedef struct mem_run {
    const tes_kernel *k;
    const tes_tile *in;
    int n_in;
    const tes_tile *out;        /* NULL for a pure reduction */
    tes_sample_type win_type[MAX_INPUTS];
    int64_t width, height;
    int tw, th;
    int64_t across, total;
    bool out_has_nodata;
    double out_nodata;
    /* Set when a tile fails: tiles that have not started skip their work.
     * A hint only: results travel through the futures (or the driver's
     * own call), so relaxed loads and stores suffice. */
    atomic_bool stop;
    pthread_mutex_t lock;       /* protects free_work and the map's fail_ */
    struct mem_work *free_work;
    /* A map's lowest failing tile (-1: none), its code and message. */
    int64_t fail_tile;
    int fail_rc;
    char fail_msg[400];
} mem_run;

/* Window buffers, one per input, reused from tile to tile; owned by one
 * task at a time (taken from and returned to mem_run.free_work). */
typedef struct mem_work {
    void *buf[MAX_INPUTS];
    size_t cap[MAX_INPUTS];
    struct mem_work *next;      /* free list link (mem_run.lock) */
} mem_work;

/* One tile in flight. The driver fills run, tile and partial before the
 * spawn; the task writes rc, skipped and msg; the driver reads them after
 * tes_await returns, which orders the two. Slot i % max_in_flight serves
 * tile i. */
typedef struct mem_slot {
    mem_run *run;
    int64_t tile;
    tes_future *f;
    int rc;
    bool skipped;
    char msg[400];              /* "tile N: NAME: reason" on failure */
    void *partial;
} mem_slot;

static mem_work *work_get(mem_run *m)
{
    pthread_mutex_lock(&m->lock);
    mem_work *w = m->free_work;
    if (w)
        m->free_work = w->next;
    pthread_mutex_unlock(&m->lock);
    return w ? w : calloc(1, sizeof *w);
}

static void work_put(mem_run *m, mem_work *w)
{
    pthread_mutex_lock(&m->lock);
    w->next = m->free_work;
    m->free_work = w;
    pthread_mutex_unlock(&m->lock);
}

static void *at(const tes_tile *t, int64_t x, int64_t y)
{
    return (char *)t->data +
           ((size_t)y * t->stride + (size_t)x) * tes_sample_size(t->type);
}

/* Window i of the tile at (x0, y0), w x h grown by the halo: a view of the
 * input when it lies inside it in the window's type, else assembled in
 * wk's buffer: the inside part copied (and converted), the rest filled
 * by window.c's edge filling. Returns 0 or -ENOMEM. */
static int window(const mem_run *m, int i, int64_t x0, int64_t y0, int w,
                  int h, mem_work *wk, tes_tile *win)
{
    const tes_tile *src = &m->in[i];
    const tes_kernel *k = m->k;
    tes_sample_type type = m->win_type[i];
    int64_t W = m->width, H = m->height;
    memset(win, 0, sizeof *win);
    win->type = type;
    win->width = w;
    win->height = h;
    win->bands = src->bands;
    win->x0 = x0;
    win->y0 = y0;
    win->raster_width = W;
    win->raster_height = H;
    win->has_nodata = src->has_nodata;
    win->nodata = src->nodata;
    if (type == src->type && x0 >= 0 && y0 >= 0 && x0 + w <= W &&
        y0 + h <= H) {
        /* The kernel only reads its inputs (tes_tile's contract). */
        win->data = at(src, x0, y0);
        win->stride = src->stride;
        win->band_stride = src->band_stride;
        return 0;
    }
    size_t ss = tes_sample_size(type);
    size_t plane = (size_t)w * (size_t)h;
    wk->buf[i] = tes__reserve(wk->buf[i], &wk->cap[i],
                              plane * (size_t)src->bands * ss);
    if (!wk->buf[i])
        return -ENOMEM;
    win->data = wk->buf[i];
    win->stride = (size_t)w;
    win->band_stride = plane;
    /* the part inside the image, in window coordinates: [cx0, cx1) x
     * [cy0, cy1) */
    int64_t cx0 = x0 < 0 ? -x0 : 0, cy0 = y0 < 0 ? -y0 : 0;
    int64_t cx1 = x0 + w > W ? W - x0 : w, cy1 = y0 + h > H ? H - y0 : h;
    if (cx0 < cx1 && cy0 < cy1)
        for (int b = 0; b < src->bands; b++)
            for (int64_t y = cy0; y < cy1; y++)
                tes_convert_samples(
                    (char *)tes_tile_row(win, b, (int)y) + (size_t)cx0 * ss,
                    type,
                    (const char *)at(src, x0 + cx0, y0 + y) +
                        (size_t)b * src->band_stride *
                            tes_sample_size(src->type),
                    src->type, (size_t)(cx1 - cx0));
    tes__window_fill_edges(win, cx0, cx1, cy0, cy1, k->edge,
                           src->has_nodata ? src->nodata : k->edge_fill);
    return 0;
}

static int tile_work(mem_slot *s, mem_work *wk)
{
    const mem_run *m = s->run;
    const tes_kernel *k = m->k;
    int64_t X = (s->tile % m->across) * m->tw;
    int64_t Y = (s->tile / m->across) * m->th;
    int w = (int)(X + m->tw > m->width ? m->width - X : m->tw);
    int h = (int)(Y + m->th > m->height ? m->height - Y : m->th);
    tes_tile win[MAX_INPUTS];
    for (int i = 0; i < m->n_in; i++)
        if (window(m, i, X - k->halo, Y - k->halo, w + 2 * k->halo,
                   h + 2 * k->halo, wk, &win[i])) {
            snprintf(s->msg, sizeof s->msg, "tile %lld: out of memory",
                     (long long)s->tile);
            return -ENOMEM;
        }
    tes_tile out;
    tes_tile_job job;
    memset(&job, 0, sizeof job);
    job.in = win;
    job.n_in = m->n_in;
    job.arg = k->arg;
    job.tile_index = s->tile;
    job.worker = tes_worker_index() < 0 ? 0 : tes_worker_index();
    if (m->out) {
        out = *m->out;
        out.data = at(m->out, X, Y);
        out.width = w;
        out.height = h;
        out.x0 = X;
        out.y0 = Y;
        out.raster_width = m->width;
        out.raster_height = m->height;
        out.has_nodata = m->out_has_nodata;
        out.nodata = m->out_nodata;
        job.out = &out;
    }
    int rc = 0;
    if (k->tile)
        rc = k->tile(&job);
    if (rc == 0 && k->reduce) {
        job.partial = s->partial;
        rc = k->reduce(&job);
    }
    if (rc) {
        rc = rc < 0 ? rc : TES_EKERNEL;
        snprintf(s->msg, sizeof s->msg, "tile %lld: %s: %s",
                 (long long)s->tile, k->name ? k->name : "kernel",
                 job.msg[0] ? job.msg : tes_raster_strerror(rc));
    }
    return rc;
}

static void *tile_task(void *arg)
{
    mem_slot *s = arg;
    mem_run *m = s->run;
    /* relaxed: a hint to skip work; see mem_run.stop */
    if (atomic_load_explicit(&m->stop, memory_order_relaxed)) {
        s->skipped = true;
        return NULL;
    }
    mem_work *wk = work_get(m);
    if (wk) {
        s->rc = tile_work(s, wk);
        work_put(m, wk);
    } else {
        s->rc = -ENOMEM;
        snprintf(s->msg, sizeof s->msg, "tile %lld: out of memory",
                 (long long)s->tile);
    }
    if (s->rc)
        /* relaxed: a hint to other tiles; see mem_run.stop */
        atomic_store_explicit(&m->stop, true, memory_order_relaxed);
    return NULL;
}

/* parallel_for's body for a plain map: tiles [b, e) with one work. */
static void map_body(size_t b, size_t e, void *ctx)
{
    mem_run *m = ctx;
    mem_work *wk = work_get(m);
    for (size_t t = b; t < e; t++) {
        /* relaxed: a hint to skip work; see mem_run.stop */
        if (atomic_load_explicit(&m->stop, memory_order_relaxed))
            break;
        mem_slot s = { .run = m, .tile = (int64_t)t };
        if (wk) {
            s.rc = tile_work(&s, wk);
        } else {
            s.rc = -ENOMEM;
            snprintf(s.msg, sizeof s.msg, "tile %zu: out of memory", t);
        }
        if (s.rc) {
            pthread_mutex_lock(&m->lock);
            if (m->fail_tile < 0 || s.tile < m->fail_tile) {
                m->fail_tile = s.tile;
                m->fail_rc = s.rc;
                memcpy(m->fail_msg, s.msg, sizeof m->fail_msg);
            }
            pthread_mutex_unlock(&m->lock);
            /* relaxed: a hint to other tiles; see mem_run.stop */
            atomic_store_explicit(&m->stop, true, memory_order_relaxed);
            break;
        }
    }
    if (wk)
        work_put(m, wk);
}

/* First and one-past-last byte of t's samples. */
static void extent(const tes_tile *t, const char **lo, const char **hi)
{
    size_t last = (size_t)(t->bands - 1) * t->band_stride +
                  (size_t)(t->height - 1) * t->stride + (size_t)t->width;
    *lo = t->data;
    *hi = (const char *)t->data + last * tes_sample_size(t->type);
}

/* Whether t's layout makes sense: data (unless shape_only), a type, a
 * size, rows not overlapping, and, for an output (distinct), bands not
 * overlapping either (planar: each band after the last; line-interleaved:
 * each band's row inside the row's stride). */
static bool layout_ok(const tes_tile *t, bool distinct, bool shape_only)
{
    if ((!t->data && !shape_only) || !tes_sample_size(t->type) ||
        t->width < 1 ||
        t->height < 1 || t->bands < 1 || t->stride < (size_t)t->width)
        return false;
    if (t->bands == 1)
        return true;
    if (t->band_stride < (size_t)t->width)
        return false;
    if (!distinct)
        return true;
    return t->band_stride >= t->stride * (size_t)t->height ||
           t->band_stride * (size_t)(t->bands - 1) + (size_t)t->width <=
               t->stride;
}

/* Checks the arguments against k; fills m's shape. shape_only (an
 * estimate): out's data may be NULL, an image not allocated yet. */
static int check(mem_run *m, const tes_kernel *k, const tes_tile *in, int n_in,
                 const tes_tile *out, void *result,
                 const tes_memory_options *o, bool shape_only,
                 tes_raster_error *err)
{
    const char *why = tes__kernel_refusal(k);
    if (why)
        return tes__err(err, -EINVAL, NULL, "%s", why);
    if (n_in < 0 || n_in > MAX_INPUTS || (n_in > 0 && !in))
        return tes__err(err, -EINVAL, NULL, "%d inputs: expects 0..%d", n_in,
                        MAX_INPUTS);
    if (k->tile && !out)
        return tes__err(err, -EINVAL, NULL, "no output image for kernel %s",
                        k->name ? k->name : "kernel");
    if (k->reduce && !result)
        return tes__err(err, -EINVAL, NULL, "no result buffer for kernel %s",
                        k->name ? k->name : "kernel");
    if (o->tile_width < 0 || o->tile_height < 0 || o->max_in_flight < 0)
        return tes__err(err, -EINVAL, NULL,
                        "negative tile size or tiles in flight");
    for (int i = 0; i < n_in; i++) {
        if (!layout_ok(&in[i], false, false))
            return tes__err(err, -EINVAL, NULL,
                            "input %d: no data, no type, an empty size or "
                            "strides shorter than a row",
                            i + 1);
        if (in[i].width != in[0].width || in[i].height != in[0].height)
            return tes__err(err, -EINVAL, NULL,
                            "input %d: size %dx%d differs from input 1 "
                            "(%dx%d)",
                            i + 1, in[i].width, in[i].height, in[0].width,
                            in[0].height);
        m->win_type[i] = k->in_type ? k->in_type : in[i].type;
    }
    /* the size: input 0's, or a generator's output's */
    if (n_in) {
        m->width = in[0].width;
        m->height = in[0].height;
    } else if (out) {
        m->width = out->width;
        m->height = out->height;
    } else {
        return tes__err(err, -EINVAL, NULL, "no input and no output: no size");
    }
    if (out) {
        tes_sample_type type;
        int bands;
        tes_kernel_output_format(k, n_in ? in[0].type : TES_TYPE_NONE,
                                 n_in ? in[0].bands : 0, &type, &bands);
        if (!layout_ok(out, true, shape_only))
            return tes__err(err, -EINVAL, NULL,
                            "output: no data, no type, an empty size or "
                            "overlapping rows or bands");
        if (out->width != m->width || out->height != m->height)
            return tes__err(err, -EINVAL, NULL,
                            "output: size %dx%d, the inputs' is %lldx%lld",
                            out->width, out->height, (long long)m->width,
                            (long long)m->height);
        if (out->type != type || out->bands != bands)
            return tes__err(err, -EINVAL, NULL,
                            "output: %s with %d band(s); kernel %s writes %s "
                            "with %d",
                            tes_sample_type_name(out->type), out->bands,
                            k->name ? k->name : "kernel",
                            tes_sample_type_name(type), bands);
        const char *olo = NULL, *ohi = NULL;
        if (out->data)
            extent(out, &olo, &ohi);
        for (int i = 0; i < n_in && out->data; i++) {
            const char *lo, *hi;
            extent(&in[i], &lo, &hi);
            if (lo < ohi && olo < hi)
                return tes__err(err, -EINVAL, NULL, "output overlaps input %d",
                                i + 1);
        }
        m->out = out;
        tes__output_nodata(k, TES_NODATA_INHERIT, 0, n_in && in[0].has_nodata,
                           n_in ? in[0].nodata : 0, type, &m->out_has_nodata,
                           &m->out_nodata);
    }
    m->k = k;
    m->in = in;
    m->n_in = n_in;
    m->tw = o->tile_width ? o->tile_width : 256;
    m->th = o->tile_height ? o->tile_height : 256;
    m->across = (m->width + m->tw - 1) / m->tw;
    m->total = m->across * ((m->height + m->th - 1) / m->th);
    return 0;
}

/* Tiles started and not yet combined: without a pool, one at a time on
 * the calling thread. */
static int in_flight(tes_pool *pool, const tes_memory_options *o)
{
    return !pool              ? 1
           : o->max_in_flight ? o->max_in_flight
                              : 2 * tes_pool_threads(pool) + 2;
}

/* What the checked run m will allocate beyond the caller's images, against
 * its budget (*need: the estimate): the tiles in flight (a slot each, and
 * a reduction's partial), and each worker's window buffers when some
 * windows cannot be views of the inputs (those reaching past the edges,
 * or wanted in another type). */
static int budget(const mem_run *m, tes_pool *pool,
                  const tes_memory_options *o, uint64_t *need,
                  tes_raster_error *err)
{
    const tes_kernel *k = m->k;
    tes__mem need_of = { .n = 0 };
    uint64_t partial = k->reduce ? (uint64_t)k->partial_size : 0;
    tes__mem_add(&need_of, TES__MEM_EACH, (uint64_t)in_flight(pool, o),
                 tes__mem_sum(sizeof(mem_slot), partial), "tiles in flight",
                 partial >= sizeof(mem_slot)
                     ? ", mostly the kernel's partial result"
                     : NULL);
    uint64_t halo = (uint64_t)(k->halo > 0 ? k->halo : 0);
    uint64_t tw = (uint64_t)(m->tw < m->width ? m->tw : m->width);
    uint64_t th = (uint64_t)(m->th < m->height ? m->th : m->height);
    uint64_t win = 0;
    for (int i = 0; i < m->n_in; i++)
        if (halo || m->win_type[i] != m->in[i].type)
            win = tes__mem_sum(
                win, tes__mem_mul(tes__mem_mul(tw + 2 * halo, th + 2 * halo),
                                  tes__mem_mul((uint64_t)m->in[i].bands,
                                               tes_sample_size(
                                                   m->win_type[i]))));
    tes__mem_add(&need_of, TES__MEM_PER_WORKER,
                 pool ? (uint64_t)tes_pool_threads(pool) : 1, win,
                 "window buffers", NULL);
    tes__mem_add(&need_of, TES__MEM_ONE, 1, o->extra_bytes,
                 o->extra_name ? o->extra_name : "the caller's buffers",
                 NULL);
    uint64_t limit = o->memory_limit ? o->memory_limit : tes_memory_default();
    return tes__mem_check(&need_of, limit, k->name, need, err);
}

TES_API int tes_raster_run_memory_estimate(tes_pool *pool,
                                           const tes_kernel *k,
                                           const tes_tile *in, int n_in,
                                           const tes_tile *out,
                                           const tes_memory_options *o,
                                           uint64_t *bytes,
                                           tes_raster_error *err)
{
    tes_memory_options od = TES_MEMORY_OPTIONS_INIT;
    if (!o)
        o = &od;
    /* the result is not needed yet: any non-NULL pointer passes the check
     * that a reduction has one, and nothing reads it */
    static char no_result;
    mem_run m;
    memset(&m, 0, sizeof m);
    uint64_t need = 0;
    int rc = check(&m, k, in, n_in, out, &no_result, o, true, err);
    if (!rc)
        rc = budget(&m, pool, o, &need, err);
    if (bytes)
        *bytes = need;
    return rc;
}

TES_API int tes_raster_run_memory_opts(tes_pool *pool, const tes_kernel *k,
                                       const tes_tile *in, int n_in,
                                       tes_tile *out, void *result,
                                       const tes_memory_options *o,
                                       tes_raster_error *err)
{
    tes_memory_options od = TES_MEMORY_OPTIONS_INIT;
    if (!o)
        o = &od;
    mem_run m;
    memset(&m, 0, sizeof m);
    int rc = check(&m, k, in, n_in, out, result, o, false, err);
    /* before anything k or the options make large */
    if (!rc)
        rc = budget(&m, pool, o, NULL, err);
    if (rc)
        return rc;
    atomic_init(&m.stop, false);
    int K = in_flight(pool, o);
    mem_slot *slots = calloc((size_t)K, sizeof *slots);
    if (!slots)
        return tes__err(err, -ENOMEM, NULL, "out of memory");
    if (pthread_mutex_init(&m.lock, NULL)) {
        free(slots);
        return tes__err(err, -ENOMEM, NULL, "out of memory");
    }
    if (k->reduce) {
        for (int i = 0; i < K && !rc; i++)
            if (!(slots[i].partial = malloc(k->partial_size)))
                rc = tes__err(err, -ENOMEM, NULL, "out of memory");
        if (!rc)
            k->partial_init(result, k->arg);
    }

    m.fail_tile = -1;
    int64_t next_spawn = 0, next_done = 0;
    bool failed = rc != 0;
    bool mapped = !failed && pool && !k->reduce && !o->progress;
    if (mapped) {
        /* A plain map: any order will do. The failures' messages are read
         * after parallel_for has returned, which orders them. */
        rc = tes_parallel_for(pool, 0, (size_t)m.total, 1, map_body, &m);
        if (rc)
            rc = tes__err(err, rc, NULL, "cannot start the tiles: %s",
                          tes_strerror(rc));
        else if (m.fail_tile >= 0)
            rc = tes__err(err, m.fail_rc, NULL, "%s", m.fail_msg);
        failed = rc != 0;
    }
    /* Otherwise tiles start in row-major order, at most K ahead of the
     * oldest one not yet done, and are awaited in that order: partials
     * fold into the result in tile order, whatever ran them. */
    while (!mapped && (!failed || next_done < next_spawn)) {
        while (!failed && next_spawn < m.total && next_spawn - next_done < K) {
            mem_slot *s = &slots[next_spawn % K];
            s->run = &m;
            s->tile = next_spawn;
            s->rc = 0;
            s->skipped = false;
            s->f = NULL;
            if (k->reduce)
                k->partial_init(s->partial, k->arg);
            if (!pool) {
                tile_task(s);
            } else {
                int src = tes_spawn(&s->f, pool, tile_task, s);
                if (src) {
                    rc = tes__err(err, src, NULL, "cannot start a tile: %s",
                                  tes_strerror(src));
                    failed = true;
                    /* relaxed: a hint; see mem_run.stop */
                    atomic_store_explicit(&m.stop, true, memory_order_relaxed);
                    break;
                }
            }
            next_spawn++;
        }
        if (next_done == next_spawn)
            break;
        mem_slot *s = &slots[next_done % K];
        if (s->f) {
            tes_await(s->f, NULL);
            tes_future_release(s->f);
            s->f = NULL;
        }
        next_done++;
        if (s->rc) {
            if (!rc)
                rc = tes__err(err, s->rc, NULL, "%s", s->msg);
            failed = true;
        } else if (s->skipped || failed) {
            failed = true;
        } else {
            if (k->reduce)
                k->combine(result, s->partial, k->arg);
            if (o->progress &&
                o->progress((uint64_t)next_done, (uint64_t)m.total,
                            o->progress_ctx)) {
                rc = tes__err(err, -ECANCELED, NULL, "cancelled");
                failed = true;
                /* relaxed: a hint; see mem_run.stop */
                atomic_store_explicit(&m.stop, true, memory_order_relaxed);
            }
        }
    }
    if (failed && !rc)
        rc = tes__err(err, -ECANCELED, NULL, "stopped");
    if (!rc && out) {
        out->x0 = 0;
        out->y0 = 0;
        out->raster_width = out->width;
        out->raster_height = out->height;
        out->has_nodata = m.out_has_nodata;
        out->nodata = m.out_has_nodata ? m.out_nodata : 0;
    }
    for (int i = 0; i < K; i++)
        free(slots[i].partial);
    free(slots);
    for (mem_work *w = m.free_work, *next; w; w = next) {
        next = w->next;
        for (int i = 0; i < MAX_INPUTS; i++)
            free(w->buf[i]);
        free(w);
    }
    pthread_mutex_destroy(&m.lock);
    return rc;
}

TES_API int tes_raster_run_memory(tes_pool *pool, const tes_kernel *k,
                                  const tes_tile *in, int n_in, tes_tile *out,
                                  void *result, tes_raster_error *err)
{
    return tes_raster_run_memory_opts(pool, k, in, n_in, out, result, NULL,
                                      err);
}
