"""Line images for a list of files: read, run, write; one bad file never stops the rest. Torch-free.

Each output is written atomically (temporary file + rename) and an existing one is kept unless
`overwrite`. Images larger than a tile go through in overlapping tiles (toolkit.runtime.tiling).
"""

from __future__ import annotations

import csv
import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from toolkit.data.imageio import IMAGE_SUFFIXES, read_image
from toolkit.errors import InputError
from toolkit.fileio import atomic_path, write_png
from toolkit.metadata import LINES_OUTPUT
from toolkit.runtime.base import Runner
from toolkit.runtime.tiling import DEFAULT_TILING, Tiling, tiled_rows

log = logging.getLogger(__name__)


@dataclass
class InputFile:
    path: Path
    relative: Path  # where it sits under the folder it was found in: the output mirrors this


@dataclass
class FileResult:
    source: Path
    output: Path | None
    status: str  # "ok", "skipped" (output already there, --resume) or "error"
    seconds: float
    width: int = 0
    height: int = 0
    error: str = ""


@dataclass
class InferRun:
    results: list[FileResult]  # in input order, up to where the run stopped
    interrupted: bool = False  # stopped by Ctrl-C or SIGTERM


def collect_inputs(paths: list[Path], recursive: bool = False) -> list[InputFile]:
    """Image files among `paths`: files, folders (recursively if asked), glob patterns, and
    `@list.txt` files naming one path per line. In the order given, folders sorted."""
    found: list[InputFile] = []
    for path in paths:
        text = str(path)
        if text.startswith("@"):
            listed = Path(text[1:])
            if not listed.is_file():
                raise InputError(f"{listed}: list file not found")
            names = [line.strip() for line in listed.read_text().splitlines() if line.strip()]
            found += [InputFile(Path(name), Path(Path(name).name)) for name in names]
        elif path.is_dir():
            pattern = "**/*" if recursive else "*"
            files = sorted(
                p for p in path.glob(pattern) if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
            )
            found += [InputFile(p, p.relative_to(path)) for p in files]
        elif any(char in text for char in "*?["):
            anchor = Path(path.anchor or ".")
            pattern = str(path.relative_to(anchor)) if path.is_absolute() else text
            found += [InputFile(p, Path(p.name)) for p in sorted(anchor.glob(pattern)) if p.is_file()]
        elif path.exists():
            found.append(InputFile(path, Path(path.name)))
        else:
            raise InputError(f"{path}: no such file or folder")
    if not found:
        raise InputError(f"{' '.join(map(str, paths))}: no images ({', '.join(IMAGE_SUFFIXES)})")
    return found


FORMATS = ("gray", "binary", "alpha")


def line_image(probability: np.ndarray, output_format: str, threshold: float) -> np.ndarray:
    """(H, W) line probability -> uint8 pixels of the output format.

    gray: black lines on white, darkness = probability; binary: black where probability >= threshold;
    alpha: (H, W, 4) black ink whose opacity is the probability, for layering over other artwork.
    """
    probability = np.clip(probability, 0, 1)
    if output_format == "binary":
        return np.where(probability >= threshold, 0, 255).astype(np.uint8)
    if output_format == "alpha":
        rgba = np.zeros((*probability.shape, 4), np.uint8)
        rgba[..., 3] = np.round(probability * 255)
        return rgba
    return np.round((1.0 - probability) * 255).astype(np.uint8)


def rescaled(image: np.ndarray, scale: float) -> np.ndarray:
    """The image at `scale`: INTER_AREA to shrink (no aliasing), INTER_CUBIC to enlarge."""
    if scale == 1.0:
        return image
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)


@dataclass(frozen=True)
class OutputOptions:
    output_format: str = "gray"  # one of FORMATS
    scale: float = 1.0  # run the network at this scale of the image; results are resized back
    overwrite: bool = False
    resume: bool = False  # skip files whose output exists

    def __post_init__(self) -> None:
        if self.output_format not in FORMATS:
            raise InputError(f"--format must be one of {', '.join(FORMATS)}, not {self.output_format}")
        if not 0.05 <= self.scale <= 8:
            raise InputError(f"--scale must lie between 0.05 and 8, not {self.scale}")


