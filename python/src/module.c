/*
 * module.c — the tessera._tessera extension module: TesseraError (errors
 * become exceptions here, in one place), the pools (one per thread count,
 * kept for the life of the process), info(), the version, and the
 * unpacking of statistics results.
 */
#include "tpy.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

PyObject *tpy_error;
PyObject *tpy_budget_error;

PyObject *tpy_raise(int code, const char *message)
{
    /* a run over its memory budget is also a MemoryError */
    PyObject *type = code == TES_ETOOBIG ? tpy_budget_error : tpy_error;
    PyObject *exc = PyObject_CallFunction(type, "s", message);
    if (!exc)
        return NULL;
    PyObject *c = PyLong_FromLong(code);
    if (!c || PyObject_SetAttrString(exc, "code", c) < 0) {
        Py_XDECREF(c);
        Py_DECREF(exc);
        return NULL;
    }
    Py_DECREF(c);
    PyErr_SetObject(type, exc);
    Py_DECREF(exc);
    return NULL;
}

int tpy_type_parse(const char *name, tes_sample_type *t)
{
    if (tes_sample_type_parse(name, t) == 0 && *t != TES_TYPE_NONE)
        return 0;
    PyErr_Format(PyExc_ValueError,
                 "type '%s': expects uint8, int8, uint16, int16, uint32, "
                 "int32, float32 or float64", name);
    return -1;
}

int tpy_nodata_parse(PyObject *v, bool *has, double *value)
{
    *has = false;
    if (v == Py_None)
        return 0;
    double d = PyFloat_AsDouble(v);
    if (d == -1.0 && PyErr_Occurred())
        return -1;
    *has = true;
    *value = d;
    return 0;
}

/* ---- pools ------------------------------------------------------------------
 *
 * One pool per thread count asked for, made on first use. Every access
 * holds the GIL, which is this table's lock. Pools are never destroyed: a
 * daemon thread may still be inside a run at interpreter exit, and an idle
 * pool's workers sleep. A forked child cannot use its parent's pools
 * (TES_EFORKED): it forgets them and makes its own. */
#define POOL_SLOTS 16

static struct {
    int threads;
    tes_pool *pool;
} pools[POOL_SLOTS];
static int n_pools;
static pid_t pools_pid;

tes_pool *tpy_pool(int threads)
{
    if (threads <= 0)
        threads = tes_default_threads();
    pid_t pid = getpid();
    if (pid != pools_pid) {
        /* the parent's pools, copied by fork(), are unusable here */
        n_pools = 0;
        pools_pid = pid;
    }
    for (int i = 0; i < n_pools; i++)
        if (pools[i].threads == threads)
            return pools[i].pool;
    tes_pool_options o = TES_POOL_OPTIONS_INIT;
    o.threads = threads;
    o.name = "tessera-py";
    tes_pool *pool;
    /* with the GIL held, so that no other thread makes the same pool
     * meanwhile (starting the workers takes microseconds) */
    int rc = tes_pool_create(&pool, &o);
    if (rc) {
        char msg[128];
        snprintf(msg, sizeof msg, "threads: cannot start %d: %s", threads,
                 tes_strerror(rc));
        tpy_raise(rc, msg);
        return NULL;
    }
    if (n_pools == POOL_SLOTS) {
        /* More thread counts than slots: the oldest pool leaves the table
         * but is not destroyed, since a run on another thread (which has
         * released the GIL) may still be using it; its workers sleep. */
        memmove(&pools[0], &pools[1], sizeof pools[0] * (POOL_SLOTS - 1));
        n_pools--;
    }
    pools[n_pools].threads = threads;
    pools[n_pools].pool = pool;
    n_pools++;
    return pool;
}

/* ---- functions --------------------------------------------------------- */

static PyObject *fn_default_threads(PyObject *self, PyObject *noargs)
{
    (void)self;
    (void)noargs;
    return PyLong_FromLong(tes_default_threads());
}

/* A double, or None when it is not finite (as raster-tool info --json
 * writes null). */
static PyObject *num_or_none(double v)
{
    if (isfinite(v))
        return PyFloat_FromDouble(v);
    Py_RETURN_NONE;
}

/* The colour table as raster-tool info --json shows it: {"count": n,
 * "entries": [[red, green, blue, 255], ...]}, 8-bit as GDAL shows it (the
 * stored value / 256); None without one. */
static PyObject *color_table(const tes_colormap *c)
{
    if (!c)
        Py_RETURN_NONE;
    PyObject *e = PyList_New(c->n);
    for (int i = 0; e && i < c->n; i++) {
        PyObject *v = Py_BuildValue("[iiii]", c->red[i] >> 8,
                                    c->green[i] >> 8, c->blue[i] >> 8, 255);
        if (!v) {
            Py_CLEAR(e);
            break;
        }
        PyList_SET_ITEM(e, i, v);
    }
    if (!e)
        return NULL;
    return Py_BuildValue("{s:i,s:N}", "count", c->n, "entries", e);
}

