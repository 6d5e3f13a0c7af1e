/*
 * cache.c — the shared cache of decoded blocks of any tes__source. Each
 * block is decoded once, by the first thread that asks for it (through
 * the source's load); others asking meanwhile wait for it. Blocks in use
 * are pinned; the cache counts from the run's tile grid how many windows
 * will read each block and drops a block after its last reader; other
 * unpinned ones sit on an LRU list and are evicted when the cache holds
 * more than its limit.
 */
#include <stdlib.h>
#include <string.h>

#include "raster_internal.h"

enum { LOADING, READY, FAILED };

struct tes__block {
    /* Immutable after insertion: */
    uint64_t source_id;
    uint32_t index;
    size_t bytes;
    /* Guarded by tes__cache.lock: */
    int state;
    int pins;
    int rc;                       /* FAILED: the loader's code */
    char *msg;                    /* FAILED: the loader's message */
    tes__block *hnext;            /* hash chain */
    tes__block *prev, *next;      /* LRU links; only while unpinned */
    bool in_lru;
    /* Written by the loader while LOADING, read-only once READY (the
     * lock's release/acquire orders the two). */
    void *data;
};

#define NBUCKETS 4096
#define SPARE_MAX 16

struct tes__cache {
    pthread_mutex_t lock;  /* protects every field below and the guarded
                              fields of every block. Lock order: no other
                              lock is taken while it is held (decoding and
                              tes_raster.lock happen outside it). */
    pthread_cond_t changed; /* broadcast when a block leaves LOADING */
    size_t limit, used;    /* bytes of all entries, pinned or not */
    tes__block lru;        /* sentinel: lru.next is the least recent */
    tes__block *buckets[NBUCKETS];
    /* Readers still to come per block, per input (set before use; the
     * counts are then guarded by lock). */
    struct {
        uint64_t source_id;
        uint32_t *left;
        uint32_t n;
    } uses[TES_CACHE_MAX_INPUTS];
    int n_uses;
    /* Buffers of dropped blocks kept for the next loads: a block is
     * usually tile-sized, and a fresh one costs a page fault per 4 KiB.
     * At most SPARE_MAX of them, and only while blocks and spares
     * together stay within the limit. */
    struct {
        void *data;
        size_t bytes;
    } spare[SPARE_MAX];
    int n_spare;
    size_t spare_bytes;
    tes__cache_counts counts;
};

/* Blocks this thread decoded (tes__cache_decoded_here). */
static _Thread_local uint64_t decoded_here;

int tes__cache_create(tes__cache **out, size_t limit)
{
    tes__cache *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    int rc = pthread_mutex_init(&c->lock, NULL);
    if (rc) {
        free(c);
        return -rc;
    }
    rc = pthread_cond_init(&c->changed, NULL);
    if (rc) {
        pthread_mutex_destroy(&c->lock);
        free(c);
        return -rc;
    }
    c->limit = limit;
    c->lru.prev = c->lru.next = &c->lru;
    *out = c;
    return 0;
}

static void block_free(tes__block *b)
{
    free(b->data);
    free(b->msg);
    free(b);
}

/* Caller holds c->lock. Frees b, keeping its buffer as a spare if there
 * is room. */
static void block_drop(tes__cache *c, tes__block *b)
{
    if (b->data && c->n_spare < SPARE_MAX &&
        c->used + c->spare_bytes + b->bytes <= c->limit) {
        c->spare[c->n_spare].data = b->data;
        c->spare[c->n_spare].bytes = b->bytes;
        c->n_spare++;
        c->spare_bytes += b->bytes;
        b->data = NULL;
    }
    block_free(b);
}

/* Caller holds c->lock. A spare buffer of exactly `bytes`, or NULL. */
static void *spare_take(tes__cache *c, size_t bytes)
{
    for (int i = c->n_spare - 1; i >= 0; i--)
        if (c->spare[i].bytes == bytes) {
            void *p = c->spare[i].data;
            c->spare[i] = c->spare[--c->n_spare];
            c->spare_bytes -= bytes;
            return p;
        }
    return NULL;
}

