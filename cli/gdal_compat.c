/*
 * gdal_compat.c — GDAL's spellings on raster-tool's commands: gdaldem's
 * single-dash options rewritten to ours before getopt sees them, and the
 * GTiff creation options (-co NAME=VALUE) and output formats (-of) that
 * mean something here, the others refused by name.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

/* gdaldem 3.6's options for every processing mode (each command then
 * refuses those that are not its own), and GDAL's common -q -of -co. */
const cli_spelling cli_gdaldem_spellings[] = {
    { "-az", "--azimuth" },
    { "-alt", "--altitude" },
    { "-alg", "--alg" },
    { "-compute_edges", "--compute-edges" },
    { "-multidirectional", "--multidirectional" },
    { "-combined", "--combined" },
    { "-igor", "--igor" },
    { "-trigonometric", "--trigonometric" },
    { "-zero_for_flat", "--zero-for-flat" },
    { "-alpha", "--alpha" },
    { "-exact_color_entry", "--exact-color-entry" },
    { "-nearest_color_entry", "--nearest-color-entry" },
    { "-q", "--quiet" },
    { "-quiet", "--quiet" },
    { "-of", "--format" },
    { "-co", "--co" },
    { NULL, NULL },
};

static bool wordlike(const char *a)
{
    if (a[0] != '-' || a[1] == '-' || !a[1] || !a[2])
        return false;
    for (const char *p = a + 1; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              *p == '_'))
            return false;
    return true;
}

char **cli_respell(int argc, char **argv, const cli_spelling *table,
                   const char **bad)
{
    char **out = malloc(sizeof *out * ((size_t)argc + 1));
    *bad = NULL;
    if (!out)
        return NULL;
    bool options = true;
    for (int i = 0; i < argc; i++) {
        out[i] = argv[i];
        if (i == 0 || !options)
            continue;
        if (strcmp(argv[i], "--") == 0) {
            options = false;
            continue;
        }
        bool found = false;
        for (const cli_spelling *s = table; s->gdal && !found; s++)
            if (strcmp(argv[i], s->gdal) == 0) {
                out[i] = (char *)s->ours;
                found = true;
            }
        if (!found && !*bad && wordlike(argv[i]))
            *bad = argv[i];
    }
    out[argc] = NULL;
    return out;
}

static bool yes(const char *v)
{
    return strcasecmp(v, "YES") == 0 || strcasecmp(v, "TRUE") == 0 ||
           strcasecmp(v, "ON") == 0 || strcmp(v, "1") == 0;
}

static bool no(const char *v)
{
    return strcasecmp(v, "NO") == 0 || strcasecmp(v, "FALSE") == 0 ||
           strcasecmp(v, "OFF") == 0 || strcmp(v, "0") == 0;
}

void cli_settle_level(cli_common *c)
{
    if (c->level)
        c->out.level = c->level;
    else if (c->out.compress == TES_COMPRESS_DEFLATE)
        c->out.level = c->zlevel;
    else if (c->out.compress == TES_COMPRESS_ZSTD)
        c->out.level = c->zstd_level;
    else
        c->out.level = 0;
}

