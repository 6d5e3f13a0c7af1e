/*
 * test_cli_raster.c — raster-tool as a user runs it ($TES_BUILD/raster-tool):
 * --help and --version, exit statuses 0/1/2, the exact one-line errors,
 * synth / info / convert end to end, info --json, band selection, the
 * same output bytes at any -j, colour tables shown and kept, alpha bands
 * (associated or not) kept, refusals.
 */
#include <check.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "cli_test_util.h"
#include "raster_test_util.h"
#include "suite_main.h"

START_TEST(cli_version_and_help)
{
    ck_assert_int_eq(rt("--version"), 0);
    ck_assert_str_eq(out_txt, "raster-tool (tessera) " TES_VERSION_STRING "\n");
    ck_assert_int_eq(rt("--help"), 0);
    ck_assert(strstr(out_txt, "convert") && strstr(out_txt, "info") &&
              strstr(out_txt, "synth"));
    static const char *const cmds[] = { "convert", "info", "synth" };
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(rt("%s --help", cmds[i]), 0);
        char want[64];
        snprintf(want, sizeof want, "Usage: raster-tool %s", cmds[i]);
        ck_assert_msg(strncmp(out_txt, want, strlen(want)) == 0, "%s",
                      out_txt);
        ck_assert_str_eq(err_txt, "");
    }
}
END_TEST

START_TEST(cli_usage_errors_exit_2)
{
    ck_assert_int_eq(rt("%s", ""), 2);
    ck_assert_int_eq(rt("frobnicate"), 2);
    ck_assert(strstr(err_txt, "unknown command 'frobnicate'"));
    ck_assert_int_eq(rt("convert only-one.tif"), 2);
    ck_assert_str_eq(err_txt, "raster-tool convert: needs IN and OUT\n"
                              "Try 'raster-tool convert --help'.\n");
    ck_assert_int_eq(rt("synth out.tif"), 2);
    ck_assert(strstr(err_txt, "--size WxH is required"));
    ck_assert_int_eq(rt("synth --size 10by10 out.tif"), 2);
    ck_assert_int_eq(rt("convert --compress jpeg a.tif b.tif"), 2);
    ck_assert_str_eq(err_txt, "raster-tool convert: invalid value 'jpeg'\n"
                              "Try 'raster-tool convert --help'.\n");
    ck_assert_int_eq(rt("convert --tile 100 a.tif b.tif"), 2);
    ck_assert_int_eq(rt("info --no-such-option x.tif"), 2);
    ck_assert_int_eq(rt("info"), 2);
    ck_assert_int_eq(tu_count_files(dir), 0);
}
END_TEST

START_TEST(cli_file_errors_exit_1_with_one_line)
{
    ck_assert_int_eq(rt("info missing.tif"), 1);
    ck_assert_str_eq(err_txt,
                     "raster-tool: missing.tif: No such file or directory\n");
    ck_assert_str_eq(out_txt, "");
    FILE *f = fopen(P("notes.txt"), "w");
    fputs("not an image at all", f);
    fclose(f);
    ck_assert_int_eq(rt("info notes.txt"), 1);
    ck_assert_str_eq(err_txt, "raster-tool: notes.txt: not a TIFF file\n");
    ck_assert_int_eq(rt("convert notes.txt out.tif"), 1);
    ck_assert_str_eq(err_txt, "raster-tool: notes.txt: not a TIFF file\n");
    ck_assert(!tu_exists(P("out.tif")));
    ck_assert_int_eq(rt("synth --size 64x64 --quiet dem.tif"), 0);
    ck_assert_int_eq(rt("synth --size 64x64 dem.tif"), 1);
    ck_assert_str_eq(err_txt,
                     "raster-tool: dem.tif: already exists (use --overwrite)\n");
    ck_assert_int_eq(rt("convert dem.tif dem.tif --overwrite"), 1);
    ck_assert_str_eq(err_txt,
                     "raster-tool: dem.tif: output is the same file as input 1\n");
    ck_assert_int_eq(rt("convert --level 15 dem.tif o.tif"), 1);
    ck_assert_str_eq(err_txt,
                     "raster-tool: o.tif: deflate level 15 is not in 1..12\n");
}
END_TEST

