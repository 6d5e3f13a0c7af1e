/*
 * cmd_quicklook.c — `raster-tool quicklook IN OUT.png`: a PNG preview of a
 * raster of any size in one streaming pass. A reduction over the tile
 * grid sums every input pixel into its output pixel's box (as an average
 * overview does) and the partials are folded in tile order, so memory is
 * the preview plus the pipeline's bounded cache, whatever the input's
 * size, and the bytes do not depend on the thread count. Then a stretch,
 * an optional colour file and hillshade, and libpng.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int run(int argc, char **argv);

const cli_command cli_cmd_quicklook = {
    "quicklook",
    "a PNG preview of any raster, in one streaming pass",
    "Usage: raster-tool quicklook [OPTIONS] IN OUT.png\n"
    "\n"
    "Writes a preview of IN whose longer side is --size pixels (never more\n"
    "than IN's), each pixel the average of the input pixels it covers (as\n"
    "an average overview), read in one streaming pass with flat memory.\n"
    "Nodata is transparent. One band is grey, or its colour table's colours\n"
    "when it has one (a palette band; an index past the table is\n"
    "transparent); three bands red, green, blue (the default for 8-bit\n"
    "images of 3 or more bands: the first three). A band that IN says is\n"
    "alpha (TIFF ExtraSamples, as GDAL and color-relief --alpha write it)\n"
    "makes the PNG's alpha, whichever bands are shown; the colours are\n"
    "then averaged weighted by it (premultiplied ones undone), so that\n"
    "transparent pixels add nothing. A fourth band with no such mark is\n"
    "no alpha.\n"
    "\n"
    "Options:\n"
    "      --size N         the longer side of the PNG (1024)\n"
    "      --band N         the band to show in grey (1)\n"
    "      --rgb R,G,B      the bands to show as red, green, blue\n"
    "      --stretch S      minmax, p2-98 (from the 2nd to the 98th\n"
    "                       percentile) or none (values clamped to 0..255);\n"
    "                       per band, over the preview's pixels (default:\n"
    "                       none for 8-bit inputs, p2-98 otherwise)\n"
    "      --colors FILE    colour the band with a color-relief colour file\n"
    "                       (percentages are of the preview's range)\n"
    "      --multiply FILE  shade with a raster of IN's size, 0..255 (a\n"
    "                       hillshade): each colour times its value / 255\n"
    "      --overwrite      replace an existing OUT.png\n"
    "  -j, --threads N      worker threads (default: TESSERA_NUM_THREADS or the CPUs)\n"
    "      --memory SIZE    the run's memory budget, the preview included,\n"
    "                       e.g. 512M or 4G (default: TESSERA_MEMORY, else\n"
    "                       half the memory)\n"
    "      --quiet          no progress bar\n"
    "      --progress P     bar, gdal or none (see raster-tool(1))\n"
    "      --trace FILE     a Chrome trace of the run\n"
    "      --help           this help\n",
    run,
};

enum {
    OPT_SIZE = CLI_OPT_FIRST_FREE,
    OPT_BAND,
    OPT_RGB,
    OPT_STRETCH,
    OPT_COLORS,
    OPT_MULTIPLY,
};

enum { STRETCH_AUTO, STRETCH_NONE, STRETCH_MINMAX, STRETCH_P2_98 };

/* ---- the decimation: a reduction over the tile grid --------------------- */

#define MAX_CH 4

/* Read-only while the run goes. Channel c < nch is band band[c] of input
 * 0 (the last one alpha when alpha is set); with a second input, its band
 * 1 is the shade. */
typedef struct ql_geom {
    int64_t W, H;         /* the input's size */
    int ow, oh;           /* the preview's */
    int nch;
    /* Channel nch - 1 is the file's alpha band (ExtraSamples): the other
     * channels are summed weighted by it, unless they are premultiplied
     * by it already (associated alpha), so that a box's colour is that
     * of what shows, and the PNG's (unassociated) alpha is its mean. */
    bool alpha;
    bool premultiplied;
    double opaque;        /* the alpha of an opaque pixel: 2^bits - 1 */
    int band[MAX_CH];
    /* A palette band: channels 0-2 are its entries' red, green, blue (as
     * GDAL shows them, the stored value / 256) of band[0]'s indices; an
     * index outside the table is a hole, as nodata is. */
    const tes_colormap *palette;
    bool shade;           /* a second input */
    int maxw, maxh;       /* output boxes one tile touches, at most */
    size_t partial_size;
} ql_geom;

