/*
 * error.c — names for every error code the library returns.
 */
#include "tessera.h"

#include <string.h>

const char *tes_strerror(int code)
{
    switch (code) {
    case 0: return "success";
    case TES_EFAIL: return "task failed";
    case TES_ESHUTDOWN: return "pool is shutting down";
    case TES_EFORKED: return "pool belongs to the parent process (fork)";
    case -ENOMEM: return "out of memory";
    case -EINVAL: return "invalid argument";
    case -ETIMEDOUT: return "timed out";
    case -ECANCELED: return "cancelled";
    case -EALREADY: return "already completed";
    case -EAGAIN: return "resource temporarily unavailable";
    case -EIO: return "input/output error";
    case -ENOENT: return "no such file or directory";
    case -EEXIST: return "file exists";
    case -ENOSPC: return "no space left on device";
    case -EFBIG: return "file too large";
    case -ENOTSUP: return "not supported";
    case -EPERM: return "operation not permitted";
    case -EBUSY: return "busy";
    case -EDEADLK: return "would deadlock";
    default: break;
    }
    if (code < 0 && code > -4096) {
        /* Any other errno value: glibc's description, a constant string
         * (unlike strerror, whose unknown-code text lives in a buffer). */
        const char *s = strerrordesc_np(-code);
        if (s)
            return s;
    }
    return "unknown error";
}
