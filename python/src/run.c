/*
 * run.c — run(): one kernel over input files or buffers, into a file, a
 * buffer, or a reduction's result, on a cached pool; and overviews(): the
 * library's overview builder over a file, run the same way. The library's
 * work goes on in a helper thread while the calling thread waits with the
 * GIL released, waking a few times a second to check for Ctrl-C and to call
 * the progress callable; either stops the run through a wrapper around the
 * kernel that fails every tile once told to (the overview builder: through
 * its progress hook), so the library removes its temporary file and the
 * output is as it was.
 */
#include "tpy.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* How often the waiting thread looks at signals and progress. */
#define POLL_NS 100000000L

/* What a kernel's output held in memory before it is written is called
 * when it is what makes a run too big. */
#define STAGING "the output image before it is written"

/* ---- the exception that stopped a run ------------------------------------ */

void tpy_control_stash(tpy_control *c)
{
#if PY_VERSION_HEX >= 0x030C0000
    if (!c->stash)
        c->stash = PyErr_GetRaisedException();
#else
    if (!c->stash_type)
        PyErr_Fetch(&c->stash_type, &c->stash_value, &c->stash_tb);
#endif
    else
        PyErr_Clear();
    /* relaxed: a hint (see tpy_control.cancel) */
    atomic_store_explicit(&c->cancel, true, memory_order_relaxed);
}

/* Raises the stashed exception, if there is one: returns true then. */
static bool control_raise(tpy_control *c)
{
#if PY_VERSION_HEX >= 0x030C0000
    if (!c->stash)
        return false;
    PyErr_SetRaisedException(c->stash);
    c->stash = NULL;
#else
    if (!c->stash_type)
        return false;
    PyErr_Restore(c->stash_type, c->stash_value, c->stash_tb);
    c->stash_type = c->stash_value = c->stash_tb = NULL;
#endif
    return true;
}

static void control_free(tpy_control *c)
{
#if PY_VERSION_HEX >= 0x030C0000
    Py_XDECREF(c->stash);
#else
    Py_XDECREF(c->stash_type);
    Py_XDECREF(c->stash_value);
    Py_XDECREF(c->stash_tb);
#endif
}

/* ---- the wrapper every run's kernel goes through ------------------------
 *
 * It makes every tile fail at once after cancel is set, counts the tiles
 * done, and, when a file's output goes to a buffer, hands the kernel a view
 * of the buffer instead of the pipeline's own output tile. */

typedef struct wrap {
    const tes_kernel *inner;
    tpy_control *ctl;
    const tes_tile *dest;   /* the buffer outputs go to, or NULL */
} wrap;

static int wrap_call(tes_tile_job *job, bool reduce)
{
    const wrap *w = job->arg;
    /* relaxed: a hint (see tpy_control.cancel) */
    if (atomic_load_explicit(&w->ctl->cancel, memory_order_relaxed))
        return tes_tile_fail(job, -ECANCELED, "cancelled");
    tes_tile_job j = *job;
    j.arg = w->inner->arg;
    tes_tile view;
    if (w->dest && job->out) {
        const tes_tile *o = job->out;
        view = *w->dest;
        view.data = (char *)w->dest->data +
                    ((size_t)o->y0 * w->dest->stride + (size_t)o->x0) *
                        tes_sample_size(w->dest->type);
        view.width = o->width;
        view.height = o->height;
        view.x0 = o->x0;
        view.y0 = o->y0;
        view.raster_width = o->raster_width;
        view.raster_height = o->raster_height;
        view.has_nodata = o->has_nodata;
        view.nodata = o->nodata;
        j.out = &view;
    }
    int rc = reduce ? w->inner->reduce(&j) : w->inner->tile(&j);
    if (rc)
        memcpy(job->msg, j.msg, sizeof job->msg);
    else if (reduce || !w->inner->reduce)
        /* relaxed: a count for display (see tpy_control.done) */
        atomic_fetch_add_explicit(&w->ctl->done, 1, memory_order_relaxed);
    return rc;
}

static int wrap_tile(tes_tile_job *job) { return wrap_call(job, false); }
static int wrap_reduce(tes_tile_job *job) { return wrap_call(job, true); }

static void wrap_partial_init(void *partial, void *arg)
{
    const wrap *w = arg;
    w->inner->partial_init(partial, w->inner->arg);
}

