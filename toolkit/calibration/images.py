"""Calibration images: read from a folder and fed exactly as inference feeds them (whole, padded).

Torch-free. The fingerprint (file names, sizes, contents) keys the calibration cache: the same images
and the same model give the same ranges without running them again.
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
from toolkit.runtime.pipeline import pad_to_stride, to_model_input

log = logging.getLogger(__name__)

DEFAULT_FOLDER = Path("calibration")
RECOMMENDED_COUNT = 32  # fewer images calibrate, but ranges from a handful are noisy


@dataclass
class CalibrationSet:
    folder: Path
    paths: list[Path]
    fingerprint: str  # sha256 over every file's name and bytes

    def batches(
        self, card: ModelCard, track: Callable[[list[Path]], Iterable[Path]] = iter
    ) -> Iterator[np.ndarray]:
        """One (1, C, H', W') float32 batch per image: normalised and padded as `toolkit infer` does."""
        for path in track(self.paths):
            image = read_image(path)
            yield pad_to_stride(to_model_input(image, card)[None], card.stride)


def load_calibration_set(folder: Path) -> CalibrationSet:
    """The readable images in `folder`; unreadable ones are skipped with a warning, none is an error."""
    if not folder.is_dir():
        raise InputError(
            f"{folder}: no calibration folder (put representative images there, "
            "e.g. `toolkit synth --seed 1 --count 64 -o calib` and use calib/input)"
        )
    candidates = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    digest = hashlib.sha256()
    readable = []
    for path in candidates:
        try:
            read_image(path)
        except InputError as error:
            log.warning("%s (skipped)", error)
            continue
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
        readable.append(path)
    if not readable:
        raise InputError(f"{folder}: holds no readable images ({', '.join(IMAGE_SUFFIXES)})")
    if len(readable) < RECOMMENDED_COUNT:
        log.warning(
            "%s: only %d calibration images; %d or more give steadier ranges",
            folder,
            len(readable),
            RECOMMENDED_COUNT,
        )
    return CalibrationSet(folder, readable, digest.hexdigest())
