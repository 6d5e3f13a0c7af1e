"""convert keeps what the bands mean, as raster-tool convert does: a
palette's colour table (while the type is kept), photometric RGB (while
bands 1-3 stay first and in order) and an alpha band (while it is the
last of two or more), associated or not.

The inputs are written by a small TIFF writer here (no tessera, no GDAL),
and the outputs are judged three ways: raster-tool convert's bytes for the
same arguments, the TIFF tags read back by a small reader here, and GDAL's
Python bindings (colour table and each band's colour interpretation) when
they are installed."""

import struct

import numpy as np
import pytest

import tessera
from conftest import raster_tool, same_bytes

try:
    from osgeo import gdal
except ImportError:  # an optional peer
    gdal = None

W, H = 83, 61  # not multiples of the 16-pixel tiles used below

# ---------------------------------------------------------------------------
# a minimal TIFF writer and tag reader (classic little-endian TIFF)
# ---------------------------------------------------------------------------

SHORT, LONG = 3, 4
PHOTO_GREY, PHOTO_RGB, PHOTO_PALETTE = 1, 2, 3
ASSOCIATED, UNASSOCIATED = 1, 2


def write_tiff(path, a, photometric, colormap=None, extra=()):
    """Writes a (bands, rows, columns) uint8/uint16 array as one
    uncompressed chunky strip with the given Photometric, ColorMap (an
    (n, 3) array of 16-bit entries) and ExtraSamples."""
    a = np.ascontiguousarray(a)
    nb, h, w = a.shape
    bits = a.dtype.itemsize * 8
    data = np.ascontiguousarray(a.transpose(1, 2, 0)).astype("<u%d" %
                                                            (bits // 8))
    data = data.tobytes()
    tags = [(256, LONG, [w]), (257, LONG, [h]), (258, SHORT, [bits] * nb),
            (259, SHORT, [1]), (262, SHORT, [photometric]),
            (273, LONG, [8]), (277, SHORT, [nb]), (278, LONG, [h]),
            (279, LONG, [len(data)]), (284, SHORT, [1])]
    if colormap is not None:
        cm = np.asarray(colormap, dtype=np.uint16)
        tags.append((320, SHORT, list(cm[:, 0]) + list(cm[:, 1]) +
                     list(cm[:, 2])))
    if extra:
        tags.append((338, SHORT, list(extra)))
    tags.append((339, SHORT, [1] * nb))
    body = bytearray(b"II*\0" + struct.pack("<I", 0) + data)
    if len(body) % 2:
        body += b"\0"
    entries = []
    for tag, typ, vals in sorted(tags):
        fmt = "<%d%s" % (len(vals), "H" if typ == SHORT else "I")
        raw = struct.pack(fmt, *[int(v) for v in vals])
        if len(raw) <= 4:
            entries.append(struct.pack("<HHI", tag, typ, len(vals)) +
                           raw.ljust(4, b"\0"))
        else:
            entries.append(struct.pack("<HHII", tag, typ, len(vals),
                                       len(body)))
            body += raw
    ifd = len(body)
    body += struct.pack("<H", len(entries)) + b"".join(entries)
    body += struct.pack("<I", 0)
    body[4:8] = struct.pack("<I", ifd)
    path.write_bytes(bytes(body))


def first_ifd_tags(path):
    """{tag: [values]} of a classic or Big TIFF's first IFD (SHORT and
    LONG values only; others as None)."""
    b = path.read_bytes()
    assert b[:2] == b"II"
    big = struct.unpack_from("<H", b, 2)[0] == 43
    sizes = {SHORT: 2, LONG: 4, 16: 8}
    codes = {SHORT: "H", LONG: "I", 16: "Q"}
    if big:
        off = struct.unpack_from("<Q", b, 8)[0]
        n = struct.unpack_from("<Q", b, off)[0]
        off, esize, inline = off + 8, 20, 8
    else:
        off = struct.unpack_from("<I", b, 4)[0]
        n = struct.unpack_from("<H", b, off)[0]
        off, esize, inline = off + 2, 12, 4
    tags = {}
    for i in range(n):
        e = off + i * esize
        tag, typ = struct.unpack_from("<HH", b, e)
        count = struct.unpack_from("<Q" if big else "<I", b, e + 4)[0]
        if typ not in sizes:
            tags[tag] = None
            continue
        where = e + (12 if big else 8)
        if count * sizes[typ] > inline:
            where = struct.unpack_from("<Q" if big else "<I", b, where)[0]
        tags[tag] = list(struct.unpack_from("<%d%s" % (count, codes[typ]),
                                            b, where))
    return tags


# ---------------------------------------------------------------------------
# the inputs
# ---------------------------------------------------------------------------

def _palette():
    rng = np.random.default_rng(11)
    table = rng.integers(0, 256, size=(256, 3)) * 257  # 8-bit as 16-bit
    idx = rng.integers(0, 256, size=(1, H, W), dtype=np.uint8)
    return idx, PHOTO_PALETTE, table, ()


def _image(nb, dtype=np.uint8):
    rng = np.random.default_rng(12 + nb)
    return rng.integers(0, 256, size=(nb, H, W)).astype(dtype)


# name: (array, photometric, colormap, extra samples)
INPUTS = {
    "palette": _palette,
    "grey": lambda: (_image(1), PHOTO_GREY, None, ()),
    "rgb": lambda: (_image(3), PHOTO_RGB, None, ()),
    "rgba": lambda: (_image(4), PHOTO_RGB, None, (UNASSOCIATED,)),
    "rgba_premultiplied": lambda: (_image(4), PHOTO_RGB, None,
                                   (ASSOCIATED,)),
    "grey_alpha": lambda: (_image(2, np.uint16), PHOTO_GREY, None,
                           (UNASSOCIATED,)),
}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("meaning")
    paths = {}
    for name, make in INPUTS.items():
        a, photo, cm, extra = make()
        paths[name] = d / (name + ".tif")
        write_tiff(paths[name], a, photo, cm, extra)
    return paths


# ---------------------------------------------------------------------------
# the cases: input, convert's arguments, what the output keeps
# (colour table kept, rgb, alpha band or None, associated)
# ---------------------------------------------------------------------------

CASES = [
    ("palette", {}, (True, False, None, False)),
    ("palette", {"type": "uint8"}, (True, False, None, False)),
    ("palette", {"bands": [1]}, (True, False, None, False)),
    ("palette", {"cog": True}, (True, False, None, False)),
    ("palette", {"type": "uint16"}, (False, False, None, False)),
    ("palette", {"type": "float32"}, (False, False, None, False)),
    ("grey", {}, (False, False, None, False)),
    ("rgb", {}, (False, True, None, False)),
    ("rgb", {"bands": [1, 2, 3]}, (False, True, None, False)),
    ("rgb", {"type": "uint16"}, (False, True, None, False)),
    ("rgb", {"cog": True}, (False, True, None, False)),
    ("rgb", {"bands": [3, 2, 1]}, (False, False, None, False)),
    ("rgb", {"bands": [1, 2]}, (False, False, None, False)),
    ("rgba", {}, (False, True, 4, False)),
    ("rgba", {"cog": True}, (False, True, 4, False)),
    ("rgba", {"type": "float32"}, (False, True, 4, False)),
    ("rgba", {"bands": [1, 2, 3]}, (False, True, None, False)),
    ("rgba", {"bands": [4, 1, 2, 3]}, (False, False, None, False)),
    ("rgba", {"bands": [3, 2, 1, 4]}, (False, False, 4, False)),
    ("rgba", {"bands": [1, 4]}, (False, False, 2, False)),
    ("rgba_premultiplied", {}, (False, True, 4, True)),
    ("rgba_premultiplied", {"cog": True}, (False, True, 4, True)),
    ("rgba_premultiplied", {"type": "uint16"}, (False, True, 4, True)),
    ("rgba_premultiplied", {"bands": [1, 2, 3, 4, 4]},
     (False, True, 5, True)),
    ("rgba_premultiplied", {"bands": [1, 2, 4, 3]},
     (False, False, None, False)),
    ("grey_alpha", {}, (False, False, 2, False)),
    ("grey_alpha", {"type": "uint8"}, (False, False, 2, False)),
    ("grey_alpha", {"bands": [2, 1]}, (False, False, None, False)),
    ("grey_alpha", {"bands": [2]}, (False, False, None, False)),
]


def _id(case):
    name, kw, _ = case
    return name + "".join(f"-{k}={v}" for k, v in kw.items()).replace(
        " ", "")


def _raster_tool_args(kw):
    args = []
    if "type" in kw:
        args += ["--type", kw["type"]]
    if "bands" in kw:
        args += ["--bands", ",".join(map(str, kw["bands"]))]
    if kw.get("cog"):
        args.append("--cog")
    return args


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_convert_keeps_band_meaning_as_raster_tool(inputs, tmp_path, case):
    name, kw, (table, rgb, alpha, assoc) = case
    src = inputs[name]
    py, rt = tmp_path / "py.tif", tmp_path / "rt.tif"
    tessera.convert(src, py, tile=16, **kw)
    raster_tool("convert", "--quiet", "--tile", "16",
                *_raster_tool_args(kw), src, rt)
    assert same_bytes(py, rt), "differs from raster-tool convert's file"

    i, s = tessera.info(py), tessera.info(src)
    assert i["color_table"] == (s["color_table"] if table else None)
    assert (i["rgb"], i["alpha_band"], i["alpha_associated"]) == \
        (rgb, alpha, assoc)

    # the tags as stored, read here
    t = first_ifd_tags(py)
    photo = PHOTO_PALETTE if table else PHOTO_RGB if rgb else PHOTO_GREY
    assert t[262] == [photo]
    if table:
        assert t[320] == first_ifd_tags(src)[320]
    else:
        assert 320 not in t
    nb = i["bands"]
    extra = [0] * (nb - (3 if rgb else 1))
    if alpha:
        extra[-1] = ASSOCIATED if assoc else UNASSOCIATED
    assert t.get(338, []) == extra
    np.testing.assert_array_equal(
        tessera.convert(py, None),
        tessera.convert(src, None, **{k: v for k, v in kw.items()
                                      if k != "cog"}))


def _gdal_interps(nb, table, rgb, alpha):
    """The colour interpretation GDAL gives each band of such a file."""
    if table:
        return [gdal.GCI_PaletteIndex]
    c = ([gdal.GCI_RedBand, gdal.GCI_GreenBand, gdal.GCI_BlueBand] if rgb
         else [gdal.GCI_GrayIndex])
    c += [gdal.GCI_Undefined] * (nb - len(c))
    if alpha:
        c[alpha - 1] = gdal.GCI_AlphaBand
    return c


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_convert_keeps_band_meaning_as_gdal_reads_it(inputs, tmp_path,
                                                     case):
    if gdal is None:
        pytest.skip("GDAL's Python bindings (python3-gdal) not installed")
    name, kw, (table, rgb, alpha, _) = case
    src, py = inputs[name], tmp_path / "py.tif"
    tessera.convert(src, py, tile=16, **kw)
    ds, si = gdal.Open(str(py)), gdal.Open(str(src))
    got = [ds.GetRasterBand(b + 1).GetColorInterpretation()
           for b in range(ds.RasterCount)]
    assert got == _gdal_interps(ds.RasterCount, table, rgb, alpha)
    ct = ds.GetRasterBand(1).GetColorTable()
    if table:
        want = si.GetRasterBand(1).GetColorTable()
        assert ct is not None and ct.GetCount() == want.GetCount()
        assert [ct.GetColorEntry(k) for k in range(ct.GetCount())] == \
            [want.GetColorEntry(k) for k in range(want.GetCount())]
    else:
        assert ct is None
    # (GDAL 3.6 reads associated and unassociated alpha alike, as Alpha:
    # the ExtraSamples tag check above tells them apart)
    if kw.get("cog"):
        assert ds.GetRasterBand(1).GetOverviewCount() > 0
        ov = ds.GetRasterBand(1).GetOverview(0)
        assert (ov.GetColorTable() is not None) == table
