"""`toolkit features`: browse the contour trunk's conv1 and layer1 feature maps and rank them as
contour drawings (the reference paper's way of reading its network)."""

from __future__ import annotations

import contextlib
import shlex
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from toolkit.cli.common import (
    MODEL_HELP,
    JsonOption,
    JsonReport,
    OverwriteOption,
    WeightsOption,
    console,
    echo_errors,
    progress,
)
from toolkit.core.errors import ExitCode


def features_command(
    inputs: Annotated[list[Path], typer.Argument(help="Image files and/or folders of images.")],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Folder for the sheets and channel images.")
    ] = Path("features"),
    model: Annotated[
        str,
        typer.Option(
            "--model",
            "-m",
            help="A contour model name, or a graph or engine from `toolkit export --features`.",
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
    from toolkit.analysis.features import browse_features, feature_runner
    from toolkit.core.shipped import SHIPPED_PREFIX
    from toolkit.runtime.backends import make_runner
    from toolkit.runtime.infer import collect_inputs

    json_report = JsonReport(json_path, overwrite)
    sources = collect_inputs(inputs)
    features = feature_runner(model, weights)
    reference = None if target else make_runner(lines)[0]
    with features, reference or contextlib.nullcontext():
        report = browse_features(
            features,
            sources,
            output,
            reference=reference,
            target=target,
            top=top,
            max_side=max_side,
            overwrite=overwrite,
            track=progress("browsing"),
        )
        weights_file = features.card.weights_file  # what `toolkit export` needs to make the same maps
    table = Table("rank", "channel", f"r, mean of {len(report.per_image)} image(s)")
    for rank, score in enumerate(report.top(top), 1):
        table.add_row(str(rank), score.label, f"{score.correlation:+.3f}")
    console.print(table)
    console.print(f"ranked against the {report.reference}; wrote {len(report.written)} files to {output}/")
    json_report.write(report.to_dict())
    selection = " ".join(f"--features {item}" for item in report.export_selection(top))
    given = (
        "" if not weights_file or weights_file.startswith(SHIPPED_PREFIX) else f" --weights {weights_file}"
    )
    console.print(f"next: toolkit export {report.model} {selection}{given}")
    scans = shlex.join(map(str, inputs))  # retypable: quoted where a path has spaces
    console.print(
        f"then: toolkit infer {scans} --model export/{report.model}-features.onnx -o {report.model}-maps/"
    )
    echo_errors(report.skipped)
    if report.skipped:
        raise typer.Exit(ExitCode.BAD_INPUT)