/* The overviews: [{"width", "height", "external"}, ...], largest first. */
static PyObject *overview_list(const tes_raster_info *in)
{
    PyObject *l = PyList_New(in->n_overviews);
    for (int i = 0; l && i < in->n_overviews; i++) {
        const tes_overview *o = &in->overviews[i];
        PyObject *v = Py_BuildValue("{s:L,s:L,s:O}", "width",
                                    (long long)o->width, "height",
                                    (long long)o->height, "external",
                                    o->external ? Py_True : Py_False);
        if (!v) {
            Py_CLEAR(l);
            break;
        }
        PyList_SET_ITEM(l, i, v);
    }
    return l;
}

/* info(path: bytes) -> dict with the keys of `raster-tool info --json` */
static PyObject *fn_info(PyObject *self, PyObject *args)
{
    (void)self;
    const char *path;
    if (!PyArg_ParseTuple(args, "y:info", &path))
        return NULL;
    tes_raster *r;
    tes_raster_error err;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = tes_raster_open(&r, path, &err);
    Py_END_ALLOW_THREADS
    if (rc)
        return tpy_raise(err.code, err.message);
    const tes_raster_info *in = tes_raster_info_get(r);
    PyObject *gt = NULL, *nodata = NULL, *epsg = NULL, *d = NULL;
    PyObject *alpha = NULL, *ct = NULL, *ovr = NULL;
    if (in->has_geotransform) {
        gt = PyList_New(6);
        for (int i = 0; gt && i < 6; i++) {
            PyObject *v = num_or_none(in->geotransform[i]);
            if (!v) {
                Py_CLEAR(gt);
                break;
            }
            PyList_SET_ITEM(gt, i, v);
        }
    } else {
        gt = Py_NewRef(Py_None);
    }
    /* NaN nodata is a real value here (raster-tool's JSON says "nan") */
    nodata = in->has_nodata ? PyFloat_FromDouble(in->nodata)
                            : Py_NewRef(Py_None);
    epsg = in->epsg ? PyLong_FromLong(in->epsg) : Py_NewRef(Py_None);
    alpha = in->alpha_band ? PyLong_FromLong(in->alpha_band)
                           : Py_NewRef(Py_None);
    ct = color_table(in->colormap);
    ovr = overview_list(in);
    if (gt && nodata && epsg && alpha && ct && ovr)
        d = Py_BuildValue(
            "{s:O&,s:L,s:L,s:i,s:s,s:O,s:i,s:i,s:O,s:s,s:i,s:O,s:K,s:O,"
            "s:O,s:O,s:i,s:O,s:O,s:O,s:O,s:O}",
            "file", PyUnicode_DecodeFSDefault, path,
            "width", (long long)in->width, "height", (long long)in->height,
            "bands", in->bands, "type", tes_sample_type_name(in->type),
            "tiled", in->tiled ? Py_True : Py_False,
            "block_width", in->block_width, "block_height", in->block_height,
            "planar", in->planar ? Py_True : Py_False,
            "compression", in->compression_name, "predictor", in->predictor,
            "bigtiff", in->bigtiff ? Py_True : Py_False,
            "file_size", (unsigned long long)in->file_size, "nodata", nodata,
            "geotransform", gt, "epsg", epsg, "bits", in->bits, "rgb",
            in->rgb ? Py_True : Py_False, "alpha_band", alpha,
            "alpha_associated", in->alpha_associated ? Py_True : Py_False,
            "color_table", ct, "overviews", ovr);
    Py_XDECREF(alpha);
    Py_XDECREF(ct);
    Py_XDECREF(ovr);
    Py_XDECREF(gt);
    Py_XDECREF(nodata);
    Py_XDECREF(epsg);
    tes_raster_close(r);
    return d;
}

/* stats_unpack(result: bytes, bands, bins) -> [(count, nodata_count, min,
 * max, mean, std, hist bytes or None), ...] through the header's own
 * accessors, so the layout of a result stays the library's business. */
static PyObject *fn_stats_unpack(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer res;
    int bands, bins;
    if (!PyArg_ParseTuple(args, "y*ii:stats_unpack", &res, &bands, &bins))
        return NULL;
    size_t need = sizeof(tes_band_stats) * (size_t)bands +
                  sizeof(uint64_t) * (size_t)bands * (size_t)bins;
    if (bands < 1 || bins < 0 || (size_t)res.len < need) {
        PyBuffer_Release(&res);
        PyErr_SetString(PyExc_ValueError, "stats_unpack: short result");
        return NULL;
    }
    PyObject *list = PyList_New(bands);
    for (int b = 0; list && b < bands; b++) {
        const tes_band_stats *s = tes_stats_band(res.buf, b);
        bool any = s->count > 0;
        PyObject *hist;
        if (bins > 0)
            hist = PyBytes_FromStringAndSize(
                (const char *)tes_stats_histogram(res.buf, bands, bins, b),
                (Py_ssize_t)(sizeof(uint64_t) * (size_t)bins));
        else
            hist = Py_NewRef(Py_None);
        PyObject *t = hist ? Py_BuildValue(
                                 "(KKddddN)", (unsigned long long)s->count,
                                 (unsigned long long)s->nodata_count,
                                 any ? s->min : NAN, any ? s->max : NAN,
                                 any ? s->mean : NAN,
                                 tes_band_stats_stddev(s), hist)
                           : NULL;
        if (!t) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, b, t);
    }
    PyBuffer_Release(&res);
    return list;
}

