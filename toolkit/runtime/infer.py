"""Line images for a list of files: read, run, write; one bad file never stops the rest. Torch-free.

Each output is written atomically (temporary file + rename) and an existing one is kept unless
`overwrite`. Images larger than a tile go through in overlapping tiles (toolkit.runtime.tiling).
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from toolkit.data.imageio import DEFAULT_MAX_PIXELS, IMAGE_SUFFIXES, read_image
from toolkit.errors import InputError
from toolkit.fileio import atomic_path, write_png
from toolkit.metadata import LINES_OUTPUT
from toolkit.runtime.base import Runner
from toolkit.runtime.tiling import DEFAULT_TILING, Tiling, tiled_rows


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


FORMATS = ("gray", "binary", "alpha", "svg")


def line_image(probability: np.ndarray, output_format: str, threshold: float) -> np.ndarray:
    """(H, W) line probability -> uint8 pixels of the output format.

    gray: black lines on white, darkness = probability; binary (and svg, which is traced from it):
    black where probability >= threshold; alpha: (H, W, 4) black ink whose opacity is the probability.
    """
    probability = np.clip(probability, 0, 1)
    if output_format in ("binary", "svg"):
        return np.where(probability >= threshold, 0, 255).astype(np.uint8)
    if output_format == "alpha":
        rgba = np.zeros((*probability.shape, 4), np.uint8)
        rgba[..., 3] = np.round(probability * 255)
        return rgba
    return np.round((1.0 - probability) * 255).astype(np.uint8)


def check_scale(scale: float) -> None:
    if not 0.05 <= scale <= 8:
        raise InputError(f"--scale must lie between 0.05 and 8, not {scale}")


def scaled_size(height: int, width: int, scale: float) -> tuple[int, int]:
    """(height, width) of an image at `scale`, at least one pixel each."""
    return max(1, round(height * scale)), max(1, round(width * scale))


def rescaled(image: np.ndarray, scale: float) -> np.ndarray:
    """The image at `scale`: INTER_AREA to shrink (no aliasing), INTER_CUBIC to enlarge."""
    if scale == 1.0:
        return image
    height, width = scaled_size(*image.shape[:2], scale)
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)


@dataclass(frozen=True)
class OutputOptions:
    output_format: str = "gray"  # one of FORMATS
    scale: float = 1.0  # run the network at this scale of the image; results are resized back
    overwrite: bool = False
    resume: bool = False  # skip files whose output exists
    max_pixels: int | None = DEFAULT_MAX_PIXELS  # larger images are refused before decoding

    def __post_init__(self) -> None:
        if self.output_format not in FORMATS:
            raise InputError(f"--format must be one of {', '.join(FORMATS)}, not {self.output_format}")
        check_scale(self.scale)


DEFAULT_OPTIONS = OutputOptions()


PREFETCH = 2  # images decoded ahead of the model, each by its own reader thread


@dataclass
class Job:
    item: InputFile
    output: Path
    result: FileResult | None = None  # decided before any pixel is read: skipped, or an error


def plan(inputs: list[InputFile], out_dir: Path, options: OutputOptions) -> list[Job]:
    """Each input's output path, and the files that need no work (--resume) or cannot be done."""
    claimed: dict[Path, Path] = {}
    jobs = []
    for item in inputs:
        suffix = ".svg" if options.output_format == "svg" else ".png"
        job = Job(item, out_dir / item.relative.with_suffix(suffix))
        if job.output in claimed:
            message = f"{item.path}: its output {job.output} is also {claimed[job.output]}'s"
            job.result = FileResult(item.path, None, "error", 0.0, error=message)
        elif job.output.exists() and options.resume:
            job.result = FileResult(item.path, job.output, "skipped", 0.0)
        elif job.output.exists() and not options.overwrite:
            message = f"{job.output}: already exists (pass --overwrite to replace it, --resume to skip it)"
            job.result = FileResult(item.path, None, "error", 0.0, error=message)
        claimed.setdefault(job.output, item.path)
        jobs.append(job)
    return jobs


