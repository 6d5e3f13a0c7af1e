/*
 * test_raster_cog.c — Cloud-Optimized GeoTIFF outputs: the layout read
 * with libtiff (main IFD first, every IFD before any tile, levels halved
 * down to one tile, the smallest level's tiles first), overview pixels
 * against a naive reference, GDAL's validator and gdalinfo (when GDAL is
 * installed) for float32, int16, uint8 RGB and palette outputs with 1, 2
 * and 5 levels and three codecs, agreement with gdaladdo for every
 * method (images with an alpha band too), the same bytes at any thread
 * count, and a full disk leaving nothing behind.
 */
#include <check.h>
#include <signal.h>
#include <sys/resource.h>

#include "raster_test_util.h"
#include "suite_main.h"

static char *dir;

static void setup(void) { dir = tu_tmpdir(); }
static void teardown(void) { tu_rmdir(dir); }

/* Writes src to in_path (plain tiles), then copies it through the
 * pipeline to out_path with opts (cog set) on `threads` workers. */
static void make_cog(const tes_tile *src, const char *in_path,
                     const char *out_path, tes_raster_create_options *o,
                     int threads, tes_run_stats *st)
{
    tes_raster_error err;
    if (!tu_exists(in_path))
        ck_assert_int_eq(tes_raster_write_tile(in_path, src, NULL, &err), 0);
    tes_raster *r;
    ck_assert_int_eq(tes_raster_open(&r, in_path, &err), 0);
    tes_pool_options po = TES_POOL_OPTIONS_INIT;
    po.threads = threads;
    tes_pool *pool;
    ck_assert_int_eq(tes_pool_create(&pool, &po), 0);
    tes_kernel k = TES_KERNEL_INIT;
    k.name = "copy";
    k.tile = tu_copy_tile;
    o->cog = true;
    o->overwrite = true;
    tes_pipeline_options pl = TES_PIPELINE_OPTIONS_INIT;
    pl.stats = st;
    int rc = tes_raster_run(pool, &k, &r, 1, out_path, o, NULL, &pl, &err);
    ck_assert_msg(rc == 0, "%s", err.message);
    tes_pool_destroy(pool);
    tes_raster_close(r);
}

/* Offset of the first tile of the current directory. */
static uint64_t first_tile(TIFF *t)
{
    return TIFFGetStrileOffset(t, 0);
}

/* The structure GDAL's checker demands, read with libtiff alone. */
static void check_layout(const char *path, int64_t w, int64_t h, int tile,
                         int want_levels, bool bigtiff)
{
    TIFF *t = TIFFOpen(path, "r");
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(TIFFIsBigTIFF(t) != 0, bigtiff);
    int n = TIFFNumberOfDirectories(t);
    ck_assert_int_eq(n, want_levels + 1);
    uint64_t ifd[40], data[40], last_ifd = 0;
    for (int d = 0; d < n; d++) {
        ck_assert(TIFFSetDirectory(t, (tdir_t)d));
        ifd[d] = TIFFCurrentDirOffset(t);
        data[d] = first_tile(t);
        uint32_t iw, ih, tw, th, sub = 0;
        TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &iw);
        TIFFGetField(t, TIFFTAG_IMAGELENGTH, &ih);
        ck_assert(TIFFGetField(t, TIFFTAG_TILEWIDTH, &tw));
        ck_assert(TIFFGetField(t, TIFFTAG_TILELENGTH, &th));
        TIFFGetField(t, TIFFTAG_SUBFILETYPE, &sub);
        ck_assert_int_eq(tw, tile);
        ck_assert_int_eq(th, tile);
        ck_assert_int_eq(iw, w);
        ck_assert_int_eq(ih, h);
        ck_assert_int_eq(sub, d ? FILETYPE_REDUCEDIMAGE : 0);
        /* down to one tile, halving as GDAL sizes overviews */
        if (d == n - 1)
            ck_assert(iw <= (uint32_t)tile && ih <= (uint32_t)tile);
        w = (w + 1) / 2;
        h = (h + 1) / 2;
        /* every tile after every IFD */
        uint32_t tiles = TIFFNumberOfTiles(t);
        for (uint32_t i = 0; i < tiles; i++)
            ck_assert_uint_gt(TIFFGetStrileOffset(t, i), ifd[d]);
        last_ifd = ifd[d];
    }
    ck_assert_uint_eq(ifd[0], bigtiff ? 16 : 8);
    for (int d = 1; d < n; d++)
        ck_assert_uint_gt(ifd[d], ifd[d - 1]);
    /* the smallest level's data first, the full resolution's last */
    ck_assert_uint_gt(data[n - 1], last_ifd);
    for (int d = 0; d + 1 < n; d++)
        ck_assert_uint_gt(data[d], data[d + 1]);
    TIFFClose(t);
}

