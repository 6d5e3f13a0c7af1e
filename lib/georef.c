/*
 * georef.c — GeoTIFF georeferencing: the GDAL-order geotransform, EPSG code
 * and raster type derived from the stored tags, and the tags made from a
 * geotransform and an EPSG code (for generated rasters).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "raster_internal.h"

#define KEY_MODEL_TYPE 1024
#define KEY_RASTER_TYPE 1025
#define KEY_GEOGRAPHIC_TYPE 2048
#define KEY_PROJECTED_TYPE 3072

/* The value of a SHORT geokey stored inline, or -1. */
static int geokey(const tes_georef *g, int id)
{
    if (!g->geokeys || g->n_geokeys < 4)
        return -1;
    int n = g->geokeys[3];
    for (int i = 0; i < n && 4 + 4 * i + 3 < g->n_geokeys; i++) {
        const uint16_t *k = g->geokeys + 4 + 4 * i;
        if (k[0] == id && k[1] == 0)
            return k[3];
    }
    return -1;
}

int tes__georef_parse(tes_raster_info *in)
{
    const tes_georef *g = &in->georef;
    double *gt = in->geotransform;
    if (g->n_transformation >= 16) {
        const double *m = g->transformation;
        gt[0] = m[3]; gt[1] = m[0]; gt[2] = m[1];
        gt[3] = m[7]; gt[4] = m[4]; gt[5] = m[5];
        in->has_geotransform = true;
    } else if (g->n_pixel_scale >= 2 && g->n_tiepoints >= 6) {
        const double *s = g->pixel_scale, *t = g->tiepoints;
        gt[1] = s[0]; gt[2] = 0;
        gt[4] = 0; gt[5] = -s[1];
        gt[0] = t[3] - t[0] * s[0];
        gt[3] = t[4] + t[1] * s[1];
        in->has_geotransform = true;
    }
    in->pixel_is_point = geokey(g, KEY_RASTER_TYPE) == 2;
    if (in->has_geotransform && in->pixel_is_point) {
        /* GDAL's default: report the corner of the pixel. */
        gt[0] -= 0.5 * gt[1] + 0.5 * gt[2];
        gt[3] -= 0.5 * gt[4] + 0.5 * gt[5];
    }
    int e = geokey(g, KEY_PROJECTED_TYPE);
    if (e <= 0 || e == 32767)
        e = geokey(g, KEY_GEOGRAPHIC_TYPE);
    in->epsg = e > 0 && e != 32767 ? e : 0;
    return 0;
}

TES_API int tes_georef_from_geotransform(tes_georef *g, void **owned,
                                         const double gt[6], int epsg)
{
    if (owned)
        *owned = NULL;
    if (!g || !owned || !gt || epsg < 0 || epsg > 65535)
        return -EINVAL;
    for (int i = 0; i < 6; i++)
        if (!isfinite(gt[i]))
            return -EINVAL;
    memset(g, 0, sizeof *g);
    /* One block: 16 doubles of transform or 3 + 6 of scale and tiepoint,
     * then up to 4 + 4 * 3 geokey shorts. */
    struct block {
        double d[16];
        uint16_t k[16];
    } *mem = calloc(1, sizeof *mem);
    if (!mem)
        return -ENOMEM;
    double *d = mem->d;
    uint16_t *k = mem->k;
    if (gt[2] == 0 && gt[4] == 0) {
        d[0] = gt[1]; d[1] = -gt[5]; d[2] = 0;
        g->pixel_scale = d;
        g->n_pixel_scale = 3;
        double *t = d + 3;
        t[3] = gt[0]; t[4] = gt[3];
        g->tiepoints = t;
        g->n_tiepoints = 6;
    } else {
        d[0] = gt[1]; d[1] = gt[2]; d[3] = gt[0];
        d[4] = gt[4]; d[5] = gt[5]; d[7] = gt[3];
        d[15] = 1;
        g->transformation = d;
        g->n_transformation = 16;
    }
    int n = 0;
    uint16_t *e = k + 4;
    bool geographic = epsg >= 4000 && epsg < 5000;
    if (epsg) {
        e[0] = KEY_MODEL_TYPE; e[2] = 1; e[3] = geographic ? 2 : 1;
        e += 4; n++;
    }
    e[0] = KEY_RASTER_TYPE; e[2] = 1; e[3] = 1; /* PixelIsArea */
    e += 4; n++;
    if (epsg) {
        e[0] = geographic ? KEY_GEOGRAPHIC_TYPE : KEY_PROJECTED_TYPE;
        e[2] = 1;
        e[3] = (uint16_t)epsg;
        n++;
    }
    k[0] = 1; k[1] = 1; k[2] = 0; k[3] = (uint16_t)n;
    g->geokeys = k;
    g->n_geokeys = 4 + 4 * n;
    *owned = mem;
    return 0;
}

TES_API void tes_georef_release(tes_georef *g, void *owned)
{
    free(owned);
    if (g)
        memset(g, 0, sizeof *g);
}
