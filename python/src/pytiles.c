/*
 * pytiles.c — the kernel behind tessera.map_tiles: for every output tile, on
 * whichever pool worker runs it, the tile's input windows are copied into
 * read-only buffers that Python objects own (TileBuffer), the Python
 * callable is called with them under the GIL, and its result is copied
 * into the output tile. Only the call holds the GIL: decoding, window
 * assembly, compression and writing go on meanwhile on the other workers.
 */
#include "tpy.h"

#include <stdlib.h>
#include <string.h>

/* ---- TileBuffer: a read-only, C-contiguous image that owns its memory ---- */

typedef struct TileBufferObject {
    PyObject_HEAD
    void *data;                 /* malloc'd; freed with the object */
    Py_ssize_t len;             /* bytes */
    Py_ssize_t itemsize;
    const char *format;         /* struct module character */
    int ndim;                   /* 2 (one band) or 3 (bands, rows, columns) */
    Py_ssize_t shape[3], strides[3];
} TileBufferObject;

static int tilebuffer_getbuffer(TileBufferObject *t, Py_buffer *view,
                                int flags)
{
    if (flags & PyBUF_WRITABLE) {
        PyErr_SetString(PyExc_BufferError, "tile windows are read-only");
        view->obj = NULL;
        return -1;
    }
    /* C-contiguous, so every request short of writable is served as is */
    view->obj = Py_NewRef((PyObject *)t);
    view->buf = t->data;
    view->len = t->len;
    view->readonly = 1;
    view->itemsize = t->itemsize;
    view->format = (flags & PyBUF_FORMAT) ? (char *)t->format : NULL;
    view->ndim = t->ndim;
    view->shape = (flags & PyBUF_ND) ? t->shape : NULL;
    view->strides = (flags & PyBUF_STRIDES) ? t->strides : NULL;
    view->suboffsets = NULL;
    view->internal = NULL;
    return 0;
}

static void tilebuffer_dealloc(TileBufferObject *t)
{
    free(t->data);
    Py_TYPE(t)->tp_free((PyObject *)t);
}

static PyBufferProcs tilebuffer_as_buffer = {
    .bf_getbuffer = (getbufferproc)tilebuffer_getbuffer,
    .bf_releasebuffer = NULL,
};

PyTypeObject tpy_tilebuffer_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "tessera._tessera.TileBuffer",
    .tp_basicsize = sizeof(TileBufferObject),
    .tp_dealloc = (destructor)tilebuffer_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A read-only copy of one tile's input window (numpy.asarray "
              "views it).",
    .tp_as_buffer = &tilebuffer_as_buffer,
};

static const char *format_of(tes_sample_type t)
{
    switch (t) {
    case TES_U8: return "B";
    case TES_I8: return "b";
    case TES_U16: return "H";
    case TES_I16: return "h";
    case TES_U32: return "I";
    case TES_I32: return "i";
    case TES_F32: return "f";
    case TES_F64: return "d";
    default: return NULL;
    }
}

/* A TileBuffer taking ownership of data, a contiguous copy of win. With
 * the GIL. NULL with an exception set (data is then freed). */
static PyObject *tilebuffer_new(void *data, const tes_tile *win)
{
    TileBufferObject *t = PyObject_New(TileBufferObject, &tpy_tilebuffer_type);
    if (!t) {
        free(data);
        return NULL;
    }
    Py_ssize_t ss = (Py_ssize_t)tes_sample_size(win->type);
    t->data = data;
    t->itemsize = ss;
    t->format = format_of(win->type);
    t->len = ss * win->width * win->height * win->bands;
    Py_ssize_t row = ss * win->width, plane = row * win->height;
    if (win->bands == 1) {
        t->ndim = 2;
        t->shape[0] = win->height;
        t->shape[1] = win->width;
        t->strides[0] = row;
        t->strides[1] = ss;
    } else {
        t->ndim = 3;
        t->shape[0] = win->bands;
        t->shape[1] = win->height;
        t->shape[2] = win->width;
        t->strides[0] = plane;
        t->strides[1] = row;
        t->strides[2] = ss;
    }
    return (PyObject *)t;
}

/* ---- the kernel ------------------------------------------------------------ */

typedef struct tpy_pytiles {
    PyObject *call;     /* call(bufs, tile, x0, y0, w, h) -> array (GIL) */
    int n_in;
    /* The run's control while one runs (set with the GIL before the run
     * starts, cleared after it ended; tiles only read it). */
    tpy_control *ctl;
} tpy_pytiles;

/* A contiguous copy of win (any strides) in a new malloc'd block, or NULL. */
static void *window_copy(const tes_tile *win)
{
    size_t ss = tes_sample_size(win->type);
    void *data = malloc((size_t)win->width * (size_t)win->height *
                        (size_t)win->bands * ss);
    if (!data)
        return NULL;
    tes_tile dst = *win;
    dst.data = data;
    dst.stride = (size_t)win->width;
    dst.band_stride = (size_t)win->width * (size_t)win->height;
    tpy_copy_rows(&dst, win, 0, 0, NULL);
    return data;
}

