/*
 * color_relief.c — gdaldem color-relief: the colour text file (GRASS-style
 * "value r g b [a]" lines, named colours, N% of the band's range, nv for
 * nodata, GMT .cpt segments) parsed as gdaldem 3.6 reads it, with every
 * line it would silently misread refused by number instead, and the
 * per-pixel lookup (interpolated, exact or nearest entry) with gdaldem
 * 3.6's arithmetic, so that the RGB(A) bytes are the same.
 */
#include <ctype.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kernels_builtin.h"

#if defined(__GNUC__) && !defined(__clang__)
/* The row loops below are worth GCC's full vectoriser (see terrain.c); no
 * result changes. */
#pragma GCC optimize("O3", "no-math-errno", "no-trapping-math")
#endif

/* ---- the colour file --------------------------------------------------- */

#define MAX_FIELDS 12

/* Splits line at gdaldem's separators (space, comma, tab, colon; runs of
 * them count once) into at most MAX_FIELDS fields, in place. Returns the
 * number of fields, MAX_FIELDS + 1 when there are more. */
static int split(char *line, char *field[MAX_FIELDS])
{
    int n = 0;
    char *p = line;
    for (;;) {
        while (*p == ' ' || *p == ',' || *p == '\t' || *p == ':')
            p++;
        if (!*p)
            return n;
        if (n == MAX_FIELDS)
            return MAX_FIELDS + 1;
        field[n++] = p;
        while (*p && *p != ' ' && *p != ',' && *p != '\t' && *p != ':')
            p++;
        if (*p)
            *p++ = 0;
    }
}

/* gdaldem's named colours (GRASS's), as it scales them: (int)(255 * c). */
static const struct {
    const char *name;
    unsigned char r, g, b;
} named[] = {
    { "white", 255, 255, 255 }, { "black", 0, 0, 0 },
    { "red", 255, 0, 0 },       { "green", 0, 255, 0 },
    { "blue", 0, 0, 255 },      { "yellow", 255, 255, 0 },
    { "magenta", 255, 0, 255 }, { "cyan", 0, 255, 255 },
    { "aqua", 0, 191, 191 },    { "grey", 191, 191, 191 },
    { "gray", 191, 191, 191 },  { "orange", 255, 127, 0 },
    { "brown", 191, 127, 63 },  { "purple", 127, 0, 255 },
    { "violet", 127, 0, 255 },  { "indigo", 0, 127, 255 },
};

/* A finite number, the whole field: "inf", "nan" and values beyond
 * double's range (strtod's infinities) are not colour file values. */
static bool parse_number(const char *s, double *v)
{
    char *end;
    *v = strtod(s, &end);
    return end != s && *end == 0 && isfinite(*v);
}

typedef struct parse_ctx {
    const tes_color_relief_options *o; /* NULL: scan only */
    tes_color_file_info info;
    tes__color_entry *e;
    int n, cap;
    int line;
    tes_raster_error *err;
} parse_ctx;

static int bad(parse_ctx *p, const char *fmt, const char *what)
{
    char m[200];
    snprintf(m, sizeof m, fmt, what);
    return tes__kernel_err(p->err, -EINVAL, "colors: line %d: %s", p->line,
                           m);
}

/* A colour component: a number in 0..255, its fraction dropped as
 * gdaldem's atoi drops it. */
static int component(parse_ctx *p, const char *s, int *c)
{
    double v;
    if (!parse_number(s, &v))
        return bad(p, "'%s' is not a colour component", s);
    if (!(v >= 0 && v < 256))
        return bad(p, "colour component %s is not in 0..255", s);
    *c = (int)v;
    return 0;
}

static int add(parse_ctx *p, double v, const int rgba[4])
{
    p->info.entries++;
    if (!p->o)
        return 0;
    if (p->n == p->cap) {
        int cap = p->cap ? 2 * p->cap : 16;
        tes__color_entry *e = realloc(p->e, sizeof *e * (size_t)cap);
        if (!e)
            return tes__kernel_err(p->err, -ENOMEM, "colors: out of memory");
        p->e = e;
        p->cap = cap;
    }
    tes__color_entry *e = &p->e[p->n++];
    e->value = v;
    memcpy(e->rgba, rgba, sizeof e->rgba);
    return 0;
}

