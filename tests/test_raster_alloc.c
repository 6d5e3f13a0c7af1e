/*
 * test_raster_alloc.c — allocation failure at every allocation of a run:
 * this program's malloc, calloc, realloc, posix_memalign and
 * aligned_alloc (which every library in the process calls, libtiff's and
 * libc's own included) fail the Nth call once armed, for N = 1, 2, ...
 * until a run makes fewer than N. Each time: the run returns 0 with the
 * bytes of an undisturbed run, or a negative code with a one-line message,
 * no file at the output path and no temporary beside it, and the memory
 * in use is back where it was (no leak on the failure path). Jobs: a
 * focal kernel into a file, a reduction with a histogram, a COG with
 * overviews, opening a raster, and overviews added to a file.
 *
 * The hook is this test's own definitions of the allocation functions: the
 * library has no hook, so release builds pay nothing. Sanitizers replace
 * the allocator themselves, so under them the suite has nothing to do.
 */
#include <check.h>
#include <dlfcn.h>
#include <stdatomic.h>

#include "raster_test_util.h"
#include "suite_main.h"

#ifdef TU_SANITIZED
#define NO_HOOK 1
#endif

#ifndef NO_HOOK
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t m);
extern void *__libc_realloc(void *p, size_t n);
extern void *__libc_memalign(size_t a, size_t n);

/* Exported (the build hides symbols by default), so that libtiff, zlib
 * and libc call these too. */
#define HOOK __attribute__((visibility("default")))

/* armed: count every call; the fail_at-th fails (any thread). */
static atomic_bool armed;
static atomic_long calls, fail_at;

/* libtiff 4.5 does not survive some of its own allocations failing: when
 * the realloc of its field array fails in _TIFFMergeFields (reached from
 * TIFFReadDirectory through a tag extender) it keeps the old count with a
 * NULL array, and TIFFFindField then dereferences NULL. Its allocations
 * are therefore counted out: every other caller's (ours, libc's on our
 * behalf, the codecs') fails in turn. */
static bool from_libtiff(void *ret)
{
    Dl_info info;
    return dladdr(ret, &info) && info.dli_fname &&
           strstr(info.dli_fname, "libtiff");
}

static bool fail_now_from(void *ret)
{
    /* relaxed: the counter only numbers calls; arming happens before the
     * run starts its threads and disarming after it joined them */
    if (!atomic_load_explicit(&armed, memory_order_relaxed) ||
        from_libtiff(ret))
        return false;
    long n = atomic_fetch_add_explicit(&calls, 1, memory_order_relaxed) + 1;
    return n == atomic_load_explicit(&fail_at, memory_order_relaxed);
}

/* The blocks allocated while armed and not yet freed: what is left once
 * the run and its pool are gone is a leak. Open addressing, a spin lock
 * (any thread allocates). */
#define LIVE_SLOTS (1 << 18)
static void *live[LIVE_SLOTS];
static long n_live;
static atomic_flag live_lock = ATOMIC_FLAG_INIT;
static atomic_bool tracking;
#define TOMB ((void *)1)

static size_t slot_of(void *p)
{
    uintptr_t h = (uintptr_t)p >> 4;
    return (size_t)((h * 0x9E3779B97F4A7C15ull) >> 46) & (LIVE_SLOTS - 1);
}

static void live_add(void *p)
{
    if (!p || !atomic_load_explicit(&tracking, memory_order_relaxed))
        return;
    while (atomic_flag_test_and_set_explicit(&live_lock, memory_order_acquire))
        ;
    size_t i = slot_of(p);
    while (live[i] && live[i] != TOMB)
        i = (i + 1) & (LIVE_SLOTS - 1);
    live[i] = p;
    n_live++;
    atomic_flag_clear_explicit(&live_lock, memory_order_release);
}

