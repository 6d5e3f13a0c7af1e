#!/usr/bin/env python3
"""NDVI from two files, red and near-infrared, with tessera.calc:

    python3 ndvi.py RED.tif NIR.tif OUT.tif

Without arguments it first makes two synthetic uint16 "reflectance" bands
(tessera.synth and tessera.calc), then writes their NDVI to a temporary
folder and prints what tessera.info and tessera.stats say of it. The
work runs out of core on every core, the GIL released; OUT.tif is a tiled
GeoTIFF with RED.tif's georeferencing, written only if everything worked.
"""

import os
import sys
import tempfile
import time

import numpy as np

import tessera


def ndvi(red, nir, out):
    # A is red, B is near-infrared; where both are 0 the ratio is NaN,
    # which calc writes as the output's nodata (-2 here, outside -1..1)
    tessera.calc("(B - A) / (B + A)", out, A=red, B=nir, type="float32",
                 nodata=-2, overwrite=True)


def synthetic_bands(folder, size=2000):
    """Two uint16 bands of one made-up scene: reflectance x 10000."""
    dem = os.path.join(folder, "terrain.tif")
    tessera.synth(dem, size=size, seed=11, relief=1000.0)
    red = os.path.join(folder, "red.tif")
    nir = os.path.join(folder, "nir.tif")
    # vegetation (more near-infrared, less red) on the lower ground, bare
    # rock on the heights (the terrain spans about 180..760 m)
    t = "clamp((A - 180) / 580, 0, 1)"
    tessera.calc(f"300 + 2500 * {t}", red, A=dem, type="uint16")
    tessera.calc(f"5000 - 3500 * {t}", nir, A=dem, type="uint16")
    return red, nir


def main(argv):
    if len(argv) not in (1, 4):
        sys.exit(__doc__)
    with tempfile.TemporaryDirectory() as tmp:
        if len(argv) == 4:
            red, nir, out = argv[1:]
        else:
            red, nir = synthetic_bands(tmp)
            out = os.path.join(tmp, "ndvi.tif")
        t = time.perf_counter()
        ndvi(red, nir, out)
        dt = time.perf_counter() - t
        i = tessera.info(out)
        s, = tessera.stats(out, bins=10, range=(-1, 1))
        print(f"{out}: {i['width']} x {i['height']} {i['type']}, "
              f"{i['compression']}, nodata {i['nodata']:g}, "
              f"written in {dt:.2f} s on {tessera.default_threads()} "
              f"threads")
        print(f"NDVI: mean {s['mean']:.3f}, std {s['std']:.3f}, "
              f"min {s['min']:.3f}, max {s['max']:.3f}, "
              f"{s['nodata_count']} nodata pixels")
        edges = np.linspace(-1, 1, 11)
        for k, c in enumerate(s["hist"]):
            bar = "#" * int(50 * c / max(s["hist"].max(), 1))
            print(f"  {edges[k]:+.1f} .. {edges[k + 1]:+.1f} {c:9d} {bar}")
        # the same from arrays in memory: the same pixels
        a = tessera.calc("(B - A) / (B + A)", A=tessera.convert(red, None),
                         B=tessera.convert(nir, None), nodata=-2)
        same = np.array_equal(a, tessera.convert(out, None))
        print(f"from arrays in memory: {'the same' if same else 'DIFFERENT'}"
              f" pixels")
        return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
