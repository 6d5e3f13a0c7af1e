/*
 * cmd_stats.c — `raster-tool stats [--json] [--histogram BINS [--range LO
 * HI]] FILE`: per-band count, nodata count, min, max, mean, population
 * standard deviation and histograms, as a pipeline reduction whose result
 * does not depend on the thread count.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int run(int argc, char **argv);

const cli_command cli_cmd_stats = {
    "stats",
    "per-band count, min, max, mean, stddev, histogram",
    "Usage: raster-tool stats [OPTIONS] FILE\n"
    "\n"
    "For each band: the number of valid pixels, of nodata pixels (NaN\n"
    "counts as nodata), the minimum, maximum, mean and population standard\n"
    "deviation. Sums are pairwise per tile and tiles merge in a fixed order,\n"
    "so the numbers are the same at any thread count.\n"
    "\n"
    "Options:\n"
    "      --json           {\"bands\": [{\"band\": 1, \"count\": ...}]}, numbers\n"
    "                       with 17 significant digits\n"
    "      --histogram BINS also count values in BINS equal bins\n"
    "      --range LO HI    the histogram's range (default: each band's\n"
    "                       min and max, which takes a second pass)\n"
    CLI_COMMON_HELP,
    run,
};

enum { OPT_JSON = CLI_OPT_FIRST_FREE, OPT_HIST, OPT_RANGE };

static void json_num(double v)
{
    if (isfinite(v))
        printf("%.17g", v);
    else
        printf("null");
}

/* One pass of the stats kernel over r (with a histogram of bins bins over
 * [lo[b], hi[b]] per band when bins > 0); *out gets the result. */
static int reduce(tes_pool *pool, tes_raster *r, const cli_common *c,
                  int bands, int bins, const double *lo, const double *hi,
                  const char *what, void **out)
{
    tes_kernel k;
    tes_raster_error err;
    if (tes_kernel_stats_ranges(&k, bands, bins, lo, hi, &err))
        return cli_fail(tes_raster_path(r), "%s", err.message);
    void *res = malloc(k.partial_size);
    if (!res) {
        tes_kernel_release(&k);
        return cli_fail(tes_raster_path(r), "out of memory");
    }
    tes_pipeline_options po = TES_PIPELINE_OPTIONS_INIT;
    const tes_raster_info *info = tes_raster_info_get(r);
    cli_progress_setup(c, &po, (uint64_t)info->width * (uint64_t)info->height,
                       what);
    int rc = cli_raster_run(pool, &k, &r, 1, NULL, NULL, res, &po, &err);
    cli_progress_end(&po);
    tes_kernel_release(&k);
    if (rc) {
        free(res);
        return cli_fail_err(&err);
    }
    *out = res;
    return 0;
}

