"""Line images for a list of files: read, run, write; one bad file never stops the rest. Torch-free.

A line model gives one picture per image; a graph exported with `--features` one per selected channel
(`NAME-conv1-c21.png`, at the image's size). Each output is written atomically (temporary file +
rename) and an existing one is kept unless `overwrite`. Images larger than a tile go through in
overlapping tiles (toolkit.runtime.tiling).
"""

from __future__ import annotations

import csv
import dataclasses
import errno
import json
import math
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from toolkit.core.errors import InputError, UsageError
from toolkit.core.fileio import atomic_path, refuse_replacing_inputs, write_png
from toolkit.core.provenance import OUTPUT_KEYWORD, PNG_SIGNATURE, svg_with_metadata
from toolkit.core.version import __version__
from toolkit.imaging.conditioning import conditioned
from toolkit.imaging.imageio import DEFAULT_MAX_PIXELS, IMAGE_SUFFIXES, read_header, read_image
from toolkit.runtime.base import Runner
from toolkit.runtime.feature_maps import channel_file, channel_numbers
from toolkit.runtime.flips import flip_views
from toolkit.runtime.pictures import (
    FORMATS,
    PICTURE_CHANNELS,
    check_scale,
    draw_feature_maps,
    draw_lines,
    rescaled,
    trace_svg,
)
from toolkit.runtime.routing import Router
from toolkit.runtime.tiling import PLANNED_TILING, Tiling, fitted


@dataclass
class InputFile:
    path: Path
    relative: Path  # where it sits under the folder it was found in: the output mirrors this


@dataclass
class FileResult:
    source: Path
    outputs: list[Path]  # written or, for "skipped", already there; [] for an error
    status: str  # "ok", "skipped" (output already there, --resume) or "error"
    seconds: float
    width: int = 0
    height: int = 0
    error: str = ""
    drawn_by: str = ""  # behind a route (toolkit.runtime.routing): the model whose lines it got


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


@dataclass(frozen=True)
class OutputOptions:
    output_format: str = "gray"  # one of FORMATS
    scale: float = 1.0  # run the network at this scale of the image; results are resized back
    overwrite: bool = False
    resume: bool = False  # skip files whose output exists
    max_pixels: int | None = DEFAULT_MAX_PIXELS  # larger images are refused before decoding
    record: bool = True  # write what made each picture into it (toolkit.core.provenance), source path too

    def __post_init__(self) -> None:
        if self.output_format not in FORMATS:
            raise UsageError(f"--format must be one of {', '.join(FORMATS)}, not {self.output_format}")
        if self.resume and self.overwrite:
            raise UsageError("--resume keeps finished outputs and --overwrite replaces them: choose one")
        check_scale(self.scale)


DEFAULT_OPTIONS = OutputOptions()


PREFETCH = 2  # images decoded ahead of the model at most, each by its own reader thread
WRITE_BEHIND = 2  # images waiting to be written before the model waits for the writer
# Under a memory budget, what runs beside a scan's tiles is paid from it too: the scans read ahead,
# as far as an eighth of the budget allows, and one picture still being written. Without this, a
# folder of 10000x8000 scans at 1024 MB held two more scans beside the one running (229 MB each as
# decoded, about twice that while conditioned) and went 17 % over (contour, FP32, 2026-12-03).
READ_AHEAD_SHARE = 0.125
# A scan being read holds its decoded pixels, their conditioned copy and the conditioning's buffers:
# 2.6x the decoded scan at 3000x2400 (unet-light's `flatten`), 1.9x at 10000x8000 (2026-12-03). But
# the next scan read beside the arena a scan's tiles filled raised a folder's peak by 70 MB, 3.4x its
# 20.6 MB (3000x2400, 300 MB budget, 2026-12-04): at 3 copies the plan kept 43 MB for it, and the
# folder went 13 % over once unet-light's INT8 graph was recorded 5 % leaner and the plan's tiles grew.
READ_COPIES = 4


