/*
 * cmd_info.c — `raster-tool info [--json] FILE`: size, bands, type, layout,
 * compression, BigTIFF, georeferencing, nodata, colour table and
 * overviews of a raster.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static int run(int argc, char **argv);

const cli_command cli_cmd_info = {
    "info",
    "describe a raster (size, type, layout, georeferencing, nodata)",
    "Usage: raster-tool info [--json] FILE\n"
    "\n"
    "Prints the size, bands, sample type, layout (tiles or strips, chunky or\n"
    "planar), compression, BigTIFF or not, georeferencing (origin, pixel size,\n"
    "EPSG code), nodata value, colour table and overviews of FILE.\n"
    "\n"
    "Options:\n"
    "      --json           one JSON object on stdout, for scripts\n"
    "      --help           this help\n",
    run,
};

enum { OPT_JSON = CLI_OPT_FIRST_FREE };

static void json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void json_number(double v)
{
    if (isfinite(v))
        printf("%.17g", v);
    else
        printf("null");
}

static void print_json(const char *path, const tes_raster_info *in)
{
    printf("{\"file\": ");
    json_string(path);
    printf(", \"width\": %lld, \"height\": %lld, \"bands\": %d, "
           "\"type\": \"%s\", \"tiled\": %s, \"block_width\": %d, "
           "\"block_height\": %d, \"planar\": %s, \"compression\": ",
           (long long)in->width, (long long)in->height, in->bands,
           tes_sample_type_name(in->type), in->tiled ? "true" : "false",
           in->block_width, in->block_height,
           in->planar ? "true" : "false");
    json_string(in->compression_name);
    printf(", \"predictor\": %d, \"bigtiff\": %s, \"file_size\": %llu, "
           "\"nodata\": ",
           in->predictor, in->bigtiff ? "true" : "false",
           (unsigned long long)in->file_size);
    if (in->has_nodata) {
        if (isnan(in->nodata))
            printf("\"nan\"");
        else
            json_number(in->nodata);
    } else {
        printf("null");
    }
    printf(", \"geotransform\": ");
    if (in->has_geotransform) {
        putchar('[');
        for (int i = 0; i < 6; i++) {
            if (i)
                printf(", ");
            json_number(in->geotransform[i]);
        }
        putchar(']');
    } else {
        printf("null");
    }
    printf(", \"epsg\": ");
    if (in->epsg)
        printf("%d", in->epsg);
    else
        printf("null");
    printf(", \"bits\": %d, \"rgb\": %s, \"alpha_band\": ", in->bits,
           in->rgb ? "true" : "false");
    if (in->alpha_band)
        printf("%d", in->alpha_band);
    else
        printf("null");
    printf(", \"alpha_associated\": %s",
           in->alpha_associated ? "true" : "false");
    printf(", \"color_table\": ");
    if (in->colormap) {
        /* As GDAL shows it: 8-bit entries (the stored value / 256). */
        const tes_colormap *c = in->colormap;
        printf("{\"count\": %d, \"entries\": [", c->n);
        for (int i = 0; i < c->n; i++)
            printf("%s[%d, %d, %d, 255]", i ? ", " : "", c->red[i] >> 8,
                   c->green[i] >> 8, c->blue[i] >> 8);
        printf("]}");
    } else {
        printf("null");
    }
    printf(", \"overviews\": [");
    for (int i = 0; i < in->n_overviews; i++)
        printf("%s{\"width\": %lld, \"height\": %lld, \"external\": %s}",
               i ? ", " : "", (long long)in->overviews[i].width,
               (long long)in->overviews[i].height,
               in->overviews[i].external ? "true" : "false");
    printf("]}\n");
}

static void print_text(const char *path, const tes_raster_info *in)
{
    printf("File:        %s\n", path);
    printf("Size:        %lld x %lld, %d band%s, %s\n", (long long)in->width,
           (long long)in->height, in->bands, in->bands == 1 ? "" : "s",
           tes_sample_type_name(in->type));
    printf("Layout:      %s %dx%d, %s\n", in->tiled ? "tiles" : "strips",
           in->block_width, in->block_height,
           in->bands == 1 ? "one band"
           : in->planar   ? "planar (band-separate)"
                          : "chunky (pixel-interleaved)");
    printf("Compression: %s", in->compression_name);
    if (in->predictor > 1)
        printf(", predictor %d", in->predictor);
    printf("\nFormat:      %s, %llu bytes\n",
           in->bigtiff ? "BigTIFF" : "classic TIFF",
           (unsigned long long)in->file_size);
    if (in->has_geotransform) {
        const double *g = in->geotransform;
        printf("Origin:      (%.17g, %.17g)\n", g[0], g[3]);
        printf("Pixel size:  (%.17g, %.17g)\n", g[1], g[5]);
        if (g[2] != 0 || g[4] != 0)
            printf("Rotation:    (%.17g, %.17g)\n", g[2], g[4]);
    } else {
        printf("Origin:      none (not georeferenced)\n");
    }
    if (in->epsg)
        printf("CRS:         EPSG:%d\n", in->epsg);
    if (in->has_nodata)
        printf("NoData:      %.17g\n", in->nodata);
    if (in->bits != (int)(8 * tes_sample_size(in->type)))
        printf("Bits:        %d per sample, read as %s\n", in->bits,
               tes_sample_type_name(in->type));
    if (in->rgb)
        printf("Colour:      RGB%s\n",
               in->photometric == 6 /* PHOTOMETRIC_YCBCR */
                   ? " (stored as YCbCr)"
                   : "");
    if (in->alpha_band)
        printf("Alpha:       band %d%s\n", in->alpha_band,
               in->alpha_associated ? ", associated (premultiplied)" : "");
    if (in->colormap)
        printf("Colour table: %d entries\n", in->colormap->n);
    if (in->n_overviews) {
        printf("Overviews:   ");
        for (int i = 0; i < in->n_overviews; i++)
            printf("%s%lldx%lld%s", i ? ", " : "",
                   (long long)in->overviews[i].width,
                   (long long)in->overviews[i].height,
                   in->overviews[i].external ? " (.ovr)" : "");
        printf("\n");
    }
}

static int run(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "json", no_argument, NULL, OPT_JSON },
        CLI_COMMON_LONGOPTS,
        { NULL, 0, NULL, 0 },
    };
    cli_common c;
    cli_common_init(&c);
    bool json = false;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "j:", longopts, NULL)) != -1) {
        if (opt == OPT_JSON) {
            json = true;
            continue;
        }
        bool done;
        int rc = cli_common_option(&cli_cmd_info, &c, opt, optarg, &done);
        if (done)
            return rc;
    }
    if (argc - optind != 1)
        return cli_usage(&cli_cmd_info, argc - optind < 1
                                            ? "missing FILE"
                                            : "too many arguments");
    const char *path = argv[optind];
    tes_raster *r;
    tes_raster_error err;
    if (tes_raster_open(&r, path, &err))
        return cli_fail_err(&err);
    if (json)
        print_json(path, tes_raster_info_get(r));
    else
        print_text(path, tes_raster_info_get(r));
    tes_raster_close(r);
    return CLI_EXIT_OK;
}
