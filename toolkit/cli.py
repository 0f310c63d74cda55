"""The `toolkit` command: each command parses, calls one library function, prints.

Commands import their library lazily, so `toolkit --help` and the inference commands work without
torch. Library errors (`ToolkitError`) become one line on stderr and a meaningful exit code (see
toolkit.errors.ExitCode); set TOOLKIT_DEBUG=1 to see the traceback instead.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import os
import shlex
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from toolkit import __version__
from toolkit.errors import ExitCode, InputError, MissingDependencyError, ToolkitError, UsageError
from toolkit.shipped import model_file

if TYPE_CHECKING:
    from toolkit.runtime.base import Runner

app = typer.Typer(
    name="toolkit",
    no_args_is_help=True,
    epilog=(
        "Examples:  \n"
        "toolkit infer examples/sketches -o lines/  \n"
        "toolkit infer scans/ --model contour -o outlines/ --format binary  \n"
        "toolkit train unet-light --epochs 40  \n"
        "toolkit evaluate data/heldout-sketch --model unet-light  \n"
        "toolkit export unet-light  \n"
        "toolkit verify export/unet-light.onnx --json verify.json  \n"
        "toolkit inspect export/unet-light-int8.onnx engines/unet-light-fp16.engine  \n"
        "toolkit features scans/thangka.jpg  \n"
        "toolkit export contour --features conv1:3,21,48,56 --features layer1  \n"
        "toolkit build-engine export/unet-fp16.onnx --fp16"
    ),
    rich_markup_mode="markdown",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
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
        help="Weights file (.safetensors, .pth, .pt). Default: the shipped weights, if any.",
    ),
]
OverwriteOption = Annotated[
    bool, typer.Option("--overwrite", help="Replace output files that already exist.")
]
MODEL_HELP = "A shipped model name, an ONNX file (`toolkit export`) or an engine (`toolkit build-engine`)."
BackendOption = Annotated[
    str,
    typer.Option(
        help="auto (TensorRT for an engine, else the fastest ONNX Runtime here), tensorrt, onnxruntime, "
        "onnxruntime-cuda, onnxruntime-tensorrt, torch."
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


def command(*args: Any, **kwargs: Any) -> Callable:
    """`app.command` that turns library errors into one line on stderr and their exit code."""

    def register(function: Callable) -> Callable:
        @functools.wraps(function)
        def wrapper(*call_args: Any, **call_kwargs: Any) -> Any:
            try:
                try:
                    return function(*call_args, **call_kwargs)
                except ModuleNotFoundError as missing:
                    module = (missing.name or "").partition(".")[0]
                    if module not in EXTRA_OF_MODULE:
                        raise
                    purpose = f"toolkit {function.__name__.removesuffix('_command')}"
                    raise MissingDependencyError(module, EXTRA_OF_MODULE[module], purpose) from missing
            except ToolkitError as error:
                if os.environ.get(DEBUG_VARIABLE):
                    raise
                typer.echo(f"error: {error}", err=True)
                raise typer.Exit(int(error.exit_code)) from None

        return app.command(*args, **kwargs)(wrapper)

    return register


class MessageFormatter(logging.Formatter):
    """Info as plain lines; warnings and errors prefixed with their level."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        return message if record.levelno < logging.WARNING else f"{record.levelname.lower()}: {message}"