def scan_plan(
    tiling: Tiling, image: np.ndarray, size: tuple[int, int], output_format: str
) -> tuple[Tiling, int]:
    """The tiling a scan runs under in `infer_files`, and how many scans may be read ahead beside it.

    `image` is the scan as the model takes it, `size` its (height, width) as decoded. Under a memory
    budget, the plan pays for the scans read ahead and the picture still being written, each as large
    as this scan's (larger ones wait for their turn), so it depends on this scan alone. It also pays
    for reading the next scan after this one, if none was read ahead: ONNX Runtime's arena keeps
    what this scan's tiles filled, so that read (its decoded pixels and their conditioned copy, where
    this scan alone is counted) comes on top of it. A next scan larger than this one can still go
    over by what it takes beyond that."""
    if tiling.memory_mb is None:
        return tiling, PREFETCH
    kept = getattr(image, "scan", None)  # the brightest channel kept for a route's reading of the scan
    reading = READ_COPIES * max(decoded_bytes(image, size), image.nbytes)
    reading += 0 if kept is None else kept.nbytes
    ahead = min(PREFETCH, int(READ_AHEAD_SHARE * tiling.memory_mb * 2**20) // reading)
    next_read = 0 if ahead else reading - image.nbytes
    beside = ahead * reading + next_read + math.prod(size) * picture_bytes(output_format)
    return dataclasses.replace(tiling, beside_bytes=beside), ahead


def decoded_bytes(image: np.ndarray, size: tuple[int, int]) -> int:
    """What the scan `image` (as the model takes it: scaled, conditioned) held as decoded at `size`."""
    height, width = size
    return height * width * image.itemsize * (image.shape[2] if image.ndim == 3 else 1)


def picture_bytes(output_format: str) -> int:
    """Bytes per pixel of a line picture in `output_format`."""
    return math.prod(PICTURE_CHANNELS.get(output_format, ()))


def no_larger(path: Path, decoded: int) -> bool:
    """Whether the header of the image at `path` says it decodes to at most `decoded` bytes (False
    where no header can be read: OpenCV-only formats are read when their turn comes). Bytes, not
    pixels: a 16-bit scan takes twice what an 8-bit one of its size was reserved."""
    header = read_header(path)
    return header is not None and header.decoded_bytes <= decoded


@dataclass
class Job:
    item: InputFile
    outputs: list[Path]  # in the order they are drawn
    labels: list[str]  # what each output shows: "lines", or "conv1 channel 21"
    result: FileResult | None = None  # decided before any pixel is read: skipped, or an error


Channels = dict[str, list[int]]  # feature output -> its channel numbers in the layer


def output_paths(item: InputFile, out_dir: Path, suffix: str, channels: Channels | None) -> list[Path]:
    """OUT_DIR/RELATIVE.png for a line model; for feature maps, OUT_DIR/RELATIVE-LAYER-cN.png each."""
    if channels is None:
        return [out_dir / item.relative.with_suffix(suffix)]
    stem = item.relative.with_suffix("")
    return [
        out_dir / stem.parent / f"{channel_file(stem.name, layer, channel)}{suffix}"
        for layer, numbers in channels.items()
        for channel in numbers
    ]


def output_labels(channels: Channels | None) -> list[str]:
    """What each of an image's outputs shows, in `output_paths` order."""
    if channels is None:
        return ["lines"]
    return [f"{layer} channel {channel}" for layer, numbers in channels.items() for channel in numbers]


def output_stamp(runner: Runner, options: OutputOptions, tiling: Tiling) -> dict[str, Any]:
    """What made every picture of a run, stamped into each (toolkit.core.provenance): the model card's
    identity, the backend and the settings. With the source image and output, it says how to remake it."""
    card, tiling = runner.card, fitted(tiling, runner)  # the tiles that run, for an engine too
    stamp = {
        "software": f"line-art-toolkit {__version__}",
        "model": card.model,
        "precision": card.precision,
        "flips": flip_views(runner),
        "weights_file": card.weights_file,
        "weights_sha256": card.weights_sha256,
        "training_command": card.training_command,
        "backend": runner.name,
        "format": options.output_format,
        "scale": options.scale,
        "tile": tiling.tile if tiling.max_tile_pixels is None else None,
        "memory_mb": tiling.memory_mb,  # with a budget: tiles of at most max_tile_pixels, per image
        "max_tile_pixels": tiling.max_tile_pixels,
        "overlap": tiling.overlap,
        "threshold": card.threshold,
    }
    if "calibration_sha256" in card.extra:
        stamp["calibration_sha256"] = card.extra["calibration_sha256"]
    if isinstance(runner, Router):  # each road: what it reads, the values it takes, the expert's graph
        stamp["route"] = [
            {
                "reading": runner.reading.name,
                **road.record(),
                "precision": expert.card.precision,
                "weights_sha256": expert.card.weights_sha256,
            }
            for road, expert in runner.experts.items()
        ]
    return stamp


def check_output_folder(out_dir: Path) -> None:
    """A usage error, before any model runs, when -o cannot be the pictures' folder: a file, or
    under a file, or in a folder this user cannot write to."""
    existing = next(p for p in (out_dir, *out_dir.absolute().parents) if p.exists())
    if not existing.is_dir():
        where = "is a file" if existing == out_dir else f"lies under the file {existing}"
        raise UsageError(f"{out_dir}: {where}; -o names the folder the pictures go to")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"{out_dir}: cannot be written here ({existing} is not writable for this user)")


PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"  # an empty IEND chunk: the last 12 bytes of every PNG


