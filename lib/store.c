/*
 * store.c — encoded tiles kept aside until their turn: tiles computed out
 * of the file's order (column bands), and the levels of a COG or of
 * overviews, which are assembled into the file only when all of them
 * exist. The first mem_limit bytes stay in memory; the rest are appended
 * to an unlinked temporary file beside the output (so that a crash leaves
 * nothing and a full disk is reported as such), and read back with pread.
 */
#include <assert.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "raster_internal.h"

/* Appends collect here before one pwrite. */
#define WBUF_BYTES ((size_t)1 << 20)

typedef struct entry {
    uint64_t off;           /* in the file, when not in memory */
    uint32_t size;
    bool present;
    uint8_t *mem;           /* a copy in memory, or NULL */
} entry;
static_assert(sizeof(entry) <= TES__STORE_ENTRY_BYTES,
              "the memory estimates count TES__STORE_ENTRY_BYTES an entry");

struct tes__store {
    char *dir;              /* where the temporary file goes */
    const char *name;       /* for messages: the output's path */
    int fd;                 /* -1 until the first spill */
    int chunks;             /* per tile */
    int64_t n_tiles;
    entry *e;               /* n_tiles * chunks */
    size_t mem_bytes, mem_limit;
    uint64_t file_end;      /* bytes in the file, wbuf included */
    uint8_t *wbuf;          /* the file's last wlen bytes, not yet written */
    size_t wlen;
    atomic_uint_fast64_t read_bytes; /* relaxed: a statistic */
    uint64_t written_bytes;
};

int tes__store_create(tes__store **out, const char *path, int64_t n_tiles,
                      int chunks, size_t mem_limit, tes_raster_error *err)
{
    tes__store *s = calloc(1, sizeof *s);
    char *copy = path ? strdup(path) : NULL;
    if (!s || !copy || n_tiles < 0 || chunks < 1 ||
        !(s->e = calloc((size_t)(n_tiles ? n_tiles : 1) * (size_t)chunks,
                        sizeof *s->e))) {
        free(copy);
        if (s)
            free(s->e);
        free(s);
        return tes__err(err, -ENOMEM, path, "out of memory");
    }
    char *slash = strrchr(copy, '/');
    if (!slash)
        strcpy(copy, ".");
    else if (slash == copy)
        copy[1] = '\0';
    else
        *slash = '\0';
    s->dir = copy;
    s->name = path;
    s->fd = -1;
    s->chunks = chunks;
    s->n_tiles = n_tiles;
    s->mem_limit = mem_limit;
    atomic_init(&s->read_bytes, 0);
    *out = s;
    return 0;
}

void tes__store_destroy(tes__store *s)
{
    if (!s)
        return;
    for (int64_t i = 0; i < s->n_tiles * s->chunks; i++)
        free(s->e[i].mem);
    if (s->fd >= 0)
        close(s->fd);
    free(s->e);
    free(s->wbuf);
    free(s->dir);
    free(s);
}

/* The temporary file: O_TMPFILE where the filesystem has it, else a
 * named file removed at once. */