static void wrap_combine(void *acc, const void *partial, void *arg)
{
    const wrap *w = arg;
    w->inner->combine(acc, partial, w->inner->arg);
}

static void wrap_kernel(tes_kernel *wk, wrap *w)
{
    const tes_kernel *in = w->inner;
    *wk = *in;
    wk->arg = w;
    wk->tile = in->tile ? wrap_tile : NULL;
    wk->reduce = in->reduce ? wrap_reduce : NULL;
    wk->partial_init = in->partial_init ? wrap_partial_init : NULL;
    wk->combine = in->combine ? wrap_combine : NULL;
    wk->release = NULL;
}

/* ---- one run ------------------------------------------------------------ */

typedef struct run_state {
    tpy_control ctl;
    /* Set up with the GIL before the body starts; read-only while it runs,
     * which touches no Python object: paths are copies, buffers are held
     * (Py_buffer) until the run has ended. */
    tes_pool *pool;
    const tes_kernel *k;
    tpy_kind kind;
    int n_in;
    bool files;
    char *paths[26];
    Py_buffer views[26];        /* buffers: held while the run lasts */
    tes_tile in[26];
    char *out_path;             /* NULL: a buffer or a reduction */
    bool out_buffer;
    Py_buffer out_view;
    tes_tile out;
    tes_raster_create_options co;
    tes_georef georef;
    void *georef_owned;
    int64_t width, height;      /* a generator's output size */
    uint64_t memory;            /* the budget (memory=); 0: the default */
    /* overviews(): paths[0] gets them, with these options (ovr.progress
     * points at overview_progress, ctx s) */
    bool overviews;
    tes_overview_options ovr;
    /* Written by the body, read by the caller once it has ended. */
    void *result;               /* a reduction's: k->partial_size bytes,
                                   allocated by the body once the run is
                                   known to fit its budget */
    int rc;
    tes_raster_error err;
    /* Tiles (both phases of a two-phase run), set by the body before its
     * tiles start, read by the waiting thread for progress. Relaxed: a
     * count for display. */
    atomic_uint_least64_t total;
    /* The end of the body: the helper thread sets ended under lock and
     * signals cond; the caller waits on cond under lock. */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool ended;
} run_state;

static uint64_t total_of(run_state *s)
{
    /* relaxed: see run_state.total */
    return atomic_load_explicit(&s->total, memory_order_relaxed);
}

static void set_total(run_state *s, uint64_t n)
{
    /* relaxed: see run_state.total */
    atomic_store_explicit(&s->total, n, memory_order_relaxed);
}

static int64_t tiles_of(int64_t w, int64_t h, int tw, int th)
{
    return ((w + tw - 1) / tw) * ((h + th - 1) / th);
}

static int tile_w(const run_state *s)
{
    return s->co.tile_width > 0 ? s->co.tile_width : 256;
}

static int tile_h(const run_state *s)
{
    return s->co.tile_height > 0 ? s->co.tile_height : 256;
}

static int refuse(run_state *s, int code, const char *fmt, ...)
    TES_PRINTF(3, 4);
static int refuse(run_state *s, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err.message, sizeof s->err.message, fmt, ap);
    va_end(ap);
    s->err.code = code;
    return s->rc = code;
}

/* A buffer output must be what the kernel writes over these inputs. */
static int check_out(run_state *s, tes_sample_type in_type, int in_bands,
                     int64_t w, int64_t h)
{
    tes_sample_type t;
    int bands;
    tes_kernel_output_format(s->k, in_type, in_bands, &t, &bands);
    if (s->out.width != w || s->out.height != h || s->out.type != t ||
        s->out.bands != bands)
        return refuse(s, -EINVAL,
                      "output array: %dx%d %s with %d band(s); %s writes "
                      "%lldx%lld %s with %d",
                      s->out.width, s->out.height,
                      tes_sample_type_name(s->out.type), s->out.bands,
                      s->k->name ? s->k->name : "the kernel", (long long)w,
                      (long long)h, tes_sample_type_name(t), bands);
    return 0;
}

/* convert's bands must exist in its input */
static int check_map(run_state *s, int in_bands, const char *name)
{
    const tpy_bandmap *m = s->kind == TPY_CONVERT ? s->k->arg : NULL;
    for (int b = 0; m && b < m->n; b++)
        if (m->map[b] < 0 || m->map[b] >= in_bands)
            return refuse(s, -EINVAL, "%s: has %d band(s), no band %d",
                          name, in_bands, m->map[b] + 1);
    return 0;
}

