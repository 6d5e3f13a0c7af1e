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
    case CLI_OPT_COMPRESS:
        if (tes_compress_parse(arg, &c->out.compress))
            goto bad;
        return 0;
    case CLI_OPT_LEVEL:
        if (cli_parse_long(arg, 1, 22, &v))
            goto bad;
        c->out.level = (int)v;
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
    bool draw;  /* stderr is a terminal and not --quiet */
    int last;   /* last percentage drawn */
} progress_state;

bool cli_interrupted(void) { return interrupted != 0; }

/* Only the thread that runs the pipeline calls it, one call at a time. */
static int progress_cb(uint64_t done, uint64_t total, void *ctx)
{
    progress_state *st = ctx;
    if (interrupted)
        return 1;
    if (!st->draw)
        return 0;
    int pct = total ? (int)(done * 100 / total) : 100;
    if (pct != st->last) {
        st->last = pct;
        int n = pct / 2;
        fprintf(stderr, "\r[%.*s%*s] %3d%%",
                n, "##################################################",
                50 - n, "", pct);
        fflush(stderr);
    }
    return 0;
}

void cli_progress_setup(const cli_common *c, tes_pipeline_options *po)
{
    static progress_state st; /* one pipeline per process */
    st.draw = !c->quiet && cli_dist_terminal();
    st.last = -1;
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
    if (st && st->draw && st->last >= 0)
        fputc('\n', stderr);
}

int cli_run_one(const cli_common *c, const tes_kernel *k, tes_raster *r,
                const char *out_path)
{
    tes_pool *pool;
    if (cli_pool(c, &pool)) {
        tes_raster_close(r);
        return CLI_EXIT_FAIL;
    }
    tes_raster_error err = {0};
    tes_pipeline_options po = TES_PIPELINE_OPTIONS_INIT;
    cli_progress_setup(c, &po);
    int rc = cli_raster_run(pool, k, &r, 1, out_path, &c->out, NULL, &po,
                            &err);
    cli_progress_end(&po);
    tes_pool_destroy(pool);
    tes_raster_close(r);
    return rc ? cli_fail_err(&err) : CLI_EXIT_OK;
}
