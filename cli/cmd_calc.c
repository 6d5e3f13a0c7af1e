/*
 * cmd_calc.c — `raster-tool calc -A a.tif [-B b.tif ...] --expr EXPR OUT`:
 * band math like gdal_calc. The expression is compiled once (errors name
 * the column) and evaluated a tile row per instruction by kernels/calc.c.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calc_numpy.h"
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
    CLI_OUTPUT_HELP CLI_COMMON_HELP
    "\n"
    "gdal_calc.py's command lines run too: -A FILE --A_band N ... --calc EXPR\n"
    "--outfile F --type T --NoDataValue V --overwrite --quiet --format GTiff\n"
    "--co NAME=VALUE. EXPR is then numpy's: + - * / // % ** comparisons,\n"
    "& | ~ between masks, where, logical_and/or/not/xor, sqrt exp log log10\n"
    "sin cos tan floor ceil abs arctan2 power minimum maximum clip, with or\n"
    "without numpy. or np., numpy.pi, A.astype(float); anything else is\n"
    "refused by name. As gdal_calc: a pixel that is nodata in any input is\n"
    "nodata, the type defaults to the widest of the inputs' and the nodata\n"
    "to gdal_calc's for the type. Values are computed in double precision\n"
    "(numpy's integer arithmetic wraps around; this does not).\n",
    run,
};

enum {
    OPT_EXPR = CLI_OPT_FIRST_FREE,
    OPT_TYPE,
    OPT_NODATA,
    OPT_CALC,
    OPT_OUTFILE,
    OPT_NDV,
    OPT_DEBUG,
    OPT_REFUSED,
    OPT_BAND_A, /* ... OPT_BAND_A + 25 */
};

#define BAND_OPT(L) { #L "_band", required_argument, NULL, OPT_BAND_A + (#L[0] - 'A') }

/* gdal_calc.py's default nodata per output type (3.6's DefaultNDVLookup). */
static double gdal_calc_nodata(tes_sample_type t)
{
    switch (t) {
    case TES_U8: return 255;
    case TES_U16: return 65535;
    case TES_I16: return -32768;
    case TES_U32: return 4294967293.0;
    case TES_I32: return -2147483647.0;
    case TES_F32: return 3.402823466e38;
    case TES_F64: return 1.7976931348623158e308;
    default: return 0; /* int8: gdal_calc 3.6 has none */
    }
}

/* GDAL's GDALDataTypeUnion over the types we read: the narrowest type
 * that holds both; TES_TYPE_NONE where that would be a 64-bit integer. */
static tes_sample_type type_union(tes_sample_type a, tes_sample_type b)
{
    bool fa = tes_sample_type_is_float(a), fb = tes_sample_type_is_float(b);
    size_t sa = tes_sample_size(a), sb = tes_sample_size(b);
    if (fa || fb) {
        /* float32 holds the integers of 8 and 16 bits exactly */
        if (a == TES_F64 || b == TES_F64 || (!fa && sa >= 4) ||
            (!fb && sb >= 4))
            return TES_F64;
        return TES_F32;
    }
    bool ga = tes_sample_type_is_signed(a), gb = tes_sample_type_is_signed(b);
    size_t bytes = sa > sb ? sa : sb;
    if (ga != gb) {
        /* the signed type must hold the unsigned one's range */
        size_t su = ga ? sb : sa, ss = ga ? sa : sb;
        bytes = su >= ss ? 2 * su : ss;
    }
    bool sg = ga || gb;
    switch (bytes) {
    case 1: return sg ? TES_I8 : TES_U8;
    case 2: return sg ? TES_I16 : TES_U16;
    case 4: return sg ? TES_I32 : TES_U32;
    default: return TES_TYPE_NONE;
    }
}

/* gdal_calc mode: the translated expression, wrapped so that a pixel that
 * is nodata in any input is nodata (gdal_calc's rule, whatever the
 * expression reads); the type (unless given) the union of the inputs'
 * types, and the nodata (unless given) gdal_calc's for that type. */
