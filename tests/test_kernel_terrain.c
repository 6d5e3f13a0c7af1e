/*
 * test_kernel_terrain.c — slope, aspect, hillshade (Igor's too), TRI, TPI
 * and roughness on in-memory tiles:
 * against a naive whole-image reference written here from gdaldem's rules
 * with the textbook formulas, closed forms (tilted planes, flat ground),
 * nodata holes, --compute-edges, tile sizes and thread counts.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/kernels_builtin.h"
#include "raster_test_util.h"
#include "suite_main.h"

#define W 61
#define H 47

/* A bumpy DEM: sines plus hashed noise, float32, with optional holes. */
static void make_dem(tes_tile *t, int w, int h, bool holes)
{
    ck_assert_int_eq(tes_tile_alloc(t, TES_F32, w, h, 1), 0);
    float *p = t->data;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            unsigned u = (unsigned)(x * 73856093u) ^ (unsigned)(y * 19349663u);
            u = (u ^ (u >> 13)) * 1274126177u;
            double n = (double)(u & 1023) / 1023.0;
            p[y * w + x] = (float)(500 + 80 * sin(x * 0.21) * cos(y * 0.17) +
                                   30 * sin((x + 2 * y) * 0.05) + 3 * n);
        }
    if (holes) {
        t->has_nodata = true;
        t->nodata = -9999;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                if ((x - 20) * (x - 20) + (y - 15) * (y - 15) < 12 ||
                    (x == 0 && y == 30) || (x == w - 1 && y == 3) ||
                    (y == 0 && x == 40) || (x + y) % 97 == 5)
                    p[y * w + x] = -9999;
    }
}

/* ---- the reference: gdaldem's structure, textbook formulas ---------- */

typedef struct ref_opts {
    tes_terrain_kind kind;
    bool zt, percent, trig, zero_flat, edges;
    double ew, ns, scale, z, az, alt;
    bool wilson, igor;
} ref_opts;

static double ref_get(const tes_tile *t, int x, int y)
{
    return ((const float *)t->data)[y * t->width + x];
}
static bool ref_nd(const tes_tile *t, double v)
{
    return t->has_nodata && v == t->nodata;
}
static double ref_interp(const tes_tile *t, double a, double b)
{
    if (ref_nd(t, a) || ref_nd(t, b))
        return t->nodata;
    return (float)(2 * a - b);
}

/* Returns false for nodata; else fills win. */
static bool ref_window(const tes_tile *t, const ref_opts *o, int x, int y,
                       double win[3][3])
{
    int w = t->width, h = t->height;
    bool edge = x == 0 || y == 0 || x == w - 1 || y == h - 1;
    if (edge && !o->edges)
        return false;
    double c = ref_get(t, x, y);
    if (ref_nd(t, c))
        return false;
    for (int j = -1; j <= 1; j++)
        for (int i = -1; i <= 1; i++) {
            int xx = x + i, yy = y + j;
            double v;
            if (y == 0 || y == h - 1) {
                /* gdaldem's first and last lines: columns clamp, the row
                 * beyond the edge is extrapolated */
                xx = xx < 0 ? 0 : xx >= w ? w - 1 : xx;
                if (yy < 0)
                    v = ref_interp(t, ref_get(t, xx, 0), ref_get(t, xx, 1));
                else if (yy >= h)
                    v = ref_interp(t, ref_get(t, xx, h - 1),
                                   ref_get(t, xx, h - 2));
                else
                    v = ref_get(t, xx, yy);
            } else if (xx < 0) {
                v = ref_interp(t, ref_get(t, 0, yy), ref_get(t, 1, yy));
            } else if (xx >= w) {
                v = ref_interp(t, ref_get(t, w - 1, yy),
                               ref_get(t, w - 2, yy));
            } else {
                v = ref_get(t, xx, yy);
            }
            if (ref_nd(t, v)) {
                if (!o->edges)
                    return false;
                v = c;
            }
            win[j + 1][i + 1] = v;
        }
    return true;
}

