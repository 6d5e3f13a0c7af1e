/*
 * test_raster_outfile.c — the output file under libtiff (lib/outfile.c):
 * random appends, rewrites, gaps and reads through its staging buffer,
 * direct writes and kept tile buffers leave exactly the bytes plain writes
 * would, with direct I/O and without; a file size limit hit while tiles
 * are held fails cleanly; injected direct-write faults (refused, short,
 * disk full) fall back or fail as they should; uncompressed tiles land on
 * 4 KiB blocks; the file's bytes do not depend on whether direct I/O was
 * used.
 */
#include <check.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "../lib/raster_internal.h"
#include "raster_test_util.h"
#include "suite_main.h"

#define MODEL_BYTES ((size_t)48 << 20)

/* Fault injection: the library's pwrite and pwritev land here first (the
 * test binary's definitions come before libc's). Once fail_after more
 * writes to fail_fd have gone through, each further one fails with
 * fail_errno, or, when that is 0, writes only its first whole blocks, half
 * of it, and returns short. */
static int fail_fd = -1, fail_errno, fail_after, n_failed;

static bool inject(int fd)
{
    if (fd != fail_fd)
        return false;
    if (fail_after > 0) {
        fail_after--;
        return false;
    }
    n_failed++;
    return true;
}

static size_t half_blocks(size_t n)
{
    return n / 2 / 4096 * 4096;
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    static ssize_t (*real)(int, const void *, size_t, off_t);
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "pwrite");
    if (inject(fd)) {
        if (fail_errno) {
            errno = fail_errno;
            return -1;
        }
        n = half_blocks(n);
    }
    return real(fd, buf, n, off);
}

ssize_t pwritev(int fd, const struct iovec *v, int cnt, off_t off)
{
    static ssize_t (*real)(int, const struct iovec *, int, off_t);
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "pwritev");
    if (inject(fd)) {
        if (fail_errno) {
            errno = fail_errno;
            return -1;
        }
        struct iovec one = { v[0].iov_base, half_blocks(v[0].iov_len) };
        return real(fd, &one, 1, off);
    }
    return real(fd, v, cnt, off);
}

static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void direct_io(bool on)
{
    if (on)
        unsetenv("TESSERA_DIRECT_IO");
    else
        setenv("TESSERA_DIRECT_IO", "0", 1);
}

