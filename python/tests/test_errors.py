"""Bad input: one clear exception, before any work where the arguments are
wrong, and never an output file or a temporary left behind."""

import errno
import os
import time

import numpy as np
import pytest

import tessera


def test_missing_file(tmp_path):
    with pytest.raises(tessera.TesseraError) as e:
        tessera.hillshade(tmp_path / "nope.tif", tmp_path / "o.tif")
    assert e.value.code == -errno.ENOENT
    assert str(e.value).startswith(str(tmp_path / "nope.tif") + ": ")
    assert os.listdir(tmp_path) == []
    with pytest.raises(tessera.TesseraError, match="nope.tif"):
        tessera.info(tmp_path / "nope.tif")


def test_corrupt_tiff(dem_file, tmp_path):
    data = open(dem_file, "rb").read()
    bad = tmp_path / "bad.tif"
    for blob in (b"II*\0" + b"\xff" * 60, data[:len(data) // 3],
                 b"not a tiff at all"):
        bad.write_bytes(blob)
        with pytest.raises(tessera.TesseraError, match="bad.tif"):
            tessera.slope(bad, tmp_path / "o.tif")
        assert sorted(os.listdir(tmp_path)) == ["bad.tif"]


def test_dst_equal_to_src(dem_file, tmp_path):
    src = tmp_path / "dem.tif"
    src.write_bytes(open(dem_file, "rb").read())
    before = src.read_bytes()
    with pytest.raises(tessera.TesseraError, match="same file"):
        tessera.slope(src, src, overwrite=True)
    with pytest.raises(tessera.TesseraError, match="same file"):
        tessera.slope(src, src)
    assert src.read_bytes() == before
    assert os.listdir(tmp_path) == ["dem.tif"]


def test_existing_dst_needs_overwrite(dem, tmp_path):
    out = tmp_path / "o.tif"
    tessera.convert(dem, out)
    with pytest.raises(tessera.TesseraError) as e:
        tessera.convert(dem, out)
    assert e.value.code == -errno.EEXIST
    tessera.convert(dem, out, overwrite=True)


def test_wrong_arrays():
    with pytest.raises(TypeError, match="int64"):
        tessera.slope(np.zeros((10, 10), np.int64))
    with pytest.raises(TypeError, match="complex"):
        tessera.blur(np.zeros((10, 10), np.complex64), 1)
    with pytest.raises(ValueError, match="2-D"):
        tessera.blur(np.zeros((2, 3, 4, 5), np.float32), 1)
    with pytest.raises(ValueError, match="empty"):
        tessera.blur(np.zeros((0, 5), np.float32), 1)
    with pytest.raises(TypeError, match="path or a numpy array"):
        tessera.blur(object(), 1)
    with pytest.raises(TypeError, match="dst"):
        tessera.blur(np.zeros((5, 5), np.float32), 1, dst=5)


def test_wrong_keywords(dem):
    with pytest.raises(TypeError, match="unexpected keyword argument 'zz'"):
        tessera.hillshade(dem, zz=1)
    with pytest.raises(ValueError, match="multiple of 16"):
        tessera.hillshade(dem, tile=100)
    with pytest.raises(ValueError, match="compress"):
        tessera.convert(dem, "x.tif", compress="jpeg")
    with pytest.raises(ValueError, match="level"):
        tessera.convert(dem, "x.tif", level=40)
    with pytest.raises(ValueError, match="threads"):
        tessera.hillshade(dem, threads=0)
    with pytest.raises(TypeError, match="progress"):
        tessera.hillshade(dem, progress=3)
    with pytest.raises(ValueError, match="geotransform"):
        tessera.convert(dem, "x.tif", geotransform=(1, 2, 3))
    assert not os.path.exists("x.tif")


def test_library_refusals_are_tessera_errors(dem, tmp_path):
    with pytest.raises(tessera.TesseraError, match="zstd|level") as e:
        tessera.convert(dem, tmp_path / "o.tif", compress="deflate",
                        level=20)
    assert e.value.code < 0
    assert os.listdir(tmp_path) == []


def test_raising_progress_stops_the_run(dem_file, tmp_path):
    def slow(t):
        time.sleep(0.01)
        return t

    def progress(done, total):
        raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        tessera.map_tiles(slow, dem_file, tmp_path / "o.tif",
                          progress=progress, tile=16)
    assert os.listdir(tmp_path) == []
