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

/* A single-dash spelling of another program's option ("-az") and ours
 * ("--azimuth"); a table ends with a NULL gdal. */
typedef struct cli_spelling {
    const char *gdal;
    const char *ours;
} cli_spelling;

typedef struct cli_command {
    const char *name;
    const char *summary;    /* one line for the top-level --help */
    const char *usage;      /* the full --help text of the command */
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
} cli_command;

/* gdaldem's single-dash options and GDAL's -q -of -co (gdal_compat.c);
 * main.c rewrites them for the commands gdaldem has before their run
 * sees argv. */
extern const cli_spelling cli_gdaldem_spellings[];

/* The commands (one per cmd_<name>.c). */
extern const cli_command cli_cmd_aspect;    /* cmd_terrain.c */
extern const cli_command cli_cmd_blur;      /* cmd_convolve.c */
extern const cli_command cli_cmd_calc;      /* cmd_calc.c */
extern const cli_command cli_cmd_color_relief; /* cmd_color_relief.c */
extern const cli_command cli_cmd_convert;   /* cmd_convert.c */
extern const cli_command cli_cmd_convolve;  /* cmd_convolve.c */
extern const cli_command cli_cmd_hillshade; /* cmd_terrain.c */
extern const cli_command cli_cmd_info;      /* cmd_info.c */
extern const cli_command cli_cmd_overviews; /* cmd_overviews.c */
extern const cli_command cli_cmd_quicklook; /* cmd_quicklook.c */
extern const cli_command cli_cmd_roughness; /* cmd_terrain.c */
extern const cli_command cli_cmd_slope;     /* cmd_terrain.c */
extern const cli_command cli_cmd_stats;     /* cmd_stats.c */
extern const cli_command cli_cmd_synth;     /* cmd_synth.c */
extern const cli_command cli_cmd_tpi;       /* cmd_terrain.c */
extern const cli_command cli_cmd_tri;       /* cmd_terrain.c */

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
    CLI_OPT_COG,
    CLI_OPT_RESAMPLING,
    CLI_OPT_STATS,
    CLI_OPT_CO,
    CLI_OPT_FORMAT,
    CLI_OPT_PROGRESS,
    CLI_OPT_TRACE,
    CLI_OPT_FIRST_FREE = 1100 /* commands number their own options from here */
};

/* For a command's struct option array: */
#define CLI_COMMON_LONGOPTS                                                  \
    { "threads", required_argument, NULL, 'j' },                             \
    { "quiet", no_argument, NULL, CLI_OPT_QUIET },                           \
    { "progress", required_argument, NULL, CLI_OPT_PROGRESS },               \
    { "trace", required_argument, NULL, CLI_OPT_TRACE },                     \
    { "help", no_argument, NULL, CLI_OPT_HELP },                             \
    { "version", no_argument, NULL, CLI_OPT_VERSION }
#define CLI_OUTPUT_LONGOPTS                                                  \
    { "compress", required_argument, NULL, CLI_OPT_COMPRESS },               \
    { "level", required_argument, NULL, CLI_OPT_LEVEL },                     \
    { "tile", required_argument, NULL, CLI_OPT_TILE },                       \
    { "bigtiff", required_argument, NULL, CLI_OPT_BIGTIFF },                 \
    { "predictor", required_argument, NULL, CLI_OPT_PREDICTOR },             \
    { "overwrite", no_argument, NULL, CLI_OPT_OVERWRITE },                   \
    { "cog", no_argument, NULL, CLI_OPT_COG },                               \
    { "overview-resampling", required_argument, NULL, CLI_OPT_RESAMPLING },  \
    { "stats", no_argument, NULL, CLI_OPT_STATS },                           \
    { "co", required_argument, NULL, CLI_OPT_CO },                           \
    { "format", required_argument, NULL, CLI_OPT_FORMAT }

/* The text of the shared options for usage strings. */
#define CLI_COMMON_HELP                                                      \
    "  -j, --threads N      worker threads (default: TESSERA_NUM_THREADS or the CPUs)\n" \
    "      --quiet          no progress bar\n"                               \
    "      --progress P     bar (default: on a terminal, percent, elapsed time,\n" \
    "                       MPix/s and time left), gdal (0...10...20 on\n"    \
    "                       stdout, as GDAL's tools) or none\n"              \
    "      --trace FILE     a Chrome trace of the run (Perfetto opens it)\n"  \
    "      --help           this help\n"
#define CLI_OUTPUT_HELP                                                      \
    "      --compress C     none, deflate (default), lzw or zstd\n"          \
    "      --level N        deflate 1..12 (6), zstd 1..22 (9)\n"             \
    "      --predictor P    auto (default), 1 none, 2 horizontal, 3 floating point\n" \
    "      --tile N[xM]     output tile size, multiples of 16 (256)\n"       \
    "      --bigtiff B      auto (default), yes or no\n"                     \
    "      --overwrite      replace an existing output\n"                    \
    "      --cog            a Cloud-Optimized GeoTIFF, with overviews\n"     \
    "      --overview-resampling R\n"                                        \
    "                       nearest, average, bilinear, cubic or mode (default:\n" \
    "                       nearest for palette images, cubic otherwise)\n"  \
    "      --stats          print what the run did (tiles, blocks decoded,\n" \
    "                       bytes spilled to temporary files) on stderr\n"   \
    "      --co NAME=VALUE  a GDAL creation option: COMPRESS, PREDICTOR,\n"  \
    "                       ZLEVEL, ZSTD_LEVEL, TILED, BLOCKXSIZE,\n"        \
    "                       BLOCKYSIZE, BIGTIFF, NUM_THREADS (also -co)\n"   \
    "      --format F       GTiff (also -of)\n"

