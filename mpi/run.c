/*
 * run.c — tes_mpi_raster_run: one tile pipeline across the job's ranks,
 * as a tes_pipeline_dist. Each rank computes contiguous runs of tiles on
 * its own pool (see deal() for which); rank 0 writes every tile in order,
 * taking the others' tiles as their turn comes, and grants them credit to
 * send only the tiles within CREDIT_TILES of its position, so at most
 * that many tiles are on their way to it, whatever the raster's size and
 * the rank count.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mpi_internal.h"

/* Tiles that may be on their way to rank 0 at once (and so the sends a
 * rank may have outstanding). */
#define CREDIT_TILES 32

/* One tile message a rank has sent, kept until MPI is done with it. */
typedef struct outmsg {
    unsigned char *buf;
    size_t cap;
    MPI_Request *req;           /* one per piece */
    int n_req, cap_req;
} outmsg;

typedef struct tes__mpi_run {
    tes_mpi *m;
    const char *name;           /* the output (or input) for messages */
    int threads;                /* this rank's pool */
    void *result;               /* the caller's reduction result */
    tes_dist_layout l;
    int64_t seq;
    int64_t run_tiles;          /* row runs: tiles per run; or 0 */
    int64_t strips;             /* column strips: strips per row; or 0 */
    int halo;                   /* the kernel's */
    int64_t max_block_width;    /* the inputs' widest block, pixels */
    bool began;
    bool named;                 /* rank 0: err names the rank at fault */
    /* ranks other than 0 */
    int64_t credit;             /* we may send our tiles below this */
    bool verdict;               /* rank 0 said this run succeeded */
    outmsg out[CREDIT_TILES];
    int next_out;
    /* rank 0 */
    int64_t *granted;           /* per rank: the last credit bound sent */
    unsigned char *tbuf;        /* the tile get handed out last */
    size_t tcap;
    const uint8_t **chunk;      /* l.chunks pointers into tbuf */
    size_t *chunk_size;
} run_t;

/* What HELLO carries; the fields from H_SEQ to H_STRIPS must agree. */
enum {
    H_SEQ, H_WIDTH, H_HEIGHT, H_TW, H_TH, H_TILES, H_CHUNKS, H_TILE_BYTES,
    H_PARTIAL, H_TYPE, H_BANDS, H_INPUTS, H_RUN, H_STRIPS, H_CPUS,
    H_THREADS, H_ONLINE, H_N
};
static const char *const hello_names[H_N] = {
    "run", "width", "height", "tile width", "tile height", "tiles",
    "chunks per tile", "tile bytes", "partial bytes", "sample type",
    "bands", "inputs", "tiles per run", "strips per row", "cpus", "threads",
    "online cpus"
};

/* A tile message's head: these words, then one size per chunk. */
enum { T_SEQ, T_TILE, T_CHUNKS, T_PARTIAL, T_TOTAL, T_N };


static int cancelled(const struct tes__mpi_run *r, tes_raster_error *err)
{
    return tes__mpi_fail(err, -ECANCELED, "%s: cancelled", r->name);
}

static int stopped(tes_raster_error *err)
{
    return tes__mpi_fail(err, -ECANCELED,
                         "MPI: stopped: the job failed on another rank");
}

/* The rank that computes tile t: run after run in turn, or, with strips,
 * strip after strip of each row in turn (strip i holds the columns from
 * i * across / strips to (i + 1) * across / strips, rounded down). */
static int owner(const run_t *r, int64_t t)
{
    if (!r->strips)
        return (int)(t / r->run_tiles % r->m->size);
    int64_t across = r->l.tiles_across, col = t % across;
    return (int)(((col + 1) * r->strips - 1) / across % r->m->size);
}

static bool run_owns(void *ctx, int64_t t)
{
    const run_t *r = ctx;
    return owner(r, t) == r->m->rank;
}

/* The CPUs this process may run on. */
static int64_t cpus_allowed(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        return CPU_COUNT(&set);
    return sysconf(_SC_NPROCESSORS_ONLN);
}

/* ---- rank 0 ------------------------------------------------------------ */

