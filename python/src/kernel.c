/*
 * kernel.c — the Kernel type: a tes_kernel made by one of the library's
 * constructors (terrain, colour relief, calc, convolve, blur, stats,
 * synth), or by this module (convert, map_tiles), released with the
 * object. Also the
 * generator that feeds a buffer to the file pipeline.
 */
#include "tpy.h"

#include <stdlib.h>
#include <string.h>

/* ---- row copies: convert, and buffers written to files ------------------- */

void tpy_copy_rows(tes_tile *out, const tes_tile *src, int64_t sx,
                   int64_t sy, const tpy_bandmap *map)
{
    size_t ss = tes_sample_size(src->type);
    for (int b = 0; b < out->bands; b++) {
        size_t sb = (size_t)(map ? map->map[b] : b);
        for (int y = 0; y < out->height; y++) {
            const char *from =
                (const char *)src->data +
                (sb * src->band_stride + (size_t)(sy + y) * src->stride +
                 (size_t)sx) * ss;
            tes_convert_samples(tes_tile_row(out, b, y), out->type, from,
                                src->type, (size_t)out->width);
        }
    }
}

/* convert: out band b is input band map[b], converted (saturating) */
static int convert_tile(tes_tile_job *job)
{
    tpy_copy_rows(job->out, &job->in[0], 0, 0, job->arg);
    return 0;
}

/* a source: the output tile at (x0, y0) is the image's pixels there */
static int source_tile(tes_tile_job *job)
{
    const tpy_source *s = job->arg;
    tpy_copy_rows(job->out, s->image, job->out->x0, job->out->y0, s->map);
    return 0;
}

void tpy_source_kernel(tes_kernel *k, const tpy_source *src,
                       tes_sample_type type)
{
    tes_kernel none = TES_KERNEL_INIT;
    *k = none;
    k->name = "write";
    k->out_type = type;
    k->out_bands = src->map ? src->map->n : src->image->bands;
    k->tile = source_tile;
    k->arg = (void *)src;
    k->out_nodata_mode = src->image->has_nodata ? TES_NODATA_SET
                                                : TES_NODATA_NONE;
    k->out_nodata = src->image->nodata;
}

/* ---- the type ----------------------------------------------------------- */

static KernelObject *kernel_new(tpy_kind kind)
{
    KernelObject *ko = PyObject_GC_New(KernelObject, &tpy_kernel_type);
    if (!ko)
        return NULL;
    tes_kernel none = TES_KERNEL_INIT;
    ko->k = none;
    ko->kind = kind;
    ko->stats_bands = 0;
    ko->py = NULL;
    ko->busy = false;
    PyObject_GC_Track(ko);
    return ko;
}

static int kernel_traverse(KernelObject *ko, visitproc visit, void *arg)
{
    return ko->py ? tpy_pytiles_traverse(ko->py, visit, arg) : 0;
}

static int kernel_clear(KernelObject *ko)
{
    if (ko->py)
        tpy_pytiles_clear(ko->py);
    return 0;
}

static void kernel_dealloc(KernelObject *ko)
{
    PyObject_GC_UnTrack(ko);
    kernel_clear(ko);
    tes_kernel_release(&ko->k); /* frees ko->py too */
    PyObject_GC_Del(ko);
}

/* output_format(in_type: str | None, in_bands: int) -> (type, bands) */
static PyObject *kernel_output_format(KernelObject *ko, PyObject *args)
{
    const char *name = NULL;
    int bands;
    if (!PyArg_ParseTuple(args, "zi:output_format", &name, &bands))
        return NULL;
    tes_sample_type in = TES_TYPE_NONE, t;
    if (name && tpy_type_parse(name, &in))
        return NULL;
    int ob;
    tes_kernel_output_format(&ko->k, in, bands, &t, &ob);
    return Py_BuildValue("(si)", tes_sample_type_name(t), ob);
}

/* set_out_type(type: str): the output is converted to it */
static PyObject *kernel_set_out_type(KernelObject *ko, PyObject *args)
{
    const char *name;
    if (!PyArg_ParseTuple(args, "s:set_out_type", &name))
        return NULL;
    tes_sample_type t;
    if (tpy_type_parse(name, &t))
        return NULL;
    ko->k.out_type = t;
    Py_RETURN_NONE;
}

