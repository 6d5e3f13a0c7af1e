/*
 * cmd_clean.c — temporaries killed runs left: `raster-tool clean DIR`, and
 * the sweep of an output's folder that every writing command makes first
 * (cli_sweep). What counts as dead is tes_temp_clean's to decide.
 */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* "112.0 MB" */
static void fmt_bytes(char *b, size_t n, uint64_t v)
{
    if (v < 1000)
        snprintf(b, n, "%llu bytes", (unsigned long long)v);
    else if (v < 1000000)
        snprintf(b, n, "%.1f kB", (double)v / 1e3);
    else if (v < 1000000000)
        snprintf(b, n, "%.1f MB", (double)v / 1e6);
    else
        snprintf(b, n, "%.1f GB", (double)v / 1e9);
}

/* The names removed, comma-separated, as many as fit a line. */
typedef struct names {
    char text[200];
    int shown, more;
} names;

static void add_removed(const tes_temp_entry *e, void *ctx)
{
    names *n = ctx;
    if (!e->removed)
        return;
    size_t used = strlen(n->text);
    if (used + strlen(e->name) + 3 < sizeof n->text) {
        snprintf(n->text + used, sizeof n->text - used, "%s%s",
                 n->shown ? ", " : "", e->name);
        n->shown++;
    } else {
        n->more++;
    }
}

void cli_sweep(const char *out_path)
{
    if (!out_path || !cli_dist_leader())
        return;
    char *copy = strdup(out_path);
    if (!copy)
        return;
    const char *dir = dirname(copy);
    names n;
    memset(&n, 0, sizeof n);
    tes_temp_report rep;
    tes_raster_error err;
    int rc = tes_temp_clean(dir, 0, add_removed, &n, &rep, &err);
    /* A folder that cannot be read fails the run itself, with its own
     * line; a temporary that cannot be removed is worth a line of its
     * own, but not a failure of this run. */
    if (rep.removed) {
        char b[32];
        fmt_bytes(b, sizeof b, rep.removed_bytes);
        fprintf(stderr,
                "raster-tool: %s: removed %d temporary file%s left by "
                "killed runs (%s): %s%s\n",
                dir, rep.removed, rep.removed == 1 ? "" : "s", b, n.text,
                n.more ? ", ..." : "");
    }
    if (rc && rep.dead > rep.removed)
        fprintf(stderr, "raster-tool: %s\n", err.message);
    free(copy);
}

static const char *const state_name[] = {
    [TES_TEMP_DEAD] = "dead",
    [TES_TEMP_LIVE] = "in use",
    [TES_TEMP_OTHER_HOST] = "other host",
};

typedef struct listing {
    bool dry, quiet;
} listing;

static void list_one(const tes_temp_entry *e, void *ctx)
{
    const listing *l = ctx;
    if (l->quiet)
        return;
    char b[32], who[180] = "";
    fmt_bytes(b, sizeof b, e->bytes);
    if (e->pid)
        snprintf(who, sizeof who, ", pid %ld on %s", e->pid, e->host);
    const char *what = e->state == TES_TEMP_DEAD
                           ? (e->removed ? "removed"
                              : l->dry   ? "would remove"
                                         : "could not remove")
                           : "left";
    printf("%s %s (%s, %s%s)\n", what, e->name, state_name[e->state], b, who);
}

enum { OPT_DRY = CLI_OPT_FIRST_FREE, OPT_OTHER };

static int run(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "dry-run", no_argument, NULL, 'n' },
        { "other-hosts", no_argument, NULL, OPT_OTHER },
        CLI_COMMON_LONGOPTS,
        { NULL, 0, NULL, 0 },
    };
    cli_common c;
    cli_common_init(&c);
    listing l = { false, false };
    unsigned flags = 0;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "nj:", longopts, NULL)) != -1) {
        if (opt == 'n') {
            l.dry = true;
            flags |= TES_TEMP_DRY_RUN;
        } else if (opt == OPT_OTHER) {
            flags |= TES_TEMP_OTHER_HOSTS;
        } else {
            bool done;
            int rc = cli_common_option(&cli_cmd_clean, &c, opt, optarg, &done);
            if (done)
                return rc;
        }
    }
    l.quiet = c.quiet;
    if (argc - optind < 1)
        return cli_usage(&cli_cmd_clean, "needs DIR");
    int status = CLI_EXIT_OK;
    for (int i = optind; i < argc; i++) {
        tes_temp_report rep;
        tes_raster_error err;
        if (tes_temp_clean(argv[i], flags, list_one, &l, &rep, &err))
            status = cli_fail_err(&err);
        else if (!c.quiet && !rep.dead && !rep.live && !rep.other_host)
            printf("%s: no temporaries of ours\n", argv[i]);
    }
    if (fflush(stdout) != 0)
        status = cli_fail("stdout", "write error");
    return status;
}

const cli_command cli_cmd_clean = {
    "clean",
    "remove the temporaries that killed runs left in folders",
    "Usage: raster-tool clean [OPTIONS] DIR...\n"
    "\n"
    "Removes from each DIR the temporary files (.NAME.tmp-XXXXXX) that runs\n"
    "of raster-tool or of the tessera library left when they were killed\n"
    "(kill -9, a crash, a power cut): files that are ours by name and by\n"
    "content, that no running process holds. A temporary still being\n"
    "written, or written on another host (a network filesystem), is left.\n"
    "Every writing command does the same in its output's folder first.\n"
    "Prints one line per temporary found: removed, would remove, left.\n"
    "\n"
    "  -n, --dry-run        say what would be removed, remove nothing\n"
    "      --other-hosts    also remove other hosts' temporaries that no\n"
    "                       process holds (only where file locks reach every\n"
    "                       host: NFSv4, NFSv3 with lockd; not with nolock)\n"
    "      --quiet          print nothing but errors\n"
    "      --help           this help\n",
    run,
};
