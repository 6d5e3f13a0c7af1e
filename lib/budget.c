/*
 * budget.c — a run's memory budget: its default for this machine, sizes
 * as people write them ("512M"), and the estimate of what a run will
 * allocate, checked before it allocates anything that its inputs'
 * headers or its options make large (tes_raster_run_estimate).
 */
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

/* a * b, saturating */
static uint64_t mul(uint64_t a, uint64_t b)
{
    return b && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

static uint64_t add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

int tes__run_budget(const tes__run *r, uint64_t *need, tes_raster_error *err)
{
    const tes_kernel *k = r->k;
    uint64_t threads = (uint64_t)tes_pool_threads(r->pool);
    uint64_t K = r->po->max_in_flight > 0 ? (uint64_t)r->po->max_in_flight
                                          : 2 * threads + 2;
    /* what one tile in flight holds: its reduction partial, its input
     * windows, its output tile and that tile encoded (at worst as large) */
    uint64_t partial = k->partial ? (uint64_t)k->partial_size : 0;
    uint64_t win = 0;
    /* tiles are never larger than the raster */
    uint64_t tw = (uint64_t)r->tw < (uint64_t)r->width ? (uint64_t)r->tw
                                                       : (uint64_t)r->width;
    uint64_t th = (uint64_t)r->th < (uint64_t)r->height ? (uint64_t)r->th
                                                        : (uint64_t)r->height;
    uint64_t halo = (uint64_t)(k->halo > 0 ? k->halo : 0);
    uint64_t wx = tw + 2 * halo, wy = th + 2 * halo;
    uint64_t decode = 0;
    for (int i = 0; i < r->n_in; i++) {
        const tes__source *s = &r->in[i]->src;
        tes_sample_type t = k->in_type ? k->in_type : s->type;
        win = add(win, mul(mul(wx, wy),
                           mul((uint64_t)s->bands, tes_sample_size(t))));
        /* per worker, a decoded block and its compressed bytes */
        decode = add(decode, mul(2 * threads, tes__source_block_bytes(s)));
    }
    uint64_t out = r->out_path || k->tile
                       ? mul(mul(tw, th),
                             mul((uint64_t)r->out_bands,
                                 tes_sample_size(r->out_type)))
                       : 0;
    uint64_t per_tile = add(add(partial, win), mul(out, r->out_path ? 2 : 1));
    uint64_t cache = r->po->cache_bytes; /* resolved */
    /* the writer: a 4 MiB staging buffer, 16 MiB of tiles held and idle
     * (outfile.c) */
    uint64_t fixed = r->out_path ? (uint64_t)20 << 20 : 0;
    uint64_t tiles = mul(K, per_tile);
    uint64_t n = add(add(add(tiles, decode), add(cache, fixed)), partial);
    *need = n;
    uint64_t budget = r->po->memory_limit; /* resolved */
    if (n <= budget)
        return 0;
    char a[32], b[32], c[32], what[160];
    fmt_bytes(a, sizeof a, n);
    fmt_bytes(b, sizeof b, budget);
    /* name the largest part, which is what to change */
    if (tiles >= decode && tiles >= cache && tiles >= fixed) {
        fmt_bytes(c, sizeof c, per_tile);
        snprintf(what, sizeof what, "%llu tiles in flight of %s each%s",
                 (unsigned long long)K, c,
                 partial >= win && partial >= out
                     ? ", mostly the kernel's partial result"
                     : "");
    } else if (decode >= cache && decode >= fixed) {
        fmt_bytes(c, sizeof c, decode / (2 * threads));
        snprintf(what, sizeof what, "decoded input blocks of %s for each of "
                 "%llu workers", c, (unsigned long long)threads);
    } else {
        fmt_bytes(c, sizeof c, cache >= fixed ? cache : fixed);
        snprintf(what, sizeof what, "%s of %s",
                 cache >= fixed ? "the block cache" : "the writer's buffers",
                 c);
    }
    return tes__err(err, TES_ETOOBIG, r->out_name,
                    "needs about %s of memory (%s), more than the memory "
                    "budget of %s", a, what, b);
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
