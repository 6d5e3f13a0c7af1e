# Type stubs of the tessera package (the keywords that the implementation
# takes as **kw are spelled out here). See help(tessera).
import os
from typing import Any, Callable, Literal, Mapping, Sequence, TypedDict, Union

import numpy as np
import numpy.typing as npt

__version__: str

PathLike = Union[str, bytes, os.PathLike[str], os.PathLike[bytes]]
Source = Union[PathLike, npt.NDArray[Any]]
DTypeLike = npt.DTypeLike
Progress = Callable[[int, int], object]
Tile = Union[int, tuple[int, int]]
Compress = Literal["none", "deflate", "lzw", "zstd"]
BigTiff = Literal["auto", "yes", "no"]
GeoTransform = tuple[float, float, float, float, float, float]
Resampling = Literal["nearest", "average", "bilinear", "cubic", "mode"]
# A memory budget: bytes, or a size as raster-tool --memory takes it
# ("512M", "4G", "none").
Memory = Union[int, str]

class TesseraError(Exception):
    code: int

class MemoryBudgetError(TesseraError, MemoryError): ...

class BandStats(TypedDict, total=False):
    count: int
    nodata_count: int
    min: float
    max: float
    mean: float
    std: float
    hist: npt.NDArray[np.uint64]
    hist_range: tuple[float, float]

class ColorTable(TypedDict):
    count: int
    entries: list[list[int]]

class Overview(TypedDict):
    width: int
    height: int
    external: bool

class Info(TypedDict):
    file: str
    width: int
    height: int
    bands: int
    type: str
    tiled: bool
    block_width: int
    block_height: int
    planar: bool
    compression: str
    predictor: int
    bigtiff: bool
    file_size: int
    nodata: float | None
    geotransform: list[float] | None
    epsg: int | None
    bits: int
    rgb: bool
    alpha_band: int | None
    alpha_associated: bool
    color_table: ColorTable | None
    overviews: list[Overview]

def default_threads() -> int: ...
def hillshade(src: Source, dst: PathLike | None = None, *, z: float = 1.0,
              scale: float = 1.0, azimuth: float = 315.0,
              altitude: float = 45.0, alg: str = "horn",
              multidirectional: bool = False, combined: bool = False,
              compute_edges: bool = False, band: int = 1,
              igor: bool = False,
              res: tuple[float, float] | None = None,
              nodata: float | None = None, threads: int | None = None,
              memory: Memory | None = None,
              progress: Progress | None = None, tile: Tile = 256,
              compress: Compress = "deflate", level: int | None = None,
              predictor: int | None = None, bigtiff: BigTiff = "auto",
              overwrite: bool = False,
              geotransform: GeoTransform | None = None,
              epsg: int | None = None,
              cog: bool = False,
              overview_resampling: Resampling | None = None) -> npt.NDArray[np.uint8] | None: ...
def slope(src: Source, dst: PathLike | None = None, *, percent: bool = False,
          scale: float = 1.0, alg: str = "horn", compute_edges: bool = False,
          band: int = 1, res: tuple[float, float] | None = None,
          nodata: float | None = None, threads: int | None = None,
          memory: Memory | None = None,
          progress: Progress | None = None, tile: Tile = 256,
          compress: Compress = "deflate", level: int | None = None,
          predictor: int | None = None, bigtiff: BigTiff = "auto",
          overwrite: bool = False, geotransform: GeoTransform | None = None,
          epsg: int | None = None,
          cog: bool = False,
          overview_resampling: Resampling | None = None) -> npt.NDArray[np.float32] | None: ...
def aspect(src: Source, dst: PathLike | None = None, *,
           trigonometric: bool = False, zero_for_flat: bool = False,
           alg: str = "horn", compute_edges: bool = False, band: int = 1,
           res: tuple[float, float] | None = None,
           nodata: float | None = None, threads: int | None = None,
           memory: Memory | None = None,
           progress: Progress | None = None, tile: Tile = 256,
           compress: Compress = "deflate", level: int | None = None,
           predictor: int | None = None, bigtiff: BigTiff = "auto",
           overwrite: bool = False, geotransform: GeoTransform | None = None,
           epsg: int | None = None,
           cog: bool = False,
           overview_resampling: Resampling | None = None) -> npt.NDArray[np.float32] | None: ...
