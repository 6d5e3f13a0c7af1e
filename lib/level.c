/*
 * level.c — a raster level kept in a tile store (the full resolution of a
 * COG, an overview level) read back as a block source: each stored tile
 * is a block, its chunks decoded with decode.c's codecs (the tiles are
 * our own encoder's) and de-interleaved into band planes. Loads run on
 * any thread, each with decoding state borrowed from a small pool.
 */
#include <stdlib.h>
#include <string.h>

#include "raster_internal.h"

/* One loader's reusable state. */
typedef struct scratch {
    tes__codecs cx;
    uint8_t *raw;           /* a chunk read back from the store's file */
    size_t raw_cap;
    uint8_t *px;            /* a decoded interleaved chunk */
    size_t px_cap;
    struct scratch *next;
} scratch;

struct tes__level {
    tes__source src;        /* first member: load's s is the level */
    tes__store *store;
    tes__enc_params enc;
    pthread_mutex_t lock;   /* protects free_scratch; taken alone */
    scratch *free_scratch;
};

static const int codec_of[] = { COMPRESSION_NONE, COMPRESSION_ADOBE_DEFLATE,
                                COMPRESSION_LZW, COMPRESSION_ZSTD };

static scratch *scratch_get(tes__level *l)
{
    pthread_mutex_lock(&l->lock);
    scratch *s = l->free_scratch;
    if (s)
        l->free_scratch = s->next;
    pthread_mutex_unlock(&l->lock);
    return s ? s : calloc(1, sizeof *s);
}

static void scratch_put(tes__level *l, scratch *s)
{
    pthread_mutex_lock(&l->lock);
    s->next = l->free_scratch;
    l->free_scratch = s;
    pthread_mutex_unlock(&l->lock);
}

static void scratch_free(scratch *s)
{
    tes__codecs_free(&s->cx);
    free(s->raw);
    free(s->px);
    free(s);
}

static int level_load(tes__source *src, uint32_t block, void *dst,
                      uint64_t *bytes_in, tes_raster_error *err)
{
    tes__level *l = (tes__level *)src;
    const tes__enc_params *e = &l->enc;
    scratch *s = scratch_get(l);
    if (!s)
        return tes__err(err, -ENOMEM, src->name, "out of memory");
    size_t ss = tes_sample_size(e->type);
    int chunks = e->planar ? e->bands : 1;
    size_t spp = e->planar ? 1 : (size_t)e->bands;
    size_t plane = src->block_plane_samples;
    size_t want = plane * spp * ss;
    int rc = 0;
    for (int k = 0; k < chunks && !rc; k++) {
        const uint8_t *data;
        size_t n;
        rc = tes__store_get(l->store, block, k, &data, &n, &s->raw,
                            &s->raw_cap, err);
        if (rc)
            break;
        *bytes_in += n;
        /* one band decodes into its plane; bands together need a
         * de-interleave */
        uint8_t *out = (uint8_t *)dst + (size_t)k * plane * ss;
        if (spp > 1) {
            if (!(s->px = tes__reserve(s->px, &s->px_cap, want))) {
                rc = tes__err(err, -ENOMEM, src->name, "out of memory");
                break;
            }
            out = s->px;
        }
        int d = tes__decode_chunk(&s->cx, codec_of[e->compress],
                                  e->predictor, data, n, out, want,
                                  (size_t)e->tile_height, spp, ss);
        if (d) {
            rc = tes__err(err, d < 0 ? d : TES_ECORRUPT, src->name,
                          "tile %u of a temporary level does not decode",
                          block);
            break;
        }
        if (spp > 1)
            for (size_t i = 0; i < plane; i++)
                for (size_t b = 0; b < spp; b++)
                    memcpy((uint8_t *)dst + (b * plane + i) * ss,
                           s->px + (i * spp + b) * ss, ss);
    }
    scratch_put(l, s);
    return rc;
}

int tes__level_create(tes__level **out, tes__store *store,
                      const tes__enc_params *enc, int64_t width,
                      int64_t height, bool has_nodata, double nodata,
                      const char *name, tes_raster_error *err)
{
    tes__level *l = calloc(1, sizeof *l);
    if (!l || pthread_mutex_init(&l->lock, NULL)) {
        free(l);
        return tes__err(err, -ENOMEM, name, "out of memory");
    }
    l->store = store;
    l->enc = *enc;
    tes__source *s = &l->src;
    s->id = tes__source_new_id();
    s->name = name;
    s->width = width;
    s->height = height;
    s->bands = enc->bands;
    s->type = enc->type;
    s->block_width = enc->tile_width;
    s->block_height = enc->tile_height;
    s->blocks_across = (uint32_t)((width + enc->tile_width - 1) /
                                  enc->tile_width);
    s->blocks_down = (uint32_t)((height + enc->tile_height - 1) /
                                enc->tile_height);
    s->block_plane_samples = (size_t)enc->tile_width *
                             (size_t)enc->tile_height;
    s->has_nodata = has_nodata;
    s->nodata = nodata;
    s->load = level_load;
    *out = l;
    return 0;
}

tes__source *tes__level_source(tes__level *l)
{
    return &l->src;
}

void tes__level_destroy(tes__level *l)
{
    if (!l)
        return;
    for (scratch *s = l->free_scratch, *n; s; s = n) {
        n = s->next;
        scratch_free(s);
    }
    pthread_mutex_destroy(&l->lock);
    free(l);
}
