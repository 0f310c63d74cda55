"""`toolkit infer` (a folder of scans into line pictures) and `toolkit bench` (how fast, against the
model alone)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.table import Table

from toolkit.cli.common import (
    BackendOption,
    FlipsOption,
    JsonOption,
    JsonReport,
    ModelOption,
    OverlapOption,
    OverwriteOption,
    PrecisionOption,
    ScaleOption,
    console,
    drawn_by_text,
    echo_errors,
    progress,
    sigterm_as_interrupt,
)
from toolkit.core.errors import ExitCode, UsageError
from toolkit.core.shipped import DEFAULT_MODEL

if TYPE_CHECKING:
    from toolkit.runtime.infer import InferRun


def infer_command(
    inputs: Annotated[list[Path], typer.Argument(help="Image files and/or folders of images.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for the line images.")] = Path(
        "lines"
    ),
    model: ModelOption = DEFAULT_MODEL,
    backend: BackendOption = "auto",
    precision: PrecisionOption = "auto",
    flips: FlipsOption = 1,
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
    # the budget's default lives in toolkit.runtime.tile_plan (DEFAULT_MEMORY_MB), read in the command
    # body: importing the runtime here would load numpy on every `toolkit` start-up
    memory: Annotated[
        Optional[int],
        typer.Option(
            help="Memory budget of the model's activations, MB (default: a quarter of the free memory, "
            "512-4096): each image runs whole where "
            "it fits, else in the fewest equal tiles that do (from the graph's tensor sizes). --tile "
            "overrides it."
        ),
    ] = None,
    tile: Annotated[
        Optional[int],
        typer.Option(help="Fixed tiles of this side instead of the memory budget's plan (e.g. 512)."),
    ] = None,
    overlap: OverlapOption = 64,
    tile_batch: Annotated[int, typer.Option(help="Tiles per inference call.")] = 4,
    record: Annotated[
        bool,
        typer.Option(
            help="Write what made each picture into it: model, weights, settings and the source path "
            "(`toolkit inspect` reads it). --no-record for pictures to publish."
        ),
    ] = True,
    triton: Annotated[
        Optional[str],
        typer.Option(
            help="Run the model on this Triton server (http://HOST:8000 or grpc://HOST:8001); --model "
            "names it there. Tiling, conditioning and pictures stay here.",
        ),
    ] = None,
    ray: Annotated[
        Optional[str],
        typer.Option(
            "--ray",
            metavar="[ADDRESS]",
            help="Run on a Ray cluster: --ray alone (or `--ray local`) starts one on this machine for "
            "the run; `auto`, HOST:6379 or ray://HOST:10001 joins one. One task per image; -o must be a "
            "path every node sees.",
        ),
    ] = None,
    threads: Annotated[
        int, typer.Option(help="With --ray on CPUs: threads per model actor (one actor per THREADS CPUs).")
    ] = 1,
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
    * `toolkit infer scans/ --triton http://gpu-box:8000 -o lines/` (a `toolkit serve` server)
    * `toolkit infer /shared/scans -o /shared/lines --ray auto --resume` (a Ray cluster)
    * `toolkit infer scans/ -o lines/ --ray` (Ray on this machine)
    """
    from toolkit.core.fileio import refuse_overwrite
    from toolkit.runtime.backends import make_runner, warn_if_unsuited
    from toolkit.runtime.flips import check_views, with_flips
    from toolkit.runtime.infer import OutputOptions, collect_inputs, infer_files
    from toolkit.runtime.routing import Router
    from toolkit.runtime.tiling import Tiling

    options = OutputOptions(output_format, scale, overwrite, resume, max_pixels, record)
    check_views(flips)  # here, before a model or a Ray actor starts: `--ray` builds its runners remotely
    views = f", {flips} mirrored views averaged" if flips > 1 else ""
    tiling = Tiling(tile or 512, overlap, tile_batch, memory_mb=None if tile else budget(memory))
    if triton is not None and ray is not None:
        raise UsageError("--triton and --ray are two ways to run elsewhere: choose one")
    if ray is None:
        if triton is not None:
            from toolkit.runtime.triton_runner import TritonRunner

            runner, chosen = with_flips(TritonRunner(triton, model), flips), f"triton at {triton}"
        else:
            runner, chosen = make_runner(model, backend, precision=precision, flips=flips)
    sources = collect_inputs(inputs, recursive)
    if summary is not None:
        refuse_overwrite(summary, overwrite)
    if ray is not None:
        from toolkit.serving.ray_job import RayModel, infer_on_ray

        spec = RayModel(model, backend, precision, threads, flips)
        with sigterm_as_interrupt():
            run, described = infer_on_ray(
                spec,
                sources,
                output,
                address=ray,
                options=options,
                tiling=tiling,
                track=progress("inferring"),
            )
        report_run(run, len(sources), output, described + views, summary, overwrite)
        return
    with runner, sigterm_as_interrupt():
        warn_if_unsuited(runner, chosen)
        model_name = runner.card.model + (
            "" if runner.card.precision == "fp32" else f" {runner.card.precision}"
        )
        if runner.card.output_kind == "features":
            model_name += f" {'+'.join(runner.card.output_names)} maps"
        route = ""
        if isinstance(runner, Router):
            roads = [
                f"{runner.describe(road)} by {road.expert}"
                + ("" if expert.card.precision == "fp32" else f" {expert.card.precision}")
                for road, expert in runner.experts.items()
            ]
            route = f"; pages redrawn by {runner.reading.says}: {', '.join(roads)}"
        run = infer_files(
            runner, sources, output, options=options, track=progress("inferring"), tiling=tiling
        )
    report_run(run, len(sources), output, f"{model_name} on {chosen}{views}{route}", summary, overwrite)