/* A reduction's result buffer, once its run is known to fit (body, no
 * GIL). Returns 0 or s->rc. */
static int result_alloc(run_state *s)
{
    if (!s->k->reduce || s->result)
        return 0;
    if (!(s->result = malloc(s->k->partial_size)))
        return refuse(s, -ENOMEM, "out of memory for a %zu-byte result",
                      s->k->partial_size);
    return 0;
}

static void body_files(run_state *s, tes_kernel *wk, wrap *w)
{
    tes_raster *r[26] = { NULL };
    int rc = 0;
    for (int i = 0; i < s->n_in && !rc; i++)
        rc = s->rc = tes_raster_open(&r[i], s->paths[i], &s->err);
    const tes_raster_info *i0 = rc ? NULL : tes_raster_info_get(r[0]);
    if (!rc)
        rc = check_map(s, i0->bands, s->paths[0]);
    if (!rc && s->kind == TPY_CONVERT && s->out_path) {
        /* a file's bands keep what they mean (colour table, RGB, alpha)
         * by raster-tool convert's rule, so both write the same file */
        const tpy_bandmap *m = s->k->arg;
        tes_raster_keep_meaning(&s->co, i0, m ? m->map : NULL,
                                m ? m->n : 0, s->k->out_type);
    }
    if (!rc && s->out_buffer) {
        rc = check_out(s, i0->type, i0->bands, i0->width, i0->height);
        w->dest = &s->out;
    }
    if (!rc) {
        int64_t n = tiles_of(i0->width, i0->height, tile_w(s), tile_h(s));
        set_total(s, (uint64_t)n);
        tes_pipeline_options po = TES_PIPELINE_OPTIONS_INIT;
        po.memory_limit = s->memory;
        /* the result's buffer once the run fits (the run counts it) */
        if (wk->reduce)
            rc = s->rc = tes_raster_run_estimate(s->pool, wk, r, s->n_in,
                                                 s->out_path, &s->co, &po,
                                                 NULL, &s->err);
        if (!rc && !result_alloc(s))
            s->rc = tes_raster_run(s->pool, wk, r, s->n_in, s->out_path,
                                   &s->co, s->result, &po, &s->err);
    }
    for (int i = 0; i < s->n_in; i++)
        tes_raster_close(r[i]);
}

/* A buffer into a file: the pipeline with a source kernel whose tiles are
 * copies of image (its bands map), compressed and written as any run's.
 * held: bytes of a staging image that the run's budget counts too. With
 * estimate, only checks the run against the budget (image's data is not
 * read and may be NULL). */
static int write_image(run_state *s, const tes_tile *image,
                       const tpy_bandmap *map, tes_sample_type type,
                       uint64_t held, bool estimate)
{
    tpy_source src = { image, map };
    tes_kernel gk;
    tpy_source_kernel(&gk, &src, type);
    wrap w2 = { &gk, &s->ctl, NULL };
    tes_kernel wk2;
    wrap_kernel(&wk2, &w2);
    tes_pipeline_options po = TES_PIPELINE_OPTIONS_INIT;
    po.width = image->width;
    po.height = image->height;
    po.memory_limit = s->memory;
    po.extra_bytes = held;
    po.extra_name = STAGING;
    if (estimate)
        return s->rc = tes_raster_run_estimate(s->pool, &wk2, NULL, 0,
                                               s->out_path, &s->co, &po,
                                               NULL, &s->err);
    return s->rc = tes_raster_run(s->pool, &wk2, NULL, 0, s->out_path, &s->co,
                                  NULL, &po, &s->err);
}