/* A FAIL or an early BYE from any rank ends rank 0's run. */
static int root_watch(run_t *r, tes_raster_error *err)
{
    tes_mpi *m = r->m;
    int from, tag;
    int64_t w[2] = { 0, 0 };
    char why[TES_MPI_TEXT];
    long len = tes__mpi_take(m, MPI_ANY_SOURCE, TES_TAG_FAIL, &from, &tag);
    if (len >= 0) {
        m->failed = m->reported = r->named = true;
        if (tes__mpi_parse_text(m, len, w, 2, why, sizeof why))
            return tes__mpi_fail(err, -EPROTO, "rank %d: failed", from);
        return tes__mpi_fail(err, w[1] < 0 ? (int)w[1] : -EIO, "rank %d: %s",
                             from, why);
    }
    if (len == -1)
        len = tes__mpi_take(m, MPI_ANY_SOURCE, TES_TAG_BYE, &from, &tag);
    if (len >= 0) {
        m->failed = m->reported = r->named = true;
        const char *said = m->bye_why[from];
        if (tes__mpi_got_bye(m, from, len))
            return tes__mpi_fail(err, -ECANCELED, "rank %d: %s", from,
                                 said[0] ? said : "failed");
        return tes__mpi_fail(err, -EPROTO,
                             "rank %d: left the job before run %lld", from,
                             (long long)r->seq);
    }
    if (len < -1)
        return tes__mpi_fail(err, (int)len, "MPI: receive failed");
    return 0;
}

/* Waits for a message from src with tag, watching for failures; leaves
 * it matched in *msg with its byte count. */
static int root_wait(run_t *r, int src, int tag, MPI_Message *msg,
                     int *count, tes_raster_error *err)
{
    tes_mpi *m = r->m;
    tes__mpi_backoff b;
    tes__mpi_backoff_reset(&b);
    for (;;) {
        MPI_Status st;
        int flag = 0;
        if (MPI_Improbe(src, tag, m->comm, &flag, msg, &st) != MPI_SUCCESS)
            return tes__mpi_fail(err, -EIO, "MPI: probe failed");
        if (flag) {
            MPI_Get_count(&st, MPI_BYTE, count);
            return 0;
        }
        int rc = root_watch(r, err);
        if (rc)
            return rc;
        if (tes__mpi_cancelled(m))
            return cancelled(r, err);
        tes__mpi_backoff_wait(&b);
    }
}

static void warn_bound(tes_mpi *m, int n, int first, int64_t cpus,
                       int64_t threads)
{
    if (!n || m->warned || !m->o.warn)
        return;
    m->warned = true;
    char line[400];
    snprintf(line, sizeof line,
             "warning: the launcher bound rank %d to %lld CPU%s but it runs "
             "%lld threads (%d of %d ranks alike): start mpirun with "
             "--bind-to none or --map-by slot:PE=%lld, or give -j %lld",
             first, (long long)cpus, cpus == 1 ? "" : "s", (long long)threads,
             n, m->size, (long long)threads, (long long)cpus);
    m->o.warn(line, m->o.ctx);
}

