/*
 * outfile.c — the output file under libtiff: libtiff's reads, writes and
 * seeks on an output land here (TIFFClientOpen), not on the descriptor.
 * Appends collect in an aligned staging buffer whose whole blocks go to
 * the file with O_DIRECT, past the page cache, and aligned tile buffers go
 * straight from the caller's memory: a run's output costs neither a copy
 * into the cache nor the writeback after it, and does not evict the
 * inputs. Where the filesystem refuses O_DIRECT (or TESSERA_DIRECT_IO=0)
 * the same blocks go through the cache.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "raster_internal.h"

/* Staging buffer. Its whole blocks are written once it holds DRAIN_BYTES:
 * big enough that a direct write is worth its wait, small enough that the
 * writer's thread, blocked meanwhile, does not leave the workers without
 * tiles (1 MiB takes under half a millisecond at disk speed). */
#define STAGE_BYTES ((size_t)4 << 20)
#define DRAIN_BYTES ((size_t)1 << 20)

/* Kept tile buffers (see hold), and written ones waiting to be handed
 * back, each at most this many bytes, so that the memory a run uses still
 * does not depend on the raster's size. */
#define HOLD_BYTES ((size_t)8 << 20)

/* Buffered mode: start writeback every this many bytes, so that the final
 * fsync has little left to do and dirty pages do not pile up. */
#define WRITEBACK_STEP ((uint64_t)32 << 20)

static bool direct_wanted(void)
{
    const char *v = getenv("TESSERA_DIRECT_IO");
    return !(v && v[0] == '0' && v[1] == '\0');
}

int tes__outfile_init(tes__outfile *o, int fd)
{
    memset(o, 0, sizeof *o);
    o->fd = fd;
    o->dfd = -1;
    void *p = NULL;
    if (posix_memalign(&p, TES_IO_ALIGN, STAGE_BYTES))
        return -ENOMEM;
    o->stage = p;
    o->cap = STAGE_BYTES;
    if (direct_wanted()) {
        /* A second open file description of the same inode: O_DIRECT
         * applies to the whole description, and the unaligned bits
         * (header patches, the tail) need a buffered one. Reopening via
         * /proc cannot pick up another file the way the path could. */
        char self[64];
        snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
        /* Fails (and the file is written through the cache) where the
         * filesystem has no O_DIRECT, or where the umask left the file
         * without write permission for its owner. */
        o->dfd = open(self, O_WRONLY | O_DIRECT | O_CLOEXEC);
    }
    return 0;
}

void tes__outfile_free(tes__outfile *o)
{
    if (o->dfd >= 0)
        close(o->dfd);
    o->dfd = -1;
    free(o->stage);
    o->stage = NULL;
    for (int i = 0; i < o->n_held; i++)
        free(o->held[i].data);
    for (int i = 0; i < o->n_idle; i++)
        free(o->idle[i].data);
    o->n_held = o->n_idle = 0;
    o->held_bytes = o->idle_bytes = 0;
}

int tes__pwrite_all(int fd, const void *buf, size_t n, uint64_t at)
{
    const uint8_t *p = buf;
    while (n) {
        ssize_t k = pwrite(fd, p, n, (off_t)at);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return k < 0 ? errno : EIO;
        p += k;
        n -= (size_t)k;
        at += (uint64_t)k;
    }
    return 0;
}

int tes__pread_all(int fd, void *buf, size_t n, uint64_t at)
{
    uint8_t *p = buf;
    while (n) {
        ssize_t k = pread(fd, p, n, (off_t)at);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return k < 0 ? errno : EIO;
        p += k;
        n -= (size_t)k;
        at += (uint64_t)k;
    }
    return 0;
}

/* Writes n bytes at `at`, which the caller keeps aligned (address, offset,
 * size) while dfd is open. A filesystem that takes O_DIRECT at open but
 * refuses the write itself (EINVAL, EOPNOTSUPP), or a short write, sends
 * the rest through the page cache for good; any other error (a full disk,
 * a device error) is returned as it is. Returns 0 or an errno value. */