/* The value field of a GRASS-style line: a number, N% of the band's
 * range, or nv. *skip is set for an nv line on a band without nodata
 * (gdaldem warns and ignores it). */
static int value_field(parse_ctx *p, const char *s, double *v, bool *skip)
{
    size_t len = strlen(s);
    *skip = false;
    if (strcasecmp(s, "nv") == 0) {
        p->info.nodata_entry = true;
        if (p->o && !p->o->has_nodata)
            *skip = true;
        else if (p->o)
            *v = p->o->nodata;
        return 0;
    }
    if (len > 1 && s[len - 1] == '%') {
        char num[64];
        double pct;
        snprintf(num, sizeof num, "%.*s", (int)(len - 1), s);
        if (len - 1 >= sizeof num || !parse_number(num, &pct))
            return bad(p, "'%s' is not a percentage", s);
        pct /= 100.0;
        if (!(pct >= 0.0 && pct <= 1.0))
            return bad(p, "percentage %s is not in 0%%..100%%", s);
        p->info.percent = true;
        if (p->o && !p->o->has_range)
            return bad(p, "%s: a percentage needs the band's range", s);
        if (p->o)
            *v = p->o->min + pct * (p->o->max - p->o->min);
        return 0;
    }
    if (!parse_number(s, v))
        return bad(p, "'%s' is not a value, a percentage or nv", s);
    return 0;
}

static int parse_line(parse_ctx *p, char *line)
{
    /* gdaldem: a '#' line naming COLOR_MODEL makes the file GMT's */
    if (line[0] == '#' && strstr(line, "COLOR_MODEL")) {
        if (!strstr(line, "COLOR_MODEL = RGB"))
            return bad(p, "%sonly COLOR_MODEL = RGB is supported", "");
        p->info.gmt = true;
    }
    char *f[MAX_FIELDS];
    int n = split(line, f);
    if (n == 0 || f[0][0] == '#' || f[0][0] == '/')
        return 0; /* blank or comment */
    int rgba[4] = { 0, 0, 0, 255 }, rc;
    if (p->info.gmt) {
        if (n == 4) {
            /* B (background) and F (foreground) do not apply here; N is
             * nodata, when the band has one */
            if (strcasecmp(f[0], "B") && strcasecmp(f[0], "F") &&
                strcasecmp(f[0], "N"))
                return bad(p, "'%s' is not B, F or N", f[0]);
            for (int i = 0; i < 3; i++)
                if ((rc = component(p, f[1 + i], &rgba[i])))
                    return rc;
            if (strcasecmp(f[0], "N") == 0) {
                p->info.nodata_entry = true;
                if (!p->o || p->o->has_nodata)
                    return add(p, p->o ? p->o->nodata : 0, rgba);
            }
            return 0;
        }
        if (n != 8)
            return bad(p, "%sexpected z0 r g b z1 r g b (a .cpt segment) "
                          "or B, F or N and r g b", "");
        for (int seg = 0; seg < 2; seg++) {
            double v;
            if (!parse_number(f[4 * seg], &v))
                return bad(p, "'%s' is not a value", f[4 * seg]);
            for (int i = 0; i < 3; i++)
                if ((rc = component(p, f[4 * seg + 1 + i], &rgba[i])))
                    return rc;
            if ((rc = add(p, v, rgba)))
                return rc;
        }
        return 0;
    }
    if (n < 2)
        return bad(p, "'%s' has no colour", f[0]);
    if (n > 5)
        return bad(p, "%stoo many fields (value r g b [a])", "");
    double v = 0;
    bool skip;
    if ((rc = value_field(p, f[0], &v, &skip)))
        return rc;
    if (n >= 4) {
        for (int i = 0; i < n - 1; i++)
            if ((rc = component(p, f[1 + i], &rgba[i])))
                return rc;
    } else {
        size_t i = 0;
        while (i < sizeof named / sizeof named[0] &&
               strcasecmp(f[1], named[i].name))
            i++;
        if (i == sizeof named / sizeof named[0])
            return bad(p, "unknown colour '%s'", f[1]);
        rgba[0] = named[i].r;
        rgba[1] = named[i].g;
        rgba[2] = named[i].b;
        if (n == 3 && (rc = component(p, f[2], &rgba[3])))
            return rc;
    }
    return skip ? 0 : add(p, v, rgba);
}

