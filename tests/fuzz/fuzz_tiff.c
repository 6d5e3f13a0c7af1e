/*
 * fuzz_tiff.c — a TIFF from memory through every read path of the public
 * API: tes_raster_open (the up-front checks), tes_raster_read of blocks,
 * of windows that cross the edges and of the whole raster (each codec,
 * tiles and strips, chunky and planar, every sample type, converted to
 * float64 as well), then a pipeline: statistics through tes_raster_run
 * (the shared block cache, several workers) compared with the same
 * statistics over the pixels tes_raster_read gave (tes_raster_run_memory),
 * and hillshade over them in memory.
 *
 * Whole-raster work only below FUZZ_TIFF_SAMPLES samples, and no reads at
 * all of blocks that decode to more than FUZZ_TIFF_BLOCK_BYTES, so that a
 * header that claims a huge (and possibly valid: sparse, or well
 * compressed) raster or block costs the harness a few blocks, not
 * seconds each under ASan. (A 548-byte file of 63489 bands, sparse, made
 * each block read fill and deinterleave 76 MB: the library's own bound is
 * TES_MAX_BLOCK_BYTES, 256 MiB a block, and the run's memory budget.)
 */
#include <math.h>

#include "fuzz.h"

#define FUZZ_TIFF_SAMPLES ((int64_t)1 << 20)
#define FUZZ_TIFF_BLOCKS 16 /* blocks read one by one */
#define FUZZ_TIFF_BLOCK_BYTES ((uint64_t)8 << 20)

static tes_pool *pool;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    tes_pool_options o = TES_POOL_OPTIONS_INIT;
    o.threads = 2;
    o.name = "fuzz";
    if (tes_pool_create(&pool, &o))
        fuzz_fail("cannot create the pool");
    return 0;
}

/* Reads the rectangle into a fresh tile of type t; checks that a refusal
 * says why. Returns 0 or the code. */
static int read_rect(tes_raster *r, int64_t x0, int64_t y0, int w, int h,
                     tes_sample_type t, tes_edge_mode edge, tes_tile *out)
{
    const tes_raster_info *in = tes_raster_info_get(r);
    if (tes_tile_alloc(out, t, w, h, in->bands))
        return -ENOMEM;
    tes_raster_error err = { 0, "" };
    int rc = tes_raster_read(r, x0, y0, out, edge, -1.0, &err);
    if (rc) {
        fuzz_check_refusal(rc, &err, "tes_raster_read");
        tes_tile_free(out);
    }
    return rc;
}

static void read_blocks(tes_raster *r)
{
    const tes_raster_info *in = tes_raster_info_get(r);
    int64_t across = (in->width + in->block_width - 1) / in->block_width;
    int64_t down = (in->height + in->block_height - 1) / in->block_height;
    int64_t n = across * down;
    /* the first blocks, the last, and some between */
    int64_t step = n > FUZZ_TIFF_BLOCKS ? n / FUZZ_TIFF_BLOCKS : 1;
    for (int64_t i = 0; i < n; i += step) {
        int64_t b = i + step >= n ? n - 1 : i;
        int64_t x0 = (b % across) * in->block_width;
        int64_t y0 = (b / across) * in->block_height;
        int w = (int)(in->width - x0 < in->block_width ? in->width - x0
                                                       : in->block_width);
        int h = (int)(in->height - y0 < in->block_height ? in->height - y0
                                                         : in->block_height);
        tes_tile t;
        if (read_rect(r, x0, y0, w, h, in->type, TES_EDGE_REPLICATE, &t))
            return; /* the next block would fail alike, or be as slow */
        tes_tile_free(&t);
        if (b == n - 1)
            break;
    }
    /* a window across the top-left corner, converted, edges as nodata */
    tes_tile t;
    if (read_rect(r, -3, -2, 7, 5, TES_F64, TES_EDGE_NODATA, &t) == 0)
        tes_tile_free(&t);
    /* and one across the bottom-right corner */
    if (read_rect(r, in->width - 2, in->height - 3, 6, 5, TES_F32,
                  TES_EDGE_REPLICATE, &t) == 0)
        tes_tile_free(&t);
}

/* Statistics of band data through the file pipeline and through the
 * memory runner over what tes_raster_read returned: the same decoded
 * pixels, the same tiling, so the same bytes (tessera_kernels(3)). */