static int write_blocks(tes__outfile *o, const uint8_t *p, size_t n,
                        uint64_t at)
{
    while (o->dfd >= 0 && n) {
        ssize_t k = pwrite(o->dfd, p, n, (off_t)at);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && errno != EINVAL && errno != EOPNOTSUPP)
            return errno;
        if (k > 0) {
            p += k;
            n -= (size_t)k;
            at += (uint64_t)k;
        }
        if (k <= 0 || (size_t)k % TES_IO_ALIGN) { /* refused, or short */
            close(o->dfd);
            o->dfd = -1;
        }
    }
    if (!n)
        return 0;
    int e = tes__pwrite_all(o->fd, p, n, at);
    if (!e && at + n - o->kicked >= WRITEBACK_STEP) {
        /* Asynchronous and advisory: errors show up at fsync. */
        (void)sync_file_range(o->fd, (off_t)o->kicked, 0,
                              SYNC_FILE_RANGE_WRITE);
        o->kicked = at + n;
    }
    return e;
}

/* Writes the held tile buffers, which lie end to end before `flushed`,
 * in one call; then keeps them as idle buffers for tes__outfile_give, up
 * to HOLD_BYTES, and frees the rest. */
static int release_held(tes__outfile *o)
{
    if (!o->n_held)
        return 0;
    struct iovec v[TES_OUTFILE_HOLD];
    uint64_t at = o->flushed, total = 0;
    for (int i = 0; i < o->n_held; i++) {
        v[i].iov_base = o->held[i].data;
        v[i].iov_len = o->held[i].size;
        total += o->held[i].size;
    }
    at -= total;
    ssize_t done = -1;
    if (o->dfd >= 0)
        do
            done = pwritev(o->dfd, v, o->n_held, (off_t)at);
        while (done < 0 && errno == EINTR);
    /* Short or refused: the rest one buffer at a time, which falls back
     * to the page cache as write_blocks does. Any other error stands. */
    uint64_t skip = done > 0 ? (uint64_t)done : 0;
    int e = done < 0 && o->dfd >= 0 && errno != EINVAL && errno != EOPNOTSUPP
                ? errno
                : 0;
    for (int i = 0; i < o->n_held && !e; i++) {
        size_t n = o->held[i].size;
        if (skip >= n) {
            skip -= n;
        } else {
            e = write_blocks(o, o->held[i].data + skip, n - (size_t)skip,
                             at + skip);
            skip = 0;
        }
        at += n;
    }
    for (int i = 0; i < o->n_held; i++) {
        if (o->n_idle < TES_OUTFILE_HOLD &&
            o->idle_bytes + o->held[i].cap <= HOLD_BYTES) {
            o->idle[o->n_idle].data = o->held[i].data;
            o->idle[o->n_idle].cap = o->held[i].cap;
            o->idle_bytes += o->held[i].cap;
            o->n_idle++;
        } else {
            free(o->held[i].data);
        }
    }
    o->n_held = 0;
    o->held_bytes = 0;
    return e;
}

/* Writes the staged bytes: the whole blocks and keeps the rest, or with
 * `all` everything, the unaligned tail through the cache. */
static int drain(tes__outfile *o, bool all)
{
    size_t n = all ? o->len : o->len - o->len % TES_IO_ALIGN;
    size_t whole = n - n % TES_IO_ALIGN;
    int e = write_blocks(o, o->stage, whole, o->flushed);
    if (!e && n > whole)
        e = tes__pwrite_all(o->fd, o->stage + whole, n - whole,
                       o->flushed + whole);
    if (e)
        return e;
    memmove(o->stage, o->stage + n, o->len - n);
    o->len -= n;
    o->flushed += n;
    return 0;
}

/* Puts n bytes of src (zeros when src is NULL) at `at` >= flushed,
 * zero-filling any gap after the staged bytes. */
