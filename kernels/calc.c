/*
 * calc.c — evaluates compiled band-math bytecode over tile rows (one tight
 * loop per instruction over a whole row) and the calc kernel around it.
 * Nodata inputs load as NaN and NaN propagates; isnodata() observes it,
 * where() reads only the chosen branch, && and || are three-valued (a
 * known false/true decides), and a NaN result is written as nodata.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "calc_internal.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#include <immintrin.h>
#endif

#if defined(__GNUC__) && !defined(__clang__)
/* The row loops are worth GCC's full vectoriser (-O2 tries only trivial
 * loops); no result changes: nothing here reads errno or traps. */
#pragma GCC optimize("O3", "no-math-errno", "no-trapping-math")
#endif

static inline double nan_or(double a, double b, double v)
{
    return (a != a || b != b) ? NAN : v;
}

static inline double and3(double a, double b)
{
    if ((a == a && a == 0) || (b == b && b == 0))
        return 0;
    return (a != a || b != b) ? NAN : 1;
}

static inline double or3(double a, double b)
{
    if ((a == a && a != 0) || (b == b && b != 0))
        return 1;
    return (a != a || b != b) ? NAN : 0;
}

double tes__calc_scalar(calc_op op, double a, double b, double c)
{
    switch (op) {
    case OP_ISND: return a != a;
    case OP_NEG: return -a;
    case OP_NOT: return a != a ? NAN : a == 0;
    case OP_ABS: return fabs(a);
    case OP_SQRT: return sqrt(a);
    case OP_EXP: return exp(a);
    case OP_LOG: return log(a);
    case OP_LOG10: return log10(a);
    case OP_SIN: return sin(a);
    case OP_COS: return cos(a);
    case OP_TAN: return tan(a);
    case OP_FLOOR: return floor(a);
    case OP_CEIL: return ceil(a);
    case OP_ROUND: return round(a);
    case OP_ADD: return a + b;
    case OP_SUB: return a - b;
    case OP_MUL: return a * b;
    case OP_DIV: return a / b;
    case OP_MOD: return fmod(a, b);
    case OP_POW: return nan_or(a, b, pow(a, b));
    case OP_LT: return nan_or(a, b, a < b);
    case OP_LE: return nan_or(a, b, a <= b);
    case OP_GT: return nan_or(a, b, a > b);
    case OP_GE: return nan_or(a, b, a >= b);
    case OP_EQ: return nan_or(a, b, a == b);
    case OP_NE: return nan_or(a, b, a != b);
    case OP_AND: return and3(a, b);
    case OP_OR: return or3(a, b);
    case OP_MIN: return nan_or(a, b, a < b ? a : b);
    case OP_MAX: return nan_or(a, b, a > b ? a : b);
    case OP_ATAN2: return atan2(a, b);
    case OP_WHERE: return a != a ? NAN : a != 0 ? b : c;
    case OP_CLAMP:
        return (a != a || b != b || c != c) ? NAN : a < b ? b : a > c ? c : a;
    case OP_LOAD: break;
    }
    return NAN;
}

/* One instruction over n values. Loops the compiler can vectorise for the
 * arithmetic; libm calls stay scalar. */
static inline __attribute__((always_inline)) void
run_insn_body(const calc_insn *in, double *const *R, size_t n)
{
    double *restrict d = R[in->dst];
    const double *a = R[in->a];
    const double *b = in->b >= 0 ? R[in->b] : NULL;
    const double *c = in->c >= 0 ? R[in->c] : NULL;
    size_t i;
#define LOOP(EXPR) for (i = 0; i < n; i++) d[i] = (EXPR); break
    switch (in->op) {
    case OP_ADD: LOOP(a[i] + b[i]);
    case OP_SUB: LOOP(a[i] - b[i]);
    case OP_MUL: LOOP(a[i] * b[i]);
    case OP_DIV: LOOP(a[i] / b[i]);
    case OP_NEG: LOOP(-a[i]);
    case OP_ABS: LOOP(fabs(a[i]));
    case OP_SQRT: LOOP(sqrt(a[i]));
    case OP_ISND: LOOP(a[i] != a[i] ? 1.0 : 0.0);
    case OP_LT: LOOP(nan_or(a[i], b[i], a[i] < b[i]));
    case OP_LE: LOOP(nan_or(a[i], b[i], a[i] <= b[i]));
    case OP_GT: LOOP(nan_or(a[i], b[i], a[i] > b[i]));
    case OP_GE: LOOP(nan_or(a[i], b[i], a[i] >= b[i]));
    case OP_EQ: LOOP(nan_or(a[i], b[i], a[i] == b[i]));
    case OP_NE: LOOP(nan_or(a[i], b[i], a[i] != b[i]));
    case OP_MIN: LOOP(nan_or(a[i], b[i], a[i] < b[i] ? a[i] : b[i]));
    case OP_MAX: LOOP(nan_or(a[i], b[i], a[i] > b[i] ? a[i] : b[i]));
    case OP_WHERE: LOOP(a[i] != a[i] ? NAN : a[i] != 0 ? b[i] : c[i]);
    default:
        for (i = 0; i < n; i++)
            d[i] = tes__calc_scalar(in->op, a[i], b ? b[i] : 0,
                                    c ? c[i] : 0);
        break;
    }
#undef LOOP
}

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define TES_CALC_AVX2 1
/* The same loops compiled for AVX2, four doubles per instruction, used
 * where the CPU has it (tested at run time, no ifunc: sanitizers do not
 * start early enough for one). Same results: AVX2 brings no FMA, and C11
 * mode contracts no multiply-add. */