static void body_buffers(run_state *s, tes_kernel *wk)
{
    tes_memory_options mo = TES_MEMORY_OPTIONS_INIT;
    mo.tile_width = tile_w(s);
    mo.tile_height = tile_h(s);
    mo.memory_limit = s->memory;
    int64_t W = s->n_in ? s->in[0].width : s->width;
    int64_t H = s->n_in ? s->in[0].height : s->height;
    int64_t n = tiles_of(W, H, mo.tile_width, mo.tile_height);
    set_total(s, (uint64_t)n);
    if (s->n_in && check_map(s, s->in[0].bands, "array"))
        return;
    if (s->n_in && s->out_buffer &&
        check_out(s, s->in[0].type, s->in[0].bands, W, H))
        return;
    if (!s->out_path) {
        /* into the caller's buffer (a generator's gives the size), or a
         * reduction, whose result this allocates once the run fits */
        tes_tile *out = s->out_buffer ? &s->out : NULL;
        if (wk->reduce) {
            mo.extra_bytes = wk->partial_size;
            mo.extra_name = "the result";
            if ((s->rc = tes_raster_run_memory_estimate(
                     s->pool, wk, s->in, s->n_in, out, &mo, NULL, &s->err)) ||
                result_alloc(s))
                return;
        }
        s->rc = tes_raster_run_memory_opts(s->pool, wk, s->in, s->n_in, out,
                                           s->result, &mo, &s->err);
        return;
    }
    if (s->n_in == 0) {
        /* a generator straight into the file */
        tes_pipeline_options po = TES_PIPELINE_OPTIONS_INIT;
        po.width = s->width;
        po.height = s->height;
        po.memory_limit = s->memory;
        s->rc = tes_raster_run(s->pool, wk, NULL, 0, s->out_path, &s->co,
                               NULL, &po, &s->err);
        return;
    }
    tes_sample_type type;
    int bands;
    tes_kernel_output_format(s->k, s->in[0].type, s->in[0].bands, &type,
                             &bands);
    if (s->kind == TPY_CONVERT) {
        /* converting is what writing does: one pass from the input */
        write_image(s, &s->in[0], s->k->arg, type, 0, false);
        return;
    }
    /* the kernel into memory, then that into the file: two phases, both
     * checked against the budget, the staging image held through both
     * counted in, before it is allocated */
    set_total(s, 2 * (uint64_t)n);
    tes_tile tmp;
    memset(&tmp, 0, sizeof tmp);
    tmp.type = type;
    tmp.width = (int)W;
    tmp.height = (int)H;
    tmp.bands = bands;
    tmp.stride = (size_t)W;
    tmp.band_stride = (size_t)W * (size_t)H;
    uint64_t held = (uint64_t)W * (uint64_t)H * (uint64_t)bands *
                    tes_sample_size(type);
    mo.extra_bytes = held;
    mo.extra_name = STAGING;
    if ((s->rc = tes_raster_run_memory_estimate(s->pool, wk, s->in, s->n_in,
                                                &tmp, &mo, NULL, &s->err)))
        return;
    if (write_image(s, &tmp, NULL, type, held, true))
        return;
    if (tes_tile_alloc(&tmp, type, (int)W, (int)H, bands)) {
        refuse(s, -ENOMEM, "%s: out of memory for a %lldx%lld %s image",
               s->out_path, (long long)W, (long long)H,
               tes_sample_type_name(type));
        return;
    }
    s->rc = tes_raster_run_memory_opts(s->pool, wk, s->in, s->n_in, &tmp,
                                       NULL, &mo, &s->err);
    if (!s->rc)
        write_image(s, &tmp, NULL, type, held, false);
    tes_tile_free(&tmp);
}

/* The overview builder's progress, on the body's thread: the count for
 * the waiting thread, and a stop when it has set cancel. */
static int overview_progress(uint64_t done, uint64_t total, void *ctx)
{
    run_state *s = ctx;
    set_total(s, total);
    /* relaxed: a count for display (see tpy_control.done) */
    atomic_store_explicit(&s->ctl.done, done, memory_order_relaxed);
    /* relaxed: a hint (see tpy_control.cancel); the builder checks it
     * after every tile */
    return atomic_load_explicit(&s->ctl.cancel, memory_order_relaxed);
}

/* The library's part of the run. Touches no Python object; no GIL. */
static void body(run_state *s)
{
    if (s->overviews) {
        s->rc = tes_raster_build_overviews(s->pool, s->paths[0], &s->ovr,
                                           &s->err);
        return;
    }
    wrap w = { s->k, &s->ctl, NULL };
    tes_kernel wk;
    wrap_kernel(&wk, &w);
    if (s->files)
        body_files(s, &wk, &w);
    else
        body_buffers(s, &wk);
}