static int stage(tes__outfile *o, uint64_t at, const uint8_t *src, size_t n)
{
    while (n) {
        uint64_t rel = at - o->flushed;
        if (rel > o->len) { /* a gap: zeros up to `at`, or the whole buffer */
            size_t z = rel < o->cap ? (size_t)rel : o->cap;
            memset(o->stage + o->len, 0, z - o->len);
            o->len = z;
        }
        if (o->len == o->cap) {
            int e = drain(o, false);
            if (e)
                return e;
            continue;
        }
        size_t k = o->cap - (size_t)rel < n ? o->cap - (size_t)rel : n;
        if (src) {
            memcpy(o->stage + rel, src, k);
            src += k;
        } else {
            memset(o->stage + rel, 0, k);
        }
        if (rel + k > o->len)
            o->len = (size_t)rel + k;
        at += k;
        n -= k;
        if (o->len >= DRAIN_BYTES && at == o->flushed + o->len) {
            int e = drain(o, false);
            if (e)
                return e;
        }
    }
    return 0;
}

/* Keeps the caller's buffer p of n bytes, to be written with the next
 * ones in one call: a tile appended right after the last, on a block,
 * while the writer can give the buffer up (o->may_hold), as long as the
 * kept buffers stay within HOLD_BYTES. */
static bool hold(tes__outfile *o, const uint8_t *p, size_t n)
{
    if (!o->may_hold || o->dfd < 0 || o->len || o->pos != o->flushed ||
        !n || n % TES_IO_ALIGN || o->flushed % TES_IO_ALIGN ||
        (uintptr_t)p % TES_IO_ALIGN || o->n_held == TES_OUTFILE_HOLD ||
        o->held_bytes + o->may_hold_cap > HOLD_BYTES)
        return false;
    o->held[o->n_held].data = (uint8_t *)p;
    o->held[o->n_held].size = n;
    o->held[o->n_held].cap = o->may_hold_cap;
    o->held_bytes += o->may_hold_cap;
    o->n_held++;
    o->took = true;
    o->flushed += n;
    o->pos += n;
    return true;
}

int tes__outfile_place(tes__outfile *o, const uint8_t *p, size_t n,
                       uint64_t at)
{
    if (o->err)
        return o->err;
    /* unaligned bytes through the cache: direct I/O would refuse them, and
     * write_blocks would then give it up for the rest of the file */
    bool aligned = at % TES_IO_ALIGN == 0 && n % TES_IO_ALIGN == 0 &&
                   (uintptr_t)p % TES_IO_ALIGN == 0;
    int e = aligned ? write_blocks(o, p, n, at)
                    : tes__pwrite_all(o->fd, p, n, at);
    if (e)
        o->err = e;
    return e;
}

/* A placed append (o->placed): its bytes are in the file already. What
 * comes before them is written, and the file goes on after them. */
static int skip_placed(tes__outfile *o, size_t n)
{
    int e = release_held(o);
    if (!e && o->pos != o->flushed + o->len)
        e = EIO; /* placed bytes only ever follow the last append */
    if (!e)
        e = drain(o, true);
    if (e)
        return e;
    o->flushed += n;
    o->pos += n;
    return 0;
}

tmsize_t tes__outfile_write(thandle_t h, void *buf, tmsize_t size)
{
    tes__outfile *o = (tes__outfile *)h;
    if (o->err) {
        errno = o->err;
        return -1;
    }
    const uint8_t *p = buf;
    size_t n = (size_t)size;
    int e = 0;
    if (o->placed) {
        e = skip_placed(o, n);
        if (e) {
            o->err = e;
            errno = e;
            return -1;
        }
        return size;
    }
    if (hold(o, p, n)) {
        if (o->n_held == TES_OUTFILE_HOLD)
            e = release_held(o);
        if (e) {
            o->err = e;
            errno = e;
            return -1;
        }
        return size;
    }
    e = release_held(o);
    uint64_t at = o->pos;
    if (!e && at < o->flushed) { /* a rewrite of bytes already in the file */
        size_t k = o->flushed - at < n ? (size_t)(o->flushed - at) : n;
        e = tes__pwrite_all(o->fd, p, k, at);
        p += k;
        n -= k;
        at += k;
    }
    if (!e && n >= TES_IO_ALIGN && o->dfd >= 0 && at >= o->flushed + o->len &&
        (at - o->flushed) % TES_IO_ALIGN == 0 &&
        (uintptr_t)p % TES_IO_ALIGN == 0) {
        /* An aligned append: the gap before it and the staged blocks
         * first, then the caller's own memory, with no copy. */
        size_t k = n - n % TES_IO_ALIGN;
        uint64_t end = o->flushed + o->len;
        e = stage(o, end, NULL, (size_t)(at - end));
        if (!e)
            e = drain(o, false);
        if (!e)
            e = write_blocks(o, p, k, at);
        if (!e) {
            o->flushed += k;
            p += k;
            n -= k;
            at += k;
        }
    }
    if (!e && n)
        e = stage(o, at, p, n);
    if (e) {
        o->err = e;
        errno = e;
        return -1;
    }
    o->pos = at + n;
    return size;
}

