"""tessera — tiled, parallel raster processing with the GIL out of the way.

Every function runs the tessera C library's kernels on its work-stealing
pool. The Python interpreter lock is released for all of the C work
(decoding, kernels, compression, writing), so other Python threads run
meanwhile and several threads may call tessera at once.

Sources and destinations
    src   a path (str, bytes or os.PathLike) to a TIFF or BigTIFF: the
          function runs out of core over the file, its memory flat in the
          file's size; or a numpy array, 2-D (rows, columns) or 3-D
          (bands, rows, columns), run in memory without a copy wherever its
          layout allows (columns next to each other, any row and band
          strides).
    dst   a path: a tiled GeoTIFF is written atomically (to a temporary
          file renamed on success; nothing is left on failure) with the
          georeferencing and nodata of the first input, and the function
          returns None. None: the function returns a new numpy array (2-D
          for one band, else bands first).

Keywords every function takes
    threads=None      worker threads; None: default_threads()
    memory=None       the run's memory budget: bytes (an int) or a size as
                      raster-tool --memory takes it ("512M", "4G",
                      "none"); None: TESSERA_MEMORY, else half the
                      machine's. A run whose estimate (tiles in flight and
                      their partial results, decoded blocks, the cache,
                      buffers this package allocates for it; not your
                      arrays) exceeds it raises MemoryBudgetError before
                      it allocates
    progress=None     a callable(done, total), called on the calling thread
                      a few times a second and once at the end; raising in
                      it stops the run (nothing is written)
    tile=256          the tile size (int or (width, height), multiples of
                      16): of the output file, and the unit of work
    res=(1.0, -1.0)   an array's pixel size (ewres, nsres), for terrain
    nodata=None       an array's nodata value

Keywords of functions that write a file
    compress="deflate"  "none", "deflate", "lzw" or "zstd"
    level=None          deflate 1..12 (6), zstd 1..22 (9)
    predictor=None      None: 2 for integers and 3 for floats; 1 none; 2; 3
    bigtiff="auto"      "auto", "yes" or "no"
    overwrite=False     replace an existing dst (else TesseraError)
    geotransform=None   GDAL's 6 numbers, for an output from arrays (an
                        input file's georeferencing is carried otherwise)
    epsg=None           the output's EPSG code, with geotransform
    cog=False           a Cloud-Optimized GeoTIFF, with overviews down to
                        one tile (as raster-tool --cog)
    overview_resampling=None  "nearest", "average", "bilinear", "cubic"
                        or "mode"; None: nearest for a palette, else cubic

Errors
    TesseraError        what the library refuses or fails at: str() is its
                        one-line message ("FILE: reason"), .code its
                        negative error code
    MemoryBudgetError   a TesseraError that is also a MemoryError: a run
                        over its memory budget, refused before it
                        allocates; str() names the total, the largest part
                        and the budget
    TypeError, ValueError   wrong argument types, shapes or values, raised
                        before any work starts
    KeyboardInterrupt   Ctrl-C stops any call within a moment; no output
                        file is left

overviews(path) adds overviews to an existing GeoTIFF, as gdaladdo does.
See raster-tool(1) for the command-line twin of every function.
"""

import errno
import math
import os

import numpy as np

from . import _tessera
from ._tessera import MemoryBudgetError, TesseraError

__version__ = _tessera.version

__all__ = [
    "TesseraError", "MemoryBudgetError", "__version__", "default_threads",
    "hillshade", "slope",
    "aspect", "tri", "tpi", "roughness", "color_relief", "calc", "convolve",
    "blur", "stats", "convert", "info", "overviews", "map_tiles", "synth",
]

# ---------------------------------------------------------------------------
# argument checks (all before any work)
# ---------------------------------------------------------------------------

_DTYPES = {
    np.dtype(np.uint8): "uint8", np.dtype(np.int8): "int8",
    np.dtype(np.uint16): "uint16", np.dtype(np.int16): "int16",
    np.dtype(np.uint32): "uint32", np.dtype(np.int32): "int32",
    np.dtype(np.float32): "float32", np.dtype(np.float64): "float64",
}
_TYPE_NAMES = ("uint8, int8, uint16, int16, uint32, int32, float32 or "
               "float64")

_RUN_KEYS = ("threads", "progress", "tile", "memory")
_ARRAY_KEYS = ("res", "nodata")
_WRITE_KEYS = ("compress", "level", "predictor", "bigtiff", "overwrite",
               "geotransform", "epsg", "cog", "overview_resampling")
_RESAMPLINGS = ("nearest", "average", "bilinear", "cubic", "mode")


def default_threads():
    """default_threads() -> int

    The number of worker threads threads=None means: TESSERA_NUM_THREADS
    when it is set to a positive number, else the CPUs this process may
    run on (its affinity mask, capped by a cgroup CPU quota)."""
    return _tessera.default_threads()


def _is_path(x):
    return isinstance(x, (str, bytes, os.PathLike))


def _fspath(x, what):
    if not _is_path(x):
        raise TypeError(f"{what}: expects a path (str, bytes or "
                        f"os.PathLike), got {type(x).__name__}")
    p = os.fsencode(os.fspath(x))
    if not p or b"\0" in p:
        raise ValueError(f"{what}: {x!r} is not a usable path")
    return p


def _number(v, what, lo=None, hi=None, lo_open=False):
    if isinstance(v, bool) or not isinstance(v, (int, float, np.number)):
        raise TypeError(f"{what}: expects a number, got {type(v).__name__}")
    v = float(v)
    if not math.isfinite(v):
        raise ValueError(f"{what}: expects a finite number, got {v}")
    if (lo is not None and (v < lo or (lo_open and v == lo))) or \
            (hi is not None and v > hi):
        low = "" if lo is None else f"{lo:g} {'<' if lo_open else '<='} "
        high = "" if hi is None else f" <= {hi:g}"
        raise ValueError(f"{what}: {v:g}: expects {low}{what}{high}")
    return v


def _integer(v, what, lo, hi):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"{what}: expects an integer, got "
                        f"{type(v).__name__}")
    v = int(v)
    if v < lo or v > hi:
        raise ValueError(f"{what}: {v} is not in {lo}..{hi}")
    return v


def _memory(v):
    """memory=: a budget in bytes, for _tessera.run's memory (0: the
    default)."""
    if v is None:
        return 0
    if isinstance(v, str):
        return _tessera.memory_parse(v)
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"memory: expects bytes (an int) or a size such as "
                        f"'512M', got {type(v).__name__}")
    if not 1 <= v < 2**64:
        raise ValueError(f"memory: {v}: expects 1 byte or more")
    return int(v)


def _flag(v, what):
    if not isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{what}: expects True or False, got {v!r}")
    return bool(v)


