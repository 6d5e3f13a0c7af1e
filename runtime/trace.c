/*
 * trace.c — the optional per-worker event trace: each worker (and lend
 * slot) appends to its own buffer with no synchronisation, as does each
 * track a program opens for a thread of its own (tes_trace_track_open);
 * tes_pool_destroy writes all of them as Chrome trace-event JSON after the
 * workers joined. Also the public span API of tessera.h.
 */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"

/* Kinds of our own, after those of internal.h. */
enum { TES_EV_COUNTER = 100 };

typedef struct tes_trace_ev {
    long long ts;     /* ns since the pool was created */
    const char *name; /* not owned (static, or in the buffer's names) */
    int arg;
    int kind;
    double value;     /* TES_EV_COUNTER */
} tes_trace_ev;

/* Copied span names, in chunks that never move. */
typedef struct name_chunk {
    struct name_chunk *next;
    size_t used;
    char text[16384];
} name_chunk;

/* What the whole pool's trace shares: the tracks programs opened and the
 * metadata numbers. It hangs off slot 0's buffer (every pool has a
 * worker 0), so the pool's struct needs nothing for it. lock protects
 * every field; it is a leaf (no other lock is taken while it is held). */
typedef struct trace_shared {
    pthread_mutex_t lock;
    tes_trace_buf **tracks;
    int ntracks, cap;
    struct meta { char key[48]; double value; } *meta;
    int nmeta, meta_cap;
} trace_shared;

/* Written only by the thread that owns the slot (or, for an opened track,
 * by the one thread using it at a time); read by the writer after that
 * thread has been joined (or has left its lend slot: release/acquire on
 * the slot's lent flag; or has stopped using the track before
 * tes_pool_destroy, as tes_trace_track_open requires). */
struct tes_trace_buf {
    tes_trace_ev *ev;
    size_t n, cap;
    size_t open;        /* spans begun and not ended */
    size_t skip;        /* spans begun while full: their ends are dropped */
    uint64_t dropped;   /* events dropped */
    long long t0_ns;    /* the pool's creation time */
    name_chunk *names;  /* copied names, newest chunk first */
    char track[64];     /* an opened track's name ("" for a worker's) */
    trace_shared *shared; /* slot 0's buffer only */
};

int tes__trace_init(tes_pool *p)
{
    int slots = p->nworkers + p->nlend;
    for (int i = 0; i < slots; i++) {
        tes_trace_buf *t = calloc(1, sizeof *t);
        if (!t)
            return -ENOMEM;
        t->t0_ns = p->t0_ns;
        p->workers[i].trace = t;
    }
    trace_shared *sh = calloc(1, sizeof *sh);
    if (!sh)
        return -ENOMEM;
    if (pthread_mutex_init(&sh->lock, NULL)) {
        free(sh);
        return -ENOMEM;
    }
    p->workers[0].trace->shared = sh;
    return 0;
}

static bool reserve(tes_trace_buf *t, size_t need)
{
    if (t->n + need <= t->cap)
        return true;
    size_t cap = t->cap ? t->cap * 2 : 4096;
    if (cap > TES_TRACE_MAX_EVENTS)
        cap = TES_TRACE_MAX_EVENTS;
    if (t->n + need > cap)
        return false;
    tes_trace_ev *ev = realloc(t->ev, cap * sizeof *ev);
    if (!ev)
        return false;
    t->ev = ev;
    t->cap = cap;
    return true;
}

/* Records one event in t, keeping room for the ends of open spans.
 * Returns the event, or NULL when it was dropped. */
static tes_trace_ev *record(tes_trace_buf *t, int kind, const char *name,
                            int arg)
{
    bool begins = kind == TES_EV_BEGIN || kind == TES_EV_PARK;
    bool ends = kind == TES_EV_END || kind == TES_EV_UNPARK;
    if (ends && t->skip) {
        t->skip--; /* its begin was dropped */
        t->dropped++;
        return NULL;
    }
    /* A span is recorded only with room for the ends of every open span,
     * so spans are never cut in half. */
    size_t need = ends ? 1 : t->open + 2;
    if (!ends && (t->skip || !reserve(t, need))) {
        if (begins)
            t->skip++;
        t->dropped++;
        return NULL;
    }
    if (ends && !reserve(t, 1)) { /* cannot happen: room was kept */
        t->dropped++;
        return NULL;
    }
    tes_trace_ev *e = &t->ev[t->n++];
    e->ts = tes__now_ns() - t->t0_ns;
    e->name = name;
    e->arg = arg;
    e->kind = kind;
    e->value = 0;
    if (begins)
        t->open++;
    else if (ends && t->open)
        t->open--;
    return e;
}

