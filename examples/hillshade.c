/*
 * hillshade.c — shaded relief of a DEM, through the public API only:
 *
 *     hillshade DEM.tif OUT.tif
 *
 * Opens the DEM, makes a hillshade kernel with gdaldem's defaults and the
 * DEM's pixel size, runs it over every tile into a new GeoTIFF (the same
 * bytes as `raster-tool hillshade DEM.tif OUT.tif`), then reduces the
 * output with the statistics kernel and prints them.
 *
 * Build: cc hillshade.c $(pkg-config --cflags --libs tessera_raster)
 */
#include <stdio.h>
#include <stdlib.h>

#include <tessera_kernels.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s DEM.tif OUT.tif\n", argv[0]);
        return 2;
    }
    tes_raster_error err = { 0, "" };
    tes_raster *dem = NULL, *shade = NULL;
    tes_kernel k = TES_KERNEL_INIT, stats = TES_KERNEL_INIT;
    tes_pool *pool = NULL;
    void *result = NULL;
    int rc = tes_pool_create(&pool, NULL); /* TESSERA_NUM_THREADS or CPUs */
    if (rc) {
        fprintf(stderr, "hillshade: no pool: %s\n", tes_strerror(rc));
        return 1;
    }

    /* the kernel: gdaldem's hillshade, the DEM's pixel size */
    if ((rc = tes_raster_open(&dem, argv[1], &err)))
        goto out;
    const tes_raster_info *info = tes_raster_info_get(dem);
    tes_terrain_options o = TES_TERRAIN_OPTIONS_INIT;
    o.kind = TES_TERRAIN_HILLSHADE;
    o.ewres = info->has_geotransform ? info->geotransform[1] : 1.0;
    o.nsres = info->has_geotransform ? info->geotransform[5] : 1.0;
    if ((rc = tes_kernel_terrain_err(&k, &o, &err)))
        goto out;

    /* DEM -> OUT: default output options (tiled, deflate), the DEM's
     * georeferencing, the kernel's nodata (0) */
    if ((rc = tes_raster_run(pool, &k, &dem, 1, argv[2], NULL, NULL, NULL,
                             &err)))
        goto out;

    /* statistics of the output: a reduction, no output file */
    if ((rc = tes_raster_open(&shade, argv[2], &err)))
        goto out;
    if ((rc = tes_kernel_stats(&stats, 1, 0, 0, 0)) ||
        !(result = malloc(stats.partial_size))) {
        snprintf(err.message, sizeof err.message, "statistics: %s",
                 tes_raster_strerror(rc ? rc : -ENOMEM));
        rc = rc ? rc : -ENOMEM;
        goto out;
    }
    if ((rc = tes_raster_run(pool, &stats, &shade, 1, NULL, NULL, result,
                             NULL, &err)))
        goto out;
    const tes_band_stats *s = tes_stats_band(result, 0);
    printf("%s: %lld x %lld, %llu shaded pixels, %llu nodata\n", argv[2],
           (long long)info->width, (long long)info->height,
           (unsigned long long)s->count, (unsigned long long)s->nodata_count);
    printf("shade: min %g, max %g, mean %.4f, stddev %.4f\n", s->min, s->max,
           s->mean, tes_band_stats_stddev(s));

out:
    if (rc)
        fprintf(stderr, "hillshade: %s\n", err.message);
    free(result);
    tes_kernel_release(&stats);
    tes_kernel_release(&k);
    tes_raster_close(shade);
    tes_raster_close(dem);
    tes_pool_destroy(pool);
    return rc ? 1 : 0;
}