static PyObject *kernel_get_halo(KernelObject *ko, void *closure)
{
    (void)closure;
    return PyLong_FromLong(ko->k.halo);
}

static PyObject *kernel_get_name(KernelObject *ko, void *closure)
{
    (void)closure;
    return PyUnicode_FromString(ko->k.name ? ko->k.name : "kernel");
}

static PyMethodDef kernel_methods[] = {
    { "output_format", (PyCFunction)kernel_output_format, METH_VARARGS,
      "output_format(in_type, in_bands) -> (type, bands)" },
    { "set_out_type", (PyCFunction)kernel_set_out_type, METH_VARARGS,
      "set_out_type(type)" },
    { NULL, NULL, 0, NULL },
};

static PyGetSetDef kernel_getset[] = {
    { "halo", (getter)kernel_get_halo, NULL, "pixels of context", NULL },
    { "name", (getter)kernel_get_name, NULL, "the kernel's name", NULL },
    { NULL, NULL, NULL, NULL, NULL },
};

PyTypeObject tpy_kernel_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "tessera._tessera.Kernel",
    .tp_basicsize = sizeof(KernelObject),
    .tp_dealloc = (destructor)kernel_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "A tessera kernel (made by the module's constructors).",
    .tp_traverse = (traverseproc)kernel_traverse,
    .tp_clear = (inquiry)kernel_clear,
    .tp_methods = kernel_methods,
    .tp_getset = kernel_getset,
};

/* A constructor's failure: TesseraError with the library's words. */
static PyObject *failed(KernelObject *ko, int rc, const tes_raster_error *err,
                        const char *what)
{
    Py_DECREF(ko);
    if (rc == -ENOMEM)
        return PyErr_NoMemory();
    return tpy_raise(rc, err && err->message[0] ? err->message : what);
}

/* ---- constructors --------------------------------------------------------- */

/* terrain(kind, zt, ewres, nsres, scale, z, azimuth, altitude, percent,
 *         trigonometric, zero_for_flat, compute_edges, multidirectional,
 *         combined, band[, tri_alg, igor]) */
static PyObject *fn_terrain(PyObject *self, PyObject *args)
{
    (void)self;
    tes_terrain_options o = TES_TERRAIN_OPTIONS_INIT;
    int kind, zt, pct, trig, zff, edges, multi, comb, igor = 0;
    if (!PyArg_ParseTuple(args, "ipddddddppppppi|ip:terrain", &kind, &zt,
                          &o.ewres, &o.nsres, &o.scale, &o.z, &o.azimuth,
                          &o.altitude, &pct, &trig, &zff, &edges, &multi,
                          &comb, &o.band, &o.tri_alg, &igor))
        return NULL;
    o.igor = igor;
    o.kind = (tes_terrain_kind)kind;
    o.zt = zt;
    o.percent = pct;
    o.trigonometric = trig;
    o.zero_for_flat = zff;
    o.compute_edges = edges;
    o.multidirectional = multi;
    o.combined = comb;
    KernelObject *ko = kernel_new(TPY_MAP);
    if (!ko)
        return NULL;
    tes_raster_error err = { 0, "" };
    int rc = tes_kernel_terrain_err(&ko->k, &o, &err);
    return rc ? failed(ko, rc, &err, "terrain: invalid options")
              : (PyObject *)ko;
}

/* color_scan(text) -> (lines, entries, percent, nodata_entry, gmt) */
static PyObject *fn_color_scan(PyObject *self, PyObject *args)
{
    (void)self;
    const char *text;
    if (!PyArg_ParseTuple(args, "s:color_scan", &text))
        return NULL;
    tes_color_file_info ci;
    tes_raster_error err = { 0, "" };
    int rc = tes_color_file_scan(text, &ci, &err);
    if (rc == -ENOMEM)
        return PyErr_NoMemory();
    if (rc)
        return tpy_raise(rc, err.message[0] ? err.message
                                            : "colors: invalid");
    return Py_BuildValue("(iiNNN)", ci.lines, ci.entries,
                         PyBool_FromLong(ci.percent),
                         PyBool_FromLong(ci.nodata_entry),
                         PyBool_FromLong(ci.gmt));
}

