/*
 * cmd_calc.c — `raster-tool calc -A a.tif [-B b.tif ...] --expr EXPR OUT`:
 * band math like gdal_calc. The expression is compiled once (errors name
 * the column) and evaluated a tile row per instruction by kernels/calc.c.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static int run(int argc, char **argv);

const cli_command cli_cmd_calc = {
    "calc",
    "band math over rasters: --expr \"(A[2] - A) / (A[2] + A)\"",
    "Usage: raster-tool calc -A FILE [-B FILE ...] --expr EXPR [OPTIONS] OUT\n"
    "\n"
    "Evaluates EXPR for every pixel. Inputs are named -A to -Z and must have\n"
    "the same size; A is band 1 of input A and A[2] its band 2 (1-based).\n"
    "\n"
    "Expressions: numbers, + - * / % ^ (power, right-associative), unary -,\n"
    "< <= > >= == != (1 or 0), && || !, parentheses, and the functions\n"
    "where(c, a, b) min max abs sqrt exp log log10 pow sin cos tan atan2\n"
    "floor ceil round clamp(x, lo, hi) isnodata(A).\n"
    "\n"
    "Nodata: an input pixel that is nodata makes every operation that reads\n"
    "it nodata; isnodata() tests it, where() reads only the branch it\n"
    "chooses, and && || decide when one side is known. A nodata (or NaN)\n"
    "result is written as the output's nodata.\n"
    "\n"
    "Options:\n"
    "  -A..-Z FILE          the inputs\n"
    "      --expr EXPR      the expression\n"
    "      --type T         output type (float32)\n"
    "      --nodata V       output nodata (default: that of the first input\n"
    "                       read that has one when the type can hold it,\n"
    "                       else gdal_calc's: 0 for uint8, the type's\n"
    "                       extreme otherwise)\n"
    CLI_OUTPUT_HELP CLI_COMMON_HELP,
    run,
};

enum { OPT_EXPR = CLI_OPT_FIRST_FREE, OPT_TYPE, OPT_NODATA };

static int run(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "expr", required_argument, NULL, OPT_EXPR },
        { "type", required_argument, NULL, OPT_TYPE },
        { "nodata", required_argument, NULL, OPT_NODATA },
        CLI_OUTPUT_LONGOPTS,
        CLI_COMMON_LONGOPTS,
        { NULL, 0, NULL, 0 },
    };
    cli_common c;
    cli_common_init(&c);
    const char *path[26] = { NULL };
    const char *expr = NULL;
    tes_sample_type type = TES_F32;
    bool has_nd = false;
    double nd = 0;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv,
                              "j:A:B:C:D:E:F:G:H:I:J:K:L:M:N:O:P:Q:R:S:T:U:"
                              "V:W:X:Y:Z:",
                              longopts, NULL)) != -1) {
        if (opt >= 'A' && opt <= 'Z') {
            path[opt - 'A'] = optarg;
            continue;
        }
        if (opt == OPT_EXPR) {
            expr = optarg;
            continue;
        }
        if (opt == OPT_TYPE) {
            if (tes_sample_type_parse(optarg, &type))
                return cli_usage(&cli_cmd_calc, "unknown type '%s'", optarg);
            continue;
        }
        if (opt == OPT_NODATA) {
            if (cli_parse_double(optarg, &nd))
                return cli_usage(&cli_cmd_calc, "invalid value '%s'", optarg);
            has_nd = true;
            continue;
        }
        bool done;
        int rc = cli_common_option(&cli_cmd_calc, &c, opt, optarg, &done);
        if (done)
            return rc;
    }
    if (argc - optind != 1)
        return cli_usage(&cli_cmd_calc, argc - optind < 1
                                            ? "needs OUT"
                                            : "too many arguments");
    if (!expr)
        return cli_usage(&cli_cmd_calc, "needs --expr");
    const char *out_path = argv[optind];

    tes_raster_error err;
    int max_band[26];
    uint32_t used;
    if (tes_calc_inputs(expr, &used, max_band, &err))
        return cli_fail_err(&err);
    for (int i = 0; i < 26; i++)
        if ((used & (1u << i)) && !path[i])
            return cli_usage(&cli_cmd_calc, "the expression reads %c but "
                                            "there is no -%c", 'A' + i,
                             'A' + i);

    int slot[26]; /* index in r of letter i's raster, or -1 */
    tes_raster *r[26];
    int n = 0, first = -1, rc = CLI_EXIT_OK;
    for (int i = 0; i < 26; i++)
        slot[i] = -1;
    for (int i = 0; i < 26 && rc == CLI_EXIT_OK; i++) {
        if (!path[i])
            continue;
        if (tes_raster_open(&r[n], path[i], &err)) {
            rc = cli_fail_err(&err);
            break;
        }
        const tes_raster_info *info = tes_raster_info_get(r[n]);
        const tes_raster_info *i0 = tes_raster_info_get(r[0]);
        slot[i] = n++;
        if (info->width != i0->width || info->height != i0->height)
            rc = cli_fail(path[i], "size %lldx%lld differs from %s "
                                   "(%lldx%lld)",
                          (long long)info->width, (long long)info->height,
                          tes_raster_path(r[0]), (long long)i0->width,
                          (long long)i0->height);
        else if ((used & (1u << i)) && max_band[i] > info->bands)
            rc = cli_fail(path[i], "has %d band(s); the expression reads "
                                   "%c[%d]",
                          info->bands, 'A' + i, max_band[i]);
        if ((used & (1u << i)) && info->has_nodata && first < 0)
            first = slot[i];
    }
    if (rc == CLI_EXIT_OK && n == 0)
        rc = cli_usage(&cli_cmd_calc, "needs at least one input (-A FILE)");
    if (rc == CLI_EXIT_OK) {
        /* the kernel's default nodata is gdal_calc's for the type; an
         * input's, when the type can hold it, is preferred here */
        if (!has_nd && first >= 0) {
            double v = tes_raster_info_get(r[first])->nodata, back;
            unsigned char buf[8];
            tes_convert_samples(buf, type, &v, TES_F64, 1);
            tes_convert_samples(&back, TES_F64, buf, type, 1);
            if (back == v || (v != v && back != back)) {
                nd = v;
                has_nd = true;
            }
        }
        /* only the inputs the expression reads go through the pipeline
         * (the others were opened for the size check); a constant
         * expression still needs one for the size and georeferencing */
        tes_raster *run_in[26];
        char letters[27];
        int m = 0;
        for (int i = 0; i < 26; i++)
            if (slot[i] >= 0 && (used & (1u << i))) {
                run_in[m] = r[slot[i]];
                letters[m++] = (char)('A' + i);
            }
        if (m == 0) {
            run_in[m] = r[0];
            for (int i = 0; i < 26; i++)
                if (slot[i] == 0)
                    letters[m] = (char)('A' + i);
            m++;
        }
        letters[m] = 0;
        tes_calc_options co = TES_CALC_OPTIONS_INIT;
        co.n_inputs = m;
        co.letters = letters;
        co.out_type = type;
        co.has_nodata = has_nd;
        co.nodata = nd;
        tes_kernel k;
        tes_pool *pool = NULL;
        if (tes_kernel_calc_opts(&k, expr, &co, &err)) {
            rc = cli_fail_err(&err);
        } else if (cli_pool(&c, &pool)) {
            rc = CLI_EXIT_FAIL;
        } else {
            tes_pipeline_options po = TES_PIPELINE_OPTIONS_INIT;
            cli_progress_setup(&c, &po);
            int prc = tes_raster_run(pool, &k, run_in, m, out_path, &c.out,
                                     NULL, &po, &err);
            cli_progress_end(&po);
            tes_pool_destroy(pool);
            if (prc)
                rc = cli_fail_err(&err);
        }
        tes_kernel_release(&k);
    }
    for (int i = 0; i < n; i++)
        tes_raster_close(r[i]);
    return rc;
}
