/*
 * calc_numpy.h — private to cli/: gdal_calc.py's numpy expressions in
 * raster-tool's band-math language (calc_numpy.c).
 */
#ifndef TES_CLI_CALC_NUMPY_H
#define TES_CLI_CALC_NUMPY_H

#include <stdbool.h>
#include <stddef.h>

/* Translates src, a gdal_calc --calc expression, into *out (malloc'd):
 * letter L reads band band[L - 'A'] (1-based) of input L. Returns 0, or
 * -1 with msg saying what is not translated ("the function arcsin is not
 * translated"). */
int cli_numpy_translate(const char *src, const int band[26], char **out,
                        char *msg, size_t msg_size);

#endif