def version_callback(value: bool) -> None:
    if value:
        typer.echo(f"line-art-toolkit {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log details.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=version_callback, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Line-art deployment toolkit: export, verify and run line-extraction CNNs.

    Exit codes: 0 ok, 1 a check failed, 2 bad command line, 3 bad input file, 4 missing extra or GPU,
    130 interrupted.
    Set TOOLKIT_DEBUG=1 to see tracebacks.
    """
    handler = logging.StreamHandler()
    handler.setFormatter(MessageFormatter())
    logging.basicConfig(handlers=[handler], level=logging.WARNING)
    log.setLevel(logging.DEBUG if verbose else logging.INFO)


@command("models")
def models_command() -> None:
    """List the named model configurations.

    Example: `toolkit models`
    """
    from toolkit.models.registry import MODELS

    table = Table("name", "family", "parameters", "stride", "input", "summary")
    for spec in MODELS.values():
        parameters = sum(p.numel() for p in spec.build().parameters())
        channels = "gray" if spec.in_channels == 1 else "RGB"
        table.add_row(
            spec.name, spec.family, f"{parameters / 1e6:.2f} M", str(spec.stride), channels, spec.summary
        )
    console.print(table)


@command("export")
def export_command(
    model: Annotated[str, typer.Argument(help="Model name (see `toolkit models`).")] = "unet",
    output: Annotated[
        Optional[Path], typer.Option("--output", "-o", help="ONNX file. Default: export/MODEL.onnx.")
    ] = None,
    weights: WeightsOption = None,
    features: Annotated[
        Optional[list[str]],
        typer.Option(
            "--features",
            help="Contour model: export feature maps instead of lines, e.g. `conv1:3,21,48,56` or "
            "`layer1` (all channels). Repeat for both layers.",
        ),
    ] = None,
    in_channels: Annotated[
        Optional[int], typer.Option("--in-channels", help="1 (gray) or 3 (RGB). Default: the model's.")
    ] = None,
    opset: Annotated[int, typer.Option(help="ONNX opset; 17 is the newest TensorRT 8.5/8.6 parse.")] = 17,
    simplify: Annotated[bool, typer.Option(help="Run onnxslim and keep its graph if smaller.")] = True,
    seed: Annotated[int, typer.Option(help="Initialisation seed of what the weights do not cover.")] = 0,
    untrained: Annotated[
        bool, typer.Option(help="Ignore shipped weights: export the initialisation.")
    ] = False,
    overwrite: OverwriteOption = False,
) -> None:
    """Export a model to ONNX with dynamic batch, height and width, checked and self-describing.

    Examples:

    * `toolkit export unet --weights runs/unet/best.safetensors`
    * `toolkit export contour --features conv1:3,21,48,56 --features layer1`
    """
    from toolkit.export.onnx_export import export_onnx
    from toolkit.fileio import refuse_overwrite
    from toolkit.models.build import load_model, parse_feature_selection
    from toolkit.models.registry import get_spec, shipped_file

    spec = get_spec(model, in_channels)
    if weights is None and not untrained:
        weights = shipped_file(spec, ".safetensors")
    if weights is None:
        log.warning("exporting '%s' untrained (seed %d): no weights given and none shipped", model, seed)
    selection = parse_feature_selection(features) if features else None
    if output is None:
        suffix = "-features" if selection else ""
        suffix += f"-{spec.in_channels}ch" if in_channels is not None else ""
        output = Path("export") / f"{model}{suffix}.onnx"
    refuse_overwrite(output, overwrite)  # before minutes of tracing, not after
    with console.status(f"exporting {model} to {output}"):
        loaded = load_model(spec, weights, seed, selection)
        result = export_onnx(loaded, output, opset=opset, simplify=simplify, overwrite=overwrite)
    size_mb = result.path.stat().st_size / 1e6
    outputs = ", ".join(result.card.output_names)
    console.print(
        f"wrote {result.path} ({size_mb:.1f} MB, opset {opset}, {result.nodes_simplified} nodes, "
        f"outputs: {outputs}) in {result.seconds:.1f} s"
    )
    console.print(f"next: toolkit verify {result.path}")


@command("verify")
def verify_command(
    model_file: Annotated[
        Path, typer.Argument(help="ONNX file made by `toolkit export` (or convert, calibrate), or an engine.")
    ],
    images: Annotated[
        Optional[Path],
        typer.Option("--images", help="Folder of images. Default: generated images of the model's domain."),
    ] = None,
    weights: WeightsOption = None,
    precision: Annotated[
        Optional[str], typer.Option(help="Tolerances to apply. Default: the graph's own precision.")
    ] = None,
    backend: Annotated[
        Optional[str],
        typer.Option(
            help="What runs the graph: onnxruntime (CPU, the default for a graph), onnxruntime-cuda, "
            "onnxruntime-tensorrt, or tensorrt (an engine's default)."
        ),
    ] = None,
    reference: Annotated[
        Optional[Path],
        typer.Option(
            help="Compare with this ONNX graph of the same model and weights on ONNX Runtime's CPU "
            "provider instead of PyTorch: no torch needed (a Jetson)."
        ),
    ] = None,
    json_path: JsonOption = None,
    overwrite: OverwriteOption = False,
) -> None:
    """Check that an ONNX graph or a TensorRT engine computes what its PyTorch model computes.

    Reports max/mean abs error, PSNR and binarised-line F1 per image and output; exits 1 when any
    is out of tolerance.

    Examples:

    * `toolkit verify export/unet.onnx`
    * `toolkit verify export/contour.onnx --images scans/ --json verify.json`
    * `toolkit verify engines/unet-fp16.engine` (TensorRT against PyTorch, FP16 tolerances)
    * `toolkit verify engines/unet-fp16.engine --reference export/unet.onnx` (against ONNX Runtime)
    """
    from toolkit.fileio import refuse_overwrite, write_json
    from toolkit.verify import verify_model

    if json_path is not None:
        refuse_overwrite(json_path, overwrite)
    report = verify_model(model_file, images, weights, precision, progress("verifying"), backend, reference)
    table = Table("image", "output", "CxHxW", "max abs", "mean abs", "PSNR dB", "line F1", "ok")
    for row in report.rows:
        table.add_row(
            row.image,
            row.output,
            "x".join(map(str, row.shape)),
            f"{row.max_abs:.1e}",
            f"{row.mean_abs:.1e}",
            f"{row.psnr_db:.1f}",
            f"{row.line_f1:.4f}",
            "[green]yes[/]" if row.passed else "[red]NO[/]",
        )
    console.print(table)
    worst, tol = report.worst(), report.tolerance
    console.print(
        f"{report.model} {report.precision} on {report.backend} against {report.reference}: "
        f"worst max abs {worst['max_abs']:.2e} "
        f"(tolerance {tol.max_abs:g}), "
        f"PSNR {worst['psnr_db']:.1f} dB (>= {tol.min_psnr_db:g}), line F1 {worst['line_f1']:.5f} "
        f"(>= {tol.min_line_f1:g}), non-finite {worst['nonfinite']}"
    )
    if json_path is not None:
        write_json(json_path, report.to_dict(), overwrite)
        console.print(f"wrote {json_path}")
    for message in report.skipped:
        typer.echo(f"error: {message}", err=True)
    if not report.passed:
        failed = sum(not row.passed for row in report.rows)
        typer.echo(f"FAILED: {failed} of {len(report.rows)} outputs out of tolerance", err=True)
        raise typer.Exit(ExitCode.CHECK_FAILED)
    if report.skipped:
        typer.echo(f"passed on what was read, but {len(report.skipped)} file(s) could not be read", err=True)
        raise typer.Exit(ExitCode.BAD_INPUT)
    console.print("[green]PASSED[/]")


@command("inspect")
def inspect_command(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="ONNX graphs, engines (or their .engine.json headers), .safetensors, pictures from infer."
        ),
    ],
    json_path: JsonOption = None,
    overwrite: OverwriteOption = False,
) -> None:
    """Say what a file is and what made it: model, precision, provenance, and whether an engine runs here.

    Reads each file's own description (model card, engine header, training record, the record
    `toolkit infer` stamps into every picture) without torch and without loading a model. Exits 1
    when a file has a problem (a plan that is not the one its header describes, an engine this
    machine's TensorRT or GPU cannot run, an INT8 graph that breaks TensorRT's Q/DQ rules), 3 when
    one cannot be read; the other files are still inspected.

    Examples:

    * `toolkit inspect export/unet-int8.onnx`
    * `toolkit inspect engines/*.engine --json engines.json`
    * `toolkit inspect runs/unet-light/weights.safetensors`
    * `toolkit inspect lines/scan-0042.png` (which model, weights and settings drew it, from which scan)
    """
    from toolkit.fileio import refuse_overwrite, write_json
    from toolkit.inspection import inspect_artifact

    if json_path is not None:
        refuse_overwrite(json_path, overwrite)
    inspections, unreadable = [], 0
    for path in files:
        try:
            inspection = inspect_artifact(path)
        except InputError as error:
            if os.environ.get(DEBUG_VARIABLE):
                raise
            typer.echo(f"error: {error}", err=True)
            unreadable += 1
            continue
        inspections.append(inspection)
        rows = [*inspection.rows, *(("PROBLEM", problem) for problem in inspection.problems)]
        width = max(len(label) for label, _ in rows)
        typer.echo(str(path))
        for label, text in rows:
            typer.echo(f"  {label:<{width}}  {text}")
    if json_path is not None:
        write_json(json_path, [inspection.facts for inspection in inspections], overwrite)
        typer.echo(f"wrote {json_path}")
    with_problems = sum(bool(inspection.problems) for inspection in inspections)
    if with_problems:
        typer.echo(f"FAILED: {with_problems} of {len(files)} file(s) have problems", err=True)
        raise typer.Exit(ExitCode.CHECK_FAILED)
    if unreadable:
        raise typer.Exit(ExitCode.BAD_INPUT)


@command("train")
def train_command(
    context: typer.Context,
    model: Annotated[str, typer.Argument(help="Model name (see `toolkit models`).")] = "unet-light",
    data: Annotated[
        str, typer.Option(help="`synthetic`, or a folder holding input/ and target/ images matched by name.")
    ] = "synthetic",
    out: Annotated[
        Optional[Path], typer.Option("--out", "-o", help="Run folder. Default: runs/MODEL.")
    ] = None,
    epochs: Annotated[int, typer.Option(help="Epochs at most.")] = 100,
    batch_size: Annotated[int, typer.Option(help="Images per step (per process under torchrun).")] = 6,
    lr: Annotated[float, typer.Option(help="Adam learning rate.")] = 1e-3,
    lr_decay: Annotated[
        Optional[float], typer.Option(help="Multiply the learning rate by this after each epoch.")
    ] = None,
    cosine: Annotated[
        bool, typer.Option(help="Anneal the learning rate to 2 % over --epochs (cosine), after each epoch.")
    ] = False,
    time_limit: Annotated[
        Optional[float], typer.Option(help="Stop after the epoch that passes this many minutes of training.")
    ] = None,
    threads: Annotated[
        Optional[int], typer.Option(help="Torch CPU threads (e.g. 1 each for two runs side by side).")
    ] = None,
    conditioning: Annotated[
        str,
        typer.Option(
            help="Input conditioning on each whole image: none, or flatten (paper to white, ink stretched; "
            "sketches). Recorded in the weights; every graph and engine made from them applies it."
        ),
    ] = "none",
    loss: Annotated[str, typer.Option(help="pmi-gmi (the reference), bce, or pmi-gmi+bce.")] = "pmi-gmi",
    crop: Annotated[int, typer.Option(help="Training crop side, a multiple of 8.")] = 192,
    image_size: Annotated[int, typer.Option(help="Synthetic pairs: image side.")] = 256,
    train_size: Annotated[int, typer.Option(help="Synthetic pairs: new pairs per epoch.")] = 480,
    val_size: Annotated[int, typer.Option(help="Synthetic pairs: held-out validation pairs.")] = 32,
    kind: Annotated[
        Optional[str], typer.Option(help="Synthetic pairs: sketch or painting. Default: by model.")
    ] = None,
    resize: Annotated[
        Optional[int], typer.Option(help="Folder data: shrink the longest side to this (INTER_AREA).")
    ] = None,
    in_channels: Annotated[Optional[int], typer.Option("--in-channels", help="1 (gray) or 3 (RGB).")] = None,
    checkpoint_every: Annotated[int, typer.Option(help="Keep a checkpoint every N epochs.")] = 50,
    patience: Annotated[
        int, typer.Option(help="Stop after N epochs without a better validation line F1 (0: never).")
    ] = 10,
    seed: Annotated[int, typer.Option(help="Seed of initialisation, data and order.")] = 0,
    init_weights: Annotated[
        Optional[Path], typer.Option(help="Start from these weights (e.g. a torchvision resnet18 file).")
    ] = None,
    amp: Annotated[bool, typer.Option(help="Mixed precision on CUDA.")] = True,
    workers: Annotated[int, typer.Option(help="Data loader worker processes.")] = 0,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:1 ...")] = "auto",
) -> None:
    """Train a model; resumes by itself from RUN/checkpoints/last.pt when the run folder has one.

    Examples:

    * `toolkit train unet-light --epochs 40`
    * `toolkit train unet --data data/ --resize 1024 --crop 384`
    * `torchrun --nproc_per_node 4 -m toolkit train unet --batch-size 6`
    """
    from toolkit.train.trainer import TrainConfig, train

    config = TrainConfig(
        command=invocation(context),
        model=model,
        in_channels=in_channels,
        data=data,
        kind=kind,
        image_size=image_size,
        crop=crop,
        train_size=train_size,
        val_size=val_size,
        resize=resize,
        batch_size=batch_size,
        epochs=epochs,
        lr=lr,
        lr_decay=lr_decay,
        cosine=cosine,
        time_limit=time_limit,
        threads=threads,
        conditioning=conditioning,
        loss=loss,
        checkpoint_every=checkpoint_every,
        patience=patience or None,
        seed=seed,
        amp=amp,
        workers=workers,
        device=device,
        init_weights=str(init_weights) if init_weights else None,
        out=str(out or f"runs/{model}"),
    )
    result = train(config)
    if result.evaluation:
        console.print(
            f"validation set, best weights against classical baselines ({result.run}/evaluation.json):"
        )
        print_scores(result.evaluation, radius=2)
    if result.best:
        console.print(
            f"best epoch {result.best_epoch} of {result.epochs_run}: validation line F1 "
            f"{result.best['val_line_f1']:.4f}; weights in {result.run / 'weights.safetensors'}"
        )


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
            else:
                words += [param.opts[0], str(value)]
    return shlex.join(words)


@command("infer")
def infer_command(
    inputs: Annotated[list[Path], typer.Argument(help="Image files and/or folders of images.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for the line images.")] = Path(
        "lines"
    ),
    model: Annotated[str, typer.Option("--model", "-m", help=MODEL_HELP)] = "unet-light",
    backend: BackendOption = "auto",
    output_format: Annotated[
        str,
        typer.Option(
            "--format",
            help="gray (lines on white), binary (at the model's threshold), alpha (ink on transparency), "
            "svg (vector paths traced from the binary lines).",
        ),
    ] = "gray",
    scale: ScaleOption = 1.0,
    recursive: Annotated[bool, typer.Option("--recursive", "-r", help="Descend into subfolders.")] = False,
    resume: Annotated[bool, typer.Option(help="Skip images whose output is already written.")] = False,
    summary: Annotated[
        Optional[Path],
        typer.Option(help="Write a per-file report (.csv or .json): status, size, time, error."),
    ] = None,
    max_pixels: Annotated[
        int,
        typer.Option(help="Refuse images over this many pixels, read from the header (decompression bombs)."),
    ] = 400_000_000,
    tile: TileOption = 512,
    overlap: OverlapOption = 64,
    tile_batch: Annotated[int, typer.Option(help="Tiles per inference call.")] = 4,
    record: Annotated[
        bool,
        typer.Option(
            help="Write what made each picture into it: model, weights, settings and the source path "
            "(`toolkit inspect` reads it). --no-record for pictures to publish."
        ),
    ] = True,
    overwrite: OverwriteOption = False,
) -> None:
    """Draw clean lines for images of any size with ONNX Runtime on the CPU (no torch needed).

    Writes OUTPUT/NAME.png, black lines on white. A graph exported with `--features` writes
    OUTPUT/NAME-LAYER-cN.png for each of its channels instead, at the image's size, ink = activation.
    A file that cannot be read is reported in one line and the rest go on; the exit code is then 3.

    Examples:

    * `toolkit infer examples/sketches -o lines/`
    * `toolkit infer scans/ --model contour -o outlines/ --format binary`
    * `toolkit infer page.jpg --model export/unet.onnx`
    * `toolkit infer scans/ --model engines/contour-fp16.engine -o outlines/` (TensorRT)
    * `toolkit infer archive/ -r --resume --summary run.csv -o lines/` (mirrors the folder tree)
    * `toolkit infer scans/ --model export/contour-features.onnx -o maps/` (the paper's feature maps)
    """
    from toolkit.fileio import refuse_overwrite
    from toolkit.runtime.backends import make_runner, warn_if_unsuited
    from toolkit.runtime.infer import OutputOptions, collect_inputs, infer_files, write_summary
    from toolkit.runtime.tiling import Tiling

    runner, chosen = make_runner(model_file(model), backend)
    sources = collect_inputs(inputs, recursive)
    if summary is not None:
        refuse_overwrite(summary, overwrite)
    with runner, sigterm_as_interrupt():
        warn_if_unsuited(runner, chosen)
        model_name = runner.card.model
        if runner.card.output_kind == "features":
            model_name += f" {'+'.join(runner.card.output_names)} maps"
        tiling = Tiling(tile, overlap, tile_batch)
        options = OutputOptions(output_format, scale, overwrite, resume, max_pixels, record)
        run = infer_files(runner, sources, output, options, progress("inferring"), tiling)
    failed = [r for r in run.results if r.status == "error"]
    for result in failed:
        typer.echo(f"error: {result.error}", err=True)
    counts = {status: sum(r.status == status for r in run.results) for status in ("ok", "skipped", "error")}
    console.print(
        f"{counts['ok']} of {len(sources)} images written to {output}/ ({model_name} on {chosen})"
        + (f", {counts['skipped']} already there" if counts["skipped"] else "")
        + (f", {counts['error']} failed" if counts["error"] else "")
    )
    if summary is not None:
        write_summary(run.results, summary, overwrite)
        console.print(f"wrote {summary}")
    if run.interrupted:
        typer.echo("interrupted: no output is half-written; run again with --resume to carry on", err=True)
        raise typer.Exit(ExitCode.INTERRUPTED)
    if failed:
        raise typer.Exit(ExitCode.BAD_INPUT)


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


def print_scores(methods: dict[str, dict[str, float]], radius: int) -> None:
    keys = ("accuracy", "iou", "precision", "recall", "f1", "line_precision", "line_recall", "line_f1")
    headers = ("accuracy", "IoU", "precision", "recall", "F1", "line P", "line R", f"line F1 (r={radius})")
    table = Table("method", *headers)
    for name, values in methods.items():
        table.add_row(name, *(f"{values[key]:.4f}" for key in keys))
    console.print(table)


@command("evaluate")
def evaluate_command(
    data: Annotated[Path, typer.Argument(help="Folder with input/ and target/ images matched by name.")],
    model: Annotated[
        Optional[str], typer.Option("--model", "-m", help="A shipped model name or an ONNX file.")
    ] = None,
    predictions: Annotated[
        Optional[Path], typer.Option(help="Instead of (or beside) a model: a folder of its line images.")
    ] = None,
    radius: Annotated[int, typer.Option(help="Line F1 tolerance in pixels.")] = 2,
    baselines: Annotated[bool, typer.Option(help="Also score Otsu, adaptive threshold and Canny.")] = True,
    json_path: JsonOption = None,
    overwrite: OverwriteOption = False,
) -> None:
    """Score a model or a folder of predictions against a dataset, beside classical baselines.

    Examples:

    * `toolkit synth --kind sketch --count 100 -o data/heldout-sketch`
      then `toolkit evaluate data/heldout-sketch --model unet-light`
    * `toolkit evaluate data/ --predictions lines/ --json eval.json`
    """
    from toolkit.data.datasets import pair_folder
    from toolkit.evaluate import evaluate
    from toolkit.fileio import refuse_overwrite, write_json
    from toolkit.runtime.onnxruntime_runner import OnnxRuntimeRunner

    if json_path is not None:
        refuse_overwrite(json_path, overwrite)
    if model is None and predictions is None and not baselines:
        raise InputError("nothing to evaluate: give --model or --predictions, or keep the baselines")
    pairs = pair_folder(data)
    runner = OnnxRuntimeRunner(model_file(model)) if model else None
    if runner is not None:
        with runner:
            report = evaluate(
                pairs,
                str(data),
                runner,
                runner.card.model,
                predictions,
                radius,
                baselines,
                progress("evaluating"),
            )
    else:
        report = evaluate(
            pairs, str(data), None, "model", predictions, radius, baselines, progress("evaluating")
        )
    print_scores(report.methods, radius)
    console.print(f"{report.pairs} pairs from {data}")
    for message in report.skipped:
        typer.echo(f"error: {message}", err=True)
    if json_path is not None:
        write_json(json_path, report.to_dict(), overwrite)
    if report.skipped:
        raise typer.Exit(ExitCode.BAD_INPUT)


@command("sweep")
def sweep_command(
    model: Annotated[str, typer.Option("--model", "-m", help=MODEL_HELP)] = "unet-light",
    output: Annotated[
        Path, typer.Option("--output", "-o", help="The PNG of small plots; the JSON goes beside it.")
    ] = Path("sweep.png"),
    points: Annotated[int, typer.Option(help="Values per factor, the range's ends included.")] = 5,
    images: Annotated[int, typer.Option(help="Held-out pages per value.")] = 8,
    size: Annotated[int, typer.Option(help="Page side in pixels.")] = 256,
    factor: Annotated[
        Optional[list[str]], typer.Option("--factor", help="Sweep only this factor (repeatable).")
    ] = None,
    overwrite: OverwriteOption = False,
) -> None:
    """Line F1 of a model and of Otsu, adaptive threshold and Canny as each domain-randomisation
    factor moves across its range (`toolkit synth --factors` lists them), others at their middle.

    Exit code 1 when the model falls below line F1 0.85 anywhere, or a baseline matches it somewhere.

    Examples:

    * `toolkit sweep --model unet-light -o docs/sweep-unet-light.png`
    * `toolkit sweep --model contour --factor crack_darkness --factor outline_colour --images 16`
    """
    from toolkit.fileio import refuse_overwrite, write_json
    from toolkit.runtime.onnxruntime_runner import OnnxRuntimeRunner
    from toolkit.sweep import SweepPlan, run_sweep, summary_lines, sweep_plot, worst_points

    json_path = output.with_suffix(".json")
    for path in (output, json_path):
        refuse_overwrite(path, overwrite)
    if points < 2 or images < 1 or size < 32:
        raise UsageError("--points must be at least 2, --images at least 1 and --size at least 32")
    with OnnxRuntimeRunner(model_file(model)) as runner:
        plan = SweepPlan(runner.card.domain, points, images, size, tuple(factor or ()))
        report = run_sweep(runner, plan, track=progress(f"sweeping {runner.card.model}"))
    table = Table("factor", "worst at", "model line F1", "best baseline")
    for name, value, f1, baseline in worst_points(report):
        table.add_row(name, f"{value:g}", f"{f1:.3f}", f"{baseline:.3f}")
    console.print(table)
    for line in summary_lines(report):
        console.print(line)
    write_json(json_path, report, overwrite)
    sweep_plot(report, output, overwrite=overwrite)
    console.print(f"wrote {output} and {json_path}")
    if not report["summary"]["passes"]:
        typer.echo("FAILED: below line F1 0.85 somewhere, or not above every baseline", err=True)
        raise typer.Exit(ExitCode.CHECK_FAILED)


@command("features")
def features_command(
    inputs: Annotated[list[Path], typer.Argument(help="Image files and/or folders of images.")],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Folder for the sheets and channel images.")
    ] = Path("features"),
    model: Annotated[
        str,
        typer.Option(
            "--model", "-m", help="A contour model name, or an ONNX file from `toolkit export --features`."
        ),
    ] = "contour",
    weights: WeightsOption = None,
    lines: Annotated[
        str, typer.Option(help="Rank against this line model's drawing of each image: " + MODEL_HELP)
    ] = "contour",
    target: Annotated[
        Optional[Path], typer.Option(help="Rank against this line drawing of the (one) image instead.")
    ] = None,
    top: Annotated[int, typer.Option(help="Channels to frame on the sheets and write at full size.")] = 8,
    max_side: Annotated[int, typer.Option(help="Shrink images to this longest side first.")] = 1024,
    json_path: JsonOption = None,
    overwrite: OverwriteOption = False,
) -> None:
    """Browse the contour trunk's conv1 and layer1 feature maps and rank them as contour drawings.

    For each image: OUTPUT/NAME-conv1.png and NAME-layer1.png, sheets of every channel (ink =
    activation, each channel stretched to its own range, labelled with its correlation r against the
    line drawing), and OUTPUT/NAME-LAYER-cN.png, the best --top channels at the image's size. Channels
    are ranked by mean r over the images; the command that exports them comes last.

    Examples:

    * `toolkit features scans/thangka.jpg`
    * `toolkit features scans/ --weights resnet18-f37072fd.pth --top 4` (torchvision's ImageNet trunk)
    * `toolkit features page.png --target page-outline.png` (rank against your own tracing)
    """
    from toolkit.features import browse_features
    from toolkit.fileio import refuse_overwrite, write_json
    from toolkit.runtime.backends import make_runner
    from toolkit.runtime.infer import collect_inputs
    from toolkit.shipped import SHIPPED_PREFIX

    if json_path is not None:
        refuse_overwrite(json_path, overwrite)
    sources = collect_inputs(inputs)
    features = feature_runner(model, weights)
    reference = None if target else make_runner(model_file(lines), "auto")[0]
    with features, reference or contextlib.nullcontext():
        report = browse_features(
            features, sources, output, reference, target, top, max_side, overwrite, progress("browsing")
        )
        weights_file = features.card.weights_file  # what `toolkit export` needs to make the same maps
    table = Table("rank", "channel", f"r, mean of {len(report.per_image)} image(s)")
    for rank, score in enumerate(report.top(top), 1):
        table.add_row(str(rank), score.label, f"{score.correlation:+.3f}")
    console.print(table)
    console.print(f"ranked against the {report.reference}; wrote {len(report.written)} files to {output}/")
    if json_path is not None:
        write_json(json_path, report.to_dict(), overwrite)
        console.print(f"wrote {json_path}")
    selection = " ".join(f"--features {item}" for item in report.export_selection(top))
    given = (
        "" if not weights_file or weights_file.startswith(SHIPPED_PREFIX) else f" --weights {weights_file}"
    )
    console.print(f"next: toolkit export {report.model} {selection}{given}")
    scans = shlex.join(map(str, inputs))  # retypable: quoted where a path has spaces
    console.print(
        f"then: toolkit infer {scans} --model export/{report.model}-features.onnx -o {report.model}-maps/"
    )
    for message in report.skipped:
        typer.echo(f"error: {message}", err=True)
    if report.skipped:
        raise typer.Exit(ExitCode.BAD_INPUT)


def feature_runner(model: str, weights: Path | None) -> Runner:
    """A runner of every conv1 and layer1 channel: PyTorch for a model name, ONNX Runtime for a file."""
    if model.endswith(".onnx"):
        if weights is not None:
            raise InputError(f"--weights: {model} already holds its weights")
        from toolkit.runtime.onnxruntime_runner import OnnxRuntimeRunner

        return OnnxRuntimeRunner(Path(model))
    from toolkit.models.build import load_model
    from toolkit.models.registry import get_spec, shipped_file
    from toolkit.runtime.torch_runner import TorchRunner

    spec = get_spec(model)
    loaded = load_model(
        spec, weights or shipped_file(spec, ".safetensors"), features={"conv1": None, "layer1": None}
    )
    return TorchRunner(loaded.module, loaded.card())


@command("synth")
def synth_command(
    output: Annotated[
        Optional[Path], typer.Option("--output", "-o", help="Dataset folder (input/ and target/).")
    ] = None,
    kind: Annotated[
        str, typer.Option(help="sketch (rough -> clean) or painting (painting -> outlines).")
    ] = "sketch",
    count: Annotated[int, typer.Option(help="Number of pairs.")] = 100,
    size: Annotated[int, typer.Option(help="Image side in pixels (the height, with --width).")] = 256,
    width: Annotated[Optional[int], typer.Option(help="Image width in pixels. Default: --size.")] = None,
    seed: Annotated[int, typer.Option(help="Seed; sets on disk never share seeds with training.")] = 0,
    sheet: Annotated[
        Optional[Path], typer.Option(help="Also write a contact sheet PNG of the first pairs.")
    ] = None,
    factors: Annotated[
        bool, typer.Option("--factors", help="Print the domain-randomisation factors of --kind and stop.")
    ] = False,
    overwrite: OverwriteOption = False,
) -> None:
    """Write synthetic pairs to disk in the reference layout (held out from training).

    Examples:

    * `toolkit synth --kind painting --count 200 -o data/heldout-painting`
    * `toolkit synth --kind sketch --factors` (every factor, its range and what it does)
    """
    from toolkit.data.factors import factor_table
    from toolkit.data.synthetic import KINDS, contact_sheet, held_out_seed, make_pair, write_pairs
    from toolkit.fileio import write_png

    if kind not in KINDS:
        raise UsageError(f"--kind must be one of {', '.join(KINDS)}, not {kind}")
    if factors:
        typer.echo(factor_table(kind))
        return
    if output is None:
        raise UsageError("give the dataset folder: -o FOLDER")
    write_pairs(
        kind,
        count,
        size,
        seed,
        output,
        overwrite,
        track=progress("writing"),
        width=width,
    )
    console.print(f"wrote {count} {kind} pairs to {output}/input and {output}/target")
    if sheet is not None:
        pairs = [make_pair(kind, size, width or size, held_out_seed(seed, i)) for i in range(min(count, 4))]
        write_png(sheet, contact_sheet([pairs]), overwrite)
        console.print(f"wrote {sheet}")


CalibrationImagesOption = Annotated[
    Path, typer.Option("--images", help="Calibration images, fed as `toolkit infer` feeds them.")
]


def derived_path(onnx_file: Path, precision: str) -> Path:
    """export/unet.onnx -> export/unet-int8.onnx; a shipped graph's go to export/, not into the package."""
    from toolkit.shipped import is_shipped

    folder = Path("export") if is_shipped(onnx_file) else onnx_file.parent
    return folder / f"{onnx_file.stem}-{precision}.onnx"


@command("convert")
def convert_command(
    onnx_file: Annotated[Path, typer.Argument(help="FP32 ONNX file made by `toolkit export`.")],
    to: Annotated[str, typer.Option("--to", help="Target precision: fp16.")] = "fp16",
    images: CalibrationImagesOption = Path("calibration"),
    scale: ScaleOption = 1.0,
    tile: TileOption = 512,
    overlap: OverlapOption = 64,
    tiles_per_image: TilesPerImageOption = 16,
    output: Annotated[
        Optional[Path],
        typer.Option(
            "--output", "-o", help="Default: NAME-fp16.onnx beside it (export/ for a shipped graph)."
        ),
    ] = None,
    overwrite: OverwriteOption = False,
) -> None:
    """Derive the FP16 graph (FP32 inputs and outputs) of an FP32 graph.

    Nodes whose activations (measured on the images, fed as `toolkit infer` feeds them: give its
    --scale, --tile and --overlap) or weights FP16 cannot hold stay FP32.

    Example: `toolkit convert export/unet.onnx --to fp16 --images calibration/`
    """
    from toolkit.calibration.images import load_calibration_set
    from toolkit.export.fp16 import convert_to_fp16
    from toolkit.metadata import read_card
    from toolkit.runtime.tiling import Tiling

    if to != "fp16":
        raise InputError(f"--to {to}: only fp16 is a conversion; INT8 comes from `toolkit calibrate`")
    output = output or derived_path(onnx_file, "fp16")
    calibration = load_calibration_set(images, scale, Tiling(tile, overlap), tiles_per_image)
    batches = calibration.batches(read_card(onnx_file), track=progress("measuring activations"))
    result = convert_to_fp16(onnx_file, batches, output, overwrite)
    kept = ", ".join(f"{node} ({why})" for node, why in result.fp32_nodes.items()) or "none"
    console.print(f"wrote {result.path}; nodes kept in FP32: {kept}")
    console.print(f"next: toolkit verify {result.path}")


@command("calibrate")
def calibrate_command(
    onnx_file: Annotated[Path, typer.Argument(help="FP32 ONNX file made by `toolkit export`.")],
    images: CalibrationImagesOption = Path("calibration"),
    scale: ScaleOption = 1.0,
    tile: TileOption = 512,
    overlap: OverlapOption = 64,
    tiles_per_image: TilesPerImageOption = 16,
    method: Annotated[str, typer.Option(help="Calibration: max, entropy or percentile.")] = "max",
    target_f1: Annotated[
        Optional[float],
        typer.Option(help="Keep the most sensitive nodes in FP32 until the line F1 agreement meets this."),
    ] = None,
    report: Annotated[
        Optional[Path], typer.Option(help="Write the per-node sensitivity ranking (JSON) here.")
    ] = None,
    exclude: Annotated[
        Optional[list[str]], typer.Option(help="Keep this node out of INT8 (repeatable).")
    ] = None,
    target: Annotated[
        str,
        typer.Option(
            help="tensorrt: TensorRT's Q/DQ form (ONNX Runtime runs it too, slower than FP32 on a CPU); "
            "cpu: ONNX Runtime's fast x86 form, which TensorRT cannot build."
        ),
    ] = "tensorrt",
    output: Annotated[
        Optional[Path], typer.Option("--output", "-o", help="Default: NAME-int8.onnx (NAME-int8-cpu.onnx).")
    ] = None,
    overwrite: OverwriteOption = False,
) -> None:
    """Calibrate and write the INT8 Q/DQ graph (per-channel weights) of an FP32 graph.

    The images are fed as `toolkit infer` feeds them (scaled, then tiled where larger than a tile):
    give the --scale, --tile and --overlap your infer runs use. Of a large scan, --tiles-per-image
    tiles spread over it are used. Ranges are cached and reused while the model, the images and
    that feed are unchanged.

    Examples:

    * `toolkit calibrate export/unet.onnx --images calibration/ --target-f1 0.98`
    * `toolkit calibrate export/unet.onnx --method entropy --report sensitivity.json`
    * `toolkit calibrate export/unet.onnx --target cpu` (for ONNX Runtime on x86)
    """
    from toolkit.calibration.images import load_calibration_set
    from toolkit.calibration.int8 import check_choices, quantize_int8
    from toolkit.calibration.sensitivity import node_sensitivity, quantize_to_target
    from toolkit.fileio import refuse_overwrite, write_json
    from toolkit.runtime.tiling import Tiling

    check_choices(method, target)
    output = output or derived_path(onnx_file, "int8" if target == "tensorrt" else f"int8-{target}")
    refuse_overwrite(output, overwrite)
    if report is not None:
        refuse_overwrite(report, overwrite)
    calibration = load_calibration_set(images, scale, Tiling(tile, overlap), tiles_per_image)
    ranking = []
    if target_f1 is not None:
        result, ranking, f1 = quantize_to_target(
            onnx_file,
            calibration,
            output,
            target_f1,
            method,
            overwrite,
            track=progress("ranking nodes"),
            target=target,
        )
        console.print(f"line F1 agreement with the FP32 graph: {f1:.4f} (target {target_f1})")
    else:
        result = quantize_int8(
            onnx_file,
            calibration,
            output,
            method,
            exclude or [],
            overwrite,
            track=progress("calibrating"),
            target=target,
        )
    if report is not None:
        ranking = ranking or node_sensitivity(
            onnx_file, calibration, method, track=progress("ranking nodes"), target=target
        )
        rows = [dataclasses.asdict(cost) for cost in ranking]
        write_json(report, rows, overwrite)
        table = Table("node", "module", "line F1 alone in INT8", "PSNR dB")
        for cost in ranking[:10]:
            table.add_row(cost.node, cost.module, f"{cost.line_f1:.4f}", f"{cost.psnr_db:.1f}")
        console.print(table)
    source = "cached ranges" if result.cache_hit else f"{len(calibration.paths)} images, {method}"
    console.print(f"wrote {result.path} ({source}); kept out of INT8: {', '.join(result.excluded)}")
    console.print(f"next: toolkit verify {result.path}")


@command("build-engine")
def build_engine_command(
    context: typer.Context,
    model: Annotated[str, typer.Argument(help="An ONNX graph (FP32, FP16 or INT8) or a shipped model name.")],
    output: Annotated[
        Optional[Path], typer.Option("--output", "-o", help="Default: engines/NAME.engine.")
    ] = None,
    fp16: Annotated[
        bool, typer.Option("--fp16", help="Require the graph to be FP16 (`toolkit convert`).")
    ] = False,
    int8: Annotated[
        bool, typer.Option("--int8", help="Require the graph to be INT8 (`toolkit calibrate`).")
    ] = False,
    min_shape: Annotated[str, typer.Option(help="Smallest input, BATCHxHEIGHTxWIDTH.")] = "1x32x32",
    opt_shape: Annotated[str, typer.Option(help="Input the kernels are tuned for.")] = "4x512x512",
    max_shape: Annotated[
        str, typer.Option(help="Largest input; `toolkit infer` tiles to fit it.")
    ] = "4x512x512",
    workspace: Annotated[Optional[int], typer.Option(help="Builder workspace limit in MB.")] = None,
    timing_cache: Annotated[
        Optional[Path], typer.Option(help="Reuse and update this timing cache (much faster rebuilds).")
    ] = None,
    dla_core: Annotated[Optional[int], typer.Option(help="Jetson: build for this DLA core.")] = None,
    version_compatible: Annotated[
        bool, typer.Option(help="Runs on later TensorRT versions and on the lean runtime.")
    ] = False,
    hardware_compatibility: Annotated[
        str, typer.Option(help="none, ampere+ (any GPU of compute 8.0+) or same-cc.")
    ] = "none",
    optimisation_level: Annotated[Optional[int], typer.Option(help="TensorRT builder level 0-5.")] = None,
    overwrite: OverwriteOption = False,
) -> None:
    """Build a TensorRT engine from a graph; the graph's precision is the engine's.

    Writes the plan (NAME.engine, loadable by trtexec too) and its header NAME.engine.json: TensorRT
    version, GPU, profile, precision, the graph's sha256 and this command. Needs TensorRT's builder.

    Examples:

    * `toolkit build-engine export/unet-fp16.onnx --fp16`
    * `toolkit build-engine export/contour-int8.onnx --int8 --max-shape 8x1024x1024`
    * `toolkit build-engine export/unet-int8.onnx --dla-core 0 --timing-cache engines/timing.cache` (Jetson)
    """
    from toolkit.engines.build import BuildOptions, Profile, build_engine, parse_shape

    if fp16 and int8:
        raise InputError("--fp16 and --int8 name two precisions; an engine has its graph's one")
    onnx_file = model_file(model)
    output = output or Path("engines") / f"{onnx_file.stem}.engine"
    profile = Profile(parse_shape(min_shape), parse_shape(opt_shape), parse_shape(max_shape))
    options = BuildOptions(
        profile,
        workspace,
        timing_cache,
        dla_core,
        version_compatible,
        hardware_compatibility,
        optimisation_level,
    )
    precision = "fp16" if fp16 else "int8" if int8 else None
    with build_progress() as report:
        header = build_engine(onnx_file, output, options, invocation(context), overwrite, precision, report)
    console.print(
        f"wrote {output} and {output.name}.json: {header.precision} engine for "
        f"{header.built_on.describe()}, input {header.profile['min']} to {header.profile['max']}"
    )
    console.print(f"next: toolkit verify {output}, then toolkit infer scans/ --model {output}")


@contextlib.contextmanager
def build_progress() -> Iterator[Callable[[str, int, int], None]]:
    """One progress bar per TensorRT build phase, shown from the first report on."""
    from rich.progress import Progress

    bars = Progress(console=console, transient=True)
    tasks: dict[str, Any] = {}

    def report(phase: str, step: int, steps: int) -> None:
        if not tasks:
            bars.start()
        if phase not in tasks:
            tasks[phase] = bars.add_task(phase, total=steps or None)
        bars.update(tasks[phase], completed=step)

    try:
        yield report
    finally:
        if tasks:
            bars.stop()


@command("bench")
def bench_command(
    folder: Annotated[
        Optional[Path], typer.Argument(help="Images to run. Default: COUNT generated images of SIZE.")
    ] = None,
    model: Annotated[str, typer.Option("--model", "-m", help=MODEL_HELP)] = "unet-light",
    backend: BackendOption = "onnxruntime",
    count: Annotated[int, typer.Option(help="Generated images (without FOLDER).")] = 32,
    size: Annotated[int, typer.Option(help="Side of the generated images.")] = 424,
    json_path: JsonOption = None,
    overwrite: OverwriteOption = False,
) -> None:
    """Model-only against end-to-end throughput in one run, latency percentiles, GFLOP/s, peak memory.

    Examples:

    * `toolkit bench` (32 generated 424x424 sketches through the shipped unet-light)
    * `toolkit bench scans/ --model contour --json bench.json`
    * `toolkit bench --model engines/unet-light-fp16.engine` (TensorRT)
    """
    import tempfile

    from toolkit.data.imageio import list_images
    from toolkit.data.synthetic import write_pairs
    from toolkit.fileio import refuse_overwrite, write_json
    from toolkit.runtime.backends import make_runner, warn_if_unsuited
    from toolkit.runtime.bench import bench

    if json_path is not None:
        refuse_overwrite(json_path, overwrite)
    runner, chosen = make_runner(model_file(model), backend)
    with tempfile.TemporaryDirectory() as scratch, runner:
        warn_if_unsuited(runner, chosen)
        if folder is None:
            write_pairs(
                runner.card.domain, count, size, seed=2, root=Path(scratch), track=progress("generating")
            )
            folder = Path(scratch) / "input"
        with console.status(f"benchmarking {runner.card.model}"):
            report = bench(runner, list_images(folder))
    table = Table("measure", "value")
    table.add_row("backend", chosen)
    table.add_row("images", f"{report.images} ({report.megapixels} megapixels)")
    table.add_row("model only", f"{report.model_images_per_s} images/s")
    latency = ", ".join(f"{k} {v} ms" for k, v in report.model_latency_ms.items())
    table.add_row("model latency", latency)
    table.add_row(
        "end to end", f"{report.end_to_end_images_per_s} images/s, {report.megapixels_per_s} megapixels/s"
    )
    table.add_row("end to end / model only", f"{report.end_to_end_fraction:.1%}")
    if report.gflop_per_s is not None:
        table.add_row("achieved", f"{report.gflop_per_s} GFLOP/s ({report.gflop_per_image} GFLOP per image)")
    table.add_row("peak RSS", f"{report.peak_rss_mb} MB")
    console.print(table)
    if json_path is not None:
        write_json(json_path, dataclasses.asdict(report), overwrite)
        console.print(f"wrote {json_path}")
