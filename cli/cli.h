/*
 * cli.h — private to cli/: the command table, the conventions every
 * raster-tool command shares (errors, usage, output options, threads,
 * progress bar). A new command is one cli/cmd_<name>.c defining a
 * cli_command and one line in the table in cli/main.c.
 */
#ifndef TES_CLI_H
#define TES_CLI_H

#include <getopt.h>
#include <stdbool.h>

#include "tessera_kernels.h"

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2

typedef struct cli_command {
    const char *name;
    const char *summary;    /* one line for the top-level --help */
    const char *usage;      /* the full --help text of the command */
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
} cli_command;

/* The commands (one per cmd_<name>.c). */
extern const cli_command cli_cmd_aspect;    /* cmd_terrain.c */
extern const cli_command cli_cmd_blur;      /* cmd_convolve.c */
extern const cli_command cli_cmd_calc;      /* cmd_calc.c */
extern const cli_command cli_cmd_convert;   /* cmd_convert.c */
extern const cli_command cli_cmd_convolve;  /* cmd_convolve.c */
extern const cli_command cli_cmd_hillshade; /* cmd_terrain.c */
extern const cli_command cli_cmd_info;      /* cmd_info.c */
extern const cli_command cli_cmd_slope;     /* cmd_terrain.c */
extern const cli_command cli_cmd_stats;     /* cmd_stats.c */
extern const cli_command cli_cmd_synth;     /* cmd_synth.c */

/* "raster-tool: FILE: reason" on stderr; returns CLI_EXIT_FAIL. */
int cli_fail(const char *file, const char *fmt, ...) TES_PRINTF(2, 3);
/* The message of a library error (already "FILE: reason"). */
int cli_fail_err(const tes_raster_error *err);
/* "raster-tool CMD: reason" and a hint on stderr; returns CLI_EXIT_USAGE. */
int cli_usage(const cli_command *cmd, const char *fmt, ...) TES_PRINTF(2, 3);
/* Prints cmd->usage to stdout; returns CLI_EXIT_OK. */
int cli_help(const cli_command *cmd);

/* Options shared by commands that write a raster. Long-only option ids: */
enum {
    CLI_OPT_COMPRESS = 1000,
    CLI_OPT_LEVEL,
    CLI_OPT_TILE,
    CLI_OPT_BIGTIFF,
    CLI_OPT_OVERWRITE,
    CLI_OPT_PREDICTOR,
    CLI_OPT_QUIET,
    CLI_OPT_HELP,
    CLI_OPT_VERSION,
    CLI_OPT_FIRST_FREE = 1100 /* commands number their own options from here */
};

/* For a command's struct option array: */
#define CLI_COMMON_LONGOPTS                                                  \
    { "threads", required_argument, NULL, 'j' },                             \
    { "quiet", no_argument, NULL, CLI_OPT_QUIET },                           \
    { "help", no_argument, NULL, CLI_OPT_HELP },                             \
    { "version", no_argument, NULL, CLI_OPT_VERSION }
#define CLI_OUTPUT_LONGOPTS                                                  \
    { "compress", required_argument, NULL, CLI_OPT_COMPRESS },               \
    { "level", required_argument, NULL, CLI_OPT_LEVEL },                     \
    { "tile", required_argument, NULL, CLI_OPT_TILE },                       \
    { "bigtiff", required_argument, NULL, CLI_OPT_BIGTIFF },                 \
    { "predictor", required_argument, NULL, CLI_OPT_PREDICTOR },             \
    { "overwrite", no_argument, NULL, CLI_OPT_OVERWRITE }

/* The text of the shared options for usage strings. */
#define CLI_COMMON_HELP                                                      \
    "  -j, --threads N      worker threads (default: TESSERA_NUM_THREADS or the CPUs)\n" \
    "      --quiet          no progress bar\n"                               \
    "      --help           this help\n"
#define CLI_OUTPUT_HELP                                                      \
    "      --compress C     none, deflate (default), lzw or zstd\n"          \
    "      --level N        deflate 1..12 (6), zstd 1..22 (9)\n"             \
    "      --predictor P    auto (default), 1 none, 2 horizontal, 3 floating point\n" \
    "      --tile N[xM]     output tile size, multiples of 16 (256)\n"       \
    "      --bigtiff B      auto (default), yes or no\n"                     \
    "      --overwrite      replace an existing output\n"

typedef struct cli_common {
    int threads;            /* 0: default */
    bool quiet;
    tes_raster_create_options out;
} cli_common;

void cli_common_init(cli_common *c);

/* Handles one getopt result that is a shared option. Returns 0 when it was
 * handled, 1 when it is not a shared option, or an exit code (help,
 * version, usage error) with *done set. */
int cli_common_option(const cli_command *cmd, cli_common *c, int opt,
                      const char *arg, bool *done);

/* Parses an integer in [lo, hi]. Returns 0 or -1. */
int cli_parse_long(const char *s, long lo, long hi, long *out);
int cli_parse_double(const char *s, double *out);

/* Makes the pool for c->threads. Returns 0 or prints and returns 1. */
int cli_pool(const cli_common *c, tes_pool **pool);

/* Fills opts->progress: a bar on stderr when it is a terminal and not
 * --quiet, and a stop (the run fails with "cancelled", leaving no output)
 * on SIGINT or SIGTERM. cli_progress_end ends the bar's line. */
void cli_progress_setup(const cli_common *c, tes_pipeline_options *po);
void cli_progress_end(const tes_pipeline_options *po);

/* Runs kernel k over the one input r into out_path with c's threads, output
 * options and progress bar; closes r whatever happens. Returns the exit
 * status, having printed the error line on failure. */
int cli_run_one(const cli_common *c, const tes_kernel *k, tes_raster *r,
                const char *out_path);

#endif