int tes__cache_plan(tes__cache *c, const tes__source *s, const tes__grid *g)
{
    if (c->n_uses >= TES_CACHE_MAX_INPUTS)
        return -EINVAL;
    uint32_t n = s->blocks_across * s->blocks_down;
    uint32_t *left = calloc(n ? n : 1, sizeof *left);
    if (!left)
        return -ENOMEM;
    int64_t bw = s->block_width, bh = s->block_height;
    int64_t across = (g->width + g->tile_width - 1) / g->tile_width;
    int64_t down = (g->height + g->tile_height - 1) / g->tile_height;
    for (int64_t ty = 0; ty < down; ty++)
        for (int64_t tx = 0; tx < across; tx++) {
            if (g->owns && !g->owns(g->owns_ctx, ty * across + tx))
                continue; /* another process reads for it */
            int64_t x0, y0, x1, y1, wx0, wy0, wx1, wy1;
            tes__grid_tile(g, tx, ty, &x0, &y0, &x1, &y1, &wx0, &wy0, &wx1,
                           &wy1);
            wx0 = wx0 < 0 ? 0 : wx0;
            wy0 = wy0 < 0 ? 0 : wy0;
            wx1 = wx1 > s->width ? s->width : wx1;
            wy1 = wy1 > s->height ? s->height : wy1;
            for (int64_t by = wy0 / bh; by <= (wy1 - 1) / bh; by++)
                for (int64_t bx = wx0 / bw; bx <= (wx1 - 1) / bw; bx++) {
                    uint32_t *u = &left[by * s->blocks_across + bx];
                    if (*u < UINT32_MAX)
                        (*u)++;
                }
        }
    c->uses[c->n_uses].source_id = s->id;
    c->uses[c->n_uses].left = left;
    c->uses[c->n_uses].n = n;
    c->n_uses++;
    return 0;
}

/* Caller holds c->lock. Counts one reader of b done; true when it was the
 * last one expected. */
static bool last_reader(tes__cache *c, const tes__block *b)
{
    for (int i = 0; i < c->n_uses; i++)
        if (c->uses[i].source_id == b->source_id) {
            if (b->index >= c->uses[i].n || c->uses[i].left[b->index] == 0)
                return false;
            return --c->uses[i].left[b->index] == 0;
        }
    return false;
}

void tes__cache_destroy(tes__cache *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->n_uses; i++)
        free(c->uses[i].left);
    for (int i = 0; i < c->n_spare; i++)
        free(c->spare[i].data);
    for (size_t i = 0; i < NBUCKETS; i++)
        for (tes__block *b = c->buckets[i], *n; b; b = n) {
            n = b->hnext;
            block_free(b);
        }
    pthread_cond_destroy(&c->changed);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static size_t bucket(uint64_t id, uint32_t index)
{
    uint64_t h = (id * 0x9E3779B97F4A7C15ull) ^ (index * 0xC2B2AE3D27D4EB4Full);
    return (size_t)((h ^ (h >> 29)) % NBUCKETS);
}

/* Caller holds c->lock. */
static void lru_unlink(tes__block *b)
{
    if (!b->in_lru)
        return;
    b->prev->next = b->next;
    b->next->prev = b->prev;
    b->in_lru = false;
}

/* Caller holds c->lock. */
static void unhash(tes__cache *c, tes__block *b)
{
    tes__block **p = &c->buckets[bucket(b->source_id, b->index)];
    while (*p != b)
        p = &(*p)->hnext;
    *p = b->hnext;
    c->used -= b->bytes;
}

/* Caller holds c->lock. Frees spare buffers, then drops least-recent
 * unpinned blocks, while over the limit; pinned ones may keep the cache
 * above it for a while. */