static void live_remove(void *p)
{
    if (!p || !atomic_load_explicit(&tracking, memory_order_relaxed))
        return;
    while (atomic_flag_test_and_set_explicit(&live_lock, memory_order_acquire))
        ;
    for (size_t i = slot_of(p); live[i]; i = (i + 1) & (LIVE_SLOTS - 1))
        if (live[i] == p) {
            live[i] = TOMB;
            n_live--;
            break;
        }
    atomic_flag_clear_explicit(&live_lock, memory_order_release);
}

static void live_reset(void)
{
    memset(live, 0, sizeof live);
    n_live = 0;
}

extern void __libc_free(void *p);

HOOK void free(void *p)
{
    live_remove(p);
    __libc_free(p);
}

HOOK void *malloc(size_t n)
{
    if (fail_now_from(__builtin_return_address(0))) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = __libc_malloc(n);
    live_add(p);
    return p;
}

HOOK void *calloc(size_t n, size_t m)
{
    if (fail_now_from(__builtin_return_address(0))) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = __libc_calloc(n, m);
    live_add(p);
    return p;
}

HOOK void *realloc(void *p, size_t n)
{
    if (fail_now_from(__builtin_return_address(0))) {
        errno = ENOMEM;
        return NULL;
    }
    void *q = __libc_realloc(p, n);
    if (q || !n) {
        live_remove(p);
        live_add(q);
    }
    return q;
}

HOOK int posix_memalign(void **p, size_t a, size_t n)
{
    if (fail_now_from(__builtin_return_address(0)))
        return ENOMEM;
    void *q = __libc_memalign(a, n);
    if (!q)
        return ENOMEM;
    live_add(q);
    *p = q;
    return 0;
}

HOOK void *aligned_alloc(size_t a, size_t n)
{
    if (fail_now_from(__builtin_return_address(0))) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = __libc_memalign(a, n);
    live_add(p);
    return p;
}

/* One job: set up outside the armed part (its pool and inputs), run
 * armed, then torn down; returns the run's code with err. */
typedef struct job {
    const char *name;
    int (*run)(struct job *j, tes_raster_error *err);
    char *dir, *in, *out;
    uint8_t *result;           /* a reduction's, and the undisturbed one */
    uint8_t *ref_result;
    size_t result_size;
    tes_pool *pool;
} job;

static int slope_run(job *j, tes_raster_error *err)
{
    tes_raster *r;
    int rc = tes_raster_open(&r, j->in, err);
    if (rc)
        return rc;
    tes_terrain_options o = TES_TERRAIN_OPTIONS_INIT;
    tes_kernel k;
    rc = tes_kernel_terrain_err(&k, &o, err);
    if (!rc) {
        tes_raster_create_options oo = TES_RASTER_CREATE_OPTIONS_INIT;
        oo.tile_width = oo.tile_height = 32;
        rc = tes_raster_run(j->pool, &k, &r, 1, j->out, &oo, NULL, NULL, err);
        tes_kernel_release(&k);
    }
    tes_raster_close(r);
    return rc;
}

static int cog_run(job *j, tes_raster_error *err)
{
    tes_raster *r;
    int rc = tes_raster_open(&r, j->in, err);
    if (rc)
        return rc;
    tes_kernel k = TES_KERNEL_INIT;
    k.tile = tu_copy_tile;
    tes_raster_create_options oo = TES_RASTER_CREATE_OPTIONS_INIT;
    oo.tile_width = oo.tile_height = 32;
    oo.cog = true;
    rc = tes_raster_run(j->pool, &k, &r, 1, j->out, &oo, NULL, NULL, err);
    tes_raster_close(r);
    return rc;
}

static int stats_run(job *j, tes_raster_error *err)
{
    tes_raster *r;
    int rc = tes_raster_open(&r, j->in, err);
    if (rc)
        return rc;
    tes_kernel k;
    rc = tes_kernel_stats(&k, 1, 50, 0, 3000);
    if (rc && err) {
        err->code = rc;
        snprintf(err->message, sizeof err->message, "stats: %s",
                 tes_raster_strerror(rc));
    }
    if (!rc) {
        j->result_size = k.partial_size;
        tes_raster_create_options oo = TES_RASTER_CREATE_OPTIONS_INIT;
        oo.tile_width = oo.tile_height = 32;
        rc = tes_raster_run(j->pool, &k, &r, 1, NULL, &oo, j->result, NULL,
                            err);
        tes_kernel_release(&k);
    }
    tes_raster_close(r);
    return rc;
}