__attribute__((target("avx2"))) static void
run_insn_avx2(const calc_insn *in, double *const *R, size_t n)
{
    run_insn_body(in, R, n);
}
#endif

static void run_insn(const calc_insn *in, double *const *R, size_t n)
{
#if defined(TES_CALC_AVX2)
    if (n > 1 && __builtin_cpu_supports("avx2")) {
        run_insn_avx2(in, R, n);
        return;
    }
#endif
    run_insn_body(in, R, n);
}

#if defined(TES_CALC_AVX2)
/* float32 rows, the inputs and output of nearly every calc, in one pass
 * each way instead of a conversion pass plus a nodata pass, four samples
 * per step. Same values as the general path: the conversions are the same
 * instructions, and the tests compare in double as it does. */

/* d = s as doubles, NaN where s equals nd (when has_nd). */
__attribute__((target("avx2"))) static void
load_f32_avx2(double *d, const float *s, size_t n, bool has_nd, double nd)
{
    const __m256d ndv = _mm256_set1_pd(nd), nan = _mm256_set1_pd(NAN);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        __m256d x = _mm256_cvtps_pd(_mm_loadu_ps(s + i));
        if (has_nd)
            x = _mm256_blendv_pd(x, nan, _mm256_cmp_pd(x, ndv, _CMP_EQ_OQ));
        _mm256_storeu_pd(d + i, x);
    }
    for (; i < n; i++)
        d[i] = has_nd && (double)s[i] == nd ? NAN : (double)s[i];
}

/* out = r as float32, with nd where r is NaN. */
__attribute__((target("avx2"))) static void
store_f32_avx2(float *out, const double *r, size_t n, double nd)
{
    const __m256d ndv = _mm256_set1_pd(nd);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        __m256d x = _mm256_loadu_pd(r + i);
        x = _mm256_blendv_pd(x, ndv, _mm256_cmp_pd(x, x, _CMP_UNORD_Q));
        _mm_storeu_ps(out + i, _mm256_cvtpd_ps(x));
    }
    for (; i < n; i++)
        out[i] = (float)(r[i] != r[i] ? nd : r[i]);
}
#endif

/* Loads row y of every input band the program reads and runs it; the
 * result is in R[e->result]. Constant registers must be filled. avx2:
 * the CPU has it. */
static void run_row(const tes_expr *e, double *const *R, const tes_tile *in,
                    const int *slot, int y, size_t n, bool avx2)
{
    for (int k = 0; k < e->n_code; k++) {
        const calc_insn *ins = &e->code[k];
        if (ins->op != OP_LOAD) {
            run_insn(ins, R, n);
            continue;
        }
        const tes_tile *t = &in[slot[ins->in]];
        double *d = R[ins->dst];
        double nd = t->type == TES_F32 ? (double)(float)t->nodata
                                       : t->nodata;
#if defined(TES_CALC_AVX2)
        if (avx2 && t->type == TES_F32) {
            load_f32_avx2(d, (const float *)tes_tile_row(t, ins->band, y), n,
                          t->has_nodata, nd);
            continue;
        }
#else
        (void)avx2;
#endif
        tes_convert_samples(d, TES_F64, tes_tile_row(t, ins->band, y),
                            t->type, n);
        if (t->has_nodata)
            for (size_t i = 0; i < n; i++)
                d[i] = d[i] == nd ? NAN : d[i];
    }
}

static double **alloc_regs(const tes_expr *e, size_t n)
{
    size_t nr = (size_t)(e->n_regs ? e->n_regs : 1);
    double **R = malloc(nr * sizeof *R + nr * n * sizeof(double));
    if (!R)
        return NULL;
    double *base = (double *)(R + nr);
    for (size_t r = 0; r < nr; r++) {
        R[r] = base + r * n;
        if ((int)r < e->n_regs && e->is_const[r])
            for (size_t i = 0; i < n; i++)
                R[r][i] = e->konst[r];
    }
    return R;
}