/* Loop index 0: direct I/O where the filesystem takes it; 1: never. */
START_TEST(outfile_random_writes_leave_the_bytes_plain_writes_would)
{
    direct_io(_i == 0);
    char *dir = tu_tmpdir();
    char *path = tu_path(dir, "out.bin");
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ck_assert_int_ge(fd, 0);
    tes__outfile o;
    ck_assert_int_eq(tes__outfile_init(&o, fd), 0);
    if (_i == 1)
        ck_assert_int_eq(o.dfd, -1);
    thandle_t h = (thandle_t)&o;
    uint8_t *model = calloc(1, MODEL_BYTES);
    uint8_t *buf = NULL, *got = malloc(200000);
    ck_assert_int_eq(posix_memalign((void **)&buf, 4096, (size_t)1 << 20), 0);
    ck_assert_ptr_nonnull(model);
    ck_assert_ptr_nonnull(got);
    uint64_t seed = 0x9E3779B97F4A7C15ull, size = 0;
    int direct_appends = 0, held_appends = 0;
    for (int step = 0; step < 600 && size < MODEL_BYTES - (2u << 20); step++) {
        int op = (int)(next_rand(&seed) % 10);
        /* First only tiles, rewrites and reads, so that the tiles stay on
         * blocks and go to the disk from the caller's memory. */
        if (step < 200 && ((op >= 2 && op < 5) || op == 9))
            op = 0;
        uint64_t at;
        size_t n;
        const uint8_t *src = buf;
        if (op < 5) { /* append: a tile (aligned buffer and size) or bytes */
            bool tile = op < 2;
            o.tile_next = tile;
            at = (uint64_t)tes__outfile_seek(h, 0, SEEK_END);
            uint64_t want = tile && size < TES_IO_DATA_START ? TES_IO_DATA_START
                                                             : size;
            ck_assert_uint_eq(at, want);
            if (tile) {
                n = 4096 * (1 + next_rand(&seed) % 64);
                direct_appends += at % 4096 == 0;
            } else {
                n = 1 + next_rand(&seed) % 70000;
                src = buf + 1 + next_rand(&seed) % 100;
            }
        } else if (op < 7 && size > 0) { /* rewrite earlier bytes */
            at = next_rand(&seed) % size;
            n = 1 + next_rand(&seed) % 5000;
            if (at + n > size)
                n = (size_t)(size - at);
            ck_assert_uint_eq(tes__outfile_seek(h, at, SEEK_SET), at);
        } else if (op < 9) { /* read back, past the end too */
            uint64_t from = size ? next_rand(&seed) % (size + 100) : 0;
            size_t want_n = 1 + next_rand(&seed) % 200000;
            ck_assert_uint_eq(tes__outfile_seek(h, from, SEEK_SET), from);
            tmsize_t r = tes__outfile_read(h, got, (tmsize_t)want_n);
            size_t expect = from >= size ? 0
                            : size - from < want_n ? (size_t)(size - from)
                                                   : want_n;
            ck_assert_int_eq(r, (tmsize_t)expect);
            ck_assert_msg(memcmp(got, model + from, expect) == 0,
                          "step %d: read at %llu differs", step,
                          (unsigned long long)from);
            continue;
        } else { /* a write past the end leaves zeros before it */
            at = size + next_rand(&seed) % 10000;
            n = 1 + next_rand(&seed) % 3000;
            ck_assert_uint_eq(tes__outfile_seek(h, at, SEEK_SET), at);
        }
        tu_fill_random(buf, n + 101, seed);
        memcpy(model + at, src, n);
        uint8_t *own = NULL;
        if (op == 1) { /* the writer's way: a buffer the file may keep */
            ck_assert_int_eq(posix_memalign((void **)&own, 4096, n), 0);
            memcpy(own, src, n);
            src = own;
            o.may_hold = true;
            o.may_hold_cap = n;
        }
        ck_assert_int_eq(tes__outfile_write(h, (void *)src, (tmsize_t)n),
                         (tmsize_t)n);
        o.tile_next = o.may_hold = false;
        if (o.took) {
            held_appends++;
            size_t cap;
            tes__outfile_give(&o, &own, &cap); /* own is o's now */
            ck_assert(own == NULL || cap >= 4096);
            ck_assert(!o.took);
            if (own) /* a buffer still waiting to be written would show */
                memset(own, 0xA5, cap);
        }
        free(own);
        if (at + n > size)
            size = at + n;
        ck_assert_uint_eq(tes__outfile_size(h), size);
    }
    ck_assert_int_gt(direct_appends, 10);
    if (o.dfd >= 0)
        ck_assert_int_gt(held_appends, 10);
    ck_assert_int_eq(tes__outfile_flush(&o), 0);
    tes__outfile_free(&o);
    close(fd);
    size_t n_file = 0;
    uint8_t *file = tu_slurp(path, &n_file);
    ck_assert_ptr_nonnull(file);
    ck_assert_uint_eq(n_file, size);
    ck_assert_msg(memcmp(file, model, size) == 0, "file bytes differ");
    free(file);
    free(model);
    free(buf);
    free(got);
    free(path);
    tu_rmdir(dir);
    unsetenv("TESSERA_DIRECT_IO");
}
END_TEST

/* A file size limit (a full disk, as far as the writes can tell) hit
 * while tiles are held: the write or the flush fails with EFBIG, the
 * error stays, and nothing crashes. Loop index as above. */