/* TRI, TPI, roughness from their definitions, in double. */
static double ref_window_kind(const ref_opts *o, double n[3][3])
{
    double c = n[1][1], sq = 0, ab = 0, sum = 0, lo = c, hi = c;
    for (int j = 0; j < 3; j++)
        for (int i = 0; i < 3; i++) {
            double v = n[j][i];
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
            if (i == 1 && j == 1)
                continue;
            sq += (v - c) * (v - c);
            ab += fabs(v - c);
            sum += v;
        }
    if (o->kind == TES_TERRAIN_TRI)
        return o->wilson ? ab / 8 : sqrt(sq);
    if (o->kind == TES_TERRAIN_TPI)
        return c - sum / 8;
    return hi - lo;
}

/* Igor's hillshade as gdaldem documents it: 255 (1 - slope/90 x
 * (1 - |aspect - light| / 180)), the aspect in raster terms. */
static double ref_igor(const ref_opts *o, double n[3][3])
{
    double gx, gy; /* right minus left, bottom minus top, per pixel */
    if (o->zt) {
        gx = (n[1][2] - n[1][0]) / 2;
        gy = (n[2][1] - n[0][1]) / 2;
    } else {
        gx = ((n[0][2] + 2 * n[1][2] + n[2][2]) -
              (n[0][0] + 2 * n[1][0] + n[2][0])) / 8;
        gy = ((n[2][0] + 2 * n[2][1] + n[2][2]) -
              (n[0][0] + 2 * n[0][1] + n[0][2])) / 8;
    }
    double sx = gx / (o->ew * o->scale), sy = gy / (o->ns * o->scale);
    double slope = atan(o->z * hypot(sx, sy)) * 180 / M_PI;
    double aspect = atan2(gy, -gx) * 180 / M_PI;
    double light = 270 - o->az;
    double d = fmod(fabs(aspect - light), 360);
    if (d > 180)
        d = 360 - d;
    return 255 * (1 - slope / 90 * (1 - d / 180));
}

static double ref_value(const ref_opts *o, double n[3][3])
{
    if (o->kind >= TES_TERRAIN_TRI)
        return ref_window_kind(o, n);
    if (o->igor)
        return ref_igor(o, n);
    /* derivatives east and north in elevation per ground unit */
    double dzdx, dzdy;
    if (o->zt) {
        dzdx = (n[1][2] - n[1][0]) / (2 * o->ew * o->scale);
        dzdy = (n[2][1] - n[0][1]) / (2 * o->ns * o->scale);
    } else {
        dzdx = ((n[0][2] + 2 * n[1][2] + n[2][2]) -
                (n[0][0] + 2 * n[1][0] + n[2][0])) / (8 * o->ew * o->scale);
        dzdy = ((n[2][0] + 2 * n[2][1] + n[2][2]) -
                (n[0][0] + 2 * n[0][1] + n[0][2])) / (8 * o->ns * o->scale);
    }
    double g = hypot(dzdx, dzdy);
    if (o->kind == TES_TERRAIN_SLOPE)
        return o->percent ? 100 * g : atan(g) * 180 / M_PI;
    if (o->kind == TES_TERRAIN_ASPECT) {
        if (dzdx == 0 && dzdy == 0)
            return o->zero_flat ? 0 : -9999;
        /* downslope direction: (-dzdx east, -dzdy north) with ns < 0
         * meaning rows go south; work in raster terms to stay simple */
        double east = -dzdx * (o->ew > 0 ? 1 : -1);
        double north = -dzdy * (o->ns < 0 ? 1 : -1);
        double a = o->trig ? atan2(north, east) : atan2(east, north);
        a = a * 180 / M_PI;
        if (a < 0)
            a += 360;
        if (a >= 360)
            a -= 360;
        return a;
    }
    /* hillshade: Lambertian from slope and aspect angles */
    /* gdaldem's x is left minus right, y is (bottom - top) / nsres */
    double zx = -dzdx * o->z, zy = dzdy * o->z;
    double slope = atan(hypot(zx, zy));
    double aspect = atan2(zy, zx); /* gdaldem's x/y convention */
    double az = o->az * M_PI / 180, alt = o->alt * M_PI / 180;
    double cang = sin(alt) * cos(slope) +
                  cos(alt) * sin(slope) * cos(az - M_PI / 2 - aspect);
    return cang <= 0 ? 1 : 1 + 254 * cang;
}

