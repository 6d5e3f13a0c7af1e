/*
 * test_cli_kernels.c — the kernel commands of raster-tool as a user runs
 * them ($TES_BUILD/raster-tool): slope, aspect, hillshade, calc, convolve,
 * blur and stats. --help, exit statuses 0/1/2 and the exact one-line
 * errors; outputs equal to the in-memory kernels on the same DEM; the same
 * bytes and numbers at any -j; stats --json parses; and, when gdal-bin is
 * installed, pixel-by-pixel agreement with gdaldem.
 */
#include <check.h>
#include <math.h>
#include <stdarg.h>
#include <sys/wait.h>

#include "../kernels/kernels_builtin.h"
#include "cli_test_util.h"
#include "raster_test_util.h"
#include "suite_main.h"

static const char *const commands[] = { "slope", "aspect", "hillshade",
                                        "calc", "convolve", "blur", "stats" };

START_TEST(cli_kernels_help)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        ck_assert_int_eq(rt("%s --help", commands[i]), 0);
        char want[64];
        snprintf(want, sizeof want, "Usage: raster-tool %s ", commands[i]);
        ck_assert_msg(strstr(out_txt, want) == out_txt, "%s", out_txt);
        ck_assert_str_eq(err_txt, "");
    }
    ck_assert_int_eq(rt("--help"), 0);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        ck_assert(strstr(out_txt, commands[i]));
}
END_TEST

START_TEST(cli_kernels_usage_errors_exit_2)
{
    synth("dem.tif", 40, 30, 1, 0);
    static const char *const bad[] = {
        "slope dem.tif",
        "slope dem.tif a.tif b.tif",
        "slope --alg nope dem.tif s.tif",
        "slope --zero-for-flat dem.tif s.tif",
        "slope -s 0 dem.tif s.tif",
        "aspect --percent dem.tif s.tif",
        "hillshade --multidirectional --combined dem.tif s.tif",
        "hillshade --azimuth x dem.tif s.tif",
        "hillshade -j 0 dem.tif s.tif",
        "calc -A dem.tif c.tif",
        "calc --expr 'A + B' -A dem.tif c.tif",
        "calc -A dem.tif --expr A --type nope c.tif",
        "convolve dem.tif c.tif",
        "convolve --kernel '1 2; 3 4' dem.tif c.tif",
        "blur dem.tif c.tif",
        "blur --sigma -1 dem.tif c.tif",
        "stats",
        "stats --range 1 2 dem.tif",
        "stats --histogram 0 dem.tif",
        "stats --bogus dem.tif",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(rt("%s", bad[i]) == 2, "%s: exit not 2", bad[i]);
        ck_assert_msg(strstr(err_txt, "Try 'raster-tool "), "%s: %s", bad[i],
                      err_txt);
        ck_assert_str_eq(out_txt, "");
    }
    ck_assert_int_eq(rt("convolve --kernel '1 2; 3 4' dem.tif c.tif"), 2);
    ck_assert_str_eq(err_txt, "raster-tool convolve: kernel: 2x2: sides must "
                              "be odd\nTry 'raster-tool convolve --help'.\n");
    ck_assert_int_eq(rt("calc --expr 'A + B' -A dem.tif c.tif"), 2);
    ck_assert_str_eq(err_txt, "raster-tool calc: the expression reads B but "
                              "there is no -B\nTry 'raster-tool calc "
                              "--help'.\n");
    ck_assert_int_eq(tu_count_files(dir), 1); /* only dem.tif */
}
END_TEST

