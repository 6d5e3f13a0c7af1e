/*
 * cmd_synth.c — `raster-tool synth OUT --size WxH`: a georeferenced
 * synthetic DEM (seeded gradient-noise terrain, optional nodata holes),
 * the same bytes for the same options at any thread count.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int run(int argc, char **argv);

const cli_command cli_cmd_synth = {
    "synth",
    "make a synthetic, georeferenced DEM of any size",
    "Usage: raster-tool synth [OPTIONS] --size WxH OUT\n"
    "\n"
    "Writes a synthetic digital elevation model (multi-octave gradient noise,\n"
    "hills and ridges) as a tiled GeoTIFF in UTM zone 33N (EPSG:32633), 30 m\n"
    "pixels. The same seed and options give the same bytes at any thread count.\n"
    "\n"
    "Options:\n"
    "      --size WxH       raster size in pixels (required)\n"
    "      --seed N         random seed (1)\n"
    "      --type T         sample type (float32)\n"
    "      --relief M       metres from lowest to highest (2500)\n"
    "      --feature PX     wavelength of the largest hills in pixels (1024)\n"
    "      --octaves N      detail levels (8)\n"
    "      --holes F        fraction of pixels in nodata holes, 0..0.5 (0)\n"
    "      --nodata V       value of the holes (-9999)\n"
    CLI_OUTPUT_HELP CLI_COMMON_HELP,
    run,
};

enum {
    OPT_SIZE = CLI_OPT_FIRST_FREE,
    OPT_SEED,
    OPT_TYPE,
    OPT_RELIEF,
    OPT_FEATURE,
    OPT_OCTAVES,
    OPT_HOLES,
    OPT_NODATA,
};

static int parse_size(const char *s, int64_t *w, int64_t *h)
{
    char *end;
    long long a = strtoll(s, &end, 10);
    if (end == s || (*end != 'x' && *end != 'X'))
        return -1;
    const char *p = end + 1;
    long long b = strtoll(p, &end, 10);
    if (end == p || *end || a < 1 || b < 1 || a > 4294967295LL ||
        b > 4294967295LL)
        return -1;
    *w = a;
    *h = b;
    return 0;
}

static int run(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "size", required_argument, NULL, OPT_SIZE },
        { "seed", required_argument, NULL, OPT_SEED },
        { "type", required_argument, NULL, OPT_TYPE },
        { "relief", required_argument, NULL, OPT_RELIEF },
        { "feature", required_argument, NULL, OPT_FEATURE },
        { "octaves", required_argument, NULL, OPT_OCTAVES },
        { "holes", required_argument, NULL, OPT_HOLES },
        { "nodata", required_argument, NULL, OPT_NODATA },
        CLI_OUTPUT_LONGOPTS,
        CLI_COMMON_LONGOPTS,
        { NULL, 0, NULL, 0 },
    };
    const cli_command *me = &cli_cmd_synth;
    cli_common c;
    cli_common_init(&c);
    tes_synth_options so = TES_SYNTH_OPTIONS_INIT;
    int64_t w = 0, h = 0;
    int opt;
    long v;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "j:", longopts, NULL)) != -1) {
        switch (opt) {
        case OPT_SIZE:
            if (parse_size(optarg, &w, &h))
                return cli_usage(me, "--size %s: expects WxH", optarg);
            continue;
        case OPT_SEED: {
            char *end;
            so.seed = strtoull(optarg, &end, 10);
            if (end == optarg || *end)
                return cli_usage(me, "--seed %s: not a number", optarg);
            continue;
        }
        case OPT_TYPE:
            if (tes_sample_type_parse(optarg, &so.type))
                return cli_usage(me, "unknown type '%s'", optarg);
            continue;
        case OPT_RELIEF:
            if (cli_parse_double(optarg, &so.relief) || so.relief <= 0)
                return cli_usage(me, "--relief %s: expects metres > 0", optarg);
            continue;
        case OPT_FEATURE:
            if (cli_parse_double(optarg, &so.feature_px) || so.feature_px < 2)
                return cli_usage(me, "--feature %s: expects pixels >= 2", optarg);
            continue;
        case OPT_OCTAVES:
            if (cli_parse_long(optarg, 1, 24, &v))
                return cli_usage(me, "--octaves %s: expects 1..24", optarg);
            so.octaves = (int)v;
            continue;
        case OPT_HOLES:
            if (cli_parse_double(optarg, &so.holes) || so.holes < 0 ||
                so.holes > 0.5)
                return cli_usage(me, "--holes %s: expects 0..0.5", optarg);
            continue;
        case OPT_NODATA:
            if (cli_parse_double(optarg, &so.nodata))
                return cli_usage(me, "--nodata %s: not a number", optarg);
            continue;
        default: {
            bool done;
            int rc = cli_common_option(me, &c, opt, optarg, &done);
            if (done)
                return rc;
        }
        }
    }
    if (argc - optind != 1)
        return cli_usage(me, argc - optind < 1 ? "missing OUT"
                                               : "too many arguments");
    if (!w)
        return cli_usage(me, "--size WxH is required");
    const char *out_path = argv[optind];

    /* the kernel says the output's nodata (c.out inherits it) */
    tes_kernel k;
    int krc = tes_kernel_synth_alloc(&k, &so);
    if (krc == -EINVAL)
        return cli_usage(me, "invalid synth options");
    if (krc)
        return cli_fail(out_path, "out of memory");
    double gt[6];
    tes_synth_geotransform(gt);
    tes_georef g;
    void *owned;
    if (tes_georef_from_geotransform(&g, &owned, gt, TES_SYNTH_EPSG)) {
        tes_kernel_release(&k);
        return cli_fail(out_path, "out of memory");
    }
    c.out.georef = &g;
    tes_pool *pool;
    if (cli_pool(&c, &pool)) {
        tes_georef_release(&g, owned);
        tes_kernel_release(&k);
        return CLI_EXIT_FAIL;
    }
    tes_pipeline_options po = TES_PIPELINE_OPTIONS_INIT;
    po.width = w;
    po.height = h;
    tes_run_stats rs;
    po.stats = &rs;
    cli_progress_setup(&c, &po, (uint64_t)w * (uint64_t)h, NULL);
    tes_raster_error err;
    int rc = cli_raster_run(pool, &k, NULL, 0, out_path, &c.out, NULL, &po,
                            &err);
    cli_progress_end(&po);
    tes_pool_destroy(pool);
    tes_georef_release(&g, owned);
    tes_kernel_release(&k);
    if (!rc)
        cli_stats_print(&c, &rs);
    return rc ? cli_fail_err(&err) : CLI_EXIT_OK;
}