static int numpy_expr(const char *calc, const char *const path[26],
                      const int band[26], bool has_type,
                      tes_sample_type *type, bool *has_nd, double *nd,
                      char **out)
{
    char msg[300], *t;
    if (cli_numpy_translate(calc, band, &t, msg, sizeof msg))
        return cli_usage(&cli_cmd_calc, "--calc: %s", msg);
    size_t cap = strlen(t) + 64 + 26 * 24;
    char *e = malloc(cap);
    if (!e) {
        free(t);
        return cli_fail("--calc", "out of memory");
    }
    size_t n = 0;
    tes_sample_type u = TES_TYPE_NONE;
    for (int i = 0; i < 26; i++) {
        if (!path[i])
            continue;
        n += (size_t)snprintf(e + n, cap - n, "%sisnodata(%c[%d])",
                              n ? " || " : "where(", 'A' + i, band[i]);
        if (!has_type) {
            tes_raster *r;
            tes_raster_error err;
            if (tes_raster_open(&r, path[i], &err)) {
                free(t);
                free(e);
                return cli_fail_err(&err);
            }
            tes_sample_type it = tes_raster_info_get(r)->type;
            tes_raster_close(r);
            u = u ? type_union(u, it) : it;
            if (!u) {
                free(t);
                free(e);
                return cli_usage(&cli_cmd_calc, "the inputs' types need a "
                                                "64-bit integer output, as "
                                                "gdal_calc would write: give "
                                                "--type");
            }
        }
    }
    if (n)
        snprintf(e + n, cap - n, ", 0 / 0, %s)", t);
    else
        snprintf(e, cap, "%s", t);
    free(t);
    if (!has_type && u)
        *type = u;
    if (!*has_nd) {
        *has_nd = true;
        *nd = gdal_calc_nodata(*type);
    }
    *out = e;
    return 0;
}