def tri(src: Source, dst: PathLike | None = None, *,
        alg: Literal["riley", "wilson"] = "riley",
        compute_edges: bool = False, band: int = 1,
        res: tuple[float, float] | None = None, nodata: float | None = None,
        threads: int | None = None,
        memory: Memory | None = None, progress: Progress | None = None,
        tile: Tile = 256, compress: Compress = "deflate",
        level: int | None = None, predictor: int | None = None,
        bigtiff: BigTiff = "auto", overwrite: bool = False,
        geotransform: GeoTransform | None = None,
        epsg: int | None = None,
        cog: bool = False,
        overview_resampling: Resampling | None = None) -> npt.NDArray[np.float32] | None: ...
def tpi(src: Source, dst: PathLike | None = None, *,
        compute_edges: bool = False, band: int = 1,
        res: tuple[float, float] | None = None, nodata: float | None = None,
        threads: int | None = None,
        memory: Memory | None = None, progress: Progress | None = None,
        tile: Tile = 256, compress: Compress = "deflate",
        level: int | None = None, predictor: int | None = None,
        bigtiff: BigTiff = "auto", overwrite: bool = False,
        geotransform: GeoTransform | None = None,
        epsg: int | None = None,
        cog: bool = False,
        overview_resampling: Resampling | None = None) -> npt.NDArray[np.float32] | None: ...
def roughness(src: Source, dst: PathLike | None = None, *,
        compute_edges: bool = False, band: int = 1,
        res: tuple[float, float] | None = None, nodata: float | None = None,
        threads: int | None = None,
        memory: Memory | None = None, progress: Progress | None = None,
        tile: Tile = 256, compress: Compress = "deflate",
        level: int | None = None, predictor: int | None = None,
        bigtiff: BigTiff = "auto", overwrite: bool = False,
        geotransform: GeoTransform | None = None,
        epsg: int | None = None,
        cog: bool = False,
        overview_resampling: Resampling | None = None) -> npt.NDArray[np.float32] | None: ...
ColorEntry = Union[tuple[float | str, int, int, int],
                   tuple[float | str, int, int, int, int],
                   tuple[float | str, str], tuple[float | str, str, int]]
def color_relief(src: Source, colors: PathLike | Sequence[ColorEntry],
        dst: PathLike | None = None, *,
        mode: Literal["interpolate", "exact", "nearest"] = "interpolate",
        alpha: bool = False, band: int = 1, nodata: float | None = None,
        threads: int | None = None,
        memory: Memory | None = None, progress: Progress | None = None,
        tile: Tile = 256, compress: Compress = "deflate",
        level: int | None = None, predictor: int | None = None,
        bigtiff: BigTiff = "auto", overwrite: bool = False,
        geotransform: GeoTransform | None = None,
        epsg: int | None = None,
        cog: bool = False,
        overview_resampling: Resampling | None = None) -> npt.NDArray[np.uint8] | None: ...
def calc(expr: str, dst: PathLike | None = None, *,
         type: DTypeLike = "float32", nodata: float | None = None,
         input_nodata: float | Mapping[str, float] | None = None,
         threads: int | None = None,
         memory: Memory | None = None, progress: Progress | None = None,
         tile: Tile = 256, compress: Compress = "deflate",
         level: int | None = None, predictor: int | None = None,
         bigtiff: BigTiff = "auto", overwrite: bool = False,
         geotransform: GeoTransform | None = None, epsg: int | None = None,
         cog: bool = False, overview_resampling: Resampling | None = None,
         **inputs: Source) -> npt.NDArray[Any] | None: ...