static double ref_pixel(const tes_tile *t, const ref_opts *o, int x, int y)
{
    double win[3][3];
    if (!ref_window(t, o, x, y, win))
        return o->kind == TES_TERRAIN_HILLSHADE ? 0
               : (o->kind == TES_TERRAIN_ASPECT && o->zero_flat) ? 0
                                                                  : -9999;
    double v = ref_value(o, win);
    if (o->kind == TES_TERRAIN_HILLSHADE)
        v = floor(v + 0.5);
    return v;
}

static tes_terrain_options to_opts(const ref_opts *r)
{
    tes_terrain_options o = TES_TERRAIN_OPTIONS_INIT;
    o.kind = r->kind;
    o.zt = r->zt;
    o.percent = r->percent;
    o.trigonometric = r->trig;
    o.zero_for_flat = r->zero_flat;
    o.compute_edges = r->edges;
    o.ewres = r->ew;
    o.nsres = r->ns;
    o.scale = r->scale;
    o.z = r->z;
    o.azimuth = r->az;
    o.altitude = r->alt;
    o.tri_alg = r->wilson ? TES_TRI_WILSON : TES_TRI_RILEY;
    o.igor = r->igor;
    return o;
}

static ref_opts ropts(tes_terrain_kind kind)
{
    ref_opts r = { kind, false, false, false, false, false,
                   30, -30, 1, 1, 315, 45, false, false };
    return r;
}

/* Runs the kernel over dem with tiles of ts and pool (NULL: serial). */
static void run(const tes_tile *dem, const ref_opts *r, int ts,
                tes_pool *pool, tes_tile *out)
{
    tes_terrain_options o = to_opts(r);
    tes_terrain_state st;
    tes_kernel k;
    ck_assert_int_eq(tes__kernel_terrain(&k, &st, &o), 0);
    ck_assert_int_eq(tes_tile_alloc(out, k.out_type, dem->width,
                                    dem->height, 1), 0);
    char msg[300] = "";
    ck_assert_int_eq(tu_run_memory(pool, &k, dem, 1, out, NULL, ts,
                                            ts, msg, sizeof msg), 0);
}

static double angle_diff(double a, double b)
{
    double d = fabs(a - b);
    return d > 180 ? 360 - d : d;
}

/* Compares out with the reference; tol in the output's units. */
static void check_ref(const tes_tile *dem, const ref_opts *r,
                      const tes_tile *out, double tol)
{
    for (int y = 0; y < dem->height; y++)
        for (int x = 0; x < dem->width; x++) {
            double want = ref_pixel(dem, r, x, y);
            double got = tes_tile_get(out, 0, x, y);
            bool want_nd = (r->kind == TES_TERRAIN_HILLSHADE) ? want == 0
                                                              : want == -9999;
            if (want_nd || got == -9999 || (r->kind == TES_TERRAIN_HILLSHADE &&
                                            got == 0)) {
                ck_assert_msg(got == want, "(%d,%d): got %g want %g", x, y,
                              got, want);
                continue;
            }
            double d = r->kind == TES_TERRAIN_ASPECT ? angle_diff(got, want)
                                                     : fabs(got - want);
            ck_assert_msg(d <= tol, "(%d,%d): got %.9g want %.9g", x, y, got,
                          want);
        }
}

static void check_same(const tes_tile *a, const tes_tile *b)
{
    size_t n = (size_t)a->width * a->height * tes_sample_size(a->type);
    ck_assert_int_eq(a->type, b->type);
    ck_assert_msg(memcmp(a->data, b->data, n) == 0, "outputs differ");
}

/* Every variant: reference, then several tile sizes and 2 threads give
 * the same bytes as one whole-image tile. */
static void check_variant(const ref_opts *r, bool holes, double tol)
{
    tes_tile dem, whole;
    make_dem(&dem, W, H, holes);
    run(&dem, r, 1024, NULL, &whole);
    check_ref(&dem, r, &whole, tol);
    tes_pool_options po = TES_POOL_OPTIONS_INIT;
    po.threads = 2;
    tes_pool *pool;
    ck_assert_int_eq(tes_pool_create(&pool, &po), 0);
    static const int sizes[] = { 1, 7, 16, 33 };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        tes_tile t1, t2;
        run(&dem, r, sizes[i], NULL, &t1);
        run(&dem, r, sizes[i], pool, &t2);
        check_same(&whole, &t1);
        check_same(&whole, &t2);
        tes_tile_free(&t1);
        tes_tile_free(&t2);
    }
    tes_pool_destroy(pool);
    tes_tile_free(&whole);
    tes_tile_free(&dem);
}