START_TEST(cli_kernels_file_errors_exit_1)
{
    synth("dem.tif", 40, 30, 1, 0);
    synth("small.tif", 20, 30, 2, 0);
    FILE *f = fopen(P("notes.txt"), "w");
    fputs("this is not a TIFF file at all\n", f);
    fclose(f);
    ck_assert_int_eq(rt("slope missing.tif s.tif"), 1);
    ck_assert_str_eq(err_txt,
                     "raster-tool: missing.tif: No such file or directory\n");
    ck_assert_int_eq(rt("stats missing.tif"), 1);
    ck_assert_str_eq(err_txt,
                     "raster-tool: missing.tif: No such file or directory\n");
    ck_assert_int_eq(rt("hillshade notes.txt h.tif"), 1);
    ck_assert_msg(strncmp(err_txt, "raster-tool: notes.txt: ", 24) == 0 &&
                      strchr(err_txt, '\n') == err_txt + strlen(err_txt) - 1,
                  "%s", err_txt);
    ck_assert_int_eq(rt("calc -A dem.tif -B small.tif --expr 'A - B' c.tif"),
                     1);
    ck_assert_str_eq(err_txt, "raster-tool: small.tif: size 20x30 differs "
                              "from dem.tif (40x30)\n");
    ck_assert_int_eq(rt("calc -A dem.tif --expr '(A + 1) * 2)' c.tif"), 1);
    ck_assert_str_eq(err_txt, "raster-tool: expression: unexpected ')' at "
                              "column 12\n");
    ck_assert_int_eq(rt("calc -A dem.tif --expr 'A[2]' c.tif"), 1);
    ck_assert_str_eq(err_txt, "raster-tool: dem.tif: has 1 band(s); the "
                              "expression reads A[2]\n");
    ck_assert_int_eq(rt("slope --quiet dem.tif s.tif"), 0);
    ck_assert_int_eq(rt("slope dem.tif s.tif"), 1);
    ck_assert_msg(strstr(err_txt, "s.tif") && strstr(err_txt, "--overwrite") &&
                      strncmp(err_txt, "raster-tool: ", 13) == 0,
                  "%s", err_txt);
    ck_assert_int_eq(rt("slope --overwrite dem.tif s.tif"), 0);
    ck_assert_int_eq(rt("slope --band 2 dem.tif s2.tif"), 1);
    ck_assert_str_eq(err_txt, "raster-tool: dem.tif: has 1 band(s), no band "
                              "2\n");
    /* failures leave nothing behind */
    ck_assert(!tu_exists(P("c.tif")) && !tu_exists(P("h.tif")) &&
              !tu_exists(P("s2.tif")));
    ck_assert_int_eq(tu_count_files(dir), 4);
}
END_TEST

/* The CLI's terrain outputs equal the in-memory kernel on the same DEM. */
START_TEST(cli_terrain_matches_memory_kernel)
{
    synth("dem.tif", 150, 110, 7, 0.03);
    tes_tile dem;
    read_all("dem.tif", &dem);
    static const struct {
        const char *args;
        tes_terrain_kind kind;
        bool edges, zt, md;
    } cases[] = {
        { "slope", TES_TERRAIN_SLOPE, false, false, false },
        { "slope --compute-edges --alg zt", TES_TERRAIN_SLOPE, true, true,
          false },
        { "aspect --compute-edges", TES_TERRAIN_ASPECT, true, false, false },
        { "hillshade", TES_TERRAIN_HILLSHADE, false, false, false },
        { "hillshade --multidirectional --compute-edges",
          TES_TERRAIN_HILLSHADE, true, false, true },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tes_terrain_options o = TES_TERRAIN_OPTIONS_INIT;
        o.kind = cases[i].kind;
        o.compute_edges = cases[i].edges;
        o.zt = cases[i].zt;
        o.multidirectional = cases[i].md;
        o.ewres = 30;
        o.nsres = -30;
        tes_terrain_state st;
        tes_kernel k;
        ck_assert_int_eq(tes__kernel_terrain(&k, &st, &o), 0);
        tes_tile want;
        ck_assert_int_eq(tes_tile_alloc(&want, k.out_type, 150, 110, 1), 0);
        tes_tile dem32;
        ck_assert_int_eq(tes_tile_alloc(&dem32, TES_F32, 150, 110, 1), 0);
        tes_convert_samples(dem32.data, TES_F32, dem.data, TES_F64,
                            150 * 110);
        dem32.has_nodata = dem.has_nodata;
        dem32.nodata = dem.nodata;
        ck_assert_int_eq(tu_run_memory(NULL, &k, &dem32, 1, &want,
                                                NULL, 1000, 1000, NULL, 0),
                         0);
        for (int j = 1; j <= 2; j++) {
            ck_assert_int_eq(rt("%s -j %d --tile %d --quiet --overwrite "
                                "dem.tif t%d.tif",
                                cases[i].args, j, j == 1 ? 64 : 32, j), 0);
            tes_tile got;
            char name[32];
            snprintf(name, sizeof name, "t%d.tif", j);
            read_all(name, &got);
            ck_assert(got.has_nodata);
            ck_assert_double_eq(got.nodata,
                                cases[i].kind == TES_TERRAIN_HILLSHADE ? 0
                                                                      : -9999);
            for (int y = 0; y < 110; y++)
                for (int x = 0; x < 150; x++)
                    ck_assert_msg(tes_tile_get(&got, 0, x, y) ==
                                      tes_tile_get(&want, 0, x, y),
                                  "%s (%d,%d)", cases[i].args, x, y);
            tes_tile_free(&got);
        }
        tes_tile_free(&dem32);
        tes_tile_free(&want);
    }
    tes_tile_free(&dem);
}
END_TEST