def _type_name(t, what):
    """A dtype-like (np.float32, "float32", "f4") as the library's name."""
    try:
        dt = np.dtype(t)
    except TypeError:
        raise TypeError(f"{what}: {t!r} is not a dtype") from None
    name = _DTYPES.get(dt.newbyteorder("="))
    if name is None:
        raise TypeError(f"{what}: {dt} is not one tessera takes "
                        f"({_TYPE_NAMES})")
    return name


def _as_image(a, what):
    """An array tessera can read as it is: a supported native dtype, 2-D or
    3-D, columns next to each other (copied otherwise)."""
    if not isinstance(a, np.ndarray):
        try:
            a = np.asarray(a)
        except Exception:
            raise TypeError(f"{what}: expects a path or a numpy array, got "
                            f"{type(a).__name__}") from None
        if a.dtype == object or a.ndim == 0:
            raise TypeError(f"{what}: expects a path or a numpy array, got "
                            f"{type(a).__name__}")
    if a.dtype == np.bool_:
        a = a.view(np.uint8)
    if a.dtype.newbyteorder("=") not in _DTYPES:
        raise TypeError(f"{what}: dtype {a.dtype} is not one tessera takes "
                        f"({_TYPE_NAMES}); convert it with .astype()")
    if not a.dtype.isnative:
        a = a.astype(a.dtype.newbyteorder("="))
    if a.ndim not in (2, 3):
        raise ValueError(f"{what}: shape {a.shape}: expects 2-D (rows, "
                         f"columns) or 3-D (bands, rows, columns)")
    if 0 in a.shape:
        raise ValueError(f"{what}: shape {a.shape} is empty")
    if max(a.shape) > 2**31 - 1:
        raise ValueError(f"{what}: shape {a.shape} is too large")
    if (a.strides[-1] != a.itemsize or min(a.strides) < 0
            or any(s % a.itemsize for s in a.strides)):
        a = np.ascontiguousarray(a)
    return a


class _Source:
    """One input: a file (path, and what info() says) or an array."""

    def __init__(self, src, what, nodata=None):
        if _is_path(src):
            self.path = _fspath(src, what)
            self.array = None
            self._info = None
            if nodata is not None:
                raise ValueError(f"{what}: nodata= is for arrays; a file's "
                                 f"nodata is its GDAL_NODATA tag")
        else:
            self.path = None
            self.array = _as_image(src, what)
            self.nodata = (None if nodata is None
                           else _nodata_value(nodata, "nodata"))

    @property
    def info(self):
        if self._info is None:
            self._info = _tessera.info(self.path)
        return self._info

    @property
    def shape(self):
        """(bands, height, width)"""
        if self.array is None:
            i = self.info
            return i["bands"], i["height"], i["width"]
        a = self.array
        return (1,) + a.shape if a.ndim == 2 else a.shape

    @property
    def type(self):
        if self.array is None:
            return self.info["type"]
        return _DTYPES[self.array.dtype]

    @property
    def in_nodata(self):
        if self.array is None:
            return self.info["nodata"]
        return self.nodata

    def run_input(self):
        return self.path if self.array is None else (self.array, self.nodata)


def _nodata_value(v, what):
    if isinstance(v, bool) or not isinstance(v, (int, float, np.number)):
        raise TypeError(f"{what}: expects a number, got {type(v).__name__}")
    return float(v)


def _split(kw, fname, extra=(), writes=True, arrays=True):
    """Checks the common keywords of fname; returns (options for
    _tessera.run, progress, array keywords)."""
    allowed = set(_RUN_KEYS) | set(extra)
    if writes:
        allowed |= set(_WRITE_KEYS)
    if arrays:
        allowed |= set(_ARRAY_KEYS)
    for k in kw:
        if k not in allowed:
            raise TypeError(f"{fname}() got an unexpected keyword argument "
                            f"{k!r}")
    o = {}
    threads = kw.get("threads")
    if threads is not None:
        o["threads"] = _integer(threads, "threads", 1, 4096)
    if kw.get("memory") is not None:
        o["memory"] = _memory(kw["memory"])
    progress = kw.get("progress")
    if progress is not None and not callable(progress):
        raise TypeError("progress: expects a callable(done, total)")
    tile = kw.get("tile", 256)
    if isinstance(tile, (tuple, list)) and len(tile) == 2:
        tw, th = tile
    else:
        tw = th = tile
    tw = _integer(tw, "tile", 16, 65536)
    th = _integer(th, "tile", 16, 65536)
    if tw % 16 or th % 16:
        raise ValueError(f"tile: {tw}x{th} is not a multiple of 16")
    o["tile_width"], o["tile_height"] = tw, th
    if writes:
        compress = kw.get("compress", "deflate")
        if compress is None:
            compress = "none"
        if not isinstance(compress, str):
            raise TypeError("compress: expects none, deflate, lzw or zstd")
        o["compress"] = compress.lower()
        level = kw.get("level")
        if level is not None:
            o["level"] = _integer(level, "level", 1, 22)
        predictor = kw.get("predictor")
        if predictor is not None and predictor != "auto":
            o["predictor"] = _integer(predictor, "predictor", 1, 3)
        bigtiff = kw.get("bigtiff", "auto")
        if isinstance(bigtiff, bool):
            bigtiff = "yes" if bigtiff else "no"
        if not isinstance(bigtiff, str):
            raise TypeError("bigtiff: expects auto, yes or no")
        o["bigtiff"] = bigtiff.lower()
        o["overwrite"] = _flag(kw.get("overwrite", False), "overwrite")
        o["cog"] = _flag(kw.get("cog", False), "cog")
        r = kw.get("overview_resampling")
        if r is not None:
            if not isinstance(r, str) or r.lower() not in _RESAMPLINGS:
                raise ValueError(f"overview_resampling: {r!r}: expects "
                                 f"nearest, average, bilinear, cubic or "
                                 f"mode")
            o["overview_resampling"] = r.lower()
        gt = kw.get("geotransform")
        if gt is not None:
            gt = tuple(_number(v, "geotransform") for v in gt)
            if len(gt) != 6:
                raise ValueError("geotransform: expects 6 numbers (GDAL's "
                                 "order)")
            o["geotransform"] = gt
        epsg = kw.get("epsg")
        if epsg is not None:
            if gt is None:
                raise ValueError("epsg: needs geotransform= too")
            o["epsg"] = _integer(epsg, "epsg", 1, 999999)
    return o, progress


def _res(kw, src):
    """The terrain pixel sizes: res=, else the file's geotransform (1, 1
    without one, as gdaldem), else (1, -1) for an array."""
    res = kw.get("res")
    if res is not None:
        if not isinstance(res, (tuple, list)) or len(res) != 2:
            raise TypeError("res: expects (ewres, nsres)")
        ew = _number(res[0], "res")
        ns = _number(res[1], "res")
        if ew == 0 or ns == 0:
            raise ValueError("res: pixel sizes cannot be 0")
        return ew, ns
    if src.array is not None:
        return 1.0, -1.0
    gt = src.info["geotransform"]
    return (gt[1], gt[5]) if gt else (1.0, 1.0)


