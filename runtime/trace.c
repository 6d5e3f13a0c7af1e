/*
 * trace.c — the optional per-worker event trace: each worker (and lend
 * slot) appends to its own buffer with no synchronisation; tes_pool_destroy
 * writes all of them as Chrome trace-event JSON after the workers joined.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "trace.h"

typedef struct tes_trace_ev {
    long long ts;     /* ns since the pool was created */
    const char *name; /* not owned */
    int arg;
    int kind;
} tes_trace_ev;

/* Written only by the thread that owns the slot; read by the writer after
 * that thread has been joined (or has left its lend slot: release/acquire
 * on the slot's lent flag). */
struct tes_trace_buf {
    tes_trace_ev *ev;
    size_t n, cap;
    size_t open;        /* spans begun and not ended */
    size_t skip;        /* spans begun while full: their ends are dropped */
    uint64_t dropped;   /* events dropped */
};

int tes__trace_init(tes_pool *p)
{
    int slots = p->nworkers + p->nlend;
    for (int i = 0; i < slots; i++) {
        tes_trace_buf *t = calloc(1, sizeof *t);
        if (!t)
            return -ENOMEM;
        p->workers[i].trace = t;
    }
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

void tes__trace_event(tes_worker *w, int kind, const char *name, int arg)
{
    tes_trace_buf *t = w->trace;
    bool begins = kind == TES_EV_BEGIN || kind == TES_EV_PARK;
    bool ends = kind == TES_EV_END || kind == TES_EV_UNPARK;
    if (ends && t->skip) {
        t->skip--; /* its begin was dropped */
        t->dropped++;
        return;
    }
    /* A span is recorded only with room for the ends of every open span,
     * so spans are never cut in half. */
    size_t need = ends ? 1 : t->open + 2;
    if (!ends && (t->skip || !reserve(t, need))) {
        if (begins)
            t->skip++;
        t->dropped++;
        return;
    }
    if (ends && !reserve(t, 1)) { /* cannot happen: room was kept */
        t->dropped++;
        return;
    }
    tes_trace_ev *e = &t->ev[t->n++];
    e->ts = tes__now_ns() - w->pool->t0_ns;
    e->name = name;
    e->arg = arg;
    e->kind = kind;
    if (begins)
        t->open++;
    else if (ends && t->open)
        t->open--;
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
        for (size_t k = 0; k < t->n; k++) {
            const tes_trace_ev *e = &t->ev[k];
            double us = (double)e->ts / 1000.0;
            switch (e->kind) {
            case TES_EV_BEGIN:
            case TES_EV_END:
                fprintf(out, ",\n{\"name\":");
                put_string(out, e->name ? e->name : "task");
                fprintf(out, ",\"cat\":\"task\",\"ph\":\"%s\",\"ts\":%.3f,"
                             "\"pid\":1,\"tid\":%d}",
                        e->kind == TES_EV_BEGIN ? "B" : "E", us, i);
                break;
            case TES_EV_PARK:
            case TES_EV_UNPARK:
                fprintf(out, ",\n{\"name\":\"park\",\"cat\":\"park\","
                             "\"ph\":\"%s\",\"ts\":%.3f,\"pid\":1,\"tid\":%d}",
                        e->kind == TES_EV_PARK ? "B" : "E", us, i);
                break;
            case TES_EV_STEAL:
                fprintf(out, ",\n{\"name\":\"steal\",\"cat\":\"steal\","
                             "\"ph\":\"i\",\"s\":\"t\",\"ts\":%.3f,\"pid\":1,"
                             "\"tid\":%d,\"args\":{\"victim\":%d}}",
                        us, i, e->arg);
                break;
            default:
                break;
            }
        }
    }
    fprintf(out, "\n],\"displayTimeUnit\":\"ns\",\"otherData\":{\"pool\":");
    put_string(out, p->name);
    fprintf(out, ",\"workers\":%d,\"dropped_events\":%llu}}\n", p->nworkers,
            (unsigned long long)dropped);
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
    for (int i = 0; i < slots; i++) {
        tes_trace_buf *t = p->workers[i].trace;
        if (t) {
            free(t->ev);
            free(t);
            p->workers[i].trace = NULL;
        }
    }
}

const char *tes_pool_trace_path(const tes_pool *p)
{
    return p ? p->trace_path : NULL;
}