/* Directory d of path, every pixel, band-sequential (libtiff's reading). */
static void read_dir(const char *path, int d, tes_tile *out,
                     tes_sample_type type, int bands)
{
    TIFF *t = TIFFOpen(path, "r");
    ck_assert(TIFFSetDirectory(t, (tdir_t)d));
    uint32_t w, h, tw, th;
    TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &w);
    TIFFGetField(t, TIFFTAG_IMAGELENGTH, &h);
    TIFFGetField(t, TIFFTAG_TILEWIDTH, &tw);
    TIFFGetField(t, TIFFTAG_TILELENGTH, &th);
    ck_assert_int_eq(tes_tile_alloc(out, type, (int)w, (int)h, bands), 0);
    size_t ss = tes_sample_size(type);
    uint8_t *buf = malloc((size_t)TIFFTileSize(t));
    for (uint32_t y0 = 0; y0 < h; y0 += th)
        for (uint32_t x0 = 0; x0 < w; x0 += tw) {
            ck_assert_int_ge(TIFFReadTile(t, buf, x0, y0, 0, 0), 0);
            for (uint32_t y = 0; y < th && y0 + y < h; y++)
                for (uint32_t x = 0; x < tw && x0 + x < w; x++)
                    for (int b = 0; b < bands; b++)
                        memcpy((char *)tes_tile_row(out, b, (int)(y0 + y)) +
                                   (x0 + x) * ss,
                               buf + (((size_t)y * tw + x) * (size_t)bands +
                                      (size_t)b) * ss,
                               ss);
        }
    free(buf);
    TIFFClose(t);
}

/* A level from the one above, naively: nearest takes the pixel at
 * (int)(0.5 + i * ratio); average of a 2x2 block rounds half up. */
static void naive_level(const tes_tile *src, tes_tile *dst, bool average)
{
    int w = (src->width + 1) / 2, h = (src->height + 1) / 2;
    ck_assert_int_eq(tes_tile_alloc(dst, src->type, w, h, src->bands), 0);
    double rx = (double)src->width / w, ry = (double)src->height / h;
    for (int b = 0; b < src->bands; b++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                double v;
                if (average) {
                    v = floor((tes_tile_get(src, b, 2 * x, 2 * y) +
                               tes_tile_get(src, b, 2 * x + 1, 2 * y) +
                               tes_tile_get(src, b, 2 * x, 2 * y + 1) +
                               tes_tile_get(src, b, 2 * x + 1, 2 * y + 1)) /
                                  4 +
                              0.5);
                } else {
                    int sx = (int)(0.5 + x * rx), sy = (int)(0.5 + y * ry);
                    v = tes_tile_get(src, b, sx, sy);
                }
                tes_tile_set(dst, b, x, y, v);
            }
}

/* 5 levels of 16-pixel tiles, uint16, two bands: the layout, and every
 * level's pixels against the naive cascade (nearest on 300 x 40, whose
 * odd levels have ratios other than 2; average on 512 x 64). */