/* A partial: the boxes [i0, i0 + w) x [j0, j0 + h) a tile touches, their
 * sums (nch + shade of them) and valid counts (input 0, shade; counts as
 * doubles, exact to 2^53), each maxw * maxh. The result is the same for
 * the whole preview (i0 = j0 = 0, w = ow, h = oh). */
typedef struct ql_part {
    int64_t i0, j0;
    int w, h;
    double v[]; /* the sums, then the counts */
} ql_part;

static size_t ql_cells(const ql_geom *g, bool result)
{
    return result ? (size_t)g->ow * (size_t)g->oh
                  : (size_t)g->maxw * (size_t)g->maxh;
}

static double *ql_sums(ql_part *p, const ql_geom *g, bool result, int c)
{
    return p->v + (size_t)c * ql_cells(g, result);
}

static double *ql_counts(ql_part *p, const ql_geom *g, bool result, int in)
{
    int nsum = g->nch + (g->shade ? 1 : 0);
    return ql_sums(p, g, result, nsum + in);
}

static size_t ql_size(const ql_geom *g, bool result)
{
    int nsum = g->nch + (g->shade ? 1 : 0);
    return sizeof(ql_part) +
           ql_cells(g, result) * (size_t)(nsum + 2) * sizeof(double);
}

static void ql_init(void *partial, void *arg)
{
    /* only the head: ql_reduce clears the cells a tile touches, and the
     * result (which partial_init also sees) was calloc'd */
    (void)arg;
    ql_part *h = partial;
    h->i0 = h->j0 = 0;
    h->w = h->h = 0;
}

/* The output box of input column x: floor(x * ow / W). */
static inline int64_t box_of(int64_t x, int64_t n, int64_t W)
{
    return x * n / W;
}

/* Row y of a palette band: its entries' colours summed into the boxes. */
static void palette_row(const ql_geom *g, const tes_tile *t, int y, double *v,
                        const int *col, ql_part *hd, size_t row, double *cnt)
{
    const tes_colormap *p = g->palette;
    const uint16_t *rgb[3] = { p->red, p->green, p->blue };
    double *sum[3];
    for (int c = 0; c < 3; c++)
        sum[c] = ql_sums(hd, g, false, c) + row;
    tes_convert_samples(v, TES_F64, tes_tile_row(t, g->band[0], y), t->type,
                        (size_t)t->width);
    for (int x = 0; x < t->width; x++) {
        double a = v[x];
        if ((t->has_nodata && a == t->nodata) || !(a >= 0 && a < p->n))
            continue;
        int i = (int)a;
        for (int c = 0; c < 3; c++)
            sum[c][col[x]] += rgb[c][i] >> 8;
        cnt[col[x]]++;
    }
}