static int run(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "expr", required_argument, NULL, OPT_EXPR },
        { "type", required_argument, NULL, OPT_TYPE },
        { "nodata", required_argument, NULL, OPT_NODATA },
        /* gdal_calc.py's */
        { "calc", required_argument, NULL, OPT_CALC },
        { "outfile", required_argument, NULL, OPT_OUTFILE },
        { "NoDataValue", required_argument, NULL, OPT_NDV },
        { "creation-option", required_argument, NULL, CLI_OPT_CO },
        { "debug", no_argument, NULL, OPT_DEBUG },
        { "hideNoData", no_argument, NULL, OPT_REFUSED },
        { "allBands", required_argument, NULL, OPT_REFUSED },
        { "extent", required_argument, NULL, OPT_REFUSED },
        { "projwin", required_argument, NULL, OPT_REFUSED },
        { "projectionCheck", no_argument, NULL, OPT_REFUSED },
        { "color-table", required_argument, NULL, OPT_REFUSED },
        BAND_OPT(A), BAND_OPT(B), BAND_OPT(C), BAND_OPT(D), BAND_OPT(E),
        BAND_OPT(F), BAND_OPT(G), BAND_OPT(H), BAND_OPT(I), BAND_OPT(J),
        BAND_OPT(K), BAND_OPT(L), BAND_OPT(M), BAND_OPT(N), BAND_OPT(O),
        BAND_OPT(P), BAND_OPT(Q), BAND_OPT(R), BAND_OPT(S), BAND_OPT(T),
        BAND_OPT(U), BAND_OPT(V), BAND_OPT(W), BAND_OPT(X), BAND_OPT(Y),
        BAND_OPT(Z),
        CLI_OUTPUT_LONGOPTS,
        CLI_COMMON_LONGOPTS,
        { NULL, 0, NULL, 0 },
    };
    cli_common c;
    cli_common_init(&c);
    const char *path[26] = { NULL };
    const char *expr = NULL, *calc = NULL, *outfile = NULL;
    int band[26];
    for (int i = 0; i < 26; i++)
        band[i] = 1;
    tes_sample_type type = TES_F32;
    bool has_nd = false, has_type = false;
    double nd = 0;
    int opt, longi;
    optind = 1;
    while ((opt = getopt_long(argc, argv,
                              "j:A:B:C:D:E:F:G:H:I:J:K:L:M:N:O:P:Q:R:S:T:U:"
                              "V:W:X:Y:Z:",
                              longopts, &longi)) != -1) {
        if (opt >= 'A' && opt <= 'Z') {
            if (path[opt - 'A'])
                return cli_usage(&cli_cmd_calc, "-%c given twice", opt);
            path[opt - 'A'] = optarg;
            continue;
        }
        if (opt >= OPT_BAND_A && opt < OPT_BAND_A + 26) {
            long b;
            if (cli_parse_long(optarg, 1, 65535, &b))
                return cli_usage(&cli_cmd_calc, "invalid value '%s'", optarg);
            band[opt - OPT_BAND_A] = (int)b;
            continue;
        }
        if (opt == OPT_CALC) {
            if (calc)
                return cli_usage(&cli_cmd_calc, "several --calc (a "
                                                "multi-band output) are not "
                                                "supported");
            calc = optarg;
            continue;
        }
        if (opt == OPT_OUTFILE) {
            outfile = optarg;
            continue;
        }
        if (opt == OPT_DEBUG)
            continue;
        if (opt == OPT_REFUSED)
            return cli_usage(&cli_cmd_calc, "gdal_calc's --%s is not "
                                            "supported",
                             longopts[longi].name);
        if (opt == OPT_EXPR) {
            expr = optarg;
            continue;
        }
        if (opt == OPT_TYPE) {
            if (tes_sample_type_parse(optarg, &type))
                return cli_usage(&cli_cmd_calc, "unknown type '%s'", optarg);
            has_type = true;
            continue;
        }
        if (opt == OPT_NODATA || opt == OPT_NDV) {
            if (cli_parse_double(optarg, &nd))
                return cli_usage(&cli_cmd_calc, "invalid value '%s'", optarg);
            has_nd = true;
            continue;
        }
        bool done;
        int rc = cli_common_option(&cli_cmd_calc, &c, opt, optarg, &done);
        if (done)
            return rc;
        if (rc == 1)
            return cli_usage(&cli_cmd_calc, "unexpected option");
    }
    if (argc - optind != (outfile ? 0 : 1))
        return cli_usage(&cli_cmd_calc, argc - optind < 1 ? "needs OUT"
                                        : outfile ? "--outfile and OUT both "
                                                    "given"
                                                  : "too many arguments");
    if (!expr && !calc)
        return cli_usage(&cli_cmd_calc, "needs --expr (or gdal_calc's "
                                        "--calc)");
    if (expr && calc)
        return cli_usage(&cli_cmd_calc, "--expr and --calc exclude each "
                                        "other");
    for (int i = 0; i < 26; i++)
        if (band[i] != 1 && !path[i])
            return cli_usage(&cli_cmd_calc, "--%c_band without -%c", 'A' + i,
                             'A' + i);
    const char *out_path = outfile ? outfile : argv[optind];

    tes_raster_error err;
    char *owned_expr = NULL;
    if (calc) {
        int rc = numpy_expr(calc, path, band, has_type, &type, &has_nd, &nd,
                            &owned_expr);
        if (rc)
            return rc;
        expr = owned_expr;
    }
    int max_band[26];
    uint32_t used;
    /* these returns free the translated --calc expression too (they leaked
     * it: found by fuzz_cli) */
    if (tes_calc_inputs(expr, &used, max_band, &err)) {
        free(owned_expr);
        return cli_fail_err(&err);
    }
    for (int i = 0; i < 26; i++)
        if ((used & (1u << i)) && !path[i]) {
            free(owned_expr);
            return cli_usage(&cli_cmd_calc, "the expression reads %c but "
                                            "there is no -%c", 'A' + i,
                             'A' + i);
        }

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
            tes_run_stats rs;
            po.stats = &rs;
            cli_progress_setup(
                &c, &po,
                (uint64_t)tes_raster_info_get(run_in[0])->width *
                    (uint64_t)tes_raster_info_get(run_in[0])->height,
                NULL);
            int prc = cli_raster_run(pool, &k, run_in, m, out_path, &c.out,
                                     NULL, &po, &err);
            cli_progress_end(&po);
            tes_pool_destroy(pool);
            if (prc)
                rc = cli_fail_err(&err);
            else
                cli_stats_print(&c, &rs);
        }
        tes_kernel_release(&k);
    }
    for (int i = 0; i < n; i++)
        tes_raster_close(r[i]);
    free(owned_expr);
    return rc;
}
