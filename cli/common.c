/*
 * common.c — what every raster-tool command shares: one-line errors, usage
 * errors, the output and thread options, the pool, the progress bar.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

int cli_fail(const char *file, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "raster-tool: %s: ", file);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return CLI_EXIT_FAIL;
}

int cli_fail_err(const tes_raster_error *err)
{
    if (err->code == -EEXIST)
        fprintf(stderr, "raster-tool: %s (use --overwrite)\n", err->message);
    else
        fprintf(stderr, "raster-tool: %s\n", err->message);
    return CLI_EXIT_FAIL;
}

int cli_usage(const cli_command *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "raster-tool %s: ", cmd->name);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'raster-tool %s --help'.\n", cmd->name);
    va_end(ap);
    return CLI_EXIT_USAGE;
}

int cli_help(const cli_command *cmd)
{
    fputs(cmd->usage, stdout);
    return CLI_EXIT_OK;
}

void cli_common_init(cli_common *c)
{
    tes_raster_create_options d = TES_RASTER_CREATE_OPTIONS_INIT;
    memset(c, 0, sizeof *c);
    c->out = d;
}

int cli_parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int cli_parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end)
        return -1;
    *out = v;
    return 0;
}

int cli_common_option(const cli_command *cmd, cli_common *c, int opt,
                      const char *arg, bool *done)
{
    long v;
    *done = false;
    switch (opt) {
    case 'j':
        if (cli_parse_long(arg, 1, 4096, &v))
            goto bad;
        c->threads = (int)v;
        return 0;
    case CLI_OPT_QUIET:
        c->quiet = true;
        return 0;
    case CLI_OPT_HELP:
        *done = true;
        return cli_help(cmd);
    case CLI_OPT_VERSION:
        *done = true;
        printf("raster-tool (tessera) %s\n", TES_VERSION_STRING);
        return CLI_EXIT_OK;
    case CLI_OPT_PROGRESS:
        if (strcmp(arg, "bar") == 0)
            c->progress = CLI_PROGRESS_BAR;
        else if (strcmp(arg, "gdal") == 0)
            c->progress = CLI_PROGRESS_GDAL;
        else if (strcmp(arg, "none") == 0)
            c->progress = CLI_PROGRESS_NONE;
        else
            goto bad;
        return 0;
    case CLI_OPT_TRACE:
        if (!*arg)
            goto bad;
        c->trace = arg;
        return 0;
    case CLI_OPT_CO:
    case CLI_OPT_FORMAT: {
        int rc = opt == CLI_OPT_CO ? cli_creation_option(cmd, c, arg)
                                   : cli_output_format(cmd, c, arg);
        *done = rc != 0;
        return rc;
    }
    case CLI_OPT_COMPRESS:
        if (tes_compress_parse(arg, &c->out.compress))
            goto bad;
        cli_settle_level(c);
        return 0;
    case CLI_OPT_LEVEL:
        if (cli_parse_long(arg, 1, 22, &v))
            goto bad;
        c->level = (int)v;
        cli_settle_level(c);
        return 0;
    case CLI_OPT_PREDICTOR:
        if (strcmp(arg, "auto") == 0)
            c->out.predictor = -1;
        else if (cli_parse_long(arg, 1, 3, &v))
            goto bad;
        else
            c->out.predictor = (int)v;
        return 0;
    case CLI_OPT_TILE: {
        char *x = strchr(arg, 'x');
        long w, h;
        if (x) {
            char buf[32];
            snprintf(buf, sizeof buf, "%.*s", (int)(x - arg), arg);
            if (cli_parse_long(buf, 16, 65536, &w) ||
                cli_parse_long(x + 1, 16, 65536, &h))
                goto bad;
        } else if (cli_parse_long(arg, 16, 65536, &w)) {
            goto bad;
        } else {
            h = w;
        }
        if (w % 16 || h % 16) {
            *done = true;
            return cli_usage(cmd, "--tile %s: not a multiple of 16", arg);
        }
        c->out.tile_width = (int)w;
        c->out.tile_height = (int)h;
        return 0;
    }
    case CLI_OPT_BIGTIFF:
        if (strcmp(arg, "auto") == 0)
            c->out.bigtiff = TES_BIGTIFF_AUTO;
        else if (strcmp(arg, "yes") == 0)
            c->out.bigtiff = TES_BIGTIFF_YES;
        else if (strcmp(arg, "no") == 0)
            c->out.bigtiff = TES_BIGTIFF_NO;
        else
            goto bad;
        return 0;
    case CLI_OPT_OVERWRITE:
        c->out.overwrite = true;
        return 0;
    case CLI_OPT_COG:
        c->out.cog = true;
        return 0;
    case CLI_OPT_RESAMPLING:
        if (tes_resampling_parse(arg, &c->out.overview_resampling))
            goto bad;
        return 0;
    case CLI_OPT_STATS:
        c->stats = true;
        return 0;
    case '?':
        *done = true;
        fprintf(stderr, "Try 'raster-tool %s --help'.\n", cmd->name);
        return CLI_EXIT_USAGE;
    default:
        return 1;
    }
bad:
    *done = true;
    return cli_usage(cmd, "invalid value '%s'", arg);
}

int cli_pool(const cli_common *c, tes_pool **pool)
{
    tes_pool_options o = TES_POOL_OPTIONS_INIT;
    o.threads = c->threads;
    o.name = "raster-tool";
    o.trace_path = c->trace;
    int rc = tes_pool_create(pool, &o);
    if (rc)
        return cli_fail("threads", "cannot start: %s", tes_strerror(rc));
    return 0;
}

/* Set by SIGINT / SIGTERM (on whichever thread takes the signal); read by
 * the progress callback, which then cancels the run so that the output's
 * temporary file is removed. */
