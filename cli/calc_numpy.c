/*
 * calc_numpy.c — gdal_calc.py's --calc expressions (Python with numpy)
 * translated into raster-tool's band-math language: a recursive-descent
 * parser of the Python subset people write for gdal_calc (arithmetic,
 * comparisons, masks, where, logical_and/or, astype to floats, numpy's
 * elementwise functions) that prints a fully parenthesised expression,
 * and refuses by name whatever it does not translate exactly.
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calc_numpy.h"

/* One translated subexpression: its text (malloc'd) and whether it is a
 * truth value (0 or 1), which decides what & | ~ may mean. */
typedef struct node {
    char *s;
    bool boolean;
} node;

typedef struct np_parser {
    const char *src;
    size_t pos;
    const int *band;        /* band of each letter, 1-based */
    char *msg;
    size_t msg_size;
    bool failed;
} np_parser;

static bool fail(np_parser *p, const char *fmt, ...)
{
    if (!p->failed) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->msg, p->msg_size, fmt, ap);
        va_end(ap);
        p->failed = true;
    }
    return false;
}

static node mk(bool boolean, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    node n = { NULL, boolean };
    if (vasprintf(&n.s, fmt, ap) < 0)
        n.s = NULL;
    va_end(ap);
    return n;
}

static void skip_ws(np_parser *p)
{
    while (p->src[p->pos] == ' ' || p->src[p->pos] == '\t' ||
           p->src[p->pos] == '\n' || p->src[p->pos] == '\r')
        p->pos++;
}

/* Consumes s (an operator) when it comes next and is not the start of a
 * longer one in not_before ("*" not followed by "*"). */
static bool eat(np_parser *p, const char *s, const char *not_before)
{
    skip_ws(p);
    size_t n = strlen(s);
    if (strncmp(p->src + p->pos, s, n) != 0)
        return false;
    if (not_before && p->src[p->pos + n] &&
        strchr(not_before, p->src[p->pos + n]))
        return false;
    p->pos += n;
    return true;
}

/* Consumes the keyword w when it comes next as a whole word. */
static bool eat_word(np_parser *p, const char *w)
{
    skip_ws(p);
    size_t n = strlen(w);
    const char *s = p->src + p->pos;
    if (strncmp(s, w, n) != 0 || isalnum((unsigned char)s[n]) || s[n] == '_')
        return false;
    p->pos += n;
    return true;
}

static bool ident(np_parser *p, char *out, size_t size)
{
    skip_ws(p);
    const char *s = p->src + p->pos;
    if (!isalpha((unsigned char)*s) && *s != '_')
        return false;
    size_t n = 0;
    while (isalnum((unsigned char)s[n]) || s[n] == '_')
        n++;
    if (n >= size)
        return fail(p, "name '%.40s' is too long", s);
    memcpy(out, s, n);
    out[n] = 0;
    p->pos += n;
    return true;
}

static node expr(np_parser *p);

static node bad_node(void)
{
    node n = { NULL, false };
    return n;
}

static void drop(node *n)
{
    free(n->s);
    n->s = NULL;
}

static node binary(np_parser *p, node a, node b, const char *op,
                   bool boolean)
{
    if (!a.s || !b.s || p->failed) {
        drop(&a);
        drop(&b);
        return bad_node();
    }
    node n = mk(boolean, "(%s %s %s)", a.s, op, b.s);
    drop(&a);
    drop(&b);
    return n;
}

/* ---- atoms and calls ---------------------------------------------------- */

