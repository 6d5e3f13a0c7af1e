/*
 * kernel_common.c — what the public constructors of the built-in kernels
 * share: their one-line error messages.
 */
#include <stdarg.h>
#include <stdio.h>

#include "kernels_builtin.h"

int tes__kernel_err(tes_raster_error *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return code;
}
