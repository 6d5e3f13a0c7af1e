/*
 * calc_parse.c — the band-math language: a tokenizer and a recursive-descent
 * parser that emits row bytecode directly (constant subexpressions folded,
 * each input band loaded once, temporaries recycled), with errors that name
 * the column: "unexpected ')' at column 12".
 *
 * Precedence, lowest first: || ; && ; == != ; < <= > >= ; + - ; * / % ;
 * unary - + ! ; ^ (right-associative, so -2^2 = -4 and 2^3^2 = 512).
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calc_internal.h"

#define MAX_REGS 512
#define MAX_DEPTH 200

enum { R_FREE, R_TEMP, R_CONST, R_LOAD };

typedef struct parser {
    const char *s;
    size_t pos;          /* next character */
    /* the current token */
    int tok;             /* 0 end, 'n' number, 'i' input, 'f' name, or an
                            operator code below */
    size_t tpos, tlen;   /* its place in s */
    double num;
    tes_expr *e;
    int cap_code;
    unsigned char kind[MAX_REGS];
    int load_reg[26][64]; /* register of a loaded input band + 1, or 0 */
    int depth;
    tes_expr_error *err;
    int rc;
} parser;

/* two-character operators */
enum { T_LE = 256, T_GE, T_EQ, T_NE, T_AND, T_OR };

static int fail(parser *p, size_t pos, const char *fmt, const char *what)
{
    if (p->rc == 0) {
        p->rc = -EINVAL;
        if (p->err) {
            char m[120];
            snprintf(m, sizeof m, fmt, what);
            p->err->column = (int)pos + 1;
            snprintf(p->err->message, sizeof p->err->message,
                     "%s at column %d", m, (int)pos + 1);
        }
    }
    return -1;
}

static int fail_tok(parser *p)
{
    if (p->tok == 0)
        return fail(p, p->tpos, "unexpected end of expression%s", "");
    char t[40];
    size_t n = p->tlen < 30 ? p->tlen : 30;
    memcpy(t, p->s + p->tpos, n);
    t[n] = 0;
    char m[60];
    snprintf(m, sizeof m, "unexpected '%s'", t);
    return fail(p, p->tpos, "%s", m);
}

static void next(parser *p)
{
    const char *s = p->s;
    while (s[p->pos] == ' ' || s[p->pos] == '\t' || s[p->pos] == '\n' ||
           s[p->pos] == '\r')
        p->pos++;
    p->tpos = p->pos;
    char ch = s[p->pos];
    if (ch == 0) {
        p->tok = 0;
        p->tlen = 0;
        return;
    }
    if (isdigit((unsigned char)ch) ||
        (ch == '.' && isdigit((unsigned char)s[p->pos + 1]))) {
        size_t i = p->pos;
        while (isdigit((unsigned char)s[i]))
            i++;
        if (s[i] == '.')
            for (i++; isdigit((unsigned char)s[i]); i++)
                ;
        if ((s[i] == 'e' || s[i] == 'E') &&
            (isdigit((unsigned char)s[i + 1]) ||
             ((s[i + 1] == '+' || s[i + 1] == '-') &&
              isdigit((unsigned char)s[i + 2])))) {
            i += 2;
            while (isdigit((unsigned char)s[i]))
                i++;
        }
        char buf[64];
        size_t n = i - p->pos;
        if (n >= sizeof buf) {
            p->tok = '?';
            p->tlen = n;
            fail(p, p->tpos, "number too long%s", "");
            return;
        }
        memcpy(buf, s + p->pos, n);
        buf[n] = 0;
        p->num = strtod(buf, NULL);
        p->tok = 'n';
        p->tlen = n;
        p->pos = i;
        return;
    }
    if (isalpha((unsigned char)ch) || ch == '_') {
        size_t i = p->pos;
        while (isalnum((unsigned char)s[i]) || s[i] == '_')
            i++;
        p->tlen = i - p->pos;
        p->tok = (p->tlen == 1 && ch >= 'A' && ch <= 'Z') ? 'i' : 'f';
        p->pos = i;
        return;
    }
    static const struct { const char *t; int code; } two[] = {
        { "<=", T_LE }, { ">=", T_GE }, { "==", T_EQ }, { "!=", T_NE },
        { "&&", T_AND }, { "||", T_OR },
    };
    for (size_t k = 0; k < sizeof two / sizeof two[0]; k++)
        if (strncmp(s + p->pos, two[k].t, 2) == 0) {
            p->tok = two[k].code;
            p->tlen = 2;
            p->pos += 2;
            return;
        }
    if (strchr("+-*/%^<>!(),[]", ch)) {
        p->tok = ch;
        p->tlen = 1;
        p->pos++;
        return;
    }
    p->tok = '?';
    p->tlen = 1;
    char c2[2] = { ch, 0 };
    fail(p, p->tpos, "unexpected character '%s'", c2);
}