START_TEST(cog_layout_and_pixels)
{
    char *in = tu_path(dir, "in.tif"), *out = tu_path(dir, "out.tif");
    static const struct {
        int w, h, levels;
        tes_resampling m;
    } c[] = {
        { 300, 40, 5, TES_RESAMPLE_NEAREST },
        { 512, 64, 5, TES_RESAMPLE_AVERAGE },
    };
    for (int i = 0; i < 2; i++) {
        tes_tile src;
        ck_assert_int_eq(tes_tile_alloc(&src, TES_U16, c[i].w, c[i].h, 2),
                         0);
        tu_fill_smooth(&src, 3);
        unlink(in);
        tes_raster_create_options o = TES_RASTER_CREATE_OPTIONS_INIT;
        o.tile_width = o.tile_height = 16;
        o.overview_resampling = c[i].m;
        tes_run_stats st;
        make_cog(&src, in, out, &o, 2, &st);
        check_layout(out, c[i].w, c[i].h, 16, c[i].levels, false);
        tes_tile level, want;
        read_dir(out, 0, &level, TES_U16, 2);
        ck_assert(tu_tiles_equal(&level, &src));
        tes_tile above = src;
        for (int d = 1; d <= c[i].levels; d++) {
            naive_level(&above, &want, c[i].m == TES_RESAMPLE_AVERAGE);
            tes_tile_free(&level);
            read_dir(out, d, &level, TES_U16, 2);
            ck_assert_msg(tu_tiles_equal(&level, &want), "level %d", d);
            if (d > 1)
                tes_tile_free(&above);
            above = want;
        }
        tes_tile_free(&above);
        tes_tile_free(&level);
        tes_tile_free(&src);
    }
    free(in);
    free(out);
}
END_TEST

/* A BigTIFF COG's main IFD is at 16; an output that fits one tile has
 * no levels; a planar one keeps one tile per band in every level. */
START_TEST(cog_bigtiff_single_tile_and_planar)
{
    char *in = tu_path(dir, "in.tif"), *out = tu_path(dir, "out.tif");
    tes_tile src;
    ck_assert_int_eq(tes_tile_alloc(&src, TES_F32, 100, 90, 3), 0);
    tu_fill_smooth(&src, 4);
    tes_raster_create_options o = TES_RASTER_CREATE_OPTIONS_INIT;
    o.tile_width = o.tile_height = 32;
    o.bigtiff = TES_BIGTIFF_YES;
    make_cog(&src, in, out, &o, 2, NULL);
    check_layout(out, 100, 90, 32, 2, true);
    o = (tes_raster_create_options)TES_RASTER_CREATE_OPTIONS_INIT;
    o.planar = true;
    o.tile_width = o.tile_height = 32;
    make_cog(&src, in, out, &o, 2, NULL);
    check_layout(out, 100, 90, 32, 2, false);
    tes_raster *r;
    ck_assert_int_eq(tes_raster_open(&r, out, NULL), 0);
    ck_assert(tes_raster_info_get(r)->planar);
    ck_assert_int_eq(tes_raster_info_get(r)->n_overviews, 2);
    ck_assert_int_eq(tes_raster_info_get(r)->overviews[1].width, 25);
    tes_tile back;
    ck_assert_int_eq(tes_tile_alloc(&back, TES_F32, 100, 90, 3), 0);
    ck_assert_int_eq(tes_raster_read(r, 0, 0, &back, TES_EDGE_REPLICATE, 0,
                                     NULL), 0);
    ck_assert(tu_tiles_equal(&back, &src));
    tes_raster_close(r);
    o = (tes_raster_create_options)TES_RASTER_CREATE_OPTIONS_INIT;
    make_cog(&src, in, out, &o, 2, NULL); /* 100 x 90 in one 256 tile */
    check_layout(out, 100, 90, 256, 0, false);
    tes_tile_free(&back);
    tes_tile_free(&src);
    free(in);
    free(out);
}
END_TEST

START_TEST(cog_same_bytes_at_any_thread_count)
{
    char *in = tu_path(dir, "in.tif"), *a = tu_path(dir, "a.tif");
    char *b = tu_path(dir, "b.tif");
    tes_tile src;
    ck_assert_int_eq(tes_tile_alloc(&src, TES_F32, 700, 300, 1), 0);
    tu_fill_smooth(&src, 9);
    tes_raster_create_options o = TES_RASTER_CREATE_OPTIONS_INIT;
    o.tile_width = o.tile_height = 64;
    make_cog(&src, in, a, &o, 1, NULL);
    static const int threads[] = { 2, 3 };
    for (int i = 0; i < 2; i++) {
        make_cog(&src, in, b, &o, threads[i], NULL);
        ck_assert(tu_files_equal(a, b));
    }
    tes_tile_free(&src);
    free(in);
    free(a);
    free(b);
}
END_TEST

/* The levels' tiles go through temporary files when their memory share is
 * small; a full disk stops the run with its reason and leaves nothing. */
