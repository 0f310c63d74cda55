"""Judging models and files: `toolkit verify` (a graph or engine against PyTorch), `toolkit evaluate`
(line scores against targets, beside classical baselines), `toolkit sweep` (the same across each
degradation's range) and `toolkit inspect` (what a file is and what made it)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from toolkit.cli.common import (
    MODEL_HELP,
    FlipsOption,
    JsonOption,
    JsonReport,
    ModelOption,
    OverwriteOption,
    PrecisionOption,
    WeightsOption,
    console,
    drawn_by_text,
    echo_errors,
    error_line,
    print_scores,
    progress,
)
from toolkit.core.errors import ExitCode, InputError, UsageError
from toolkit.core.shipped import DEFAULT_MODEL

SHOWN_FACTORS = 5  # `toolkit evaluate` prints the factors with the widest gaps; the JSON has them all


def verify_command(
    model: Annotated[
        str,
        typer.Argument(
            help="ONNX file made by `toolkit export` (or convert, calibrate), an engine, or a shipped name."
        ),
    ],
    images: Annotated[
        Optional[Path],
        typer.Option("--images", help="Folder of images. Default: generated images of the model's domain."),
    ] = None,
    weights: WeightsOption = None,
    precision: PrecisionOption = "auto",
    tolerances: Annotated[
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
    from toolkit.analysis.verify import verify_model

    json_report = JsonReport(json_path, overwrite)
    report = verify_model(
        model,
        images=images,
        weights=weights,
        precision=precision,
        tolerances=tolerances,
        track=progress("verifying"),
        backend=backend,
        reference=reference,
    )
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
    json_report.write(report.to_dict())
    echo_errors(report.skipped)
    if not report.passed:
        failed = sum(not row.passed for row in report.rows)
        typer.echo(f"FAILED: {failed} of {len(report.rows)} outputs out of tolerance", err=True)
        raise typer.Exit(ExitCode.CHECK_FAILED)
    if report.skipped:
        typer.echo(f"passed on what was read, but {len(report.skipped)} file(s) could not be read", err=True)
        raise typer.Exit(ExitCode.BAD_INPUT)
    console.print("[green]PASSED[/]")


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
    from toolkit.analysis.inspection import inspect_artifact

    json_report = JsonReport(json_path, overwrite)
    inspections, unreadable = [], []
    for path in files:
        try:
            inspection = inspect_artifact(path)
        except InputError as error:
            error_line(error)
            unreadable.append(error.exit_code)
            continue
        inspections.append(inspection)
        rows = [*inspection.rows, *(("PROBLEM", problem) for problem in inspection.problems)]
        width = max(len(label) for label, _ in rows)
        typer.echo(str(path))
        for label, text in rows:
            typer.echo(f"  {label:<{width}}  {text}")
    json_report.write([inspection.facts for inspection in inspections])
    with_problems = sum(bool(inspection.problems) for inspection in inspections)
    if with_problems:
        typer.echo(f"FAILED: {with_problems} of {len(files)} file(s) have problems", err=True)
        raise typer.Exit(ExitCode.CHECK_FAILED)
    if unreadable:
        raise typer.Exit(unreadable[0])  # as the one-line error of the first said (a usage error: 2)


def evaluate_command(
    data: Annotated[Path, typer.Argument(help="Folder with input/ and target/ images matched by name.")],
    model: Annotated[Optional[str], typer.Option("--model", "-m", help=MODEL_HELP)] = None,
    predictions: Annotated[
        Optional[Path], typer.Option(help="Instead of (or beside) a model: a folder of its line images.")
    ] = None,
    precision: PrecisionOption = "auto",
    flips: FlipsOption = 1,
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
    from toolkit.analysis.evaluate import evaluate
    from toolkit.data.datasets import pair_folder
    from toolkit.data.synthetic import read_page_factors
    from toolkit.runtime.backends import make_runner

    json_report = JsonReport(json_path, overwrite)
    if model is None and predictions is None and not baselines:
        raise UsageError("nothing to evaluate: give --model or --predictions, or keep the baselines")
    pairs = pair_folder(data)
    runner = make_runner(model, precision=precision, flips=flips)[0] if model else None
    with runner or contextlib.nullcontext():
        report = evaluate(
            pairs,
            str(data),
            runner=runner,
            predictions=predictions,
            radius=radius,
            baselines=baselines,
            page_factors=read_page_factors(data),
            track=progress("evaluating"),
        )
    print_scores(report.methods, radius)
    console.print(f"{report.pairs} pairs from {data}")
    if report.drawn_by:  # behind a route (toolkit.runtime.routing)
        console.print(f"pages drawn: {drawn_by_text(report.drawn_by)}")
    for method, pages in report.worst_pages.items():
        console.print(f"{method}, worst pages: " + ", ".join(f"{stem} {f1:.3f}" for stem, f1 in pages[:5]))
        curve = ", ".join(f"r={radius} {f1:.3f}" for radius, f1 in report.by_radius[method].items())
        console.print(f"{method}, line F1 by tolerance: {curve}")
    for method, splits in report.by_factor.items():
        console.print(
            f"{method}, line F1 by factor (quarter of the pages at each end; the weaker end first):"
        )
        for split in splits[:SHOWN_FACTORS]:
            console.print(f"  {split.describe()}")
    echo_errors(report.skipped)
    json_report.write(report.to_dict())
    if report.skipped:
        raise typer.Exit(ExitCode.BAD_INPUT)


def sweep_command(
    model: ModelOption = DEFAULT_MODEL,
    precision: PrecisionOption = "auto",
    flips: FlipsOption = 1,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="The PNG of small plots; the JSON goes beside it.")
    ] = Path("sweep.png"),
    points: Annotated[int, typer.Option(help="Values per factor, the range's ends included.")] = 5,
    images: Annotated[int, typer.Option(help="Held-out pages per value.")] = 8,
    size: Annotated[int, typer.Option(help="Page side in pixels.")] = 256,
    seed: Annotated[
        Optional[int],
        typer.Option(
            help="Which held-out pages. Default: the published sweep's. Judge a candidate on another seed "
            "too: the shipped weights were chosen on the published sweep's pages.",
            show_default=False,
        ),
    ] = None,
    factor: Annotated[
        Optional[list[str]],
        typer.Option(
            "--factor",
            help="Sweep only this factor (repeatable); element_scale moves the size of the page's elements "
            "from 1x to 3x a 256 px page's.",
        ),
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
    from toolkit.analysis.sweep import (
        SWEEP_SEED,
        SweepPlan,
        run_sweep,
        summary_lines,
        sweep_plot,
        worst_points,
    )
    from toolkit.core.fileio import refuse_overwrite
    from toolkit.runtime.backends import make_runner

    refuse_overwrite(output, overwrite)  # the plot, like the JSON, is refused before the sweep runs
    json_report = JsonReport(output.with_suffix(".json"), overwrite)
    if points < 2 or images < 1 or size < 32 or (seed is not None and seed < 0):
        raise UsageError(
            "--points must be at least 2, --images at least 1, --size at least 32 and --seed not negative"
        )
    runner = make_runner(model, precision=precision, flips=flips)[0]
    with runner:
        pages = SWEEP_SEED if seed is None else seed
        plan = SweepPlan(runner.card.domain, points, images, size, tuple(factor or ()), pages)
        report = run_sweep(runner, plan, track=progress(f"sweeping {runner.card.model}"))
    table = Table("factor", "worst at", "model line F1", "best baseline")
    for name, value, f1, baseline in worst_points(report):
        table.add_row(name, f"{value:g}", f"{f1:.3f}", f"{baseline:.3f}")
    console.print(table)
    for line in summary_lines(report):
        console.print(line)
    json_report.write(report)
    sweep_plot(report, output, overwrite=overwrite)
    console.print(f"wrote {output}")
    if not report["summary"]["passes"]:
        typer.echo("FAILED: below line F1 0.85 somewhere, or not above every baseline", err=True)
        raise typer.Exit(ExitCode.CHECK_FAILED)