DEFAULT_OPTIONS = OutputOptions()


def infer_files(
    runner: Runner,
    inputs: list[InputFile],
    out_dir: Path,
    options: OutputOptions = DEFAULT_OPTIONS,
    track: Callable[[list[InputFile]], Iterable[InputFile]] = iter,
    tiling: Tiling = DEFAULT_TILING,
) -> InferRun:
    """OUT_DIR/RELATIVE.png for every input; `options.resume` skips outputs already written (writes
    are atomic, so an existing output is a whole one)."""
    if LINES_OUTPUT not in runner.card.output_names:
        raise InputError(
            f"model '{runner.card.model}' outputs feature maps, not lines: export it without --features"
        )
    claimed: dict[Path, Path] = {}
    run = InferRun([])
    try:
        for item in track(inputs):
            run.results.append(infer_one(runner, item, out_dir, options, tiling, claimed))
    except KeyboardInterrupt:
        # Ctrl-C or SIGTERM: the file in progress leaves nothing behind (atomic writes); the caller
        # reports what was done, and --resume carries on from there.
        run.interrupted = True
    return run


def infer_one(
    runner: Runner,
    item: InputFile,
    out_dir: Path,
    options: OutputOptions,
    tiling: Tiling,
    claimed: dict[Path, Path],
) -> FileResult:
    """One file: its result, with a one-line error instead of an exception for a bad file."""
    started = time.perf_counter()
    output = out_dir / item.relative.with_suffix(".png")
    try:
        if output in claimed:
            raise InputError(f"{item.path}: its output {output} is also {claimed[output]}'s")
        claimed[output] = item.path
        if output.exists() and options.resume:
            return FileResult(item.path, output, "skipped", 0.0)
        if output.exists() and not options.overwrite:
            raise InputError(
                f"{output}: already exists (pass --overwrite to replace it, --resume to skip it)"
            )
        image = read_image(item.path)
        height, width = image.shape[:2]
        lines = draw_lines(runner, rescaled(image, options.scale), options, tiling, (width, height))
        del image  # the decoded scan is not needed while the PNG is encoded
        write_png(output, lines, options.overwrite)
        return FileResult(item.path, output, "ok", time.perf_counter() - started, width, height)
    except (InputError, OSError) as error:
        message = str(error) if isinstance(error, InputError) else f"{item.path}: {error}"
        log.debug("%s", message)  # the caller reports failures from the results
        return FileResult(item.path, None, "error", time.perf_counter() - started, error=message)


def draw_lines(
    runner: Runner, image: np.ndarray, options: OutputOptions, tiling: Tiling, size: tuple[int, int]
) -> np.ndarray:
    """The output pixels at `size` (width, height), converted tile row by tile row."""
    threshold = runner.card.threshold
    if options.scale == 1.0:
        channels = (4,) if options.output_format == "alpha" else ()
        lines = np.empty((*image.shape[:2], *channels), np.uint8)
        for top, rows in tiled_rows(runner, image, tiling):
            lines[top : top + len(rows)] = line_image(rows, options.output_format, threshold)
        return lines
    probability = np.empty(image.shape[:2], np.float32)
    for top, rows in tiled_rows(runner, image, tiling):
        probability[top : top + len(rows)] = rows
    probability = cv2.resize(probability, size, interpolation=cv2.INTER_LINEAR)
    return line_image(probability, options.output_format, threshold)


def write_summary(results: list[FileResult], path: Path, overwrite: bool = False) -> None:
    """One row per file (source, output, status, size, seconds, error) as .csv or .json."""
    rows = [
        {
            "source": str(r.source),
            "output": str(r.output or ""),
            "status": r.status,
            "width": r.width,
            "height": r.height,
            "seconds": round(r.seconds, 3),
            "error": r.error,
        }
        for r in results
    ]
    with atomic_path(path, overwrite) as tmp:
        if path.suffix.lower() == ".json":
            tmp.write_text(json.dumps(rows, indent=1))
        else:
            with tmp.open("w", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else ["source"])
                writer.writeheader()
                writer.writerows(rows)
