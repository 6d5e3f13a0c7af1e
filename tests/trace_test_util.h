/*
 * trace_test_util.h — reads a Chrome trace back for the suites that check
 * spans: a strict JSON parser into a small tree (objects, arrays,
 * strings, numbers, literals), and lookups by key. Header-only; a parse
 * error fails the test with its byte offset.
 */
#ifndef TES_TRACE_TEST_UTIL_H
#define TES_TRACE_TEST_UTIL_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { JV_NULL, JV_BOOL, JV_NUM, JV_STR, JV_ARR, JV_OBJ } jv_kind;

typedef struct jv {
    jv_kind kind;
    double num;          /* JV_NUM, JV_BOOL */
    char *str;           /* JV_STR (unescaped; \u escapes become '?') */
    struct jv *items;    /* JV_ARR, JV_OBJ: the values */
    char **keys;         /* JV_OBJ: the keys */
    size_t n;
} jv;

typedef struct jv_src {
    const char *s;
    size_t i, n;
} jv_src;

static inline void jv_space(jv_src *p)
{
    while (p->i < p->n && strchr(" \t\r\n", p->s[p->i]))
        p->i++;
}

static inline bool jv_eat(jv_src *p, char c)
{
    jv_space(p);
    if (p->i < p->n && p->s[p->i] == c) {
        p->i++;
        return true;
    }
    return false;
}

static inline char *jv_string(jv_src *p)
{
    if (!jv_eat(p, '"'))
        return NULL;
    size_t cap = 16, k = 0;
    char *out = malloc(cap);
    while (p->i < p->n) {
        unsigned char c = (unsigned char)p->s[p->i++];
        if (c == '"') {
            out[k] = 0;
            return out;
        }
        if (c < 0x20)
            break;
        if (c == '\\') {
            if (p->i >= p->n)
                break;
            c = (unsigned char)p->s[p->i++];
            if (c == 'u') {
                if (p->i + 4 > p->n)
                    break;
                p->i += 4;
                c = '?';
            } else if (c == 'n') {
                c = '\n';
            } else if (c == 't') {
                c = '\t';
            } else if (!strchr("\"\\/bfr", c)) {
                break;
            }
        }
        if (k + 2 > cap)
            out = realloc(out, cap *= 2);
        out[k++] = (char)c;
    }
    free(out);
    return NULL;
}

static inline bool jv_value(jv_src *p, jv *v, int depth);

static inline bool jv_items(jv_src *p, jv *v, int depth, char close,
                            bool keyed)
{
    size_t cap = 0;
    if (jv_eat(p, close))
        return true;
    do {
        if (v->n == cap) {
            cap = cap ? 2 * cap : 8;
            v->items = realloc(v->items, cap * sizeof *v->items);
            if (keyed)
                v->keys = realloc(v->keys, cap * sizeof *v->keys);
        }
        if (keyed) {
            v->keys[v->n] = jv_string(p);
            if (!v->keys[v->n] || !jv_eat(p, ':'))
                return false;
        }
        memset(&v->items[v->n], 0, sizeof v->items[v->n]);
        if (!jv_value(p, &v->items[v->n++], depth + 1))
            return false;
    } while (jv_eat(p, ','));
    return jv_eat(p, close);
}

static inline bool jv_value(jv_src *p, jv *v, int depth)
{
    jv_space(p);
    if (p->i >= p->n || depth > 64)
        return false;
    char c = p->s[p->i];
    if (c == '{') {
        p->i++;
        v->kind = JV_OBJ;
        return jv_items(p, v, depth, '}', true);
    }
    if (c == '[') {
        p->i++;
        v->kind = JV_ARR;
        return jv_items(p, v, depth, ']', false);
    }
    if (c == '"') {
        v->kind = JV_STR;
        return (v->str = jv_string(p)) != NULL;
    }
    static const struct { const char *w; jv_kind k; double n; } lits[] = {
        { "true", JV_BOOL, 1 }, { "false", JV_BOOL, 0 }, { "null", JV_NULL, 0 }
    };
    for (size_t k = 0; k < 3; k++)
        if (!strncmp(p->s + p->i, lits[k].w, strlen(lits[k].w))) {
            p->i += strlen(lits[k].w);
            v->kind = lits[k].k;
            v->num = lits[k].n;
            return true;
        }
    if (!strchr("-0123456789", c))
        return false;
    char *end;
    v->num = strtod(p->s + p->i, &end);
    v->kind = JV_NUM;
    p->i = (size_t)(end - p->s);
    return true;
}

static inline void jv_free(jv *v)
{
    for (size_t k = 0; k < v->n; k++) {
        jv_free(&v->items[k]);
        if (v->keys)
            free(v->keys[k]);
    }
    free(v->items);
    free(v->keys);
    free(v->str);
    memset(v, 0, sizeof *v);
}

/* Parses the file at path into *v; fails the test on any error. */
static inline void jv_load(const char *path, jv *v)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "no trace at %s", path);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)len + 1);
    ck_assert_int_eq(fread(buf, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    jv_src p = { buf, 0, (size_t)len };
    memset(v, 0, sizeof *v);
    bool ok = jv_value(&p, v, 0);
    jv_space(&p);
    ck_assert_msg(ok && p.i == p.n, "%s: invalid JSON near byte %zu", path,
                  p.i);
    free(buf);
}

/* v's member key, or NULL (v may be NULL or not an object). */
static inline const jv *jv_get(const jv *v, const char *key)
{
    if (!v || v->kind != JV_OBJ)
        return NULL;
    for (size_t k = 0; k < v->n; k++)
        if (!strcmp(v->keys[k], key))
            return &v->items[k];
    return NULL;
}

static inline const char *jv_str(const jv *v, const char *key)
{
    const jv *m = jv_get(v, key);
    return m && m->kind == JV_STR ? m->str : "";
}

static inline double jv_num(const jv *v, const char *key, double dflt)
{
    const jv *m = jv_get(v, key);
    return m && m->kind == JV_NUM ? m->num : dflt;
}

#endif