def _out_array(shape_bhw, type_name, bands):
    _, h, w = shape_bhw
    dt = np.dtype(type_name)
    return np.empty((h, w) if bands == 1 else (bands, h, w), dtype=dt)


def _go(kernel, sources, dst, opts, progress, what="dst"):
    """Runs kernel over sources into dst (a path) or a new array."""
    inputs = [s.run_input() for s in sources]
    if dst is None:
        type_name, bands = kernel.output_format(sources[0].type,
                                                sources[0].shape[0])
        out = _out_array(sources[0].shape, type_name, bands)
        _tessera.run(kernel, inputs, out, progress=progress, **opts)
        return out
    path = _fspath(dst, what)
    _tessera.run(kernel, inputs, path, progress=progress, **opts)
    return None


def _write_opts_only_for_files(dst, kw, fname):
    if dst is None:
        for k in ("overwrite", "geotransform", "epsg", "cog",
                  "overview_resampling"):
            if kw.get(k):
                raise ValueError(f"{fname}: {k}= is for a dst path")


# ---------------------------------------------------------------------------
# terrain
# ---------------------------------------------------------------------------

def _alg(alg):
    if not isinstance(alg, str):
        raise TypeError("alg: expects 'horn' or 'zt'")
    a = alg.lower()
    if a == "horn":
        return False
    if a in ("zt", "zevenbergenthorne"):
        return True
    raise ValueError(f"alg: {alg!r}: expects 'horn' or 'zt' "
                     f"(ZevenbergenThorne)")


def _terrain(kind, fname, src, dst, o, kw):
    opts, progress = _split(kw, fname)
    _write_opts_only_for_files(dst, kw, fname)
    s = _Source(src, "src", kw.get("nodata"))
    band = _integer(o["band"], "band", 1, 65535)
    if band > s.shape[0]:
        raise ValueError(f"band: {band}: the source has {s.shape[0]} "
                         f"band(s)")
    ew, ns = _res(kw, s)
    modes = [m for m in ("multidirectional", "combined", "igor")
             if _flag(o.get(m, False), m)]
    if len(modes) > 1:
        raise ValueError(f"{' and '.join(modes)} exclude each other")
    k = _tessera.terrain(
        kind, _alg(o.get("alg", "horn")), ew, ns,
        _number(o.get("scale", 1.0), "scale", 0, lo_open=True),
        _number(o.get("z", 1.0), "z"),
        _number(o.get("azimuth", 315.0), "azimuth"),
        _number(o.get("altitude", 45.0), "altitude"),
        _flag(o.get("percent", False), "percent"),
        _flag(o.get("trigonometric", False), "trigonometric"),
        _flag(o.get("zero_for_flat", False), "zero_for_flat"),
        _flag(o.get("compute_edges", False), "compute_edges"),
        _flag(o.get("multidirectional", False), "multidirectional"),
        _flag(o.get("combined", False), "combined"), band - 1,
        o.get("tri_alg", 0), _flag(o.get("igor", False), "igor"))
    return _go(k, [s], dst, opts, progress)


def hillshade(src, dst=None, *, z=1.0, scale=1.0, azimuth=315.0,
              altitude=45.0, alg="horn", multidirectional=False,
              combined=False, compute_edges=False, band=1, igor=False,
              **kw):
    """Shaded relief of a DEM, as gdaldem hillshade: uint8, 1 (dark) to 255,
    0 for nodata; flat ground under the default sun is 181.

    src              the DEM: a path, or a numpy array (res= its pixel size)
    dst              a path to write, or None to return a uint8 array
    z                vertical exaggeration
    scale            horizontal units per vertical unit (111120 for a DEM
                     in degrees with elevations in metres)
    azimuth          sun direction, degrees clockwise from north
    altitude         sun height above the horizon, degrees
    alg              "horn" (Horn's 3x3 derivatives) or "zt"
                     (Zevenbergen-Thorne)
    multidirectional blend of suns at 225, 270, 315 and 360 degrees
    combined         shading combined with slope (not with
                     multidirectional)
    igor             Igor Vasiljevic's shading (gdaldem -igor): no sun
                     elevation, slope times how far the ground faces
                     away from the sun; 0..255 (not with the two above)
    compute_edges    extrapolate at the raster's edges and next to nodata
                     instead of writing nodata there, as gdaldem
                     -compute_edges
    band             the DEM's band, 1-based

    Pixel sizes come from the file's geotransform (1 and 1 without one, as
    gdaldem), or from res= for an array (default (1.0, -1.0)). The outer
    ring of pixels, and every pixel whose 3x3 window touches nodata, are 0
    unless compute_edges. The result is the same, bit for bit, at any
    thread count, and equals raster-tool hillshade's.

    Returns None when dst is a path, else the array. Raises TesseraError
    (an unreadable file, an existing dst without overwrite=True),
    TypeError or ValueError (bad arguments). Common keywords: see
    help(tessera).

    >>> tessera.hillshade("dem.tif", "shade.tif", z=2, compute_edges=True)
    >>> shade = tessera.hillshade(dem_array, res=(30.0, -30.0))
    """
    return _terrain(2, "hillshade", src, dst, dict(
        z=z, scale=scale, azimuth=azimuth, altitude=altitude, alg=alg,
        multidirectional=multidirectional, combined=combined,
        compute_edges=compute_edges, band=band, igor=igor), kw)


def slope(src, dst=None, *, percent=False, scale=1.0, alg="horn",
          compute_edges=False, band=1, **kw):
    """Slope of a DEM, as gdaldem slope: float32 degrees (or percent), nodata
    -9999: atan(sqrt(dx^2 + dy^2)) with dx, dy the 3x3 derivatives over the
    pixel sizes.

    src            the DEM: a path, or a numpy array (res= its pixel size)
    dst            a path to write, or None to return a float32 array
    percent        100 * rise / run instead of degrees
    scale          horizontal units per vertical unit
    alg            "horn" or "zt" (Zevenbergen-Thorne)
    compute_edges  extrapolate at the edges and next to nodata
    band           the DEM's band, 1-based

    Returns None when dst is a path, else the array. Common keywords: see
    help(tessera).

    >>> tessera.slope("dem.tif", "slope.tif", percent=True)
    """
    return _terrain(0, "slope", src, dst, dict(
        percent=percent, scale=scale, alg=alg, compute_edges=compute_edges,
        band=band), kw)


