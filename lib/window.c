/*
 * window.c — assembling a window of a block source (any rectangle,
 * possibly reaching past the edges) from its decoded blocks, converting to
 * the window's sample type, and filling what lies outside the raster by
 * replication or with nodata. The blocks come through one interface
 * (tes__blocks): from the shared cache in a run, or decoded into a
 * private buffer for tes_raster_read. A window that lies inside one cached
 * block, in its type, is lent without a copy.
 */
#include <stdlib.h>
#include <string.h>

#include "raster_internal.h"

/* ---- the cached path -------------------------------------------------- */

static int cached_get(tes__blocks *b, uint32_t block, const void **data,
                      void **token, tes_raster_error *err)
{
    tes__block *blk = NULL;
    int rc = tes__cache_get(b->cache, b->src, block, &blk, data, err);
    *token = blk;
    return rc;
}

static void cached_put(tes__blocks *b, void *token)
{
    tes__cache_put(b->cache, token);
}

void tes__blocks_cached(tes__blocks *b, tes__source *s, tes__cache *c)
{
    memset(b, 0, sizeof *b);
    b->src = s;
    b->cache = c;
    b->get = cached_get;
    b->put = cached_put;
}

/* ---- the uncached path: one block at a time into b->buf ---------------- */

static int direct_get(tes__blocks *b, uint32_t block, const void **data,
                      void **token, tes_raster_error *err)
{
    *token = NULL;
    *data = b->buf;
    uint64_t bytes_in = 0;
    return b->src->load(b->src, block, b->buf, &bytes_in, err);
}

static void direct_put(tes__blocks *b, void *token)
{
    (void)b;
    (void)token;
}

/* ---- assembly ----------------------------------------------------------- */

static void *px(const tes_tile *t, int b, int64_t x, int64_t y, size_t ss)
{
    return (char *)t->data + ((size_t)b * t->band_stride +
                              (size_t)y * t->stride + (size_t)x) * ss;
}

void tes__window_fill_edges(tes_tile *dst, int64_t cx0, int64_t cx1,
                            int64_t cy0, int64_t cy1, tes_edge_mode edge,
                            double fill)
{
    size_t ss = tes_sample_size(dst->type);
    int w = dst->width, h = dst->height;
    bool empty = cx0 >= cx1 || cy0 >= cy1;
    if (edge == TES_EDGE_NODATA || empty) {
        uint8_t one[8];
        tes_convert_samples(one, dst->type, &fill, TES_F64, 1);
        for (int b = 0; b < dst->bands; b++)
            for (int64_t y = 0; y < h; y++) {
                bool row_in = y >= cy0 && y < cy1 && !empty;
                for (int64_t x = 0; x < w; x++) {
                    if (row_in && x >= cx0 && x < cx1) {
                        x = cx1 - 1;
                        continue;
                    }
                    memcpy(px(dst, b, x, y, ss), one, ss);
                }
            }
        return;
    }
    for (int b = 0; b < dst->bands; b++) {
        for (int64_t y = cy0; y < cy1; y++) {
            const void *l = px(dst, b, cx0, y, ss);
            const void *r = px(dst, b, cx1 - 1, y, ss);
            for (int64_t x = 0; x < cx0; x++)
                memcpy(px(dst, b, x, y, ss), l, ss);
            for (int64_t x = cx1; x < w; x++)
                memcpy(px(dst, b, x, y, ss), r, ss);
        }
        size_t row = (size_t)w * ss;
        for (int64_t y = 0; y < cy0; y++)
            memcpy(px(dst, b, 0, y, ss), px(dst, b, 0, cy0, ss), row);
        for (int64_t y = cy1; y < h; y++)
            memcpy(px(dst, b, 0, y, ss), px(dst, b, 0, cy1 - 1, ss), row);
    }
}

static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }
static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

static int check_dst(const tes__source *s, const tes_tile *dst,
                     tes_raster_error *err)
{
    if (!dst || !dst->data || dst->width <= 0 || dst->height <= 0 ||
        dst->bands != s->bands || !tes_sample_size(dst->type) ||
        dst->stride < (size_t)dst->width ||
        (dst->bands > 1 &&
         dst->band_stride < dst->stride * (size_t)dst->height))
        return tes__err(err, -EINVAL, s->name,
                        "invalid destination tile for a window");
    return 0;
}

