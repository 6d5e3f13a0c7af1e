/*
 * cog.c — Cloud-Optimized GeoTIFF output (placeholder while the passes
 * are wired; replaced below).
 */
#include "raster_internal.h"

int tes__cog_run(tes__run *r, tes_raster_error *err)
{
    return tes__err(err, -ENOSYS, r->out_name, "COG output not built yet");
}