def finished(path: Path) -> bool:
    """Whether `path` holds a whole picture, checked cheaply: a PNG's signature and its closing IEND
    chunk, an SVG's closing tag. A zero-byte or cut-off file (copied in, or left by another tool) is
    not finished: --resume writes it again."""
    try:
        size = path.stat().st_size
        with path.open("rb") as file:
            head = file.read(8)
            file.seek(max(0, size - 64))
            tail = file.read()
    except OSError:
        return False
    if path.suffix == ".svg":
        return tail.rstrip().endswith(b"</svg>")
    return head == PNG_SIGNATURE and tail.endswith(PNG_END)


def plan(
    inputs: list[InputFile], out_dir: Path, options: OutputOptions, channels: Channels | None
) -> list[Job]:
    """Each input's output paths, and the files that need no work (--resume) or cannot be done.

    With --resume an image is skipped when all its outputs exist; where only some do (a run stopped
    between an image's feature maps), the missing ones are written and the others kept. An output
    that is one of the inputs stops the whole run before any model runs (a usage error).
    """
    check_output_folder(out_dir)
    suffix = ".svg" if options.output_format == "svg" else ".png"
    outputs = [output_paths(item, out_dir, suffix, channels) for item in inputs]
    refuse_replacing_inputs((path for paths in outputs for path in paths), (item.path for item in inputs))
    claimed: dict[Path, Path] = {}
    jobs = []
    for item, paths in zip(inputs, outputs):
        job = Job(item, paths, output_labels(channels))
        clash = next((path for path in job.outputs if path in claimed), None)
        existing = [path for path in job.outputs if path.exists()]
        if clash is not None:
            message = f"{item.path}: its output {clash} is also {claimed[clash]}'s"
            job.result = FileResult(item.path, [], "error", 0.0, error=message)
        elif options.resume and all(finished(path) for path in job.outputs):
            job.result = FileResult(item.path, job.outputs, "skipped", 0.0)
        elif existing and not (options.overwrite or options.resume):
            more = f" (and {len(existing) - 1} more of its outputs)" if len(existing) > 1 else ""
            message = (
                f"{existing[0]}: already exists{more} (pass --overwrite to replace it, --resume to skip it)"
            )
            job.result = FileResult(item.path, [], "error", 0.0, error=message)
        for path in job.outputs:
            claimed.setdefault(path, item.path)
        jobs.append(job)
    return jobs


def infer_files(
    runner: Runner,
    inputs: list[InputFile],
    out_dir: Path,
    *,
    options: OutputOptions = DEFAULT_OPTIONS,
    track: Callable[[list[Job]], Iterable[Job]] = iter,
    tiling: Tiling = PLANNED_TILING,
) -> InferRun:
    """OUT_DIR/RELATIVE.png for every input (or one file per feature channel), in input order.

    Decoding runs up to `PREFETCH` images ahead (under a memory budget, as many as its share allows:
    `scan_plan`) and PNG encoding behind, in threads, while the model runs (ONNX Runtime releases the
    GIL), so the model is rarely kept waiting. `options.resume` skips
    outputs already written: writes are atomic, so an existing output is a whole one.
    """
    channels = None if runner.card.output_kind == "lines" else channel_numbers(runner)
    jobs = plan(inputs, out_dir, options, channels)
    stamp = output_stamp(runner, options, tiling)
    run = InferRun([])
    readers = ThreadPoolExecutor(PREFETCH, thread_name_prefix="read")
    writer = ThreadPoolExecutor(1, thread_name_prefix="write")
    reads: dict[int, Future] = {}
    writes: list[tuple[int, Future, float]] = []  # (job, its write, bytes of its pictures; inf: not known)
    finished: dict[int, FileResult] = {}
    keep_scan = isinstance(runner, Router) and runner.reads_scan  # for a road's reading of the scan

    def read(path: Path) -> tuple[tuple[int, int], np.ndarray]:
        """(height, width) of the scan, and the scan as the model takes it: scaled, then conditioned
        here in the reader thread rather than on the model's."""
        image = read_image(path, options.max_pixels)
        scan = rescaled(image, options.scale)
        return image.shape[:2], conditioned(scan, runner.card.conditioning, keep_scan=keep_scan)

    def prefetch(first: int, count: int, decoded: int | None) -> None:
        """Read the `count` jobs from `first` ahead; under a budget only those that decode to at most
        `decoded` bytes."""
        for index in range(first, min(first + count, len(jobs))):
            path, waiting = jobs[index].item.path, jobs[index].result is None and index not in reads
            if waiting and (decoded is None or no_larger(path, decoded)):
                reads[index] = readers.submit(read, path)

    try:
        for index, job in enumerate(track(jobs)):
            prefetch(index, 1, None)
            if job.result is not None:
                finished[index] = job.result
                continue
            started = time.perf_counter()
            try:
                (height, width), image = reads.pop(index).result()
            except (InputError, OSError) as error:
                message = str(error) if isinstance(error, InputError) else f"{job.item.path}: {error}"
                finished[index] = FileResult(job.item.path, [], "error", 0.0, error=message)
                continue
            planned, ahead = scan_plan(tiling, image, (height, width), options.output_format)
            budget = tiling.memory_mb is not None
            prefetch(index + 1, ahead, decoded_bytes(image, (height, width)) if budget else None)
            settle(writes, height * width * picture_bytes(options.output_format) if budget else None)
            draw = draw_lines if channels is None else draw_feature_maps
            pictures = draw(
                runner, image, output_format=options.output_format, tiling=planned, size=(width, height)
            )
            del image
            source = {"source": str(job.item.path), "width": width, "height": height}
            if isinstance(runner, Router) and runner.last is not None:
                source |= runner.last.record()  # which model drew this scan, and why
            written = writer.submit(write_output, job, pictures, options, started, stamp | source)
            held = sum(p.nbytes for p in pictures) if isinstance(pictures, list) else float("inf")
            writes.append((index, written, held))
    except KeyboardInterrupt:
        # Ctrl-C or SIGTERM: outputs being written are finished (whole), nothing is half-written;
        # the caller reports what was done, and --resume carries on from there.
        run.interrupted = True
    finally:
        readers.shutdown(wait=True, cancel_futures=True)
        writer.shutdown(wait=True)
    finished |= {index: future.result() for index, future, _ in writes}
    run.results = [finished[index] for index in sorted(finished)]
    return run