/* How progress is shown (--progress). */
enum { CLI_PROGRESS_BAR = 0, CLI_PROGRESS_GDAL, CLI_PROGRESS_NONE };

typedef struct cli_common {
    int threads;            /* 0: default */
    bool quiet;
    bool stats;             /* --stats */
    int progress;           /* CLI_PROGRESS_... */
    const char *trace;      /* --trace FILE, or NULL */
    tes_raster_create_options out;
    /* The compression levels asked by name (--level, or -co ZLEVEL /
     * ZSTD_LEVEL), 0 when not; out.level is the one for out.compress. */
    int level, zlevel, zstd_level;
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

/* Makes the pool for c->threads (tracing to c->trace). Returns 0 or prints
 * and returns 1. */
int cli_pool(const cli_common *c, tes_pool **pool);

/* Fills po->progress for a run over `pixels` pixels: with --progress=bar
 * (the default), a line on stderr when it is a terminal and not --quiet
 * with the percentage, elapsed time, MPix/s and the time left; with
 * --progress=gdal, GDAL's 0...10...20...100 - done. on stdout; and a stop
 * (the run fails with "cancelled", leaving no output) on SIGINT or
 * SIGTERM. what names a preparatory pass ("statistics"), shown before the
 * bar and silent in GDAL's form (GDAL's tools count one pass); NULL for
 * the pass that writes. cli_progress_end ends the line. */
void cli_progress_setup(const cli_common *c, tes_pipeline_options *po,
                        uint64_t pixels, const char *what);
void cli_progress_end(const tes_pipeline_options *po);

/* Prints a run's statistics on stderr when --stats asked for them. */
void cli_stats_print(const cli_common *c, const tes_run_stats *st);

/* Writes w x h pixels of 8-bit samples, channels 1 (grey), 2 (grey and
 * alpha), 3 (RGB) or 4 (RGBA) interleaved, row after row, as a PNG at path,
 * atomically (png_out.c). Returns 0, or prints the error and returns its
 * exit status. */
int cli_png_write(const char *path, const uint8_t *px, int w, int h,
                  int channels, bool overwrite);

/* GDAL's spellings (gdal_compat.c). */

/* A new argv (malloc'd; the strings are argv's) with every word of table
 * replaced by ours, up to a "--". *bad is set to the first single-dash
 * word of two or more letters (or '_') that is not in the table (another
 * option of that program, which getopt would take for a cluster of short
 * options), or NULL. */
char **cli_respell(int argc, char **argv, const cli_spelling *table,
                   const char **bad);
/* -co NAME=VALUE and -of FORMAT into c. Return 0, or print a usage error
 * and return its exit status. */
int cli_creation_option(const cli_command *cmd, cli_common *c,
                        const char *nv);
int cli_output_format(const cli_command *cmd, cli_common *c,
                      const char *format);
/* Sets c->out.level from the levels asked and the compression. */
void cli_settle_level(cli_common *c);

/* "Stop now": SIGINT or SIGTERM arrived since cli_progress_setup. */
bool cli_interrupted(void);

/* ---- running across MPI ranks (dist.c; real only in `make MPI=1`) ---- */

/* tes_raster_run, or in the MPI build tes_mpi_raster_run across the
 * job's ranks (every rank runs the same command). */
int cli_raster_run(tes_pool *pool, const tes_kernel *k,
                   tes_raster *const *inputs, int n_in, const char *out_path,
                   const tes_raster_create_options *out_opts, void *result,
                   const tes_pipeline_options *po, tes_raster_error *err);
/* Before anything else: joins the MPI job (the MPI build). Ranks other
 * than 0 then print nothing: their stdout goes to /dev/null and their
 * stderr is kept, so that its last line can tell rank 0 why they failed.
 * Returns -1 to go on, or the status to exit with at once. */
int cli_dist_start(int *argc, char ***argv);
/* After the command, with its exit status: the status every rank agrees
 * on (rank 0 prints another rank's failure nobody has printed yet). */
int cli_dist_end(int status);
/* Whether a progress bar may be drawn: stderr is a terminal, or, on rank
 * 0 under a launcher that pipes it, the launcher's stderr is one. */
bool cli_dist_terminal(void);
/* The ranks of the job this process is one of (1 in the plain build). */
int cli_dist_ranks(void);
/* Whether this process writes what is not a raster (quicklook's PNG): rank
 * 0, or the only process in the plain build. */
bool cli_dist_leader(void);

/* Runs kernel k over the one input r into out_path with c's threads, output
 * options and progress bar; closes r whatever happens. Returns the exit
 * status, having printed the error line on failure. */
int cli_run_one(const cli_common *c, const tes_kernel *k, tes_raster *r,
                const char *out_path);
/* The same on pool, leaving r open. */
int cli_run_on(const cli_common *c, tes_pool *pool, const tes_kernel *k,
               tes_raster *r, const char *out_path);

/* The minimum and maximum of band (0-based) of r over its valid pixels,
 * in a first streaming pass (the stats reduction) with its own progress
 * line. Returns 0, or prints the error and returns its exit status. */
int cli_band_range(const cli_common *c, tes_pool *pool, tes_raster *r,
                   int band, double *min, double *max);

/* Reads the whole text file at path (at most max bytes) into *text,
 * NUL-terminated, to be freed. Returns 0, or prints the error and returns
 * its exit status. */
int cli_read_text(const char *path, size_t max, char **text);

#endif