tmsize_t tes__outfile_read(thandle_t h, void *buf, tmsize_t size)
{
    tes__outfile *o = (tes__outfile *)h;
    int e = release_held(o);
    if (e) {
        o->err = o->err ? o->err : e;
        errno = e;
        return -1;
    }
    uint8_t *p = buf;
    size_t n = (size_t)size, got = 0;
    uint64_t at = o->pos;
    if (at < o->flushed) {
        size_t k = o->flushed - at < n ? (size_t)(o->flushed - at) : n;
        ssize_t r = pread(o->fd, p, k, (off_t)at);
        if (r < 0) {
            o->err = o->err ? o->err : errno;
            return -1;
        }
        got = (size_t)r;
        if (got < k) {
            o->pos = at + got;
            return (tmsize_t)got;
        }
    }
    uint64_t end = o->flushed + o->len;
    if (at + got < end && got < n) {
        size_t rel = (size_t)(at + got - o->flushed);
        size_t k = o->len - rel < n - got ? o->len - rel : n - got;
        memcpy(p + got, o->stage + rel, k);
        got += k;
    }
    o->pos = at + got;
    return (tmsize_t)got;
}

toff_t tes__outfile_seek(thandle_t h, toff_t off, int whence)
{
    tes__outfile *o = (tes__outfile *)h;
    uint64_t end = o->flushed + o->len;
    if (whence == SEEK_END && o->tile_next && end < TES_IO_DATA_START)
        end = TES_IO_DATA_START; /* the first tile starts on a block */
    uint64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? o->pos : end;
    o->pos = base + off;
    return o->pos;
}

static int io_close(thandle_t h)
{
    (void)h; /* the writer closes the descriptors */
    return 0;
}

toff_t tes__outfile_size(thandle_t h)
{
    tes__outfile *o = (tes__outfile *)h;
    return o->flushed + o->len;
}

static int io_map(thandle_t h, void **base, toff_t *size)
{
    (void)h;
    (void)base;
    (void)size;
    return 0; /* never mapped */
}

static void io_unmap(thandle_t h, void *base, toff_t size)
{
    (void)h;
    (void)base;
    (void)size;
}

TIFF *tes__outfile_tiff(tes__outfile *o, const char *name, const char *mode,
                        TIFFOpenOptions *opts)
{
    return TIFFClientOpenExt(name, mode, (thandle_t)o, tes__outfile_read,
                             tes__outfile_write, tes__outfile_seek, io_close,
                             tes__outfile_size, io_map, io_unmap, opts);
}

void tes__outfile_give(tes__outfile *o, uint8_t **buf, size_t *cap)
{
    o->took = false;
    *buf = NULL;
    *cap = 0;
    if (o->n_idle) {
        o->n_idle--;
        *buf = o->idle[o->n_idle].data;
        *cap = o->idle[o->n_idle].cap;
        o->idle_bytes -= *cap;
    }
}

int tes__outfile_flush(tes__outfile *o)
{
    if (o->err)
        return o->err;
    int e = release_held(o);
    if (!e)
        e = drain(o, true);
    if (e)
        o->err = e;
    return e;
}
