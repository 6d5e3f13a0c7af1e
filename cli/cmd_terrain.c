/*
 * cmd_terrain.c — `raster-tool slope|aspect|hillshade|tri|tpi|roughness
 * DEM OUT`: terrain with gdaldem's conventions (formulas, nodata,
 * --compute-edges) and its option spellings, pixel sizes from the DEM's
 * geotransform, the kernels of kernels/terrain.c.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

static int run_slope(int argc, char **argv);
static int run_aspect(int argc, char **argv);
static int run_hillshade(int argc, char **argv);
static int run_tri(int argc, char **argv);
static int run_tpi(int argc, char **argv);
static int run_roughness(int argc, char **argv);

#define TERRAIN_ALG_HELP                                                     \
    "      --alg A          horn (default) or zt (Zevenbergen-Thorne)\n"
#define TERRAIN_COMMON_HELP                                                  \
    "      --compute-edges  extrapolate at the raster's edges and next to\n" \
    "                       nodata, as gdaldem -compute_edges\n"             \
    "  -b, --band N         the DEM's band (1)\n"                            \
    "      --type T         output sample type\n"
#define TERRAIN_GDALDEM_HELP                                                 \
    "\ngdaldem's spellings work too: -compute_edges -alg -b -q -of GTiff\n" \
    "-co NAME=VALUE, and those of the options above (-az -alt -p ...).\n"

const cli_command cli_cmd_slope = {
    "slope",
    "slope of a DEM in degrees or percent (as gdaldem slope)",
    "Usage: raster-tool slope [OPTIONS] DEM OUT\n"
    "\n"
    "Slope of DEM as float32, with nodata -9999: atan(sqrt(dx^2+dy^2)) in\n"
    "degrees, dx and dy Horn's 3x3 derivatives over the pixel sizes of the\n"
    "DEM's geotransform. The outer ring of pixels, and every pixel whose\n"
    "3x3 window touches nodata, are nodata unless --compute-edges.\n"
    "\n"
    "Options:\n"
    "  -p, --percent        percent (100 * rise / run) instead of degrees\n"
    "  -s, --scale S        horizontal units per vertical unit (1)\n"
    TERRAIN_ALG_HELP TERRAIN_COMMON_HELP CLI_OUTPUT_HELP CLI_COMMON_HELP
    TERRAIN_GDALDEM_HELP,
    run_slope,
};

const cli_command cli_cmd_aspect = {
    "aspect",
    "aspect of a DEM, degrees clockwise from north (as gdaldem aspect)",
    "Usage: raster-tool aspect [OPTIONS] DEM OUT\n"
    "\n"
    "Direction of steepest descent, in degrees: 0 north, 90 east, 180\n"
    "south, 270 west. float32 with nodata -9999; flat cells are nodata.\n"
    "\n"
    "Options:\n"
    "      --trigonometric  0 east, counter-clockwise\n"
    "      --zero-for-flat  0 for flat cells; the output then has no nodata\n"
    "                       (nodata pixels are 0 too, as gdaldem)\n"
    TERRAIN_ALG_HELP TERRAIN_COMMON_HELP CLI_OUTPUT_HELP CLI_COMMON_HELP
    TERRAIN_GDALDEM_HELP,
    run_aspect,
};

const cli_command cli_cmd_hillshade = {
    "hillshade",
    "shaded relief of a DEM, 1..255, 0 nodata (as gdaldem hillshade)",
    "Usage: raster-tool hillshade [OPTIONS] DEM OUT\n"
    "\n"
    "Shaded relief as uint8: 1 (dark) to 255, 0 nodata; flat ground under\n"
    "the default sun is 181.\n"
    "\n"
    "Options:\n"
    "  -z, --zfactor Z      vertical exaggeration (1)\n"
    "  -s, --scale S        horizontal units per vertical unit (1)\n"
    "      --azimuth A      sun direction, degrees clockwise from north (315)\n"
    "      --altitude A     sun height above the horizon, degrees (45)\n"
    "      --multidirectional  blend of suns at 225, 270, 315 and 360\n"
    "      --combined       shading combined with slope\n"
    "      --igor           Igor's shading: slope darkened by facing away\n"
    "                       from --azimuth, no sun elevation (0..255)\n"
    TERRAIN_ALG_HELP TERRAIN_COMMON_HELP CLI_OUTPUT_HELP CLI_COMMON_HELP
    TERRAIN_GDALDEM_HELP,
    run_hillshade,
};

const cli_command cli_cmd_tri = {
    "tri",
    "terrain ruggedness index of a DEM (as gdaldem TRI)",
    "Usage: raster-tool tri [OPTIONS] DEM OUT\n"
    "\n"
    "Terrain ruggedness index as float32, nodata -9999, in the DEM's\n"
    "vertical units: by default (Riley) the square root of the sum of the\n"
    "squared differences between a cell and its 8 neighbours; with\n"
    "--alg wilson their mean absolute difference. The outer ring of pixels,\n"
    "and every pixel whose 3x3 window touches nodata, are nodata unless\n"
    "--compute-edges.\n"
    "\n"
    "Options:\n"
    "      --alg A          riley (default, terrestrial) or wilson\n"
    "                       (bathymetry)\n"
    TERRAIN_COMMON_HELP CLI_OUTPUT_HELP CLI_COMMON_HELP TERRAIN_GDALDEM_HELP,
    run_tri,
};

const cli_command cli_cmd_tpi = {
    "tpi",
    "topographic position index of a DEM (as gdaldem TPI)",
    "Usage: raster-tool tpi [OPTIONS] DEM OUT\n"
    "\n"
    "Topographic position index as float32, nodata -9999: a cell minus the\n"
    "mean of its 8 neighbours (positive on ridges, negative in valleys).\n"
    "The outer ring of pixels, and every pixel whose 3x3 window touches\n"
    "nodata, are nodata unless --compute-edges.\n"
    "\n"
    "Options:\n"
    TERRAIN_COMMON_HELP CLI_OUTPUT_HELP CLI_COMMON_HELP TERRAIN_GDALDEM_HELP,
    run_tpi,
};

const cli_command cli_cmd_roughness = {
    "roughness",
    "roughness of a DEM: largest difference in 3x3 (as gdaldem roughness)",
    "Usage: raster-tool roughness [OPTIONS] DEM OUT\n"
    "\n"
    "Roughness as float32, nodata -9999: the largest minus the smallest\n"
    "elevation of each 3x3 window. The outer ring of pixels, and every pixel\n"
    "whose 3x3 window touches nodata, are nodata unless --compute-edges.\n"
    "\n"
    "Options:\n"
    TERRAIN_COMMON_HELP CLI_OUTPUT_HELP CLI_COMMON_HELP TERRAIN_GDALDEM_HELP,
    run_roughness,
};

enum {
    OPT_ALG = CLI_OPT_FIRST_FREE,
    OPT_EDGES,
    OPT_TRIG,
    OPT_ZFF,
    OPT_AZ,
    OPT_ALT,
    OPT_MULTI,
    OPT_COMBINED,
    OPT_IGOR,
    OPT_TYPE,
};

static int run_terrain(const cli_command *cmd, tes_terrain_kind kind,
                       int argc, char **argv)
{
    static const struct option longopts[] = {
        { "alg", required_argument, NULL, OPT_ALG },
        { "compute-edges", no_argument, NULL, OPT_EDGES },
        { "band", required_argument, NULL, 'b' },
        { "type", required_argument, NULL, OPT_TYPE },
        { "percent", no_argument, NULL, 'p' },
        { "scale", required_argument, NULL, 's' },
        { "zfactor", required_argument, NULL, 'z' },
        { "trigonometric", no_argument, NULL, OPT_TRIG },
        { "zero-for-flat", no_argument, NULL, OPT_ZFF },
        { "azimuth", required_argument, NULL, OPT_AZ },
        { "altitude", required_argument, NULL, OPT_ALT },
        { "multidirectional", no_argument, NULL, OPT_MULTI },
        { "combined", no_argument, NULL, OPT_COMBINED },
        { "igor", no_argument, NULL, OPT_IGOR },
        CLI_OUTPUT_LONGOPTS,
        CLI_COMMON_LONGOPTS,
        { NULL, 0, NULL, 0 },
    };
    cli_common c;
    cli_common_init(&c);
    tes_terrain_options o = TES_TERRAIN_OPTIONS_INIT;
    o.kind = kind;
    tes_sample_type type = TES_TYPE_NONE;
    long band = 1;
    int opt, longi = -1;
    optind = 1;
    const char *shorts = kind == TES_TERRAIN_SLOPE       ? "j:b:ps:"
                         : kind == TES_TERRAIN_HILLSHADE ? "j:b:s:z:"
                                                         : "j:b:";
    while ((opt = getopt_long(argc, argv, shorts, longopts, &longi)) != -1) {
        bool ok = true, applies = true;
        char name[40];
        if (longi >= 0)
            snprintf(name, sizeof name, "--%s", longopts[longi].name);
        else
            snprintf(name, sizeof name, "-%c", opt);
        longi = -1;
        switch (opt) {
        case OPT_ALG:
            /* gdaldem's -alg: Horn or ZevenbergenThorne for the gradient
             * kinds, Riley or Wilson for TRI, nothing for TPI and
             * roughness */
            applies = kind != TES_TERRAIN_TPI &&
                      kind != TES_TERRAIN_ROUGHNESS;
            if (kind == TES_TERRAIN_TRI) {
                if (strcasecmp(optarg, "riley") == 0)
                    o.tri_alg = TES_TRI_RILEY;
                else if (strcasecmp(optarg, "wilson") == 0)
                    o.tri_alg = TES_TRI_WILSON;
                else
                    ok = false;
            } else if (strcasecmp(optarg, "horn") == 0) {
                o.zt = false;
            } else if (strcasecmp(optarg, "zt") == 0 ||
                       strcasecmp(optarg, "ZevenbergenThorne") == 0) {
                o.zt = true;
            } else {
                ok = false;
            }
            break;
        case OPT_EDGES: o.compute_edges = true; break;
        case 'b': ok = cli_parse_long(optarg, 1, 65535, &band) == 0; break;
        case OPT_TYPE: ok = tes_sample_type_parse(optarg, &type) == 0; break;
        case 'p':
            applies = kind == TES_TERRAIN_SLOPE;
            o.percent = true;
            break;
        case 's':
            applies = kind != TES_TERRAIN_ASPECT;
            ok = cli_parse_double(optarg, &o.scale) == 0 && o.scale > 0;
            break;
        case 'z':
            applies = kind == TES_TERRAIN_HILLSHADE;
            ok = cli_parse_double(optarg, &o.z) == 0;
            break;
        case OPT_TRIG:
            applies = kind == TES_TERRAIN_ASPECT;
            o.trigonometric = true;
            break;
        case OPT_ZFF:
            applies = kind == TES_TERRAIN_ASPECT;
            o.zero_for_flat = true;
            break;
        case OPT_AZ:
            applies = kind == TES_TERRAIN_HILLSHADE;
            ok = cli_parse_double(optarg, &o.azimuth) == 0;
            break;
        case OPT_ALT:
            applies = kind == TES_TERRAIN_HILLSHADE;
            ok = cli_parse_double(optarg, &o.altitude) == 0;
            break;
        case OPT_MULTI:
            applies = kind == TES_TERRAIN_HILLSHADE;
            o.multidirectional = true;
            break;
        case OPT_COMBINED:
            applies = kind == TES_TERRAIN_HILLSHADE;
            o.combined = true;
            break;
        case OPT_IGOR:
            applies = kind == TES_TERRAIN_HILLSHADE;
            o.igor = 1;
            break;
        default: {
            bool done;
            int rc = cli_common_option(cmd, &c, opt, optarg, &done);
            if (done)
                return rc;
            if (rc == 1)
                return cli_usage(cmd, "unexpected option");
            continue;
        }
        }
        if (!applies)
            return cli_usage(cmd, "option %s is not for %s", name,
                             cmd->name);
        if (!ok)
            return cli_usage(cmd, "invalid value '%s'", optarg);
    }
    if (o.multidirectional + o.combined + (o.igor != 0) > 1)
        return cli_usage(cmd, "--multidirectional, --combined and --igor "
                              "exclude each other");
    if (argc - optind != 2)
        return cli_usage(cmd, argc - optind < 2 ? "needs DEM and OUT"
                                                : "too many arguments");
    const char *in_path = argv[optind], *out_path = argv[optind + 1];

    tes_raster_error err;
    tes_raster *r;
    if (tes_raster_open(&r, in_path, &err))
        return cli_fail_err(&err);
    const tes_raster_info *info = tes_raster_info_get(r);
    if (band > info->bands) {
        int nb = info->bands;
        tes_raster_close(r);
        return cli_fail(in_path, "has %d band(s), no band %ld", nb, band);
    }
    o.band = (int)band - 1;
    /* gdaldem's default geotransform when the file has none */
    o.ewres = info->has_geotransform ? info->geotransform[1] : 1.0;
    o.nsres = info->has_geotransform ? info->geotransform[5] : 1.0;
    /* the kernel says the output's nodata (c.out inherits it) */
    tes_kernel k;
    int rc = tes_kernel_terrain(&k, &o);
    if (rc == -ENOMEM) {
        tes_raster_close(r);
        return cli_fail(in_path, "out of memory");
    }
    if (rc) {
        tes_raster_close(r);
        return cli_fail(in_path, "pixel size %g x %g: cannot compute %s",
                        o.ewres, o.nsres, cmd->name);
    }
    if (type)
        k.out_type = type;
    rc = cli_run_one(&c, &k, r, out_path);
    tes_kernel_release(&k);
    return rc;
}

static int run_slope(int argc, char **argv)
{
    return run_terrain(&cli_cmd_slope, TES_TERRAIN_SLOPE, argc, argv);
}

static int run_aspect(int argc, char **argv)
{
    return run_terrain(&cli_cmd_aspect, TES_TERRAIN_ASPECT, argc, argv);
}

static int run_hillshade(int argc, char **argv)
{
    return run_terrain(&cli_cmd_hillshade, TES_TERRAIN_HILLSHADE, argc, argv);
}

static int run_tri(int argc, char **argv)
{
    return run_terrain(&cli_cmd_tri, TES_TERRAIN_TRI, argc, argv);
}

static int run_tpi(int argc, char **argv)
{
    return run_terrain(&cli_cmd_tpi, TES_TERRAIN_TPI, argc, argv);
}

static int run_roughness(int argc, char **argv)
{
    return run_terrain(&cli_cmd_roughness, TES_TERRAIN_ROUGHNESS, argc, argv);
}
