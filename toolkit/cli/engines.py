"""`toolkit build-engine`: a TensorRT engine from a graph, with its header. The build runs only where
TensorRT's builder is installed (not on this project's CI machines: written against TensorRT's
documented API, see toolkit.engines.build)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from toolkit.cli.common import OverwriteOption, console, invocation
from toolkit.core.errors import UsageError


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
    from toolkit.core.model_ref import resolve_model
    from toolkit.engines.build import BuildOptions, Profile, build_engine, default_engine_path, parse_shape

    if fp16 and int8:
        raise UsageError("--fp16 and --int8 name two precisions; an engine has its graph's one")
    onnx_file = resolve_model(model, accepts=("graph",)).path
    output = output or default_engine_path(onnx_file)
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
    with build_progress() as report:
        header = build_engine(
            onnx_file,
            output,
            options=options,
            command=invocation(context),
            overwrite=overwrite,
            precision="fp16" if fp16 else "int8" if int8 else None,
            progress=report,
        )
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