static int root_begin(run_t *r, const int64_t *mine, tes_raster_error *err)
{
    tes_mpi *m = r->m;
    bool *seen = calloc((size_t)m->size, sizeof *seen);
    if (!seen)
        return tes__mpi_fail(err, -ENOMEM, "MPI: out of memory");
    r->granted = calloc((size_t)m->size, sizeof *r->granted);
    int n_chunks = r->l.chunks > 0 ? r->l.chunks : 1;
    r->chunk = calloc((size_t)n_chunks, sizeof *r->chunk);
    r->chunk_size = calloc((size_t)n_chunks, sizeof *r->chunk_size);
    if (!r->granted || !r->chunk || !r->chunk_size) {
        free(seen);
        return tes__mpi_fail(err, -ENOMEM, "MPI: out of memory");
    }
    /* Ranks bound to fewer CPUs than they run threads. */
    int n_bound = 0, first = 0;
    int64_t b_cpus = 0, b_threads = 0;
    if (mine[H_THREADS] > mine[H_CPUS] && mine[H_CPUS] < mine[H_ONLINE]) {
        n_bound = 1;
        b_cpus = mine[H_CPUS];
        b_threads = mine[H_THREADS];
    }
    int left = m->size - 1, rc = 0;
    tes__mpi_backoff b;
    tes__mpi_backoff_reset(&b);
    while (left > 0 && !rc) {
        int from, tag;
        long len = tes__mpi_take(m, MPI_ANY_SOURCE, TES_TAG_HELLO, &from,
                                 &tag);
        if (len >= 0) {
            tes__mpi_backoff_reset(&b);
            int64_t w[H_N];
            if (len != (long)sizeof w || seen[from]) {
                r->named = true;
                rc = tes__mpi_fail(err, -EPROTO, "rank %d: garbled hello",
                                   from);
                break;
            }
            memcpy(w, m->buf, sizeof w);
            seen[from] = true;
            left--;
            for (int i = H_SEQ; i <= H_STRIPS && !rc; i++)
                if (w[i] != mine[i])
                    rc = tes__mpi_fail(
                        err, -EPROTO,
                        "rank %d: its job differs from rank 0's (%s %lld, "
                        "not %lld): do all ranks see the same files and "
                        "options?",
                        from, hello_names[i], (long long)w[i],
                        (long long)mine[i]);
            r->named = rc != 0;
            if (w[H_THREADS] > w[H_CPUS] && w[H_CPUS] < w[H_ONLINE] &&
                n_bound++ == 0) {
                first = from;
                b_cpus = w[H_CPUS];
                b_threads = w[H_THREADS];
            }
            continue;
        }
        if (len < -1)
            rc = tes__mpi_fail(err, (int)len, "MPI: receive failed");
        else if (!(rc = root_watch(r, err)) && tes__mpi_cancelled(m))
            rc = cancelled(r, err);
        else if (!rc)
            tes__mpi_backoff_wait(&b);
    }
    free(seen);
    if (!rc)
        warn_bound(m, n_bound, first, b_cpus, b_threads);
    return rc;
}

/* Credit for the tiles within CREDIT_TILES of t, to the ranks that own
 * some: sent when a rank's next tile needs it, or when it would gain at
 * least half a window, so credits cost a message every few tiles. */
static int grant(run_t *r, int64_t t, tes_raster_error *err)
{
    tes_mpi *m = r->m;
    int64_t h = t + CREDIT_TILES < r->l.tiles ? t + CREDIT_TILES
                                              : r->l.tiles;
    for (int64_t u = t; u < h; u++) {
        int o = owner(r, u);
        if (o == 0)
            continue;
        int64_t g = r->granted[o];
        if (g < h && (g <= u || h - g >= CREDIT_TILES / 2)) {
            int64_t w[2] = { r->seq, h };
            int rc = tes__mpi_send_small(m, o, TES_TAG_CREDIT, w, sizeof w);
            if (rc)
                return tes__mpi_fail(err, rc, "MPI: cannot reach rank %d", o);
            r->granted[o] = h;
        }
    }
    return 0;
}