static int run(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "json", no_argument, NULL, OPT_JSON },
        { "histogram", required_argument, NULL, OPT_HIST },
        { "range", required_argument, NULL, OPT_RANGE },
        CLI_COMMON_LONGOPTS,
        { NULL, 0, NULL, 0 },
    };
    cli_common c;
    cli_common_init(&c);
    bool json = false, has_range = false;
    long bins = 0;
    double lo = 0, hi = 0;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "j:", longopts, NULL)) != -1) {
        if (opt == OPT_JSON) {
            json = true;
        } else if (opt == OPT_HIST) {
            if (cli_parse_long(optarg, 1, 1000000, &bins))
                return cli_usage(&cli_cmd_stats,
                                 "--histogram %s: expects 1..1000000 bins",
                                 optarg);
        } else if (opt == OPT_RANGE) {
            if (optind >= argc || cli_parse_double(optarg, &lo) ||
                cli_parse_double(argv[optind], &hi) || !isfinite(lo) ||
                !isfinite(hi) || hi < lo)
                return cli_usage(&cli_cmd_stats,
                                 "--range expects LO HI with LO <= HI");
            optind++;
            has_range = true;
        } else {
            bool done;
            int rc = cli_common_option(&cli_cmd_stats, &c, opt, optarg,
                                       &done);
            if (done)
                return rc;
        }
    }
    if (argc - optind != 1)
        return cli_usage(&cli_cmd_stats, argc - optind < 1
                                             ? "needs FILE"
                                             : "too many arguments");
    if (has_range && !bins)
        return cli_usage(&cli_cmd_stats, "--range needs --histogram");
    const char *path = argv[optind];
    tes_raster_error err;
    tes_raster *r;
    if (tes_raster_open(&r, path, &err))
        return cli_fail_err(&err);
    int bands = tes_raster_info_get(r)->bands;
    tes_pool *pool;
    if (cli_pool(&c, &pool)) {
        tes_raster_close(r);
        return CLI_EXIT_FAIL;
    }
    /* the histogram's range per band: --range, or each band's min and max
     * from a first pass */
    void *res = NULL, *hist = NULL;
    double *blo = malloc(sizeof(double) * (size_t)bands);
    double *bhi = malloc(sizeof(double) * (size_t)bands);
    int rc = blo && bhi ? 0 : cli_fail(path, "out of memory");
    for (int b = 0; rc == 0 && b < bands; b++) {
        blo[b] = lo;
        bhi[b] = hi;
    }
    if (rc == 0)
        rc = reduce(pool, r, &c, bands, has_range ? (int)bins : 0, blo, bhi,
                    bins && !has_range ? "range" : NULL, &res);
    if (rc == 0 && bins && !has_range) {
        for (int b = 0; b < bands; b++) {
            const tes_band_stats *s = tes_stats_band(res, b);
            blo[b] = s->count ? s->min : 0;
            bhi[b] = s->count ? s->max : 0;
        }
        rc = reduce(pool, r, &c, bands, (int)bins, blo, bhi, NULL, &hist);
    } else if (rc == 0 && bins) {
        hist = res;
    }
    tes_pool_destroy(pool);
    if (rc == 0) {
        if (json)
            printf("{\"bands\": [");
        for (int b = 0; b < bands; b++) {
            const tes_band_stats *s = tes_stats_band(res, b);
            bool any = s->count > 0;
            double hlo = blo[b], hhi = bhi[b];
            if (json) {
                printf("%s{\"band\": %d, \"count\": %llu, \"nodata_count\": "
                       "%llu, \"min\": ",
                       b ? ", " : "", b + 1, (unsigned long long)s->count,
                       (unsigned long long)s->nodata_count);
                json_num(any ? s->min : NAN);
                printf(", \"max\": ");
                json_num(any ? s->max : NAN);
                printf(", \"mean\": ");
                json_num(any ? s->mean : NAN);
                printf(", \"stddev\": ");
                json_num(tes_band_stats_stddev(s));
                if (bins) {
                    printf(", \"histogram\": {\"bins\": %ld, \"min\": ", bins);
                    json_num(hlo);
                    printf(", \"max\": ");
                    json_num(hhi);
                    printf(", \"counts\": [");
                    const uint64_t *h =
                        tes_stats_histogram(hist, bands, (int)bins, b);
                    for (long i = 0; i < bins; i++)
                        printf("%s%llu", i ? ", " : "",
                               (unsigned long long)h[i]);
                    printf("]}");
                }
                printf("}");
            } else {
                printf("band %d: count %llu, nodata %llu", b + 1,
                       (unsigned long long)s->count,
                       (unsigned long long)s->nodata_count);
                if (any)
                    printf(", min %.10g, max %.10g, mean %.10g, "
                           "stddev %.10g",
                           s->min, s->max, s->mean, tes_band_stats_stddev(s));
                printf("\n");
                if (bins) {
                    printf("  histogram %ld bins over [%.10g, %.10g]:", bins,
                           hlo, hhi);
                    const uint64_t *h =
                        tes_stats_histogram(hist, bands, (int)bins, b);
                    for (long i = 0; i < bins; i++)
                        printf(" %llu", (unsigned long long)h[i]);
                    printf("\n");
                }
            }
        }
        if (json)
            printf("]}\n");
        if (fflush(stdout) != 0)
            rc = cli_fail("stdout", "write error");
    }
    if (hist != res)
        free(hist);
    free(res);
    free(blo);
    free(bhi);
    tes_raster_close(r);
    return rc;
}