double tes__expr_eval1(const tes_expr *e, const double *const *in,
                       const bool *const *isnd)
{
    double **R = alloc_regs(e, 1);
    if (!R)
        return NAN;
    for (int k = 0; k < e->n_code; k++) {
        const calc_insn *ins = &e->code[k];
        if (ins->op == OP_LOAD)
            R[ins->dst][0] = isnd[ins->in][ins->band]
                                 ? NAN
                                 : in[ins->in][ins->band];
        else
            run_insn(ins, R, 1);
    }
    double v = R[e->result][0];
    free(R);
    return v;
}

/* v[i] = res[i], or nd where res[i] is NaN (v may be res). */
static void nan_to_nodata(double *v, const double *res, size_t n, double nd)
{
    size_t i = 0;
#if defined(__SSE2__)
    /* A select on an unordered compare, which GCC does not derive from
     * the loop below: the same bits, two at a time. */
    const __m128d ndv = _mm_set1_pd(nd);
    for (; i + 2 <= n; i += 2) {
        __m128d x = _mm_loadu_pd(res + i);
        __m128d m = _mm_cmpunord_pd(x, x);
        _mm_storeu_pd(v + i, _mm_or_pd(_mm_and_pd(m, ndv),
                                       _mm_andnot_pd(m, x)));
    }
#endif
    for (; i < n; i++)
        v[i] = res[i] != res[i] ? nd : res[i];
}

static int calc_tile(tes_tile_job *job)
{
    const tes_calc_state *st = job->arg;
    const tes_expr *e = st->expr;
    tes_tile *out = job->out;
    for (int i = 0; i < 26; i++)
        if (e->inputs & (1u << i)) {
            int s = st->slot[i];
            if (s < 0 || s >= job->n_in)
                return tes_tile_fail(job, -EINVAL, "input %c not given",
                                     'A' + i);
            if (e->max_band[i] > job->in[s].bands)
                return tes_tile_fail(job, -EINVAL,
                                     "input %c has %d band(s), not %d",
                                     'A' + i, job->in[s].bands,
                                     e->max_band[i]);
        }
    size_t n = (size_t)out->width;
    double **R = alloc_regs(e, n);
    if (!R)
        return tes_tile_fail(job, -ENOMEM, "out of memory");
    double *res = R[e->result];
#if defined(TES_CALC_AVX2)
    bool avx2 = __builtin_cpu_supports("avx2");
#else
    bool avx2 = false;
#endif
    bool fused = avx2 && out->type == TES_F32; /* store_f32_avx2 */
    double *tmp = NULL;
    if (!fused && (e->is_const[e->result] || out->type != TES_F64)) {
        tmp = malloc(n * sizeof *tmp);
        if (!tmp) {
            free(R);
            return tes_tile_fail(job, -ENOMEM, "out of memory");
        }
    }
    for (int y = 0; y < out->height; y++) {
        run_row(e, R, job->in, st->slot, y, n, avx2);
#if defined(TES_CALC_AVX2)
        if (fused) {
            store_f32_avx2(tes_tile_row(out, 0, y), res, n, st->out_nodata);
            continue;
        }
#endif
        double *v = tmp ? tmp : res;
        nan_to_nodata(v, res, n, st->out_nodata);
        tes_convert_samples(tes_tile_row(out, 0, y), out->type, v, TES_F64,
                            n);
    }
    free(tmp);
    free(R);
    return 0;
}

void tes__calc_slots_identity(tes_calc_state *st)
{
    for (int i = 0; i < 26; i++)
        st->slot[i] = i;
}

int tes__kernel_calc(tes_kernel *k, tes_calc_state *st)
{
    if (!k || !st || !st->expr || st->n_in < 0 || st->n_in > 26 ||
        !tes_sample_size(st->out_type))
        return -EINVAL;
    tes_kernel kk = TES_KERNEL_INIT;
    kk.name = "calc";
    kk.halo = 0;
    kk.out_type = st->out_type;
    kk.out_bands = 1;
    kk.tile = calc_tile;
    kk.arg = st;
    kk.out_nodata_mode = TES_NODATA_SET;
    kk.out_nodata = st->out_nodata;
    *k = kk;
    return 0;
}

/* ---- the public constructors ------------------------------------------- */

/* gdal_calc's default output nodata per type. */
static double default_nodata(tes_sample_type t)
{
    switch (t) {
    case TES_U8: return 0;
    case TES_I8: return -128;
    case TES_U16: return 65535;
    case TES_I16: return -32768;
    case TES_U32: return 4294967295.0;
    case TES_I32: return -2147483648.0;
    case TES_F32: return FLT_MAX;
    default: return DBL_MAX;
    }
}

