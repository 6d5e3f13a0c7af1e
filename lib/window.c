/*
 * window.c — assembling a window of a raster (any rectangle, possibly
 * reaching past the edges) from its decoded blocks, converting to the
 * window's sample type, and filling what lies outside the raster by
 * replication or with nodata. Blocks come from the shared cache in a
 * pipeline, or are decoded directly for tes_raster_read. A window that
 * lies inside one cached block, in its type, is lent without a copy.
 */
#include <stdlib.h>
#include <string.h>

#include "raster_internal.h"

typedef struct block_src {
    tes_raster *r;
    tes__cache *cache;  /* NULL: decode with h into buf */
    tes__tiff *h;
    void *buf;
} block_src;

static int src_get(block_src *s, uint32_t index, tes__block **b,
                   const void **data, tes_raster_error *err)
{
    if (s->cache)
        return tes__cache_get(s->cache, s->r, index, b, data, err);
    *b = NULL;
    int rc = tes__raster_read_block(s->r, s->h, index, s->buf, err);
    *data = s->buf;
    return rc;
}

static void src_put(block_src *s, tes__block *b)
{
    if (s->cache)
        tes__cache_put(s->cache, b);
}

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

static int assemble(block_src *s, int64_t x0, int64_t y0, tes_tile *dst,
                    tes_edge_mode edge, double edge_fill,
                    tes_raster_error *err)
{
    tes_raster *r = s->r;
    const tes_raster_info *in = &r->info;
    size_t ss_in = tes_sample_size(in->type);
    size_t ss = tes_sample_size(dst->type);
    int64_t rx0 = max64(x0, 0), rx1 = min64(x0 + dst->width, in->width);
    int64_t ry0 = max64(y0, 0), ry1 = min64(y0 + dst->height, in->height);
    int64_t bw = in->block_width, bh = in->block_height;

    if (rx0 < rx1 && ry0 < ry1) {
        for (int64_t by = ry0 / bh; by <= (ry1 - 1) / bh; by++)
            for (int64_t bx = rx0 / bw; bx <= (rx1 - 1) / bw; bx++) {
                uint32_t idx = (uint32_t)(by * r->blocks_across + bx);
                tes__block *blk;
                const void *data;
                int rc = src_get(s, idx, &blk, &data, err);
                if (rc)
                    return rc;
                int64_t ix0 = max64(rx0, bx * bw), ix1 = min64(rx1, (bx + 1) * bw);
                int64_t iy0 = max64(ry0, by * bh), iy1 = min64(ry1, (by + 1) * bh);
                size_t n = (size_t)(ix1 - ix0);
                for (int b = 0; b < in->bands; b++)
                    for (int64_t y = iy0; y < iy1; y++) {
                        const char *sp =
                            (const char *)data +
                            ((size_t)b * r->block_plane_samples +
                             (size_t)(y - by * bh) * (size_t)bw +
                             (size_t)(ix0 - bx * bw)) * ss_in;
                        tes_convert_samples(px(dst, b, ix0 - x0, y - y0, ss),
                                            dst->type, sp, in->type, n);
                    }
                src_put(s, blk);
            }
    }
    double fill = in->has_nodata ? in->nodata : edge_fill;
    tes__window_fill_edges(dst, rx0 - x0, rx1 - x0, ry0 - y0, ry1 - y0, edge,
                           fill);
    dst->x0 = x0;
    dst->y0 = y0;
    dst->raster_width = in->width;
    dst->raster_height = in->height;
    dst->has_nodata = in->has_nodata;
    dst->nodata = in->nodata;
    return 0;
}

int tes__window_borrow(tes_raster *r, tes__cache *c, int64_t x0, int64_t y0,
                       int w, int h, tes_sample_type type, tes_tile *dst,
                       tes__block **held, tes_raster_error *err)
{
    const tes_raster_info *in = &r->info;
    int64_t bw = in->block_width, bh = in->block_height;
    *held = NULL;
    if (!c || type != in->type || w <= 0 || h <= 0 || x0 < 0 || y0 < 0 ||
        x0 + w > in->width || y0 + h > in->height ||
        x0 / bw != (x0 + w - 1) / bw || y0 / bh != (y0 + h - 1) / bh)
        return 1;
    int64_t bx = x0 / bw, by = y0 / bh;
    const void *data;
    int rc = tes__cache_get(c, r, (uint32_t)(by * r->blocks_across + bx), held,
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
    dst->bands = in->bands;
    dst->stride = (size_t)bw;
    dst->band_stride = r->block_plane_samples;
    dst->x0 = x0;
    dst->y0 = y0;
    dst->raster_width = in->width;
    dst->raster_height = in->height;
    dst->has_nodata = in->has_nodata;
    dst->nodata = in->nodata;
    return 0;
}

static int check_dst(tes_raster *r, const tes_tile *dst,
                     tes_raster_error *err)
{
    if (!dst || !dst->data || dst->width <= 0 || dst->height <= 0 ||
        dst->bands != r->info.bands || !tes_sample_size(dst->type) ||
        dst->stride < (size_t)dst->width ||
        (dst->bands > 1 &&
         dst->band_stride < dst->stride * (size_t)dst->height))
        return tes__err(err, -EINVAL, r->path,
                        "invalid destination tile for a window");
    return 0;
}

int tes__read_window(tes_raster *r, tes__cache *c, int64_t x0, int64_t y0,
                     tes_tile *dst, tes_edge_mode edge, double edge_fill,
                     tes_raster_error *err)
{
    int rc = check_dst(r, dst, err);
    if (rc)
        return rc;
    block_src s = { r, c, NULL, NULL };
    if (c)
        return assemble(&s, x0, y0, dst, edge, edge_fill, err);
    rc = tes__raster_handle_get(r, &s.h, err);
    if (rc)
        return rc;
    s.buf = malloc(tes__raster_block_bytes(r));
    if (!s.buf)
        rc = tes__err(err, -ENOMEM, r->path, "out of memory");
    else
        rc = assemble(&s, x0, y0, dst, edge, edge_fill, err);
    free(s.buf);
    tes__raster_handle_put(r, s.h);
    return rc;
}

TES_API int tes_raster_read(tes_raster *r, int64_t x0, int64_t y0,
                            tes_tile *dst, tes_edge_mode edge,
                            double edge_fill, tes_raster_error *err)
{
    if (!r)
        return tes__err(err, -EINVAL, NULL, "no raster");
    return tes__read_window(r, NULL, x0, y0, dst, edge, edge_fill, err);
}