static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

typedef struct progress_state {
    int mode;            /* CLI_PROGRESS_..., NONE when nothing is drawn */
    const char *what;    /* a preparatory pass's name, or NULL */
    uint64_t pixels;     /* of the whole run */
    double t0;           /* monotonic seconds at the start */
    double last_draw;    /* when the bar was last drawn */
    int last;            /* -1 before anything; bar: 1 once drawn; gdal:
                            the last tick printed */
    size_t width;        /* bar: characters of the last line drawn */
} progress_state;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* "7.2s", "3m05s", "2h03m" */
static void fmt_time(char *b, size_t n, double s)
{
    if (s < 60)
        snprintf(b, n, "%.1fs", s);
    else if (s < 3600)
        snprintf(b, n, "%dm%02ds", (int)(s / 60), (int)s % 60);
    else
        snprintf(b, n, "%dh%02dm", (int)(s / 3600), (int)(s / 60) % 60);
}

/* One line, redrawn in place: " 45% [#########           ] 12.3s
 * 85.2 MPix/s, 15.1s left" (the pass's name first when it has one). */
static void draw_bar(progress_state *st, uint64_t done, uint64_t total,
                     double now)
{
    double f = total ? (double)done / (double)total : 1;
    double el = now - st->t0;
    int n = (int)(f * 24);
    char line[160], t[16], left[32] = "";
    fmt_time(t, sizeof t, el);
    double mpix = el > 0 ? f * (double)st->pixels / el / 1e6 : 0;
    if (done && done < total && el > 0.2) {
        char r[16];
        fmt_time(r, sizeof r, el / f - el);
        snprintf(left, sizeof left, ", %s left", r);
    }
    int len = snprintf(line, sizeof line, "\r%s%s%3d%% [%.*s%*s] %s, "
                                          "%.1f MPix/s%s",
                       st->what ? st->what : "", st->what ? ": " : "",
                       (int)(f * 100), n, "########################",
                       24 - n, "", t, mpix, left);
    size_t w = len > 0 ? (size_t)len : 0;
    /* blank what a longer previous line left */
    fprintf(stderr, "%s%*s", line,
            st->width > w ? (int)(st->width - w) : 0, "");
    st->width = w;
    fflush(stderr);
}

/* GDAL's GDALTermProgress: 40 ticks, a number every fourth. */
static void draw_gdal(progress_state *st, uint64_t done, uint64_t total)
{
    int tick = total ? (int)((double)done / (double)total * 40) : 40;
    for (int i = st->last + 1; i <= tick; i++) {
        if (i % 4 == 0)
            printf("%d", i / 4 * 10);
        else
            printf(".");
    }
    if (tick == 40 && st->last < 40)
        printf(" - done.\n");
    if (tick > st->last) {
        st->last = tick;
        fflush(stdout);
    }
}

bool cli_interrupted(void) { return interrupted != 0; }

/* Only the thread that runs the pipeline calls it, one call at a time. */
static int progress_cb(uint64_t done, uint64_t total, void *ctx)
{
    progress_state *st = ctx;
    if (interrupted)
        return 1;
    if (st->mode == CLI_PROGRESS_GDAL) {
        draw_gdal(st, done, total);
    } else if (st->mode == CLI_PROGRESS_BAR) {
        /* a few times a second, and the last one */
        double now = now_s();
        if (done == total || now - st->last_draw >= 0.25) {
            st->last_draw = now;
            st->last = 1;
            draw_bar(st, done, total, now);
        }
    }
    return 0;
}

