/*
 * job.c — an MPI job as tessera sees it: initialization (refusing a
 * launcher from another MPI), the job over a duplicated communicator,
 * waits that sleep instead of spinning, the small control messages, and
 * the end of the job, where every rank agrees on one exit status and rank
 * 0 hears why a rank failed. The only file besides run.c that calls MPI.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mpi_internal.h"

int tes__mpi_fail(tes_raster_error *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

/* ---- waiting -------------------------------------------------------- */

void tes__mpi_backoff_reset(tes__mpi_backoff *b)
{
    b->polls = 0;
    b->sleep_ns = 16000;
}

void tes__mpi_backoff_wait(tes__mpi_backoff *b)
{
    /* A message that is on its way usually lands within a few polls;
     * past those, sleep, so that a waiting rank leaves its core to the
     * workers (Open MPI's own blocking calls would spin). */
    if (b->polls < 64) {
        b->polls++;
        return;
    }
    struct timespec ts = { 0, b->sleep_ns };
    nanosleep(&ts, NULL);
    if (b->sleep_ns < 256000)
        b->sleep_ns *= 2;
}

bool tes__mpi_cancelled(tes_mpi *m)
{
    if (!m->cancelled && m->o.cancelled && m->o.cancelled(m->o.ctx))
        m->cancelled = true;
    return m->cancelled;
}

int tes__mpi_grow(unsigned char **buf, size_t *cap, size_t n)
{
    if (n <= *cap)
        return 0;
    size_t c = *cap ? *cap : 4096;
    while (c < n)
        c = c > SIZE_MAX / 2 ? n : 2 * c;
    unsigned char *b = realloc(*buf, c);
    if (!b)
        return -ENOMEM;
    *buf = b;
    *cap = c;
    return 0;
}

long tes__mpi_take(tes_mpi *m, int src, int tag, int *from, int *got_tag)
{
    MPI_Message msg;
    MPI_Status st;
    int flag = 0, count = 0;
    if (MPI_Improbe(src, tag, m->comm, &flag, &msg, &st) != MPI_SUCCESS)
        return -EIO;
    if (!flag)
        return -1;
    MPI_Get_count(&st, MPI_BYTE, &count);
    int rc = tes__mpi_grow(&m->buf, &m->cap, count > 0 ? (size_t)count : 1);
    /* Received either way: a matched message must not stay pending. */
    if (MPI_Mrecv(rc ? NULL : m->buf, rc ? 0 : count, MPI_BYTE, &msg, &st) !=
            MPI_SUCCESS && !rc)
        rc = -EIO;
    if (rc)
        return rc;
    *from = st.MPI_SOURCE;
    *got_tag = st.MPI_TAG;
    return count;
}