START_TEST(cli_synth_info_convert)
{
    ck_assert_int_eq(rt("synth --size 300x200 --seed 3 --holes 0.05 dem.tif"), 0);
    ck_assert_str_eq(err_txt, ""); /* no bar: stderr is not a terminal */
    ck_assert_int_eq(rt("info dem.tif"), 0);
    ck_assert_msg(strstr(out_txt, "Size:        300 x 200, 1 band, float32\n") &&
                      strstr(out_txt, "Layout:      tiles 256x256") &&
                      strstr(out_txt, "Compression: deflate, predictor 3") &&
                      strstr(out_txt, "Origin:      (500000, 5000000)") &&
                      strstr(out_txt, "Pixel size:  (30, -30)") &&
                      strstr(out_txt, "CRS:         EPSG:32633") &&
                      strstr(out_txt, "NoData:      -9999"),
                  "%s", out_txt);
    ck_assert_int_eq(rt("convert --type int16 --compress zstd --level 3 "
                         "--tile 64 dem.tif dem16.tif"), 0);
    ck_assert_int_eq(rt("info --json dem16.tif"), 0);
    ck_assert_msg(strstr(out_txt, "\"width\": 300, \"height\": 200") &&
                      strstr(out_txt, "\"type\": \"int16\"") &&
                      strstr(out_txt, "\"compression\": \"zstd\"") &&
                      strstr(out_txt, "\"block_width\": 64") &&
                      strstr(out_txt, "\"nodata\": -9999") &&
                      strstr(out_txt, "\"epsg\": 32633"),
                  "%s", out_txt);
    if (system("python3 -c 'pass' 2>/dev/null") == 0) {
        char cmd[8400];
        FILE *f = fopen(P("j.json"), "w");
        fputs(out_txt, f);
        fclose(f);
        snprintf(cmd, sizeof cmd,
                 "python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "
                 "'%s/j.json'", dir);
        ck_assert_int_eq(system(cmd), 0);
    }
    /* Values: int16 is the rounded float. */
    tes_raster *a, *b;
    tes_raster_error err;
    char *pa = tu_path(dir, "dem.tif"), *pb = tu_path(dir, "dem16.tif");
    ck_assert_int_eq(tes_raster_open(&a, pa, &err), 0);
    ck_assert_int_eq(tes_raster_open(&b, pb, &err), 0);
    tes_tile ta, tb;
    ck_assert_int_eq(tes_tile_alloc(&ta, TES_F64, 300, 200, 1), 0);
    ck_assert_int_eq(tes_tile_alloc(&tb, TES_F64, 300, 200, 1), 0);
    ck_assert_int_eq(tes_raster_read(a, 0, 0, &ta, 0, 0, &err), 0);
    ck_assert_int_eq(tes_raster_read(b, 0, 0, &tb, 0, 0, &err), 0);
    for (int y = 0; y < 200; y++)
        for (int x = 0; x < 300; x++) {
            double v = tes_tile_get(&ta, 0, x, y);
            ck_assert(tes_tile_get(&tb, 0, x, y) == (double)(int)(v < 0 ? v - 0.5 : v + 0.5));
        }
    tes_tile_free(&ta);
    tes_tile_free(&tb);
    tes_raster_close(a);
    tes_raster_close(b);
    free(pa);
    free(pb);
}
END_TEST

START_TEST(cli_same_bytes_at_any_thread_count)
{
    ck_assert_int_eq(rt("synth --size 400x300 -j 1 a.tif"), 0);
    ck_assert_int_eq(rt("synth --size 400x300 -j 3 b.tif"), 0);
    ck_assert(tu_files_equal(P("a.tif"), P("b.tif")));
    ck_assert_int_eq(rt("convert --tile 48 --compress lzw -j 1 a.tif c.tif"), 0);
    ck_assert_int_eq(rt("convert --tile 48 --compress lzw --threads 7 a.tif d.tif"), 0);
    ck_assert(tu_files_equal(P("c.tif"), P("d.tif")));
}
END_TEST