def aspect(src, dst=None, *, trigonometric=False, zero_for_flat=False,
           alg="horn", compute_edges=False, band=1, **kw):
    """Aspect of a DEM, as gdaldem aspect: the direction of steepest descent
    in float32 degrees clockwise from north (0 north, 90 east, 180 south,
    270 west), nodata -9999; flat cells are nodata.

    src            the DEM: a path, or a numpy array (res= its pixel size)
    dst            a path to write, or None to return a float32 array
    trigonometric  degrees counter-clockwise from east instead
    zero_for_flat  0 for flat cells; the output then has no nodata, and
                   nodata cells are 0 too (as gdaldem)
    alg            "horn" or "zt" (Zevenbergen-Thorne)
    compute_edges  extrapolate at the edges and next to nodata
    band           the DEM's band, 1-based

    Returns None when dst is a path, else the array. Common keywords: see
    help(tessera).
    """
    return _terrain(1, "aspect", src, dst, dict(
        trigonometric=trigonometric, zero_for_flat=zero_for_flat, alg=alg,
        compute_edges=compute_edges, band=band), kw)


_TRI_ALGS = {"riley": 0, "wilson": 1}


def tri(src, dst=None, *, alg="riley", compute_edges=False, band=1, **kw):
    """Terrain ruggedness index, as gdaldem TRI: float32 in elevation units,
    nodata -9999, from the 8 differences between a cell and its neighbours.

    src            the DEM: a path, or a numpy array
    dst            a path to write, or None to return a float32 array
    alg            "riley" (the root of the sum of the squared
                   differences; gdaldem's default, for terrestrial DEMs)
                   or "wilson" (their mean absolute value, for bathymetry)
    compute_edges  extrapolate at the edges and next to nodata
    band           the DEM's band, 1-based

    Sums are in double precision (gdaldem sums in float32; the two differ
    by that rounding). Pixel sizes do not enter. Returns None when dst is
    a path, else the array. Common keywords: see help(tessera).

    >>> rugged = tessera.tri("bathymetry.tif", alg="wilson")
    """
    if not isinstance(alg, str):
        raise TypeError("alg: expects 'riley' or 'wilson'")
    a = _TRI_ALGS.get(alg.lower())
    if a is None:
        raise ValueError(f"alg: {alg!r}: expects 'riley' or 'wilson'")
    return _terrain(3, "tri", src, dst, dict(
        tri_alg=a, compute_edges=compute_edges, band=band), kw)


def tpi(src, dst=None, *, compute_edges=False, band=1, **kw):
    """Topographic position index, as gdaldem TPI: a cell minus the mean of
    its 8 neighbours, float32 in elevation units, nodata -9999; positive on
    ridges, negative in valleys.

    Same arguments as tri() but alg. Returns None when dst is a path, else
    the array.

    >>> ridges = tessera.tpi(dem) > 5
    """
    return _terrain(4, "tpi", src, dst, dict(
        compute_edges=compute_edges, band=band), kw)


def roughness(src, dst=None, *, compute_edges=False, band=1, **kw):
    """Roughness, as gdaldem roughness: the largest minus the smallest value
    of a cell's 3x3 window, float32, nodata -9999.

    Same arguments as tri() but alg. Returns None when dst is a path, else
    the array.
    """
    return _terrain(5, "roughness", src, dst, dict(
        compute_edges=compute_edges, band=band), kw)


_COLOR_MODES = {"interpolate": 0, "exact": 1, "nearest": 2}


def _error(message, code):
    """A TesseraError as the library raises it: str() the message, .code
    the negative error code."""
    e = TesseraError(message)
    e.code = code
    return e


def _color_text(colors):
    """The colour file's text from a path or from a list of entries."""
    if _is_path(colors):
        path = _fspath(colors, "colors")
        name = os.fsdecode(path)
        try:
            with open(path, "rb") as f:
                data = f.read((16 << 20) + 1)
        except OSError as e:
            raise _error(f"{name}: {e.strerror}", -e.errno) from None
        if len(data) > 16 << 20:
            raise _error(f"{name}: larger than 16 MiB: not a colour file",
                         -errno.EFBIG)
        if b"\0" in data:
            raise _error(f"{name}: not a text file", -errno.EINVAL)
        return data.decode("latin-1")
    if isinstance(colors, (list, tuple)) and colors:
        lines = []
        for i, e in enumerate(colors):
            what = f"colors[{i}]"
            named = (isinstance(e, (list, tuple)) and len(e) in (2, 3)
                     and isinstance(e[1], str))
            if not isinstance(e, (list, tuple)) or not (
                    named or len(e) in (4, 5)):
                raise TypeError(f"{what}: expects (value, r, g, b[, a]) or "
                                f"(value, name[, a])")
            v = e[0]
            if isinstance(v, str):  # "nv" or "N%"
                if not v.strip() or any(c.isspace() for c in v.strip()):
                    raise ValueError(f"{what}: value {v!r}")
                v = v.strip()
            else:
                v = repr(_number(v, what))
            if named:
                if not e[1].isalpha():
                    raise ValueError(f"{what}: colour name {e[1]!r}")
                rest = [e[1]] + [str(_integer(c, what, 0, 255))
                                 for c in e[2:]]
            else:
                rest = [str(_integer(c, what, 0, 255)) for c in e[1:]]
            lines.append(" ".join([v] + rest))
        return "\n".join(lines) + "\n"
    raise TypeError("colors: expects a colour file's path or a non-empty "
                    "list of (value, r, g, b[, a]) entries")