/* A public calc kernel's state: the kernel's (first, so that k->arg is
 * both) and the expression it owns. */
typedef struct calc_owned {
    tes_calc_state st;
    tes_expr *expr;
} calc_owned;

static void calc_release(void *arg)
{
    calc_owned *c = arg;
    tes__expr_free(c->expr);
    free(c);
}

/* Compiles text, turning the parser's message into err's. */
static int compile(tes_expr **e, const char *text, tes_raster_error *err)
{
    if (!text)
        return tes__kernel_err(err, -EINVAL, "expression: none given");
    tes_expr_error xe;
    int rc = tes__expr_compile(e, text, &xe);
    if (rc == -EINVAL)
        return tes__kernel_err(err, rc, "expression: %s", xe.message);
    if (rc)
        return tes__kernel_err(err, rc, "expression: %s",
                               tes_raster_strerror(rc));
    return 0;
}

TES_API int tes_calc_inputs(const char *expr, uint32_t *letters,
                            int max_band[26], tes_raster_error *err)
{
    if (!letters)
        return tes__kernel_err(err, -EINVAL, "expression: no result given");
    tes_expr *e;
    int rc = compile(&e, expr, err);
    if (rc)
        return rc;
    *letters = tes__expr_inputs(e, max_band);
    tes__expr_free(e);
    return 0;
}

TES_API int tes_kernel_calc_opts(tes_kernel *k, const char *expr,
                                 const tes_calc_options *o,
                                 tes_raster_error *err)
{
    if (!k || !o)
        return tes__kernel_err(err, -EINVAL, "calc: no kernel or options");
    tes_kernel none = TES_KERNEL_INIT;
    *k = none;
    tes_sample_type type = o->out_type ? o->out_type : TES_F32;
    if (o->n_inputs < 0 || o->n_inputs > 26)
        return tes__kernel_err(err, -EINVAL,
                               "calc: %d inputs; 0 to 26 are possible",
                               o->n_inputs);
    if (!tes_sample_size(type))
        return tes__kernel_err(err, -EINVAL, "calc: unknown output type");
    for (size_t i = 0; i < sizeof o->reserved_int / sizeof o->reserved_int[0];
         i++)
        if (o->reserved_int[i])
            return tes__kernel_err(err, -EINVAL,
                                   "calc: reserved options must be zero");
    int slot[26];
    for (int i = 0; i < 26; i++)
        slot[i] = -1;
    char names[27] = "";
    if (o->letters && strlen(o->letters) != (size_t)o->n_inputs)
        return tes__kernel_err(err, -EINVAL,
                               "calc: %zu letters for %d inputs",
                               strlen(o->letters), o->n_inputs);
    for (int i = 0; i < o->n_inputs; i++) {
        char c = o->letters ? o->letters[i] : (char)('A' + i);
        if (c < 'A' || c > 'Z' || slot[c - 'A'] >= 0)
            return tes__kernel_err(err, -EINVAL,
                                   "calc: input letters \"%s\": each of "
                                   "A..Z at most once",
                                   o->letters);
        slot[c - 'A'] = i;
        names[i] = c;
        names[i + 1] = 0;
    }
    tes_expr *e;
    int rc = compile(&e, expr, err);
    if (rc)
        return rc;
    uint32_t used = tes__expr_inputs(e, NULL);
    for (int i = 0; i < 26; i++)
        if ((used & (1u << i)) && slot[i] < 0) {
            tes__expr_free(e);
            return tes__kernel_err(err, -EINVAL,
                                   "expression: reads %c, which is not "
                                   "among the inputs%s%s",
                                   'A' + i, names[0] ? " " : "",
                                   names[0] ? names : " (there are none)");
        }
    calc_owned *c = calloc(1, sizeof *c);
    if (!c) {
        tes__expr_free(e);
        return tes__kernel_err(err, -ENOMEM, "calc: out of memory");
    }
    c->expr = e;
    c->st.expr = e;
    c->st.n_in = o->n_inputs;
    memcpy(c->st.slot, slot, sizeof slot);
    c->st.out_type = type;
    c->st.out_nodata = o->has_nodata ? o->nodata : default_nodata(type);
    tes__kernel_calc(k, &c->st);
    k->release = calc_release;
    return 0;
}

TES_API int tes_kernel_calc(tes_kernel *k, const char *expr, int n_inputs,
                            tes_sample_type out_type, tes_raster_error *err)
{
    tes_calc_options o = TES_CALC_OPTIONS_INIT;
    o.n_inputs = n_inputs;
    o.out_type = out_type;
    return tes_kernel_calc_opts(k, expr, &o, err);
}
