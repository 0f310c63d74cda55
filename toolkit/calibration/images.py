"""Calibration images: read from a folder and fed exactly as `toolkit infer` feeds them.

That is: at infer's `--scale`, cut into infer's tiles where an image is larger than one (`--tile`,
`--overlap`), otherwise whole, mirrored out to the network's stride. Ranges measured on whole 6000 px
scans would describe tensors the deployed model never sees, and would not fit in memory.

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

from toolkit.data.imageio import IMAGE_SUFFIXES, read_image
from toolkit.errors import InputError
from toolkit.metadata import ModelCard
from toolkit.runtime.infer import check_scale, rescaled, scaled_size
from toolkit.runtime.pipeline import to_model_input
from toolkit.runtime.tiling import DEFAULT_TILING, Tiling, tile_crops, tile_grid

log = logging.getLogger(__name__)

DEFAULT_FOLDER = Path("calibration")
RECOMMENDED_COUNT = 32  # fewer images calibrate, but ranges from a handful are noisy


@dataclass
class CalibrationSet:
    folder: Path
    paths: list[Path]
    fingerprint: str  # sha256 over every file's name and bytes
    shapes: list[tuple[int, int]]  # (height, width) of each image as read
    scale: float = 1.0  # `toolkit infer --scale`
    tiling: Tiling = DEFAULT_TILING  # `toolkit infer --tile --overlap`

    @property
    def feed(self) -> str:
        """How the images are fed, for the cache key and the graph's metadata."""
        return f"scale {self.scale:g}, tile {self.tiling.tile}, overlap {self.tiling.overlap}"

    def batches(
        self, card: ModelCard, track: Callable[[list[Path]], Iterable[Path]] = iter
    ) -> Iterator[np.ndarray]:
        """One (1, C, h, w) float32 batch per piece `toolkit infer` runs: each tile, or the whole image.

        One piece per batch: a calibrator holds every intermediate tensor of the batch it runs, and
        pieces of different images differ in size.
        """
        for path in track(self.paths):
            for piece in tile_crops(rescaled(read_image(path), self.scale), card.stride, self.tiling):
                yield to_model_input(piece, card)[None]

    def count_batches(self, card: ModelCard) -> int:
        """How many batches `batches` yields, without decoding an image."""
        total = 0
        for height, width in self.shapes:
            grid = tile_grid(*scaled_size(height, width, self.scale), card.stride, self.tiling)
            total += len(grid.ys) * len(grid.xs)
        return total


def load_calibration_set(folder: Path, scale: float = 1.0, tiling: Tiling = DEFAULT_TILING) -> CalibrationSet:
    """The readable images in `folder`; unreadable ones are skipped with a warning, none is an error."""
    check_scale(scale)
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
        raise InputError(f"{folder}: holds no readable images ({', '.join(IMAGE_SUFFIXES)})")
    if len(readable) < RECOMMENDED_COUNT:
        log.warning(
            "%s: only %d calibration images; %d or more give steadier ranges",
            folder,
            len(readable),
            RECOMMENDED_COUNT,
        )
    return CalibrationSet(folder, readable, digest.hexdigest(), shapes, scale, tiling)