/* color_relief(text, mode, alpha, band, nodata: float | None,
 *              range: (min, max) | None, in_type) */
static PyObject *fn_color_relief(PyObject *self, PyObject *args)
{
    (void)self;
    const char *text, *type;
    int mode, alpha;
    PyObject *nodata, *range;
    tes_color_relief_options o = TES_COLOR_RELIEF_OPTIONS_INIT;
    if (!PyArg_ParseTuple(args, "sipiOOs:color_relief", &text, &mode, &alpha,
                          &o.band, &nodata, &range, &type))
        return NULL;
    o.mode = (tes_color_mode)mode;
    o.alpha = alpha;
    if (tpy_nodata_parse(nodata, &o.has_nodata, &o.nodata))
        return NULL;
    if (range != Py_None) {
        if (!PyArg_ParseTuple(range, "dd:color_relief range", &o.min,
                              &o.max))
            return NULL;
        o.has_range = true;
    }
    if (tpy_type_parse(type, &o.in_type))
        return NULL;
    KernelObject *ko = kernel_new(TPY_MAP);
    if (!ko)
        return NULL;
    tes_raster_error err = { 0, "" };
    int rc;
    /* a 16-bit input tabulates 65536 colours: no need to hold the GIL */
    Py_BEGIN_ALLOW_THREADS
    rc = tes_kernel_color_relief(&ko->k, text, &o, &err);
    Py_END_ALLOW_THREADS
    return rc ? failed(ko, rc, &err, "colors: invalid") : (PyObject *)ko;
}

/* calc(expr, letters, out_type, nodata: float | None) */
static PyObject *fn_calc(PyObject *self, PyObject *args)
{
    (void)self;
    const char *expr, *letters, *type;
    PyObject *nodata;
    if (!PyArg_ParseTuple(args, "sssO:calc", &expr, &letters, &type,
                          &nodata))
        return NULL;
    tes_calc_options o = TES_CALC_OPTIONS_INIT;
    o.n_inputs = (int)strlen(letters);
    o.letters = letters;
    if (tpy_type_parse(type, &o.out_type))
        return NULL;
    if (tpy_nodata_parse(nodata, &o.has_nodata, &o.nodata))
        return NULL;
    KernelObject *ko = kernel_new(TPY_MAP);
    if (!ko)
        return NULL;
    tes_raster_error err = { 0, "" };
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = tes_kernel_calc_opts(&ko->k, expr, &o, &err);
    Py_END_ALLOW_THREADS
    return rc ? failed(ko, rc, &err, "expression: invalid")
              : (PyObject *)ko;
}

/* calc_inputs(expr) -> (letters: str, max_band: tuple of 26) */
static PyObject *fn_calc_inputs(PyObject *self, PyObject *args)
{
    (void)self;
    const char *expr;
    if (!PyArg_ParseTuple(args, "s:calc_inputs", &expr))
        return NULL;
    uint32_t used;
    int max_band[26];
    tes_raster_error err = { 0, "" };
    int rc = tes_calc_inputs(expr, &used, max_band, &err);
    if (rc == -ENOMEM)
        return PyErr_NoMemory();
    if (rc)
        return tpy_raise(rc, err.message);
    char letters[27];
    int n = 0;
    for (int i = 0; i < 26; i++)
        if (used & (1u << i))
            letters[n++] = (char)('A' + i);
    letters[n] = 0;
    PyObject *bands = PyTuple_New(26);
    for (int i = 0; bands && i < 26; i++) {
        PyObject *v = PyLong_FromLong(max_band[i]);
        if (!v) {
            Py_CLEAR(bands);
            break;
        }
        PyTuple_SET_ITEM(bands, i, v);
    }
    return bands ? Py_BuildValue("(sN)", letters, bands) : NULL;
}