START_TEST(cog_spills_and_full_disk_leaves_nothing)
{
    char *in = tu_path(dir, "in.tif"), *out = tu_path(dir, "out.tif");
    tes_tile src;
    ck_assert_int_eq(tes_tile_alloc(&src, TES_F64, 600, 500, 1), 0);
    tu_fill_random(src.data, 600 * 500 * 8, 2);
    tes_raster_create_options o = TES_RASTER_CREATE_OPTIONS_INIT;
    o.compress = TES_COMPRESS_NONE;
    o.tile_width = o.tile_height = 64;
    tes_raster_error err;
    ck_assert_int_eq(tes_raster_write_tile(in, &src, &o, &err), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = { 1000000, 1000000 };
        setrlimit(RLIMIT_FSIZE, &rl);
        tes_raster *r;
        if (tes_raster_open(&r, in, &err))
            _exit(10);
        tes_pool *pool;
        if (tes_pool_create(&pool, NULL))
            _exit(11);
        tes_kernel k = TES_KERNEL_INIT;
        k.tile = tu_copy_tile;
        o.cog = true;
        tes_pipeline_options po = TES_PIPELINE_OPTIONS_INIT;
        po.cache_bytes = 1 << 20; /* stores keep 128 KiB in memory */
        int rc = tes_raster_run(pool, &k, &r, 1, out, &o, NULL, &po, &err);
        tes_pool_destroy(pool);
        tes_raster_close(r);
        if (rc != -EFBIG)
            _exit(12);
        if (!strstr(err.message, out) || strchr(err.message, '\n'))
            _exit(13);
        bool left = tu_exists(out) || tu_count_files(dir) != 1;
        free(in);
        free(out);
        _exit(left ? 14 : 0);
    }
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %d",
                  WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    /* without the limit: spilled, read back, and right */
    tes_run_stats rs;
    o.cog = true;
    tes_raster *r;
    ck_assert_int_eq(tes_raster_open(&r, in, NULL), 0);
    tes_pool *pool;
    ck_assert_int_eq(tes_pool_create(&pool, NULL), 0);
    tes_kernel k = TES_KERNEL_INIT;
    k.tile = tu_copy_tile;
    tes_pipeline_options po = TES_PIPELINE_OPTIONS_INIT;
    po.cache_bytes = 1 << 20;
    po.stats = &rs;
    ck_assert_int_eq(tes_raster_run(pool, &k, &r, 1, out, &o, NULL, &po,
                                    &err), 0);
    /* the full resolution (2.4 MB) and the levels, mostly spilled; read
     * back by the next level and by the assembly */
    ck_assert_uint_gt(rs.spill_written, 2000000);
    ck_assert_uint_gt(rs.spill_read, rs.spill_written);
    ck_assert_uint_lt(rs.spill_read, 3 * rs.spill_written);
    tes_tile back;
    read_dir(out, 0, &back, TES_F64, 1);
    ck_assert(tu_tiles_equal(&back, &src));
    ck_assert_int_eq(tu_count_files(dir), 2);
    tes_tile_free(&back);
    tes_pool_destroy(pool);
    tes_raster_close(r);
    tes_tile_free(&src);
    free(in);
    free(out);
}
END_TEST

/* ---- with GDAL ------------------------------------------------------------ */

/* GDAL's checker, quiet: exit 0 and no warning. */
static void gdal_validates(const char *path)
{
    char log[4200];
    snprintf(log, sizeof log, "%s.log", path);
    int rc = tu_sh("/usr/bin/python3 /usr/lib/python3/dist-packages/"
                   "osgeo_utils/samples/validate_cloud_optimized_geotiff.py "
                   "'%s' > '%s' 2>&1",
                   path, log);
    char text[4096];
    tu_read_text(log, text, sizeof text);
    unlink(log);
    ck_assert_msg(rc == 0 && strstr(text, "is a valid cloud optimized") &&
                      strstr(text, "The size of all IFD headers"),
                  "%s", text);
}

/* float32, int16, uint8 RGB, palette; 1, 2 and 5 levels; deflate, zstd,
 * none: the validator accepts every one, gdalinfo lists its overviews. */