/* ---- registers and code ------------------------------------------------- */

/* A register. Constants are filled before the program runs, so they never
 * take a recycled temporary: an earlier instruction would overwrite them.
 * Anything written by an instruction may reuse a dead temporary. */
static int new_reg(parser *p, int kind)
{
    for (int r = 0; kind != R_CONST && r < p->e->n_regs; r++)
        if (p->kind[r] == R_FREE) {
            p->kind[r] = (unsigned char)kind;
            return r;
        }
    if (p->e->n_regs >= MAX_REGS)
        return fail(p, p->tpos, "expression too complex%s", "");
    p->kind[p->e->n_regs] = (unsigned char)kind;
    return p->e->n_regs++;
}

static void release(parser *p, int r)
{
    if (r >= 0 && p->kind[r] == R_TEMP)
        p->kind[r] = R_FREE;
}

static int konst(parser *p, double v)
{
    int r = new_reg(p, R_CONST);
    if (r >= 0) {
        p->e->konst[r] = v;
        p->e->is_const[r] = true;
    }
    return r;
}

static int emit(parser *p, calc_insn in)
{
    if (p->e->n_code == p->cap_code) {
        int cap = p->cap_code ? 2 * p->cap_code : 32;
        calc_insn *c = realloc(p->e->code, sizeof *c * (size_t)cap);
        if (!c) {
            p->rc = -ENOMEM;
            return -1;
        }
        p->e->code = c;
        p->cap_code = cap;
    }
    p->e->code[p->e->n_code++] = in;
    return in.dst;
}

/* An operation on registers a, b, c (-1 when unused): folded when all are
 * constants, else emitted into a fresh or recycled temporary. */
static int op(parser *p, calc_op o, int a, int b, int c)
{
    if (a < 0 || (b < -1) || (c < -1) || p->rc)
        return -1;
    const tes_expr *e = p->e;
    bool all_const = e->is_const[a] && (b < 0 || e->is_const[b]) &&
                     (c < 0 || e->is_const[c]);
    if (all_const) {
        double v = tes__calc_scalar(o, e->konst[a], b < 0 ? 0 : e->konst[b],
                                    c < 0 ? 0 : e->konst[c]);
        return konst(p, v);
    }
    release(p, a);
    release(p, b);
    release(p, c);
    int d = new_reg(p, R_TEMP);
    if (d < 0)
        return -1;
    calc_insn in = { o, d, a, b, c, 0, 0 };
    return emit(p, in);
}

static int load(parser *p, int input, int band)
{
    if (p->load_reg[input][band])
        return p->load_reg[input][band] - 1;
    int r = new_reg(p, R_LOAD);
    if (r < 0)
        return -1;
    calc_insn in = { OP_LOAD, r, -1, -1, -1, input, band };
    emit(p, in);
    p->load_reg[input][band] = r + 1;
    p->e->inputs |= 1u << input;
    if (band + 1 > p->e->max_band[input])
        p->e->max_band[input] = band + 1;
    return r;
}

/* ---- grammar ------------------------------------------------------------ */

static int parse_expr(parser *p);
static int parse_unary(parser *p);

static bool accept(parser *p, int tok)
{
    if (p->tok != tok)
        return false;
    next(p);
    return true;
}

