"""Independent references for the tests, in plain numpy, written from the
formulas gdaldem, gdal_calc and the manual pages document (not from
tessera's C): every test compares tessera's output with one of these."""

import math

import numpy as np


def windows3(a):
    """The nine neighbours of every interior pixel of a (float64), row-major
    0 1 2 / 3 4 5 / 6 7 8, each an array of shape (h-2, w-2)."""
    h, w = a.shape
    return [a[dy:h - 2 + dy, dx:w - 2 + dx] for dy in range(3)
            for dx in range(3)]


def _valid_interior(dem, nodata):
    """Interior pixels whose 3x3 window has no nodata."""
    a = dem.astype(np.float64)
    bad = np.zeros(a.shape, bool) if nodata is None else (a == nodata)
    ok = np.ones((a.shape[0] - 2, a.shape[1] - 2), bool)
    for win in windows3(bad):
        ok &= ~win
    return a, ok


def horn(a, ewres, nsres):
    """gdaldem's Horn derivatives: dx = (right - left) / (8 ewres),
    dy = (bottom - top) / (8 nsres), interior only."""
    w = windows3(a)
    dx = ((w[2] + 2 * w[5] + w[8]) - (w[0] + 2 * w[3] + w[6])) / (8 * ewres)
    dy = ((w[6] + 2 * w[7] + w[8]) - (w[0] + 2 * w[1] + w[2])) / (8 * nsres)
    return dx, dy


def slope(dem, ewres, nsres, nodata=None, scale=1.0, percent=False):
    """(values, mask): gdaldem slope on the interior pixels that mask
    selects (the rest are nodata in tessera's output)."""
    a, ok = _valid_interior(dem, nodata)
    dx, dy = horn(a, ewres * scale, nsres * scale)
    r = np.sqrt(dx * dx + dy * dy)
    v = 100 * r if percent else np.degrees(np.arctan(r))
    return v, ok


def aspect(dem, nodata=None):
    """gdaldem aspect, degrees clockwise from north; NaN where flat."""
    a, ok = _valid_interior(dem, nodata)
    w = windows3(a)
    dx = (w[2] + 2 * w[5] + w[8]) - (w[0] + 2 * w[3] + w[6])
    dy = (w[6] + 2 * w[7] + w[8]) - (w[0] + 2 * w[1] + w[2])
    ang = np.degrees(np.arctan2(dy, -dx))
    v = np.where(ang > 90, 450 - ang, 90 - ang)
    v = np.where(v == 360, 0, v)
    v = np.where((dx == 0) & (dy == 0), np.nan, v)
    return v, ok


def hillshade(dem, ewres, nsres, nodata=None, z=1.0, scale=1.0,
              azimuth=315.0, altitude=45.0):
    """gdaldem hillshade (Horn): 1 + 254 * cos(angle to the sun), at
    least 1, before rounding to uint8."""
    a, ok = _valid_interior(dem, nodata)
    w = windows3(a)
    x = ((w[0] + 2 * w[3] + w[6]) - (w[2] + 2 * w[5] + w[8])) / ewres
    y = ((w[6] + 2 * w[7] + w[8]) - (w[0] + 2 * w[1] + w[2])) / nsres
    zs = z / (8 * scale)
    az, alt = math.radians(azimuth), math.radians(altitude)
    c = (math.sin(alt) - (y * math.cos(az) * math.cos(alt) * zs -
                          x * math.sin(az) * math.cos(alt) * zs)) \
        / np.sqrt(1 + zs * zs * (x * x + y * y))
    return np.where(c <= 0, 1.0, 1 + 254 * c), ok


def pad_edge(a, r):
    """a (2-D) grown by r pixels on every side, edges replicated."""
    return np.pad(a, r, mode="edge")


def correlate(a, weights):
    """Weights applied as written (not flipped), centred, edges replicated,
    in float64."""
    wt = np.asarray(weights, dtype=np.float64)
    kh, kw = wt.shape
    ry, rx = kh // 2, kw // 2
    p = np.pad(a.astype(np.float64), ((ry, ry), (rx, rx)), mode="edge")
    h, w = a.shape
    out = np.zeros((h, w))
    for j in range(kh):
        for i in range(kw):
            out += wt[j, i] * p[j:j + h, i:i + w]
    return out


def gaussian(a, sigma):
    """Separable Gaussian, radius ceil(3 sigma), weights exp(-i^2/2s^2)
    summing to 1, edges replicated."""
    r = math.ceil(3 * sigma)
    i = np.arange(-r, r + 1, dtype=np.float64)
    g = np.exp(-i * i / (2 * sigma * sigma))
    g /= g.sum()
    return correlate(correlate(a, g[None, :]), g[:, None])


def saturate(v, dtype):
    """Float to dtype as tessera_raster(3) documents it: round to nearest,
    halves away from zero, saturate, NaN to 0 (float types: a plain
    cast)."""
    dt = np.dtype(dtype)
    if dt.kind == "f":
        return np.asarray(v).astype(dt)
    info = np.iinfo(dt)
    v = np.nan_to_num(np.asarray(v, dtype=np.float64), nan=0.0)
    r = np.sign(v) * np.floor(np.abs(v) + 0.5)
    return np.clip(r, info.min, info.max).astype(dt)


def band_stats(a, nodata=None):
    """count, nodata_count, min, max, mean, population std of a band."""
    v = a.astype(np.float64).ravel()
    bad = np.isnan(v)
    if nodata is not None:
        bad |= v == nodata
    good = v[~bad]
    return dict(count=good.size, nodata_count=int(bad.sum()),
                min=good.min(), max=good.max(), mean=good.mean(),
                std=good.std())
