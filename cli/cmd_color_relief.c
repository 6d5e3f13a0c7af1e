/*
 * cmd_color_relief.c — `raster-tool color-relief DEM COLORS OUT`: gdaldem
 * color-relief's colour file and colours (kernels/color_relief.c), with a
 * first streaming statistics pass when the file has percentages.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int run(int argc, char **argv);

const cli_command cli_cmd_color_relief = {
    "color-relief",
    "colours a DEM from a colour file: uint8 RGB(A) (as gdaldem color-relief)",
    "Usage: raster-tool color-relief [OPTIONS] DEM COLORS OUT\n"
    "\n"
    "Colours band 1 of DEM by the colour file COLORS, writing uint8 RGB (or\n"
    "RGBA with --alpha), tiled and georeferenced as DEM. The colours are\n"
    "gdaldem 3.6's, byte for byte.\n"
    "\n"
    "COLORS has one entry per line, fields split by spaces, tabs, commas or\n"
    "colons; '#' and '/' start comments:\n"
    "  1200 139 90 43       elevation and red, green, blue (0..255)\n"
    "  1200 139 90 43 128   ... and alpha (255 when absent)\n"
    "  50% green            a percentage of the band's range (from a first\n"
    "                       pass) and a named colour: white black red green\n"
    "                       blue yellow magenta cyan aqua grey gray orange\n"
    "                       brown purple violet indigo\n"
    "  nv 0 0 0 0           the colour of nodata pixels\n"
    "A GMT .cpt file (a '# COLOR_MODEL = RGB' line, segments \"z0 r g b z1\n"
    "r g b\", an N line for nodata) works too. A line gdaldem would misread\n"
    "is refused with its number.\n"
    "\n"
    "Options:\n"
    "      --alpha          a fourth, alpha band (the entries' alpha)\n"
    "      --exact-color-entry    only a value equal to an entry gets its\n"
    "                       colour; others are 0,0,0(,0)\n"
    "      --nearest-color-entry  the colour of the nearest entry\n"
    "                       (default: linear interpolation between the two\n"
    "                       entries around the value)\n"
    "  -b, --band N         the DEM's band (1)\n"
    CLI_OUTPUT_HELP CLI_COMMON_HELP
    "\ngdaldem's spellings work too: -alpha -exact_color_entry\n"
    "-nearest_color_entry -b -q -of GTiff -co NAME=VALUE.\n",
    run,
};

enum { OPT_ALPHA = CLI_OPT_FIRST_FREE, OPT_EXACT, OPT_NEAREST };

/* "colors: line 3: ..." as "COLORS: line 3: ...". */
static int colors_fail(const char *path, const tes_raster_error *err)
{
    const char *m = err->message;
    if (strncmp(m, "colors: ", 8) == 0)
        m += 8;
    return cli_fail(path, "%s", m);
}

static int run(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "alpha", no_argument, NULL, OPT_ALPHA },
        { "exact-color-entry", no_argument, NULL, OPT_EXACT },
        { "nearest-color-entry", no_argument, NULL, OPT_NEAREST },
        { "band", required_argument, NULL, 'b' },
        CLI_OUTPUT_LONGOPTS,
        CLI_COMMON_LONGOPTS,
        { NULL, 0, NULL, 0 },
    };
    const cli_command *cmd = &cli_cmd_color_relief;
    cli_common c;
    cli_common_init(&c);
    tes_color_relief_options o = TES_COLOR_RELIEF_OPTIONS_INIT;
    long band = 1;
    int opt, modes = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "j:b:", longopts, NULL)) != -1) {
        switch (opt) {
        case OPT_ALPHA: o.alpha = true; break;
        case OPT_EXACT:
            o.mode = TES_COLOR_EXACT;
            modes |= 1;
            break;
        case OPT_NEAREST:
            o.mode = TES_COLOR_NEAREST;
            modes |= 2;
            break;
        case 'b':
            if (cli_parse_long(optarg, 1, 65535, &band))
                return cli_usage(cmd, "invalid value '%s'", optarg);
            break;
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
    if (modes == 3)
        return cli_usage(cmd, "--exact-color-entry and --nearest-color-entry "
                              "exclude each other");
    if (argc - optind != 3)
        return cli_usage(cmd, argc - optind < 3 ? "needs DEM, COLORS and OUT"
                                                : "too many arguments");
    const char *dem = argv[optind], *colors_path = argv[optind + 1];
    const char *out_path = argv[optind + 2];

    char *colors;
    int rc = cli_read_text(colors_path, (size_t)64 << 20, &colors);
    if (rc)
        return rc;
    tes_color_file_info ci;
    tes_raster_error err;
    if (tes_color_file_scan(colors, &ci, &err)) {
        free(colors);
        return colors_fail(colors_path, &err);
    }
    tes_raster *r;
    if (tes_raster_open(&r, dem, &err)) {
        free(colors);
        return cli_fail_err(&err);
    }
    const tes_raster_info *info = tes_raster_info_get(r);
    tes_pool *pool = NULL;
    if (band > info->bands) {
        rc = cli_fail(dem, "has %d band(s), no band %ld", info->bands, band);
        goto out;
    }
    o.band = (int)band - 1;
    o.has_nodata = info->has_nodata;
    o.nodata = info->nodata;
    o.in_type = info->type;
    if (ci.nodata_entry && !info->has_nodata)
        fprintf(stderr, "raster-tool: warning: %s has no nodata value; the "
                        "nv entry of %s is ignored\n", dem, colors_path);
    if ((rc = cli_pool(&c, &pool)))
        goto out;
    if (ci.percent) {
        rc = cli_band_range(&c, pool, r, o.band, &o.min, &o.max);
        if (rc)
            goto out;
        o.has_range = true;
    }
    tes_kernel k;
    if (tes_kernel_color_relief(&k, colors, &o, &err)) {
        rc = colors_fail(colors_path, &err);
        goto out;
    }
    /* red, green, blue (PHOTOMETRIC_RGB) and alpha, as gdaldem writes
     * them: GDAL shows ColorInterp Red, Green, Blue, Alpha */
    c.out.rgb = true;
    c.out.alpha = o.alpha;
    rc = cli_run_on(&c, pool, &k, r, out_path);
    tes_kernel_release(&k);
out:
    tes_pool_destroy(pool);
    tes_raster_close(r);
    free(colors);
    return rc;
}
