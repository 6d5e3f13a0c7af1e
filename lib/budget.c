/*
 * budget.c — a run's memory budget: its default for this machine, sizes
 * as people write them ("512M"), and the estimate of what a run will
 * allocate, checked before it allocates anything that its inputs'
 * headers or its options make large (tes_raster_run_estimate).
 */
#include <assert.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "raster_internal.h"

TES_API int tes_memory_parse(const char *s, uint64_t *bytes)
{
    if (!s || !bytes)
        return -EINVAL;
    if (strcmp(s, "none") == 0 || strcmp(s, "unlimited") == 0) {
        *bytes = UINT64_MAX;
        return 0;
    }
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || !isfinite(v) || v <= 0 || isspace((unsigned char)*s))
        return -EINVAL;
    double unit = 1;
    switch (toupper((unsigned char)*end)) {
    case 'K': unit = 0x1p10; end++; break;
    case 'M': unit = 0x1p20; end++; break;
    case 'G': unit = 0x1p30; end++; break;
    case 'T': unit = 0x1p40; end++; break;
    default: break;
    }
    if (unit > 1 && (*end == 'i' || *end == 'I'))
        end++; /* "MiB" */
    if (unit > 1 && (*end == 'b' || *end == 'B'))
        end++;
    if (*end || v * unit >= 0x1p63 || v * unit < 1)
        return -EINVAL;
    *bytes = (uint64_t)(v * unit);
    return 0;
}

/* A number from a one-line file, or UINT64_MAX ("max", unreadable). */
static uint64_t read_limit(const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return UINT64_MAX;
    char buf[64];
    uint64_t v = UINT64_MAX;
    if (fgets(buf, sizeof buf, f) && isdigit((unsigned char)buf[0]))
        v = strtoull(buf, NULL, 10);
    fclose(f);
    return v;
}

TES_API uint64_t tes_memory_default(void)
{
    const char *env = getenv("TESSERA_MEMORY");
    uint64_t v;
    if (env && *env && tes_memory_parse(env, &v) == 0)
        return v;
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    uint64_t m = pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page
                                       : (uint64_t)1 << 32;
    /* a container's limit (cgroup v2, then v1), and this process's */
    uint64_t c = read_limit("/sys/fs/cgroup/memory.max");
    if (c == UINT64_MAX)
        c = read_limit("/sys/fs/cgroup/memory/memory.limit_in_bytes");
    if (c < m)
        m = c;
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        (uint64_t)rl.rlim_cur < m)
        m = (uint64_t)rl.rlim_cur;
    if (getrlimit(RLIMIT_DATA, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        (uint64_t)rl.rlim_cur < m)
        m = (uint64_t)rl.rlim_cur;
    /* half: the page cache that streams the inputs, and everyone else */
    return m / 2;
}

void tes__resolve_memory(tes_pipeline_options *po)
{
    if (!po->memory_limit)
        po->memory_limit = tes_memory_default();
    /* the cache's default, 64 MiB, or a quarter of a tighter budget */
    if (!po->cache_bytes) {
        uint64_t c = po->memory_limit / 4;
        c = c < ((uint64_t)1 << 20) ? (uint64_t)1 << 20 : c;
        po->cache_bytes = c < ((uint64_t)64 << 20) ? (size_t)c
                                                   : (size_t)64 << 20;
    }
}

/* "3.3 GB" */
static void fmt_bytes(char *b, size_t n, uint64_t v)
{
    if (v >= 1000000000)
        snprintf(b, n, "%.1f GB", (double)v / 1e9);
    else if (v >= 1000000)
        snprintf(b, n, "%.1f MB", (double)v / 1e6);
    else
        snprintf(b, n, "%.1f kB", (double)v / 1e3);
}