int tes__mpi_send_small(tes_mpi *m, int dst, int tag, const void *data,
                        size_t n)
{
    MPI_Request req;
    if (n > (size_t)INT32_MAX ||
        MPI_Isend(data, (int)n, MPI_BYTE, dst, tag, m->comm, &req) !=
            MPI_SUCCESS)
        return -EIO;
    tes__mpi_backoff b;
    tes__mpi_backoff_reset(&b);
    for (;;) {
        int done = 0;
        if (MPI_Test(&req, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS)
            return -EIO;
        if (done)
            return 0;
        if (tes__mpi_cancelled(m))
            return -ECANCELED; /* the job is being torn down */
        tes__mpi_backoff_wait(&b);
    }
}

int tes__mpi_send_text(tes_mpi *m, int dst, int tag, const int64_t *w,
                       int nw, const char *text)
{
    unsigned char msg[16 * sizeof(int64_t) + TES_MPI_TEXT];
    size_t hw = (size_t)nw * sizeof *w;
    size_t tn = text ? strnlen(text, TES_MPI_TEXT - 1) : 0;
    memcpy(msg, w, hw);
    memcpy(msg + hw, text ? text : "", tn);
    msg[hw + tn] = 0;
    return tes__mpi_send_small(m, dst, tag, msg, hw + tn + 1);
}

int tes__mpi_parse_text(const tes_mpi *m, long len, int64_t *w, int nw,
                        char *text, size_t text_cap)
{
    size_t hw = (size_t)nw * sizeof *w;
    if (len < 0 || (size_t)len < hw + 1)
        return -EPROTO;
    memcpy(w, m->buf, hw);
    if (text && text_cap) {
        size_t tn = (size_t)len - hw - 1;
        if (tn >= text_cap)
            tn = text_cap - 1;
        memcpy(text, m->buf + hw, tn);
        text[tn] = 0;
    }
    return 0;
}

/* ---- rank 0 hearing the others ---------------------------------------- */

int tes__mpi_got_bye(tes_mpi *m, int r, long len)
{
    int64_t w = 1;
    char why[TES_MPI_TEXT] = "garbled goodbye";
    tes__mpi_parse_text(m, len, &w, 1, why, sizeof why);
    m->bye[r] = true;
    m->bye_status[r] = (int)w;
    snprintf(m->bye_why[r], sizeof m->bye_why[r], "%s", why);
    return (int)w;
}

/* The first failure nobody has reported yet. */
static void note_failure(tes_mpi *m, int r, const char *why)
{
    m->failed = true;
    if (!m->fail_why[0]) {
        m->fail_rank = r;
        snprintf(m->fail_why, sizeof m->fail_why, "%s",
                 why && *why ? why : "failed");
    }
}

/* Tells every rank still in the job that it failed (once). */
void tes__mpi_stop_all(tes_mpi *m, int64_t seq, int code, const char *why)
{
    if (m->stop_sent)
        return;
    m->stop_sent = true;
    m->failed = true;
    int64_t w[2] = { seq, code };
    for (int r = 1; r < m->size; r++)
        if (!m->bye[r])
            tes__mpi_send_text(m, r, TES_TAG_STOP, w, 2, why);
}

int tes__mpi_drain(tes_mpi *m, int r, int until, int64_t seq)
{
    tes__mpi_backoff b;
    tes__mpi_backoff_reset(&b);
    while (!m->bye[r] &&
           !(until == TES_TAG_STOPPED && m->stopped[r] == seq)) {
        int from, tag;
        long len = tes__mpi_take(m, r, MPI_ANY_TAG, &from, &tag);
        if (len == -1) {
            if (tes__mpi_cancelled(m))
                return -ECANCELED;
            tes__mpi_backoff_wait(&b);
            continue;
        }
        if (len < 0)
            return (int)len;
        tes__mpi_backoff_reset(&b);
        int64_t w[2] = { 0, 0 };
        char why[TES_MPI_TEXT];
        switch (tag) {
        case TES_TAG_BYE:
            if (tes__mpi_got_bye(m, r, len))
                note_failure(m, r, m->bye_why[r]);
            break;
        case TES_TAG_STOPPED:
            if (len >= (long)sizeof(int64_t))
                memcpy(&m->stopped[r], m->buf, sizeof(int64_t));
            break;
        case TES_TAG_FAIL:
            if (tes__mpi_parse_text(m, len, w, 2, why, sizeof why) == 0)
                note_failure(m, r, why);
            break;
        case TES_TAG_HELLO:
            /* Late for the run that failed, it will see the STOP; a run
             * that rank 0 never began means the job went different ways
             * on different ranks. */
            if (len >= (long)sizeof(int64_t))
                memcpy(w, m->buf, sizeof(int64_t));
            if (w[0] > m->seq) {
                note_failure(m, r, "began a run that rank 0 did not");
                tes__mpi_stop_all(m, m->seq, -EPROTO,
                                  "the ranks ran different jobs");
            }
            break;
        default: /* tiles of a run that failed */
            break;
        }
    }
    return 0;
}

/* ---- the others hearing rank 0 ---------------------------------------- */

int tes__mpi_from_root(tes_mpi *m, struct tes__mpi_run *run)
{
    int from, tag;
    long len = tes__mpi_take(m, 0, MPI_ANY_TAG, &from, &tag);
    if (len == -1)
        return 0;
    if (len < 0) { /* nothing sensible to do but treat the job as lost */
        m->stop_seen = m->failed = true;
        return 1;
    }
    int64_t w[2] = { 0, 0 };
    switch (tag) {
    case TES_TAG_CREDIT:
        if (run && len >= (long)sizeof w) {
            memcpy(w, m->buf, sizeof w);
            tes__mpi_run_credit(run, w[0], w[1]);
        }
        break;
    case TES_TAG_VERDICT:
        if (run && tes__mpi_run_verdict(run, len))
            m->stop_seen = m->failed = true;
        break;
    case TES_TAG_STOP:
        m->stop_seen = m->failed = true;
        break;
    case TES_TAG_EXIT:
        if (len >= (long)sizeof(int64_t)) {
            memcpy(w, m->buf, sizeof(int64_t));
            m->exit_status = (int)w[0];
        } else {
            m->exit_status = 1;
        }
        m->exit_seen = true;
        break;
    default: /* a piece of a verdict we did not wait for */
        break;
    }
    return 1;
}

/* ---- set-up ------------------------------------------------------------ */

static size_t env_bytes(const char *name, size_t dflt, size_t lo, size_t hi)
{
    const char *s = getenv(name);
    if (!s || !*s)
        return dflt;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s)
        return dflt;
    switch (*end) {
    case 'k': case 'K': v <<= 10; end++; break;
    case 'm': case 'M': v <<= 20; end++; break;
    case 'g': case 'G': v <<= 30; end++; break;
    default: break;
    }
    if (*end)
        return dflt;
    return v < lo ? lo : v > hi ? hi : (size_t)v;
}