def report_run(
    run: InferRun, total: int, output: Path, described: str, summary: Optional[Path], overwrite: bool
) -> None:
    """The run's one-line errors, its counts, the summary file and the exit code, local or on Ray."""
    from toolkit.runtime.infer import drawn_by_counts, write_summary

    failed = [r for r in run.results if r.status == "error"]
    echo_errors([str(result.error) for result in failed])
    counts = {status: sum(r.status == status for r in run.results) for status in ("ok", "skipped", "error")}
    drawn_by = drawn_by_counts(run.results)
    if drawn_by:  # behind a route: how many pages each model drew
        described += ": " + drawn_by_text(drawn_by)
    console.print(
        f"{counts['ok']} of {total} images written to {output}/ ({described})"
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


def bench_command(
    folder: Annotated[
        Optional[Path], typer.Argument(help="Images to run. Default: COUNT generated images of SIZE.")
    ] = None,
    model: ModelOption = DEFAULT_MODEL,
    backend: BackendOption = "auto",
    precision: PrecisionOption = "auto",
    flips: FlipsOption = 1,
    count: Annotated[int, typer.Option(help="Generated images (without FOLDER).")] = 32,
    memory: Annotated[
        Optional[int],
        typer.Option(help="End to end with a memory budget's tile plan, MB (as infer --memory)."),
    ] = None,
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
    from toolkit.imaging.imageio import list_images
    from toolkit.runtime.backends import make_runner, warn_if_unsuited
    from toolkit.runtime.bench import bench, bench_generated
    from toolkit.runtime.tiling import Tiling, fitted

    json_report = JsonReport(json_path, overwrite)
    memory = budget(memory)
    tiling = Tiling(memory_mb=memory)
    runner, chosen = make_runner(model, backend, precision=precision, flips=flips)
    with runner:
        warn_if_unsuited(runner, chosen)
        plan = fitted(tiling, runner)
        if folder is None:
            report = bench_generated(
                runner, count=count, size=size, tiling=tiling, track=progress("generating")
            )
        else:
            with console.status(f"benchmarking {runner.card.model}"):
                report = bench(runner, list_images(folder), tiling)
    table = Table("measure", "value")
    views = f", {report.flips} mirrored views" if report.flips > 1 else ""
    table.add_row("backend", f"{chosen}, {report.precision} graph{views}")
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
    if report.drawn_by:  # end to end includes the expert's second pass on the pages sent on
        table.add_row("pages drawn", drawn_by_text(report.drawn_by))
    tiles = f"tiles of {plan.tile} px, overlap {plan.overlap}"
    if plan.max_tile_pixels is not None:
        tiles = (
            f"memory {memory} MB: whole where it fits, else tiles of at most {plan.max_tile_pixels} pixels"
        )
    table.add_row("tile plan", tiles)
    console.print(table)
    json_report.write(dataclasses.asdict(report))


def budget(memory: int | None) -> int:
    """`--memory`, or the default budget where it is not given."""
    from toolkit.runtime.tile_plan import DEFAULT_MEMORY_MB

    return DEFAULT_MEMORY_MB if memory is None else memory
