/*
 * fuzz_color.c — gdaldem's colour files: tes_color_file_scan, the
 * colour-relief kernel built from the text (tes_kernel_color_relief), its
 * lookup (tes_color_relief_rgba) at values that break arithmetic, and a
 * run over a small image in memory (8x8 tiles).
 *
 * Input: byte 0 chooses the options (mode, alpha, nodata, range, input
 * type), the rest up to a NUL is the colour file.
 *
 * Promises checked: a refusal is one line; what the scan refuses the
 * kernel refuses; the run's pixels are what the lookup gives.
 */
#include <math.h>

#include "fuzz.h"

#define W 13
#define H 9

static const tes_sample_type types[4] = { TES_F32, TES_U8, TES_U16, TES_I16 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t cfg = data[0];
    char *text = fuzz_strndup(data + 1, size - 1);
    if (!text)
        return 0;
    tes_color_relief_options o = TES_COLOR_RELIEF_OPTIONS_INIT;
    o.mode = (tes_color_mode)(cfg % 3);
    o.alpha = (cfg & 4) != 0;
    o.has_nodata = (cfg & 8) != 0;
    o.nodata = (cfg & 0x80) ? 0.0 : 7.0;
    o.has_range = (cfg & 0x10) != 0;
    o.min = -50.0;
    o.max = (cfg & 0x80) ? 250.0 : 3000.0;
    o.in_type = types[(cfg >> 5) & 3];

    tes_color_file_info info;
    tes_raster_error err = { 0, "" };
    int rc_scan = tes_color_file_scan(text, &info, &err);
    if (rc_scan)
        fuzz_check_refusal(rc_scan, &err, "tes_color_file_scan");
    tes_kernel k;
    err = (tes_raster_error){ 0, "" };
    int rc = tes_kernel_color_relief(&k, text, &o, &err);
    free(text);
    if (rc) {
        fuzz_check_refusal(rc, &err, "tes_kernel_color_relief");
        return 0;
    }
    if (rc_scan)
        fuzz_fail("the kernel took a colour file the scan refused");

    static const double probes[] = { 0.0, -1.0, 7.0, 1e300, -1e300, 255.0,
                                     65535.0, -32768.0, 1e-300, 0.5 };
    unsigned char rgba[4];
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++)
        if (tes_color_relief_rgba(&k, probes[i], rgba))
            fuzz_fail("no colour for %g", probes[i]);
    tes_color_relief_rgba(&k, NAN, rgba);
    tes_color_relief_rgba(&k, INFINITY, rgba);
    tes_color_relief_rgba(&k, -INFINITY, rgba);

    tes_tile in, out;
    if (fuzz_image(&in, o.in_type, W, H, 1, o.has_nodata, o.nodata, cfg))
        goto out;
    tes_sample_type ot;
    int ob;
    if (tes_kernel_output_format(&k, o.in_type, 1, &ot, &ob))
        fuzz_fail("no output format for a colour relief kernel");
    if (ot != TES_U8 || ob != (o.alpha ? 4 : 3))
        fuzz_fail("colour relief makes %d bands of type %d", ob, (int)ot);
    if (tes_tile_alloc(&out, ot, W, H, ob) == 0) {
        if (fuzz_run(&k, &in, 1, &out, NULL, 8, &err))
            fuzz_fail("colour relief in memory: %s", err.message);
        /* each pixel is the lookup of its value (nodata pixels included:
         * the lookup knows the nodata entry too) */
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                if (tes_color_relief_rgba(&k, tes_tile_get(&in, 0, x, y),
                                          rgba))
                    fuzz_fail("no colour for a pixel");
                for (int b = 0; b < ob; b++)
                    if (tes_tile_get(&out, b, x, y) != rgba[b])
                        fuzz_fail("pixel (%d, %d) band %d is %g, the "
                                  "lookup of %g says %u", x, y, b,
                                  tes_tile_get(&out, b, x, y),
                                  tes_tile_get(&in, 0, x, y), rgba[b]);
            }
        tes_tile_free(&out);
    }
    tes_tile_free(&in);
out:
    tes_kernel_release(&k);
    return 0;
}
