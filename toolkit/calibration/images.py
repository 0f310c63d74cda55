"""Calibration images: read from a folder and fed exactly as `toolkit infer` feeds them.

That is: at infer's `--scale`, cut into infer's tiles where an image is larger than one (`--tile`,
`--overlap`), otherwise whole, mirrored out to the network's stride. Ranges measured on whole 6000 px
scans would describe tensors the deployed model never sees, and would not fit in memory. Of a large
scan's tiles, `tiles_per_image` spread evenly over it are used: a 10000x8000 scan has 414 tiles of
512 px, and 32 such scans would keep the full U-Net calibrating for hours for no better ranges.

Torch-free. The fingerprint (file names, sizes, contents) keys the calibration cache, with the feed:
the same images, feed and model give the same ranges without running them again.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from toolkit.core.errors import InputError
from toolkit.core.metadata import ModelCard
from toolkit.imaging.conditioning import condition
from toolkit.imaging.imageio import IMAGE_SUFFIXES, read_image
from toolkit.imaging.model_input import to_model_input
from toolkit.runtime.pictures import check_scale, rescaled, scaled_size
from toolkit.runtime.tiling import DEFAULT_TILING, Tiling, mirrored_crop, tile_grid

log = logging.getLogger(__name__)

DEFAULT_FOLDER = Path("calibration")
RECOMMENDED_COUNT = 32  # fewer images calibrate, but ranges from a handful are noisy
# Tiles used per image: 32 images x 16 = 512 pieces, about the 500 images TensorRT's developer guide
# found enough to calibrate ImageNet classifiers.
DEFAULT_TILES_PER_IMAGE = 16


@dataclass
class CalibrationSet:
    folder: Path
    paths: list[Path]
    fingerprint: str  # sha256 over every file's name and bytes
    shapes: list[tuple[int, int]]  # (height, width) of each image as read
    scale: float = 1.0  # `toolkit infer --scale`
    tiling: Tiling = DEFAULT_TILING  # `toolkit infer --tile --overlap`
    tiles_per_image: int = DEFAULT_TILES_PER_IMAGE  # 0 = every tile

    @property
    def feed(self) -> str:
        """How the images are fed, for the cache key and the graph's metadata."""
        tiles = self.tiles_per_image or "all"
        return (
            f"scale {self.scale:g}, tile {self.tiling.tile}, overlap {self.tiling.overlap}, "
            f"tiles per image {tiles}"
        )

    def batches(
        self, card: ModelCard, track: Callable[[list[tuple[Path, int]]], Iterable[tuple[Path, int]]] = iter
    ) -> Iterator[np.ndarray]:
        """One (1, C, h, w) float32 batch per piece `toolkit infer` runs: a tile, or the whole image.

        One piece per batch: a calibrator holds every intermediate tensor of the batch it runs, and
        pieces of different images differ in size. `track` sees the pieces, so progress moves within
        a large scan too.
        """
        current, image, grid = None, None, None
        for path, index in track(self.pieces(card)):
            if path != current:
                current, image = path, condition(rescaled(read_image(path), self.scale), card.conditioning)
                grid = tile_grid(*image.shape[:2], card.stride, self.tiling)
            row, column = divmod(index, len(grid.xs))  # pieces count tiles row by row, as infer runs them
            piece = mirrored_crop(image, grid.ys[row], grid.xs[column], grid.tile_h, grid.tile_w)
            yield to_model_input(piece, card)[None]

    def pieces(self, card: ModelCard) -> list[tuple[Path, int]]:
        """(image, tile index) of every piece fed, in order, without decoding an image."""
        pieces = []
        for path, (height, width) in zip(self.paths, self.shapes):
            grid = tile_grid(*scaled_size(height, width, self.scale), card.stride, self.tiling)
            pieces += [
                (path, int(index)) for index in spread(len(grid.ys) * len(grid.xs), self.tiles_per_image)
            ]
        return pieces

    def count_batches(self, card: ModelCard) -> int:
        """How many batches `batches` yields, without decoding an image."""
        return len(self.pieces(card))


def spread(count: int, wanted: int) -> list[int]:
    """`wanted` of `count` indices (all if `wanted` is 0 or more than `count`), evenly spaced from the
    first to the last: over a scan's tiles in reading order, rows top to bottom, columns shifting."""
    if not wanted or wanted >= count:
        return list(range(count))
    if wanted == 1:
        return [count // 2]
    step = (count - 1) / (wanted - 1)  # > 1, so no two picks round to the same tile
    return [round(i * step) for i in range(wanted)]


def load_calibration_set(
    folder: Path,
    *,
    scale: float = 1.0,
    tiling: Tiling = DEFAULT_TILING,
    tiles_per_image: int = DEFAULT_TILES_PER_IMAGE,
) -> CalibrationSet:
    """The readable images in `folder`; unreadable ones are skipped with a warning, none is an error."""
    check_scale(scale)
    if tiles_per_image < 0:
        raise InputError(f"--tiles-per-image must be 0 (every tile) or more, not {tiles_per_image}")
    if not folder.is_dir():
        raise InputError(
            f"{folder}: no calibration folder (put representative images there, "
            "e.g. `toolkit synth --seed 1 --count 64 -o calib` and use calib/input)"
        )
    candidates = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    digest = hashlib.sha256()
    readable, shapes = [], []
    for path in candidates:
        try:
            image = read_image(path)
        except InputError as error:
            log.warning("%s (skipped)", error)
            continue
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
        readable.append(path)
        shapes.append(image.shape[:2])
    if not readable:
        synth = (folder / "input").is_dir() and (folder / "target").is_dir()
        hint = f"; a `toolkit synth` folder holds its images in {folder / 'input'}: pass that" * synth
        raise InputError(f"{folder}: holds no readable images ({', '.join(IMAGE_SUFFIXES)}){hint}")
    if len(readable) < RECOMMENDED_COUNT:
        log.warning(
            "%s: only %d calibration images; %d or more give steadier ranges",
            folder,
            len(readable),
            RECOMMENDED_COUNT,
        )
    return CalibrationSet(folder, readable, digest.hexdigest(), shapes, scale, tiling, tiles_per_image)