START_TEST(cog_gdal_validator_accepts)
{
    if (!tu_have_gdal() ||
        !tu_exists("/usr/lib/python3/dist-packages/osgeo_utils/samples/"
                   "validate_cloud_optimized_geotiff.py"))
        return;
    static const struct {
        tes_sample_type type;
        int bands, w, h, tile, levels;
        tes_compress c;
        bool rgb, palette;
    } c[] = {
        { TES_F32, 1, 300, 200, 256, 1, TES_COMPRESS_DEFLATE, false, false },
        { TES_I16, 1, 1000, 600, 256, 2, TES_COMPRESS_ZSTD, false, false },
        { TES_U8, 3, 600, 530, 256, 2, TES_COMPRESS_NONE, true, false },
        { TES_U8, 1, 300, 40, 16, 5, TES_COMPRESS_DEFLATE, false, true },
        { TES_F32, 1, 600, 500, 32, 5, TES_COMPRESS_NONE, false, false },
        { TES_U8, 3, 400, 300, 16, 5, TES_COMPRESS_ZSTD, true, false },
    };
    uint16_t map[256];
    for (int i = 0; i < 256; i++)
        map[i] = (uint16_t)(i * 257);
    tes_colormap cm = { 256, map, map, map };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "c%zu.tif", i);
        char *in = tu_path(dir, "in.tif"), *out = tu_path(dir, name);
        tes_tile src;
        ck_assert_int_eq(tes_tile_alloc(&src, c[i].type, c[i].w, c[i].h,
                                        c[i].bands), 0);
        tu_fill_smooth(&src, 5);
        unlink(in);
        tes_raster_create_options o = TES_RASTER_CREATE_OPTIONS_INIT;
        o.tile_width = o.tile_height = c[i].tile;
        o.compress = c[i].c;
        o.rgb = c[i].rgb;
        o.colormap = c[i].palette ? &cm : NULL;
        make_cog(&src, in, out, &o, 2, NULL);
        check_layout(out, c[i].w, c[i].h, c[i].tile, c[i].levels, false);
        gdal_validates(out);
        char log[4200], text[8192];
        snprintf(log, sizeof log, "%s.info", out);
        ck_assert_int_eq(tu_sh("gdalinfo '%s' > '%s'", out, log), 0);
        tu_read_text(log, text, sizeof text);
        unlink(log);
        int64_t w = (c[i].w + 1) / 2, h = (c[i].h + 1) / 2;
        char want[64];
        snprintf(want, sizeof want, "Overviews: %lldx%lld", (long long)w,
                 (long long)h);
        ck_assert_msg(strstr(text, want), "%s", text);
        if (c[i].palette)
            ck_assert_msg(strstr(text, "Color Table"), "%s", text);
        tes_tile_free(&src);
        free(in);
        free(out);
    }
}
END_TEST

/* Runs a Python script (Debian's interpreter) with raster-tool's path in
 * `tool`, the test's folder in `d`, and sys, os, subprocess, shutil,
 * numpy as np and GDAL's gdal imported; fails with its output unless it
 * exits 0. */
static void run_gdal_script(const char *text)
{
    char *script = tu_path(dir, "cmp.py");
    FILE *f = fopen(script, "w");
    ck_assert_ptr_nonnull(f);
    fputs("import sys, os, subprocess, shutil\n"
          "import numpy as np\n"
          "from osgeo import gdal\n"
          "gdal.UseExceptions()\n"
          "tool, d = sys.argv[1], sys.argv[2]\n",
          f);
    fputs(text, f);
    fclose(f);
    const char *b = getenv("TES_BUILD");
    char cwd[2048], tool[4200], log[4200], out[8192];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    b = b && *b ? b : "build";
    snprintf(tool, sizeof tool, "%s%s%s/raster-tool", b[0] == '/' ? "" : cwd,
             b[0] == '/' ? "" : "/", b);
    snprintf(log, sizeof log, "%s/cmp.log", dir);
    int rc = tu_sh("/usr/bin/python3 '%s' '%s' '%s' > '%s' 2>&1", script,
                   tool, dir, log);
    tu_read_text(log, out, sizeof out);
    ck_assert_msg(rc == 0, "%.2000s", out); /* what Check's message holds */
    free(script);
}

/* Every method against gdaladdo on the same input (uint8, int16 with
 * nodata, float32, 3-band uint8, odd sizes): integers within 1, floats
 * within float32 rounding. */