static int open_run(job *j, tes_raster_error *err)
{
    tes_raster *r;
    int rc = tes_raster_open(&r, j->in, err);
    if (!rc) {
        tes_tile t;
        rc = tes_tile_alloc(&t, TES_F32, 16, 16, 1);
        if (!rc) {
            rc = tes_raster_read(r, 40, 40, &t, TES_EDGE_REPLICATE, 0, err);
            tes_tile_free(&t);
        } else if (err) {
            err->code = rc;
            snprintf(err->message, sizeof err->message, "tile: %s",
                     tes_raster_strerror(rc));
        }
    }
    tes_raster_close(r);
    return rc;
}

static int overviews_run(job *j, tes_raster_error *err)
{
    /* on a copy of the input, made before the armed part */
    tes_overview_options o = TES_OVERVIEW_OPTIONS_INIT;
    o.min_size = 32;
    o.tile_size = 32;
    return tes_raster_build_overviews(j->pool, j->out, &o, err);
}

/* out as the job's armed run must find it: absent, or the input's copy
 * (overviews work in place). */
static void prepare(job *j, bool in_place)
{
    unlink(j->out);
    if (in_place)
        ck_assert_int_eq(tu_sh("cp '%s' '%s'", j->in, j->out), 0);
    tes_pool_options po = TES_POOL_OPTIONS_INIT;
    po.threads = 2;
    ck_assert_int_eq(tes_pool_create(&j->pool, &po), 0);
}

static long leaks_seen;

/* Runs j armed at every N until a run makes fewer allocations than N. */
static void exercise(job *j, bool writes, bool in_place)
{
    tes_raster_error err;
    char ref[4200];
    snprintf(ref, sizeof ref, "%s/ref.tif", j->dir);
    /* undisturbed, twice: the second settles what the first set up once
     * per process (libtiff's tags, the runtime's thread-locals) */
    for (int w = 0; w < 2; w++) {
        prepare(j, in_place);
        ck_assert_msg(j->run(j, &err) == 0, "%s: %s", j->name, err.message);
        tes_pool_destroy(j->pool);
    }
    if (writes)
        ck_assert_int_eq(tu_sh("cp '%s' '%s'", j->out, ref), 0);
    if (j->result)
        memcpy(j->ref_result, j->result, j->result_size);
    long failed = 0;
    for (long n = 1;; n++) {
        prepare(j, in_place);
        live_reset();
        atomic_store(&tracking, true);
        memset(&err, 0, sizeof err);
        atomic_store(&calls, 0);
        atomic_store(&fail_at, n);
        atomic_store(&armed, true);
        int rc = j->run(j, &err);
        atomic_store(&armed, false);
        long made = atomic_load(&calls);
        if (rc == 0) {
            if (writes)
                ck_assert_msg(tu_files_equal(ref, j->out),
                              "%s: allocation %ld failed, run succeeded "
                              "with other bytes", j->name, n);
            if (j->result)
                ck_assert_msg(memcmp(j->result, j->ref_result,
                                     j->result_size) == 0,
                              "%s: allocation %ld: another result", j->name,
                              n);
        } else {
            failed++;
            ck_assert_msg(err.message[0] && !strchr(err.message, '\n'),
                          "%s: allocation %ld: code %d, message '%s'",
                          j->name, n, rc, err.message);
            if (in_place)
                ck_assert_msg(tu_files_equal(j->in, j->out),
                              "%s: allocation %ld: file changed", j->name,
                              n);
            else if (writes)
                ck_assert_msg(!tu_exists(j->out),
                              "%s: allocation %ld: output written", j->name,
                              n);
        }
        ck_assert_msg(tu_count_temporaries(j->dir) == 0,
                      "%s: allocation %ld: a temporary left", j->name, n);
        tes_pool_destroy(j->pool);
        j->pool = NULL;
        /* what the run allocated and the pool's end did not free */
        atomic_store(&tracking, false);
        if (n_live) {
            fprintf(stderr, "%s: allocation %ld of %ld failed: %ld blocks "
                            "left\n", j->name, n, made, n_live);
            leaks_seen++;
        }
        if (made < n)
            break;
    }
    fprintf(stderr, "%s: %ld allocations, each failed once: %ld runs "
                    "failed cleanly, the others coped\n",
            j->name, atomic_load(&fail_at) - 1, failed);
    ck_assert_int_gt(failed, 0);
    ck_assert_int_eq(leaks_seen, 0);
}