void cli_progress_setup(const cli_common *c, tes_pipeline_options *po,
                        uint64_t pixels, const char *what)
{
    static progress_state st; /* one pipeline at a time per process */
    memset(&st, 0, sizeof st);
    st.what = what;
    st.pixels = pixels;
    st.t0 = now_s();
    st.last = -1;
    st.mode = CLI_PROGRESS_NONE;
    if (c->progress == CLI_PROGRESS_GDAL && !c->quiet && !what) {
        st.mode = CLI_PROGRESS_GDAL;
        draw_gdal(&st, 0, 1); /* GDAL prints its 0 before any work */
    } else if (c->progress == CLI_PROGRESS_BAR && !c->quiet &&
               cli_dist_terminal()) {
        st.mode = CLI_PROGRESS_BAR;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    po->progress = progress_cb;
    po->progress_ctx = &st;
}

void cli_progress_end(const tes_pipeline_options *po)
{
    const progress_state *st = po->progress_ctx;
    if (st && st->mode == CLI_PROGRESS_BAR && st->last >= 0)
        fputc('\n', stderr);
}

void cli_stats_print(const cli_common *c, const tes_run_stats *st)
{
    if (!c->stats)
        return;
    fprintf(stderr,
            "raster-tool: stats: %llu tiles, %llu input blocks decoded, "
            "%llu bytes spilled to temporary files, %llu read back\n",
            (unsigned long long)st->tiles,
            (unsigned long long)st->blocks_decoded,
            (unsigned long long)st->spill_written,
            (unsigned long long)st->spill_read);
}

int cli_run_on(const cli_common *c, tes_pool *pool, const tes_kernel *k,
               tes_raster *r, const char *out_path)
{
    tes_raster_error err = {0};
    tes_pipeline_options po = TES_PIPELINE_OPTIONS_INIT;
    const tes_raster_info *info = tes_raster_info_get(r);
    tes_run_stats st;
    po.stats = &st;
    cli_progress_setup(c, &po, (uint64_t)info->width * (uint64_t)info->height,
                       NULL);
    int rc = cli_raster_run(pool, k, &r, 1, out_path, &c->out, NULL, &po,
                            &err);
    cli_progress_end(&po);
    if (!rc)
        cli_stats_print(c, &st);
    return rc ? cli_fail_err(&err) : CLI_EXIT_OK;
}

int cli_run_one(const cli_common *c, const tes_kernel *k, tes_raster *r,
                const char *out_path)
{
    tes_pool *pool;
    if (cli_pool(c, &pool)) {
        tes_raster_close(r);
        return CLI_EXIT_FAIL;
    }
    int rc = cli_run_on(c, pool, k, r, out_path);
    tes_pool_destroy(pool);
    tes_raster_close(r);
    return rc;
}

int cli_band_range(const cli_common *c, tes_pool *pool, tes_raster *r,
                   int band, double *min, double *max)
{
    const tes_raster_info *info = tes_raster_info_get(r);
    tes_kernel k;
    tes_raster_error err;
    if (tes_kernel_stats_ranges(&k, info->bands, 0, NULL, NULL, &err))
        return cli_fail(tes_raster_path(r), "%s", err.message);
    void *res = malloc(k.partial_size);
    if (!res) {
        tes_kernel_release(&k);
        return cli_fail(tes_raster_path(r), "out of memory");
    }
    tes_pipeline_options po = TES_PIPELINE_OPTIONS_INIT;
    cli_progress_setup(c, &po, (uint64_t)info->width * (uint64_t)info->height,
                       "statistics");
    int rc = cli_raster_run(pool, &k, &r, 1, NULL, NULL, res, &po, &err);
    cli_progress_end(&po);
    tes_kernel_release(&k);
    if (rc) {
        free(res);
        return cli_fail_err(&err);
    }
    const tes_band_stats *s = tes_stats_band(res, band);
    rc = CLI_EXIT_OK;
    if (s->count == 0)
        rc = cli_fail(tes_raster_path(r), "band %d has no valid pixels",
                      band + 1);
    *min = s->min;
    *max = s->max;
    free(res);
    return rc;
}

int cli_read_text(const char *path, size_t max, char **text)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return cli_fail(path, "%s", strerror(errno));
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    int rc = buf ? 0 : cli_fail(path, "out of memory");
    while (rc == 0) {
        if (n + 1 == cap) {
            if (cap > max) {
                rc = cli_fail(path, "larger than %zu bytes", max);
                break;
            }
            char *b = realloc(buf, cap * 2);
            if (!b) {
                rc = cli_fail(path, "out of memory");
                break;
            }
            buf = b;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - 1 - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f))
                rc = cli_fail(path, "%s", strerror(errno ? errno : EIO));
            break;
        }
    }
    fclose(f);
    if (rc == 0 && memchr(buf, 0, n))
        rc = cli_fail(path, "not a text file");
    if (rc) {
        free(buf);
        return rc;
    }
    buf[n] = 0;
    *text = buf;
    return 0;
}
