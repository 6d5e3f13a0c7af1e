/*
 * cmd_overviews.c — `raster-tool overviews FILE`: adds overviews to a
 * GeoTIFF as gdaladdo does, inside it or in FILE.ovr, atomically.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static int run(int argc, char **argv);

const cli_command cli_cmd_overviews = {
    "overviews",
    "add overviews to a GeoTIFF, inside it or in FILE.ovr (as gdaladdo)",
    "Usage: raster-tool overviews [OPTIONS] FILE\n"
    "\n"
    "Adds reduced-resolution images (overviews) to FILE, as gdaladdo does:\n"
    "each half the size of the one above and computed from it, until both\n"
    "sides are at most --min-size pixels. Inside FILE (replacing the\n"
    "overviews it has), or with --external in FILE.ovr, which GDAL and\n"
    "QGIS read beside it. FILE is rewritten beside itself and renamed into\n"
    "place only when complete: if anything fails, it is left as it was.\n"
    "\n"
    "Options:\n"
    "  -r, --resampling R   nearest (default, as gdaladdo), average,\n"
    "                       bilinear, cubic or mode\n"
    "      --external       write FILE.ovr (gdaladdo -ro)\n"
    "      --min-size N     stop when both sides are at most N (256)\n"
    "      --tile N         the overviews' tile size (FILE's, else 256)\n"
    "      --level N        compression level (FILE's codec when it is\n"
    "                       none, deflate, lzw or zstd, else deflate)\n"
    "      --stats          print what the run did on stderr\n"
    CLI_COMMON_HELP,
    run,
};

enum {
    OPT_EXTERNAL = CLI_OPT_FIRST_FREE,
    OPT_MIN_SIZE,
};

static int run(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "resampling", required_argument, NULL, 'r' },
        { "overview-resampling", required_argument, NULL, 'r' },
        { "external", no_argument, NULL, OPT_EXTERNAL },
        { "min-size", required_argument, NULL, OPT_MIN_SIZE },
        { "tile", required_argument, NULL, CLI_OPT_TILE },
        { "level", required_argument, NULL, CLI_OPT_LEVEL },
        { "stats", no_argument, NULL, CLI_OPT_STATS },
        CLI_COMMON_LONGOPTS,
        { NULL, 0, NULL, 0 },
    };
    cli_common c;
    cli_common_init(&c);
    tes_overview_options o = TES_OVERVIEW_OPTIONS_INIT;
    o.resampling = TES_RESAMPLE_NEAREST; /* gdaladdo's default */
    int opt;
    long v;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "j:r:", longopts, NULL)) != -1) {
        if (opt == 'r') {
            if (tes_resampling_parse(optarg, &o.resampling))
                return cli_usage(&cli_cmd_overviews,
                                 "unknown resampling '%s'", optarg);
            continue;
        }
        if (opt == OPT_EXTERNAL) {
            o.external = true;
            continue;
        }
        if (opt == OPT_MIN_SIZE) {
            if (cli_parse_long(optarg, 1, 1 << 30, &v))
                return cli_usage(&cli_cmd_overviews, "invalid value '%s'",
                                 optarg);
            o.min_size = (int)v;
            continue;
        }
        bool done;
        int rc = cli_common_option(&cli_cmd_overviews, &c, opt, optarg,
                                   &done);
        if (done)
            return rc;
        if (opt == CLI_OPT_TILE && c.out.tile_width != c.out.tile_height)
            return cli_usage(&cli_cmd_overviews, "--tile takes one size");
    }
    if (argc - optind != 1)
        return cli_usage(&cli_cmd_overviews, argc - optind < 1
                                                 ? "missing FILE"
                                                 : "too many arguments");
    const char *path = argv[optind];
    if (cli_dist_ranks() > 1) /* every rank would rewrite the file */
        return cli_fail(path, "overviews are built by one process: run the "
                              "plain raster-tool");
    o.tile_size = c.out.tile_width;
    o.level = c.out.level;
    o.memory_limit = c.memory;
    tes_pool *pool;
    if (cli_pool(&c, &pool))
        return CLI_EXIT_FAIL;
    /* the levels' pixels, for the rate: about a third of the file's */
    uint64_t pixels = 0;
    tes_raster *r;
    if (tes_raster_open(&r, path, NULL) == 0) {
        const tes_raster_info *in = tes_raster_info_get(r);
        pixels = (uint64_t)in->width * (uint64_t)in->height / 3;
        tes_raster_close(r);
    }
    tes_pipeline_options po = TES_PIPELINE_OPTIONS_INIT;
    tes_run_stats st;
    cli_progress_setup(&c, &po, pixels, NULL);
    o.progress = po.progress;
    o.progress_ctx = po.progress_ctx;
    o.stats = &st;
    tes_raster_error err;
    cli_sweep(path);
    int rc = tes_raster_build_overviews(pool, path, &o, &err);
    cli_progress_end(&po);
    tes_pool_destroy(pool);
    if (rc)
        return cli_fail_err(&err);
    cli_stats_print(&c, &st);
    return CLI_EXIT_OK;
}