static node number(np_parser *p)
{
    skip_ws(p);
    const char *s = p->src + p->pos;
    char buf[64];
    size_t n = 0, i = 0;
    /* Python's digits may hold underscores; hex, octal and complex
     * literals are not numbers here */
    while (s[i] && (isdigit((unsigned char)s[i]) || s[i] == '.' ||
                    s[i] == '_' ||
                    ((s[i] == 'e' || s[i] == 'E') && i > 0) ||
                    ((s[i] == '+' || s[i] == '-') && i > 0 &&
                     (s[i - 1] == 'e' || s[i - 1] == 'E')))) {
        if (s[i] != '_' && n + 1 < sizeof buf)
            buf[n++] = s[i];
        i++;
    }
    buf[n] = 0;
    char *end;
    double v = strtod(buf, &end);
    if (n == 0 || *end || isalpha((unsigned char)s[i])) {
        fail(p, "'%.20s' is not a number that is translated", s);
        return bad_node();
    }
    p->pos += i;
    return mk(false, "%.17g", v);
}

static int args(np_parser *p, node *a, int max, const char *fn)
{
    int n = 0;
    if (eat(p, ")", NULL))
        return 0;
    do {
        if (n == max) {
            fail(p, "%s takes %d argument%s", fn, max, max == 1 ? "" : "s");
            return n;
        }
        a[n++] = expr(p);
        if (p->failed)
            return n;
    } while (eat(p, ",", NULL));
    if (!eat(p, ")", NULL))
        fail(p, "expected ')' after the arguments of %s", fn);
    return n;
}

/* numpy's elementwise functions that our language has, under their numpy
 * names (with or without numpy. / np.). */
static const struct {
    const char *numpy, *ours;
    int nargs;
} fns[] = {
    { "sqrt", "sqrt", 1 },     { "exp", "exp", 1 },
    { "log", "log", 1 },       { "log10", "log10", 1 },
    { "sin", "sin", 1 },       { "cos", "cos", 1 },
    { "tan", "tan", 1 },       { "floor", "floor", 1 },
    { "ceil", "ceil", 1 },     { "abs", "abs", 1 },
    { "absolute", "abs", 1 },  { "fabs", "abs", 1 },
    { "arctan2", "atan2", 2 }, { "power", "pow", 2 },
    { "minimum", "min", 2 },   { "maximum", "max", 2 },
    { "fmin", "min", 2 },      { "fmax", "max", 2 },
    { "where", "where", 3 },   { "clip", "clamp", 3 },
};

static node call(np_parser *p, const char *name)
{
    node a[3] = { { NULL, false }, { NULL, false }, { NULL, false } };
    int n = args(p, a, 3, name);
    node r = bad_node();
    if (p->failed)
        goto out;
    if (!strcmp(name, "logical_and") || !strcmp(name, "logical_or") ||
        !strcmp(name, "logical_xor")) {
        if (n != 2) {
            fail(p, "%s takes 2 arguments", name);
            goto out;
        }
        if (name[8] == 'x')
            r = mk(true, "((%s != 0) != (%s != 0))", a[0].s, a[1].s);
        else
            r = mk(true, "(%s %s %s)", a[0].s,
                   name[8] == 'a' ? "&&" : "||", a[1].s);
        goto out;
    }
    if (!strcmp(name, "logical_not")) {
        if (n != 1)
            fail(p, "logical_not takes 1 argument");
        else
            r = mk(true, "(!%s)", a[0].s);
        goto out;
    }
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
        if (!strcmp(name, fns[i].numpy)) {
            if (n != fns[i].nargs) {
                fail(p, "%s takes %d argument%s", name, fns[i].nargs,
                     fns[i].nargs == 1 ? "" : "s");
                goto out;
            }
            bool boolean = !strcmp(name, "where") && a[1].boolean &&
                           a[2].boolean;
            if (n == 1)
                r = mk(false, "%s(%s)", fns[i].ours, a[0].s);
            else if (n == 2)
                r = mk(false, "%s(%s, %s)", fns[i].ours, a[0].s, a[1].s);
            else
                r = mk(boolean, "%s(%s, %s, %s)", fns[i].ours, a[0].s,
                       a[1].s, a[2].s);
            goto out;
        }
    if (!strcmp(name, "round") || !strcmp(name, "around") ||
        !strcmp(name, "rint"))
        fail(p, "numpy.%s (halves to even) is not translated; use floor(x "
                "+ 0.5)", name);
    else
        fail(p, "the function %s is not translated", name);
out:
    for (int i = 0; i < 3; i++)
        drop(&a[i]);
    return r;
}