static int ql_reduce(tes_tile_job *job)
{
    const ql_geom *g = job->arg;
    const tes_tile *in = &job->in[0];
    int tw = in->width, th = in->height;
    int64_t x0 = in->x0, y0 = in->y0;
    ql_part *hd = job->partial;
    hd->i0 = box_of(x0, g->ow, g->W);
    hd->j0 = box_of(y0, g->oh, g->H);
    hd->w = (int)(box_of(x0 + tw - 1, g->ow, g->W) - hd->i0 + 1);
    hd->h = (int)(box_of(y0 + th - 1, g->oh, g->H) - hd->j0 + 1);
    size_t cells = (size_t)hd->w * (size_t)hd->h;
    int nsum = g->nch + (g->shade ? 1 : 0);
    for (int c = 0; c < nsum; c++)
        memset(ql_sums(hd, g, false, c), 0, cells * sizeof(double));
    for (int i = 0; i < 2; i++)
        memset(ql_counts(hd, g, false, i), 0, cells * sizeof(double));
    int *col = malloc(sizeof(int) * (size_t)tw);
    double *v = malloc(sizeof(double) * (size_t)tw);
    double *a = g->alpha ? malloc(sizeof(double) * (size_t)tw) : NULL;
    if (!col || !v || (g->alpha && !a)) {
        free(col);
        free(v);
        free(a);
        return tes_tile_fail(job, -ENOMEM, "out of memory");
    }
    for (int x = 0; x < tw; x++)
        col[x] = (int)(box_of(x0 + x, g->ow, g->W) - hd->i0);
    for (int y = 0; y < th; y++) {
        size_t row = (size_t)(box_of(y0 + y, g->oh, g->H) - hd->j0) *
                     (size_t)hd->w;
        for (int s = 0; s < 1 + (g->shade ? 1 : 0); s++) {
            const tes_tile *t = &job->in[s];
            bool nd = t->has_nodata, fl = tes_sample_type_is_float(t->type);
            double *cnt = ql_counts(hd, g, false, s) + row;
            if (s == 0 && g->palette) {
                palette_row(g, t, y, v, col, hd, row, cnt);
                continue;
            }
            int nc = s == 0 ? g->nch : 1;
            /* the alpha, a weight for the colours: 0 where nodata */
            bool weigh = s == 0 && g->alpha && !g->premultiplied;
            if (weigh) {
                tes_convert_samples(a, TES_F64,
                                    tes_tile_row(t, g->band[nc - 1], y),
                                    t->type, (size_t)tw);
                for (int x = 0; x < tw; x++)
                    if (nd && a[x] == t->nodata)
                        a[x] = 0;
            }
            for (int c = 0; c < nc; c++) {
                double *sum = ql_sums(hd, g, false, s == 0 ? c : g->nch) +
                              row;
                bool colour = weigh && c < nc - 1;
                tes_convert_samples(v, TES_F64,
                                    tes_tile_row(t, s == 0 ? g->band[c] : 0,
                                                 y),
                                    t->type, (size_t)tw);
                for (int x = 0; x < tw; x++) {
                    double e = v[x];
                    /* NaN counts as nodata, as in stats */
                    if ((nd && e == t->nodata) || (fl && e != e))
                        continue;
                    sum[col[x]] += colour ? e * a[x] : e;
                    if (c == 0)
                        cnt[col[x]]++;
                }
            }
        }
    }
    free(col);
    free(v);
    free(a);
    return 0;
}

static void ql_combine(void *acc, const void *partial, void *arg)
{
    const ql_geom *g = arg;
    ql_part *hd = (ql_part *)partial, *a = acc;
    int nsum = g->nch + (g->shade ? 1 : 0);
    for (int j = 0; j < hd->h; j++) {
        size_t dst = (size_t)(hd->j0 + j) * (size_t)g->ow + (size_t)hd->i0;
        size_t src = (size_t)j * (size_t)hd->w;
        for (int c = 0; c < nsum + 2; c++) {
            double *d = ql_sums(a, g, true, c) + dst;
            const double *s = ql_sums(hd, g, false, c) + src;
            for (int i = 0; i < hd->w; i++)
                d[i] += s[i];
        }
    }
}

/* ---- from averages to bytes --------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The range channel c is stretched over: its valid averages' min and max,
 * or their 2nd and 98th percentiles. Returns -1 when out of memory. */
static int stretch_range(const double *mean, const double *cnt, size_t n,
                         int mode, double *lo, double *hi)
{
    size_t m = 0;
    double *v = malloc(sizeof(double) * (n ? n : 1));
    if (!v)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (cnt[i])
            v[m++] = mean[i];
    *lo = 0;
    *hi = 255;
    if (m) {
        qsort(v, m, sizeof *v, cmp_double);
        if (mode == STRETCH_MINMAX) {
            *lo = v[0];
            *hi = v[m - 1];
        } else {
            /* the nearest-rank percentiles */
            size_t a = (size_t)floor(0.02 * (double)(m - 1) + 0.5);
            size_t b = (size_t)floor(0.98 * (double)(m - 1) + 0.5);
            *lo = v[a];
            *hi = v[b];
        }
    }
    free(v);
    return 0;
}