static int run_get(void *ctx, int64_t t, tes_tile_bytes *bytes,
                   void *partial, tes_raster_error *err)
{
    run_t *r = ctx;
    int src = owner(r, t), count = 0;
    MPI_Message msg;
    int rc = grant(r, t, err);
    if (!rc)
        rc = root_wait(r, src, TES_TAG_TILE, &msg, &count, err);
    if (rc)
        return rc;
    bool ok = tes__mpi_grow(&r->tbuf, &r->tcap, count > 0 ? (size_t)count
                                                          : 1) == 0;
    MPI_Status st;
    if (MPI_Mrecv(ok ? r->tbuf : NULL, ok ? count : 0, MPI_BYTE, &msg,
                  &st) != MPI_SUCCESS ||
        !ok)
        return tes__mpi_fail(err, ok ? -EIO : -ENOMEM,
                             "MPI: tile %lld from rank %d: %s", (long long)t,
                             src, ok ? "receive failed" : "out of memory");
    int64_t h[T_N];
    int n = r->l.chunks;
    size_t head = (size_t)(T_N + n) * sizeof(int64_t);
    r->named = true; /* what fails from here is the sender's doing */
    if ((size_t)count < head)
        return tes__mpi_fail(err, -EPROTO, "rank %d: garbled tile %lld", src,
                             (long long)t);
    memcpy(h, r->tbuf, sizeof h);
    size_t total = head + (size_t)h[T_PARTIAL];
    for (int i = 0; i < n; i++) {
        int64_t s;
        memcpy(&s, r->tbuf + (T_N + i) * sizeof(int64_t), sizeof s);
        r->chunk_size[i] = (size_t)s;
        total += (size_t)s;
    }
    if (h[T_SEQ] != r->seq || h[T_TILE] != t || h[T_CHUNKS] != n ||
        h[T_PARTIAL] != (int64_t)r->l.partial_size ||
        h[T_TOTAL] != (int64_t)total || (size_t)count > total)
        return tes__mpi_fail(err, -EPROTO, "rank %d: tile %lld is not the one "
                             "expected (run %lld, tile %lld)",
                             src, (long long)t, (long long)h[T_SEQ],
                             (long long)h[T_TILE]);
    r->named = false;
    if (tes__mpi_grow(&r->tbuf, &r->tcap, total))
        return tes__mpi_fail(err, -ENOMEM, "MPI: tile %lld: out of memory",
                             (long long)t);
    for (size_t got = (size_t)count; got < total; got += (size_t)count) {
        rc = root_wait(r, src, TES_TAG_TILE_MORE, &msg, &count, err);
        if (rc)
            return rc;
        if (count < 0 || got + (size_t)count > total) {
            MPI_Mrecv(NULL, 0, MPI_BYTE, &msg, &st);
            r->named = true;
            return tes__mpi_fail(err, -EPROTO,
                                 "rank %d: tile %lld is too long", src,
                                 (long long)t);
        }
        if (MPI_Mrecv(r->tbuf + got, count, MPI_BYTE, &msg, &st) !=
            MPI_SUCCESS)
            return tes__mpi_fail(err, -EIO, "MPI: tile %lld: receive failed",
                                 (long long)t);
    }
    size_t off = head;
    for (int i = 0; i < n; i++) {
        r->chunk[i] = r->tbuf + off;
        off += r->chunk_size[i];
    }
    if (r->l.partial_size)
        memcpy(partial, r->tbuf + off, r->l.partial_size);
    bytes->n = n;
    bytes->data = r->chunk;
    bytes->size = r->chunk_size;
    return 0;
}

/* Sends n bytes in pieces: the first with tag, the rest with more. */
static int send_pieces(tes_mpi *m, int dst, int tag, int more,
                       const unsigned char *p, size_t n)
{
    for (size_t off = 0; off == 0 || off < n; off += m->piece) {
        size_t len = n - off < m->piece ? n - off : m->piece;
        int rc = tes__mpi_send_small(m, dst, off ? more : tag, p + off, len);
        if (rc)
            return rc;
    }
    return 0;
}

static int root_end(run_t *r, int rc, void *result, tes_raster_error *err)
{
    tes_mpi *m = r->m;
    if (!rc) {
        /* The verdict, with the reduction's result. */
        size_t ps = r->l.partial_size;
        size_t first = ps < m->piece - 16 ? ps : m->piece - 16;
        unsigned char *msg = malloc(16 + first);
        if (!msg)
            rc = tes__mpi_fail(err, -ENOMEM, "MPI: out of memory");
        int64_t w[2] = { r->seq, (int64_t)ps };
        if (msg) {
            memcpy(msg, w, 16);
            if (first)
                memcpy(msg + 16, result, first);
        }
        for (int o = 1; o < m->size && !rc; o++) {
            rc = tes__mpi_send_small(m, o, TES_TAG_VERDICT, msg, 16 + first);
            if (!rc && ps > first)
                rc = send_pieces(m, o, TES_TAG_VERDICT_MORE,
                                 TES_TAG_VERDICT_MORE,
                                 (const unsigned char *)result + first,
                                 ps - first);
            if (rc)
                rc = tes__mpi_fail(err, rc, "MPI: cannot reach rank %d", o);
        }
        free(msg);
        return rc;
    }
    if (tes__mpi_cancelled(m))
        return rc;
    /* A failure of rank 0's own during the run names it too. */
    if (err && !r->named && rc != -ECANCELED) {
        char msg[sizeof err->message];
        snprintf(msg, sizeof msg, "%s", err->message);
        tes__mpi_fail(err, rc, "rank 0: %.*s", (int)sizeof msg - 16, msg);
    }
    m->failed = m->reported = true;
    tes__mpi_stop_all(m, r->seq, rc, err ? err->message : "");
    for (int o = 1; o < m->size; o++)
        if (tes__mpi_drain(m, o, TES_TAG_STOPPED, r->seq))
            break;
    return rc;
}

/* ---- the other ranks ---------------------------------------------------- */