START_TEST(cli_convert_selects_bands)
{
    tes_tile t;
    ck_assert_int_eq(tes_tile_alloc(&t, TES_U8, 40, 30, 3), 0);
    tu_fill_smooth(&t, 2);
    tes_raster_error err;
    char *src = tu_path(dir, "rgb.tif");
    ck_assert_int_eq(tes_raster_write_tile(src, &t, NULL, &err), 0);
    ck_assert_int_eq(rt("convert --bands 3,1 --planar-is-not-an-option rgb.tif o.tif"), 2);
    ck_assert_int_eq(rt("convert --bands 3,1 rgb.tif o.tif"), 0);
    ck_assert_int_eq(rt("convert --bands 4 rgb.tif p.tif"), 2);
    tes_raster *r;
    char *o = tu_path(dir, "o.tif");
    ck_assert_int_eq(tes_raster_open(&r, o, &err), 0);
    ck_assert_int_eq(tes_raster_info_get(r)->bands, 2);
    tes_tile g;
    ck_assert_int_eq(tes_tile_alloc(&g, TES_U8, 40, 30, 2), 0);
    ck_assert_int_eq(tes_raster_read(r, 0, 0, &g, 0, 0, &err), 0);
    for (int y = 0; y < 30; y++)
        for (int x = 0; x < 40; x++) {
            ck_assert(tes_tile_get(&g, 0, x, y) == tes_tile_get(&t, 2, x, y));
            ck_assert(tes_tile_get(&g, 1, x, y) == tes_tile_get(&t, 0, x, y));
        }
    tes_tile_free(&g);
    tes_raster_close(r);
    tes_tile_free(&t);
    free(src);
    free(o);
}
END_TEST

START_TEST(cli_interrupt_leaves_nothing)
{
    /* A long synth, interrupted: the run is cancelled, its temporary file
     * removed. (Were the signal to land before the handler is installed,
     * the default action kills the process before any file exists.) */
    char cmd[9000];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && { '%s' synth --size 30000x30000 big.tif "
             "2>stderr.txt & pid=$!; sleep 0.7; kill -INT $pid; wait $pid; "
             "echo $? >status.txt; }", dir, tool);
    ck_assert_int_eq(system(cmd), 0);
    char st[64], err[512];
    tu_read_text(P("status.txt"), st, sizeof st);
    tu_read_text(P("stderr.txt"), err, sizeof err);
    unlink(P("status.txt"));
    unlink(P("stderr.txt"));
    if (atoi(st) == 1)
        ck_assert_str_eq(err, "raster-tool: big.tif: cancelled\n");
    else
        ck_assert_int_eq(atoi(st), 130);
    ck_assert_int_eq(tu_count_files(dir), 0);
}
END_TEST

/* A palette image from tiffmedian: info shows its table (--json: the
 * entries as GDAL shows them), convert keeps it, --type drops it. */
START_TEST(cli_palette_table_shown_and_kept)
{
    FILE *f = fopen(P("card.ppm"), "wb");
    fprintf(f, "P6\n19 13\n255\n");
    for (int i = 0; i < 19 * 13; i++) {
        fputc((i * 7) % 256, f);
        fputc((i * 3) % 256, f);
        fputc((i * 11) % 256, f);
    }
    fclose(f);
    ck_assert_int_eq(tu_sh("cd '%s' && ppm2tiff card.ppm rgb.tif && "
                           "tiffmedian rgb.tif pal.tif", dir), 0);
    ck_assert_int_eq(rt("info pal.tif"), 0);
    ck_assert_msg(strstr(out_txt, "Colour table: 256 entries\n"), "%s",
                  out_txt);
    ck_assert_int_eq(rt("info --json pal.tif"), 0);
    TIFF *t = TIFFOpen(P("pal.tif"), "r");
    uint16_t *red, *green, *blue;
    ck_assert(TIFFGetField(t, TIFFTAG_COLORMAP, &red, &green, &blue));
    char want[128];
    snprintf(want, sizeof want,
             "\"color_table\": {\"count\": 256, \"entries\": "
             "[[%d, %d, %d, 255], [%d, %d, %d, 255]",
             red[0] >> 8, green[0] >> 8, blue[0] >> 8, red[1] >> 8,
             green[1] >> 8, blue[1] >> 8);
    ck_assert_msg(strstr(out_txt, want), "%s", out_txt);
    ck_assert_int_eq(rt("convert --quiet pal.tif copy.tif"), 0);
    TIFF *c = TIFFOpen(P("copy.tif"), "r");
    uint16_t photo, *r2, *g2, *b2;
    ck_assert(TIFFGetField(c, TIFFTAG_PHOTOMETRIC, &photo));
    ck_assert_int_eq(photo, PHOTOMETRIC_PALETTE);
    ck_assert(TIFFGetField(c, TIFFTAG_COLORMAP, &r2, &g2, &b2));
    ck_assert(memcmp(r2, red, 512) == 0 && memcmp(g2, green, 512) == 0 &&
              memcmp(b2, blue, 512) == 0);
    TIFFClose(c);
    TIFFClose(t);
    ck_assert_int_eq(rt("convert --quiet --type uint16 pal.tif wide.tif"), 0);
    ck_assert_int_eq(rt("info wide.tif"), 0);
    ck_assert(!strstr(out_txt, "Colour table"));
}
END_TEST