START_TEST(terrain_slope_matches_reference)
{
    for (int v = 0; v < 8; v++) {
        ref_opts r = ropts(TES_TERRAIN_SLOPE);
        r.zt = v & 1;
        r.percent = v & 2;
        r.edges = v & 4;
        r.scale = (v & 1) ? 2.5 : 1;
        check_variant(&r, false, r.percent ? 1e-4 : 1e-4);
        check_variant(&r, true, 1e-4);
    }
}
END_TEST

START_TEST(terrain_aspect_matches_reference)
{
    for (int v = 0; v < 16; v++) {
        ref_opts r = ropts(TES_TERRAIN_ASPECT);
        r.zt = v & 1;
        r.trig = v & 2;
        r.edges = v & 4;
        r.zero_flat = v & 8;
        check_variant(&r, false, 1e-3);
        if (!r.zero_flat)
            check_variant(&r, true, 1e-3);
    }
}
END_TEST

START_TEST(terrain_hillshade_matches_reference)
{
    for (int v = 0; v < 8; v++) {
        ref_opts r = ropts(TES_TERRAIN_HILLSHADE);
        r.zt = v & 1;
        r.edges = v & 2;
        if (v & 4) {
            r.z = 3;
            r.az = 120;
            r.alt = 30;
            r.ew = 10;
            r.ns = -12;
        }
        check_variant(&r, false, 1);
        check_variant(&r, true, 1);
    }
}
END_TEST

START_TEST(terrain_tri_tpi_roughness_match_reference)
{
    static const tes_terrain_kind kinds[] = { TES_TERRAIN_TRI,
                                              TES_TERRAIN_TPI,
                                              TES_TERRAIN_ROUGHNESS };
    for (size_t k = 0; k < 3; k++)
        for (int v = 0; v < 4; v++) {
            ref_opts r = ropts(kinds[k]);
            r.edges = v & 1;
            r.wilson = v & 2;
            if (r.wilson && kinds[k] != TES_TERRAIN_TRI)
                continue;
            /* double against double: only the float32 output rounds */
            check_variant(&r, false, 1e-4);
            check_variant(&r, true, 1e-4);
        }
}
END_TEST

START_TEST(terrain_igor_matches_reference)
{
    for (int v = 0; v < 8; v++) {
        ref_opts r = ropts(TES_TERRAIN_HILLSHADE);
        r.igor = true;
        r.zt = v & 1;
        r.edges = v & 2;
        if (v & 4) {
            r.z = 4;
            r.az = 100;
            r.ew = 10;
            r.ns = -12;
        }
        check_variant(&r, false, 1);
        check_variant(&r, true, 1);
    }
}
END_TEST

/* Closed forms: on a plane z = p x + q y every 3x3 window is centred, so
 * TPI is 0; TRI Riley is sqrt(sum of the 8 offsets squared), Wilson their
 * mean |offset|, roughness 2|p| + 2|q|; an isolated peak of height h on
 * flat ground has TPI h, and each neighbour TPI -h/8. */