static uint8_t to_byte(double v, double lo, double hi)
{
    double s = hi > lo ? (v - lo) * 255.0 / (hi - lo) : v - lo + 128.0;
    s = floor(s + 0.5);
    return (uint8_t)(s < 0 ? 0 : s > 255 ? 255 : s);
}

typedef struct ql_opts {
    int size;
    int band;            /* 1-based; 0: not given */
    int rgb[3];          /* 1-based; rgb[0] == 0: not given */
    int stretch;
    const char *colors, *multiply;
} ql_opts;

/* Turns the sums into the PNG's pixels: *px (malloc'd), *channels. */
static int render(const ql_geom *g, ql_part *acc, const ql_opts *o,
                  tes_sample_type type, const char *colors_path,
                  const char *colors, uint8_t **px, int *channels)
{
    size_t n = (size_t)g->ow * (size_t)g->oh;
    const double *cnt = ql_counts(acc, g, true, 0);
    const double *scnt = ql_counts(acc, g, true, 1);
    /* the averages, in place of the sums; with an alpha band, the
     * colours' sums are weighted by it (or premultiplied), so their
     * weight is the alpha's sum, taken before it becomes a mean: the
     * colours come first. The alpha channel: its sums, then its means. */
    bool holes = false;
    const double *alpha_ch = g->alpha ? ql_sums(acc, g, true, g->nch - 1)
                                      : NULL;
    double unmul = g->premultiplied ? g->opaque : 1;
    for (int c = 0; c < g->nch + (g->shade ? 1 : 0); c++) {
        double *s = ql_sums(acc, g, true, c);
        const double *k = c < g->nch ? cnt : scnt;
        if (alpha_ch && c < g->nch - 1)
            for (size_t i = 0; i < n; i++)
                s[i] = alpha_ch[i] > 0 ? s[i] / alpha_ch[i] * unmul : 0;
        else
            for (size_t i = 0; i < n; i++)
                s[i] = k[i] ? s[i] / k[i] : 0;
    }
    /* a colour shows where its alpha is not 0: the stretch's pixels */
    const double *shown = alpha_ch ? alpha_ch : cnt;
    for (size_t i = 0; i < n; i++)
        holes |= cnt[i] == 0;
    tes_kernel k = TES_KERNEL_INIT;
    bool alpha = holes;
    int rc = 0;
    if (colors) {
        tes_color_relief_options co = TES_COLOR_RELIEF_OPTIONS_INIT;
        co.alpha = true;
        if (stretch_range(ql_sums(acc, g, true, 0), shown, n,
                          STRETCH_MINMAX, &co.min, &co.max))
            return cli_fail(colors_path, "out of memory");
        co.has_range = true;
        tes_raster_error err;
        if (tes_kernel_color_relief(&k, colors, &co, &err)) {
            const char *m = err.message;
            if (strncmp(m, "colors: ", 8) == 0)
                m += 8;
            return cli_fail(colors_path, "%s", m);
        }
    }
    int nc = colors ? 3 : g->nch - (g->alpha ? 1 : 0);
    double lo[MAX_CH] = { 0 }, hi[MAX_CH] = { 255, 255, 255, 255 };
    int mode = o->stretch;
    if (mode == STRETCH_AUTO)
        mode = type == TES_U8 ? STRETCH_NONE : STRETCH_P2_98;
    for (int c = 0; !colors && c < nc && rc == 0; c++)
        if (mode != STRETCH_NONE &&
            stretch_range(ql_sums(acc, g, true, c), shown, n, mode, &lo[c],
                          &hi[c]))
            rc = -1;
    uint8_t *out = rc ? NULL : malloc(n * 4);
    if (!out) {
        tes_kernel_release(&k);
        return cli_fail("quicklook", "out of memory");
    }
    /* with a colour file, the entries' alpha may make holes of their own */
    uint8_t *a = malloc(n);
    if (!a) {
        free(out);
        tes_kernel_release(&k);
        return cli_fail("quicklook", "out of memory");
    }
    const double *shade = g->shade ? ql_sums(acc, g, true, g->nch) : NULL;
    for (size_t i = 0; i < n; i++) {
        uint8_t px[4] = { 0, 0, 0, 0 };
        if (cnt[i]) {
            if (colors) {
                tes_color_relief_rgba(&k, ql_sums(acc, g, true, 0)[i], px);
            } else {
                for (int c = 0; c < nc; c++)
                    px[c] = to_byte(ql_sums(acc, g, true, c)[i], lo[c],
                                    hi[c]);
                px[3] = 255;
            }
            /* the file's alpha, over the colour file's own */
            if (alpha_ch)
                px[3] = (uint8_t)floor(
                    px[3] * to_byte(alpha_ch[i], 0, g->opaque) / 255.0 + 0.5);
            if (shade && scnt[i]) {
                double f = shade[i] / 255.0;
                f = f < 0 ? 0 : f > 1 ? 1 : f;
                for (int c = 0; c < nc; c++)
                    px[c] = (uint8_t)floor(px[c] * f + 0.5);
            }
        }
        a[i] = px[3];
        alpha |= px[3] != 255;
        memcpy(out + 4 * i, px, 4);
    }
    tes_kernel_release(&k);
    /* pack to the channels the PNG needs */
    int ch = nc + (alpha ? 1 : 0);
    for (size_t i = 0; i < n; i++) {
        uint8_t p[4];
        memcpy(p, out + 4 * i, 4);
        for (int c = 0; c < nc; c++)
            out[(size_t)ch * i + (size_t)c] = p[c];
        if (alpha)
            out[(size_t)ch * i + (size_t)nc] = a[i];
    }
    free(a);
    *px = out;
    *channels = ch;
    return 0;
}