START_TEST(cli_same_output_at_any_thread_count)
{
    synth("dem.tif", 300, 170, 3, 0.02);
    const char *cmds[] = { "hillshade", "slope --percent",
                           "calc -A dem.tif --expr 'sqrt(abs(A)) * 2'",
                           "blur --sigma 1.5", "convolve --kernel '1 2 1'" };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        bool calc = strncmp(cmds[i], "calc", 4) == 0;
        ck_assert_int_eq(rt("%s -j 1 --tile 64 %s a.tif", cmds[i],
                            calc ? "" : "dem.tif"), 0);
        ck_assert_int_eq(rt("%s -j 3 --tile 64 %s b.tif", cmds[i],
                            calc ? "" : "dem.tif"), 0);
        ck_assert_msg(same_file("a.tif", "b.tif"), "%s", cmds[i]);
        unlink(P("a.tif"));
        unlink(P("b.tif"));
    }
    ck_assert_int_eq(rt("stats --json --histogram 7 -j 1 dem.tif"), 0);
    static char one[sizeof out_txt];
    memcpy(one, out_txt, sizeof one);
    for (int j = 2; j <= 5; j += 3) {
        ck_assert_int_eq(rt("stats --json --histogram 7 -j %d dem.tif", j), 0);
        ck_assert_str_eq(out_txt, one);
    }
}
END_TEST

START_TEST(cli_stats_json)
{
    synth("dem.tif", 120, 90, 5, 0.05);
    ck_assert_int_eq(rt("stats --json --histogram 4 --range 0 5000 dem.tif"),
                     0);
    const char *head = "{\"bands\": [{\"band\": 1, \"count\": ";
    ck_assert_msg(strncmp(out_txt, head, strlen(head)) == 0, "%s", out_txt);
    if (system("python3 -c pass 2>/dev/null") == 0) {
        FILE *f = fopen(P("s.json"), "w");
        fputs(out_txt, f);
        fclose(f);
        char cmd[9000];
        snprintf(cmd, sizeof cmd,
                 "python3 -c 'import json,sys; d=json.load(open(sys.argv[1]));"
                 " b=d[\"bands\"][0]; assert b[\"count\"]+b[\"nodata_count\"]"
                 "==120*90; assert sum(b[\"histogram\"][\"counts\"])=="
                 "b[\"count\"]' '%s'", P("s.json"));
        ck_assert_int_eq(system(cmd), 0);
    }
    /* against the in-memory reduction on the same pixels */
    tes_tile dem;
    read_all("dem.tif", &dem);
    tes_stats_state st;
    tes_kernel k;
    ck_assert_int_eq(tes__kernel_stats(&k, &st, 1, 0, 0, 0), 0);
    tes_band_stats res[1];
    ck_assert_int_eq(tu_run_memory(NULL, &k, &dem, 1, NULL, res, 90,
                                            90, NULL, 0), 0);
    char want[256];
    snprintf(want, sizeof want, "\"count\": %llu, \"nodata_count\": %llu, "
             "\"min\": %.17g, \"max\": %.17g",
             (unsigned long long)res[0].count,
             (unsigned long long)res[0].nodata_count, res[0].min, res[0].max);
    ck_assert_msg(strstr(out_txt, want), "%s\nwant %s", out_txt, want);
    ck_assert_int_eq(rt("stats dem.tif"), 0);
    ck_assert_msg(strncmp(out_txt, "band 1: count ", 14) == 0, "%s", out_txt);
    tes_tile_free(&dem);
}
END_TEST

