/*
 * fuzz_convolve.c — the kernel-weight parser of tes_kernel_convolve
 * ("1 2 1; 2 4 2; 1 2 1") and a run of the kernel it makes over a small
 * two-band image in memory (edges replicated, nodata, NaN and infinities
 * in the pixels), in 8x8 tiles and in one tile: the pixels must not depend
 * on the tiling.
 *
 * Input: byte 0 bit 0 asks to normalize, bit 1 for a float64 image (else
 * int16); the rest up to a NUL is the weights.
 */
#include <math.h>

#include "fuzz.h"

#define W 23
#define H 17

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    bool normalize = data[0] & 1;
    tes_sample_type type = (data[0] & 2) ? TES_F64 : TES_I16;
    char *weights = fuzz_strndup(data + 1, size - 1);
    if (!weights)
        return 0;
    tes_kernel k;
    tes_raster_error err = { 0, "" };
    int rc = tes_kernel_convolve(&k, weights, normalize, &err);
    free(weights);
    if (rc) {
        fuzz_check_refusal(rc, &err, "tes_kernel_convolve");
        return 0;
    }
    if (k.halo < 0 || 2 * k.halo + 1 > TES_CONVOLVE_MAX)
        fuzz_fail("a convolution of halo %d", k.halo);
    tes_tile in, out;
    if (fuzz_image(&in, type, W, H, 2, true, -9999.0, 3))
        goto out;
    if (tes_tile_alloc(&out, type, W, H, 2) == 0) {
        if (fuzz_run(&k, &in, 1, &out, NULL, 8, &err))
            fuzz_fail("convolution in memory: %s", err.message);
        /* 8x8 tiles and one whole tile agree */
        tes_tile one;
        if (tes_tile_alloc(&one, type, W, H, 2) == 0) {
            if (fuzz_run(&k, &in, 1, &one, NULL, W > H ? W : H, &err))
                fuzz_fail("convolution in one tile: %s", err.message);
            if (memcmp(one.data, out.data,
                       (size_t)W * H * 2 * tes_sample_size(type)))
                fuzz_fail("8x8 tiles and one tile give different pixels");
            tes_tile_free(&one);
        }
        tes_tile_free(&out);
    }
    tes_tile_free(&in);
out:
    tes_kernel_release(&k);
    return 0;
}