void tes__mpi_run_credit(run_t *r, int64_t seq, int64_t bound)
{
    if (seq == r->seq && bound > r->credit)
        r->credit = bound;
}

int tes__mpi_run_verdict(run_t *r, long len)
{
    tes_mpi *m = r->m;
    int64_t w[2];
    if (len < 16)
        return -EPROTO;
    memcpy(w, m->buf, sizeof w);
    size_t ps = r->l.partial_size;
    if (w[0] != r->seq || w[1] != (int64_t)ps || (size_t)len - 16 > ps)
        return -EPROTO;
    size_t got = (size_t)len - 16;
    if (got)
        memcpy(r->result, m->buf + 16, got);
    tes__mpi_backoff b;
    tes__mpi_backoff_reset(&b);
    while (got < ps) {
        int from, tag;
        long n = tes__mpi_take(m, 0, TES_TAG_VERDICT_MORE, &from, &tag);
        if (n == -1) {
            if (tes__mpi_cancelled(m))
                return -ECANCELED;
            tes__mpi_backoff_wait(&b);
            continue;
        }
        if (n < 0 || got + (size_t)n > ps)
            return n < 0 ? (int)n : -EPROTO;
        memcpy((unsigned char *)r->result + got, m->buf, (size_t)n);
        got += (size_t)n;
    }
    r->verdict = true;
    return 0;
}

/* Whether o's sends are done (testing them also moves them along). */
static bool out_done(outmsg *o)
{
    int done = 1;
    if (o->n_req &&
        MPI_Testall(o->n_req, o->req, &done, MPI_STATUSES_IGNORE) ==
            MPI_SUCCESS &&
        done)
        o->n_req = 0;
    return o->n_req == 0;
}

/* One step of a wait on rank 0: take what it sent, or sleep a little.
 * Returns 0, or the cancel's code. */
static int root_step(run_t *r, tes__mpi_backoff *b, tes_raster_error *err)
{
    if (tes__mpi_from_root(r->m, r)) {
        tes__mpi_backoff_reset(b);
        return 0;
    }
    if (tes__mpi_cancelled(r->m))
        return cancelled(r, err);
    tes__mpi_backoff_wait(b);
    return 0;
}

/* Waits until every send of ours is done: rank 0 takes them all, in a
 * run that succeeds and in the drain after a STOP alike. */
static int out_wait_all(run_t *r, tes_raster_error *err)
{
    tes__mpi_backoff b;
    tes__mpi_backoff_reset(&b);
    for (int i = 0; i < CREDIT_TILES; i++)
        while (!out_done(&r->out[i])) {
            int rc = root_step(r, &b, err);
            if (rc)
                return rc;
        }
    return 0;
}

static int run_put(void *ctx, int64_t t, const tes_tile_bytes *bytes,
                   const void *partial, tes_raster_error *err)
{
    run_t *r = ctx;
    tes_mpi *m = r->m;
    outmsg *o = &r->out[r->next_out];
    tes__mpi_backoff b;
    tes__mpi_backoff_reset(&b);
    /* Our turn: credit for t, and the outbox slot's last sends done. */
    while ((r->credit <= t || !out_done(o)) && !m->stop_seen) {
        int rc = root_step(r, &b, err);
        if (rc)
            return rc;
    }
    if (m->stop_seen)
        return stopped(err);
    r->next_out = (r->next_out + 1) % CREDIT_TILES;
    int n = bytes ? bytes->n : 0;
    size_t ps = partial ? r->l.partial_size : 0;
    size_t head = (size_t)(T_N + n) * sizeof(int64_t), total = head + ps;
    for (int i = 0; i < n; i++)
        total += bytes->size[i];
    size_t pieces = (total + m->piece - 1) / m->piece;
    if (tes__mpi_grow(&o->buf, &o->cap, total) ||
        (pieces > (size_t)o->cap_req &&
         !(o->req = realloc(o->req, pieces * sizeof *o->req))))
        return tes__mpi_fail(err, -ENOMEM, "MPI: tile %lld: out of memory",
                             (long long)t);
    if (pieces > (size_t)o->cap_req)
        o->cap_req = (int)pieces;
    int64_t h[T_N] = { r->seq, t, n, (int64_t)ps, (int64_t)total };
    memcpy(o->buf, h, sizeof h);
    size_t off = head;
    for (int i = 0; i < n; i++) {
        int64_t s = (int64_t)bytes->size[i];
        memcpy(o->buf + (T_N + i) * sizeof(int64_t), &s, sizeof s);
        memcpy(o->buf + off, bytes->data[i], bytes->size[i]);
        off += bytes->size[i];
    }
    if (ps)
        memcpy(o->buf + off, partial, ps);
    for (size_t k = 0; k < pieces; k++) {
        size_t at = k * m->piece;
        size_t len = total - at < m->piece ? total - at : m->piece;
        if (MPI_Isend(o->buf + at, (int)len, MPI_BYTE, 0,
                      k ? TES_TAG_TILE_MORE : TES_TAG_TILE, m->comm,
                      &o->req[k]) != MPI_SUCCESS)
            return tes__mpi_fail(err, -EIO, "MPI: tile %lld: send failed",
                                 (long long)t);
        o->n_req = (int)k + 1;
    }
    return 0;
}