void tes__trace_event(tes_worker *w, int kind, const char *name, int arg)
{
    record(w->trace, kind, name, arg);
}

static void put_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(out, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(out, "\\u%04x", ch);
        else
            fputc(ch, out);
    }
    fputc('"', out);
}

static void write_events(FILE *out, const tes_trace_buf *t, int tid)
{
    /* An E event takes its B's name (a span may have been renamed after
     * it began): the names of the open spans, innermost last. */
    const char **open = malloc(sizeof *open * (t->open + 64));
    size_t depth = 0, cap = t->open + 64;
    for (size_t k = 0; k < t->n; k++) {
        const tes_trace_ev *e = &t->ev[k];
        double us = (double)e->ts / 1000.0;
        const char *name = e->name ? e->name : "task";
        if (open && e->kind == TES_EV_BEGIN) {
            if (depth == cap) {
                const char **o = realloc(open, sizeof *o * cap * 2);
                if (!o) {
                    free(open);
                    open = NULL;
                } else {
                    open = o;
                    cap *= 2;
                }
            }
            if (open)
                open[depth++] = name;
        } else if (open && e->kind == TES_EV_END && depth) {
            name = open[--depth];
        }
        switch (e->kind) {
        case TES_EV_BEGIN:
        case TES_EV_END:
            fprintf(out, ",\n{\"name\":");
            put_string(out, name);
            fprintf(out, ",\"cat\":\"task\",\"ph\":\"%s\",\"ts\":%.3f,"
                         "\"pid\":1,\"tid\":%d}",
                    e->kind == TES_EV_BEGIN ? "B" : "E", us, tid);
            break;
        case TES_EV_PARK:
        case TES_EV_UNPARK:
            fprintf(out, ",\n{\"name\":\"park\",\"cat\":\"park\","
                         "\"ph\":\"%s\",\"ts\":%.3f,\"pid\":1,\"tid\":%d}",
                    e->kind == TES_EV_PARK ? "B" : "E", us, tid);
            break;
        case TES_EV_STEAL:
            fprintf(out, ",\n{\"name\":\"steal\",\"cat\":\"steal\","
                         "\"ph\":\"i\",\"s\":\"t\",\"ts\":%.3f,\"pid\":1,"
                         "\"tid\":%d,\"args\":{\"victim\":%d}}",
                    us, tid, e->arg);
            break;
        case TES_EV_COUNTER:
            fprintf(out, ",\n{\"name\":");
            put_string(out, e->name);
            fprintf(out, ",\"ph\":\"C\",\"ts\":%.3f,\"pid\":1,\"tid\":%d,"
                         "\"args\":{\"value\":%.17g}}",
                    us, tid, e->value);
            break;
        default:
            break;
        }
    }
    free(open);
}

