/*
 * tpy.h — private to python/src/: the pieces of the tessera._tessera
 * extension module. The extension is a client of include/ only (the
 * public headers and the shared libraries); the Python layer
 * (python/tessera/__init__.py) holds the defaults, the argument checks
 * that need no C and the docstrings, and builds every array it returns.
 *
 *   module.c   the module: TesseraError, the pool cache, info, version,
 *              stats results
 *   kernel.c   the Kernel type: tes_kernel constructors, convert, sources
 *   run.c      run(): one kernel over files or buffers, and overviews():
 *              the overview builder, with the GIL released, cancellable by
 *              Ctrl-C and by the progress callable
 *   pytiles.c  the kernel behind map_tiles: a Python callable per tile
 *
 * The GIL: every function here that takes PyObject arguments runs with the
 * GIL held unless its comment says otherwise; tile callbacks run on pool
 * workers without it and take it (PyGILState_Ensure) only around Python.
 */
#ifndef TPY_H
#define TPY_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <tessera_kernels.h>

/* ---- module.c ------------------------------------------------------------ */

/* tessera.TesseraError, and its subclass tessera.MemoryBudgetError (also a
 * MemoryError) for TES_ETOOBIG (new references are never handed out). */
extern PyObject *tpy_error;
extern PyObject *tpy_budget_error;

/* Raises TesseraError(message) (MemoryBudgetError for TES_ETOOBIG) with
 * .code = code; returns NULL. */
PyObject *tpy_raise(int code, const char *message);

/* The pool of `threads` workers (0: tes_default_threads()), made on first
 * use and kept for the life of the process (a forked child makes its own).
 * With the GIL. Returns NULL with TesseraError set on failure. */
tes_pool *tpy_pool(int threads);

/* Parses a library type name ("float32"); -1 with ValueError set. */
int tpy_type_parse(const char *name, tes_sample_type *t);
/* An optional nodata argument: None leaves *has false; a number sets *has
 * and *value. Returns 0, or -1 with a Python exception set. */
int tpy_nodata_parse(PyObject *v, bool *has, double *value);

/* ---- kernel.c ------------------------------------------------------------ */

typedef enum tpy_kind {
    TPY_MAP = 0,   /* a built-in map: terrain, calc, convolve, blur */
    TPY_STATS,     /* the statistics reduction */
    TPY_CONVERT,   /* band selection and type conversion (kernel.c) */
    TPY_SYNTH,     /* a generator: no inputs */
    TPY_PYTILES    /* map_tiles: a Python callable per tile */
} tpy_kind;

/* Band selection for TPY_CONVERT and for the sources that write buffers to
 * files: output band b is band map[b] of the source. */
typedef struct tpy_bandmap {
    int n;
    int map[];
} tpy_bandmap;

struct tpy_pytiles;

typedef struct KernelObject {
    PyObject_HEAD
    tes_kernel k;             /* owns its state: tes_kernel_release */
    tpy_kind kind;
    int stats_bands;          /* TPY_STATS */
    struct tpy_pytiles *py;   /* TPY_PYTILES: k.arg */
    bool busy;                /* a run uses it (GIL) */
} KernelObject;

extern PyTypeObject tpy_kernel_type;
extern PyMethodDef tpy_kernel_functions[]; /* the constructors */

/* Copies the rows of src's bands map->map[b] (all of them when map is
 * NULL), starting at column sx, row sy, into every band of out, converted
 * to out's type. No GIL needed. */
void tpy_copy_rows(tes_tile *out, const tes_tile *src, int64_t sx,
                   int64_t sy, const tpy_bandmap *map);

/* A generator kernel (no inputs) whose tiles are copies of src->image,
 * converted to type, bands chosen by src->map (NULL: all): how a buffer
 * reaches a file through the pipeline, compressed on every worker. *src
 * must outlive the runs of k; nothing to release. Nodata: the image's. */
typedef struct tpy_source {
    const tes_tile *image;
    const tpy_bandmap *map;
} tpy_source;

void tpy_source_kernel(tes_kernel *k, const tpy_source *src,
                       tes_sample_type type);

/* ---- run.c ------------------------------------------------------------ */

/* What tiles of a run share with the thread that waits for it. */
typedef struct tpy_control {
    /* Set (once) to stop the run: by the waiting thread on Ctrl-C or when
     * the progress callable raised, by a map_tiles tile when its callable
     * raised. Tiles that see it fail at once with -ECANCELED. A hint: the
     * reason travels in stash, under the GIL; relaxed loads and stores. */
    atomic_bool cancel;
    /* Tiles done, for the progress callable. Relaxed: a count, read for
     * display only; the final value is read after the run has ended. */
    atomic_uint_least64_t done;
    /* The first Python exception that stopped the run (GIL). */
#if PY_VERSION_HEX >= 0x030C0000
    PyObject *stash;
#else
    PyObject *stash_type, *stash_value, *stash_tb;
#endif
} tpy_control;

/* With the GIL: records the exception now set as the reason the run stops
 * (the first one wins; later ones are dropped) and sets cancel. */
void tpy_control_stash(tpy_control *c);

PyObject *tpy_run(PyObject *self, PyObject *args, PyObject *kw);

/* overviews(path, ...): tes_raster_build_overviews, run as run() runs. */
PyObject *tpy_overviews(PyObject *self, PyObject *args, PyObject *kw);

/* ---- pytiles.c ----------------------------------------------------------- */

/* Makes k the map_tiles kernel: call(buf, tile, x0, y0, w, h) per output
 * tile on the pool's workers, buf a read-only buffer of the tile's input
 * window(s); halo, out_type and out_bands as given (0 / NONE: input 0's).
 * Returns 0 or -1 with an exception set. */
int tpy_pytiles_init(KernelObject *ko, PyObject *call, int halo,
                     tes_sample_type out_type, int out_bands, int n_in);

/* Points the kernel at the run's control (NULL after the run). With the
 * GIL, while no run uses the kernel. */
void tpy_pytiles_attach(struct tpy_pytiles *p, tpy_control *c);

int tpy_pytiles_traverse(struct tpy_pytiles *p, visitproc visit, void *arg);
void tpy_pytiles_clear(struct tpy_pytiles *p);

extern PyTypeObject tpy_tilebuffer_type;

#endif