TES_API int tes_mpi_create(tes_mpi **out, MPI_Comm comm,
                           const tes_mpi_options *opts, tes_raster_error *err)
{
    int init = 0, level = 0, is_main = 0;
    MPI_Initialized(&init);
    if (!out || !init)
        return tes__mpi_fail(err, -EINVAL, "MPI: not initialized");
    MPI_Query_thread(&level);
    MPI_Is_thread_main(&is_main);
    if (level < MPI_THREAD_FUNNELED || !is_main)
        return tes__mpi_fail(err, -EINVAL,
                             "MPI: needs MPI_THREAD_FUNNELED and the "
                             "thread that initialized MPI");
    tes_mpi *m = calloc(1, sizeof *m);
    if (!m)
        return tes__mpi_fail(err, -ENOMEM, "MPI: out of memory");
    tes_mpi_options d = TES_MPI_OPTIONS_INIT;
    m->o = opts ? *opts : d;
    if (MPI_Comm_dup(comm, &m->comm) != MPI_SUCCESS) {
        free(m);
        return tes__mpi_fail(err, -EINVAL,
                             "MPI: cannot duplicate the communicator");
    }
    /* Errors come back as codes (a lost peer on a network transport),
     * never as an abort of the whole job from inside MPI. */
    MPI_Comm_set_errhandler(m->comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(m->comm, &m->rank);
    MPI_Comm_size(m->comm, &m->size);
    m->run_bytes = m->o.run_bytes ? m->o.run_bytes
                                  : env_bytes("TESSERA_MPI_RUN_BYTES",
                                              (size_t)32 << 20, 1,
                                              (size_t)1 << 40);
    /* Far below MPI's int counts; lowered only to test long tiles. */
    m->piece = env_bytes("TESSERA_MPI_PIECE_BYTES", (size_t)1 << 30, 4096,
                         (size_t)1 << 30);
    size_t n = (size_t)m->size;
    m->stopped = malloc(n * sizeof *m->stopped);
    m->bye = calloc(n, sizeof *m->bye);
    m->bye_status = calloc(n, sizeof *m->bye_status);
    m->bye_why = calloc(n, sizeof *m->bye_why);
    if (!m->stopped || !m->bye || !m->bye_status || !m->bye_why) {
        tes_mpi_destroy(m);
        return tes__mpi_fail(err, -ENOMEM, "MPI: out of memory");
    }
    for (size_t i = 0; i < n; i++)
        m->stopped[i] = -1;
    *out = m;
    return 0;
}

/* The launcher's own count of processes and this one's number, from the
 * environment the common launchers set; 0 when none says. */
static long launched(long *rank, const char **var)
{
    static const char *const sizes[] = { "OMPI_COMM_WORLD_SIZE", "PMI_SIZE",
                                         "MV2_COMM_WORLD_SIZE",
                                         "SLURM_STEP_NUM_TASKS" };
    static const char *const ranks[] = { "OMPI_COMM_WORLD_RANK", "PMI_RANK",
                                         "MV2_COMM_WORLD_RANK",
                                         "SLURM_PROCID" };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        const char *s = getenv(sizes[i]);
        long n = s ? strtol(s, NULL, 10) : 0;
        if (n >= 1) {
            const char *r = getenv(ranks[i]);
            *rank = r ? strtol(r, NULL, 10) : 0;
            *var = sizes[i];
            return n;
        }
    }
    return 0;
}