/* convolve(weights: str, normalize: bool) */
static PyObject *fn_convolve(PyObject *self, PyObject *args)
{
    (void)self;
    const char *weights;
    int normalize;
    if (!PyArg_ParseTuple(args, "sp:convolve", &weights, &normalize))
        return NULL;
    KernelObject *ko = kernel_new(TPY_MAP);
    if (!ko)
        return NULL;
    tes_raster_error err = { 0, "" };
    int rc = tes_kernel_convolve(&ko->k, weights, normalize, &err);
    return rc ? failed(ko, rc, &err, "kernel: invalid") : (PyObject *)ko;
}

/* blur(sigma: float) */
static PyObject *fn_blur(PyObject *self, PyObject *args)
{
    (void)self;
    double sigma;
    if (!PyArg_ParseTuple(args, "d:blur", &sigma))
        return NULL;
    KernelObject *ko = kernel_new(TPY_MAP);
    if (!ko)
        return NULL;
    tes_raster_error err = { 0, "" };
    int rc = tes_kernel_blur_err(&ko->k, sigma, &err);
    return rc ? failed(ko, rc, &err, "sigma: invalid") : (PyObject *)ko;
}

/* Reads a sequence of n floats into v. Returns 0 or -1 (exception set). */
static int doubles(PyObject *seq, int n, double *v, const char *what)
{
    PyObject *fast = PySequence_Fast(seq, what);
    if (!fast)
        return -1;
    int rc = 0;
    if (PySequence_Fast_GET_SIZE(fast) != n) {
        PyErr_Format(PyExc_ValueError, "%s: expects %d values", what, n);
        rc = -1;
    }
    for (int i = 0; rc == 0 && i < n; i++) {
        v[i] = PyFloat_AsDouble(PySequence_Fast_GET_ITEM(fast, i));
        if (v[i] == -1.0 && PyErr_Occurred())
            rc = -1;
    }
    Py_DECREF(fast);
    return rc;
}

/* stats(bands, bins, lo: sequence, hi: sequence) */
static PyObject *fn_stats(PyObject *self, PyObject *args)
{
    (void)self;
    int bands, bins;
    PyObject *los, *his;
    if (!PyArg_ParseTuple(args, "iiOO:stats", &bands, &bins, &los, &his))
        return NULL;
    if (bands < 1 || bands > 65535) {
        PyErr_Format(PyExc_ValueError, "stats: %d bands", bands);
        return NULL;
    }
    double *lo = PyMem_Malloc(sizeof(double) * 2 * (size_t)bands);
    if (!lo)
        return PyErr_NoMemory();
    double *hi = lo + bands;
    KernelObject *ko = NULL;
    if (doubles(los, bands, lo, "range low") == 0 &&
        doubles(his, bands, hi, "range high") == 0)
        ko = kernel_new(TPY_STATS);
    if (ko) {
        tes_raster_error err = { 0, "" };
        ko->stats_bands = bands;
        int rc = tes_kernel_stats_ranges(&ko->k, bands, bins, lo, hi, &err);
        if (rc)
            failed(ko, rc, &err, "stats: invalid options");
        ko = rc ? NULL : ko;
    }
    PyMem_Free(lo);
    return (PyObject *)ko;
}

/* convert(bands: sequence of 0-based ints | None, out_type: str | None) */
static PyObject *fn_convert(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *bands;
    const char *type = NULL;
    if (!PyArg_ParseTuple(args, "Oz:convert", &bands, &type))
        return NULL;
    tes_sample_type t = TES_TYPE_NONE;
    if (type && tpy_type_parse(type, &t))
        return NULL;
    tpy_bandmap *map = NULL;
    if (bands != Py_None) {
        PyObject *fast = PySequence_Fast(bands, "bands: expects a sequence");
        if (!fast)
            return NULL;
        Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
        map = n > 0 && n <= 65535
                  ? malloc(sizeof *map + sizeof(int) * (size_t)n)
                  : NULL;
        if (!map) {
            Py_DECREF(fast);
            if (n > 0 && n <= 65535)
                return PyErr_NoMemory();
            PyErr_SetString(PyExc_ValueError, "bands: expects 1 to 65535");
            return NULL;
        }
        map->n = (int)n;
        for (Py_ssize_t i = 0; i < n; i++) {
            long v = PyLong_AsLong(PySequence_Fast_GET_ITEM(fast, i));
            if (v == -1 && PyErr_Occurred()) {
                free(map);
                Py_DECREF(fast);
                return NULL;
            }
            map->map[i] = (int)v;
        }
        Py_DECREF(fast);
    }
    KernelObject *ko = kernel_new(TPY_CONVERT);
    if (!ko) {
        free(map);
        return NULL;
    }
    ko->k.name = "convert";
    ko->k.out_type = t;
    ko->k.out_bands = map ? map->n : 0;
    ko->k.tile = convert_tile;
    ko->k.arg = map;
    ko->k.release = free;
    return (PyObject *)ko;
}