int tes__read_window(tes__blocks *src, int64_t x0, int64_t y0, tes_tile *dst,
                     tes_edge_mode edge, double edge_fill,
                     tes_raster_error *err)
{
    const tes__source *s = src->src;
    int rc = check_dst(s, dst, err);
    if (rc)
        return rc;
    size_t ss_in = tes_sample_size(s->type);
    size_t ss = tes_sample_size(dst->type);
    int64_t rx0 = max64(x0, 0), rx1 = min64(x0 + dst->width, s->width);
    int64_t ry0 = max64(y0, 0), ry1 = min64(y0 + dst->height, s->height);
    int64_t bw = s->block_width, bh = s->block_height;

    if (rx0 < rx1 && ry0 < ry1) {
        for (int64_t by = ry0 / bh; by <= (ry1 - 1) / bh; by++)
            for (int64_t bx = rx0 / bw; bx <= (rx1 - 1) / bw; bx++) {
                uint32_t idx = (uint32_t)(by * s->blocks_across + bx);
                const void *data;
                void *token;
                rc = src->get(src, idx, &data, &token, err);
                if (rc)
                    return rc;
                int64_t ix0 = max64(rx0, bx * bw), ix1 = min64(rx1, (bx + 1) * bw);
                int64_t iy0 = max64(ry0, by * bh), iy1 = min64(ry1, (by + 1) * bh);
                size_t n = (size_t)(ix1 - ix0);
                for (int b = 0; b < s->bands; b++)
                    for (int64_t y = iy0; y < iy1; y++) {
                        const char *sp =
                            (const char *)data +
                            ((size_t)b * s->block_plane_samples +
                             (size_t)(y - by * bh) * (size_t)bw +
                             (size_t)(ix0 - bx * bw)) * ss_in;
                        tes_convert_samples(px(dst, b, ix0 - x0, y - y0, ss),
                                            dst->type, sp, s->type, n);
                    }
                src->put(src, token);
            }
    }
    double fill = s->has_nodata ? s->nodata : edge_fill;
    tes__window_fill_edges(dst, rx0 - x0, rx1 - x0, ry0 - y0, ry1 - y0, edge,
                           fill);
    dst->x0 = x0;
    dst->y0 = y0;
    dst->raster_width = s->width;
    dst->raster_height = s->height;
    dst->has_nodata = s->has_nodata;
    dst->nodata = s->nodata;
    return 0;
}

int tes__window_borrow(tes__source *s, tes__cache *c, int64_t x0, int64_t y0,
                       int w, int h, tes_sample_type type, tes_tile *dst,
                       tes__block **held, tes_raster_error *err)
{
    int64_t bw = s->block_width, bh = s->block_height;
    *held = NULL;
    if (!c || type != s->type || w <= 0 || h <= 0 || x0 < 0 || y0 < 0 ||
        x0 + w > s->width || y0 + h > s->height ||
        x0 / bw != (x0 + w - 1) / bw || y0 / bh != (y0 + h - 1) / bh)
        return 1;
    int64_t bx = x0 / bw, by = y0 / bh;
    const void *data;
    int rc = tes__cache_get(c, s, (uint32_t)(by * s->blocks_across + bx), held,
                            &data, err);
    if (rc)
        return rc;
    memset(dst, 0, sizeof *dst);
    /* The kernel only reads its inputs (tes_tile's contract), so the
     * block's buffer is lent as it is. */
    dst->data = (char *)data + ((size_t)(y0 - by * bh) * (size_t)bw +
                                (size_t)(x0 - bx * bw)) * tes_sample_size(type);
    dst->type = type;
    dst->width = w;
    dst->height = h;
    dst->bands = s->bands;
    dst->stride = (size_t)bw;
    dst->band_stride = s->block_plane_samples;
    dst->x0 = x0;
    dst->y0 = y0;
    dst->raster_width = s->width;
    dst->raster_height = s->height;
    dst->has_nodata = s->has_nodata;
    dst->nodata = s->nodata;
    return 0;
}

TES_API int tes_raster_read(tes_raster *r, int64_t x0, int64_t y0,
                            tes_tile *dst, tes_edge_mode edge,
                            double edge_fill, tes_raster_error *err)
{
    if (!r)
        return tes__err(err, -EINVAL, NULL, "no raster");
    tes__blocks b;
    memset(&b, 0, sizeof b);
    b.src = &r->src;
    b.get = direct_get;
    b.put = direct_put;
    int rc = check_dst(&r->src, dst, err);
    if (rc)
        return rc;
    /* a block the header sizes, decoded here, and the borrowed handle's
     * buffers for its stored and compressed forms (as a run's worker's),
     * against the default budget, before any of them is allocated */
    /* relaxed: see tes_raster.read_limit */
    uint64_t limit =
        atomic_load_explicit(&r->read_limit, memory_order_relaxed);
    if (!limit) {
        limit = tes_memory_default();
        atomic_store_explicit(&r->read_limit, limit, memory_order_relaxed);
    }
    tes__mem m = { .n = 0 };
    tes__mem_add(&m, TES__MEM_EACH, 3, tes__source_block_bytes(&r->src),
                 "block buffers", NULL);
    rc = tes__mem_check(&m, limit, r->path, NULL, err);
    if (rc)
        return rc;
    b.buf = malloc(tes__source_block_bytes(&r->src));
    if (!b.buf)
        return tes__err(err, -ENOMEM, r->path, "out of memory");
    rc = tes__read_window(&b, x0, y0, dst, edge, edge_fill, err);
    free(b.buf);
    return rc;
}