def color_relief(src, colors, dst=None, *, mode="interpolate", alpha=False,
                 band=1, **kw):
    """Colour relief, as gdaldem color-relief: each value of a band gets a
    colour from a colour file; uint8 RGB (RGBA with alpha=True), three (or
    four) bands, no nodata.

    src     a path, or a numpy array (nodata= its nodata)
    colors  a colour file's path, in gdaldem's format: lines "VALUE R G B
            [A]" or "VALUE NAME [A]", VALUE a number, "N%" of the band's
            range or "nv" (nodata); a GMT .cpt file too. Or a list of
            entries: [(0, 0, 0, 255), (1000, "white"), ("nv", 0, 0, 0, 0)]
    dst     a path to write, or None to return a (3 or 4, rows, columns)
            uint8 array
    mode    "interpolate" (linear between the two entries around a value,
            gdaldem's default), "exact" (an entry's own value only; other
            values are 0,0,0,0) or "nearest" (the nearer entry)
    alpha   a fourth band: the entries' alpha (255 where not given)
    band    the band to colour, 1-based

    The colours equal gdaldem 3.6's byte for byte (its sorting, rounding,
    repeated values, entries next to nodata); with mode="exact" every
    entry matches (3.6 matched only the lowest, a bug later releases
    fixed). Percentages take a first pass over the band for its range.
    A line gdaldem would silently misread (an unknown colour name, a
    component outside 0..255) raises TesseraError naming its line.

    >>> rgb = tessera.color_relief(dem, [(0, "blue"), (500, "green"),
    ...                                  (2000, "white")])
    >>> tessera.color_relief("dem.tif", "ramp.txt", "relief.tif", alpha=True)
    """
    opts, progress = _split(kw, "color_relief")
    _write_opts_only_for_files(dst, kw, "color_relief")
    if not isinstance(mode, str) or mode.lower() not in _COLOR_MODES:
        raise ValueError(f"mode: {mode!r}: expects 'interpolate', 'exact' "
                         f"or 'nearest'")
    alpha = _flag(alpha, "alpha")
    text = _color_text(colors)
    if "\0" in text:
        raise ValueError("colors: holds a NUL character")
    s = _Source(src, "src", kw.get("nodata"))
    b = _integer(band, "band", 1, 65535)
    if b > s.shape[0]:
        raise ValueError(f"band: {b}: the source has {s.shape[0]} band(s)")
    _, _, percent, _, _ = _tessera.color_scan(text)
    rng = None
    if percent:
        # "N%" is of the band's range over valid pixels: a first pass, as
        # raster-tool color-relief takes
        skw = {k: kw[k] for k in ("threads", "tile", "memory") if k in kw}
        if s.array is None:
            one = stats(s.path, **skw)[b - 1]
        else:
            a = s.array if s.array.ndim == 2 else s.array[b - 1]
            one = stats(a, nodata=s.nodata, **skw)[0]
        if not one["count"]:
            where = os.fsdecode(s.path) if s.path else "src"
            raise _error(f"{where}: band {b} has no valid pixels "
                         f"for the colour file's percentages", -errno.EINVAL)
        rng = (one["min"], one["max"])
    k = _tessera.color_relief(text, _COLOR_MODES[mode.lower()], alpha, b - 1,
                              s.in_nodata, rng, s.type)
    if dst is not None:
        # tagged as gdaldem tags it: photometric RGB, unassociated alpha
        opts["rgb"] = True
        opts["alpha"] = alpha
    return _go(k, [s], dst, opts, progress)


# ---------------------------------------------------------------------------
# band math
# ---------------------------------------------------------------------------

def _fits(v, type_name):
    """Whether nodata v survives a trip through type_name (NaN included)."""
    back = np.array([v], dtype=np.float64).astype(type_name).astype(
        np.float64)[0]
    return back == v or (math.isnan(v) and math.isnan(back))


def calc(expr, dst=None, *, type="float32", nodata=None, **kw):
    """calc(expr, dst=None, *, type="float32", nodata=None, A=..., B=...,
    input_nodata=None, **kw)

    Band math, as raster-tool calc and gdal_calc: evaluates expr for every
    pixel of the inputs A to Z (all paths, or all arrays, of one size) and
    returns or writes one band of type.

    expr          numbers, + - * / % ^ (power, right-associative), unary -,
                  < <= > >= == != (1 or 0), && || !, parentheses, and
                  where(c, a, b) min max abs sqrt exp log log10 pow sin cos
                  tan atan2 floor ceil round clamp(x, lo, hi) isnodata(A).
                  A is band 1 of input A, A[2] its band 2.
    dst           a path to write, or None to return an array
    type          the output's type (float32)
    nodata        the output's nodata; by default that of the first input
                  the expression reads that has one, when type can hold it,
                  else gdal_calc's (0 for uint8, the type's extreme else)
    A=, B=, ...   the inputs
    input_nodata  for array inputs: one nodata for all, or a dict
                  {"A": value, ...}

    Nodata: an input pixel that is nodata makes every operation that reads
    it nodata; isnodata() tests it, where() reads only the branch it
    chooses, && and || decide when one side is known. A nodata or NaN
    result is written as the output's nodata.

    A typo in expr raises TesseraError with the column:
    "expression: unexpected ')' at column 12". Common keywords: see
    help(tessera).

    >>> ndvi = tessera.calc("(A - B) / (A + B)", A=nir, B=red)
    >>> tessera.calc("where(A > 1000, 1, 0)", "mask.tif", type="uint8",
    ...              A="dem.tif")
    """
    letters = {k: kw.pop(k) for k in list(kw)
               if len(k) == 1 and "A" <= k <= "Z"}
    input_nodata = kw.pop("input_nodata", None)
    opts, progress = _split(kw, "calc", arrays=False)
    _write_opts_only_for_files(dst, kw, "calc")
    if not isinstance(expr, str):
        raise TypeError(f"expr: expects a str, got "
                        f"{expr.__class__.__name__}")
    out_type = _type_name(type, "type")
    if nodata is not None:
        nodata = _nodata_value(nodata, "nodata")
    if not letters:
        raise ValueError("calc: needs at least one input (A=path or array)")
    if input_nodata is None:
        nd_of = {}
    elif isinstance(input_nodata, dict):
        nd_of = dict(input_nodata)
        for k in nd_of:
            if k not in letters:
                raise ValueError(f"input_nodata: there is no input {k}")
    else:
        nd_of = {k: input_nodata for k in letters}
    sources = {k: _Source(letters[k], k, nd_of.get(k))
               for k in sorted(letters)}
    files = {s.array is None for s in sources.values()}
    if len(files) > 1:
        raise TypeError("calc: inputs are all paths or all arrays, not both")
    used, max_band = _tessera.calc_inputs(expr)   # TesseraError on a typo
    for c in used:
        if c not in sources:
            raise ValueError(f"calc: the expression reads {c} but there is "
                             f"no {c}= input")
    shapes = {k: s.shape for k, s in sources.items()}
    first = sorted(sources)[0]
    for k, s in sources.items():
        if s.shape[1:] != shapes[first][1:]:
            raise ValueError(f"calc: input {k} is {s.shape[2]}x{s.shape[1]}, "
                             f"input {first} {shapes[first][2]}x"
                             f"{shapes[first][1]}")
        want = max_band[ord(k) - ord("A")]
        if want > s.shape[0]:
            raise ValueError(f"calc: input {k} has {s.shape[0]} band(s); "
                             f"the expression reads {k}[{want}]")
    run_letters = used or first
    if nodata is None:
        for c in run_letters:
            v = sources[c].in_nodata
            if v is not None and _fits(v, out_type):
                nodata = v
                break
    k = _tessera.calc(expr, run_letters, out_type, nodata)
    return _go(k, [sources[c] for c in run_letters], dst, opts, progress)


# ---------------------------------------------------------------------------
# filters
# ---------------------------------------------------------------------------