START_TEST(cog_agrees_with_gdaladdo)
{
    if (!tu_have_gdal())
        return;
    run_gdal_script(
        "drv = gdal.GetDriverByName('GTiff')\n"
        "bad = 0\n"
        "def run(w, h, dt, bands, m, nodata):\n"
        "    global bad\n"
        "    rng = np.random.default_rng(1)\n"
        "    y, x = np.mgrid[0:h, 0:w]\n"
        "    src = d + '/in.tif'\n"
        "    ds = drv.Create(src, w, h, bands, dt, ['TILED=YES'])\n"
        "    for b in range(bands):\n"
        "        a = np.sin(x / 37.0 + b) * 40 + np.cos(y / 23.0) * 30 + x * 0.05\n"
        "        if dt == gdal.GDT_Byte:\n"
        "            a = np.clip(a + 100 + rng.integers(0, 20, (h, w)), 0, 255)\n"
        "        elif dt == gdal.GDT_Int16:\n"
        "            a = a * 50 + rng.integers(-300, 300, (h, w))\n"
        "        else:\n"
        "            a = a * 1.37 + rng.normal(0, 2, (h, w))\n"
        "        if nodata is not None:\n"
        "            a[(x * 7 + y * 3) % 29 == 0] = nodata\n"
        "            ds.GetRasterBand(b + 1).SetNoDataValue(nodata)\n"
        "        ds.GetRasterBand(b + 1).WriteArray(a)\n"
        "    ds = None\n"
        "    out = d + '/cog.tif'\n"
        "    if os.path.exists(out): os.remove(out)\n"
        "    subprocess.run([tool, 'convert', '--quiet', '--cog',\n"
        "                    '--overview-resampling', m, src, out], check=True)\n"
        "    ref = d + '/ref.tif'\n"
        "    shutil.copy(src, ref)\n"
        "    ours = gdal.Open(out)\n"
        "    n = ours.GetRasterBand(1).GetOverviewCount()\n"
        "    subprocess.run(['gdaladdo', '-q', '-r', m, ref] +\n"
        "                   [str(2 ** i) for i in range(1, n + 1)], check=True)\n"
        "    r = gdal.Open(ref)\n"
        "    tol = 1 if dt != gdal.GDT_Float32 else 1e-4\n"
        "    for i in range(n):\n"
        "        for b in range(bands):\n"
        "            a = ours.GetRasterBand(b + 1).GetOverview(i).ReadAsArray()\n"
        "            g = r.GetRasterBand(b + 1).GetOverview(i).ReadAsArray()\n"
        "            diff = np.abs(a.astype(float) - g.astype(float))\n"
        "            if a.shape != g.shape or diff.max() > tol * max(1, np.abs(g).max() if tol < 1 else 1):\n"
        "                print('differs:', w, h, dt, m, nodata, 'level', i + 1, 'band', b + 1, diff.max())\n"
        "                bad += 1\n"
        "    ours = r = None\n"
        "for m in ['nearest', 'average', 'bilinear', 'cubic', 'mode']:\n"
        "    run(1025, 769, gdal.GDT_Byte, 1, m, None)\n"
        "    run(1000, 700, gdal.GDT_Int16, 1, m, -9999)\n"
        "    run(1025, 600, gdal.GDT_Float32, 1, m, None)\n"
        "    run(600, 530, gdal.GDT_Byte, 3, m, 0)\n"
        "sys.exit(1 if bad else 0)\n");
}
END_TEST

/* Images with an alpha band (GDAL's ALPHA=YES: unassociated), every
 * method, against gdaladdo, both as `overviews` adds levels and as
 * `convert --cog` makes them: GDAL leaves the pixels whose alpha is 0 out
 * of grey + alpha and RGBA images of 8 or 16 bits (weighing by the alpha
 * in bilinear and cubic; the alpha band masked by itself, nodata or not),
 * but not of other band counts. Integers within 1. */
