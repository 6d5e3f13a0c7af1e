/*
 * fuzz_calc.c — the band-math language: tes_calc_inputs and
 * tes_kernel_calc_opts compile the expression, and a compiled kernel is
 * evaluated with tes_raster_run_memory over small images of four types
 * (with NaN, infinities, huge values and nodata in them), in 8x8 tiles so
 * that edge tiles and several tiles run.
 *
 * Input: byte 0 chooses the options (inputs, letters, output type,
 * nodata), the rest up to a NUL is the expression.
 *
 * Promises checked: a refusal is one line; tes_calc_inputs and the
 * compiler agree on what parses; what tes_calc_inputs says is read is
 * what the run needs (an input with fewer bands fails, with a message).
 */
#include "fuzz.h"

#define W 19
#define H 11
#define BANDS 3
#define MAX_IN 4

static const tes_sample_type in_types[MAX_IN] = { TES_F32, TES_U8, TES_I16,
                                                  TES_F64 };
static const double in_nodata[MAX_IN] = { -9999.0, 0.0, -32768.0, 1e30 };
static const tes_sample_type out_types[8] = {
    TES_TYPE_NONE, TES_U8, TES_I8, TES_U16, TES_I16, TES_I32, TES_F32, TES_F64
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t cfg = data[0];
    char *expr = fuzz_strndup(data + 1, size - 1);
    if (!expr)
        return 0;
    tes_calc_options o = TES_CALC_OPTIONS_INIT;
    o.n_inputs = 1 + (cfg & 3);
    o.letters = (cfg & 4) ? &"BADC"[4 - o.n_inputs] : NULL;
    o.out_type = out_types[(cfg >> 3) & 7];
    o.has_nodata = (cfg & 0x40) != 0;
    o.nodata = (cfg & 0x80) ? -1.0 : 200.0;

    uint32_t letters = 0;
    int max_band[26];
    tes_raster_error err = { 0, "" };
    int rc_in = tes_calc_inputs(expr, &letters, max_band, &err);
    if (rc_in)
        fuzz_check_refusal(rc_in, &err, "tes_calc_inputs");
    tes_kernel k;
    err = (tes_raster_error){ 0, "" };
    int rc = tes_kernel_calc_opts(&k, expr, &o, &err);
    if (rc) {
        fuzz_check_refusal(rc, &err, "tes_kernel_calc_opts");
        free(expr);
        return 0;
    }
    if (rc_in)
        fuzz_fail("tes_kernel_calc_opts compiled what tes_calc_inputs "
                  "refused");
    /* which inputs may the run give: the letters, bands 1..BANDS */
    uint32_t given = 0;
    for (int i = 0; i < o.n_inputs; i++)
        given |= 1u << ((o.letters ? o.letters[i] : 'A' + i) - 'A');
    if (letters & ~given)
        fuzz_fail("compiled an expression that reads a letter no input has");
    bool bands_ok = true;
    for (int l = 0; l < 26; l++)
        if ((letters >> l & 1) && max_band[l] > BANDS)
            bands_ok = false;

    tes_tile in[MAX_IN], out;
    int made = 0;
    for (; made < o.n_inputs; made++)
        if (fuzz_image(&in[made], in_types[made], W, H, BANDS, true,
                       in_nodata[made], (size_t)made * 7))
            goto out;
    tes_sample_type ot;
    int ob;
    if (tes_kernel_output_format(&k, in_types[0], BANDS, &ot, &ob))
        fuzz_fail("no output format for a compiled expression");
    if (tes_tile_alloc(&out, ot, W, H, ob))
        goto out;
    rc = fuzz_run(&k, in, o.n_inputs, &out, NULL, 8, &err);
    if (rc)
        fuzz_check_refusal(rc, &err, "tes_raster_run_memory (calc)");
    if (rc && bands_ok)
        fuzz_fail("evaluation failed on inputs that have every band the "
                  "expression reads: %s", err.message);
    if (!rc && !bands_ok)
        fuzz_fail("evaluation read a band beyond the inputs' %d", BANDS);
    tes_tile_free(&out);
out:
    while (made > 0)
        tes_tile_free(&in[--made]);
    tes_kernel_release(&k);
    free(expr);
    return 0;
}