static void *body_thread(void *arg)
{
    run_state *s = arg;
    body(s);
    pthread_mutex_lock(&s->lock);
    s->ended = true;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* Calls progress(done, total) with the GIL; a raised exception stops the
 * run. */
static void report(run_state *s, PyObject *progress, uint64_t done)
{
    PyObject *r = PyObject_CallFunction(progress, "KK",
                                        (unsigned long long)done,
                                        (unsigned long long)total_of(s));
    if (!r)
        tpy_control_stash(&s->ctl);
    Py_XDECREF(r);
}

/* Runs body(s) and waits for it, the GIL released, checking signals and
 * calling progress a few times a second. On a pool worker (a map_tiles
 * function that calls tessera) the body runs inline: the worker then
 * helps with the tiles instead of blocking the pool. */
static void execute(run_state *s, PyObject *progress)
{
    if (tes_current_pool()) {
        Py_BEGIN_ALLOW_THREADS
        body(s);
        Py_END_ALLOW_THREADS
        return;
    }
    pthread_t th;
    int e;
    Py_BEGIN_ALLOW_THREADS
    e = pthread_create(&th, NULL, body_thread, s);
    Py_END_ALLOW_THREADS
    if (e) {
        Py_BEGIN_ALLOW_THREADS
        body(s);
        Py_END_ALLOW_THREADS
        return;
    }
    uint64_t shown = 0;
    for (;;) {
        bool ended;
        Py_BEGIN_ALLOW_THREADS
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        t.tv_nsec += POLL_NS;
        if (t.tv_nsec >= 1000000000L) {
            t.tv_sec++;
            t.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&s->lock);
        if (!s->ended)
            pthread_cond_timedwait(&s->cond, &s->lock, &t);
        ended = s->ended;
        pthread_mutex_unlock(&s->lock);
        Py_END_ALLOW_THREADS
        if (ended)
            break;
        /* relaxed: a hint (see tpy_control.cancel) */
        if (atomic_load_explicit(&s->ctl.cancel, memory_order_relaxed))
            continue;
        if (PyErr_CheckSignals() < 0) {
            tpy_control_stash(&s->ctl);
            continue;
        }
        /* relaxed: a count for display (see tpy_control.done) */
        uint64_t done =
            atomic_load_explicit(&s->ctl.done, memory_order_relaxed);
        uint64_t total = total_of(s);
        if (progress && done != shown && total) {
            shown = done;
            report(s, progress, done < total ? done : total);
        }
    }
    Py_BEGIN_ALLOW_THREADS
    pthread_join(th, NULL);
    Py_END_ALLOW_THREADS
}

/* ---- arguments ---------------------------------------------------------- */

static int type_of_format(const char *f, Py_ssize_t itemsize,
                          tes_sample_type *t)
{
    if (!f)
        f = "B";
    if (*f == '@' || *f == '=' || *f == (PY_LITTLE_ENDIAN ? '<' : '>'))
        f++;
    if (!f[0] || f[1])
        return -1;
    switch (f[0]) {
    case '?':
    case 'B': *t = TES_U8; break;
    case 'b': *t = TES_I8; break;
    case 'H': *t = TES_U16; break;
    case 'h': *t = TES_I16; break;
    case 'I':
    case 'L': *t = TES_U32; break;
    case 'i':
    case 'l': *t = TES_I32; break;
    case 'f': *t = TES_F32; break;
    case 'd': *t = TES_F64; break;
    default: return -1;
    }
    return (Py_ssize_t)tes_sample_size(*t) == itemsize ? 0 : -1;
}

/* Describes obj's buffer as a tes_tile (2-D: one band; 3-D: bands first),
 * holding it in v. 0, or -1 with TypeError / ValueError set (and v not
 * held). */
static int tile_of(PyObject *obj, bool writable, Py_buffer *v, tes_tile *t,
                   const char *what)
{
    int flags = PyBUF_STRIDES | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, v, flags) < 0)
        return -1;
    memset(t, 0, sizeof *t);
    int nd = v->ndim;
    const char *why = NULL;
    if (type_of_format(v->format, v->itemsize, &t->type))
        why = "has an item type tessera does not take (uint8, int8, "
              "uint16, int16, uint32, int32, float32, float64)";
    else if (nd != 2 && nd != 3)
        why = "is not 2-D (rows, columns) or 3-D (bands, rows, columns)";
    for (int i = 0; !why && i < nd; i++)
        if (v->shape[i] < 1 || v->shape[i] > INT_MAX)
            why = "has an empty or too large dimension";
        else if (v->strides[i] < 0 || v->strides[i] % v->itemsize)
            why = "has negative or unaligned strides";
    if (!why && v->strides[nd - 1] != v->itemsize)
        why = "does not have its columns next to each other";
    if (why) {
        PyErr_Format(PyExc_ValueError, "%s %s", what, why);
        PyBuffer_Release(v);
        return -1;
    }
    t->data = v->buf;
    t->width = (int)v->shape[nd - 1];
    t->height = (int)v->shape[nd - 2];
    t->bands = nd == 3 ? (int)v->shape[0] : 1;
    t->stride = (size_t)(v->strides[nd - 2] / v->itemsize);
    t->band_stride = nd == 3 ? (size_t)(v->strides[0] / v->itemsize)
                             : t->stride * (size_t)t->height;
    t->raster_width = t->width;
    t->raster_height = t->height;
    return 0;
}

