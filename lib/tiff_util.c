/*
 * tiff_util.c — the library's contact points with libtiff's global state:
 * registering the GeoTIFF and GDAL tags (once per process, chained to any
 * extender already installed), opening handles whose errors and warnings
 * are captured per handle instead of printed, error formatting, and the
 * reusable buffers of the decoder, the encoder and the pipeline.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raster_internal.h"

static const TIFFFieldInfo extra_fields[] = {
    { TES_TAG_PIXEL_SCALE, -1, -1, TIFF_DOUBLE, FIELD_CUSTOM, 1, 1,
      "ModelPixelScaleTag" },
    { TES_TAG_TIEPOINT, -1, -1, TIFF_DOUBLE, FIELD_CUSTOM, 1, 1,
      "ModelTiepointTag" },
    { TES_TAG_TRANSFORMATION, -1, -1, TIFF_DOUBLE, FIELD_CUSTOM, 1, 1,
      "ModelTransformationTag" },
    { TES_TAG_GEOKEYS, -1, -1, TIFF_SHORT, FIELD_CUSTOM, 1, 1,
      "GeoKeyDirectoryTag" },
    { TES_TAG_GEO_DOUBLES, -1, -1, TIFF_DOUBLE, FIELD_CUSTOM, 1, 1,
      "GeoDoubleParamsTag" },
    { TES_TAG_GEO_ASCII, -1, -1, TIFF_ASCII, FIELD_CUSTOM, 1, 0,
      "GeoAsciiParamsTag" },
    { TES_TAG_GDAL_METADATA, -1, -1, TIFF_ASCII, FIELD_CUSTOM, 1, 0,
      "GDALMetadata" },
    { TES_TAG_GDAL_NODATA, -1, -1, TIFF_ASCII, FIELD_CUSTOM, 1, 0,
      "GDALNoDataValue" },
};

/* Written once under pthread_once, read-only afterwards. */
static TIFFExtendProc parent_extender;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void extender(TIFF *tif)
{
    for (size_t i = 0; i < sizeof extra_fields / sizeof extra_fields[0]; i++)
        if (!TIFFFindField(tif, extra_fields[i].field_tag, TIFF_ANY))
            TIFFMergeFieldInfo(tif, &extra_fields[i], 1);
    if (parent_extender)
        parent_extender(tif);
}

static void init_once_fn(void)
{
    parent_extender = TIFFSetTagExtender(extender);
}

void tes__tiff_init(void)
{
    pthread_once(&init_once, init_once_fn);
}

static int on_error(TIFF *tif, void *user, const char *module,
                    const char *fmt, va_list ap)
{
    (void)tif;
    (void)module;
    tes__tiff *h = user;
    vsnprintf(h->msg, sizeof h->msg, fmt, ap);
    /* Codecs' messages may span lines (libjpeg: "Improper JPEG sampling
     * factors 2,2\nApparently should be 1,1."); ours are one line. */
    for (char *c = h->msg; *c; c++)
        if (*c == '\n' || *c == '\r')
            *c = ' ';
    return 1; /* handled: libtiff must not print it */
}

static int on_warning(TIFF *tif, void *user, const char *module,
                      const char *fmt, va_list ap)
{
    (void)tif;
    (void)user;
    (void)module;
    (void)fmt;
    (void)ap;
    return 1; /* warnings are dropped: we never print */
}

TIFF *tes__tiff_open(tes__tiff *h, const char *path, tes__outfile *io,
                     const char *mode)
{
    tes__tiff_init();
    h->msg[0] = '\0';
    TIFFOpenOptions *o = TIFFOpenOptionsAlloc();
    if (!o) {
        snprintf(h->msg, sizeof h->msg, "out of memory");
        return NULL;
    }
    TIFFOpenOptionsSetErrorHandlerExtR(o, on_error, h);
    TIFFOpenOptionsSetWarningHandlerExtR(o, on_warning, h);
    /* A lying header must not make libtiff allocate gigabytes. */
    TIFFOpenOptionsSetMaxSingleMemAlloc(o, (tmsize_t)TES_MAX_BLOCK_BYTES * 2);
    if (io)
        h->tif = tes__outfile_tiff(io, path, mode, o);
    else
        h->tif = TIFFOpenExt(path, mode, o);
    TIFFOpenOptionsFree(o);
    return h->tif;
}

int tes__err(tes_raster_error *err, int code, const char *path,
             const char *fmt, ...)
{
    if (err) {
        char reason[400];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(reason, sizeof reason, fmt, ap);
        va_end(ap);
        err->code = code;
        if (path)
            snprintf(err->message, sizeof err->message, "%s: %s", path,
                     reason);
        else
            snprintf(err->message, sizeof err->message, "%s", reason);
    }
    return code;
}

void *tes__reserve(void *buf, size_t *cap, size_t n)
{
    if (buf && *cap >= n)
        return buf;
    free(buf);
    *cap = 0;
    void *p = NULL;
    if (posix_memalign(&p, TES_IO_ALIGN, n ? n : 1))
        return NULL;
    *cap = n;
    return p;
}

void tes__tiff_magic(uint8_t m[4], bool bigtiff)
{
    const uint16_t one = 1;
    bool little = *(const uint8_t *)&one == 1;
    m[0] = m[1] = little ? 'I' : 'M';
    m[2] = little ? (bigtiff ? 43 : 42) : 0;
    m[3] = little ? 0 : (bigtiff ? 43 : 42);
}
