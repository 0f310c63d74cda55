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


def line_image(probability: np.ndarray, threshold: float | None) -> np.ndarray:
    """(H, W) line probability -> uint8 black lines on white; binary when a threshold is given."""
    if threshold is not None:
        return np.where(probability >= threshold, 0, 255).astype(np.uint8)
    return np.round((1.0 - np.clip(probability, 0, 1)) * 255).astype(np.uint8)


def infer_files(
    runner: Runner,
    inputs: list[InputFile],
    out_dir: Path,
    binary: bool = False,
    overwrite: bool = False,
    resume: bool = False,
    track: Callable[[list[InputFile]], Iterable[InputFile]] = iter,
    tiling: Tiling = DEFAULT_TILING,
) -> InferRun:
    """OUT_DIR/RELATIVE.png for every input; `resume` skips outputs already written (writes are atomic,
    so an existing output is a whole one)."""
    if LINES_OUTPUT not in runner.card.output_names:
        raise InputError(
            f"model '{runner.card.model}' outputs feature maps, not lines: export it without --features"
        )
    threshold = runner.card.threshold if binary else None
    claimed: dict[Path, Path] = {}
    run = InferRun([])
    try:
        for item in track(inputs):
            run.results.append(
                infer_one(runner, item, out_dir, threshold, overwrite, resume, tiling, claimed)
            )
    except KeyboardInterrupt:
        # Ctrl-C or SIGTERM: the file in progress leaves nothing behind (atomic writes); the caller
        # reports what was done, and --resume carries on from there.
        run.interrupted = True
    return run


def infer_one(
    runner: Runner,
    item: InputFile,
    out_dir: Path,
    threshold: float | None,
    overwrite: bool,
    resume: bool,
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
        if output.exists() and resume:
            return FileResult(item.path, output, "skipped", 0.0)
        if output.exists() and not overwrite:
            raise InputError(
                f"{output}: already exists (pass --overwrite to replace it, --resume to skip it)"
            )
        image = read_image(item.path)
        lines = np.empty(image.shape[:2], np.uint8)
        for top, rows in tiled_rows(runner, image, tiling):
            lines[top : top + len(rows)] = line_image(rows, threshold)
        del image  # the decoded scan is not needed while the PNG is encoded
        write_png(output, lines, overwrite)
        return FileResult(
            item.path, output, "ok", time.perf_counter() - started, lines.shape[1], lines.shape[0]
        )
    except (InputError, OSError) as error:
        message = str(error) if isinstance(error, InputError) else f"{item.path}: {error}"
        log.debug("%s", message)  # the caller reports failures from the results
        return FileResult(item.path, None, "error", time.perf_counter() - started, error=message)


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