/* synth(seed, octaves, feature, relief, base, holes, nodata, type) */
static PyObject *fn_synth(PyObject *self, PyObject *args)
{
    (void)self;
    tes_synth_options o = TES_SYNTH_OPTIONS_INIT;
    unsigned long long seed;
    const char *type;
    if (!PyArg_ParseTuple(args, "Kiddddds:synth", &seed, &o.octaves,
                          &o.feature_px, &o.relief, &o.base, &o.holes,
                          &o.nodata, &type))
        return NULL;
    o.seed = seed;
    if (tpy_type_parse(type, &o.type))
        return NULL;
    KernelObject *ko = kernel_new(TPY_SYNTH);
    if (!ko)
        return NULL;
    int rc = tes_kernel_synth_alloc(&ko->k, &o);
    return rc ? failed(ko, rc, NULL, "synth: invalid options")
              : (PyObject *)ko;
}

/* pytiles(call, halo, out_type: str | None, out_bands, n_in, nodata_mode,
 *         nodata) */
static PyObject *fn_pytiles(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *call;
    int halo, out_bands, n_in, nd_mode;
    double nd;
    const char *type = NULL;
    if (!PyArg_ParseTuple(args, "Oiziiid:pytiles", &call, &halo, &type,
                          &out_bands, &n_in, &nd_mode, &nd))
        return NULL;
    if (nd_mode < TES_NODATA_INHERIT || nd_mode > TES_NODATA_SET) {
        PyErr_SetString(PyExc_ValueError, "pytiles: bad nodata mode");
        return NULL;
    }
    tes_sample_type t = TES_TYPE_NONE;
    if (type && tpy_type_parse(type, &t))
        return NULL;
    KernelObject *ko = kernel_new(TPY_PYTILES);
    if (!ko)
        return NULL;
    if (tpy_pytiles_init(ko, call, halo, t, out_bands, n_in)) {
        Py_DECREF(ko);
        return NULL;
    }
    ko->k.out_nodata_mode = nd_mode;
    ko->k.out_nodata = nd;
    return (PyObject *)ko;
}

PyMethodDef tpy_kernel_functions[] = {
    { "terrain", fn_terrain, METH_VARARGS, "terrain kernel" },
    { "color_scan", fn_color_scan, METH_VARARGS,
      "color_scan(text) -> (lines, entries, percent, nodata_entry, gmt)" },
    { "color_relief", fn_color_relief, METH_VARARGS,
      "colour relief kernel" },
    { "calc", fn_calc, METH_VARARGS, "band math kernel" },
    { "calc_inputs", fn_calc_inputs, METH_VARARGS,
      "calc_inputs(expr) -> (letters, max_band)" },
    { "convolve", fn_convolve, METH_VARARGS, "convolution kernel" },
    { "blur", fn_blur, METH_VARARGS, "Gaussian blur kernel" },
    { "stats", fn_stats, METH_VARARGS, "statistics reduction" },
    { "convert", fn_convert, METH_VARARGS, "type and band conversion" },
    { "synth", fn_synth, METH_VARARGS, "synthetic terrain generator" },
    { "pytiles", fn_pytiles, METH_VARARGS, "map_tiles kernel" },
    { NULL, NULL, 0, NULL },
};
