/*
 * cmd_convert.c — `raster-tool convert IN OUT`: rewrites a raster as tiled,
 * compressed GeoTIFF, optionally changing the sample type (saturating) and
 * selecting or reordering bands. Georeferencing and nodata are carried.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int run(int argc, char **argv);

const cli_command cli_cmd_convert = {
    "convert",
    "copy a raster to tiled, compressed GeoTIFF (type, bands, tiling)",
    "Usage: raster-tool convert [OPTIONS] IN OUT\n"
    "\n"
    "Copies IN to OUT as a tiled GeoTIFF, keeping its georeferencing and\n"
    "nodata, its colour table (unless --type changes the type) and RGB\n"
    "colour. Decoding, conversion and compression run on every thread; the\n"
    "output is the same, byte for byte, at any thread count.\n"
    "\n"
    "Options:\n"
    "      --type T         uint8 int8 uint16 int16 uint32 int32 float32 float64\n"
    "                       (float to integer rounds and saturates)\n"
    "      --bands LIST     bands to keep, 1-based, in order: 3,2,1\n"
    CLI_OUTPUT_HELP CLI_COMMON_HELP,
    run,
};

enum { OPT_TYPE = CLI_OPT_FIRST_FREE, OPT_BANDS };

#define MAX_BANDS 1024

typedef struct convert_state {
    int n;
    int band[MAX_BANDS]; /* 0-based source band of each output band */
} convert_state;

static int convert_tile(tes_tile_job *job)
{
    const convert_state *st = job->arg;
    const tes_tile *in = &job->in[0];
    tes_tile *out = job->out;
    for (int b = 0; b < out->bands; b++)
        for (int y = 0; y < out->height; y++)
            tes_convert_samples(tes_tile_row(out, b, y), out->type,
                                tes_tile_row(in, st->band[b], y), in->type,
                                (size_t)out->width);
    return 0;
}

static int parse_bands(const char *s, int nb, convert_state *st)
{
    st->n = 0;
    const char *p = s;
    while (*p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 1 || v > nb || st->n >= MAX_BANDS)
            return -1;
        st->band[st->n++] = (int)v - 1;
        p = end;
        if (*p == ',')
            p++;
        else if (*p)
            return -1;
    }
    return st->n ? 0 : -1;
}

static int run(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "type", required_argument, NULL, OPT_TYPE },
        { "bands", required_argument, NULL, OPT_BANDS },
        CLI_OUTPUT_LONGOPTS,
        CLI_COMMON_LONGOPTS,
        { NULL, 0, NULL, 0 },
    };
    cli_common c;
    cli_common_init(&c);
    tes_sample_type type = TES_TYPE_NONE;
    const char *bands = NULL;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "j:", longopts, NULL)) != -1) {
        if (opt == OPT_TYPE) {
            if (tes_sample_type_parse(optarg, &type))
                return cli_usage(&cli_cmd_convert, "unknown type '%s'", optarg);
            continue;
        }
        if (opt == OPT_BANDS) {
            bands = optarg;
            continue;
        }
        bool done;
        int rc = cli_common_option(&cli_cmd_convert, &c, opt, optarg, &done);
        if (done)
            return rc;
    }
    if (argc - optind != 2)
        return cli_usage(&cli_cmd_convert, argc - optind < 2
                                               ? "needs IN and OUT"
                                               : "too many arguments");
    const char *in_path = argv[optind], *out_path = argv[optind + 1];

    tes_raster_error err;
    tes_raster *r;
    if (tes_raster_open(&r, in_path, &err))
        return cli_fail_err(&err);
    const tes_raster_info *info = tes_raster_info_get(r);
    convert_state st;
    if (bands) {
        if (parse_bands(bands, info->bands, &st)) {
            int nb = info->bands;
            tes_raster_close(r);
            return cli_usage(&cli_cmd_convert,
                             "--bands %s: expects 1-based bands of %d", bands,
                             nb);
        }
    } else {
        st.n = info->bands > MAX_BANDS ? MAX_BANDS : info->bands;
        for (int i = 0; i < st.n; i++)
            st.band[i] = i;
    }
    /* the output keeps what the bands mean (colour table, RGB, alpha)
     * where they keep it, by the rule the Python package shares */
    tes_raster_keep_meaning(&c.out, info, st.band, st.n, type);
    tes_kernel k = TES_KERNEL_INIT;
    k.name = "convert";
    k.out_type = type ? type : info->type;
    k.out_bands = st.n;
    k.tile = convert_tile;
    k.arg = &st;

    return cli_run_one(&c, &k, r, out_path);
}