/* What we still refuse: one line naming what is missing, exit 1. */
START_TEST(cli_refusal_names_what_is_missing)
{
    TIFF *t = TIFFOpen(P("i64.tif"), "w");
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, 4);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, 4);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 64);
    TIFFSetField(t, TIFFTAG_SAMPLEFORMAT, SAMPLEFORMAT_INT);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
    TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 4);
    uint8_t zeros[128] = { 0 };
    TIFFWriteEncodedStrip(t, 0, zeros, sizeof zeros);
    TIFFClose(t);
    ck_assert_int_eq(rt("convert i64.tif out.tif"), 1);
    ck_assert_str_eq(err_txt, "raster-tool: i64.tif: 64-bit integer samples "
                              "are not supported (1 to 32)\n");
    ck_assert(!tu_exists(P("out.tif")));
}
END_TEST

/* overviews: inside, then outside; info (and --json) lists them; bad
 * arguments are usage errors. */
START_TEST(cli_overviews_and_info)
{
    ck_assert_int_eq(rt("synth --quiet --size 600x400 dem.tif"), 0);
    ck_assert_int_eq(rt("overviews --quiet -r average dem.tif"), 0);
    ck_assert_str_eq(out_txt, "");
    ck_assert_int_eq(rt("info dem.tif"), 0);
    ck_assert_msg(strstr(out_txt, "Overviews:   300x200, 150x100\n"), "%s",
                  out_txt);
    ck_assert_int_eq(rt("overviews --quiet --external --min-size 100 "
                        "dem.tif"), 0);
    ck_assert(tu_exists(P("dem.tif.ovr")));
    ck_assert_int_eq(rt("info --json dem.tif"), 0);
    ck_assert_msg(strstr(out_txt, "\"overviews\": [{\"width\": 300, "
                                  "\"height\": 200, \"external\": false}"),
                  "%s", out_txt);
    ck_assert_msg(strstr(out_txt, "{\"width\": 75, \"height\": 50, "
                                  "\"external\": true}]"),
                  "%s", out_txt);
    ck_assert_int_eq(rt("overviews -r sideways dem.tif"), 2);
    ck_assert_str_eq(err_txt, "raster-tool overviews: unknown resampling "
                              "'sideways'\nTry 'raster-tool overviews "
                              "--help'.\n");
    ck_assert_int_eq(rt("overviews missing.tif"), 1);
    ck_assert_str_eq(err_txt,
                     "raster-tool: missing.tif: No such file or directory\n");
    ck_assert_int_eq(rt("convert --cog --overview-resampling sideways "
                        "dem.tif c.tif"), 2);
}
END_TEST