/* ---- the command ---------------------------------------------------------- */

static int parse_rgb(const char *s, int rgb[3])
{
    char *end;
    for (int i = 0; i < 3; i++) {
        long v = strtol(s, &end, 10);
        if (end == s || v < 1 || v > 65535 || (i < 2 && *end != ',') ||
            (i == 2 && *end))
            return -1;
        rgb[i] = (int)v;
        s = end + 1;
    }
    return 0;
}

static int run(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "size", required_argument, NULL, OPT_SIZE },
        { "band", required_argument, NULL, OPT_BAND },
        { "rgb", required_argument, NULL, OPT_RGB },
        { "stretch", required_argument, NULL, OPT_STRETCH },
        { "colors", required_argument, NULL, OPT_COLORS },
        { "multiply", required_argument, NULL, OPT_MULTIPLY },
        { "overwrite", no_argument, NULL, CLI_OPT_OVERWRITE },
        CLI_COMMON_LONGOPTS,
        { NULL, 0, NULL, 0 },
    };
    const cli_command *cmd = &cli_cmd_quicklook;
    cli_common c;
    cli_common_init(&c);
    ql_opts o = { 1024, 0, { 0, 0, 0 }, STRETCH_AUTO, NULL, NULL };
    int opt;
    long v;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "j:", longopts, NULL)) != -1) {
        switch (opt) {
        case OPT_SIZE:
            if (cli_parse_long(optarg, 1, 65536, &v))
                return cli_usage(cmd, "--size %s: expects 1..65536", optarg);
            o.size = (int)v;
            break;
        case OPT_BAND:
            if (cli_parse_long(optarg, 1, 65535, &v))
                return cli_usage(cmd, "invalid value '%s'", optarg);
            o.band = (int)v;
            break;
        case OPT_RGB:
            if (parse_rgb(optarg, o.rgb))
                return cli_usage(cmd, "--rgb %s: expects three bands, as "
                                      "3,2,1", optarg);
            break;
        case OPT_STRETCH:
            if (strcmp(optarg, "none") == 0)
                o.stretch = STRETCH_NONE;
            else if (strcmp(optarg, "minmax") == 0)
                o.stretch = STRETCH_MINMAX;
            else if (strcmp(optarg, "p2-98") == 0)
                o.stretch = STRETCH_P2_98;
            else
                return cli_usage(cmd, "--stretch %s: expects minmax, p2-98 "
                                      "or none", optarg);
            break;
        case OPT_COLORS: o.colors = optarg; break;
        case OPT_MULTIPLY: o.multiply = optarg; break;
        default: {
            bool done;
            int rc = cli_common_option(cmd, &c, opt, optarg, &done);
            if (done)
                return rc;
            if (rc == 1)
                return cli_usage(cmd, "unexpected option");
        }
        }
    }
    if (argc - optind != 2)
        return cli_usage(cmd, argc - optind < 2 ? "needs IN and OUT.png"
                                                : "too many arguments");
    if (o.band && o.rgb[0])
        return cli_usage(cmd, "--band and --rgb exclude each other");
    if (o.colors && o.rgb[0])
        return cli_usage(cmd, "--colors colours one band, not --rgb");
    const char *in_path = argv[optind], *out_path = argv[optind + 1];

    char *colors = NULL;
    int rc;
    if (o.colors) {
        if ((rc = cli_read_text(o.colors, (size_t)64 << 20, &colors)))
            return rc;
        tes_raster_error err;
        if (tes_color_file_scan(colors, NULL, &err)) {
            free(colors);
            const char *m = err.message;
            return cli_fail(o.colors, "%s",
                            strncmp(m, "colors: ", 8) ? m : m + 8);
        }
    }
    tes_raster *r[2] = { NULL, NULL };
    tes_raster_error err;
    tes_pool *pool = NULL;
    ql_part *acc = NULL;
    uint8_t *px = NULL;
    tes_kernel k = TES_KERNEL_INIT;
    ql_geom g;
    memset(&g, 0, sizeof g);
    if (tes_raster_open(&r[0], in_path, &err)) {
        rc = cli_fail_err(&err);
        goto out;
    }
    const tes_raster_info *info = tes_raster_info_get(r[0]);
    if (o.multiply) {
        if (tes_raster_open(&r[1], o.multiply, &err)) {
            rc = cli_fail_err(&err);
            goto out;
        }
        const tes_raster_info *mi = tes_raster_info_get(r[1]);
        if (mi->width != info->width || mi->height != info->height) {
            rc = cli_fail(o.multiply, "size %lldx%lld differs from %s "
                                      "(%lldx%lld)",
                          (long long)mi->width, (long long)mi->height,
                          in_path, (long long)info->width,
                          (long long)info->height);
            goto out;
        }
    }
    /* which bands: --rgb, --band, or the first three of 8-bit images of 3
     * or more bands (RGB or not: a scene's first bands), or a palette
     * band's colours */
    if (!o.band && !o.rgb[0] && !o.colors && info->bands >= 3 &&
        info->type == TES_U8)
        for (int i = 0; i < 3; i++)
            o.rgb[i] = i + 1;
    if (!o.rgb[0] && !o.colors && info->colormap && info->bands == 1)
        g.palette = info->colormap;
    g.nch = o.rgb[0] || g.palette ? 3 : 1;
    for (int i = 0; i < g.nch; i++) {
        int b = o.rgb[0] ? o.rgb[i] : o.band ? o.band : 1;
        if (b > info->bands) {
            rc = cli_fail(in_path, "has %d band(s), no band %d", info->bands,
                          b);
            goto out;
        }
        g.band[i] = b - 1;
    }
    /* and the band the file says is alpha (ExtraSamples: as
     * color-relief --alpha and GDAL write it; a fourth band alone says
     * nothing) makes the PNG's alpha, unless it is a band shown */
    bool alpha_shown = g.palette != NULL;
    for (int i = 0; i < g.nch; i++)
        alpha_shown |= g.band[i] == info->alpha_band - 1;
    if (info->alpha_band && !alpha_shown &&
        (info->type == TES_U8 || info->type == TES_U16)) {
        int bits = 8 * (int)tes_sample_size(info->type);
        if (info->bits >= 1 && info->bits < bits)
            bits = info->bits; /* 1, 2, 4 or 12 bits as stored */
        g.alpha = true;
        g.premultiplied = info->alpha_associated;
        g.opaque = (double)((1 << bits) - 1);
        g.band[g.nch++] = info->alpha_band - 1;
    }
    g.W = info->width;
    g.H = info->height;
    /* the longer side gets size pixels; no side more than the input's */
    if (g.W >= g.H) {
        g.ow = (int)(g.W < o.size ? g.W : o.size);
        g.oh = (int)floor((double)g.H * g.ow / (double)g.W + 0.5);
    } else {
        g.oh = (int)(g.H < o.size ? g.H : o.size);
        g.ow = (int)floor((double)g.W * g.oh / (double)g.H + 0.5);
    }
    g.ow = g.ow < 1 ? 1 : g.ow;
    g.oh = g.oh < 1 ? 1 : g.oh;
    g.shade = o.multiply != NULL;
    /* tiles of the input's blocks, when they are of a sensible size */
    tes_raster_create_options to = TES_RASTER_CREATE_OPTIONS_INIT;
    to.tile_width = info->block_width >= 64 && info->block_width <= 1024
                        ? info->block_width : 256;
    to.tile_height = info->block_height >= 64 && info->block_height <= 1024
                         ? info->block_height : 256;
    g.maxw = (int)(box_of(to.tile_width - 1, g.ow, g.W) + 2);
    g.maxh = (int)(box_of(to.tile_height - 1, g.oh, g.H) + 2);
    if (g.maxw > g.ow)
        g.maxw = g.ow;
    if (g.maxh > g.oh)
        g.maxh = g.oh;
    g.partial_size = ql_size(&g, false);
    k.name = "quicklook";
    k.partial_size = g.partial_size;
    k.partial_init = ql_init;
    k.reduce = ql_reduce;
    k.combine = ql_combine;
    k.arg = &g;
    if ((rc = cli_pool(&c, &pool)))
        goto out;
    tes_pipeline_options po = TES_PIPELINE_OPTIONS_INIT;
    /* a halo-free reduction reads each block once: a small cache will do */
    po.cache_bytes = (size_t)16 << 20;
    /* the preview's sums, which --size and the input's size make large,
     * and render's largest buffer after them (a double a pixel), in the
     * run's budget: refused before either is allocated */
    po.memory_limit = c.memory;
    po.extra_bytes = ql_size(&g, true) +
                     sizeof(double) * (size_t)g.ow * (size_t)g.oh;
    po.extra_name = "the preview's sums";
    if (tes_raster_run_estimate(pool, &k, r, o.multiply ? 2 : 1, NULL, &to,
                                &po, NULL, &err)) {
        rc = cli_fail_err(&err);
        goto out;
    }
    acc = calloc(1, ql_size(&g, true));
    if (!acc) {
        rc = cli_fail(out_path, "out of memory");
        goto out;
    }
    cli_progress_setup(&c, &po, (uint64_t)g.W * (uint64_t)g.H, NULL);
    int prc = cli_raster_run(pool, &k, r, o.multiply ? 2 : 1, NULL, &to, acc,
                             &po, &err);
    cli_progress_end(&po);
    if (prc) {
        rc = cli_fail_err(&err);
        goto out;
    }
    /* partial_init cleared only the head of the result: it was calloc'd */
    int channels = 1;
    /* a palette's colours are bytes: no stretch by default */
    if ((rc = render(&g, acc, &o, g.palette ? TES_U8 : info->type, o.colors,
                     colors, &px, &channels)))
        goto out;
    /* across MPI ranks, every rank has the result; one writes it */
    if (cli_dist_leader())
        rc = cli_png_write(out_path, px, g.ow, g.oh, channels,
                           c.out.overwrite);
out:
    free(px);
    free(acc);
    free(colors);
    tes_pool_destroy(pool);
    tes_raster_close(r[0]);
    tes_raster_close(r[1]);
    return rc;
}
