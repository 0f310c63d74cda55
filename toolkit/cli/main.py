"""The `toolkit` app: its options, and which module holds each command.

Each command module parses its options, calls one library function and prints; the library is
imported inside the command, so `toolkit --help` and the inference commands work without torch.
"""

from __future__ import annotations

import logging
import sys
from typing import Annotated

import typer

from toolkit.cli import analysis, data, engines, export, features, infer, serving, train
from toolkit.cli.common import guarded, log
from toolkit.core.version import __version__

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
        "toolkit build-engine export/unet-fp16.onnx --fp16  \n"
        "toolkit serve --model unet-light  \n"
        "toolkit infer scans/ --triton http://HOST:8000 -o lines/  \n"
        "toolkit infer scans/ --ray -o lines/"
    ),
    rich_markup_mode="markdown",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

COMMANDS = {
    "infer": infer.infer_command,
    "bench": infer.bench_command,
    "export": export.export_command,
    "convert": export.convert_command,
    "calibrate": export.calibrate_command,
    "serving": export.serving_command,
    "build-engine": engines.build_engine_command,
    "triton-repo": serving.triton_repo_command,
    "serve": serving.serve_command,
    "verify": analysis.verify_command,
    "evaluate": analysis.evaluate_command,
    "sweep": analysis.sweep_command,
    "inspect": analysis.inspect_command,
    "features": features.features_command,
    "train": train.train_command,
    "models": train.models_command,
    "synth": data.synth_command,
}
for name, function in COMMANDS.items():
    app.command(name)(guarded(function))


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
    from toolkit.imaging.imageio import quiet_opencv  # numpy and OpenCV only: no torch, fast

    quiet_opencv(verbose)


# Options that may stand alone, and the value they then take: `--ray` is `--ray local`. typer 0.29's
# vendored Click has no options with an optional value, so the command line is completed here, by
# Click's own rule: a bare option is one at the end or followed by another option.
BARE_OPTION_VALUES = {"--ray": "local"}


def with_bare_values(args: list[str]) -> list[str]:
    """`infer scans/ --ray -o lines/` -> `infer scans/ --ray local -o lines/`."""
    completed: list[str] = []
    for index, arg in enumerate(args):
        completed.append(arg)
        following = args[index + 1] if index + 1 < len(args) else None
        if arg in BARE_OPTION_VALUES and (following is None or following.startswith("-")):
            completed.append(BARE_OPTION_VALUES[arg])
    return completed


def run() -> None:
    """The `toolkit` console script and `python -m toolkit`."""
    app(args=with_bare_values(sys.argv[1:]), prog_name="toolkit")
