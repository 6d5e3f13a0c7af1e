"""Shared fixtures: small synthetic DEMs (files and arrays), the build's
raster-tool (TES_BUILD, as make check sets it), GDAL's tools when
installed."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import tessera

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

BUILD = os.environ.get("TES_BUILD")
RASTER_TOOL = (os.path.join(BUILD, "raster-tool") if BUILD
               else shutil.which("raster-tool"))
if RASTER_TOOL and not os.access(RASTER_TOOL, os.X_OK):
    RASTER_TOOL = None
GDALDEM = shutil.which("gdaldem")
# Set by make check under SANITIZE: the sanitizers' runtimes are preloaded
# into this interpreter, which costs memory (and a pip build) of its own.
SANITIZERS = os.environ.get("TESSERA_TEST_SANITIZED", "")
SANITIZED = bool(SANITIZERS)

# The size of the small DEMs: not a multiple of the tile size, so that
# every test meets partial tiles at the right and bottom edges.
W, H = 301, 257
NODATA = -9999.0


def child_env(**extra):
    """The environment for a Python subprocess that imports this tessera."""
    pkg = os.path.dirname(os.path.dirname(os.path.abspath(tessera.__file__)))
    path = os.environ.get("PYTHONPATH")
    env = dict(os.environ, PYTHONPATH=pkg + (os.pathsep + path if path
                                             else ""))
    env.update(extra)
    return env


def raster_tool(*args):
    """Runs the build's raster-tool; returns its stdout."""
    if not RASTER_TOOL:
        pytest.skip("raster-tool not built (TES_BUILD unset)")
    r = subprocess.run([RASTER_TOOL, *map(str, args)], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout


def raster_tool_json(*args):
    return json.loads(raster_tool(*args))


def same_bytes(a, b):
    with open(a, "rb") as fa, open(b, "rb") as fb:
        return fa.read() == fb.read()


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("tessera-data")


@pytest.fixture(scope="session")
def dem_file(data_dir):
    """A 301x257 float32 DEM with nodata holes, 30 m pixels, EPSG:32633."""
    p = data_dir / "dem.tif"
    tessera.synth(p, size=(W, H), seed=9, holes=0.03)
    return p


@pytest.fixture(scope="session")
def dem(dem_file):
    """dem_file's pixels as an array."""
    a = tessera.convert(dem_file, None)
    assert a.shape == (H, W) and a.dtype == np.float32
    return a


@pytest.fixture(scope="session")
def dem2_file(data_dir):
    """A second DEM of the same size, no holes."""
    p = data_dir / "dem2.tif"
    tessera.synth(p, size=(W, H), seed=4)
    return p


@pytest.fixture(scope="session")
def rgb_file(data_dir):
    """A 3-band uint16 image (bands differ), written from an array."""
    rng = np.random.default_rng(5)
    a = rng.integers(0, 4000, size=(3, H, W), dtype=np.uint16)
    p = data_dir / "rgb.tif"
    tessera.convert(a, p, geotransform=(1000.0, 10.0, 0.0, 2000.0, 0.0,
                                        -10.0), epsg=32633)
    return p


@pytest.fixture
def out(tmp_path):
    """A path for an output, in a folder of its own (so that a test can
    check that nothing else, no temporary file, was left there)."""
    return tmp_path / "out.tif"