uint64_t tes__mem_mul(uint64_t a, uint64_t b)
{
    return b && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

uint64_t tes__mem_sum(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

void tes__mem_add(tes__mem *m, tes__mem_kind kind, uint64_t count,
                  uint64_t each, const char *what, const char *note)
{
    if (!count || !each)
        return;
    assert(m->n < TES__MEM_PARTS);
    if (m->n >= TES__MEM_PARTS)
        return;
    m->part[m->n++] = (tes__mem_part){ kind, count, each, what, note };
}

static uint64_t part_bytes(const tes__mem_part *p)
{
    return tes__mem_mul(p->count, p->each);
}

uint64_t tes__mem_total(const tes__mem *m)
{
    uint64_t n = 0;
    for (int i = 0; i < m->n; i++)
        n = tes__mem_sum(n, part_bytes(&m->part[i]));
    return n;
}

int tes__mem_check(const tes__mem *m, uint64_t budget, const char *name,
                   uint64_t *need, tes_raster_error *err)
{
    uint64_t n = tes__mem_total(m);
    if (need)
        *need = n;
    if (n <= budget)
        return 0;
    /* name the largest part, which is what to change (the first of
     * equals: the callers add the likelier culprits first) */
    const tes__mem_part *big = &m->part[0];
    for (int i = 1; i < m->n; i++)
        if (part_bytes(&m->part[i]) > part_bytes(big))
            big = &m->part[i];
    char a[32], b[32], c[32], what[200];
    fmt_bytes(a, sizeof a, n);
    fmt_bytes(b, sizeof b, budget);
    fmt_bytes(c, sizeof c, big->each);
    const char *note = big->note ? big->note : "";
    if (big->kind == TES__MEM_EACH)
        snprintf(what, sizeof what, "%llu %s of %s each%s",
                 (unsigned long long)big->count, big->what, c, note);
    else if (big->kind == TES__MEM_PER_WORKER)
        snprintf(what, sizeof what, "%s of %s for each of %llu worker%s%s",
                 big->what, c, (unsigned long long)big->count,
                 big->count == 1 ? "" : "s", note);
    else
        snprintf(what, sizeof what, "%s of %s%s", big->what, c, note);
    return tes__err(err, TES_ETOOBIG, name,
                    "needs about %s of memory (%s), more than the memory "
                    "budget of %s", a, what, b);
}

void tes__pass_mem(const tes__pass *p, tes__mem *m)
{
    const tes_kernel *k = p->k;
    const tes__grid *g = &p->grid;
    uint64_t threads = (uint64_t)tes_pool_threads(p->pool);
    uint64_t K = (p->po->max_in_flight > 0 ? (uint64_t)p->po->max_in_flight
                                           : 2 * threads + 2) +
                 (uint64_t)(p->lookahead > 0 ? p->lookahead : 0);
    /* tiles are never larger than the grid */
    uint64_t tw = (uint64_t)g->tile_width < (uint64_t)g->width
                      ? (uint64_t)g->tile_width
                      : (uint64_t)g->width;
    uint64_t th = (uint64_t)g->tile_height < (uint64_t)g->height
                      ? (uint64_t)g->tile_height
                      : (uint64_t)g->height;
    double rx = g->rx > 0 ? g->rx : 1, ry = g->ry > 0 ? g->ry : 1;
    uint64_t halo = (uint64_t)(g->halo > 0 ? g->halo : 0);
    /* what one tile in flight holds: its input windows (a scaled tile,
     * for overview levels, never wider than the source), its output tile
     * and that tile encoded (at worst as large), its reduction partial */
    uint64_t win = 0, decode = 0, index = 0;
    for (int i = 0; i < p->n_in; i++) {
        const tes__source *s = p->src[i];
        uint64_t wx = tw, wy = th;
        if (rx != 1 || ry != 1) {
            wx = (uint64_t)ceil((double)tw * rx) + 1;
            wy = (uint64_t)ceil((double)th * ry) + 1;
            wx = wx < (uint64_t)s->width ? wx : (uint64_t)s->width;
            wy = wy < (uint64_t)s->height ? wy : (uint64_t)s->height;
        }
        wx += 2 * halo;
        wy += 2 * halo;
        tes_sample_type t = k->in_type ? k->in_type : s->type;
        win = tes__mem_sum(
            win, tes__mem_mul(tes__mem_mul(wx, wy),
                              tes__mem_mul((uint64_t)s->bands,
                                           tes_sample_size(t))));
        /* per worker, a decoded block and its compressed bytes */
        decode = tes__mem_sum(decode,
                              2 * (uint64_t)tes__source_block_bytes(s));
        /* the cache's count of each block's readers (cache.c) */
        index = tes__mem_sum(index, tes__mem_mul((uint64_t)s->blocks_across *
                                                     s->blocks_down,
                                                 sizeof(uint32_t)));
    }
    uint64_t pixel = tes__mem_mul((uint64_t)p->out_bands,
                                  tes_sample_size(p->out_type));
    uint64_t out = p->enc || k->tile ? tes__mem_mul(tw * th, pixel) : 0;
    /* a TIFF tile is encoded whole, however little of it the raster
     * covers */
    uint64_t enc = p->enc ? tes__mem_mul((uint64_t)g->tile_width *
                                             (uint64_t)g->tile_height,
                                         pixel)
                          : 0;
    uint64_t partial = k->reduce ? (uint64_t)k->partial_size : 0;
    uint64_t per_tile = tes__mem_sum(tes__mem_sum(partial, win),
                                     tes__mem_sum(out, enc));
    tes__mem_add(m, TES__MEM_EACH, K, per_tile, "tiles in flight",
                 partial >= win && partial >= out
                     ? ", mostly the kernel's partial result"
                     : NULL);
    tes__mem_add(m, TES__MEM_PER_WORKER, threads, decode,
                 "decoded input blocks", NULL);
    tes__mem_add(m, TES__MEM_ONE, 1,
                 p->po->cache_bytes ? p->po->cache_bytes : (size_t)64 << 20,
                 "the block cache", NULL);
    tes__mem_add(m, TES__MEM_ONE, 1, index, "the inputs' block indexes",
                 NULL);
}

void tes__writer_mem(tes__mem *m, uint64_t chunks, bool reorder)
{
    /* a 4 MiB staging buffer, 16 MiB of tiles held and idle (outfile.c) */
    tes__mem_add(m, TES__MEM_ONE, 1, (uint64_t)20 << 20,
                 "the writer's buffers", NULL);
    /* libtiff's offset and byte count of each TIFF tile, 64 bits each */
    uint64_t per = 16 + (reorder ? TES__STORE_ENTRY_BYTES : 0);
    tes__mem_add(m, TES__MEM_ONE, 1, tes__mem_mul(chunks, per),
                 "the output's tile index", NULL);
}

void tes__mem_merge(tes__mem *m, const tes__mem *add)
{
    for (int i = 0; i < add->n; i++) {
        const tes__mem_part *p = &add->part[i];
        tes__mem_add(m, p->kind, p->count, p->each, p->what, p->note);
    }
}

int tes__run_budget(tes__run *r, uint64_t *need, tes_raster_error *err)
{
    /* the costliest pass (the kernel's, or a COG's level) and what lives
     * through every pass */
    tes__mem work = { .n = 0 }, fixed = { .n = 0 };
    tes__source *src[TES_CACHE_MAX_INPUTS];
    tes__pass p;
    tes__run_pass(r, &p, src);
    tes__pass_mem(&p, &work);
    if (r->out_path) {
        /* tiles may arrive before their turn (pipeline.c's reorder) */
        uint64_t tiles = (uint64_t)((r->width + r->tw - 1) / r->tw) *
                         (uint64_t)((r->height + r->th - 1) / r->th);
        uint64_t chunks = r->enc.planar ? (uint64_t)r->out_bands : 1;
        tes__writer_mem(&fixed, tes__mem_mul(tiles, chunks), true);
        if (r->oo->cog)
            tes__cog_mem(r, &work, &fixed);
    }
    if (r->k->reduce)
        tes__mem_add(&fixed, TES__MEM_ONE, 1, r->k->partial_size,
                     "the reduction's result", NULL);
    tes__mem_add(&fixed, TES__MEM_ONE, 1, r->po->extra_bytes,
                 r->po->extra_name ? r->po->extra_name
                                   : "the caller's buffers",
                 NULL);
    tes__mem_merge(&work, &fixed);
    return tes__mem_check(&work, r->po->memory_limit, r->out_name, need, err);
}

TES_API int tes_raster_run_estimate(tes_pool *pool, const tes_kernel *k,
                                    tes_raster *const *in, int n_in,
                                    const char *out_path,
                                    const tes_raster_create_options *oo,
                                    const tes_pipeline_options *po,
                                    uint64_t *bytes, tes_raster_error *err)
{
    /* the result is not needed yet: any non-NULL pointer passes the
     * check that a reduction has one, and nothing reads it */
    static char no_result;
    tes__run r;
    int rc = tes__run_prepare(&r, pool, k, in, n_in, out_path, oo,
                              &no_result, po, err);
    uint64_t need = 0;
    if (!rc)
        rc = tes__run_budget(&r, &need, err);
    if (bytes)
        *bytes = need;
    return rc;
}
