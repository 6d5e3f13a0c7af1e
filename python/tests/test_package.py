"""The package as a user meets it: the version, help() that reads like the
manual, type stubs for every public name, default_threads."""

import ast
import inspect
import os
import pydoc
import subprocess
import sys
import textwrap
import zipfile

import pytest

import tessera
from conftest import SANITIZED, child_env

PUBLIC = ["default_threads", "hillshade", "slope", "aspect", "tri", "tpi",
          "roughness", "color_relief", "calc", "convolve", "blur", "stats",
          "convert", "info", "overviews", "map_tiles", "synth"]


def without_added(sig, added):
    """sig's text without the keyword-only parameters added to the fixed
    API (each must be keyword-only with a default, so no call written
    against the fixed API changes meaning)."""
    params = [p for p in sig.parameters.values() if p.name not in added]
    for name in added:
        p = sig.parameters[name]
        assert p.kind is p.KEYWORD_ONLY and p.default is not p.empty, name
    return str(sig.replace(parameters=params))


def test_fixed_api_signatures():
    sig = {n: inspect.signature(getattr(tessera, n)) for n in PUBLIC}
    assert without_added(sig["hillshade"], ["igor"]) == (
        "(src, dst=None, *, z=1.0, scale=1.0, azimuth=315.0, altitude=45.0, "
        "alg='horn', multidirectional=False, combined=False, "
        "compute_edges=False, band=1, **kw)")
    assert str(sig["slope"]) == ("(src, dst=None, *, percent=False, "
                                 "scale=1.0, alg='horn', compute_edges=False,"
                                 " band=1, **kw)")
    assert str(sig["calc"]) == ("(expr, dst=None, *, type='float32', "
                                "nodata=None, **kw)")
    assert str(sig["map_tiles"]) == ("(fn, src, dst, *, halo=0, dtype=None, "
                                     "out_bands=None, **kw)")
    assert str(sig["stats"]) == "(src, *, bins=0, range=None, **kw)"
    assert without_added(sig["overviews"], ["memory"]) == (
        "(path, *, resampling='nearest', external=False, min_size=256, "
        "tile=None, level=None, threads=None, progress=None)")
    assert issubclass(tessera.TesseraError, Exception)
    assert issubclass(tessera.MemoryBudgetError, tessera.TesseraError)
    assert issubclass(tessera.MemoryBudgetError, MemoryError)
    assert isinstance(tessera.__version__, str)


def test_help_reads_like_the_manual():
    text = pydoc.render_doc(tessera.hillshade, renderer=pydoc.plaintext)
    for word in ("Shaded relief", "azimuth", "compute_edges", "Returns",
                 "TesseraError", "gdaldem"):
        assert word in text
    for name in PUBLIC:
        doc = getattr(tessera, name).__doc__
        assert doc and len(doc.splitlines()) >= 3, name
    assert "Keywords every function takes" in tessera.__doc__


def test_stubs_cover_the_public_api():
    pyi = os.path.join(os.path.dirname(tessera.__file__), "__init__.pyi")
    tree = ast.parse(open(pyi).read())
    names = {n.name for n in tree.body
             if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    assert set(PUBLIC) | {"TesseraError", "MemoryBudgetError"} <= names
    assert os.path.exists(os.path.join(os.path.dirname(tessera.__file__),
                                       "py.typed"))


def test_default_threads_follows_the_environment():
    env = child_env(TESSERA_NUM_THREADS="3")
    r = subprocess.run([sys.executable, "-c",
                        "import tessera; print(tessera.default_threads())"],
                       env=env, capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "3"
    assert tessera.default_threads() >= 1


@pytest.mark.skipif(SANITIZED, reason="the plain build's test")
def test_pip_builds_the_package_offline(tmp_path):
    """pyproject.toml: pip builds a wheel from the checkout with the
    installed setuptools (no index, no build isolation), and the wheel
    imports on its own."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    if subprocess.run([sys.executable, "-m", "pip", "--version"],
                      capture_output=True).returncode != 0:
        pytest.skip("pip not installed (python3-pip)")
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-index",
                        "--no-build-isolation", "--no-deps", "-q", "-w",
                        str(tmp_path), root], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    wheel, = [f for f in os.listdir(tmp_path) if f.endswith(".whl")]
    unpacked = tmp_path / "site"
    zipfile.ZipFile(tmp_path / wheel).extractall(unpacked)
    names = os.listdir(unpacked / "tessera")
    assert "__init__.pyi" in names and "py.typed" in names
    env = dict(os.environ, PYTHONPATH=str(unpacked))
    r = subprocess.run([sys.executable, "-c", textwrap.dedent("""
        import numpy as np, tessera
        assert tessera.__file__.startswith(%r)
        print(tessera.__version__,
              int(tessera.hillshade(np.zeros((9, 9), np.float32),
                                    compute_edges=True)[4, 4]))
        """ % str(unpacked))], env=env, capture_output=True, text=True,
        cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [tessera.__version__, "181"]