static int other_end(run_t *r, int rc, tes_raster_error *err)
{
    tes_mpi *m = r->m;
    tes__mpi_backoff b;
    tes__mpi_backoff_reset(&b);
    while (!rc && !r->verdict && !m->stop_seen) {
        int wrc = root_step(r, &b, err);
        if (wrc)
            return wrc;
    }
    if (!rc && r->verdict)
        return out_wait_all(r, err);
    if (tes__mpi_cancelled(m))
        return rc ? rc : cancelled(r, err);
    if (rc && !m->stop_seen) {
        int64_t w[2] = { r->seq, rc };
        tes__mpi_send_text(m, 0, TES_TAG_FAIL, w, 2,
                           err ? err->message : "failed");
        m->told = true;
    }
    /* Rank 0 stops every rank after any failure; then it drains what we
     * sent up to our STOPPED. */
    while (!m->stop_seen) {
        tes_raster_error ignored;
        if (root_step(r, &b, &ignored))
            return rc ? rc : cancelled(r, err);
    }
    int64_t w = r->seq;
    tes__mpi_send_small(m, 0, TES_TAG_STOPPED, &w, sizeof w);
    tes_raster_error ignored;
    out_wait_all(r, &ignored);
    m->failed = true;
    return rc ? rc : stopped(err);
}

/* ---- the run ----------------------------------------------------------- */

/* Strips a rank aims at, in tiles: narrower ones read more halo twice,
 * wider ones spread uneven work (an empty half, say) less evenly. */
#define STRIP_TILES 16

/*
 * Which rank computes which tile; returns how many finished tiles a rank
 * may hold while rank 0 writes others' (the lookahead). Every rank
 * derives the same from the same layout and options.
 *
 * Row runs: runs of run_tiles tiles in row-major order, dealt to the
 * ranks in turn; as long as run_bytes of output allows (a slot's
 * bookkeeping counted), whole rows when that is a row or more, and no
 * longer than an even share. A rank holds at most one run. Each run of a
 * focal kernel also decodes the block rows above and below it: two extra
 * rows per run.
 *
 * Column strips, for focal kernels over tiled inputs: each row cut into
 * strips (a multiple of the rank count, about STRIP_TILES wide), strip i
 * of every row computed by rank i % size. A rank then reads the blocks
 * above its tiles itself, a row before, and only the columns at a strip's
 * edges are decoded twice: two per strip. Chosen when that is less than
 * the row runs' extra rows, and when no input block is wider than a strip
 * (a strip-organized TIFF would be decoded whole by every rank).
 */
static int64_t deal(run_t *r)
{
    const tes_dist_layout *l = &r->l;
    int64_t n = r->m->size, across = l->tiles_across;
    size_t per = l->tile_bytes + l->partial_size + 1024;
    int64_t budget = (int64_t)(r->m->run_bytes / per);
    budget = budget < 1 ? 1 : budget;
    int64_t share = (l->tiles + n - 1) / n;
    int64_t R = budget > share ? share : budget;
    R = R < 1 ? 1 : R;
    if (R >= across)
        R -= R % across;
    int64_t rows = R / across; /* whole rows per run; 0: part of one */
    int64_t per_rank = across / (n * STRIP_TILES);
    int64_t strips = n * (per_rank < 1 ? 1 : per_rank);
    int64_t width = across / strips; /* the narrowest strip */
    bool strips_fit = r->max_block_width <= width * l->tile_width;
    if (r->halo > 0 && width >= 1 && width > rows && strips_fit) {
        r->strips = strips;
        r->run_tiles = 0;
        /* one row's worth of a rank's tiles, and a strip more */
        int64_t hold = across / n + width + 1;
        return hold > budget ? budget : hold;
    }
    r->strips = 0;
    r->run_tiles = R;
    return R;
}