def settle(writes: list[tuple[int, Future, float]], allowance: float | None) -> None:
    """Wait for the oldest writes until at most WRITE_BEHIND wait, and, under a memory budget, until
    the pictures still waiting hold at most `allowance` bytes."""
    waiting = [(future, held) for _, future, held in writes if not future.done()]
    over = (lambda: False) if allowance is None else (lambda: sum(held for _, held in waiting) > allowance)
    while waiting and (len(waiting) > WRITE_BEHIND or over()):
        waiting.pop(0)[0].result()


def write_output(
    job: Job, pictures: Iterable[np.ndarray], options: OutputOptions, started: float, stamp: dict[str, Any]
) -> FileResult:
    """Write each of the job's outputs from `pictures` (one per output, in order, made as they are
    written so that only one full-size picture is held), each stamped with what made it."""
    path = job.outputs[0]
    try:
        for path, label, pixels in zip(job.outputs, job.labels, pictures, strict=True):
            if options.resume and finished(path):
                continue  # whole, from the run this one resumes
            # --resume replaces what is there only when it is no whole picture (checked just above)
            replace = options.overwrite or options.resume
            record = stamp | {"output": label}
            if options.output_format == "svg":
                svg = trace_svg(pixels)
                with atomic_path(path, replace) as tmp:
                    tmp.write_text(svg_with_metadata(svg, record) if options.record else svg)
            else:
                text = {"Software": stamp["software"], OUTPUT_KEYWORD: json.dumps(record)}
                write_png(path, pixels, replace, text if options.record else None)
    except (InputError, OSError) as error:
        message = str(error) if isinstance(error, InputError) else not_written(path, error)
        return FileResult(job.item.path, [], "error", time.perf_counter() - started, error=message)
    width, height, drawn_by = stamp["width"], stamp["height"], stamp.get("drawn_by", "")
    seconds = time.perf_counter() - started
    return FileResult(job.item.path, job.outputs, "ok", seconds, width, height, drawn_by=drawn_by)


FULL = {
    errno.ENOSPC: "the disk is full",
    errno.EFBIG: "a file size limit applies",
    errno.EDQUOT: "over quota",
}


def not_written(path: Path, error: OSError) -> str:
    """One line for an output the system would not take: which file, why, and that no part of it stays."""
    why = FULL.get(error.errno or 0, error.strerror or str(error))
    return f"{path}: not written ({why}: {error.strerror}); no partial file is left"


def drawn_by_counts(results: list[FileResult]) -> dict[str, int]:
    """Behind a route (toolkit.runtime.routing): how many pictures each model drew, by name."""
    return dict(sorted(Counter(r.drawn_by for r in results if r.drawn_by).items()))


def write_summary(results: list[FileResult], path: Path, overwrite: bool = False) -> None:
    """One row per file (source, output, status, size, seconds, error) as .csv or .json."""
    rows = [
        {
            "source": str(r.source),
            "output": ";".join(map(str, r.outputs)),
            "status": r.status,
            "width": r.width,
            "height": r.height,
            "seconds": round(r.seconds, 3),
            "error": r.error,
            "drawn_by": r.drawn_by,
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
