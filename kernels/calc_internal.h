/*
 * calc_internal.h — private to calc_parse.c and calc.c: the bytecode that
 * a band-math expression compiles to. Each instruction works on whole rows
 * (registers are arrays of doubles), so the evaluator's inner loops run
 * over a tile row, not over an AST per pixel.
 */
#ifndef TES_CALC_INTERNAL_H
#define TES_CALC_INTERNAL_H

#include "kernels_builtin.h"

typedef enum calc_op {
    OP_LOAD,  /* dst = input[in] band[band], nodata -> NaN */
    OP_ISND,  /* dst = isnan(a) */
    OP_NEG, OP_NOT, OP_ABS, OP_SQRT, OP_EXP, OP_LOG, OP_LOG10, OP_SIN,
    OP_COS, OP_TAN, OP_FLOOR, OP_CEIL, OP_ROUND,
    OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_MOD, OP_POW, OP_LT, OP_LE, OP_GT,
    OP_GE, OP_EQ, OP_NE, OP_AND, OP_OR, OP_MIN, OP_MAX, OP_ATAN2,
    OP_WHERE, OP_CLAMP
} calc_op;

typedef struct calc_insn {
    calc_op op;
    int dst, a, b, c;  /* registers */
    int in, band;      /* OP_LOAD: input 0..25, band 0-based */
} calc_insn;

struct tes_expr {
    calc_insn *code;
    int n_code;
    int n_regs;
    int result;        /* register holding the result */
    double *konst;     /* n_regs: the constant of a constant register */
    bool *is_const;    /* n_regs */
    uint32_t inputs;   /* bit i: input i read */
    int max_band[26];  /* highest 1-based band read per input */
};

/* Scalar semantics shared by the evaluator and constant folding:
 * NaN (nodata) propagates through every operator except where()'s
 * unchosen branch and isnodata(). */
double tes__calc_scalar(calc_op op, double a, double b, double c);

#endif