/* The output options: compress, level, predictor, bigtiff, geotransform,
 * COG and its overviews' resampling, RGB and alpha bands */
static int create_options(run_state *s, const char *compress, int level,
                          int predictor, const char *bigtiff, int overwrite,
                          int tw, int th, PyObject *gt, int epsg, int cog,
                          const char *resampling, int rgb, int alpha)
{
    tes_raster_create_options d = TES_RASTER_CREATE_OPTIONS_INIT;
    s->co = d;
    s->co.cog = cog;
    s->co.rgb = rgb;
    s->co.alpha = alpha;
    if (tes_resampling_parse(resampling, &s->co.overview_resampling)) {
        PyErr_Format(PyExc_ValueError,
                     "overview_resampling '%s': expects nearest, average, "
                     "bilinear, cubic or mode", resampling);
        return -1;
    }
    if (tes_compress_parse(compress, &s->co.compress)) {
        PyErr_Format(PyExc_ValueError,
                     "compress '%s': expects none, deflate, lzw or zstd",
                     compress);
        return -1;
    }
    s->co.level = level;
    s->co.predictor = predictor;
    if (strcmp(bigtiff, "auto") == 0)
        s->co.bigtiff = TES_BIGTIFF_AUTO;
    else if (strcmp(bigtiff, "yes") == 0)
        s->co.bigtiff = TES_BIGTIFF_YES;
    else if (strcmp(bigtiff, "no") == 0)
        s->co.bigtiff = TES_BIGTIFF_NO;
    else {
        PyErr_Format(PyExc_ValueError,
                     "bigtiff '%s': expects auto, yes or no", bigtiff);
        return -1;
    }
    s->co.overwrite = overwrite;
    s->co.tile_width = tw;
    s->co.tile_height = th;
    if (gt != Py_None) {
        double g[6];
        if (!PyArg_ParseTuple(gt, "dddddd;geotransform: expects 6 numbers",
                              &g[0], &g[1], &g[2], &g[3], &g[4], &g[5]))
            return -1;
        if (tes_georef_from_geotransform(&s->georef, &s->georef_owned, g,
                                         epsg)) {
            PyErr_SetString(PyExc_ValueError,
                            "geotransform: expects 6 finite numbers");
            return -1;
        }
        s->co.georef = &s->georef;
    }
    return 0;
}

/* Fills s's inputs from the list: bytes paths, or (buffer, nodata) pairs. */
static int inputs_of(run_state *s, PyObject *inputs)
{
    PyObject *fast = PySequence_Fast(inputs, "inputs: expects a list");
    if (!fast)
        return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    int rc = 0;
    if (n > 26) {
        PyErr_SetString(PyExc_ValueError, "inputs: at most 26");
        rc = -1;
    }
    for (Py_ssize_t i = 0; rc == 0 && i < n; i++) {
        PyObject *it = PySequence_Fast_GET_ITEM(fast, i);
        bool path = PyBytes_Check(it);
        if (i > 0 && path != s->files) {
            PyErr_SetString(PyExc_TypeError,
                            "inputs: all paths or all arrays, not both");
            rc = -1;
            break;
        }
        s->files = path;
        if (path) {
            if (!(s->paths[i] = strdup(PyBytes_AS_STRING(it)))) {
                PyErr_NoMemory();
                rc = -1;
            }
            s->n_in = (int)i + 1;
            continue;
        }
        PyObject *obj, *nodata;
        if (!PyArg_ParseTuple(it, "OO;inputs: expects (array, nodata)",
                              &obj, &nodata) ||
            tile_of(obj, false, &s->views[i], &s->in[i], "input array")) {
            rc = -1;
            break;
        }
        s->n_in = (int)i + 1;
        if (tpy_nodata_parse(nodata, &s->in[i].has_nodata,
                             &s->in[i].nodata))
            rc = -1;
    }
    Py_DECREF(fast);
    return rc;
}