START_TEST(terrain_window_kinds_closed_form)
{
    double p = 3, q = -2;
    tes_tile dem;
    ck_assert_int_eq(tes_tile_alloc(&dem, TES_F64, 12, 10, 1), 0);
    for (int y = 0; y < 10; y++)
        for (int x = 0; x < 12; x++)
            tes_tile_set(&dem, 0, x, y, 100 + p * x + q * y);
    double sq = 0, ab = 0;
    for (int j = -1; j <= 1; j++)
        for (int i = -1; i <= 1; i++) {
            sq += (p * i + q * j) * (p * i + q * j);
            ab += fabs(p * i + q * j);
        }
    struct { tes_terrain_kind k; int alg; double want; } c[] = {
        { TES_TERRAIN_TPI, 0, 0 },
        { TES_TERRAIN_TRI, TES_TRI_RILEY, sqrt(sq) },
        { TES_TERRAIN_TRI, TES_TRI_WILSON, ab / 8 },
        { TES_TERRAIN_ROUGHNESS, 0, 2 * fabs(p) + 2 * fabs(q) },
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        tes_terrain_options o = TES_TERRAIN_OPTIONS_INIT;
        o.kind = c[i].k;
        o.tri_alg = c[i].alg;
        o.compute_edges = true; /* edges extrapolate the plane exactly */
        tes_terrain_state st;
        tes_kernel k;
        tes_tile out;
        ck_assert_int_eq(tes__kernel_terrain(&k, &st, &o), 0);
        ck_assert_int_eq(tes_tile_alloc(&out, TES_F32, 12, 10, 1), 0);
        ck_assert_int_eq(tu_run_memory(NULL, &k, &dem, 1, &out, NULL, 5, 4,
                                       NULL, 0), 0);
        for (int y = 0; y < 10; y++)
            for (int x = 0; x < 12; x++) {
                bool corner = (x == 0 || x == 11) && (y == 0 || y == 9);
                if (corner)
                    continue; /* gdaldem clamps the columns there */
                ck_assert_msg(fabs(tes_tile_get(&out, 0, x, y) - c[i].want) <
                                  1e-4, "kind %d at (%d,%d): %g want %g",
                              c[i].k, x, y, tes_tile_get(&out, 0, x, y),
                              c[i].want);
            }
        tes_tile_free(&out);
    }
    /* a peak */
    for (int y = 0; y < 10; y++)
        for (int x = 0; x < 12; x++)
            tes_tile_set(&dem, 0, x, y, x == 5 && y == 4 ? 108 : 100);
    tes_terrain_options o = TES_TERRAIN_OPTIONS_INIT;
    o.kind = TES_TERRAIN_TPI;
    tes_terrain_state st;
    tes_kernel k;
    tes_tile out;
    ck_assert_int_eq(tes__kernel_terrain(&k, &st, &o), 0);
    ck_assert_int_eq(tes_tile_alloc(&out, TES_F32, 12, 10, 1), 0);
    ck_assert_int_eq(tu_run_memory(NULL, &k, &dem, 1, &out, NULL, 4, 4, NULL,
                                   0), 0);
    ck_assert_double_eq(tes_tile_get(&out, 0, 5, 4), 8);
    ck_assert_double_eq(tes_tile_get(&out, 0, 4, 3), -1);
    ck_assert_double_eq(tes_tile_get(&out, 0, 7, 4), 0);
    ck_assert_double_eq(tes_tile_get(&out, 0, 0, 4), -9999); /* the ring */
    tes_tile_free(&out);
    tes_tile_free(&dem);
}
END_TEST

/* A plane z = p*col + q*row: slope and aspect from geometry alone. */
START_TEST(terrain_tilted_plane_closed_form)
{
    static const double pq[][2] = { { 3, 0 }, { 0, 3 }, { -2, 5 }, { 1, -1 },
                                    { -4, -4 } };
    for (size_t i = 0; i < sizeof pq / sizeof pq[0]; i++) {
        double p = pq[i][0], q = pq[i][1], ew = 10, ns = -10;
        tes_tile dem;
        ck_assert_int_eq(tes_tile_alloc(&dem, TES_F64, 9, 8, 1), 0);
        for (int y = 0; y < 8; y++)
            for (int x = 0; x < 9; x++)
                tes_tile_set(&dem, 0, x, y, 100 + p * x + q * y);
        double gx = p / ew, gy = q / -ns; /* east, and south per metre */
        double slope = atan(hypot(gx, gy)) * 180 / M_PI;
        /* downslope points to (-gx east, +gy north) */
        double az = atan2(-gx, gy) * 180 / M_PI;
        if (az < 0)
            az += 360;
        for (int kind = 0; kind < 2; kind++) {
            tes_terrain_options o = TES_TERRAIN_OPTIONS_INIT;
            o.kind = kind ? TES_TERRAIN_ASPECT : TES_TERRAIN_SLOPE;
            o.ewres = ew;
            o.nsres = ns;
            o.compute_edges = true;
            tes_terrain_state st;
            tes_kernel k;
            tes_tile out;
            ck_assert_int_eq(tes__kernel_terrain(&k, &st, &o), 0);
            ck_assert_int_eq(tes_tile_alloc(&out, TES_F32, 9, 8, 1), 0);
            ck_assert_int_eq(tu_run_memory(NULL, &k, &dem, 1, &out,
                                                    NULL, 4, 4, NULL, 0), 0);
            for (int y = 0; y < 8; y++)
                for (int x = 0; x < 9; x++) {
                    bool corner = (x == 0 || x == 8) && (y == 0 || y == 7);
                    if (corner)
                        continue; /* gdaldem halves dx there */
                    double got = tes_tile_get(&out, 0, x, y);
                    if (kind)
                        ck_assert_msg(angle_diff(got, az) < 1e-4,
                                      "aspect %g want %g", got, az);
                    else
                        ck_assert_msg(fabs(got - slope) < 1e-4,
                                      "slope %g want %g", got, slope);
                }
            tes_tile_free(&out);
        }
        tes_tile_free(&dem);
    }
}
END_TEST