def _weights_text(weights):
    if isinstance(weights, str):
        return weights
    try:
        w = np.asarray(weights, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError("weights: expects a 2-D array or a string such as "
                        "\"1 2 1; 2 4 2; 1 2 1\"") from None
    if w.ndim != 2:
        raise ValueError(f"weights: shape {w.shape}: expects 2-D")
    h, wd = w.shape
    if h % 2 == 0 or wd % 2 == 0 or h > _tessera.CONVOLVE_MAX or \
            wd > _tessera.CONVOLVE_MAX:
        raise ValueError(f"weights: {wd}x{h}: sides must be odd and at most "
                         f"{_tessera.CONVOLVE_MAX}")
    if not np.all(np.isfinite(w)):
        raise ValueError("weights: not all finite")
    return "; ".join(" ".join(repr(float(x)) for x in row) for row in w)


def convolve(src, weights, dst=None, *, normalize=False, **kw):
    """convolve(src, weights, dst=None, *, normalize=False, type=None, **kw)

    Weighted sum of each pixel's neighbourhood, every band: the weights
    applied as written (correlation, not flipped) and centred on the pixel.
    Beyond the raster's edges the edge pixels are repeated; a nodata pixel
    stays nodata and a nodata neighbour counts as the centre's value.

    src        a path or an array
    weights    a 2-D array with odd sides up to 63, or rows as text:
               "0 -1 0; -1 5 -1; 0 -1 0"
    dst        a path to write, or None to return an array
    normalize  divide the weights by their sum (when it is not 0)
    type       the output's type (the input's; integers round and saturate)

    Common keywords: see help(tessera).

    >>> sharp = tessera.convolve(img, [[0, -1, 0], [-1, 5, -1], [0, -1, 0]])
    """
    out_type = kw.pop("type", None)
    opts, progress = _split(kw, "convolve")
    _write_opts_only_for_files(dst, kw, "convolve")
    text = _weights_text(weights)
    s = _Source(src, "src", kw.get("nodata"))
    t = None if out_type is None else _type_name(out_type, "type")
    k = _tessera.convolve(text, _flag(normalize, "normalize"))
    if t:
        k.set_out_type(t)
    return _go(k, [s], dst, opts, progress)


def blur(src, sigma, dst=None, **kw):
    """blur(src, sigma, dst=None, *, type=None, **kw)

    Separable Gaussian blur of every band with standard deviation sigma
    pixels (0 < sigma <= 80), over a radius of ceil(3 sigma). Beyond the
    edges the edge pixels are repeated; nodata pixels stay nodata and give
    no weight to their neighbours.

    src    a path or an array
    sigma  the standard deviation, pixels
    dst    a path to write, or None to return an array
    type   the output's type (the input's)

    Common keywords: see help(tessera).

    >>> smooth = tessera.blur("dem.tif", 2.5)
    """
    out_type = kw.pop("type", None)
    opts, progress = _split(kw, "blur")
    _write_opts_only_for_files(dst, kw, "blur")
    sg = _number(sigma, "sigma", 0, _tessera.BLUR_MAX_SIGMA, lo_open=True)
    s = _Source(src, "src", kw.get("nodata"))
    t = None if out_type is None else _type_name(out_type, "type")
    k = _tessera.blur(sg)
    if t:
        k.set_out_type(t)
    return _go(k, [s], dst, opts, progress)


# ---------------------------------------------------------------------------
# statistics, conversion, description
# ---------------------------------------------------------------------------

def stats(src, *, bins=0, range=None, **kw):
    """stats(src, *, bins=0, range=None, threads=None, progress=None,
    nodata=None, memory=None)

    Per-band statistics: a list with one dict per band, with
        count         valid pixels
        nodata_count  nodata pixels (NaN counts as nodata)
        min, max, mean, std   (population standard deviation; NaN when
                      count is 0)
    and, when bins > 0,
        hist          a numpy array of bins counts (uint64) over range
        hist_range    (lo, hi): range, or the band's (min, max), which
                      takes a second pass

    Sums are pairwise per tile and tiles merge in a fixed order: the
    numbers are the same at any thread count, and equal raster-tool
    stats'.

    Each tile in flight keeps a partial histogram of bands x bins counts
    (8 bytes each): a run that would exceed memory= (see help(tessera))
    raises MemoryBudgetError before it allocates them.

    >>> [b["mean"] for b in tessera.stats("dem.tif")]
    """
    opts, progress = _split(kw, "stats", writes=False)
    bins = _integer(bins, "bins", 0, _tessera.STATS_MAX_BINS)
    if range is not None:
        if not isinstance(range, (tuple, list)) or len(range) != 2:
            raise TypeError("range: expects (lo, hi)")
        lo = _number(range[0], "range")
        hi = _number(range[1], "range")
        if hi < lo:
            raise ValueError(f"range: ({lo:g}, {hi:g}): hi < lo")
        if not bins:
            raise ValueError("range: needs bins > 0")
    s = _Source(src, "src", kw.get("nodata"))
    nb = s.shape[0]

    def one(nbins, lo, hi, prog):
        k = _tessera.stats(nb, nbins, lo, hi)
        res = _tessera.run(k, [s.run_input()], None, progress=prog, **opts)
        return _tessera.stats_unpack(res, nb, nbins)

    los = [range[0] if range else 0.0] * nb
    his = [range[1] if range else 0.0] * nb
    # without a range, the histogram spans each band's min..max: a first
    # pass finds them (progress counts both passes)
    two = bins > 0 and range is None
    p1 = p2 = progress
    if two and progress is not None:
        def p1(d, t):
            progress(d, 2 * t)

        def p2(d, t):
            progress(t + d, 2 * t)
    base = one(0 if two else bins, los, his, p1)
    hists = [r[6] for r in base]
    if two:
        los = [r[2] if r[0] else 0.0 for r in base]
        his = [r[3] if r[0] else 0.0 for r in base]
        hists = [r[6] for r in one(bins, los, his, p2)]
    out = []
    for i, r in enumerate(base):
        d = {"count": r[0], "nodata_count": r[1], "min": r[2], "max": r[3],
             "mean": r[4], "std": r[5]}
        if bins:
            d["hist"] = np.frombuffer(hists[i], dtype=np.uint64).copy()
            d["hist_range"] = (los[i], his[i])
        out.append(d)
    return out


def convert(src, dst, *, type=None, bands=None, **kw):
    """Copies src to dst, changing the sample type (float to integer rounds to
    nearest, halves away from zero, and saturates; NaN becomes 0) and
    choosing or reordering bands. A path dst is a tiled, compressed
    GeoTIFF with src's georeferencing and nodata: this
    is how an array becomes a GeoTIFF (geotransform= and epsg= place it),
    and, with dst=None, how a file is read into an array.

    src    a path or an array
    dst    a path, or None to return an array
    type   the output's type (the input's)
    bands  1-based bands to keep, in order: [3, 2, 1]

    From a file to a file, the output keeps what the bands mean where
    they keep it, as raster-tool convert does (the same rule in the C
    library; the same file, byte for byte, for the same arguments, cog=
    included): a palette band's colour table while its type is kept
    (one band); photometric RGB while bands 1-3 stay the input's 1-3 in
    order; an alpha band, associated (premultiplied) or not as it was,
    while it is the last of two or more bands (four or more with RGB),
    whatever the type. info() of the output shows them (color_table,
    rgb, alpha_band, alpha_associated). An array has none of these: its
    output is grey bands.

    Common keywords: see help(tessera).

    >>> tessera.convert(array, "out.tif", geotransform=gt, epsg=32633)
    >>> rgb = tessera.convert("scene.tif", None, bands=[4, 3, 2])
    """
    opts, progress = _split(kw, "convert")
    _write_opts_only_for_files(dst, kw, "convert")
    s = _Source(src, "src", kw.get("nodata"))
    t = None if type is None else _type_name(type, "type")
    bmap = None
    if bands is not None:
        if isinstance(bands, (int, np.integer)):
            bands = [bands]
        bmap = [_integer(b, "bands", 1, 65535) - 1 for b in bands]
        if not bmap:
            raise ValueError("bands: expects at least one band")
        for b in bmap:
            if b >= s.shape[0]:
                raise ValueError(f"bands: {b + 1}: the source has "
                                 f"{s.shape[0]} band(s)")
    k = _tessera.convert(bmap, t)
    return _go(k, [s], dst, opts, progress)


def info(path):
    """info(path) -> dict

    What raster-tool info --json says of a TIFF: file, width, height,
    bands, type ("float32", ...), tiled, block_width, block_height, planar,
    compression ("deflate", ...), predictor, bigtiff, file_size (bytes),
    nodata (a float, NaN included, or None), geotransform (GDAL's 6
    numbers, or None), epsg (int or None), bits (per sample as stored), rgb
    (bool), alpha_band (1-based, or None), alpha_associated (True when that
    alpha is associated: the colours are premultiplied by it), color_table
    (None, or {"count": n, "entries": [[red, green, blue, 255], ...]} as
    GDAL shows it) and overviews ([{"width", "height", "external"}, ...]).

    Raises TesseraError for a file tessera cannot read, with the reason.
    """
    return _tessera.info(_fspath(path, "path"))


def overviews(path, *, resampling="nearest", external=False, min_size=256,
              tile=None, level=None, threads=None, progress=None,
              memory=None):
    """Adds overviews to the GeoTIFF at path, as gdaladdo (and raster-tool
    overviews) does: reduced-resolution images, each half the size of the
    one above (rounded up) and computed from it, until both sides are at
    most min_size pixels. QGIS, GDAL and web map servers then draw a large
    raster at a small scale from these instead of the full resolution.

    path        the GeoTIFF (str, bytes or os.PathLike), changed in place
    resampling  how a level is made from the one above: "nearest" (the
                default, as gdaladdo), "average", "bilinear", "cubic",
                "mode", or "auto" (nearest for a palette image, else
                cubic, as GDAL's COG driver and overview_resampling=None);
                the formulas are GDAL's, see tessera_raster(3)
    external    write path + ".ovr" (gdaladdo -ro) and leave path's bytes
                as they are, instead of storing the levels inside path
                (where they replace the overviews it had)
    min_size    stop once both sides are at most this many pixels
    tile        the levels' tile size, a multiple of 16; None: path's
                own when it is tiled with square tiles, else 256
    level       compression level for path's codec (the levels use
                path's compression when it is none, deflate, lzw or
                zstd, else deflate, and its predictor); None: the codec's
                default

    Atomic: path (or path.ovr) is rewritten beside itself and renamed into
    place only when complete, so an error, an exception raised in
    progress, or Ctrl-C (KeyboardInterrupt, within a moment) leaves it as
    it was. A raster already at most min_size on both sides gets no level
    and is left alone. The bytes written are raster-tool overviews' with
    the same options, at any thread count; info(path)["overviews"] lists
    the levels.

    Returns None. Raises TesseraError with the library's line (a missing
    or unreadable file, a folder it cannot write in, a TIFF with pages or
    masks after its image, which takes external=True only), TypeError or
    ValueError (bad arguments, before any work), MemoryBudgetError (the
    levels' tiles in flight, the file's decoded blocks and the stores
    would exceed memory=). threads, progress and memory: see
    help(tessera); progress counts the levels' tiles.

    >>> tessera.overviews("dem.tif", resampling="average")
    >>> tessera.overviews("scene.tif", external=True, min_size=128)
    """
    p = _fspath(path, "path")
    if not isinstance(resampling, str):
        raise TypeError(f"resampling: expects a name, got "
                        f"{type(resampling).__name__}")
    r = resampling.lower()
    if r not in _RESAMPLINGS + ("auto",):
        raise ValueError(f"resampling: {resampling!r}: expects nearest, "
                         f"average, bilinear, cubic, mode or auto")
    o = {"resampling": r, "external": _flag(external, "external"),
         "min_size": _integer(min_size, "min_size", 1, 2**30)}
    if tile is not None:
        if isinstance(tile, (tuple, list)) and len(tile) == 2:
            if tile[0] != tile[1]:
                raise ValueError(f"tile: {tile[0]}x{tile[1]}: overviews "
                                 f"take square tiles")
            tile = tile[0]
        tile = _integer(tile, "tile", 16, 65536)
        if tile % 16:
            raise ValueError(f"tile: {tile} is not a multiple of 16")
        o["tile"] = tile
    if level is not None:
        o["level"] = _integer(level, "level", 1, 22)
    if threads is not None:
        o["threads"] = _integer(threads, "threads", 1, 4096)
    if memory is not None:
        o["memory"] = _memory(memory)
    if progress is not None and not callable(progress):
        raise TypeError("progress: expects a callable(done, total)")
    _tessera.overviews(p, progress=progress, **o)
    return None


def synth(dst=None, *, size, seed=1, type="float32", relief=2500.0,
          feature=1024.0, octaves=8, holes=0.0, nodata=-9999.0, **kw):
    """A synthetic DEM (multi-octave gradient noise: hills and ridges), as
    raster-tool synth: the same seed and options give the same pixels at
    any size of tile or thread count. A file is georeferenced in UTM zone
    33N (EPSG:32633) with 30 m pixels unless geotransform= says otherwise.

    size     (width, height) in pixels, or one int for a square
    seed     the random seed
    relief   metres from lowest to highest
    feature  wavelength of the largest hills, pixels (>= 2)
    octaves  detail levels, 1..24
    holes    fraction of pixels in nodata holes, 0..0.5
    nodata   the value of the holes

    >>> dem = tessera.synth(size=(2000, 1500), seed=7)
    """
    opts, progress = _split(kw, "synth", arrays=False)
    _write_opts_only_for_files(dst, kw, "synth")
    if isinstance(size, (int, np.integer)):
        size = (size, size)
    if not isinstance(size, (tuple, list)) or len(size) != 2:
        raise TypeError("size: expects (width, height)")
    w = _integer(size[0], "size", 1, 2**31 - 1)
    h = _integer(size[1], "size", 1, 2**31 - 1)
    t = _type_name(type, "type")
    k = _tessera.synth(
        _integer(seed, "seed", 0, 2**64 - 1),
        _integer(octaves, "octaves", 1, 24),
        _number(feature, "feature", 2), _number(relief, "relief", 0,
                                                lo_open=True),
        0.0, _number(holes, "holes", 0, 0.5), _number(nodata, "nodata"), t)
    if dst is None:
        out = np.empty((h, w), dtype=np.dtype(t))
        _tessera.run(k, [], out, width=w, height=h, progress=progress,
                     **opts)
        return out
    if "geotransform" not in opts:
        gt, epsg = _tessera.synth_geotransform()
        opts["geotransform"], opts["epsg"] = gt, epsg
    _tessera.run(k, [], _fspath(dst, "dst"), width=w, height=h,
                 progress=progress, **opts)
    return None


# ---------------------------------------------------------------------------
# map_tiles
# ---------------------------------------------------------------------------

def _tile_caller(fn, out_dtype, out_bands, across):
    """The callable the C side calls per tile (on a pool worker, with the
    GIL): views the windows as arrays, calls fn, checks what it returns."""
    want2 = out_bands == 1

    def where(tile, x0, y0, w, h):
        return (f"tile {tile} (row {tile // across}, column {tile % across}"
                f"; output pixels x {x0}..{x0 + w - 1}, y {y0}..{y0 + h - 1})")

    def call(bufs, tile, x0, y0, w, h):
        views = [np.asarray(b) for b in bufs]
        try:
            out = fn(*views)
        except BaseException as e:
            if hasattr(e, "add_note"):
                e.add_note(f"in tessera.map_tiles: fn raised at "
                           f"{where(tile, x0, y0, w, h)}")
            raise
        if not isinstance(out, np.ndarray):
            raise TypeError(f"map_tiles: fn returned {type(out).__name__}, "
                            f"not a numpy array, at "
                            f"{where(tile, x0, y0, w, h)}")
        shape = (h, w) if want2 else (out_bands, h, w)
        if out.shape != shape and not (want2 and out.shape == (1, h, w)):
            raise ValueError(f"map_tiles: fn returned shape {out.shape} at "
                             f"{where(tile, x0, y0, w, h)}; the tile needs "
                             f"{shape}")
        if out.dtype != out_dtype:
            raise TypeError(f"map_tiles: fn returned {out.dtype} at "
                            f"{where(tile, x0, y0, w, h)}; the output is "
                            f"{out_dtype} (return .astype(np.{out_dtype}), "
                            f"or pass dtype=)")
        return np.ascontiguousarray(out)

    return call


def map_tiles(fn, src, dst, *, halo=0, dtype=None, out_bands=None, **kw):
    """map_tiles(fn, src, dst, *, halo=0, dtype=None, out_bands=None,
    out_nodata=None, **kw)

    Runs fn, a Python function of numpy arrays, over every output tile on
    tessera's pool: tessera decodes, assembles windows, compresses and
    writes in C on every worker, and calls fn on several workers at once,
    taking the GIL only around each call; numpy releases it inside its
    operations, so a numpy-heavy fn runs in parallel. Memory stays bounded
    by the tiles in flight, not by the raster's size.

    fn          fn(tile) -> array: tile is a read-only numpy view of the
                output tile's input window, bands first (2-D for one band),
                with halo extra pixels on each side (edges replicated
                beyond the raster); fn returns the output tile: (rows,
                columns) without halo, or (out_bands, rows, columns). With
                several sources, fn(a, b, ...) gets one window of each.
                Tiles at the right and bottom edges are smaller.
    src         a path or an array, or a list of them (of one size)
    dst         a path to write, or None to return an array
    halo        pixels of context on each side of a tile
    dtype       the output's dtype (src's); fn must return exactly it
    out_bands   the output's band count (src's)
    out_nodata  the output's nodata: None (src's, as dtype stores it),
                a number, or "none"

    The output is identical at any thread count when fn is deterministic
    (tiles are written in a fixed order). A window stays valid as long as
    fn keeps a reference to it.

    An exception in fn stops the run (no more tiles start), leaves no
    output, and is re-raised here with a note naming the tile; a returned
    array of the wrong shape or dtype is a ValueError or TypeError naming
    the tile. Common keywords: see help(tessera).

    >>> def ndwi(t):                      # t: (bands, rows, columns)
    ...     g, n = t[1].astype(np.float32), t[3].astype(np.float32)
    ...     return (g - n) / (g + n + 1e-6)
    >>> tessera.map_tiles(ndwi, "scene.tif", "ndwi.tif", dtype=np.float32,
    ...                   out_bands=1)
    """
    out_nodata = kw.pop("out_nodata", None)
    if not callable(fn):
        raise TypeError(f"fn: expects a callable, got {type(fn).__name__}")
    opts, progress = _split(kw, "map_tiles")
    _write_opts_only_for_files(dst, kw, "map_tiles")
    srcs = list(src) if isinstance(src, (list, tuple)) else [src]
    if not srcs or len(srcs) > 26:
        raise ValueError("src: expects 1 to 26 sources")
    sources = [_Source(s, f"src {i}" if len(srcs) > 1 else "src",
                       kw.get("nodata")) for i, s in enumerate(srcs)]
    if len({s.array is None for s in sources}) > 1:
        raise TypeError("src: all paths or all arrays, not both")
    for s in sources[1:]:
        if s.shape[1:] != sources[0].shape[1:]:
            raise ValueError(f"src: sizes differ: {s.shape[2]}x{s.shape[1]} "
                             f"and {sources[0].shape[2]}x"
                             f"{sources[0].shape[1]}")
    halo = _integer(halo, "halo", 0, 4096)
    t = sources[0].type if dtype is None else _type_name(dtype, "dtype")
    nb = sources[0].shape[0] if out_bands is None else \
        _integer(out_bands, "out_bands", 1, 65535)
    if out_nodata is None:
        nd_mode, nd = 0, 0.0
    elif isinstance(out_nodata, str) and out_nodata.lower() == "none":
        nd_mode, nd = 1, 0.0
    else:
        nd_mode, nd = 2, _nodata_value(out_nodata, "out_nodata")
    _, h, w = sources[0].shape
    across = -(-w // opts["tile_width"])
    call = _tile_caller(fn, np.dtype(t), nb, across)
    k = _tessera.pytiles(call, halo, t, nb, len(sources), nd_mode, nd)
    return _go(k, sources, dst, opts, progress)
