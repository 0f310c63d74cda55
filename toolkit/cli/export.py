"""Graphs: `toolkit export` (PyTorch -> ONNX), `toolkit convert` (the FP16 graph), `toolkit calibrate`
(the INT8 Q/DQ graph) and `toolkit serving` (the raw-pixel serving form of any of them)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from toolkit.cli.common import (
    OverlapOption,
    OverwriteOption,
    ScaleOption,
    TileOption,
    TilesPerImageOption,
    WeightsOption,
    console,
    progress,
)
from toolkit.core.errors import UsageError
from toolkit.core.metadata import ModelCard

PixelsOption = Annotated[
    str,
    typer.Option(
        "--pixels",
        help="What the serving graph takes: uint8 (8-bit images; TensorRT engines) or uint16 (16-bit "
        "scans; ONNX Runtime only).",
    ),
]

CalibrationImagesOption = Annotated[
    Path,
    typer.Option(
        "--images",
        help="Calibration images, fed as `toolkit infer` feeds them (a `toolkit synth` folder: its input/).",
    ),
]


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
    serving: Annotated[
        bool,
        typer.Option(
            "--serving",
            help="Also write its serving graph (NAME-serving.onnx): raw pixels of any size in, scaling, "
            "normalisation, padding and cropping inside, lines at the input's size out.",
        ),
    ] = False,
    pixels: PixelsOption = "uint8",
    overwrite: OverwriteOption = False,
) -> None:
    """Export a model to ONNX with dynamic batch, height and width, checked and self-describing.

    Examples:

    * `toolkit export unet --weights runs/unet/best.safetensors`
    * `toolkit export unet-light --serving` (for Triton, Ray or any client: see docs/serving.md)
    * `toolkit export contour --features conv1:3,21,48,56 --features layer1`
    """
    from toolkit.export.onnx_export import export_model
    from toolkit.export.serving import check_pixels, serving_path

    if serving:
        check_pixels(pixels)

    with console.status(f"exporting {model}"):
        result = export_model(
            model,
            output,
            weights=weights,
            features=features,
            in_channels=in_channels,
            opset=opset,
            simplify=simplify,
            seed=seed,
            untrained=untrained,
            overwrite=overwrite,
        )
    size_mb = result.path.stat().st_size / 1e6
    outputs = ", ".join(result.card.output_names)
    console.print(
        f"wrote {result.path} ({size_mb:.1f} MB, opset {opset}, {result.nodes_simplified} nodes, "
        f"outputs: {outputs}) in {result.seconds:.1f} s"
    )
    if serving:
        from toolkit.export.serving import write_serving_graph

        path, card = write_serving_graph(
            result.path, serving_path(result.path), pixels=pixels, overwrite=overwrite
        )
        console.print(f"wrote {path}: {describe_serving(card)}")
        console.print(f"next: toolkit verify {path}")
    else:
        console.print(f"next: toolkit verify {result.path}")


def describe_serving(card: ModelCard) -> str:
    channels = {1: "gray", 3: "RGB"}.get(card.input_channels, f"{card.input_channels}-channel")
    return (
        f"{card.input_name} (batch, height, width, {card.input_channels}) {card.input_dtype} {channels} "
        f"of any size -> lines (batch, height, width, 1) float32"
        + (
            f"; condition whole images with '{card.conditioning}' first"
            if card.conditioning != "none"
            else ""
        )
    )


def serving_command(
    models: Annotated[
        list[str],
        typer.Argument(
            help="ONNX graphs (FP32, FP16 or INT8), or shipped names: each of a shipped model's graphs."
        ),
    ],
    pixels: PixelsOption = "uint8",
    output: Annotated[
        Optional[Path],
        typer.Option(
            "--output", "-o", help="For one graph. Default: NAME-serving.onnx beside it (export/ if shipped)."
        ),
    ] = None,
    overwrite: OverwriteOption = False,
) -> None:
    """Write the serving form of graphs: raw (N, H, W, C) pixels of any size in, lines at that size out.

    Scaling, normalisation, mirroring to the stride and the crop back happen inside the graph, so Triton,
    Ray or any other client feeds it image pixels as image libraries give them; only whole-image
    conditioning (named in the card) stays with the client. `toolkit infer` and `verify` run them too.

    Examples:

    * `toolkit serving unet-light` (its FP32, FP16 and both INT8 graphs)
    * `toolkit serving export/unet-int8.onnx --pixels uint8`
    """
    from toolkit.export.serving import check_pixels, serving_sources, write_serving_graph

    check_pixels(pixels)
    sources = serving_sources(models)
    if output is not None and len(sources) != 1:
        raise UsageError(f"--output names one file, and these are {len(sources)} graphs")
    for source in sources:
        path, card = write_serving_graph(source, output, pixels=pixels, overwrite=overwrite)
        console.print(f"wrote {path} ({card.precision}): {describe_serving(card)}")


def convert_command(
    model: Annotated[str, typer.Argument(help="FP32 ONNX file made by `toolkit export`, or a shipped name.")],
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
    from toolkit.core.metadata import read_card
    from toolkit.core.model_ref import resolve_model
    from toolkit.export.fp16 import convert_to_fp16
    from toolkit.export.graph_file import derived_path
    from toolkit.runtime.tiling import Tiling

    if to != "fp16":
        raise UsageError(f"--to {to}: only fp16 is a conversion; INT8 comes from `toolkit calibrate`")
    onnx_file = resolve_model(model, accepts=("graph",)).path
    output = output or derived_path(onnx_file, "fp16")
    calibration = load_calibration_set(
        images, scale=scale, tiling=Tiling(tile, overlap), tiles_per_image=tiles_per_image
    )
    batches = calibration.batches(read_card(onnx_file), track=progress("measuring activations"))
    result = convert_to_fp16(onnx_file, batches, output, overwrite=overwrite)
    kept = ", ".join(f"{node} ({why})" for node, why in result.fp32_nodes.items()) or "none"
    console.print(f"wrote {result.path}; nodes kept in FP32: {kept}")
    console.print(f"next: toolkit verify {result.path}")


def calibrate_command(
    model: Annotated[str, typer.Argument(help="FP32 ONNX file made by `toolkit export`, or a shipped name.")],
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
    from toolkit.calibration.calibrate import calibrate
    from toolkit.calibration.images import load_calibration_set
    from toolkit.core.model_ref import resolve_model
    from toolkit.runtime.tiling import Tiling

    onnx_file = resolve_model(model, accepts=("graph",)).path

    calibration = load_calibration_set(
        images, scale=scale, tiling=Tiling(tile, overlap), tiles_per_image=tiles_per_image
    )
    outcome = calibrate(
        onnx_file,
        calibration,
        output=output,
        method=method,
        target=target,
        target_f1=target_f1,
        exclude=exclude or [],
        report=report,
        overwrite=overwrite,
        track=progress("calibrating"),
    )
    if target_f1 is not None:
        console.print(f"line F1 agreement with the FP32 graph: {outcome.agreement:.4f} (target {target_f1})")
    if outcome.ranking:
        table = Table("node", "module", "line F1 alone in INT8", "PSNR dB")
        for cost in outcome.ranking[:10]:
            table.add_row(cost.node, cost.module, f"{cost.line_f1:.4f}", f"{cost.psnr_db:.1f}")
        console.print(table)
    if report is not None:
        console.print(f"wrote {report}")
    result = outcome.result
    source = "cached ranges" if result.cache_hit else f"{len(calibration.paths)} images, {method}"
    console.print(f"wrote {result.path} ({source}); kept out of INT8: {', '.join(result.excluded)}")
    console.print(f"next: toolkit verify {result.path}")