START_TEST(outfile_full_disk_while_holding_tiles_fails_with_efbig)
{
    direct_io(_i == 0);
    char *dir = tu_tmpdir();
    char *path = tu_path(dir, "out.bin");
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN); /* else the kernel kills the writer */
        /* Nine tiles: one written at once, eight held and then written
         * together past the limit, by the last write before the flush. */
        struct rlimit rl = { 2u << 20, 2u << 20 };
        setrlimit(RLIMIT_FSIZE, &rl);
        int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        tes__outfile o;
        if (fd < 0 || tes__outfile_init(&o, fd))
            _exit(10);
        thandle_t h = (thandle_t)&o;
        tmsize_t r = tes__outfile_write(h, "II*\0\0\0\0\0", 8);
        for (int i = 0; i < 9 && r >= 0; i++) {
            uint8_t *t = NULL;
            size_t cap = 256 << 10;
            if (posix_memalign((void **)&t, 4096, cap))
                _exit(11);
            memset(t, i, cap);
            o.tile_next = o.may_hold = true;
            o.may_hold_cap = cap;
            tes__outfile_seek(h, 0, SEEK_END);
            r = tes__outfile_write(h, t, (tmsize_t)cap);
            o.tile_next = o.may_hold = false;
            if (o.took)
                tes__outfile_give(&o, &t, &cap);
            free(t);
        }
        int e = tes__outfile_flush(&o);
        bool ok = e == EFBIG && o.err == EFBIG &&
                  tes__outfile_flush(&o) == EFBIG;
        tes__outfile_free(&o);
        close(fd);
        free(path); /* the child's copies: valgrind checks its leaks too */
        free(dir);
        _exit(ok ? 0 : 12);
    }
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %d",
                  WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    free(path);
    tu_rmdir(dir);
    unsetenv("TESSERA_DIRECT_IO");
}
END_TEST

/* A header, 24 tiles kept and written eight at a time, and a header
 * patch, as the writer does them, while the direct descriptor's writes
 * fail after `after` of them. Loop index 0: EINVAL (the filesystem
 * refuses direct I/O: the rest goes through the page cache, and the file
 * is right); 1: short writes (the rest is written, the file is right);
 * 2: ENOSPC (the error is returned, kept, and not retried through the
 * cache). */
START_TEST(outfile_direct_write_faults_fall_back_or_fail)
{
    static const int errs[] = { EINVAL, 0, ENOSPC };
    char *dir = tu_tmpdir();
    char *path = tu_path(dir, "out.bin");
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    tes__outfile o;
    unsetenv("TESSERA_DIRECT_IO");
    ck_assert_int_eq(tes__outfile_init(&o, fd), 0);
    if (o.dfd < 0) { /* no direct I/O here: nothing to inject into */
        tes__outfile_free(&o);
        close(fd);
        free(path);
        tu_rmdir(dir);
        return;
    }
    thandle_t h = (thandle_t)&o;
    size_t tile = 256 << 10, size = 4096 + 24 * tile;
    uint8_t *model = calloc(1, size);
    memcpy(model, "II*\0\0\0\0\0", 8);
    ck_assert_int_eq(tes__outfile_write(h, model, 8), 8);
    fail_fd = o.dfd;
    fail_errno = errs[_i];
    fail_after = 3;
    n_failed = 0;
    int rc = 0;
    for (int i = 0; i < 24 && rc >= 0; i++) {
        uint8_t *t = NULL;
        ck_assert_int_eq(posix_memalign((void **)&t, 4096, tile), 0);
        tu_fill_random(t, tile, 100 + (uint64_t)i);
        memcpy(model + 4096 + i * tile, t, tile);
        o.tile_next = o.may_hold = true;
        o.may_hold_cap = tile;
        tes__outfile_seek(h, 0, SEEK_END);
        rc = (int)tes__outfile_write(h, t, (tmsize_t)tile);
        o.tile_next = o.may_hold = false;
        size_t cap;
        if (o.took)
            tes__outfile_give(&o, &t, &cap);
        free(t);
    }
    if (rc >= 0) {
        memcpy(model + 4, "\x10\0\0\0", 4);
        tes__outfile_seek(h, 4, SEEK_SET);
        rc = (int)tes__outfile_write(h, model + 4, 4);
    }
    int e = tes__outfile_flush(&o);
    fail_fd = -1;
    ck_assert_int_gt(n_failed, 0);
    if (errs[_i] == ENOSPC) {
        ck_assert_int_eq(rc, -1);
        ck_assert_int_eq(e, ENOSPC);
        ck_assert_int_eq(o.err, ENOSPC);
        ck_assert_int_eq(n_failed, 1); /* not retried */
    } else {
        ck_assert_int_eq(rc, 4);
        ck_assert_int_eq(e, 0);
        size_t n = 0;
        uint8_t *file = tu_slurp(path, &n);
        ck_assert_uint_eq(n, size);
        ck_assert_msg(memcmp(file, model, size) == 0, "file bytes differ");
        free(file);
        if (errs[_i] == EINVAL)
            ck_assert_int_eq(o.dfd, -1); /* through the cache from then on */
    }
    tes__outfile_free(&o);
    close(fd);
    free(model);
    free(path);
    tu_rmdir(dir);
}
END_TEST