def infer_files(
    runner: Runner,
    inputs: list[InputFile],
    out_dir: Path,
    options: OutputOptions = DEFAULT_OPTIONS,
    track: Callable[[list[Job]], Iterable[Job]] = iter,
    tiling: Tiling = DEFAULT_TILING,
) -> InferRun:
    """OUT_DIR/RELATIVE.png for every input, in input order.

    Decoding runs `PREFETCH` images ahead and PNG encoding behind, in threads, while the model runs
    (ONNX Runtime releases the GIL), so the model is rarely kept waiting. `options.resume` skips
    outputs already written: writes are atomic, so an existing output is a whole one.
    """
    if LINES_OUTPUT not in runner.card.output_names:
        raise InputError(
            f"model '{runner.card.model}' outputs feature maps, not lines: export it without --features "
            "(`toolkit features` browses feature maps)"
        )
    jobs = plan(inputs, out_dir, options)
    run = InferRun([])
    readers = ThreadPoolExecutor(PREFETCH, thread_name_prefix="read")
    writer = ThreadPoolExecutor(1, thread_name_prefix="write")
    reads: dict[int, Future] = {}
    writes: list[tuple[int, Future]] = []
    finished: dict[int, FileResult] = {}

    def prefetch(upto: int) -> None:
        for index in range(upto, min(upto + PREFETCH, len(jobs))):
            if jobs[index].result is None and index not in reads:
                reads[index] = readers.submit(read_image, jobs[index].item.path, options.max_pixels)

    try:
        for index, job in enumerate(track(jobs)):
            prefetch(index)
            if job.result is not None:
                finished[index] = job.result
                continue
            started = time.perf_counter()
            try:
                image = reads.pop(index).result()
            except (InputError, OSError) as error:
                message = str(error) if isinstance(error, InputError) else f"{job.item.path}: {error}"
                finished[index] = FileResult(job.item.path, None, "error", 0.0, error=message)
                continue
            height, width = image.shape[:2]
            lines = draw_lines(runner, rescaled(image, options.scale), options, tiling, (width, height))
            del image
            writes.append((index, writer.submit(write_output, job, lines, options, started, width, height)))
    except KeyboardInterrupt:
        # Ctrl-C or SIGTERM: outputs being written are finished (whole), nothing is half-written;
        # the caller reports what was done, and --resume carries on from there.
        run.interrupted = True
    finally:
        readers.shutdown(wait=True, cancel_futures=True)
        writer.shutdown(wait=True)
    finished |= {index: future.result() for index, future in writes}
    run.results = [finished[index] for index in sorted(finished)]
    return run


def write_output(
    job: Job, lines: np.ndarray, options: OutputOptions, started: float, width: int, height: int
) -> FileResult:
    try:
        if options.output_format == "svg":
            with atomic_path(job.output, options.overwrite) as tmp:
                tmp.write_text(trace_svg(lines))
        else:
            write_png(job.output, lines, options.overwrite)
    except (InputError, OSError) as error:
        message = str(error) if isinstance(error, InputError) else f"{job.output}: {error}"
        return FileResult(job.item.path, None, "error", time.perf_counter() - started, error=message)
    return FileResult(job.item.path, job.output, "ok", time.perf_counter() - started, width, height)


def trace_svg(binary: np.ndarray) -> str:
    """Vector paths around the black lines of a binary line image, traced by VTracer (visioncortex's
    maintained tracer; Rust, with wheels on PyPI): splines, specks under 4 pixels dropped."""
    import vtracer

    ok, png = cv2.imencode(".png", binary)
    if not ok:
        raise InputError("OpenCV could not encode the lines for tracing")
    return vtracer.convert_raw_image_to_svg(
        png.tobytes(), img_format="png", colormode="binary", mode="spline", filter_speckle=4
    )


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