static int run_begin(void *ctx, const tes_dist_layout *l, int *lookahead,
                     tes_raster_error *err)
{
    run_t *r = ctx;
    tes_mpi *m = r->m;
    r->l = *l;
    r->began = true;
    r->seq = ++m->seq;
    int64_t hold = deal(r);
    *lookahead = hold > (1 << 20) ? 1 << 20 : (int)hold;
    if (m->failed)
        return stopped(err);
    int64_t w[H_N] = {
        r->seq, l->width, l->height, l->tile_width, l->tile_height,
        l->tiles, l->chunks, (int64_t)l->tile_bytes,
        (int64_t)l->partial_size, l->out_type, l->out_bands, l->n_inputs,
        r->run_tiles, r->strips, cpus_allowed(), r->threads,
        sysconf(_SC_NPROCESSORS_ONLN),
    };
    if (m->rank == 0)
        return root_begin(r, w, err);
    int rc = tes__mpi_send_small(m, 0, TES_TAG_HELLO, w, sizeof w);
    return rc ? tes__mpi_fail(err, rc, "MPI: cannot reach rank 0") : 0;
}

static int run_end(void *ctx, int rc, void *result, tes_raster_error *err)
{
    run_t *r = ctx; /* the others got the result with the verdict */
    return r->m->rank == 0 ? root_end(r, rc, result, err)
                           : other_end(r, rc, err);
}

TES_API int tes_mpi_raster_run(tes_mpi *m, tes_pool *pool,
                               const tes_kernel *k,
                               tes_raster *const *in, int n_in,
                               const char *out_path,
                               const tes_raster_create_options *oo,
                               void *result, const tes_pipeline_options *po,
                               tes_raster_error *err)
{
    tes_pipeline_options o = TES_PIPELINE_OPTIONS_INIT;
    if (po)
        o = *po;
    if (!m || o.dist)
        return tes__mpi_fail(err, -EINVAL, "MPI: invalid arguments");
    if (m->size == 1) {
        /* mpirun -np 1 binds its rank too: say so, as for a larger job. */
        int64_t cpus = cpus_allowed(), threads = pool ? tes_pool_threads(pool)
                                                      : 0;
        if (m->launched && threads > cpus &&
            cpus < sysconf(_SC_NPROCESSORS_ONLN))
            warn_bound(m, 1, 0, cpus, threads);
        return tes_raster_run(pool, k, in, n_in, out_path, oo, result, &o,
                              err);
    }
    int is_main = 0;
    MPI_Is_thread_main(&is_main);
    if (!is_main)
        return tes__mpi_fail(err, -EINVAL, "MPI: called off the thread that "
                             "initialized MPI");
    run_t *r = calloc(1, sizeof *r);
    if (!r)
        return tes__mpi_fail(err, -ENOMEM, "MPI: out of memory");
    r->m = m;
    r->name = out_path                 ? out_path
              : n_in > 0 && in && in[0] ? tes_raster_path(in[0])
                                        : "MPI";
    r->threads = pool ? tes_pool_threads(pool) : 0;
    r->result = result;
    r->halo = k ? k->halo : 0;
    for (int i = 0; i < n_in && in; i++)
        if (in[i] && tes_raster_info_get(in[i])->block_width >
                         r->max_block_width)
            r->max_block_width = tes_raster_info_get(in[i])->block_width;
    tes_pipeline_dist d = { m->rank == 0, run_begin, run_owns, run_put,
                            run_get, run_end, r };
    o.dist = &d;
    int rc = tes_raster_run(pool, k, in, n_in, out_path, oo, result, &o,
                            err);
    for (int i = 0; i < CREDIT_TILES; i++)
        if (!r->out[i].n_req) { /* else cancelled: MPI may still read it */
            free(r->out[i].buf);
            free(r->out[i].req);
        }
    free(r->granted);
    free(r->tbuf);
    free(r->chunk);
    free(r->chunk_size);
    free(r);
    return rc;
}