START_TEST(cli_calc_two_inputs)
{
    synth("a.tif", 90, 70, 1, 0.05);
    synth("b.tif", 90, 70, 2, 0.05);
    ck_assert_int_eq(rt("calc -A a.tif -B b.tif --expr '(B - A) / (B + A)' "
                        "--type float64 n.tif"), 0);
    tes_tile a, b, n;
    read_all("a.tif", &a);
    read_all("b.tif", &b);
    read_all("n.tif", &n);
    ck_assert(n.has_nodata);
    ck_assert_double_eq(n.nodata, -9999);
    for (int y = 0; y < 70; y++)
        for (int x = 0; x < 90; x++) {
            double va = tes_tile_get(&a, 0, x, y), vb = tes_tile_get(&b, 0, x, y);
            double want = (va == -9999 || vb == -9999) ? -9999
                                                       : (vb - va) / (vb + va);
            ck_assert_double_eq(tes_tile_get(&n, 0, x, y), want);
        }
    tes_tile_free(&a);
    tes_tile_free(&b);
    tes_tile_free(&n);
    ck_assert_int_eq(rt("calc -A a.tif --expr '2 + 3' --type uint8 "
                        "--nodata 255 k.tif"), 0);
    read_all("k.tif", &n);
    ck_assert_double_eq(n.nodata, 255);
    ck_assert_double_eq(tes_tile_get(&n, 0, 89, 69), 5);
    tes_tile_free(&n);
}
END_TEST

START_TEST(cli_convolve_identity_and_blur)
{
    synth("dem.tif", 70, 50, 4, 0.03);
    ck_assert_int_eq(rt("convolve --kernel '0 0 0; 0 1 0; 0 0 0' dem.tif "
                        "c.tif"), 0);
    tes_tile d, c;
    read_all("dem.tif", &d);
    read_all("c.tif", &c);
    ck_assert_int_eq(memcmp(d.data, c.data, 70 * 50 * sizeof(double)), 0);
    tes_tile_free(&c);
    ck_assert_int_eq(rt("blur --sigma 1 --tile 16 dem.tif b.tif"), 0);
    read_all("b.tif", &c);
    tes_conv_state st;
    ck_assert_int_eq(tes__conv_gaussian(&st, 1), 0);
    tes_kernel k;
    ck_assert_int_eq(tes__kernel_conv(&k, &st), 0);
    tes_tile d32, want;
    ck_assert_int_eq(tes_tile_alloc(&d32, TES_F32, 70, 50, 1), 0);
    tes_convert_samples(d32.data, TES_F32, d.data, TES_F64, 70 * 50);
    d32.has_nodata = true;
    d32.nodata = d.nodata;
    ck_assert_int_eq(tes_tile_alloc(&want, TES_F32, 70, 50, 1), 0);
    ck_assert_int_eq(tu_run_memory(NULL, &k, &d32, 1, &want, NULL,
                                            33, 33, NULL, 0), 0);
    for (int y = 0; y < 50; y++)
        for (int x = 0; x < 70; x++)
            ck_assert_double_eq(tes_tile_get(&c, 0, x, y),
                                tes_tile_get(&want, 0, x, y));
    tes_tile_free(&want);
    tes_tile_free(&d32);
    tes_tile_free(&c);
    tes_tile_free(&d);
}
END_TEST

/* --band picks the DEM's band; --type changes the output's type. */
START_TEST(cli_terrain_band_and_type)
{
    synth("dem.tif", 80, 60, 6, 0.02);
    ck_assert_int_eq(rt("convert --quiet --type float64 --bands 1,1 dem.tif "
                        "two.tif"), 0);
    ck_assert_int_eq(rt("slope --quiet dem.tif a.tif"), 0);
    ck_assert_int_eq(rt("slope --quiet -b 2 --type float64 two.tif b.tif"),
                     0);
    tes_tile a, b;
    read_all("a.tif", &a);
    read_all("b.tif", &b);
    tes_raster *r;
    tes_raster_error err;
    ck_assert_int_eq(tes_raster_open(&r, P("b.tif"), &err), 0);
    ck_assert_int_eq(tes_raster_info_get(r)->type, TES_F64);
    tes_raster_close(r);
    for (int y = 0; y < 60; y++)
        for (int x = 0; x < 80; x++)
            ck_assert_double_eq(tes_tile_get(&a, 0, x, y),
                                (float)tes_tile_get(&b, 0, x, y));
    tes_tile_free(&a);
    tes_tile_free(&b);
    /* a band with no valid pixel gives nulls in JSON */
    ck_assert_int_eq(rt("calc --quiet -A dem.tif --expr 'A / 0 * 0' x.tif"),
                     0);
    ck_assert_int_eq(rt("stats --json x.tif"), 0);
    ck_assert_msg(strstr(out_txt, "\"count\": 0, \"nodata_count\": 4800, "
                                  "\"min\": null, \"max\": null, "
                                  "\"mean\": null, \"stddev\": null"),
                  "%s", out_txt);
}
END_TEST