static void write_trace(tes_pool *p, FILE *out)
{
    int slots = p->nworkers + p->nlend;
    uint64_t dropped = 0;
    fprintf(out, "{\"traceEvents\":[\n");
    fprintf(out, "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,\"tid\":0,"
                 "\"args\":{\"name\":");
    put_string(out, p->name);
    fprintf(out, "}}");
    for (int i = 0; i < slots; i++) {
        tes_trace_buf *t = p->workers[i].trace;
        if (i >= p->nworkers && (!t || t->n == 0))
            continue; /* a lend slot nobody used */
        fprintf(out, ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,"
                     "\"tid\":%d,\"args\":{\"name\":\"%s %d\"}}",
                i, i < p->nworkers ? "worker" : "lent",
                i < p->nworkers ? i : i - p->nworkers);
        fprintf(out, ",\n{\"name\":\"thread_sort_index\",\"ph\":\"M\","
                     "\"pid\":1,\"tid\":%d,\"args\":{\"sort_index\":%d}}",
                i, i);
        if (!t)
            continue;
        dropped += t->dropped;
        write_events(out, t, i);
    }
    /* the tracks programs opened, after the workers' */
    trace_shared *sh = p->workers[0].trace ? p->workers[0].trace->shared
                                           : NULL;
    for (int k = 0; sh && k < sh->ntracks; k++) {
        const tes_trace_buf *t = sh->tracks[k];
        int tid = slots + k;
        fprintf(out, ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,"
                     "\"tid\":%d,\"args\":{\"name\":", tid);
        put_string(out, t->track);
        fprintf(out, "}},\n{\"name\":\"thread_sort_index\",\"ph\":\"M\","
                     "\"pid\":1,\"tid\":%d,\"args\":{\"sort_index\":%d}}",
                tid, tid);
        dropped += t->dropped;
        write_events(out, t, tid);
    }
    fprintf(out, "\n],\"displayTimeUnit\":\"ns\",\"otherData\":{\"pool\":");
    put_string(out, p->name);
    fprintf(out, ",\"workers\":%d,\"dropped_events\":%llu", p->nworkers,
            (unsigned long long)dropped);
    for (int k = 0; sh && k < sh->nmeta; k++) {
        fputc(',', out);
        put_string(out, sh->meta[k].key);
        fprintf(out, ":%.17g", sh->meta[k].value);
    }
    fprintf(out, "}}\n");
}

static void buf_free(tes_trace_buf *t)
{
    if (!t)
        return;
    for (name_chunk *c = t->names, *n; c; c = n) {
        n = c->next;
        free(c);
    }
    free(t->ev);
    free(t);
}

void tes__trace_finish(tes_pool *p)
{
    int slots = p->nworkers + p->nlend;
    if (p->trace_path) {
        FILE *out = fopen(p->trace_path, "w");
        if (out) { /* a library does not print: a failed trace is lost */
            write_trace(p, out);
            fclose(out);
        }
    }
    trace_shared *sh = p->workers[0].trace ? p->workers[0].trace->shared
                                           : NULL;
    if (sh) {
        for (int k = 0; k < sh->ntracks; k++)
            buf_free(sh->tracks[k]);
        free(sh->tracks);
        free(sh->meta);
        pthread_mutex_destroy(&sh->lock);
        free(sh);
    }
    for (int i = 0; i < slots; i++) {
        buf_free(p->workers[i].trace);
        p->workers[i].trace = NULL;
    }
}

const char *tes_pool_trace_path(const tes_pool *p)
{
    return p ? p->trace_path : NULL;
}

/* ---- spans of a program's own (tessera.h) --------------------------------- */

/* A copy of s (at most TES_TRACE_NAME_MAX - 1 bytes of it) in t's
 * chunks, or a fixed name when out of memory. */
static const char *intern_str(tes_trace_buf *t, const char *str)
{
    size_t len = strlen(str);
    if (len > TES_TRACE_NAME_MAX - 1)
        len = TES_TRACE_NAME_MAX - 1;
    const char *buf = str;
    name_chunk *c = t->names;
    if (!c || c->used + len + 1 > sizeof c->text) {
        c = malloc(sizeof *c);
        if (!c)
            return "span";
        c->next = t->names;
        c->used = 0;
        t->names = c;
    }
    char *s = c->text + c->used;
    memcpy(s, buf, len);
    s[len] = 0;
    c->used += len + 1;
    return s;
}

/* The same for a printf-style name. */
static const char *intern(tes_trace_buf *t, const char *fmt, va_list ap)
{
    char buf[TES_TRACE_NAME_MAX];
    if (vsnprintf(buf, sizeof buf, fmt, ap) < 0)
        buf[0] = 0;
    return intern_str(t, buf);
}

tes_trace_track *tes_trace_self(void)
{
    tes_worker *w = tes__self;
    return w ? (tes_trace_track *)w->trace : NULL;
}