static void state_free(run_state *s)
{
    for (int i = 0; i < s->n_in; i++) {
        free(s->paths[i]);
        if (!s->files)
            PyBuffer_Release(&s->views[i]);
    }
    if (s->out_buffer)
        PyBuffer_Release(&s->out_view);
    free(s->out_path);
    free(s->result);
    tes_georef_release(&s->georef, s->georef_owned);
    control_free(&s->ctl);
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->lock);
    PyMem_Free(s);
}

/* A zeroed state with its lock, condition and counters set up; NULL with
 * MemoryError set. */
static run_state *state_new(void)
{
    run_state *s = PyMem_Calloc(1, sizeof *s);
    if (!s) {
        PyErr_NoMemory();
        return NULL;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, &ca);
    pthread_condattr_destroy(&ca);
    atomic_init(&s->ctl.cancel, false);
    atomic_init(&s->ctl.done, 0);
    atomic_init(&s->total, 0);
    return s;
}

/* After execute(): raises what stopped the run (Ctrl-C, an exception in
 * progress or in a tile) or the library's error, else makes the final
 * progress call. 0, or -1 with an exception set. */
static int conclude(run_state *s, PyObject *progress)
{
    if (control_raise(&s->ctl))
        return -1;
    if (s->rc) {
        size_t l = strlen(s->err.message);
        if (s->rc == -EEXIST)
            snprintf(s->err.message + l, sizeof s->err.message - l,
                     " (use overwrite=True)");
        else if (s->rc == TES_ETOOBIG)
            snprintf(s->err.message + l, sizeof s->err.message - l,
                     " (see memory=)");
        tpy_raise(s->rc, s->err.message);
        return -1;
    }
    if (progress != Py_None && total_of(s)) {
        /* the output is complete by now: an exception raised here
         * propagates, but the file stays */
        report(s, progress, total_of(s));
        if (control_raise(&s->ctl))
            return -1;
    }
    return 0;
}

/* run(kernel, inputs, out, *, threads, tile_width, tile_height, compress,
 *     level, predictor, bigtiff, overwrite, geotransform, epsg, width,
 *     height, progress, cog, overview_resampling, rgb, alpha, memory) ->
 *     None, or a reduction's result (bytes) */