static int expect(parser *p, int tok)
{
    if (p->rc)
        return -1;
    if (!accept(p, tok))
        return fail_tok(p);
    return 0;
}

/* An input reference A or A[2] at the current token; sets *input, *band. */
static int parse_input(parser *p, int *input, int *band)
{
    *input = p->s[p->tpos] - 'A';
    *band = 0;
    next(p);
    if (p->tok == '[') {
        next(p);
        size_t at = p->tpos;
        if (p->tok != 'n')
            return fail_tok(p);
        double v = p->num;
        if (v != floor(v) || v < 1 || v > 64) {
            char num[40];
            snprintf(num, sizeof num, "%g", v);
            return fail(p, at, "band %s out of range (1..64)", num);
        }
        *band = (int)v - 1;
        next(p);
        if (expect(p, ']'))
            return -1;
    }
    return 0;
}

static const struct fn_def {
    const char *name;
    int min_args, max_args;
    calc_op op;
} fns[] = {
    { "where", 3, 3, OP_WHERE }, { "min", 2, 16, OP_MIN },
    { "max", 2, 16, OP_MAX },    { "abs", 1, 1, OP_ABS },
    { "sqrt", 1, 1, OP_SQRT },   { "exp", 1, 1, OP_EXP },
    { "log", 1, 1, OP_LOG },     { "log10", 1, 1, OP_LOG10 },
    { "pow", 2, 2, OP_POW },     { "sin", 1, 1, OP_SIN },
    { "cos", 1, 1, OP_COS },     { "tan", 1, 1, OP_TAN },
    { "atan2", 2, 2, OP_ATAN2 }, { "floor", 1, 1, OP_FLOOR },
    { "ceil", 1, 1, OP_CEIL },   { "round", 1, 1, OP_ROUND },
    { "clamp", 3, 3, OP_CLAMP }, { "isnodata", 1, 1, OP_ISND },
};

static int parse_call(parser *p)
{
    size_t at = p->tpos, len = p->tlen;
    char name[40];
    snprintf(name, sizeof name, "%.*s", (int)(len < 39 ? len : 39),
             p->s + at);
    const struct fn_def *f = NULL;
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
        if (strlen(fns[i].name) == len && strncmp(fns[i].name, name, len) == 0)
            f = &fns[i];
    if (!f)
        return fail(p, at, "unknown name '%s'", name);
    next(p);
    if (p->tok != '(')
        return fail(p, at, "expected '(' after '%s'", name);
    next(p);
    if (f->op == OP_ISND) {
        if (p->tok != 'i')
            return fail(p, p->tpos,
                        "isnodata() needs an input such as A or A[2]%s", "");
        int input, band;
        if (parse_input(p, &input, &band))
            return -1;
        int r = load(p, input, band);
        if (expect(p, ')'))
            return -1;
        return op(p, OP_ISND, r, -1, -1);
    }
    int args[16], n = 0;
    for (;;) {
        if (n == f->max_args) {
            char m[80];
            snprintf(m, sizeof m, "too many arguments to %s()", name);
            return fail(p, p->tpos, "%s", m);
        }
        args[n++] = parse_expr(p);
        if (p->rc)
            return -1;
        if (!accept(p, ','))
            break;
    }
    if (p->tok != ')')
        return fail_tok(p);
    if (n < f->min_args) {
        char m[80];
        snprintf(m, sizeof m, "too few arguments to %s()", name);
        return fail(p, p->tpos, "%s", m);
    }
    next(p);
    int r = args[0];
    if (f->op == OP_MIN || f->op == OP_MAX) {
        for (int i = 1; i < n; i++)
            r = op(p, f->op, r, args[i], -1);
        return r;
    }
    return op(p, f->op, args[0], n > 1 ? args[1] : -1, n > 2 ? args[2] : -1);
}