/* gdaldem (GDAL 3.6 conventions) on the same DEM, pixel by pixel. */
START_TEST(cli_terrain_agrees_with_gdaldem)
{
    if (system("command -v gdaldem >/dev/null 2>&1") != 0) {
        fprintf(stderr, "cli_terrain_agrees_with_gdaldem: gdaldem not "
                        "installed (gdal-bin), skipped\n");
        return;
    }
    synth("dem.tif", 160, 120, 9, 0.03);
    static const struct {
        const char *ours, *theirs;
        int kind; /* 0 slope, 1 aspect, 2 hillshade */
    } cases[] = {
        { "slope", "slope", 0 },
        { "slope --percent --compute-edges", "slope -p -compute_edges", 0 },
        { "slope --alg zt -s 2", "slope -alg ZevenbergenThorne -s 2", 0 },
        { "aspect", "aspect", 1 },
        { "aspect --trigonometric --compute-edges",
          "aspect -trigonometric -compute_edges", 1 },
        { "aspect --zero-for-flat", "aspect -zero_for_flat", 1 },
        { "hillshade", "hillshade", 2 },
        { "hillshade -z 3 --azimuth 100 --altitude 30 --compute-edges",
          "hillshade -z 3 -az 100 -alt 30 -compute_edges", 2 },
        { "hillshade --multidirectional", "hillshade -multidirectional", 2 },
        { "hillshade --combined --alg zt",
          "hillshade -combined -alg ZevenbergenThorne", 2 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char cmd[9000];
        snprintf(cmd, sizeof cmd, "cd '%s' && gdaldem %s -q dem.tif g.tif "
                 ">/dev/null 2>&1", dir, cases[i].theirs);
        ck_assert_int_eq(system(cmd), 0);
        ck_assert_int_eq(rt("%s dem.tif t.tif", cases[i].ours), 0);
        tes_tile g, t;
        read_all("g.tif", &g);
        read_all("t.tif", &t);
        ck_assert_int_eq(g.has_nodata, t.has_nodata);
        double nd = cases[i].kind == 2 ? 0 : g.has_nodata ? -9999 : 0;
        double sum = 0, worst = 0;
        for (int y = 0; y < 120; y++)
            for (int x = 0; x < 160; x++) {
                double a = tes_tile_get(&g, 0, x, y);
                double b = tes_tile_get(&t, 0, x, y);
                ck_assert_msg((a == nd) == (b == nd),
                              "%s: nodata differs at (%d,%d): %g vs %g",
                              cases[i].ours, x, y, a, b);
                double d = fabs(a - b);
                if (cases[i].kind == 1 && d > 180)
                    d = 360 - d;
                sum += d;
                worst = d > worst ? d : worst;
            }
        double lim = cases[i].kind == 0 ? 1e-3 : 1;
        ck_assert_msg(worst <= lim, "%s: max difference %g", cases[i].ours,
                      worst);
        if (cases[i].kind == 1)
            ck_assert_msg(sum / (160 * 120) < 1e-3, "%s: mean difference %g",
                          cases[i].ours, sum / (160 * 120));
        tes_tile_free(&g);
        tes_tile_free(&t);
        unlink(P("g.tif"));
        unlink(P("t.tif"));
    }
}
END_TEST

static Suite *cli_kernels_suite(void)
{
    Suite *s = suite_create("cli_kernels");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, cli_kernels_help);
    tcase_add_test(tc, cli_kernels_usage_errors_exit_2);
    tcase_add_test(tc, cli_kernels_file_errors_exit_1);
    tcase_add_test(tc, cli_terrain_matches_memory_kernel);
    tcase_add_test(tc, cli_same_output_at_any_thread_count);
    tcase_add_test(tc, cli_stats_json);
    tcase_add_test(tc, cli_calc_two_inputs);
    tcase_add_test(tc, cli_convolve_identity_and_blur);
    tcase_add_test(tc, cli_terrain_band_and_type);
    tcase_add_test(tc, cli_terrain_agrees_with_gdaldem);
    suite_add_tcase(s, tc);
    return s;
}

TES_CHECK_MAIN(cli_kernels_suite)