PyObject *tpy_run(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    static char *names[] = { "kernel", "inputs", "out", "threads",
                             "tile_width", "tile_height", "compress",
                             "level", "predictor", "bigtiff", "overwrite",
                             "geotransform", "epsg", "width", "height",
                             "progress", "cog", "overview_resampling",
                             "rgb", "alpha", "memory", NULL };
    KernelObject *ko;
    PyObject *inputs, *out, *gt = Py_None, *progress = Py_None;
    int threads = 0, tw = 0, th = 0, level = 0, predictor = -1;
    int overwrite = 0, epsg = 0, cog = 0, rgb = 0, alpha = 0;
    long long width = 0, height = 0;
    unsigned long long memory = 0;
    const char *compress = "deflate", *bigtiff = "auto", *resampling = "auto";
    if (!PyArg_ParseTupleAndKeywords(
            args, kw, "O!OO|$iiisiispOiLLOpsppK:run", names, &tpy_kernel_type,
            &ko, &inputs, &out, &threads, &tw, &th, &compress, &level,
            &predictor, &bigtiff, &overwrite, &gt, &epsg, &width, &height,
            &progress, &cog, &resampling, &rgb, &alpha, &memory))
        return NULL;
    if (progress != Py_None && !PyCallable_Check(progress)) {
        PyErr_SetString(PyExc_TypeError, "progress: expects a callable");
        return NULL;
    }
    if (ko->busy) {
        PyErr_SetString(PyExc_RuntimeError, "run: the kernel is in use");
        return NULL;
    }
    run_state *s = state_new();
    if (!s)
        return NULL;
    s->k = &ko->k;
    s->kind = ko->kind;
    s->width = width;
    s->height = height;
    s->memory = memory;
    PyObject *ret = NULL;
    if (inputs_of(s, inputs) ||
        create_options(s, compress, level, predictor, bigtiff, overwrite, tw,
                       th, gt, epsg, cog, resampling, rgb, alpha))
        goto done;
    if ((s->n_in == 0) != (ko->kind == TPY_SYNTH)) {
        PyErr_SetString(PyExc_ValueError,
                        s->n_in ? "run: a generator takes no inputs"
                                : "run: needs an input");
        goto done;
    }
    if (s->n_in == 0 && (width < 1 || height < 1 || width > INT_MAX ||
                         height > INT_MAX)) {
        PyErr_SetString(PyExc_ValueError, "run: a generator needs a size");
        goto done;
    }
    if (PyBytes_Check(out)) {
        if (!(s->out_path = strdup(PyBytes_AS_STRING(out)))) {
            PyErr_NoMemory();
            goto done;
        }
    } else if (out != Py_None) {
        if (tile_of(out, true, &s->out_view, &s->out, "output array"))
            goto done;
        s->out_buffer = true;
    }
    bool reduction = ko->k.reduce != NULL;
    if (reduction != (out == Py_None) || (reduction && ko->k.tile)) {
        PyErr_SetString(PyExc_ValueError,
                        reduction ? "run: a reduction has no output"
                                  : "run: needs an output");
        goto done;
    }
    if (!(s->pool = tpy_pool(threads)))
        goto done;
    ko->busy = true;
    if (ko->py)
        tpy_pytiles_attach(ko->py, &s->ctl);
    execute(s, progress == Py_None ? NULL : progress);
    if (ko->py)
        tpy_pytiles_attach(ko->py, NULL);
    ko->busy = false;
    if (conclude(s, progress))
        goto done;
    ret = reduction ? PyBytes_FromStringAndSize(s->result,
                                                (Py_ssize_t)ko->k.partial_size)
                    : Py_NewRef(Py_None);
done:
    state_free(s);
    return ret;
}

/* overviews(path: bytes, *, resampling, external, min_size, tile, level,
 *           threads, progress, memory) -> None. The Python layer has
 * checked the values; the library checks them again and reports in its
 * own words. */
PyObject *tpy_overviews(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    static char *names[] = { "path", "resampling", "external", "min_size",
                             "tile", "level", "threads", "progress", "memory",
                             NULL };
    const char *path, *resampling = "nearest";
    int external = 0, min_size = 0, tile = 0, level = 0, threads = 0;
    unsigned long long memory = 0;
    PyObject *progress = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "y|$spiiiiOK:overviews", names,
                                     &path, &resampling, &external,
                                     &min_size, &tile, &level, &threads,
                                     &progress, &memory))
        return NULL;
    tes_overview_options o = TES_OVERVIEW_OPTIONS_INIT;
    if (tes_resampling_parse(resampling, &o.resampling)) {
        PyErr_Format(PyExc_ValueError,
                     "resampling '%s': expects nearest, average, bilinear, "
                     "cubic, mode or auto", resampling);
        return NULL;
    }
    if (progress != Py_None && !PyCallable_Check(progress)) {
        PyErr_SetString(PyExc_TypeError, "progress: expects a callable");
        return NULL;
    }
    if (tes_current_pool()) {
        /* the builder must not run on a pool's worker (it waits for the
         * pool's tasks), and this thread cannot hand it to another one
         * while its own pool waits for it */
        PyErr_SetString(PyExc_RuntimeError,
                        "overviews: cannot run inside a map_tiles "
                        "function");
        return NULL;
    }
    o.external = external;
    o.min_size = min_size;
    o.tile_size = tile;
    o.level = level;
    o.memory_limit = memory;
    run_state *s = state_new();
    if (!s)
        return NULL;
    PyObject *ret = NULL;
    s->overviews = true;
    s->files = true;
    s->ovr = o;
    s->ovr.progress = overview_progress;
    s->ovr.progress_ctx = s;
    if (!(s->paths[0] = strdup(path))) {
        PyErr_NoMemory();
        goto done;
    }
    s->n_in = 1;
    if (!(s->pool = tpy_pool(threads)))
        goto done;
    execute(s, progress == Py_None ? NULL : progress);
    if (conclude(s, progress))
        goto done;
    ret = Py_NewRef(Py_None);
done:
    state_free(s);
    return ret;
}
