/*
 * lzw.c — the TIFF flavour of LZW (TIFF 6.0 section 13): codes written MSB
 * first, 9 to 12 bits, Clear = 256, EOI = 257, the code width growing one
 * code early, exactly as libtiff's own encoder does so that every TIFF
 * reader decodes it; and the decoder of the same streams, for the tiles
 * of stored overview levels. Pure functions: no state between calls.
 */
#include <stdlib.h>
#include <string.h>

#include "raster_internal.h"

#define CODE_CLEAR 256
#define CODE_EOI 257
#define CODE_FIRST 258
#define CODE_MAX 4095
#define BITS_MIN 9
#define HSIZE 8192 /* power of two, > 2 * 4096 entries */

typedef struct lzw_state {
    uint8_t *op;
    uint32_t nextdata;
    int nextbits;
    int nbits;
    int maxcode;
    int free_ent;
    uint32_t gen;            /* table generation: bumped on every Clear */
    uint32_t hgen[HSIZE];    /* entry valid iff hgen == gen */
    uint32_t hkey[HSIZE];    /* (prefix << 8) | byte */
    uint16_t hcode[HSIZE];
} lzw_state;

static void put(lzw_state *s, int code)
{
    s->nextdata = (s->nextdata << s->nbits) | (uint32_t)code;
    s->nextbits += s->nbits;
    while (s->nextbits >= 8) {
        *s->op++ = (uint8_t)(s->nextdata >> (s->nextbits - 8));
        s->nextbits -= 8;
    }
    s->nextdata &= (1u << s->nextbits) - 1; /* keep only unwritten bits */
}

static void reset(lzw_state *s)
{
    s->gen++;
    s->free_ent = CODE_FIRST;
    s->nbits = BITS_MIN;
    s->maxcode = (1 << BITS_MIN) - 1;
}

/* After an entry is added: a full table starts over, else the width grows
 * when the next code would not fit. */
static void grow(lzw_state *s)
{
    if (s->free_ent == CODE_MAX - 1) {
        put(s, CODE_CLEAR);
        reset(s);
    } else if (s->free_ent > s->maxcode) {
        s->nbits++;
        s->maxcode = (1 << s->nbits) - 1;
    }
}

int tes__lzw_encode(const uint8_t *src, size_t n, uint8_t **dst,
                    size_t *dst_n)
{
    /* Worst case: 12 bits per byte, plus Clear codes and the tail. */
    size_t cap = n + n / 2 + n / 64 + 16;
    uint8_t *out = malloc(cap);
    lzw_state *s = calloc(1, sizeof *s);
    if (!out || !s) {
        free(out);
        free(s);
        return -ENOMEM;
    }
    s->op = out;
    reset(s);
    put(s, CODE_CLEAR);
    if (n > 0) {
        int ent = src[0];
        for (size_t i = 1; i < n; i++) {
            uint32_t key = ((uint32_t)ent << 8) | src[i];
            uint32_t h = (key * 2654435761u) >> 19; /* 13 bits */
            for (;;) {
                if (s->hgen[h] != s->gen)
                    break;
                if (s->hkey[h] == key)
                    break;
                h = (h + 1) & (HSIZE - 1);
            }
            if (s->hgen[h] == s->gen) {
                ent = s->hcode[h];
                continue;
            }
            put(s, ent);
            ent = src[i];
            s->hgen[h] = s->gen;
            s->hkey[h] = key;
            s->hcode[h] = (uint16_t)s->free_ent++;
            grow(s);
        }
        put(s, ent);
        s->free_ent++;
        if (s->free_ent == CODE_MAX - 1) {
            put(s, CODE_CLEAR);
            s->nbits = BITS_MIN;
        } else if (s->free_ent > s->maxcode) {
            s->nbits++;
        }
    }
    put(s, CODE_EOI);
    if (s->nextbits > 0)
        *s->op++ = (uint8_t)(s->nextdata << (8 - s->nextbits));
    *dst_n = (size_t)(s->op - out);
    *dst = out;
    free(s);
    return 0;
}

/* The decoder's table: entry c is the string of entry prefix[c] followed
 * by byte suffix[c], len[c] bytes long (entries below 256 are the bytes
 * themselves). */
typedef struct lzw_table {
    uint16_t prefix[4096];
    uint8_t suffix[4096];
    uint8_t first[4096];      /* first byte of the string */
    uint16_t len[4096];
} lzw_table;

int tes__lzw_decode(const uint8_t *src, size_t n, uint8_t *dst, size_t want)
{
    lzw_table *t = malloc(sizeof *t);
    if (!t)
        return 1;
    for (int c = 0; c < 256; c++) {
        t->suffix[c] = t->first[c] = (uint8_t)c;
        t->len[c] = 1;
    }
    size_t bit = 0, out = 0, nbits_total = n * 8;
    int nbits = BITS_MIN, free_ent = CODE_FIRST, old = -1, bad = 0;
    for (;;) {
        if (bit + (size_t)nbits > nbits_total)
            break; /* no EOI: the data simply ends */
        int code = 0;
        for (int k = 0; k < nbits; k++, bit++)
            code = (code << 1) | ((src[bit >> 3] >> (7 - (bit & 7))) & 1);
        if (code == CODE_EOI)
            break;
        if (code == CODE_CLEAR) {
            nbits = BITS_MIN;
            free_ent = CODE_FIRST;
            old = -1;
            continue;
        }
        int cur = code;
        if (old < 0) {
            if (code > 255) {
                bad = 1;
                break;
            }
        } else if (code > free_ent || free_ent > CODE_MAX) {
            bad = 1;
            break;
        } else {
            /* The new entry: old's string and the first byte of code's
             * (which is old's own first byte when code is the entry being
             * made). */
            t->prefix[free_ent] = (uint16_t)old;
            t->suffix[free_ent] = code == free_ent ? t->first[old]
                                                   : t->first[code];
            t->first[free_ent] = t->first[old];
            t->len[free_ent] = (uint16_t)(t->len[old] + 1);
            free_ent++;
            if (free_ent >= (1 << nbits) - 1 && nbits < 12)
                nbits++;
        }
        size_t len = t->len[cur];
        if (out + len > want) {
            bad = 1;
            break;
        }
        for (size_t i = len; i-- > 0;) {
            dst[out + i] = t->suffix[cur];
            cur = t->prefix[cur];
        }
        out += len;
        old = code;
    }
    free(t);
    return bad || out != want;
}
