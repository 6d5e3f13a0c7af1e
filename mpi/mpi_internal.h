/*
 * mpi_internal.h — private to mpi/: the job's state, the message catalogue
 * (one tag per kind of message, named for what it carries), and the waits
 * and small sends that job.c and run.c share. Not installed.
 *
 * Who says what to whom. Every message is MPI_BYTE; words are int64_t in
 * the host's layout (all ranks run the same build).
 *
 *   rank -> 0   HELLO    a rank begins run `seq`: its layout, its run
 *                        length, its CPUs and threads
 *               TILE     one finished tile: head words, chunks, partial
 *                        (the first piece when it is longer than a piece)
 *               TILE_MORE  the next piece of that tile
 *               FAIL     its run `seq` failed: code and message
 *               STOPPED  it stopped run `seq` after rank 0's STOP
 *               BYE      it is done with the job: exit status and why
 *   0 -> rank   CREDIT   it may send its tiles below a bound (run `seq`)
 *               VERDICT  run `seq` succeeded: the reduction's result
 *               VERDICT_MORE  the next piece of that result
 *               STOP     the job failed: stop what you are doing
 *               EXIT     the job's exit status; nothing follows
 *
 * Ordering: MPI keeps the order of messages from one sender that match
 * the same receive. The others take rank 0's messages in order with
 * MPI_ANY_TAG, so EXIT comes after everything else rank 0 sent them. Rank
 * 0 takes tiles by tag, and, after a STOP or at the end, drains each rank
 * with MPI_ANY_TAG up to its STOPPED or BYE: every message a rank sent
 * before is then received, so no send is left pending at MPI_Finalize.
 */
#ifndef TES_MPI_INTERNAL_H
#define TES_MPI_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "tessera_mpi.h"

enum {
    TES_TAG_HELLO = 101,
    TES_TAG_TILE,
    TES_TAG_TILE_MORE,
    TES_TAG_FAIL,
    TES_TAG_STOPPED,
    TES_TAG_BYE,
    TES_TAG_CREDIT = 201,
    TES_TAG_VERDICT,
    TES_TAG_VERDICT_MORE,
    TES_TAG_STOP,
    TES_TAG_EXIT,
};

/* Longest text a FAIL, STOP or BYE carries (a tes_raster_error message). */
#define TES_MPI_TEXT 512

struct tes_mpi {
    MPI_Comm comm;              /* our duplicate */
    int rank, size;
    bool init_here;             /* tes_mpi_init called MPI_Init_thread */
    bool launched;              /* by a launcher (tes_mpi_init saw one) */
    tes_mpi_options o;
    size_t run_bytes;           /* resolved o.run_bytes */
    size_t piece;               /* longest message we send, bytes */
    int64_t seq;                /* runs begun */
    bool cancelled;             /* o.cancelled said so: waits end at once */
    bool failed;                /* the job failed (any rank); sticky */
    bool warned;                /* rank 0: the CPU warning was given */
    /* rank 0: what each rank said last (index: rank) */
    int64_t *stopped;           /* run seq of its last STOPPED, or -1 */
    bool *bye;                  /* it said BYE */
    int *bye_status;
    char (*bye_why)[TES_MPI_TEXT];
    bool reported;              /* rank 0: a failure reached some err */
    bool stop_sent;             /* rank 0: STOP went to every rank */
    int fail_rank;              /* rank 0: first failure not yet reported */
    char fail_why[TES_MPI_TEXT];  /* ... its message ("" when none) */
    /* other ranks */
    bool stop_seen;             /* rank 0 said STOP */
    bool told;                  /* our own failure reached rank 0 */
    bool exit_seen;
    int exit_status;
    /* receive scratch (rank 0's tiles, everyone's control messages) */
    unsigned char *buf;
    size_t cap;
};

/* Fills err (when not NULL) with code and the message; returns code. */
int tes__mpi_fail(tes_raster_error *err, int code, const char *fmt, ...)
    TES_PRINTF(3, 4);

/* ---- waiting without burning a core (job.c) ------------------------- */

/* A wait's state: a few polls back to back, then sleeps that double from
 * 16 us up to 256 us, starting over after each message: a message that
 * lands is seen within a quarter of a millisecond, and a rank that waits
 * a long time wakes 4000 times a second, a percent or two of a core. */
typedef struct tes__mpi_backoff {
    int polls;
    long sleep_ns;
} tes__mpi_backoff;

void tes__mpi_backoff_reset(tes__mpi_backoff *b);
void tes__mpi_backoff_wait(tes__mpi_backoff *b);
/* True (and m->cancelled set) once the user's cancel callback says so. */
bool tes__mpi_cancelled(tes_mpi *m);

/* Probes for a message (src/tag may be MPI_ANY_*); on one, receives it
 * whole into m->buf and returns its length (>= 0) with *from and *tag
 * set; returns -1 when none is waiting. */
long tes__mpi_take(tes_mpi *m, int src, int tag, int *from, int *got_tag);

/* Sends n bytes (short: control messages) and waits, sleeping, until the
 * send completes. Returns 0 or -ECANCELED / -EIO. */
int tes__mpi_send_small(tes_mpi *m, int dst, int tag, const void *data,
                        size_t n);
/* The same with words then text (NUL-terminated, cut to TES_MPI_TEXT). */
int tes__mpi_send_text(tes_mpi *m, int dst, int tag, const int64_t *w,
                       int nw, const char *text);
/* Splits a message of m->buf made by send_text into words and text. */
int tes__mpi_parse_text(const tes_mpi *m, long len, int64_t *w, int nw,
                        char *text, size_t text_cap);

/* A reserved buffer of at least n bytes at *buf (grown; contents kept).
 * Returns 0 or -ENOMEM. */
int tes__mpi_grow(unsigned char **buf, size_t *cap, size_t n);

/* Rank 0: records rank r's BYE, whose len bytes are in m->buf; returns
 * its exit status. */
int tes__mpi_got_bye(tes_mpi *m, int r, long len);
/* Rank 0: the job failed; tells every rank that has not said BYE (once;
 * seq and code are carried for the record, why as text). */
void tes__mpi_stop_all(tes_mpi *m, int64_t seq, int code, const char *why);
/* Rank 0: takes every message rank r still has for us, up to and
 * including one with tag `until` (STOPPED of run seq, or BYE), handling
 * BYE and FAIL on the way. Returns 0 or -ECANCELED. */
int tes__mpi_drain(tes_mpi *m, int r, int until, int64_t seq);
/* Others: handles whatever rank 0 sent us, in order (CREDIT goes to
 * *credit when seq matches, VERDICT to *verdict/result). Returns 1 when
 * something arrived, 0 when nothing did. */
struct tes__mpi_run;
int tes__mpi_from_root(tes_mpi *m, struct tes__mpi_run *run);

/* ---- runs (run.c) ---------------------------------------------------- */

/* Called by tes__mpi_from_root for a CREDIT, or a VERDICT whose first
 * piece is in m->buf (len bytes); the verdict's other pieces are taken
 * here. Returns 0 or a negative code. */
void tes__mpi_run_credit(struct tes__mpi_run *run, int64_t seq,
                         int64_t bound);
int tes__mpi_run_verdict(struct tes__mpi_run *run, long len);

#endif