START_TEST(terrain_flat_ground)
{
    tes_tile dem;
    ck_assert_int_eq(tes_tile_alloc(&dem, TES_I16, 10, 9, 1), 0);
    for (int y = 0; y < 9; y++)
        for (int x = 0; x < 10; x++)
            tes_tile_set(&dem, 0, x, y, 250);
    struct { tes_terrain_kind k; bool zff; bool md; double want; } c[] = {
        { TES_TERRAIN_SLOPE, false, false, 0 },
        { TES_TERRAIN_ASPECT, false, false, -9999 },
        { TES_TERRAIN_ASPECT, true, false, 0 },
        { TES_TERRAIN_HILLSHADE, false, false, 181 },
        { TES_TERRAIN_HILLSHADE, false, true, 181 },
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        tes_terrain_options o = TES_TERRAIN_OPTIONS_INIT;
        o.kind = c[i].k;
        o.zero_for_flat = c[i].zff;
        o.multidirectional = c[i].md;
        o.compute_edges = true;
        tes_terrain_state st;
        tes_kernel k;
        tes_tile out;
        ck_assert_int_eq(tes__kernel_terrain(&k, &st, &o), 0);
        ck_assert_int_eq(tes_tile_alloc(&out, k.out_type, 10, 9, 1), 0);
        ck_assert_int_eq(tu_run_memory(NULL, &k, &dem, 1, &out, NULL,
                                                4, 3, NULL, 0), 0);
        for (int y = 0; y < 9; y++)
            for (int x = 0; x < 10; x++)
                ck_assert_double_eq(tes_tile_get(&out, 0, x, y), c[i].want);
        tes_tile_free(&out);
    }
    tes_tile_free(&dem);
}
END_TEST

/* Without --compute-edges: the outer ring and every pixel whose 3x3
 * window touches a hole are nodata, nothing else. With it: only holes. */
START_TEST(terrain_nodata_holes)
{
    tes_tile dem;
    make_dem(&dem, W, H, true);
    for (int edges = 0; edges < 2; edges++) {
        ref_opts r = ropts(TES_TERRAIN_SLOPE);
        r.edges = edges;
        tes_tile out;
        run(&dem, &r, 13, NULL, &out);
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                bool want = false;
                if (edges)
                    want = tes_tile_get(&dem, 0, x, y) == -9999;
                else if (x == 0 || y == 0 || x == W - 1 || y == H - 1)
                    want = true;
                else
                    for (int j = -1; j <= 1; j++)
                        for (int i = -1; i <= 1; i++)
                            want |= tes_tile_get(&dem, 0, x + i, y + j) ==
                                    -9999;
                ck_assert_msg((tes_tile_get(&out, 0, x, y) == -9999) == want,
                              "(%d,%d) edges=%d", x, y, edges);
            }
        tes_tile_free(&out);
    }
    tes_tile_free(&dem);
}
END_TEST

