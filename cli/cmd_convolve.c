/*
 * cmd_convolve.c — `raster-tool convolve --kernel "1 2 1; ..." IN OUT` and
 * `raster-tool blur --sigma S IN OUT`: focal filters of kernels/convolve.c
 * over every band, edges replicated, nodata-aware.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static int run_convolve(int argc, char **argv);
static int run_blur(int argc, char **argv);

const cli_command cli_cmd_convolve = {
    "convolve",
    "convolve every band with a kernel: --kernel \"1 2 1; 2 4 2; 1 2 1\"",
    "Usage: raster-tool convolve --kernel ROWS [OPTIONS] IN OUT\n"
    "\n"
    "Weighted sum of each pixel's neighbourhood, the kernel applied as\n"
    "written (not flipped) and centred on the pixel. Rows are separated by\n"
    "';', values by spaces or commas; sides are odd, up to 63. Beyond the\n"
    "raster's edges the edge pixels are repeated. A nodata pixel stays\n"
    "nodata; a nodata neighbour counts as the centre pixel's value.\n"
    "\n"
    "Options:\n"
    "      --kernel ROWS    the weights, e.g. \"0 -1 0; -1 5 -1; 0 -1 0\"\n"
    "      --normalize      divide the weights by their sum (when not 0)\n"
    "      --type T         output type (the input's; integers round and\n"
    "                       saturate)\n"
    CLI_OUTPUT_HELP CLI_COMMON_HELP,
    run_convolve,
};

const cli_command cli_cmd_blur = {
    "blur",
    "Gaussian blur of every band: --sigma S (pixels)",
    "Usage: raster-tool blur --sigma S [OPTIONS] IN OUT\n"
    "\n"
    "Separable Gaussian blur with standard deviation S pixels, over a\n"
    "radius of ceil(3 S). Beyond the raster's edges the edge pixels are\n"
    "repeated. Nodata pixels stay nodata and give no weight to their\n"
    "neighbours (the weights of the valid pixels are renormalised).\n"
    "\n"
    "Options:\n"
    "      --sigma S        standard deviation in pixels, 0 < S <= 80\n"
    "      --type T         output type (the input's)\n"
    CLI_OUTPUT_HELP CLI_COMMON_HELP,
    run_blur,
};

enum { OPT_KERNEL = CLI_OPT_FIRST_FREE, OPT_NORMALIZE, OPT_SIGMA, OPT_TYPE };

static int run_filter(const cli_command *cmd, bool blur, int argc,
                      char **argv)
{
    static const struct option longopts[] = {
        { "kernel", required_argument, NULL, OPT_KERNEL },
        { "normalize", no_argument, NULL, OPT_NORMALIZE },
        { "sigma", required_argument, NULL, OPT_SIGMA },
        { "type", required_argument, NULL, OPT_TYPE },
        CLI_OUTPUT_LONGOPTS,
        CLI_COMMON_LONGOPTS,
        { NULL, 0, NULL, 0 },
    };
    cli_common c;
    cli_common_init(&c);
    const char *ktext = NULL;
    bool normalize = false, has_sigma = false;
    double sigma = 0;
    tes_sample_type type = TES_TYPE_NONE;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "j:", longopts, NULL)) != -1) {
        switch (opt) {
        case OPT_KERNEL:
        case OPT_NORMALIZE:
            if (blur)
                return cli_usage(cmd, "%s is for convolve",
                                 argv[optind - 1]);
            if (opt == OPT_KERNEL)
                ktext = optarg;
            else
                normalize = true;
            continue;
        case OPT_SIGMA:
            if (!blur)
                return cli_usage(cmd, "--sigma is for blur");
            if (cli_parse_double(optarg, &sigma) || !(sigma > 0) ||
                sigma > TES_BLUR_MAX_SIGMA)
                return cli_usage(cmd, "--sigma %s: expects 0 < S <= %g",
                                 optarg, TES_BLUR_MAX_SIGMA);
            has_sigma = true;
            continue;
        case OPT_TYPE:
            if (tes_sample_type_parse(optarg, &type))
                return cli_usage(cmd, "unknown type '%s'", optarg);
            continue;
        default: {
            bool done;
            int rc = cli_common_option(cmd, &c, opt, optarg, &done);
            if (done)
                return rc;
        }
        }
    }
    if (argc - optind != 2)
        return cli_usage(cmd, argc - optind < 2 ? "needs IN and OUT"
                                                : "too many arguments");
    if (blur && !has_sigma)
        return cli_usage(cmd, "needs --sigma");
    if (!blur && !ktext)
        return cli_usage(cmd, "needs --kernel");
    tes_kernel k;
    tes_raster_error err;
    int rc = blur ? tes_kernel_blur_err(&k, sigma, &err)
                  : tes_kernel_convolve(&k, ktext, normalize, &err);
    if (rc == -EINVAL)
        return cli_usage(cmd, "%s", err.message);
    if (rc)
        return cli_fail_err(&err);
    k.out_type = type;
    const char *in_path = argv[optind], *out_path = argv[optind + 1];
    tes_raster *r;
    if (tes_raster_open(&r, in_path, &err)) {
        tes_kernel_release(&k);
        return cli_fail_err(&err);
    }
    rc = cli_run_one(&c, &k, r, out_path);
    tes_kernel_release(&k);
    return rc;
}

static int run_convolve(int argc, char **argv)
{
    return run_filter(&cli_cmd_convolve, false, argc, argv);
}

static int run_blur(int argc, char **argv)
{
    return run_filter(&cli_cmd_blur, true, argc, argv);
}
