/*
 * run_memory.c — runs any kernel descriptor over whole in-memory images,
 * tile by tile with halo windows, serially or one task per tile on a pool:
 * the pipeline's contract without files, for tests and small programs.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels_builtin.h"

typedef struct mem_run {
    const tes_kernel *k;
    const tes_tile *in;
    int n_in;
    tes_tile *out;
    int tile_w, tile_h, tiles_x;
    unsigned char *partials; /* one per tile */
    char (*msgs)[256];
} mem_run;

/* Fills window w (already allocated, in->type, all bands) from image src
 * at (x0, y0), beyond the edges per the kernel's mode. */
static void fill_window(const tes_kernel *k, const tes_tile *src,
                        tes_tile *w)
{
    size_t sz = tes_sample_size(src->type);
    double fill = src->has_nodata ? src->nodata : k->edge_fill;
    for (int b = 0; b < w->bands; b++)
        for (int y = 0; y < w->height; y++) {
            int64_t sy = w->y0 + y;
            bool out_y = sy < 0 || sy >= src->height;
            int64_t cy = sy < 0 ? 0 : sy >= src->height ? src->height - 1 : sy;
            char *drow = tes_tile_row(w, b, y);
            const char *srow = tes_tile_row(src, b, (int)cy);
            /* the inside span in one copy, the outside pixel by pixel */
            int64_t lo = -w->x0, hi = src->width - w->x0; /* [lo, hi) */
            lo = lo < 0 ? 0 : lo;
            hi = hi > w->width ? w->width : hi;
            if (!out_y && hi > lo)
                memcpy(drow + (size_t)lo * sz,
                       srow + (size_t)(w->x0 + lo) * sz,
                       (size_t)(hi - lo) * sz);
            for (int x = 0; x < w->width; x++) {
                int64_t sx = w->x0 + x;
                bool out = out_y || sx < 0 || sx >= src->width;
                if (!out)
                    continue;
                if (k->edge == TES_EDGE_NODATA) {
                    tes_convert_samples(drow + (size_t)x * sz, src->type,
                                        &fill, TES_F64, 1);
                    continue;
                }
                int64_t cx = sx < 0 ? 0 : sx >= src->width ? src->width - 1
                                                            : sx;
                memcpy(drow + (size_t)x * sz, srow + (size_t)cx * sz, sz);
            }
        }
}

static int run_tile(mem_run *m, int64_t t)
{
    const tes_kernel *k = m->k;
    int tx = (int)(t % m->tiles_x), ty = (int)(t / m->tiles_x);
    int64_t X = (int64_t)tx * m->tile_w, Y = (int64_t)ty * m->tile_h;
    int64_t W = m->in ? m->in[0].width : m->out->width;
    int64_t H = m->in ? m->in[0].height : m->out->height;
    int w = (int)(X + m->tile_w > W ? W - X : m->tile_w);
    int h = (int)(Y + m->tile_h > H ? H - Y : m->tile_h);
    tes_tile win[26];
    tes_tile out;
    int rc = 0;
    memset(win, 0, sizeof win);
    memset(&out, 0, sizeof out);
    for (int i = 0; i < m->n_in && rc == 0; i++) {
        rc = tes_tile_alloc(&win[i], m->in[i].type, w + 2 * k->halo,
                            h + 2 * k->halo, m->in[i].bands);
        if (rc)
            break;
        win[i].x0 = X - k->halo;
        win[i].y0 = Y - k->halo;
        win[i].raster_width = W;
        win[i].raster_height = H;
        win[i].has_nodata = m->in[i].has_nodata;
        win[i].nodata = m->in[i].nodata;
        fill_window(k, &m->in[i], &win[i]);
    }
    if (rc == 0 && k->tile) {
        out = *m->out;
        out.data = tes_tile_row(m->out, 0, (int)Y);
        out.data = (char *)out.data + (size_t)X * tes_sample_size(out.type);
        out.width = w;
        out.height = h;
        out.x0 = X;
        out.y0 = Y;
        out.raster_width = W;
        out.raster_height = H;
    }
    tes_tile_job job;
    memset(&job, 0, sizeof job);
    job.in = win;
    job.n_in = m->n_in;
    job.out = k->tile ? &out : NULL;
    job.arg = k->arg;
    job.tile_index = t;
    job.partial = m->partials ? m->partials + (size_t)t * k->partial_size
                              : NULL;
    if (rc == 0 && k->tile)
        rc = k->tile(&job);
    if (rc == 0 && k->partial) {
        k->partial_init(job.partial, k->arg);
        rc = k->partial(&job);
    }
    if (rc)
        memcpy(m->msgs[t], job.msg, sizeof job.msg);
    for (int i = 0; i < m->n_in; i++)
        tes_tile_free(&win[i]);
    return rc;
}

typedef struct tile_task {
    mem_run *m;
    int64_t t;
    int rc;
} tile_task;

static void *tile_task_fn(void *arg)
{
    tile_task *tt = arg;
    tt->rc = run_tile(tt->m, tt->t);
    return NULL;
}

int tes__kernel_run_memory(tes_pool *pool, const tes_kernel *k,
                           const tes_tile *in, int n_in, tes_tile *out,
                           void *result, int tile_w, int tile_h, char *msg,
                           size_t msg_size)
{
    if (!k || n_in < 0 || n_in > 26 || tile_w <= 0 || tile_h <= 0 ||
        (n_in == 0 && !out) || (k->tile && !out) ||
        (k->partial && !result))
        return -EINVAL;
    int64_t W = n_in ? in[0].width : out->width;
    int64_t H = n_in ? in[0].height : out->height;
    for (int i = 1; i < n_in; i++)
        if (in[i].width != W || in[i].height != H)
            return -EINVAL;
    mem_run m = { k, n_in ? in : NULL, n_in, out, tile_w, tile_h,
                  (int)((W + tile_w - 1) / tile_w), NULL, NULL };
    int64_t n = (int64_t)m.tiles_x * ((H + tile_h - 1) / tile_h);
    m.msgs = calloc((size_t)n, sizeof *m.msgs);
    if (k->partial)
        m.partials = calloc((size_t)n, k->partial_size);
    tile_task *tasks = calloc((size_t)n, sizeof *tasks);
    tes_future **fs = calloc((size_t)n, sizeof *fs);
    int rc = 0;
    if (!m.msgs || !tasks || !fs || (k->partial && !m.partials))
        rc = -ENOMEM;
    for (int64_t t = 0; t < n && rc == 0; t++) {
        tasks[t].m = &m;
        tasks[t].t = t;
        if (pool)
            rc = tes_spawn(&fs[t], pool, tile_task_fn, &tasks[t]);
        else
            tile_task_fn(&tasks[t]);
    }
    for (int64_t t = 0; t < n && fs; t++)
        if (fs[t]) {
            tes_await(fs[t], NULL);
            tes_future_release(fs[t]);
        }
    for (int64_t t = 0; t < n && rc == 0; t++)
        if (tasks[t].rc) {
            rc = tasks[t].rc;
            if (msg)
                snprintf(msg, msg_size, "tile %lld: %s", (long long)t,
                         m.msgs[t]);
        }
    if (rc == 0 && k->partial) {
        k->partial_init(result, k->arg);
        for (int64_t t = 0; t < n; t++)
            k->combine(result, m.partials + (size_t)t * k->partial_size,
                       k->arg);
    }
    free(fs);
    free(tasks);
    free(m.partials);
    free(m.msgs);
    return rc;
}