static int parse(parse_ctx *p, const char *text)
{
    if (!text)
        return tes__kernel_err(p->err, -EINVAL, "colors: no text");
    const char *s = text;
    char *line = NULL;
    size_t cap = 0;
    int rc = 0;
    for (p->line = 1; *s && rc == 0; p->line++) {
        const char *eol = strchr(s, '\n');
        size_t len = eol ? (size_t)(eol - s) : strlen(s);
        if (len + 1 > cap) {
            char *l = realloc(line, len + 1);
            if (!l) {
                rc = tes__kernel_err(p->err, -ENOMEM,
                                     "colors: out of memory");
                break;
            }
            line = l;
            cap = len + 1;
        }
        memcpy(line, s, len);
        line[len] = 0;
        if (len && line[len - 1] == '\r') /* DOS line ends */
            line[len - 1] = 0;
        rc = parse_line(p, line);
        s = eol ? eol + 1 : s + len;
    }
    free(line);
    p->info.lines = p->line - 1;
    if (rc == 0 && p->info.entries == 0)
        rc = tes__kernel_err(p->err, -EINVAL, "colors: no colour entries");
    return rc;
}

TES_API int tes_color_file_scan(const char *text, tes_color_file_info *info,
                                tes_raster_error *err)
{
    parse_ctx p;
    memset(&p, 0, sizeof p);
    p.err = err;
    int rc = parse(&p, text);
    if (info)
        *info = p.info;
    return rc;
}

/* ---- the entries as gdaldem 3.6 arranges them ------------------------- */