def convolve(src: Source, weights: str | npt.ArrayLike,
             dst: PathLike | None = None, *, normalize: bool = False,
             type: DTypeLike | None = None, nodata: float | None = None,
             threads: int | None = None,
             memory: Memory | None = None, progress: Progress | None = None,
             tile: Tile = 256, compress: Compress = "deflate",
             level: int | None = None, predictor: int | None = None,
             bigtiff: BigTiff = "auto", overwrite: bool = False,
             geotransform: GeoTransform | None = None,
             epsg: int | None = None,
             cog: bool = False,
             overview_resampling: Resampling | None = None) -> npt.NDArray[Any] | None: ...
def blur(src: Source, sigma: float, dst: PathLike | None = None, *,
         type: DTypeLike | None = None, nodata: float | None = None,
         threads: int | None = None,
         memory: Memory | None = None, progress: Progress | None = None,
         tile: Tile = 256, compress: Compress = "deflate",
         level: int | None = None, predictor: int | None = None,
         bigtiff: BigTiff = "auto", overwrite: bool = False,
         geotransform: GeoTransform | None = None,
         epsg: int | None = None,
         cog: bool = False,
         overview_resampling: Resampling | None = None) -> npt.NDArray[Any] | None: ...
def stats(src: Source, *, bins: int = 0,
          range: tuple[float, float] | None = None,
          nodata: float | None = None, threads: int | None = None,
          memory: Memory | None = None,
          progress: Progress | None = None,
          tile: Tile = 256) -> list[BandStats]: ...
# file to file: keeps the colour table, RGB and alpha as raster-tool
# convert does (see help(tessera.convert))
def convert(src: Source, dst: PathLike | None, *,
            type: DTypeLike | None = None,
            bands: int | Sequence[int] | None = None,
            nodata: float | None = None, threads: int | None = None,
            memory: Memory | None = None,
            progress: Progress | None = None, tile: Tile = 256,
            compress: Compress = "deflate", level: int | None = None,
            predictor: int | None = None, bigtiff: BigTiff = "auto",
            overwrite: bool = False, geotransform: GeoTransform | None = None,
            epsg: int | None = None,
            cog: bool = False,
            overview_resampling: Resampling | None = None) -> npt.NDArray[Any] | None: ...
def info(path: PathLike) -> Info: ...
def overviews(path: PathLike, *,
              resampling: Resampling | Literal["auto"] = "nearest",
              external: bool = False, min_size: int = 256,
              tile: Tile | None = None, level: int | None = None,
              threads: int | None = None,
              memory: Memory | None = None,
              progress: Progress | None = None) -> None: ...
def map_tiles(fn: Callable[..., npt.NDArray[Any]],
              src: Source | Sequence[Source], dst: PathLike | None, *,
              halo: int = 0, dtype: DTypeLike | None = None,
              out_bands: int | None = None,
              out_nodata: float | Literal["none"] | None = None,
              nodata: float | None = None, threads: int | None = None,
              memory: Memory | None = None,
              progress: Progress | None = None, tile: Tile = 256,
              compress: Compress = "deflate", level: int | None = None,
              predictor: int | None = None, bigtiff: BigTiff = "auto",
              overwrite: bool = False,
              geotransform: GeoTransform | None = None,
              epsg: int | None = None,
              cog: bool = False,
              overview_resampling: Resampling | None = None) -> npt.NDArray[Any] | None: ...
def synth(dst: PathLike | None = None, *, size: int | tuple[int, int],
          seed: int = 1, type: DTypeLike = "float32", relief: float = 2500.0,
          feature: float = 1024.0, octaves: int = 8, holes: float = 0.0,
          nodata: float = -9999.0, threads: int | None = None,
          memory: Memory | None = None,
          progress: Progress | None = None, tile: Tile = 256,
          compress: Compress = "deflate", level: int | None = None,
          predictor: int | None = None, bigtiff: BigTiff = "auto",
          overwrite: bool = False, geotransform: GeoTransform | None = None,
          epsg: int | None = None,
          cog: bool = False,
          overview_resampling: Resampling | None = None) -> npt.NDArray[Any] | None: ...