static void evict(tes__cache *c)
{
    while (c->used + c->spare_bytes > c->limit && c->n_spare) {
        c->n_spare--;
        c->spare_bytes -= c->spare[c->n_spare].bytes;
        free(c->spare[c->n_spare].data);
    }
    while (c->used > c->limit && c->lru.next != &c->lru) {
        tes__block *b = c->lru.next;
        lru_unlink(b);
        unhash(c, b);
        block_drop(c, b);
    }
}

static int load(tes__source *s, tes__block *b, uint64_t *bytes_in,
                tes_raster_error *err)
{
    if (!b->data)
        b->data = malloc(b->bytes);
    if (!b->data)
        return tes__err(err, -ENOMEM, s->name, "out of memory");
    return s->load(s, b->index, b->data, bytes_in, err);
}

int tes__cache_get(tes__cache *c, tes__source *s, uint32_t index,
                   tes__block **out, const void **data, tes_raster_error *err)
{
    pthread_mutex_lock(&c->lock);
    tes__block *b = c->buckets[bucket(s->id, index)];
    while (b && (b->source_id != s->id || b->index != index))
        b = b->hnext;
    if (b) {
        lru_unlink(b);
        b->pins++;
        while (b->state == LOADING)
            pthread_cond_wait(&c->changed, &c->lock);
        if (b->state == FAILED) {
            int rc = b->rc;
            if (err) {
                err->code = rc;
                snprintf(err->message, sizeof err->message, "%s",
                         b->msg ? b->msg : "block failed to decode");
            }
            pthread_mutex_unlock(&c->lock);
            tes__cache_put(c, b);
            return rc;
        }
        c->counts.hits++;
        pthread_mutex_unlock(&c->lock);
        *out = b;
        *data = b->data;
        return 0;
    }
    b = calloc(1, sizeof *b);
    if (!b) {
        pthread_mutex_unlock(&c->lock);
        return tes__err(err, -ENOMEM, s->name, "out of memory");
    }
    b->source_id = s->id;
    b->index = index;
    b->bytes = tes__source_block_bytes(s);
    b->data = spare_take(c, b->bytes);
    b->state = LOADING;
    b->pins = 1;
    size_t k = bucket(s->id, index);
    b->hnext = c->buckets[k];
    c->buckets[k] = b;
    c->used += b->bytes;
    evict(c);
    pthread_mutex_unlock(&c->lock);

    tes_raster_error local;
    uint64_t bytes_in = 0;
    int rc = load(s, b, &bytes_in, &local);
    decoded_here++;

    pthread_mutex_lock(&c->lock);
    c->counts.decoded++;
    c->counts.bytes_in += bytes_in;
    if (rc) {
        b->state = FAILED;
        b->rc = rc;
        b->msg = strdup(local.message);
        free(b->data);
        b->data = NULL;
        if (err)
            *err = local;
    } else {
        b->state = READY;
    }
    pthread_cond_broadcast(&c->changed);
    pthread_mutex_unlock(&c->lock);
    if (rc) {
        tes__cache_put(c, b);
        return rc;
    }
    *out = b;
    *data = b->data;
    return 0;
}

void tes__cache_counts_get(tes__cache *c, tes__cache_counts *n)
{
    pthread_mutex_lock(&c->lock);
    *n = c->counts;
    pthread_mutex_unlock(&c->lock);
}

uint64_t tes__cache_decoded_here(void)
{
    return decoded_here;
}

void tes__cache_put(tes__cache *c, tes__block *b)
{
    if (!b)
        return;
    pthread_mutex_lock(&c->lock);
    bool done = b->state == READY && last_reader(c, b);
    if (--b->pins == 0) {
        if (b->state == FAILED || done) {
            unhash(c, b);
            block_drop(c, b);
        } else {
            b->prev = c->lru.prev;
            b->next = &c->lru;
            c->lru.prev->next = b;
            c->lru.prev = b;
            b->in_lru = true;
            evict(c);
        }
    }
    pthread_mutex_unlock(&c->lock);
}