/* .astype(T): to a float type it changes nothing here (every value is
 * computed in double precision); integer casts truncate and wrap in
 * numpy, which the language does not do. */
static node astype(np_parser *p, node x)
{
    if (!eat(p, "(", NULL)) {
        drop(&x);
        fail(p, "expected '(' after astype");
        return bad_node();
    }
    skip_ws(p);
    char t[40] = "";
    char q = p->src[p->pos];
    if (q == '\'' || q == '"') {
        const char *s = p->src + p->pos + 1, *e = strchr(s, q);
        if (!e || (size_t)(e - s) >= sizeof t) {
            drop(&x);
            fail(p, "a string that does not end");
            return bad_node();
        }
        memcpy(t, s, (size_t)(e - s));
        t[e - s] = 0;
        p->pos += (size_t)(e - s) + 2;
    } else if (ident(p, t, sizeof t) &&
               (!strcmp(t, "numpy") || !strcmp(t, "np"))) {
        if (!eat(p, ".", NULL) || !ident(p, t, sizeof t)) {
            drop(&x);
            fail(p, "expected a numpy type in astype()");
            return bad_node();
        }
    }
    if (!eat(p, ")", NULL)) {
        drop(&x);
        fail(p, "expected ')' after the type of astype");
        return bad_node();
    }
    static const char *const floats[] = { "float", "float32", "float64",
                                          "double", "single", "f4", "f8",
                                          "float_" };
    for (size_t i = 0; i < sizeof floats / sizeof floats[0]; i++)
        if (!strcmp(t, floats[i]))
            return x;
    drop(&x);
    fail(p, "astype(%s) is not translated (only float types: values are "
            "computed in double precision)", t[0] ? t : "?");
    return bad_node();
}

static node atom(np_parser *p)
{
    skip_ws(p);
    char c = p->src[p->pos];
    if (c == '(') {
        p->pos++;
        node n = expr(p);
        if (!p->failed && !eat(p, ")", NULL)) {
            drop(&n);
            fail(p, "expected ')' at column %zu", p->pos + 1);
            return bad_node();
        }
        return n;
    }
    if (isdigit((unsigned char)c) || c == '.')
        return number(p);
    char name[64];
    if (!ident(p, name, sizeof name)) {
        if (!p->failed) {
            if (c)
                fail(p, "unexpected '%c' at column %zu", c, p->pos + 1);
            else
                fail(p, "unexpected end of the expression");
        }
        return bad_node();
    }
    if (!strcmp(name, "True"))
        return mk(true, "1");
    if (!strcmp(name, "False"))
        return mk(true, "0");
    if (!strcmp(name, "numpy") || !strcmp(name, "np")) {
        if (!eat(p, ".", NULL) || !ident(p, name, sizeof name)) {
            fail(p, "expected a name after numpy.");
            return bad_node();
        }
        if (!strcmp(name, "pi"))
            return mk(false, "%.17g", M_PI);
        if (!strcmp(name, "e"))
            return mk(false, "%.17g", M_E);
        if (!eat(p, "(", NULL)) {
            fail(p, "numpy.%s is not translated", name);
            return bad_node();
        }
        return call(p, name);
    }
    if (name[0] >= 'A' && name[0] <= 'Z' && !name[1]) {
        int b = p->band[name[0] - 'A'];
        return b > 1 ? mk(false, "%c[%d]", name[0], b)
                     : mk(false, "%c", name[0]);
    }
    if (name[0] >= 'a' && name[0] <= 'z' && !name[1]) {
        fail(p, "lowercase input %s is not supported: name inputs -A to -Z",
             name);
        return bad_node();
    }
    if (!strcmp(name, "pi"))
        return mk(false, "%.17g", M_PI);
    if (eat(p, "(", NULL))
        return call(p, name);
    fail(p, "the name %s is not translated", name);
    return bad_node();
}

