"""What every command shares: the console, the option types, progress bars, and the one place that
turns a library failure into one line on stderr and its exit code.

The exit code of a failure is decided by its exception class (toolkit.core.errors: `UsageError` 2,
`InputError` 3, `MissingDependencyError` 4, `CheckFailed` 1); a missing optional package becomes a
`MissingDependencyError` naming the extra that installs it (`EXTRA_OF_MODULE`). Set TOOLKIT_DEBUG=1 to
see the traceback instead.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import shlex
import signal
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from toolkit.core.errors import InputError, MissingDependencyError, ToolkitError

# Piped into a log, tables keep whole file names rather than wrapping at Rich's default 80 columns.
console = Console(width=None if sys.stdout.isatty() else 160)
log = logging.getLogger("toolkit")

DEBUG_VARIABLE = "TOOLKIT_DEBUG"
# Optional packages a command may import, and the extra that installs each.
EXTRA_OF_MODULE = {
    "torch": "train",
    "onnx": "cpu",  # also in gpu and train
    "onnxscript": "train",
    "safetensors": "train",
    "onnxruntime": "cpu",
    "onnxconverter_common": "train",
    "skimage": "train",
    "matplotlib": "train",
    "tqdm": "train",
    "vtracer": "svg",
}

# Options shared between commands.
WeightsOption = Annotated[
    Optional[Path],
    typer.Option(
        "--weights",
        "-w",
        help="Weights file (.safetensors, .pth, .pt, .ckpt). Default: the shipped weights, if any.",
    ),
]
OverwriteOption = Annotated[
    bool, typer.Option("--overwrite", help="Replace output files that already exist.")
]
MODEL_HELP = (
    "A shipped model name (unet-light, contour), an ONNX graph (`toolkit export`) or a TensorRT engine "
    "(.engine/.plan, `toolkit build-engine`)."
)
ModelOption = Annotated[str, typer.Option("--model", "-m", help=MODEL_HELP)]
BackendOption = Annotated[
    str,
    typer.Option(
        help="auto (TensorRT for an engine, else the fastest ONNX Runtime here), tensorrt, onnxruntime, "
        "onnxruntime-cuda, onnxruntime-tensorrt, torch."
    ),
]
PrecisionOption = Annotated[
    str,
    typer.Option(
        help="For a shipped model name: auto (the fastest shipped graph for the backend whose recorded "
        "agreement with FP32 is verified: on a CPU the INT8 CPU form), fp32, fp16 or int8."
    ),
]
FlipsOption = Annotated[
    int,
    typer.Option(
        help="Average the lines of this many mirrored views of each image (1, 2 or 4): steadier lines "
        "(contour: about +1 point line F1 with 4) for that many times the model's time."
    ),
]
JsonOption = Annotated[
    Optional[Path], typer.Option("--json", help="Also write the full report as JSON to this file.")
]
# How `toolkit infer` feeds images; calibration feeds its images the same way, so give it the same.
ScaleOption = Annotated[
    float, typer.Option(help="Run at this scale of each image (strokes as thick as in training).")
]
TileOption = Annotated[int, typer.Option(help="Images larger than this run in tiles of this side.")]
OverlapOption = Annotated[int, typer.Option(help="Pixels shared (and cross-faded) by neighbouring tiles.")]
TilesPerImageOption = Annotated[
    int, typer.Option(help="Of an image larger than a tile, use this many tiles, spread over it (0: all).")
]


def guarded(function: Callable) -> Callable:
    """`function` with library errors turned into one line on stderr and their exit code."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            try:
                return function(*args, **kwargs)
            except ModuleNotFoundError as missing:
                module = (missing.name or "").partition(".")[0]
                if module not in EXTRA_OF_MODULE:
                    raise
                purpose = f"toolkit {function.__name__.removesuffix('_command').replace('_', '-')}"
                raise MissingDependencyError(module, EXTRA_OF_MODULE[module], purpose) from missing
        except ToolkitError as error:
            if os.environ.get(DEBUG_VARIABLE):
                raise
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(int(error.exit_code)) from None

    return wrapper


def error_line(error: InputError) -> None:
    """One file's failure inside a batch that goes on: the same line `guarded` prints."""
    if os.environ.get(DEBUG_VARIABLE):
        raise error
    typer.echo(f"error: {error}", err=True)


def echo_errors(messages: list[str]) -> None:
    for message in messages:
        typer.echo(f"error: {message}", err=True)


@dataclass
class JsonReport:
    """A `--json` file: refused before any work if it exists (without --overwrite), written at the end."""

    path: Path | None
    overwrite: bool = False

    def __post_init__(self) -> None:
        from toolkit.core.fileio import refuse_overwrite

        if self.path is not None:
            refuse_overwrite(self.path, self.overwrite)

    def write(self, data: object) -> None:
        from toolkit.core.fileio import write_json

        if self.path is not None:
            write_json(self.path, data, self.overwrite)
            console.print(f"wrote {self.path}")


def progress(description: str) -> Callable[[Any], Any]:
    """A progress-bar wrapper for a library function's `track` argument."""
    from rich.progress import track

    return lambda items: track(items, description, console=console)


def invocation(context: typer.Context) -> str:
    """The current command as a user would retype it: arguments, and the options given explicitly."""
    words = ["toolkit", context.info_name or ""]
    for param in context.command.params:
        value = context.params.get(param.name)
        if param.param_type_name == "argument":
            words += [str(v) for v in (value if isinstance(value, (list, tuple)) else [value])]
        elif context.get_parameter_source(param.name).name != "DEFAULT":
            if param.is_flag:
                words.append(param.opts[0] if value else param.secondary_opts[0])
            elif param.multiple:  # a repeated option is retyped once per value
                words += [word for item in value for word in (param.opts[0], str(item))]
            else:
                words += [param.opts[0], str(value)]
    return shlex.join(words)


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (a scheduler stopping the job) unwinds like Ctrl-C, so temporary files are removed."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def drawn_by_text(drawn_by: dict[str, int]) -> str:
    """'2 by contour, 1 by contour-thin': behind a route, how many pages each model drew (infer,
    bench and evaluate say it alike)."""
    return ", ".join(f"{count} by {name}" for name, count in drawn_by.items())


def print_scores(methods: dict[str, dict[str, float]], radius: int) -> None:
    keys = ("accuracy", "iou", "precision", "recall", "f1", "line_precision", "line_recall", "line_f1")
    headers = ("accuracy", "IoU", "precision", "recall", "F1", "line P", "line R", f"line F1 (r={radius})")
    table = Table("method", *headers)
    for name, values in methods.items():
        table.add_row(name, *(f"{values[key]:.4f}" for key in keys))
    console.print(table)
