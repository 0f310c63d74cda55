"""Line images for a list of files: read, run, write; one bad file never stops the rest. Torch-free.

Each output is written atomically (temporary file + rename) and an existing one is kept unless
`overwrite`. Images larger than a tile go through in overlapping tiles (toolkit.runtime.tiling).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from toolkit.data.imageio import IMAGE_SUFFIXES, read_image
from toolkit.errors import InputError
from toolkit.fileio import write_png
from toolkit.metadata import LINES_OUTPUT
from toolkit.runtime.base import Runner
from toolkit.runtime.tiling import DEFAULT_TILING, Tiling, tiled_rows

log = logging.getLogger(__name__)


@dataclass
class FileResult:
    source: Path
    output: Path | None
    seconds: float
    error: str = ""


def collect_inputs(paths: list[Path]) -> list[Path]:
    """Image files among `paths`, folders expanded (not recursively), in the order given."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        elif path.exists():
            found.append(path)
        else:
            raise InputError(f"{path}: no such file or folder")
    if not found:
        raise InputError(f"{' '.join(map(str, paths))}: no images ({', '.join(IMAGE_SUFFIXES)})")
    return found


def line_image(probability: np.ndarray, threshold: float | None) -> np.ndarray:
    """(H, W) line probability -> uint8 black lines on white; binary when a threshold is given."""
    if threshold is not None:
        return np.where(probability >= threshold, 0, 255).astype(np.uint8)
    return np.round((1.0 - np.clip(probability, 0, 1)) * 255).astype(np.uint8)


def infer_files(
    runner: Runner,
    sources: list[Path],
    out_dir: Path,
    binary: bool = False,
    overwrite: bool = False,
    track: Callable[[list[Path]], Iterable[Path]] = iter,
    tiling: Tiling = DEFAULT_TILING,
) -> list[FileResult]:
    if LINES_OUTPUT not in runner.card.output_names:
        raise InputError(
            f"model '{runner.card.model}' outputs feature maps, not lines: export it without --features"
        )
    threshold = runner.card.threshold if binary else None
    results = []
    for source in track(sources):
        started = time.perf_counter()
        output = out_dir / f"{source.stem}.png"
        try:
            if output.exists() and not overwrite:
                raise InputError(f"{output}: already exists (pass --overwrite to replace it)")
            image = read_image(source)
            lines = np.empty(image.shape[:2], np.uint8)
            for top, rows in tiled_rows(runner, image, tiling):
                lines[top : top + len(rows)] = line_image(rows, threshold)
            del image  # the decoded scan is not needed while the PNG is encoded
            write_png(output, lines, overwrite)
            results.append(FileResult(source, output, time.perf_counter() - started))
        except (InputError, OSError) as error:
            message = str(error) if isinstance(error, InputError) else f"{source}: {error}"
            log.debug("%s", message)  # the caller reports failures from the results
            results.append(FileResult(source, None, time.perf_counter() - started, message))
    return results