static job *new_job(const char *name, int (*run)(job *, tes_raster_error *))
{
    static job j;
    memset(&j, 0, sizeof j);
    j.name = name;
    j.run = run;
    j.dir = tu_tmpdir();
    j.in = tu_path(j.dir, "in.tif");
    j.out = tu_path(j.dir, "out.tif");
    /* a small DEM: 96 x 80, tiles of 32, deflate */
    tes_tile t;
    ck_assert_int_eq(tes_tile_alloc(&t, TES_F32, 96, 80, 1), 0);
    tu_fill_smooth(&t, 5);
    ck_assert_int_eq(tu_write_libtiff(j.in, &t, false, 32, 32, false,
                                      COMPRESSION_ADOBE_DEFLATE, 1), 0);
    tes_tile_free(&t);
    return &j;
}

static void end_job(job *j)
{
    free(j->in);
    free(j->out);
    free(j->result);
    free(j->ref_result);
    tu_rmdir(j->dir);
}

START_TEST(alloc_each_failure_focal_run)
{
    job *j = new_job("slope", slope_run);
    exercise(j, true, false);
    end_job(j);
}
END_TEST

START_TEST(alloc_each_failure_cog)
{
    job *j = new_job("cog", cog_run);
    exercise(j, true, false);
    end_job(j);
}
END_TEST

START_TEST(alloc_each_failure_reduction)
{
    job *j = new_job("stats", stats_run);
    j->result = malloc(1 << 16);
    j->ref_result = malloc(1 << 16);
    exercise(j, false, false);
    end_job(j);
}
END_TEST

START_TEST(alloc_each_failure_open_read)
{
    job *j = new_job("open", open_run);
    exercise(j, false, false);
    end_job(j);
}
END_TEST

START_TEST(alloc_each_failure_overviews)
{
    job *j = new_job("overviews", overviews_run);
    exercise(j, true, true);
    end_job(j);
}
END_TEST
#endif /* NO_HOOK */

START_TEST(alloc_hook_present)
{
#ifdef NO_HOOK
    fprintf(stderr, "test_raster_alloc: the sanitizer owns the allocator; "
                    "allocation failures are tested in the plain build\n");
#else
    void *p = malloc(16);
    ck_assert_ptr_nonnull(p);
    free(p);
    atomic_store(&calls, 0);
    atomic_store(&fail_at, 2);
    atomic_store(&armed, true);
    void *a = malloc(8), *b = malloc(8), *c = malloc(8);
    atomic_store(&armed, false);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_null(b);
    ck_assert_ptr_nonnull(c);
    free(a);
    free(c);
#endif
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("raster_alloc");
    TCase *tc = tcase_create("alloc");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, alloc_hook_present);
#ifndef NO_HOOK
    tcase_add_test(tc, alloc_each_failure_open_read);
    tcase_add_test(tc, alloc_each_failure_focal_run);
    tcase_add_test(tc, alloc_each_failure_reduction);
    tcase_add_test(tc, alloc_each_failure_cog);
    tcase_add_test(tc, alloc_each_failure_overviews);
#endif
    suite_add_tcase(s, tc);
    return s;
}

TES_CHECK_MAIN(make_suite)