/* The callable's result (C-contiguous, the output tile's type and size, as
 * the Python layer made sure) into out. With the GIL. 0 or -1 with an
 * exception set. */
static int result_into(PyObject *res, tes_tile *out)
{
    Py_buffer v;
    if (PyObject_GetBuffer(res, &v, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        return -1;
    size_t ss = tes_sample_size(out->type);
    size_t row = (size_t)out->width * ss;
    size_t need = row * (size_t)out->height * (size_t)out->bands;
    int rc = 0;
    if ((size_t)v.len != need || (size_t)v.itemsize != ss) {
        PyErr_Format(PyExc_ValueError,
                     "map_tiles: the function returned %zd bytes of "
                     "%zd-byte items; the tile needs %zu of %zu",
                     v.len, v.itemsize, need, ss);
        rc = -1;
    } else {
        const char *p = v.buf;
        for (int b = 0; b < out->bands; b++)
            for (int y = 0; y < out->height; y++, p += row)
                memcpy(tes_tile_row(out, b, y), p, row);
    }
    PyBuffer_Release(&v);
    return rc;
}

/* Runs on a pool worker, without the GIL. */
static int pytiles_tile(tes_tile_job *job)
{
    tpy_pytiles *p = job->arg;
    tpy_control *c = p->ctl;
    /* relaxed: a hint (see tpy_control.cancel) */
    if (atomic_load_explicit(&c->cancel, memory_order_relaxed))
        return tes_tile_fail(job, -ECANCELED, "cancelled");
    void *data[26] = { NULL };
    for (int i = 0; i < job->n_in; i++)
        if (!(data[i] = window_copy(&job->in[i]))) {
            for (int j = 0; j < i; j++)
                free(data[j]);
            return tes_tile_fail(job, -ENOMEM, "out of memory");
        }

    PyGILState_STATE g = PyGILState_Ensure();
    int rc = 0;
    PyObject *bufs = p->call ? PyTuple_New(job->n_in) : NULL;
    for (int i = 0; bufs && i < job->n_in; i++) {
        PyObject *b = tilebuffer_new(data[i], &job->in[i]);
        data[i] = NULL; /* the TileBuffer's now, or freed */
        if (!b)
            Py_CLEAR(bufs);
        else
            PyTuple_SET_ITEM(bufs, i, b);
    }
    for (int i = 0; i < job->n_in; i++)
        free(data[i]); /* those not handed over */
    if (!bufs && !PyErr_Occurred())
        PyErr_SetString(PyExc_RuntimeError, "map_tiles: no function");
    const tes_tile *out = job->out;
    PyObject *res = bufs ? PyObject_CallFunction(
                               p->call, "OLLLii", bufs,
                               (long long)job->tile_index, (long long)out->x0,
                               (long long)out->y0, out->width, out->height)
                         : NULL;
    if (!res || result_into(res, job->out)) {
        tpy_control_stash(c);
        rc = tes_tile_fail(job, TES_EKERNEL, "the Python function raised");
    }
    Py_XDECREF(res);
    Py_XDECREF(bufs);
    PyGILState_Release(g);
    return rc;
}

/* tes_kernel.release: with the GIL (from Kernel's dealloc). */
static void pytiles_release(void *arg)
{
    tpy_pytiles *p = arg;
    if (p)
        Py_XDECREF(p->call);
    free(p);
}

int tpy_pytiles_init(KernelObject *ko, PyObject *call, int halo,
                     tes_sample_type out_type, int out_bands, int n_in)
{
    if (!PyCallable_Check(call)) {
        PyErr_SetString(PyExc_TypeError, "map_tiles: fn is not callable");
        return -1;
    }
    if (halo < 0 || halo > 4096 || out_bands < 0 || out_bands > 65535 ||
        n_in < 1 || n_in > 26) {
        PyErr_Format(PyExc_ValueError,
                     "map_tiles: halo %d (0..4096), out_bands %d, %d inputs "
                     "(1..26)", halo, out_bands, n_in);
        return -1;
    }
    tpy_pytiles *p = calloc(1, sizeof *p);
    if (!p) {
        PyErr_NoMemory();
        return -1;
    }
    p->call = Py_NewRef(call);
    p->n_in = n_in;
    ko->py = p;
    ko->k.name = "map_tiles";
    ko->k.halo = halo;
    ko->k.edge = TES_EDGE_REPLICATE;
    ko->k.out_type = out_type;
    ko->k.out_bands = out_bands;
    ko->k.tile = pytiles_tile;
    ko->k.arg = p;
    ko->k.release = pytiles_release;
    return 0;
}

void tpy_pytiles_attach(tpy_pytiles *p, tpy_control *c)
{
    p->ctl = c;
}

int tpy_pytiles_traverse(tpy_pytiles *p, visitproc visit, void *arg)
{
    Py_VISIT(p->call);
    return 0;
}

void tpy_pytiles_clear(tpy_pytiles *p)
{
    Py_CLEAR(p->call);
}