START_TEST(cog_alpha_masks_agree_with_gdaladdo)
{
    if (!tu_have_gdal())
        return;
    run_gdal_script(
        "bad = 0\n"
        "def make(bands, dt, co, nodata):\n"
        "    rng = np.random.default_rng(5)\n"
        "    w, h = 600, 530\n"
        "    top = 255 if dt == gdal.GDT_Byte else 65535\n"
        "    y, x = np.mgrid[0:h, 0:w]\n"
        "    src = d + '/in.tif'\n"
        "    ds = gdal.GetDriverByName('GTiff').Create(src, w, h, bands, dt,\n"
        "        ['TILED=YES', 'ALPHA=YES'] + co)\n"
        "    a = rng.integers(0, top + 1, (h, w))\n"
        "    a[:, :120] = 0\n"
        "    a[200:260, :] = 0\n"
        "    a[:, 300:310] = top\n"
        "    alpha = bands if bands in (2, 4) else 4\n"
        "    for b in range(1, bands + 1):\n"
        "        v = a if b == alpha else \\\n"
        "            (x * (b + 1) + y * 2 +\n"
        "             rng.integers(0, 30, (h, w))) % (top + 1)\n"
        "        ds.GetRasterBand(b).WriteArray(v)\n"
        "        if nodata is not None:\n"
        "            ds.GetRasterBand(b).SetNoDataValue(nodata)\n"
        "    ds = None\n"
        "    return src\n"
        "def compare(ours, ref, what):\n"
        "    global bad\n"
        "    o, r = gdal.Open(ours), gdal.Open(ref)\n"
        "    n = o.GetRasterBand(1).GetOverviewCount()\n"
        "    if n < 2 or r.GetRasterBand(1).GetOverviewCount() != n:\n"
        "        print(what, 'levels', n); bad += 1; return\n"
        "    for i in range(n):\n"
        "        for b in range(1, o.RasterCount + 1):\n"
        "            a = o.GetRasterBand(b).GetOverview(i).ReadAsArray()\n"
        "            g = r.GetRasterBand(b).GetOverview(i).ReadAsArray()\n"
        "            diff = np.abs(a.astype(float) - g.astype(float)).max()\n"
        "            if a.shape != g.shape or diff > 1:\n"
        "                print(what, 'level', i + 1, 'band', b, diff)\n"
        "                bad += 1\n"
        "cases = [(4, gdal.GDT_Byte, ['PHOTOMETRIC=RGB'], None),\n"
        "         (4, gdal.GDT_Byte, ['PHOTOMETRIC=RGB',\n"
        "                             'INTERLEAVE=BAND'], None),\n"
        "         (2, gdal.GDT_UInt16, [], None),\n"
        "         (4, gdal.GDT_UInt16, ['PHOTOMETRIC=RGB'], 7),\n"
        "         (2, gdal.GDT_Byte, [], 7),\n"
        "         (5, gdal.GDT_Byte, ['PHOTOMETRIC=RGB'], None)]\n"
        "for bands, dt, co, nodata in cases:\n"
        "    for m in ['nearest', 'average', 'bilinear', 'cubic', 'mode']:\n"
        "        what = '%d bands %s %s nodata %s %s:' % (bands,\n"
        "            gdal.GetDataTypeName(dt), co, nodata, m)\n"
        "        src = make(bands, dt, co, nodata)\n"
        "        ref = d + '/ref.tif'\n"
        "        shutil.copy(src, ref)\n"
        "        subprocess.run(['gdaladdo', '-q', '-r', m, ref], check=True)\n"
        "        ovr = d + '/ovr.tif'\n"
        "        shutil.copy(src, ovr)\n"
        "        subprocess.run([tool, 'overviews', '--quiet', '-r', m, ovr],\n"
        "                       check=True)\n"
        "        compare(ovr, ref, 'overviews ' + what)\n"
        "        cog = d + '/cog.tif'\n"
        "        if os.path.exists(cog): os.remove(cog)\n"
        "        subprocess.run([tool, 'convert', '--quiet', '--cog',\n"
        "                        '--overview-resampling', m, src, cog],\n"
        "                       check=True)\n"
        "        compare(cog, ref, 'convert --cog ' + what)\n"
        "sys.exit(1 if bad else 0)\n");
}
END_TEST

static Suite *suite(void)
{
    tu_quiet_libtiff();
    Suite *s = suite_create("raster_cog");
    TCase *tc = tcase_create("cog");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, cog_layout_and_pixels);
    tcase_add_test(tc, cog_bigtiff_single_tile_and_planar);
    tcase_add_test(tc, cog_same_bytes_at_any_thread_count);
    tcase_add_test(tc, cog_spills_and_full_disk_leaves_nothing);
    tcase_add_test(tc, cog_gdal_validator_accepts);
    tcase_add_test(tc, cog_agrees_with_gdaladdo);
    tcase_add_test(tc, cog_alpha_masks_agree_with_gdaladdo);
    suite_add_tcase(s, tc);
    return s;
}

TES_CHECK_MAIN(suite)