static int spill_open(tes__store *s, tes_raster_error *err)
{
    s->fd = open(s->dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (s->fd < 0) {
        size_t n = strlen(s->dir) + 32;
        char *t = malloc(n);
        if (!t)
            return tes__err(err, -ENOMEM, s->name, "out of memory");
        snprintf(t, n, "%s/.tessera-spill-XXXXXX", s->dir);
        s->fd = mkostemp(t, O_CLOEXEC);
        if (s->fd >= 0)
            unlink(t);
        free(t);
    }
    if (s->fd < 0)
        return tes__err(err, -errno, s->name,
                        "cannot create a temporary file beside it: %s",
                        strerror(errno));
    if (!(s->wbuf = malloc(WBUF_BYTES)))
        return tes__err(err, -ENOMEM, s->name, "out of memory");
    return 0;
}

static int wbuf_flush(tes__store *s, tes_raster_error *err)
{
    if (!s->wlen)
        return 0;
    int e = tes__pwrite_all(s->fd, s->wbuf, s->wlen, s->file_end - s->wlen);
    if (e)
        return tes__err(err, -e, s->name,
                        "cannot write the temporary tiles: %s", strerror(e));
    s->written_bytes += s->wlen;
    s->wlen = 0;
    return 0;
}

/* Appends n bytes to the file; returns their offset in *at. */
static int spill(tes__store *s, const uint8_t *p, size_t n, uint64_t *at,
                 tes_raster_error *err)
{
    int rc = s->fd < 0 ? spill_open(s, err) : 0;
    if (rc)
        return rc;
    *at = s->file_end;
    if (s->wlen + n > WBUF_BYTES && (rc = wbuf_flush(s, err)))
        return rc;
    if (n > WBUF_BYTES) { /* big chunks go straight to the file */
        int e = tes__pwrite_all(s->fd, p, n, s->file_end);
        if (e)
            return tes__err(err, -e, s->name,
                            "cannot write the temporary tiles: %s",
                            strerror(e));
        s->written_bytes += n;
    } else {
        memcpy(s->wbuf + s->wlen, p, n);
        s->wlen += n;
    }
    s->file_end += n;
    return 0;
}

int tes__store_put(tes__store *s, int64_t tile, const tes__encoded *enc,
                   tes_raster_error *err)
{
    if (tile < 0 || tile >= s->n_tiles || enc->n != s->chunks)
        return tes__err(err, -EINVAL, s->name, "tile %lld out of range",
                        (long long)tile);
    for (int k = 0; k < s->chunks; k++) {
        entry *e = &s->e[tile * s->chunks + k];
        size_t n = enc->size[k];
        if (n > UINT32_MAX)
            return tes__err(err, -EFBIG, s->name, "a tile of %zu bytes", n);
        e->size = (uint32_t)n;
        if (s->mem_bytes + n <= s->mem_limit) {
            if (!(e->mem = malloc(n ? n : 1)))
                return tes__err(err, -ENOMEM, s->name, "out of memory");
            memcpy(e->mem, enc->data[k], n);
            s->mem_bytes += n;
        } else {
            int rc = spill(s, enc->data[k], n, &e->off, err);
            if (rc)
                return rc;
        }
        e->present = true;
    }
    return 0;
}

bool tes__store_has(const tes__store *s, int64_t tile)
{
    return tile >= 0 && tile < s->n_tiles && s->e[tile * s->chunks].present;
}

int tes__store_flush(tes__store *s, tes_raster_error *err)
{
    return s->fd < 0 ? 0 : wbuf_flush(s, err);
}

int tes__store_get(tes__store *s, int64_t tile, int k, const uint8_t **data,
                   size_t *size, uint8_t **buf, size_t *cap,
                   tes_raster_error *err)
{
    if (!tes__store_has(s, tile) || k < 0 || k >= s->chunks)
        return tes__err(err, -EINVAL, s->name, "tile %lld was not stored",
                        (long long)tile);
    const entry *e = &s->e[tile * s->chunks + k];
    *size = e->size;
    if (e->mem) {
        *data = e->mem;
        return 0;
    }
    if (!(*buf = tes__reserve(*buf, cap, e->size)))
        return tes__err(err, -ENOMEM, s->name, "out of memory");
    /* Bytes still in the write buffer (only the driver thread, which
     * owns wbuf, reads before tes__store_flush). */
    uint64_t flushed = s->file_end - s->wlen;
    size_t in_file = e->off >= flushed           ? 0
                     : e->off + e->size <= flushed ? e->size
                                                   : (size_t)(flushed - e->off);
    int rd = tes__pread_all(s->fd, *buf, in_file, e->off);
    if (rd)
        return tes__err(err, -rd, s->name,
                        "cannot read the temporary tiles back: %s",
                        strerror(rd));
    if (in_file < e->size)
        memcpy(*buf + in_file, s->wbuf + (e->off + in_file - flushed),
               e->size - in_file);
    /* relaxed: a statistic read after the run */
    atomic_fetch_add_explicit(&s->read_bytes, e->size, memory_order_relaxed);
    *data = *buf;
    return 0;
}

void tes__store_drop(tes__store *s, int64_t tile)
{
    for (int k = 0; k < s->chunks; k++) {
        entry *e = &s->e[tile * s->chunks + k];
        if (e->mem) {
            s->mem_bytes -= e->size;
            free(e->mem);
            e->mem = NULL;
        }
    }
}

uint64_t tes__store_spilled(const tes__store *s, uint64_t *read_back)
{
    if (read_back)
        *read_back = atomic_load_explicit(&s->read_bytes,
                                          memory_order_relaxed);
    return s->file_end;
}

uint64_t tes__store_bytes(const tes__store *s, int64_t tile)
{
    uint64_t n = 0;
    for (int k = 0; k < s->chunks; k++)
        n += s->e[tile * s->chunks + k].size;
    return n;
}