tes_trace_track *tes_trace_track_open(tes_pool *pool, const char *name)
{
    if (!pool || !pool->workers[0].trace)
        return NULL;
    trace_shared *sh = pool->workers[0].trace->shared;
    tes_trace_buf *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->t0_ns = pool->t0_ns;
    snprintf(t->track, sizeof t->track, "%s", name ? name : "track");
    pthread_mutex_lock(&sh->lock);
    if (sh->ntracks == sh->cap) {
        int cap = sh->cap ? 2 * sh->cap : 4;
        tes_trace_buf **a = realloc(sh->tracks, sizeof *a * (size_t)cap);
        if (!a) {
            pthread_mutex_unlock(&sh->lock);
            free(t);
            return NULL;
        }
        sh->tracks = a;
        sh->cap = cap;
    }
    sh->tracks[sh->ntracks++] = t;
    pthread_mutex_unlock(&sh->lock);
    return (tes_trace_track *)t;
}

void tes_trace_begin(tes_trace_track *track, const char *fmt, ...)
{
    tes_trace_buf *t = (tes_trace_buf *)track;
    if (!t || !fmt)
        return;
    tes_trace_ev *e = record(t, TES_EV_BEGIN, "span", 0);
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        e->name = intern(t, fmt, ap);
        va_end(ap);
    }
}

/* The innermost span of t still open (its begin event), or NULL. */
static tes_trace_ev *innermost(tes_trace_buf *t)
{
    size_t depth = 0;
    for (size_t k = t->n; k-- > 0;) {
        tes_trace_ev *e = &t->ev[k];
        if (e->kind == TES_EV_END || e->kind == TES_EV_UNPARK)
            depth++;
        else if (e->kind == TES_EV_BEGIN || e->kind == TES_EV_PARK) {
            if (depth == 0)
                return e->kind == TES_EV_BEGIN ? e : NULL;
            depth--;
        }
    }
    return NULL;
}

void tes_trace_end(tes_trace_track *track)
{
    tes_trace_buf *t = (tes_trace_buf *)track;
    if (t)
        record(t, TES_EV_END, NULL, 0);
}

void tes_trace_end_as(tes_trace_track *track, const char *fmt, ...)
{
    tes_trace_buf *t = (tes_trace_buf *)track;
    if (!t)
        return;
    tes_trace_ev *b = t->skip ? NULL : innermost(t);
    if (b && fmt) {
        va_list ap;
        va_start(ap, fmt);
        b->name = intern(t, fmt, ap);
        va_end(ap);
    }
    record(t, TES_EV_END, NULL, 0);
}

void tes_trace_name_task(const char *fmt, ...)
{
    tes_worker *w = tes__self;
    tes_trace_buf *t = w ? w->trace : NULL;
    if (!t || !fmt || t->skip)
        return;
    tes_trace_ev *b = innermost(t);
    if (b) {
        va_list ap;
        va_start(ap, fmt);
        b->name = intern(t, fmt, ap);
        va_end(ap);
    }
}

void tes_trace_counter(tes_trace_track *track, const char *name,
                       double value)
{
    tes_trace_buf *t = (tes_trace_buf *)track;
    if (!t || !name)
        return;
    tes_trace_ev *e = record(t, TES_EV_COUNTER, NULL, 0);
    if (e) {
        e->name = intern_str(t, name);
        e->value = value;
    }
}

void tes_trace_add(tes_pool *pool, const char *key, double value)
{
    if (!pool || !key || !pool->workers[0].trace)
        return;
    trace_shared *sh = pool->workers[0].trace->shared;
    pthread_mutex_lock(&sh->lock);
    int k = 0;
    while (k < sh->nmeta && strncmp(sh->meta[k].key, key,
                                    sizeof sh->meta[k].key - 1) != 0)
        k++;
    if (k == sh->nmeta) {
        if (sh->nmeta == sh->meta_cap) {
            int cap = sh->meta_cap ? 2 * sh->meta_cap : 8;
            struct meta *m = realloc(sh->meta, sizeof *m * (size_t)cap);
            if (!m) {
                pthread_mutex_unlock(&sh->lock);
                return; /* a library does not print: the number is lost */
            }
            sh->meta = m;
            sh->meta_cap = cap;
        }
        snprintf(sh->meta[k].key, sizeof sh->meta[k].key, "%s", key);
        sh->meta[k].value = 0;
        sh->nmeta++;
    }
    sh->meta[k].value += value;
    pthread_mutex_unlock(&sh->lock);
}