static void stats_both_ways(tes_raster *r, const tes_tile *whole)
{
    const tes_raster_info *in = tes_raster_info_get(r);
    tes_kernel k;
    tes_raster_error err = { 0, "" };
    if (tes_kernel_stats(&k, in->bands, 7, -50.0, 300.0))
        fuzz_fail("tes_kernel_stats refused %d bands", in->bands);
    void *file = calloc(1, k.partial_size);
    void *mem = calloc(1, k.partial_size);
    if (!file || !mem)
        goto out;
    int rc = tes_raster_run(pool, &k, &r, 1, NULL, NULL, file, NULL, &err);
    if (rc) {
        fuzz_check_refusal(rc, &err, "tes_raster_run stats");
        /* every block decoded for tes_raster_read */
        if (whole)
            fuzz_fail("tes_raster_run failed on blocks that "
                      "tes_raster_read decoded: %s", err.message);
        goto out;
    }
    if (!whole)
        goto out;
    rc = tes_raster_run_memory(pool, &k, whole, 1, NULL, mem, &err);
    if (rc)
        fuzz_fail("stats in memory failed where the file run did: %s",
                  err.message);
    if (memcmp(file, mem, k.partial_size) != 0)
        fuzz_fail("statistics differ between tes_raster_run and "
                  "tes_raster_run_memory over tes_raster_read's pixels");
out:
    free(file);
    free(mem);
    tes_kernel_release(&k);
}

static void hillshade(const tes_tile *whole)
{
    tes_terrain_options o = TES_TERRAIN_OPTIONS_INIT;
    o.kind = TES_TERRAIN_HILLSHADE;
    o.compute_edges = true;
    tes_kernel k;
    if (tes_kernel_terrain(&k, &o))
        fuzz_fail("tes_kernel_terrain refused gdaldem's defaults");
    tes_tile out;
    if (tes_tile_alloc(&out, TES_U8, whole->width, whole->height, 1) == 0) {
        tes_raster_error err = { 0, "" };
        int rc = tes_raster_run_memory(NULL, &k, whole, 1, &out, NULL, &err);
        if (rc)
            fuzz_fail("hillshade in memory: %s", err.message);
        tes_tile_free(&out);
    }
    tes_kernel_release(&k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!pool)
        LLVMFuzzerInitialize(NULL, NULL);
    char path[64];
    int fd = fuzz_memfile(data, size, path, sizeof path);
    if (fd < 0)
        return 0;
    tes_raster *r = NULL;
    tes_raster_error err = { 0, "" };
    int rc = tes_raster_open(&r, path, &err);
    if (rc) {
        fuzz_check_refusal(rc, &err, "tes_raster_open");
        close(fd);
        return 0;
    }
    const tes_raster_info *in = tes_raster_info_get(r);
    if (in->width < 1 || in->height < 1 || in->bands < 1 ||
        in->block_width < 1 || in->block_height < 1 ||
        !tes_sample_size(in->type))
        fuzz_fail("opened with a nonsense description: %lldx%lld, %d bands, "
                  "blocks %dx%d, type %d", (long long)in->width,
                  (long long)in->height, in->bands, in->block_width,
                  in->block_height, (int)in->type);
    uint64_t block_bytes = (uint64_t)in->block_width *
                           (uint64_t)in->block_height *
                           (uint64_t)in->bands * tes_sample_size(in->type);
    if (block_bytes > FUZZ_TIFF_BLOCK_BYTES)
        goto out;
    read_blocks(r);
    if (in->width * in->height * in->bands <= FUZZ_TIFF_SAMPLES) {
        tes_tile whole, whole64;
        bool have = read_rect(r, 0, 0, (int)in->width, (int)in->height,
                              in->type, TES_EDGE_REPLICATE, &whole) == 0;
        stats_both_ways(r, have ? &whole : NULL);
        if (have) {
            hillshade(&whole);
            tes_tile_free(&whole);
        }
        /* the same pixels as float64: every conversion from the type */
        if (read_rect(r, 0, 0, (int)in->width, (int)in->height, TES_F64,
                      TES_EDGE_REPLICATE, &whole64) == 0)
            tes_tile_free(&whole64);
    }
out:
    tes_raster_close(r);
    close(fd);
    return 0;
}