/* --cog on every command that writes a raster. */
START_TEST(cli_cog_on_every_writing_command)
{
    ck_assert_int_eq(rt("synth --quiet --cog --size 700x500 dem.tif"), 0);
    is_cog("dem.tif", 2);
    ck_assert_int_eq(rt("convert --quiet --cog --type int16 dem.tif c.tif"),
                     0);
    is_cog("c.tif", 2);
    ck_assert_int_eq(rt("hillshade --quiet --cog dem.tif h.tif"), 0);
    is_cog("h.tif", 2);
    ck_assert_int_eq(rt("slope --quiet --cog dem.tif s.tif"), 0);
    is_cog("s.tif", 2);
    ck_assert_int_eq(rt("calc --quiet --cog -A dem.tif --expr 'A * 2' "
                        "k.tif"), 0);
    is_cog("k.tif", 2);
    ck_assert_int_eq(rt("blur --quiet --cog --sigma 2 --tile 128 dem.tif "
                        "b.tif"), 0);
    is_cog("b.tif", 3);
    ck_assert_int_eq(rt("aspect --quiet --cog dem.tif a.tif"), 0);
    is_cog("a.tif", 2);
    ck_assert_int_eq(rt("convolve --quiet --cog --kernel '1 2 1' dem.tif "
                        "v.tif"), 0);
    is_cog("v.tif", 2);
    /* tri, tpi, roughness and color-relief: test_cli_gdal.c */
    ck_assert_int_eq(rt("convert --quiet --cog --stats dem.tif st.tif"), 0);
    ck_assert_msg(strstr(err_txt, "raster-tool: stats: 9 tiles, "), "%s",
                  err_txt);
}
END_TEST

/* The kind of the last extra sample of every image in name (libtiff's
 * reading); returns how many images. */
static int extra_kinds(const char *name, uint16_t *kind, int cap)
{
    TIFF *t = TIFFOpen(P(name), "r");
    ck_assert_ptr_nonnull(t);
    int n = 0;
    do {
        uint16_t count = 0, *extra = NULL;
        ck_assert(n < cap);
        kind[n++] = TIFFGetField(t, TIFFTAG_EXTRASAMPLES, &count, &extra) &&
                            count
                        ? extra[count - 1]
                        : 0xffff;
    } while (TIFFReadDirectory(t));
    TIFFClose(t);
    return n;
}

/* Every image of name (at least min of them) says the alpha is kind. */
static void all_alpha(const char *name, uint16_t kind, int min)
{
    uint16_t k[16];
    int n = extra_kinds(name, k, 16);
    ck_assert_msg(n >= min, "%s: %d images", name, n);
    for (int i = 0; i < n; i++)
        ck_assert_msg(k[i] == kind, "%s: image %d: ExtraSamples %u, not %u",
                      name, i, k[i], kind);
}

/* An alpha band's ExtraSamples, associated (premultiplied) or not, comes
 * out as it went in wherever the bands keep their meaning: convert (any
 * type, bands kept in order), --cog and its overviews, overviews inside
 * the file and in FILE.ovr; info says which. */
