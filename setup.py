"""Builds the tessera extension for pip (see pyproject.toml): the C
libraries of this checkout are built with make and linked in statically,
so the installed package needs only numpy and the system's libtiff,
zlib, zstd and libdeflate. `make python` is the developers' build."""

import os
import re
import shlex
import subprocess

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = os.path.dirname(os.path.abspath(__file__))
# everything pip builds goes under build/pip, beside make's own outputs
BASE = os.path.join("build", "pip")
B = os.path.join(BASE, "libs")
LIBS = [os.path.join(B, "libtessera_raster.a"),
        os.path.join(B, "libtessera.a")]
PKGS = ["libtiff-4", "zlib", "libzstd", "libdeflate"]


def version():
    with open(os.path.join(ROOT, "include", "tessera.h")) as f:
        return re.search(r'#define TES_VERSION_STRING "([^"]+)"',
                         f.read()).group(1)


def pkg_libs():
    try:
        out = subprocess.run(["pkg-config", "--libs", *PKGS], check=True,
                             capture_output=True, text=True).stdout
        return shlex.split(out)
    except (OSError, subprocess.CalledProcessError):
        return ["-ltiff", "-lzstd", "-ldeflate", "-lz"]


class BuildWithLibraries(build_ext):
    """make builds the static libraries (position-independent objects)
    before the extension links them."""

    def run(self):
        jobs = str(os.cpu_count() or 2)
        subprocess.run(["make", "-C", ROOT, "-j" + jobs, "B=" + B,
                        *LIBS],
                       check=True)
        super().run()


setup(
    version=version(),
    ext_modules=[Extension(
        "tessera._tessera",
        sources=sorted(os.path.join("python", "src", f)
                       for f in os.listdir(os.path.join(ROOT, "python",
                                                        "src"))
                       if f.endswith(".c")),
        depends=[os.path.join("python", "src", "tpy.h")],
        include_dirs=["include"],
        define_macros=[("_GNU_SOURCE", None)],
        extra_compile_args=["-std=c11", "-pthread", "-fvisibility=hidden"],
        extra_objects=LIBS,
        # the libraries' names stay inside the extension
        extra_link_args=["-pthread", "-Wl,--exclude-libs,ALL", *pkg_libs(),
                         "-lm"],
    )],
    cmdclass={"build_ext": BuildWithLibraries},
    options={"build": {"build_base": BASE}},
)