static PyObject *fn_synth_geotransform(PyObject *self, PyObject *noargs)
{
    (void)self;
    (void)noargs;
    double gt[6];
    tes_synth_geotransform(gt);
    return Py_BuildValue("((dddddd)i)", gt[0], gt[1], gt[2], gt[3], gt[4],
                         gt[5], TES_SYNTH_EPSG);
}

/* memory_parse(text: str) -> int: a size as tes_memory_parse reads it
 * ("512M"; "none": 2**64 - 1), or ValueError. */
static PyObject *fn_memory_parse(PyObject *self, PyObject *args)
{
    (void)self;
    const char *text;
    if (!PyArg_ParseTuple(args, "s:memory_parse", &text))
        return NULL;
    uint64_t v;
    if (tes_memory_parse(text, &v)) {
        PyErr_Format(PyExc_ValueError,
                     "memory: '%s': expects a number of bytes or a size such "
                     "as 512M, 4G or none", text);
        return NULL;
    }
    return PyLong_FromUnsignedLongLong(v);
}

static PyMethodDef module_functions[] = {
    { "memory_parse", fn_memory_parse, METH_VARARGS,
      "memory_parse(text) -> int" },
    { "default_threads", fn_default_threads, METH_NOARGS,
      "default_threads() -> int" },
    { "info", fn_info, METH_VARARGS, "info(path: bytes) -> dict" },
    { "stats_unpack", fn_stats_unpack, METH_VARARGS,
      "stats_unpack(result, bands, bins) -> list of tuples" },
    { "synth_geotransform", fn_synth_geotransform, METH_NOARGS,
      "synth_geotransform() -> (geotransform, epsg)" },
    { "run", (PyCFunction)(void (*)(void))tpy_run,
      METH_VARARGS | METH_KEYWORDS, "run(kernel, inputs, out, **options)" },
    { "overviews", (PyCFunction)(void (*)(void))tpy_overviews,
      METH_VARARGS | METH_KEYWORDS, "overviews(path, **options) -> None" },
    { NULL, NULL, 0, NULL },
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    "tessera._tessera",
    "The C side of the tessera package; use the tessera module.",
    -1,
    module_functions,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__tessera(void)
{
    PyObject *m = PyModule_Create(&module_def);
    if (!m)
        return NULL;
    if (PyModule_AddFunctions(m, tpy_kernel_functions) < 0 ||
        PyType_Ready(&tpy_kernel_type) < 0 ||
        PyType_Ready(&tpy_tilebuffer_type) < 0 ||
        PyModule_AddObjectRef(m, "Kernel", (PyObject *)&tpy_kernel_type) < 0 ||
        PyModule_AddObjectRef(m, "TileBuffer",
                              (PyObject *)&tpy_tilebuffer_type) < 0)
        goto fail;
    tpy_error = PyErr_NewExceptionWithDoc(
        "tessera.TesseraError",
        "A failure the tessera library reports: str() is its one-line\n"
        "message (\"FILE: reason\"), .code its negative error code.",
        NULL, NULL);
    if (!tpy_error || PyModule_AddObjectRef(m, "TesseraError", tpy_error) < 0)
        goto fail;
    PyObject *bases = PyTuple_Pack(2, tpy_error, PyExc_MemoryError);
    tpy_budget_error =
        bases ? PyErr_NewExceptionWithDoc(
                    "tessera.MemoryBudgetError",
                    "A run that would take more memory than its budget\n"
                    "(memory=, else TESSERA_MEMORY, else half the\n"
                    "machine's), refused before it allocates: a\n"
                    "TesseraError and a MemoryError. str() names the\n"
                    "total, the largest part and the budget.",
                    bases, NULL)
              : NULL;
    Py_XDECREF(bases);
    if (!tpy_budget_error ||
        PyModule_AddObjectRef(m, "MemoryBudgetError", tpy_budget_error) < 0)
        goto fail;
    PyObject *sigma = PyFloat_FromDouble(TES_BLUR_MAX_SIGMA);
    int rc = !sigma ||
             PyModule_AddStringConstant(m, "version", TES_VERSION_STRING) <
                 0 ||
             PyModule_AddIntConstant(m, "CONVOLVE_MAX", TES_CONVOLVE_MAX) < 0 ||
             PyModule_AddIntConstant(m, "STATS_MAX_BINS", TES_STATS_MAX_BINS) <
                 0 ||
             PyModule_AddObjectRef(m, "BLUR_MAX_SIGMA", sigma) < 0;
    Py_XDECREF(sigma);
    if (rc)
        goto fail;
    return m;
fail:
    Py_DECREF(m);
    return NULL;
}