TES_API int tes_mpi_init(int *argc, char ***argv, tes_mpi **out,
                         const tes_mpi_options *opts, tes_raster_error *err)
{
    int init = 0, provided = 0, size = 0;
    MPI_Initialized(&init);
    bool here = !init;
    if (here) {
        if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) !=
            MPI_SUCCESS)
            return tes__mpi_fail(err, -EIO, "MPI: cannot initialize");
        if (provided < MPI_THREAD_FUNNELED) {
            MPI_Finalize();
            return tes__mpi_fail(err, -ENOTSUP, "MPI: this MPI offers no "
                                 "MPI_THREAD_FUNNELED");
        }
    }
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    long rank = 0;
    const char *var = NULL;
    long n = launched(&rank, &var);
    if (size == 1 && n > 1) {
        char lib[MPI_MAX_LIBRARY_VERSION_STRING];
        int len = 0;
        MPI_Get_library_version(lib, &len);
        lib[strcspn(lib, ",\n")] = 0;
        int rc = -EPROTO;
        if (rank == 0)
            tes__mpi_fail(err, rc,
                          "MPI: the launcher started %ld processes (%s=%ld) "
                          "but %s sees each as rank 0 of 1: start it with "
                          "the mpirun of the MPI it was built with",
                          n, var, n, lib);
        else if (err)
            err->code = rc, err->message[0] = 0;
        if (here)
            MPI_Finalize();
        return rc;
    }
    int rc = tes_mpi_create(out, MPI_COMM_WORLD, opts, err);
    if (rc) {
        if (here)
            MPI_Finalize();
        return rc;
    }
    (*out)->init_here = here;
    (*out)->launched = n >= 1;
    return 0;
}

TES_API int tes_mpi_rank(const tes_mpi *m) { return m ? m->rank : 0; }
TES_API int tes_mpi_size(const tes_mpi *m) { return m ? m->size : 1; }

/* ---- the end of the job ----------------------------------------------- */

TES_API int tes_mpi_finish(tes_mpi *m, int status, const char *why,
                           tes_raster_error *err)
{
    if (err) {
        err->code = 0;
        err->message[0] = 0;
    }
    if (!m || m->size == 1)
        return status;
    if (m->cancelled)
        return status ? status : 1;
    tes__mpi_backoff b;
    tes__mpi_backoff_reset(&b);
    if (m->rank != 0) {
        int64_t w = status;
        /* Rank 0 knows already when a run carried our failure, or when
         * we only stopped because of someone else's. */
        bool quiet = !status || m->told || m->stop_seen;
        if (tes__mpi_send_text(m, 0, TES_TAG_BYE, &w, 1,
                               quiet ? "" : why) != 0)
            return status ? status : 1;
        while (!m->exit_seen) {
            if (tes__mpi_from_root(m, NULL)) {
                tes__mpi_backoff_reset(&b);
                continue;
            }
            if (tes__mpi_cancelled(m))
                return status ? status : 1;
            tes__mpi_backoff_wait(&b);
        }
        return status ? status : m->exit_status;
    }
    if (status)
        tes__mpi_stop_all(m, m->seq, -ECANCELED, why);
    for (int r = 1; r < m->size; r++)
        if (tes__mpi_drain(m, r, TES_TAG_BYE, -1))
            return status ? status : 1;
    int job = status ? status : m->failed ? 1 : 0;
    if (!status && job && err) {
        tes__mpi_fail(err, -ECANCELED, "rank %d: %s", m->fail_rank,
                      m->fail_why);
        m->reported = true;
    }
    int64_t w = job;
    for (int r = 1; r < m->size; r++)
        tes__mpi_send_small(m, r, TES_TAG_EXIT, &w, sizeof w);
    return job;
}

TES_API void tes_mpi_destroy(tes_mpi *m)
{
    if (!m)
        return;
    bool finalize = m->init_here;
    /* After a cancel the other ranks may be gone already (the launcher is
     * tearing the job down): MPI_Finalize would wait for them. */
    if (!m->cancelled) {
        if (m->comm != MPI_COMM_NULL)
            MPI_Comm_free(&m->comm);
        if (finalize)
            MPI_Finalize();
    }
    free(m->stopped);
    free(m->bye);
    free(m->bye_status);
    free(m->bye_why);
    free(m->buf);
    free(m);
}