START_TEST(cli_alpha_kept_associated_or_not)
{
    static const tu_alpha_image in[] = {
        { "rgba.tif", 4, 8, PHOTOMETRIC_RGB, EXTRASAMPLE_ASSOCALPHA },
        { "ga.tif", 2, 16, PHOTOMETRIC_MINISBLACK, EXTRASAMPLE_ASSOCALPHA },
        { "un.tif", 4, 8, PHOTOMETRIC_RGB, EXTRASAMPLE_UNASSALPHA },
    };
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        const char *f = in[i].name;
        bool assoc = in[i].kind == EXTRASAMPLE_ASSOCALPHA;
        ck_assert_int_eq(tu_write_alpha(P(f), 600, 500, &in[i], 128), 0);
        ck_assert_int_eq(rt("info %s", f), 0);
        char want[96];
        snprintf(want, sizeof want, "Alpha:       band %d%s\n",
                 in[i].bands, assoc ? ", associated (premultiplied)" : "");
        ck_assert_msg(strstr(out_txt, want), "%s", out_txt);
        ck_assert_int_eq(rt("info --json %s", f), 0);
        snprintf(want, sizeof want,
                 "\"alpha_band\": %d, \"alpha_associated\": %s",
                 in[i].bands, assoc ? "true" : "false");
        ck_assert_msg(strstr(out_txt, want), "%s", out_txt);
        ck_assert_int_eq(rt("convert --quiet --overwrite %s c.tif", f), 0);
        all_alpha("c.tif", in[i].kind, 1);
        ck_assert_int_eq(rt("convert --quiet --overwrite --type float32 %s "
                            "t.tif", f), 0);
        all_alpha("t.tif", in[i].kind, 1);
        ck_assert_int_eq(rt("convert --quiet --overwrite --cog --tile 128 "
                            "%s g.tif", f), 0);
        all_alpha("g.tif", in[i].kind, 3);
        ck_assert_int_eq(tu_sh("cp '%s' '%s'", P(f), P("o.tif")), 0);
        ck_assert_int_eq(rt("overviews --quiet --min-size 128 o.tif"), 0);
        all_alpha("o.tif", in[i].kind, 3);
        ck_assert_int_eq(rt("overviews --quiet --external --min-size 128 "
                            "%s", f), 0);
        char ovr[64];
        snprintf(ovr, sizeof ovr, "%s.ovr", f);
        all_alpha(ovr, in[i].kind, 2);
    }
    /* the alpha left out, or no longer last: no alpha */
    ck_assert_int_eq(rt("convert --quiet --bands 1,2,3 rgba.tif n.tif"), 0);
    uint16_t k[4];
    ck_assert_int_eq(extra_kinds("n.tif", k, 4), 1);
    ck_assert_int_eq(k[0], 0xffff);
    ck_assert_int_eq(rt("convert --quiet --bands 4,1 rgba.tif m.tif"), 0);
    ck_assert_int_eq(extra_kinds("m.tif", k, 4), 1);
    ck_assert_int_eq(k[0], EXTRASAMPLE_UNSPECIFIED);
}
END_TEST

/* Peak RSS of a COG hillshade of a 16384 x 16384 DEM (run as a user runs
 * it): under 100 MB. Not under sanitizers, whose memory is their own. */
START_TEST(cli_cog_hillshade_16384_in_100mb)
{
    const char *b = getenv("TES_BUILD");
    if (b && strstr(b, "san-")) {
        fprintf(stderr, "cli_cog_hillshade_16384_in_100mb: skipped under "
                        "sanitizers\n");
        return;
    }
    ck_assert_int_eq(rt("synth --quiet --octaves 2 --size 16384x16384 "
                        "--compress zstd --level 1 dem.tif"), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        if (chdir(dir) == 0)
            execl(tool, tool, "hillshade", "--quiet", "-j", "2", "--cog",
                  "dem.tif", "h.tif", (char *)NULL);
        _exit(127);
    }
    int st;
    struct rusage ru;
    ck_assert_int_eq(wait4(pid, &st, 0, &ru), pid);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    ck_assert_msg(ru.ru_maxrss < 100 * 1024, "peak RSS %ld KB", ru.ru_maxrss);
    is_cog("h.tif", 6);
}
END_TEST

static Suite *suite(void)
{
    tu_quiet_libtiff();
    Suite *s = suite_create("cli_raster");
    TCase *tc = tcase_create("cli");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, cli_version_and_help);
    tcase_add_test(tc, cli_usage_errors_exit_2);
    tcase_add_test(tc, cli_file_errors_exit_1_with_one_line);
    tcase_add_test(tc, cli_synth_info_convert);
    tcase_add_test(tc, cli_same_bytes_at_any_thread_count);
    tcase_add_test(tc, cli_convert_selects_bands);
    tcase_add_test(tc, cli_interrupt_leaves_nothing);
    tcase_add_test(tc, cli_palette_table_shown_and_kept);
    tcase_add_test(tc, cli_refusal_names_what_is_missing);
    tcase_add_test(tc, cli_overviews_and_info);
    tcase_add_test(tc, cli_cog_on_every_writing_command);
    tcase_add_test(tc, cli_alpha_kept_associated_or_not);
    suite_add_tcase(s, tc);
    TCase *big = tcase_create("big");
    tcase_add_checked_fixture(big, setup, teardown);
    tcase_set_timeout(big, 300);
    tcase_add_test(big, cli_cog_hillshade_16384_in_100mb);
    suite_add_tcase(s, big);
    return s;
}

TES_CHECK_MAIN(suite)