int cli_creation_option(const cli_command *cmd, cli_common *c,
                        const char *nv)
{
    const char *eq = strchr(nv, '=');
    if (!eq || eq == nv)
        return cli_usage(cmd, "-co %s: expects NAME=VALUE", nv);
    char name[32];
    size_t n = (size_t)(eq - nv);
    if (n >= sizeof name)
        return cli_usage(cmd, "-co %s: creation option not supported", nv);
    memcpy(name, nv, n);
    name[n] = 0;
    const char *v = eq + 1;
    long x;
    if (strcasecmp(name, "COMPRESS") == 0) {
        if (tes_compress_parse(v, &c->out.compress))
            return cli_usage(cmd, "-co COMPRESS=%s: raster-tool writes "
                                  "NONE, DEFLATE, LZW or ZSTD", v);
    } else if (strcasecmp(name, "PREDICTOR") == 0) {
        if (strcasecmp(v, "NO") == 0 || strcasecmp(v, "NONE") == 0)
            c->out.predictor = 1;
        else if (strcasecmp(v, "STANDARD") == 0 ||
                 strcasecmp(v, "HORIZONTAL") == 0)
            c->out.predictor = 2;
        else if (strcasecmp(v, "FLOATING_POINT") == 0)
            c->out.predictor = 3;
        else if (yes(v))
            c->out.predictor = -1; /* GDAL's YES: the type's own */
        else if (cli_parse_long(v, 1, 3, &x) == 0)
            c->out.predictor = (int)x;
        else
            return cli_usage(cmd, "-co PREDICTOR=%s: expects 1, 2 or 3", v);
    } else if (strcasecmp(name, "ZLEVEL") == 0) {
        if (cli_parse_long(v, 1, 12, &x))
            return cli_usage(cmd, "-co ZLEVEL=%s: expects 1..12", v);
        c->zlevel = (int)x;
    } else if (strcasecmp(name, "LEVEL") == 0) { /* the COG driver's */
        if (cli_parse_long(v, 1, 22, &x))
            return cli_usage(cmd, "-co LEVEL=%s: expects 1..22", v);
        c->level = (int)x;
    } else if (strcasecmp(name, "ZSTD_LEVEL") == 0) {
        if (cli_parse_long(v, 1, 22, &x))
            return cli_usage(cmd, "-co ZSTD_LEVEL=%s: expects 1..22", v);
        c->zstd_level = (int)x;
    } else if (strcasecmp(name, "TILED") == 0) {
        /* outputs are always tiled; NO is taken, as a script's default */
        if (!yes(v) && !no(v))
            return cli_usage(cmd, "-co TILED=%s: expects YES or NO", v);
    } else if (strcasecmp(name, "BLOCKXSIZE") == 0 ||
               strcasecmp(name, "BLOCKYSIZE") == 0) {
        if (cli_parse_long(v, 16, 65536, &x) || x % 16)
            return cli_usage(cmd, "-co %s=%s: expects a multiple of 16",
                             name, v);
        if (toupper((unsigned char)name[5]) == 'X')
            c->out.tile_width = (int)x;
        else
            c->out.tile_height = (int)x;
    } else if (strcasecmp(name, "BLOCKSIZE") == 0) { /* the COG driver's */
        if (cli_parse_long(v, 16, 65536, &x) || x % 16)
            return cli_usage(cmd, "-co %s=%s: expects a multiple of 16",
                             name, v);
        c->out.tile_width = c->out.tile_height = (int)x;
    } else if (strcasecmp(name, "RESAMPLING") == 0 ||
               strcasecmp(name, "OVERVIEW_RESAMPLING") == 0) {
        if (tes_resampling_parse(v, &c->out.overview_resampling))
            return cli_usage(cmd, "-co %s=%s: expects NEAREST, AVERAGE, "
                                  "BILINEAR, CUBIC or MODE", name, v);
    } else if (strcasecmp(name, "BIGTIFF") == 0) {
        if (yes(v))
            c->out.bigtiff = TES_BIGTIFF_YES;
        else if (no(v))
            c->out.bigtiff = TES_BIGTIFF_NO;
        else if (strcasecmp(v, "IF_NEEDED") == 0 ||
                 strcasecmp(v, "IF_SAFER") == 0)
            c->out.bigtiff = TES_BIGTIFF_AUTO;
        else
            return cli_usage(cmd, "-co BIGTIFF=%s: expects YES, NO, "
                                  "IF_NEEDED or IF_SAFER", v);
    } else if (strcasecmp(name, "NUM_THREADS") == 0) {
        if (strcasecmp(v, "ALL_CPUS") == 0)
            c->threads = 0;
        else if (cli_parse_long(v, 1, 4096, &x) == 0)
            c->threads = (int)x;
        else
            return cli_usage(cmd, "-co NUM_THREADS=%s: expects a number "
                                  "or ALL_CPUS", v);
    } else {
        return cli_usage(cmd, "-co %s: creation option not supported "
                              "(COMPRESS, PREDICTOR, ZLEVEL, ZSTD_LEVEL, "
                              "TILED, BLOCKXSIZE, BLOCKYSIZE, BIGTIFF, "
                              "NUM_THREADS are, and for COG BLOCKSIZE, "
                              "LEVEL, RESAMPLING, OVERVIEW_RESAMPLING)",
                         name);
    }
    cli_settle_level(c);
    return 0;
}

int cli_output_format(const cli_command *cmd, cli_common *c,
                      const char *format)
{
    /* COG: --cog (our defaults stay: deflate, 256 x 256 tiles, where
     * GDAL's COG driver has LZW and 512; -co says otherwise) */
    if (strcasecmp(format, "GTiff") == 0 || strcasecmp(format, "COG") == 0) {
        c->out.cog = strcasecmp(format, "COG") == 0;
        return 0;
    }
    return cli_usage(cmd, "-of %s: raster-tool writes GeoTIFF (GTiff or COG)",
                     format);
}
