/*
 * kernel.c — what both runners (the file pipeline and the in-memory
 * runner) ask of a kernel descriptor: whether it can run, the format and
 * nodata of its output; and its release.
 */
#include <stdlib.h>
#include <string.h>

#include "raster_internal.h"

TES_API void tes_kernel_release(tes_kernel *k)
{
    if (!k)
        return;
    if (k->release)
        k->release(k->arg);
    tes_kernel none = TES_KERNEL_INIT;
    *k = none;
}

TES_API int tes_kernel_output_format(const tes_kernel *k,
                                     tes_sample_type in0_type, int in0_bands,
                                     tes_sample_type *type, int *bands)
{
    if (!k || !type || !bands)
        return -EINVAL;
    tes_sample_type t = in0_type ? in0_type : TES_F32;
    if (k->in_type)
        t = k->in_type;
    *type = k->out_type ? k->out_type : t;
    *bands = k->out_bands ? k->out_bands : in0_bands > 0 ? in0_bands : 1;
    return 0;
}

const char *tes__kernel_refusal(const tes_kernel *k)
{
    if (!k)
        return "no kernel";
    if (!k->tile && !k->reduce)
        return "the kernel has neither a tile nor a reduce function";
    if (k->halo < 0 || k->halo > 4096)
        return "the kernel's halo is not in 0..4096";
    if (k->reduce && (!k->partial_init || !k->combine || !k->partial_size))
        return "the kernel's reduction lacks partial_size, partial_init "
               "or combine";
    if (k->out_bands < 0 ||
        (k->out_type != TES_TYPE_NONE && !tes_sample_size(k->out_type)) ||
        (k->in_type != TES_TYPE_NONE && !tes_sample_size(k->in_type)))
        return "the kernel's output bands or sample types are invalid";
    if (k->out_nodata_mode < TES_NODATA_INHERIT ||
        k->out_nodata_mode > TES_NODATA_SET)
        return "the kernel's out_nodata_mode is not a TES_NODATA_ value";
    return NULL;
}

void tes__output_nodata(const tes_kernel *k, int opts_mode,
                        double opts_value, bool in_has, double in_nodata,
                        tes_sample_type out_type, bool *has, double *v)
{
    int mode = opts_mode;
    double value = opts_value;
    if (mode == TES_NODATA_INHERIT) {
        mode = k->out_nodata_mode;
        value = k->out_nodata;
    }
    *has = false;
    *v = 0;
    if (mode == TES_NODATA_SET) {
        *has = true;
        *v = value;
    } else if (mode == TES_NODATA_INHERIT && in_has) {
        /* As the output type stores it. */
        uint8_t one[8];
        *has = true;
        tes_convert_samples(one, out_type, &in_nodata, TES_F64, 1);
        tes_convert_samples(v, TES_F64, one, out_type, 1);
    }
}