/* Writes src to dir/name uncompressed in 256 x 256 tiles, band-separate
 * when planar. */
static char *write_uncompressed(const char *dir, const char *name,
                                const tes_tile *src, bool planar)
{
    char *path = tu_path(dir, name);
    tes_raster_create_options o = TES_RASTER_CREATE_OPTIONS_INIT;
    o.compress = TES_COMPRESS_NONE;
    o.planar = planar;
    tes_raster_error err;
    int rc = tes_raster_write_tile(path, src, &o, &err);
    ck_assert_msg(rc == 0, "write: %s", err.message);
    return path;
}

/* Loop index 0: one band; 1: three bands, planar (three chunks a tile,
 * each kept and written on its own); 2: two bands, chunky. */
START_TEST(outfile_uncompressed_tiles_start_on_blocks_either_way)
{
    static const int bands[] = { 1, 3, 2 };
    int nb = bands[_i];
    bool planar = _i == 1;
    char *dir = tu_tmpdir();
    tes_tile src;
    ck_assert_int_eq(tes_tile_alloc(&src, TES_F32, 700, 530, nb), 0);
    tu_fill_smooth(&src, 5);
    direct_io(true);
    char *a = write_uncompressed(dir, "direct.tif", &src, planar);
    direct_io(false);
    char *b = write_uncompressed(dir, "cached.tif", &src, planar);
    unsetenv("TESSERA_DIRECT_IO");
    ck_assert_msg(tu_files_equal(a, b), "the file depends on direct I/O");
    TIFF *t = TIFFOpen(a, "r");
    ck_assert_ptr_nonnull(t);
    ck_assert_uint_eq(TIFFNumberOfTiles(t), planar ? 9u * (unsigned)nb : 9u);
    uint64_t chunk = 256 * 256 * 4 * (uint64_t)(planar ? 1 : nb);
    for (uint32_t i = 0; i < TIFFNumberOfTiles(t); i++) {
        ck_assert_uint_eq(TIFFGetStrileByteCount(t, i), chunk);
        ck_assert_uint_eq(TIFFGetStrileOffset(t, i) % 4096, 0);
    }
    TIFFClose(t);
    tes_tile back;
    ck_assert_int_eq(tu_read_libtiff(a, &back, TES_F32, nb), 0);
    ck_assert_msg(tu_tiles_equal(&back, &src), "libtiff reads other samples");
    ck_assert_int_eq(tu_count_files(dir), 2); /* no temporary files left */
    tes_tile_free(&back);
    tes_tile_free(&src);
    free(a);
    free(b);
    tu_rmdir(dir);
}
END_TEST

static Suite *suite(void)
{
    tu_quiet_libtiff();
    Suite *s = suite_create("raster_outfile");
    TCase *tc = tcase_create("outfile");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc,
                        outfile_random_writes_leave_the_bytes_plain_writes_would,
                        0, 2);
    tcase_add_loop_test(tc,
                        outfile_full_disk_while_holding_tiles_fails_with_efbig,
                        0, 2);
    tcase_add_loop_test(tc, outfile_direct_write_faults_fall_back_or_fail, 0,
                        3);
    tcase_add_loop_test(tc, outfile_uncompressed_tiles_start_on_blocks_either_way,
                        0, 3);
    suite_add_tcase(s, tc);
    return s;
}

TES_CHECK_MAIN(suite)
