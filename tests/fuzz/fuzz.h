/*
 * fuzz.h — private to tests/fuzz/: what the libFuzzer harnesses share.
 * Each harness defines LLVMFuzzerTestOneInput (and may define
 * LLVMFuzzerInitialize); it is linked either with libFuzzer (make fuzz,
 * clang) or with replay.c's main() (make check, any compiler), which feeds
 * it the checked-in seeds and regression inputs.
 *
 * A harness checks the library's promises as well as surviving: a refusal
 * carries a one-line message, results agree between two paths. A broken
 * promise calls fuzz_fail, which aborts, so that libFuzzer records the
 * input as a crash and replay fails.
 */
#ifndef TES_FUZZ_H
#define TES_FUZZ_H

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tessera_kernels.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken promise: says which, then aborts (a "crash" for libFuzzer). */
static void fuzz_fail(const char *fmt, ...) TES_PRINTF(1, 2);
static void fuzz_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "fuzz: broken promise: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

/* A refusal must be a negative code with one non-empty line that says
 * why (what raster-tool prints). */
static inline void fuzz_check_refusal(int rc, const tes_raster_error *err,
                                      const char *what)
{
    if (rc >= 0)
        fuzz_fail("%s: refused with code %d, not a negative code", what, rc);
    if (err->code != rc)
        fuzz_fail("%s: returned %d but the error says %d (%s)", what, rc,
                  err->code, err->message);
    if (!err->message[0])
        fuzz_fail("%s: refused (%d) with an empty message", what, rc);
    if (strchr(err->message, '\n'))
        fuzz_fail("%s: message of more than one line: %s", what,
                  err->message);
}

/* The input as a NUL-terminated string (up to its first NUL), malloc'd;
 * NULL when out of memory. */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t n = nul ? (size_t)(nul - data) : size;
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, data, n);
        s[n] = 0;
    }
    return s;
}

/* A file holding data, named by a path the library can open (and reopen,
 * once per reader): an anonymous memory file seen through /proc. Returns
 * its descriptor (close it when done) and fills path, or -1. */
static inline int fuzz_memfile(const uint8_t *data, size_t size,
                               char *path, size_t path_size)
{
    int fd = memfd_create("tessera-fuzz", MFD_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t done = 0;
    while (done < size) {
        ssize_t n = write(fd, data + done, size - done);
        if (n <= 0) {
            close(fd);
            return -1;
        }
        done += (size_t)n;
    }
    snprintf(path, path_size, "/proc/self/fd/%d", fd);
    return fd;
}

/* Sample i of a test image: smooth values with, now and then, the values
 * that break arithmetic (0, negative, huge, NaN, infinities) and the
 * nodata value, so that kernels meet them all. Integer tiles take the
 * saturated conversion. */
static inline double fuzz_sample(size_t i, double nodata)
{
    static const double odd[] = { 0.0, -1.0, 1e30, -1e30, 0.5, 65535.0,
                                  -0.0, 1e-310, 255.0, 256.0 };
    switch (i % 23) {
    case 5: return nodata;
    case 11: return __builtin_nan("");
    case 13: return __builtin_inf();
    case 17: return -__builtin_inf();
    case 19: return odd[(i / 23) % (sizeof odd / sizeof odd[0])];
    default: return (double)(i % 97) * 3.25 - 40.0 + (double)(i / 97);
    }
}

/* Allocates and fills an image of type t (see fuzz_sample; integer types
 * take tes_convert_samples' saturation), nodata set when has_nodata.
 * Returns 0 or -ENOMEM / -EINVAL. */
static inline int fuzz_image(tes_tile *t, tes_sample_type type, int w, int h,
                             int bands, bool has_nodata, double nodata,
                             size_t seed)
{
    int rc = tes_tile_alloc(t, type, w, h, bands);
    if (rc)
        return rc;
    size_t n = (size_t)w * (size_t)h * (size_t)bands;
    double *v = malloc(n * sizeof *v);
    if (!v) {
        tes_tile_free(t);
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        v[i] = fuzz_sample(seed + i, nodata);
    tes_convert_samples(t->data, type, v, TES_F64, n);
    free(v);
    t->has_nodata = has_nodata;
    t->nodata = nodata;
    return 0;
}

/* Runs k over in (n_in images) into out (NULL for a reduction, then
 * result) on the calling thread, in tile x tile pieces, so that edge
 * tiles and several tiles run. Returns as tes_raster_run_memory_opts. */
static inline int fuzz_run(const tes_kernel *k, const tes_tile *in, int n_in,
                           tes_tile *out, void *result, int tile,
                           tes_raster_error *err)
{
    tes_memory_options mo = TES_MEMORY_OPTIONS_INIT;
    mo.tile_width = mo.tile_height = tile;
    *err = (tes_raster_error){ 0, "" };
    return tes_raster_run_memory_opts(NULL, k, in, n_in, out, result, &mo,
                                      err);
}

#endif
