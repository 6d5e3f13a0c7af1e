/*
 * cli_test_util.h — shared by the suites that run the built raster-tool as
 * a user does: a scratch folder per test (setup / teardown for a Check
 * fixture), the tool's path ($TES_BUILD/raster-tool, default build), P()
 * for a file in the folder, rt() to run the tool there and capture its
 * output (rt_measured(): its time and peak memory too), synth() for a
 * DEM there, read_all() to read a file back and is_cog() to check a
 * Cloud-Optimized GeoTIFF. Header-only, with file-scope state: include
 * it once, in one suite's file.
 */
#ifndef TES_CLI_TEST_UTIL_H
#define TES_CLI_TEST_UTIL_H

#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "raster_test_util.h"

static char *dir;                  /* this test's scratch folder */
static char tool[4096];            /* absolute path of raster-tool */
static char out_txt[1 << 16], err_txt[1 << 16]; /* the last rt()'s output */

static void setup(void)
{
    dir = tu_tmpdir();
    ck_assert_ptr_nonnull(dir);
    const char *b = getenv("TES_BUILD");
    char cwd[2048];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    b = b && *b ? b : "build";
    snprintf(tool, sizeof tool, "%s%s%s/raster-tool", b[0] == '/' ? "" : cwd,
             b[0] == '/' ? "" : "/", b);
}

static void teardown(void) { tu_rmdir(dir); }

/* dir/name in one of a few static buffers (no frees needed). */
static const char *P(const char *name)
{
    static char buf[4][4200];
    static int i;
    i = (i + 1) % 4;
    snprintf(buf[i], sizeof buf[i], "%s/%s", dir, name);
    return buf[i];
}

/* Runs the shell command "cd dir && CMD", CMD writing stdout.txt and
 * stderr.txt there; returns its exit status, with those in out_txt and
 * err_txt. */
static int run_captured(const char *cmd)
{
    int st = system(cmd);
    tu_read_text(P("stdout.txt"), out_txt, sizeof out_txt);
    tu_read_text(P("stderr.txt"), err_txt, sizeof err_txt);
    unlink(P("stdout.txt"));
    unlink(P("stderr.txt"));
    ck_assert(WIFEXITED(st));
    return WEXITSTATUS(st);
}

/* Runs "raster-tool ARGS" (a shell fragment) in dir; returns its exit
 * status, with its stdout and stderr in out_txt and err_txt. */
static int rt(const char *fmt, ...) TES_PRINTF(1, 2);
static int rt(const char *fmt, ...)
{
    char args[8192], cmd[16384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s >stdout.txt 2>stderr.txt",
             dir, tool, args);
    return run_captured(cmd);
}

/* rt() measured: *secs and *rss_kb get its wall time and peak resident
 * memory (the tool's own, not the shell's); its stderr goes to err_txt,
 * its stdout nowhere. Returns its exit status. */
static inline int rt_measured(const char *args, double *secs,
                              long *rss_kb)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "cd '%s' && exec '%s' %s >/dev/null "
                              "2>stderr.txt", dir, tool, args);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    int st;
    struct rusage ru;
    ck_assert_int_eq(wait4(pid, &st, 0, &ru), pid);
    clock_gettime(CLOCK_MONOTONIC, &b);
    *secs = (double)(b.tv_sec - a.tv_sec) +
            (double)(b.tv_nsec - a.tv_nsec) * 1e-9;
    *rss_kb = ru.ru_maxrss;
    tu_read_text(P("stderr.txt"), err_txt, sizeof err_txt);
    unlink(P("stderr.txt"));
    ck_assert(WIFEXITED(st));
    return WEXITSTATUS(st);
}

/* A synthetic DEM in dir (64-pixel tiles, hills of 60 pixels). */
static inline void synth(const char *name, int w, int h, int seed, double holes)
{
    ck_assert_int_eq(rt("synth --quiet --size %dx%d --seed %d --holes %g "
                        "--feature 60 --tile 64 %s",
                        w, h, seed, holes, name), 0);
}

/* Reads band 0..bands-1 of a file into a new F64 tile (nodata kept). */
static inline void read_all(const char *name, tes_tile *t)
{
    tes_raster *r;
    tes_raster_error err;
    ck_assert_msg(tes_raster_open(&r, P(name), &err) == 0, "%s", err.message);
    const tes_raster_info *i = tes_raster_info_get(r);
    ck_assert_int_eq(tes_tile_alloc(t, TES_F64, (int)i->width,
                                    (int)i->height, i->bands), 0);
    ck_assert_int_eq(tes_raster_read(r, 0, 0, t, TES_EDGE_REPLICATE, 0, &err),
                     0);
    t->has_nodata = i->has_nodata;
    t->nodata = i->nodata;
    tes_raster_close(r);
}

static inline bool same_file(const char *a, const char *b)
{
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "cmp -s '%s' '%s'", P(a), P(b));
    return system(cmd) == 0;
}

/* name is a COG of levels overviews: its directories and the main IFD's
 * offset with libtiff, and GDAL's validator when installed (no error, no
 * warning). */
static inline void is_cog(const char *name, int levels)
{
    tu_quiet_libtiff(); /* GeoTIFF's tags are unknown to libtiff */
    TIFF *t = TIFFOpen(P(name), "r");
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(TIFFNumberOfDirectories(t), levels + 1);
    ck_assert_uint_eq(TIFFCurrentDirOffset(t), 8);
    TIFFClose(t);
    if (!tu_have_gdal())
        return;
    int rc = tu_sh("/usr/bin/python3 /usr/lib/python3/dist-packages/"
                   "osgeo_utils/samples/validate_cloud_optimized_geotiff.py "
                   "'%s' > '%s' 2>&1",
                   P(name), P("validate.log"));
    char text[4096];
    tu_read_text(P("validate.log"), text, sizeof text);
    unlink(P("validate.log"));
    ck_assert_msg(rc == 0 && strstr(text, "is a valid cloud optimized") &&
                      !strstr(text, "warning"),
                  "%s: %s", name, text);
}

#endif