static node primary(np_parser *p)
{
    node n = atom(p);
    while (!p->failed) {
        if (eat(p, "[", NULL)) {
            drop(&n);
            fail(p, "subscripts ([...]) are not translated: pick bands with "
                    "--A_band");
            return bad_node();
        }
        if (!eat(p, ".", "0123456789"))
            break;
        char name[64];
        if (!ident(p, name, sizeof name)) {
            drop(&n);
            fail(p, "expected a name after '.'");
            return bad_node();
        }
        if (strcmp(name, "astype")) {
            drop(&n);
            fail(p, "the method .%s is not translated", name);
            return bad_node();
        }
        n = astype(p, n);
    }
    return n;
}

/* ---- operators, lowest last --------------------------------------------- */

static node factor(np_parser *p);

/* power: primary ['**' factor]; right-associative, and binds tighter
 * than a unary minus on its left (-2**2 is -4) */
static node power(np_parser *p)
{
    node a = primary(p);
    if (p->failed || !eat(p, "**", NULL))
        return a;
    node b = factor(p);
    return binary(p, a, b, "^", false);
}

static node factor(np_parser *p)
{
    if (eat(p, "-", NULL)) {
        node a = factor(p);
        if (!a.s)
            return a;
        node n = mk(false, "(-%s)", a.s);
        drop(&a);
        return n;
    }
    if (eat(p, "+", NULL))
        return factor(p);
    if (eat(p, "~", NULL)) {
        node a = factor(p);
        if (!a.s)
            return a;
        if (!a.boolean) {
            drop(&a);
            fail(p, "'~' on numbers (bitwise not) is not translated; it is "
                    "translated on masks such as ~(A > 0)");
            return bad_node();
        }
        node n = mk(true, "(!%s)", a.s);
        drop(&a);
        return n;
    }
    return power(p);
}

static node term(np_parser *p)
{
    node a = factor(p);
    while (!p->failed) {
        if (eat(p, "//", NULL)) {
            node b = factor(p);
            node d = binary(p, a, b, "/", false);
            if (!d.s)
                return d;
            a = mk(false, "floor(%s)", d.s);
            drop(&d);
        } else if (eat(p, "*", "*")) {
            a = binary(p, a, factor(p), "*", false);
        } else if (eat(p, "/", NULL)) {
            a = binary(p, a, factor(p), "/", false);
        } else if (eat(p, "%", NULL)) {
            /* numpy's remainder takes the divisor's sign; the language's
             * % is C's fmod: numpy's own fix-up of fmod */
            node b = factor(p);
            if (!a.s || !b.s || p->failed) {
                drop(&a);
                drop(&b);
                return bad_node();
            }
            node n = mk(false,
                        "where((%s %% %s) != 0 && ((%s %% %s) < 0) != "
                        "(%s < 0), (%s %% %s) + %s, (%s %% %s))",
                        a.s, b.s, a.s, b.s, b.s, a.s, b.s, b.s, a.s, b.s);
            drop(&a);
            drop(&b);
            a = n;
        } else if (eat(p, "@", NULL)) {
            drop(&a);
            fail(p, "'@' (matrix product) is not translated");
            return bad_node();
        } else {
            break;
        }
    }
    return a;
}

static node arith(np_parser *p)
{
    node a = term(p);
    while (!p->failed) {
        if (eat(p, "+", NULL))
            a = binary(p, a, term(p), "+", false);
        else if (eat(p, "-", NULL))
            a = binary(p, a, term(p), "-", false);
        else
            break;
    }
    return a;
}

