/*
 * png_out.c — writes an 8-bit PNG with libpng the way every raster-tool
 * output is written: to a temporary file beside the destination, fsync'd,
 * then renamed (or linked, when an existing file must not be replaced);
 * on any failure the temporary file is removed and the destination is
 * untouched.
 */
#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

typedef struct png_job {
    const char *path;
    const uint8_t *px;
    int w, h, channels;
    char msg[200];
} png_job;

static void on_error(png_structp png, png_const_charp m)
{
    png_job *j = png_get_error_ptr(png);
    snprintf(j->msg, sizeof j->msg, "%s", m);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp m)
{
    (void)png;
    (void)m;
}

/* libpng into f; 0, or -1 with j->msg. Kept apart so that nothing the
 * longjmp could leave stale lives in this frame. */
static int encode(png_job *j, FILE *f)
{
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, j,
                                              on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        snprintf(j->msg, sizeof j->msg, "out of memory");
        return -1;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return -1;
    }
    static const int color[] = { 0, PNG_COLOR_TYPE_GRAY,
                                 PNG_COLOR_TYPE_GRAY_ALPHA,
                                 PNG_COLOR_TYPE_RGB,
                                 PNG_COLOR_TYPE_RGB_ALPHA };
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)j->w, (png_uint_32)j->h, 8,
                 color[j->channels], PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_text text;
    memset(&text, 0, sizeof text);
    text.compression = PNG_TEXT_COMPRESSION_NONE;
    text.key = (char *)"Software";
    text.text = (char *)"raster-tool (tessera)";
    png_set_text(png, info, &text, 1);
    png_write_info(png, info);
    size_t stride = (size_t)j->w * (size_t)j->channels;
    for (int y = 0; y < j->h; y++)
        png_write_row(png, j->px + (size_t)y * stride);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    return 0;
}

int cli_png_write(const char *path, const uint8_t *px, int w, int h,
                  int channels, bool overwrite)
{
    if (!overwrite && access(path, F_OK) == 0)
        return cli_fail(path, "file exists (use --overwrite)");
    size_t n = strlen(path);
    char *tmp = malloc(n + 16);
    if (!tmp)
        return cli_fail(path, "out of memory");
    /* the temporary file sits beside path, so that rename is atomic */
    snprintf(tmp, n + 16, "%s.tmp-XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return cli_fail(path, "%s", strerror(e));
    }
    /* mkstemp makes 0600; outputs get 0666 less the umask */
    mode_t um = umask(0);
    umask(um);
    fchmod(fd, 0666 & ~um);
    FILE *f = fdopen(fd, "wb");
    png_job j = { path, px, w, h, channels, "" };
    int rc = 0;
    if (!f) {
        close(fd);
        snprintf(j.msg, sizeof j.msg, "%s", strerror(errno));
        rc = -1;
    } else {
        rc = encode(&j, f);
        if (rc == 0 && fflush(f) != 0) {
            snprintf(j.msg, sizeof j.msg, "%s", strerror(errno));
            rc = -1;
        }
        if (rc == 0 && fsync(fileno(f)) != 0) {
            snprintf(j.msg, sizeof j.msg, "fsync: %s", strerror(errno));
            rc = -1;
        }
        if (fclose(f) != 0 && rc == 0) {
            snprintf(j.msg, sizeof j.msg, "%s", strerror(errno));
            rc = -1;
        }
    }
    if (rc == 0) {
        /* link refuses an existing destination atomically */
        int r = overwrite ? rename(tmp, path) : link(tmp, path);
        if (r != 0) {
            snprintf(j.msg, sizeof j.msg, "%s%s", strerror(errno),
                     errno == EEXIST ? " (use --overwrite)" : "");
            rc = -1;
        } else if (!overwrite) {
            unlink(tmp);
        }
    }
    if (rc)
        unlink(tmp);
    free(tmp);
    return rc ? cli_fail(path, "%s", j.msg) : 0;
}