static int parse_primary(parser *p)
{
    if (p->rc)
        return -1;
    switch (p->tok) {
    case 'n': {
        double v = p->num;
        next(p);
        return konst(p, v);
    }
    case 'i': {
        int input, band;
        if (parse_input(p, &input, &band))
            return -1;
        return load(p, input, band);
    }
    case 'f':
        return parse_call(p);
    case '(': {
        next(p);
        int r = parse_expr(p);
        if (expect(p, ')'))
            return -1;
        return r;
    }
    default:
        return fail_tok(p);
    }
}

static int parse_power(parser *p)
{
    int a = parse_primary(p);
    if (p->rc)
        return -1;
    if (accept(p, '^')) {
        int b = parse_unary(p); /* right-associative, allows 2^-1 */
        return op(p, OP_POW, a, b, -1);
    }
    return a;
}

static int parse_unary(parser *p)
{
    if (++p->depth > MAX_DEPTH)
        return fail(p, p->tpos, "expression nested too deeply%s", "");
    int r;
    if (accept(p, '-'))
        r = op(p, OP_NEG, parse_unary(p), -1, -1);
    else if (accept(p, '!'))
        r = op(p, OP_NOT, parse_unary(p), -1, -1);
    else if (accept(p, '+'))
        r = parse_unary(p);
    else
        r = parse_power(p);
    p->depth--;
    return r;
}

typedef struct level {
    int toks[4];
    calc_op ops[4];
} level;

static const level levels[] = {
    { { T_OR }, { OP_OR } },
    { { T_AND }, { OP_AND } },
    { { T_EQ, T_NE }, { OP_EQ, OP_NE } },
    { { '<', T_LE, '>', T_GE }, { OP_LT, OP_LE, OP_GT, OP_GE } },
    { { '+', '-' }, { OP_ADD, OP_SUB } },
    { { '*', '/', '%' }, { OP_MUL, OP_DIV, OP_MOD } },
};

static int parse_level(parser *p, int lv)
{
    if (lv == (int)(sizeof levels / sizeof levels[0]))
        return parse_unary(p);
    int a = parse_level(p, lv + 1);
    for (;;) {
        if (p->rc)
            return -1;
        int k;
        for (k = 0; k < 4 && levels[lv].toks[k]; k++)
            if (p->tok == levels[lv].toks[k])
                break;
        if (k == 4 || !levels[lv].toks[k])
            return a;
        next(p);
        int b = parse_level(p, lv + 1);
        a = op(p, levels[lv].ops[k], a, b, -1);
    }
}

static int parse_expr(parser *p)
{
    if (++p->depth > MAX_DEPTH)
        return fail(p, p->tpos, "expression nested too deeply%s", "");
    int r = parse_level(p, 0);
    p->depth--;
    return r;
}

int tes__expr_compile(tes_expr **out, const char *text, tes_expr_error *err)
{
    if (err) {
        err->column = 0;
        err->message[0] = 0;
    }
    if (!out || !text)
        return -EINVAL;
    *out = NULL;
    parser *p = calloc(1, sizeof *p);
    tes_expr *e = calloc(1, sizeof *e);
    if (e) {
        e->konst = calloc(MAX_REGS, sizeof *e->konst);
        e->is_const = calloc(MAX_REGS, sizeof *e->is_const);
    }
    if (!p || !e || !e->konst || !e->is_const) {
        free(p);
        tes__expr_free(e);
        return -ENOMEM;
    }
    p->s = text;
    p->e = e;
    p->err = err;
    next(p);
    int r = -1;
    if (p->rc == 0 && p->tok == 0)
        fail(p, p->tpos, "empty expression%s", "");
    else if (p->rc == 0)
        r = parse_expr(p);
    if (p->rc == 0 && p->tok != 0)
        fail_tok(p);
    int rc = p->rc;
    free(p);
    if (rc) {
        tes__expr_free(e);
        return rc;
    }
    e->result = r;
    *out = e;
    return 0;
}

void tes__expr_free(tes_expr *e)
{
    if (!e)
        return;
    free(e->code);
    free(e->konst);
    free(e->is_const);
    free(e);
}

uint32_t tes__expr_inputs(const tes_expr *e, int max_band[26])
{
    if (max_band)
        memcpy(max_band, e->max_band, sizeof e->max_band);
    return e->inputs;
}