static node shift(np_parser *p)
{
    node a = arith(p);
    if (!p->failed && (eat(p, "<<", NULL) || eat(p, ">>", NULL))) {
        drop(&a);
        fail(p, "bit shifts (<< >>) are not translated");
        return bad_node();
    }
    return a;
}

/* & ^ | on masks (truth values) are logical and, xor, or; on numbers they
 * are bitwise, which the language does not have. */
static node mask_op(np_parser *p, node a, node b, const char *py,
                    const char *ours)
{
    if (a.s && b.s && !p->failed && (!a.boolean || !b.boolean)) {
        drop(&a);
        drop(&b);
        fail(p, "'%s' on numbers (bitwise) is not translated; it is "
                "translated between masks such as (A > 0) %s (B < 5)",
             py, py);
        return bad_node();
    }
    if (!strcmp(py, "^")) {
        if (!a.s || !b.s || p->failed) {
            drop(&a);
            drop(&b);
            return bad_node();
        }
        node n = mk(true, "(%s != %s)", a.s, b.s);
        drop(&a);
        drop(&b);
        return n;
    }
    return binary(p, a, b, ours, true);
}

static node band_and(np_parser *p)
{
    node a = shift(p);
    while (!p->failed && eat(p, "&", NULL))
        a = mask_op(p, a, shift(p), "&", "&&");
    return a;
}

static node band_xor(np_parser *p)
{
    node a = band_and(p);
    while (!p->failed && eat(p, "^", NULL))
        a = mask_op(p, a, band_and(p), "^", "!=");
    return a;
}

static node band_or(np_parser *p)
{
    node a = band_xor(p);
    while (!p->failed && eat(p, "|", NULL))
        a = mask_op(p, a, band_xor(p), "|", "||");
    return a;
}

static node comparison(np_parser *p)
{
    node a = band_or(p);
    static const char *const ops[] = { "<=", ">=", "==", "!=", "<", ">" };
    for (size_t i = 0; !p->failed && i < sizeof ops / sizeof ops[0]; i++)
        if (eat(p, ops[i], i >= 4 ? "=" : NULL)) {
            a = binary(p, a, band_or(p), ops[i], true);
            for (size_t j = 0; !p->failed && j < sizeof ops / sizeof ops[0];
                 j++)
                if (eat(p, ops[j], j >= 4 ? "=" : NULL)) {
                    drop(&a);
                    fail(p, "chained comparisons (a < b < c) are not "
                            "translated: numpy refuses them on arrays; use "
                            "(a < b) & (b < c)");
                    return bad_node();
                }
            break;
        }
    return a;
}

static node not_test(np_parser *p)
{
    if (eat_word(p, "not")) {
        node a = not_test(p);
        if (!a.s)
            return a;
        node n = mk(true, "(!%s)", a.s);
        drop(&a);
        return n;
    }
    return comparison(p);
}

static node and_test(np_parser *p)
{
    node a = not_test(p);
    while (!p->failed && eat_word(p, "and"))
        a = binary(p, a, not_test(p), "&&", true);
    return a;
}

static node expr(np_parser *p)
{
    node a = and_test(p);
    while (!p->failed && eat_word(p, "or"))
        a = binary(p, a, and_test(p), "||", true);
    if (!p->failed && eat_word(p, "if")) {
        drop(&a);
        fail(p, "conditional expressions (x if c else y) are not "
                "translated; use where(c, x, y)");
        return bad_node();
    }
    return a;
}

int cli_numpy_translate(const char *src, const int band[26], char **out,
                        char *msg, size_t msg_size)
{
    np_parser p = { src, 0, band, msg, msg_size, false };
    node n = expr(&p);
    skip_ws(&p);
    if (!p.failed && src[p.pos])
        fail(&p, "unexpected '%.20s' at column %zu", src + p.pos, p.pos + 1);
    if (!p.failed && !n.s)
        fail(&p, "out of memory");
    if (p.failed) {
        drop(&n);
        return -1;
    }
    *out = n.s;
    return 0;
}