START_TEST(terrain_multidirectional_and_combined_in_range)
{
    tes_tile dem;
    make_dem(&dem, W, H, true);
    for (int v = 0; v < 4; v++) {
        tes_terrain_options o = TES_TERRAIN_OPTIONS_INIT;
        o.kind = TES_TERRAIN_HILLSHADE;
        o.ewres = 5;
        o.nsres = -5;
        o.zt = v & 1;
        o.multidirectional = !(v & 2);
        o.combined = v & 2;
        tes_terrain_state st;
        tes_kernel k;
        ck_assert_int_eq(tes__kernel_terrain(&k, &st, &o), 0);
        tes_tile a, b;
        ck_assert_int_eq(tes_tile_alloc(&a, TES_U8, W, H, 1), 0);
        ck_assert_int_eq(tes_tile_alloc(&b, TES_U8, W, H, 1), 0);
        ck_assert_int_eq(tu_run_memory(NULL, &k, &dem, 1, &a, NULL,
                                                500, 500, NULL, 0), 0);
        ck_assert_int_eq(tu_run_memory(NULL, &k, &dem, 1, &b, NULL,
                                                9, 5, NULL, 0), 0);
        check_same(&a, &b);
        int lit = 0;
        for (int y = 1; y < H - 1; y++)
            for (int x = 1; x < W - 1; x++)
                lit += tes_tile_get(&a, 0, x, y) > 1;
        ck_assert_int_gt(lit, (W - 2) * (H - 2) / 2);
        tes_tile_free(&a);
        tes_tile_free(&b);
    }
    tes_tile_free(&dem);
}
END_TEST

START_TEST(terrain_rejects_bad_options)
{
    tes_terrain_options o = TES_TERRAIN_OPTIONS_INIT;
    tes_terrain_state st;
    tes_kernel k;
    o.scale = 0;
    ck_assert_int_eq(tes__kernel_terrain(&k, &st, &o), -EINVAL);
    o = (tes_terrain_options)TES_TERRAIN_OPTIONS_INIT;
    o.ewres = 0;
    ck_assert_int_eq(tes__kernel_terrain(&k, &st, &o), -EINVAL);
    o = (tes_terrain_options)TES_TERRAIN_OPTIONS_INIT;
    o.multidirectional = o.combined = true;
    ck_assert_int_eq(tes__kernel_terrain(&k, &st, &o), -EINVAL);
    o = (tes_terrain_options)TES_TERRAIN_OPTIONS_INIT;
    o.altitude = NAN;
    ck_assert_int_eq(tes__kernel_terrain(&k, &st, &o), -EINVAL);
    o = (tes_terrain_options)TES_TERRAIN_OPTIONS_INIT;
    o.igor = 1;
    o.combined = true;
    ck_assert_int_eq(tes__kernel_terrain(&k, &st, &o), -EINVAL);
    o = (tes_terrain_options)TES_TERRAIN_OPTIONS_INIT;
    o.kind = TES_TERRAIN_TRI;
    o.tri_alg = 2;
    ck_assert_int_eq(tes__kernel_terrain(&k, &st, &o), -EINVAL);
    o = (tes_terrain_options)TES_TERRAIN_OPTIONS_INIT;
    o.kind = (tes_terrain_kind)6;
    ck_assert_int_eq(tes__kernel_terrain(&k, &st, &o), -EINVAL);
    o = (tes_terrain_options)TES_TERRAIN_OPTIONS_INIT;
    o.reserved_int[5] = 1;
    ck_assert_int_eq(tes__kernel_terrain(&k, &st, &o), -EINVAL);
}
END_TEST

static Suite *terrain_suite(void)
{
    Suite *s = suite_create("kernel_terrain");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, terrain_slope_matches_reference);
    tcase_add_test(tc, terrain_aspect_matches_reference);
    tcase_add_test(tc, terrain_hillshade_matches_reference);
    tcase_add_test(tc, terrain_tri_tpi_roughness_match_reference);
    tcase_add_test(tc, terrain_igor_matches_reference);
    tcase_add_test(tc, terrain_window_kinds_closed_form);
    tcase_add_test(tc, terrain_tilted_plane_closed_form);
    tcase_add_test(tc, terrain_flat_ground);
    tcase_add_test(tc, terrain_nodata_holes);
    tcase_add_test(tc, terrain_multidirectional_and_combined_in_range);
    tcase_add_test(tc, terrain_rejects_bad_options);
    suite_add_tcase(s, tc);
    return s;
}

TES_CHECK_MAIN(terrain_suite)