/* NaN first, then ascending; equal values keep the file's order. */
static int cmp_entry(const void *a, const void *b)
{
    const tes__color_entry *x = a, *y = b;
    bool xn = isnan(x->value), yn = isnan(y->value);
    if (xn != yn)
        return xn ? -1 : 1;
    if (x->value < y->value)
        return -1;
    if (x->value > y->value)
        return 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

static void sort_entries(tes__color_entry *e, int n)
{
    for (int i = 0; i < n; i++)
        e[i].order = i;
    qsort(e, (size_t)n, sizeof *e, cmp_entry);
}

/* Whether spreading entries from..to-1 by (base * mult) * DBL_EPSILON, mult
 * rising by 1 an entry, leaves every value finite. Values far apart
 * overflow that arithmetic (inf / inf, count * left, base * mult): the
 * run turned NaN or infinite and unsorted the table, so that the lookup
 * and the tiles disagreed (found by fuzz_color). Such a run is not
 * spread. */
static bool spread_fits(const tes__color_entry *e, int from, int to,
                        double base, double mult)
{
    for (int j = from; j < to; j++, mult += 1.0)
        if (!isfinite(e[j].value + (base * mult) * DBL_EPSILON))
            return false;
    return true;
}

/* gdaldem's GDALColorReliefProcessColors: entries next to the nodata
 * value get a twin just beside it (so interpolation does not bleed the
 * nodata colour), and runs of equal values are spread by a few ulps in
 * their order, so that a value exactly at the run falls between its
 * first and last colours. (Exact matching keeps nodata as it is.) *e has
 * room for 2 n entries; returns the new count. */
static int process_entries(tes__color_entry *e, int n, bool has_nd,
                           double nd, tes_color_mode mode)
{
    sort_entries(e, n);
    int added = 0, rep = 0;
    bool nd_twins = has_nd && mode != TES_COLOR_EXACT;
    for (int i = 1; i < n; i++) {
        tes__color_entry *prev = &e[i - 1], *cur = &e[i];
        if (nd_twins && cur->value == nd) {
            double v = cur->value - fabs(cur->value) * DBL_EPSILON;
            if (v > prev->value) {
                e[n + added] = *prev;
                e[n + added++].value = v;
            }
        } else if (nd_twins && prev->value == nd) {
            double v = prev->value + fabs(prev->value) * DBL_EPSILON;
            if (v < cur->value) {
                e[n + added] = *cur;
                e[n + added++].value = v;
            }
        } else if (rep == 0 && cur->value == prev->value) {
            rep = i; /* the second of a run of equal values */
        } else if (rep != 0 && cur->value != prev->value) {
            double total, left = 0.0;
            if (rep >= 2) {
                total = cur->value - e[rep - 2].value;
                left = prev->value - e[rep - 2].value;
            } else {
                total = cur->value - prev->value;
            }
            int count = i - rep + 1;
            if (total > fabs(prev->value) * count * DBL_EPSILON) {
                double mult = 0.5 - count * left / total;
                double base = fabs(prev->value);
                if (spread_fits(e, rep - 1, i, base, mult))
                    for (int j = rep - 1; j < i; j++) {
                        e[j].value += (base * mult) * DBL_EPSILON;
                        mult += 1.0;
                    }
            }
            rep = 0;
        }
    }
    if (added)
        sort_entries(e, n + added);
    return n + added;
}

/* gdaldem 3.6's GDALColorReliefGetRGBA, with exact matching as later
 * GDAL releases fixed it (3.6 matched only the lowest entry), in two
 * steps: the index of the first entry not smaller than v, then the colour
 * from it. */

/* Where the search starts: past a NaN entry (nodata NaN), which only NaN
 * values match. */
static int first_entry(const tes__color_entry *e)
{
    return isnan(e[0].value) ? 1 : 0;
}

/* gdaldem's binary search: the first entry from lower on not smaller
 * than v (n when there is none, and for NaN). */
static int index_of(const tes__color_entry *e, int n, double v, int lower)
{
    int upper = n - 1;
    if (lower > upper)
        return n; /* only a NaN entry */
    for (;;) {
        int mid = (lower + upper) / 2;
        if (upper - lower <= 1) {
            if (v <= e[lower].value)
                return lower;
            if (v <= e[upper].value)
                return upper;
            return upper + 1;
        }
        if (e[mid].value >= v)
            upper = mid;
        else
            lower = mid;
    }
}

/* An interpolated component as a byte, d = (0.45 + a) + ratio * (b - a)
 * truncated as gdaldem does. d is NaN where ratio is inf / inf (entries
 * so far apart that their difference overflows, and a value far from the
 * lower one; before values had to be finite, an infinite entry too): 0
 * then, where converting NaN to int would be undefined (found by
 * fuzz_color). */
static inline unsigned char component_byte(double d)
{
    return d >= 0 ? (d < 256 ? (unsigned char)(int)d : 255) : 0;
}

/* The colour of v, whose index_of is i. */
static void color_at(const tes__color_entry *e, int n, int i, double v,
                     tes_color_mode mode, unsigned char out[4])
{
    const tes__color_entry *pick = NULL;
    if (mode == TES_COLOR_EXACT) {
        if (i < n && e[i].value == v)
            pick = &e[i];
        else if (i > 0 && e[i - 1].value == v)
            pick = &e[i - 1];
        if (!pick) {
            memset(out, 0, 4);
            return;
        }
    } else if (i == 0) {
        pick = &e[0];
    } else if (i == n) {
        pick = &e[n - 1];
    } else if (mode == TES_COLOR_NEAREST && e[i - 1].value != v) {
        pick = v - e[i - 1].value < e[i].value - v ? &e[i - 1] : &e[i];
    } else if (e[i - 1].value == v) {
        pick = &e[i - 1];
    } else if (isnan(e[i - 1].value)) {
        pick = &e[i];
    }
    if (pick) {
        for (int c = 0; c < 4; c++)
            out[c] = (unsigned char)pick->rgba[c];
        return;
    }
    /* gdaldem 3.6 rounds with 0.45, not 0.5 */
    double ratio = (v - e[i - 1].value) / (e[i].value - e[i - 1].value);
    for (int c = 0; c < 4; c++) {
        int a = e[i - 1].rgba[c], b = e[i].rgba[c];
        out[c] = component_byte(0.45 + a + ratio * (b - a));
    }
}

static void lookup(const tes__color_entry *e, int n, double v,
                   tes_color_mode mode, unsigned char out[4])
{
    if (isnan(e[0].value) && isnan(v)) {
        for (int c = 0; c < 4; c++)
            out[c] = (unsigned char)e[0].rgba[c];
        return;
    }
    color_at(e, n, index_of(e, n, v, first_entry(e)), v, mode, out);
}

/* Largest table searched by counting rather than by bisection. */
#define COUNT_MAX 48

/* The colours of a row of w values into nb bands. For a table of a usual
 * size the index is the count of entries below the value (the binary
 * search's answer for every value but NaN), counted a row at a time so
 * that it vectorises and never mispredicts. */
static void lookup_row(const tes_color_relief_state *st, const double *v,
                       int w, unsigned char *const o[4], int nb, int *idx)
{
    const tes__color_entry *e = st->e;
    int n = st->n, lo = first_entry(e);
    bool count = n - lo <= COUNT_MAX;
    if (count) {
        for (int x = 0; x < w; x++)
            idx[x] = lo;
        for (int j = lo; j < n; j++) {
            double ev = e[j].value;
            for (int x = 0; x < w; x++)
                idx[x] += ev < v[x];
        }
    }
    const tes__color_span *sp = st->span;
    bool interp = st->mode == TES_COLOR_INTERPOLATE;
    for (int x = 0; x < w; x++) {
        unsigned char c[4];
        int i = idx[x];
        if (count && interp && i > lo && i < n) {
            /* color_at's interpolation, from the span's constants */
            const tes__color_span *s = &sp[i];
            double ratio = (v[x] - s->lo) / s->width;
            for (int b = 0; b < nb; b++)
                o[b][x] = component_byte(s->base[b] + ratio * s->step[b]);
            continue;
        }
        if (count && v[x] == v[x])
            color_at(e, n, i, v[x], st->mode, c);
        else
            lookup(e, n, v[x], st->mode, c);
        for (int b = 0; b < nb; b++)
            o[b][x] = c[b];
    }
}

/* The spans' constants: span i is between entries i - 1 and i, and
 * color_at computes (int)((0.45 + a) + ratio * (b - a)) with the same
 * operands in the same order. */
static int make_spans(tes_color_relief_state *st)
{
    st->span = calloc((size_t)st->n + 1, sizeof *st->span);
    if (!st->span)
        return -ENOMEM;
    for (int i = 1; i < st->n; i++) {
        const tes__color_entry *a = &st->e[i - 1], *b = &st->e[i];
        tes__color_span *s = &st->span[i];
        s->lo = a->value;
        s->width = b->value - a->value;
        for (int c = 0; c < 4; c++) {
            s->base[c] = 0.45 + a->rgba[c];
            s->step[c] = b->rgba[c] - a->rgba[c];
        }
    }
    return 0;
}

/* ---- the kernel ---------------------------------------------------------- */

/* A lookup table for integer samples from lo to lo + n - 1. */
static int make_lut(tes_color_relief_state *st, int lo, int n)
{
    st->lut = malloc((size_t)n * 4);
    if (!st->lut)
        return -ENOMEM;
    st->lut_lo = lo;
    st->lut_n = n;
    for (int i = 0; i < n; i++)
        lookup(st->e, st->n, lo + i, st->mode, st->lut + 4 * (size_t)i);
    return 0;
}

static int color_relief_tile(tes_tile_job *job)
{
    const tes_color_relief_state *st = job->arg;
    const tes_tile *in = &job->in[0];
    tes_tile *out = job->out;
    int w = out->width, nb = out->bands;
    if (st->band >= in->bands)
        return tes_tile_fail(job, -EINVAL, "input has %d band(s), no band "
                                           "%d", in->bands, st->band + 1);
    double *v = malloc(sizeof(double) * (size_t)w);
    int *idx = malloc(sizeof(int) * (size_t)w);
    if (!v || !idx) {
        free(v);
        free(idx);
        return tes_tile_fail(job, -ENOMEM, "out of memory");
    }
    /* gdaldem reads 8- and 16-bit integers as they are and every other
     * type as float32 */
    bool lut = st->lut && in->type == st->lut_type;
    bool as_float = !(in->type == TES_U8 || in->type == TES_I8 ||
                      in->type == TES_U16 || in->type == TES_I16);
    for (int y = 0; y < out->height; y++) {
        unsigned char *o[4];
        for (int b = 0; b < nb; b++)
            o[b] = tes_tile_row(out, b, y);
        const void *src = tes_tile_row(in, st->band, y);
        if (lut) {
            const unsigned char *t = st->lut;
            for (int x = 0; x < w; x++) {
                int s = in->type == TES_U8    ? ((const uint8_t *)src)[x]
                        : in->type == TES_I8  ? ((const int8_t *)src)[x]
                        : in->type == TES_I16 ? ((const int16_t *)src)[x]
                                              : ((const uint16_t *)src)[x];
                const unsigned char *c = t + 4 * (size_t)(s - st->lut_lo);
                for (int b = 0; b < nb; b++)
                    o[b][x] = c[b];
            }
            continue;
        }
        tes_convert_samples(v, TES_F64, src, in->type, (size_t)w);
        if (as_float)
            for (int x = 0; x < w; x++)
                v[x] = (double)(float)v[x];
        lookup_row(st, v, w, o, nb, idx);
    }
    free(v);
    free(idx);
    return 0;
}

static void state_free(void *arg)
{
    tes_color_relief_state *st = arg;
    if (st) {
        free(st->e);
        free(st->span);
        free(st->lut);
        free(st);
    }
}

static const char *options_refusal(const tes_color_relief_options *o)
{
    if ((unsigned)o->mode > TES_COLOR_NEAREST)
        return "colors: unknown matching mode";
    if (o->band < 0)
        return "colors: band must be >= 0";
    if (o->has_range && !(isfinite(o->min) && isfinite(o->max) &&
                          o->min <= o->max))
        return "colors: the range must be finite, min <= max";
    for (size_t i = 0; i < sizeof o->reserved_int / sizeof o->reserved_int[0];
         i++)
        if (o->reserved_int[i])
            return "colors: reserved options must be zero";
    for (size_t i = 0; i < sizeof o->reserved_dbl / sizeof o->reserved_dbl[0];
         i++)
        if (o->reserved_dbl[i] != 0)
            return "colors: reserved options must be zero";
    return NULL;
}

TES_API int tes_kernel_color_relief(tes_kernel *k, const char *colors,
                                    const tes_color_relief_options *o,
                                    tes_raster_error *err)
{
    if (!k || !o)
        return tes__kernel_err(err, -EINVAL, "colors: no kernel or options");
    tes_kernel none = TES_KERNEL_INIT;
    *k = none;
    const char *why = options_refusal(o);
    if (why)
        return tes__kernel_err(err, -EINVAL, "%s", why);
    parse_ctx p;
    memset(&p, 0, sizeof p);
    p.o = o;
    p.err = err;
    int rc = parse(&p, colors);
    if (rc == 0 && p.n == 0)
        rc = tes__kernel_err(err, -EINVAL, "colors: no colour entries (only "
                                           "nv, and the band has no nodata)");
    if (rc) {
        free(p.e);
        return rc;
    }
    tes_color_relief_state *st = calloc(1, sizeof *st);
    if (!st) {
        free(p.e);
        return tes__kernel_err(err, -ENOMEM, "colors: out of memory");
    }
    /* room for a twin beside nodata for every entry */
    tes__color_entry *e = realloc(p.e, sizeof *e * 2 * (size_t)p.n);
    if (!e) {
        free(p.e);
        free(st);
        return tes__kernel_err(err, -ENOMEM, "colors: out of memory");
    }
    st->e = e;
    st->n = process_entries(e, p.n, o->has_nodata, o->nodata, o->mode);
    st->mode = o->mode;
    st->band = o->band;
    st->alpha = o->alpha;
    rc = make_spans(st);
    if (rc == 0 && o->in_type == TES_U8)
        rc = make_lut(st, 0, 256);
    else if (rc == 0 && o->in_type == TES_I8)
        rc = make_lut(st, -128, 256);
    else if (rc == 0 && o->in_type == TES_U16)
        rc = make_lut(st, 0, 65536);
    else if (rc == 0 && o->in_type == TES_I16)
        rc = make_lut(st, -32768, 65536);
    st->lut_type = o->in_type;
    if (rc) {
        state_free(st);
        return tes__kernel_err(err, -ENOMEM, "colors: out of memory");
    }
    tes_kernel kk = TES_KERNEL_INIT;
    kk.name = "color-relief";
    kk.out_type = TES_U8;
    kk.out_bands = o->alpha ? 4 : 3;
    kk.tile = color_relief_tile;
    kk.arg = st;
    kk.out_nodata_mode = TES_NODATA_NONE; /* as gdaldem: colours only */
    kk.release = state_free;
    *k = kk;
    return 0;
}

TES_API int tes_color_relief_rgba(const tes_kernel *k, double value,
                                  unsigned char rgba[4])
{
    if (!k || !rgba || k->tile != color_relief_tile || !k->arg)
        return -EINVAL;
    const tes_color_relief_state *st = k->arg;
    lookup(st->e, st->n, value, st->mode, rgba);
    return 0;
}
