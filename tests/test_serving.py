"""Serving graphs (toolkit.export.serving): raw pixels of any size in, lines at that size out, equal to
the classic graph fed by the host pipeline; checked by ONNX's strict shape inference and Polygraphy."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest
from typer.testing import CliRunner

from toolkit.cli.main import app
from toolkit.core.errors import InputError
from toolkit.core.metadata import OutputInfo, card_of, read_card
from toolkit.core.shipped import SHIPPED_DIR
from toolkit.data.samples import painting, sketch
from toolkit.engines.build import BuildOptions, check_request
from toolkit.export.serving import PREFIX, TENSORRT_SUPPORT, make_serving_graph, write_serving_graph
from toolkit.runtime.onnxruntime_runner import OnnxRuntimeRunner
from toolkit.runtime.pipeline import predict

SIZES = [(250, 250), (389, 517), (1, 1), (3, 9)]  # (height, width): none a multiple of 4 or 8
cli = CliRunner()


@pytest.fixture(scope="module")
def serving(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Serving graphs of the shipped FP32 graphs and of the INT8 CPU form of unet-light."""
    folder = tmp_path_factory.mktemp("serving")
    graphs = {}
    for name in ("unet-light", "contour", "unet-light-int8-cpu"):
        graphs[name], _ = write_serving_graph(SHIPPED_DIR / f"{name}.onnx", folder / f"{name}-serving.onnx")
    return graphs


def page(name: str, height: int, width: int, seed: int) -> np.ndarray:
    """An RGB page of the model's own domain (both shipped models take RGB)."""
    image = painting(height, width, seed) if name.startswith("contour") else sketch(height, width, seed)
    return image if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)


@pytest.mark.parametrize("name", ["unet-light", "contour", "unet-light-int8-cpu"])
def test_serving_graph_equals_classic_graph_and_host_pipeline(serving: dict[str, Path], name: str) -> None:
    with (
        OnnxRuntimeRunner(SHIPPED_DIR / f"{name}.onnx") as classic,
        OnnxRuntimeRunner(serving[name]) as graph,
    ):
        for seed, (height, width) in enumerate(SIZES):
            image = page(name, max(height, 8), max(width, 8), seed)[:height, :width]
            expected = predict(classic, [image])["lines"][0, 0]  # normalise, pad, run, crop on the host
            lines = graph.infer({"pixels": image[None]})["lines"]  # the raw pixels, as read
            assert lines.shape == (1, height, width, 1)
            assert np.abs(lines[0, :, :, 0] - expected).max() <= 1e-5


def test_uint16_serving_graph_takes_16_bit_scans(tmp_path: Path) -> None:
    path, card = write_serving_graph(SHIPPED_DIR / "contour.onnx", tmp_path / "c16.onnx", pixels="uint16")
    assert (card.input_dtype, card.pixel_scale) == ("uint16", 1 / 65535)
    image = (page("contour", 61, 70, 3).astype(np.uint16) * 257 + 100).astype(np.uint16)
    with OnnxRuntimeRunner(SHIPPED_DIR / "contour.onnx") as classic, OnnxRuntimeRunner(path) as graph:
        expected = predict(classic, [image])["lines"][0, 0]
        got = graph.infer({"pixels": image[None]})["lines"][0, :, :, 0]
    assert np.abs(got - expected).max() <= 1e-5


@pytest.mark.parametrize("size", [(250, 250), (389, 517)])
def test_strict_shape_inference_at_sizes_off_the_stride(serving: dict[str, Path], size: tuple) -> None:
    for name in ("unet-light", "contour"):
        model = onnx.load(serving[name])
        dims = model.graph.input[0].type.tensor_type.shape.dim
        for dim, value in zip(dims, (1, *size)):
            dim.ClearField("dim_param")
            dim.dim_value = value
        inferred = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True, data_prop=True)
        output = inferred.graph.output[0].type.tensor_type.shape.dim
        # the output is declared at the input's own size, by the input's dimension names
        assert [d.dim_param or d.dim_value for d in output] == ["batch", "height", "width", 1]


@pytest.mark.skipif(shutil.which("polygraphy") is None, reason="polygraphy (the dev extra) is not installed")
def test_polygraphy_runs_and_lints_serving_graphs(serving: dict[str, Path]) -> None:
    for name in ("unet-light", "contour"):
        for height, width in [(250, 250), (517, 389)]:
            shapes = f"pixels:[1,{height},{width},3]"
            run = subprocess.run(
                ["polygraphy", "run", str(serving[name]), "--onnxrt", "--input-shapes", shapes],
                capture_output=True,
                text=True,
            )
            assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
            assert f"shape=(1, {height}, {width}, 1)" in run.stdout + run.stderr
        # out of the box, lint feeds 1x1 pixels: mirrored by index, a 1x1 image pads as numpy pads it
        lint = subprocess.run(
            ["polygraphy", "check", "lint", str(serving[name])], capture_output=True, text=True
        )
        assert lint.returncode == 0, lint.stdout[-2000:] + lint.stderr[-2000:]


def test_wrapper_adds_only_tensorrt_operators_and_no_quantisation(serving: dict[str, Path]) -> None:
    classic = onnx.load(SHIPPED_DIR / "unet-light-int8-cpu.onnx", load_external_data=False)
    wrapped = onnx.load(serving["unet-light-int8-cpu"], load_external_data=False)
    added = {node.op_type for node in wrapped.graph.node if node.name.startswith(PREFIX)}
    assert added <= set(TENSORRT_SUPPORT), added - set(TENSORRT_SUPPORT)
    count = lambda model, op: sum(node.op_type == op for node in model.graph.node)  # noqa: E731
    for op in ("QuantizeLinear", "DequantizeLinear", "Conv"):
        assert count(wrapped, op) == count(classic, op)


def test_serving_card_names_pixels_and_keeps_the_model(serving: dict[str, Path]) -> None:
    card, classic = read_card(serving["unet-light"]), read_card(SHIPPED_DIR / "unet-light.onnx")
    assert (card.input_name, card.input_layout, card.input_dtype, card.output_layout) == (
        "pixels",
        "NHWC",
        "uint8",
        "NHWC",
    )
    assert (card.weights_sha256, card.conditioning, card.stride) == (
        classic.weights_sha256,
        classic.conditioning,
        classic.stride,
    )
    with (
        OnnxRuntimeRunner(serving["unet-light"]) as graph,
        pytest.raises(InputError, match="must be a uint8"),
    ):
        graph.infer({"pixels": np.zeros((1, 16, 16, 3), np.float32)})


def test_feature_graphs_and_serving_graphs_are_not_wrapped(serving: dict[str, Path]) -> None:
    model = onnx.load(SHIPPED_DIR / "contour.onnx")
    card = card_of(model, "contour.onnx")
    features = dataclasses.replace(card, outputs=[OutputInfo("conv1", "feature maps", 2)])
    with pytest.raises(InputError, match="not feature maps"):
        make_serving_graph(model, features)
    with pytest.raises(InputError, match="already a serving graph"):
        make_serving_graph(onnx.load(serving["contour"]), read_card(serving["contour"]))


def test_build_engine_refuses_uint16_pixels(tmp_path: Path) -> None:
    path, card = write_serving_graph(SHIPPED_DIR / "contour.onnx", tmp_path / "c16.onnx", pixels="uint16")
    with pytest.raises(InputError, match="no 16-bit unsigned tensors"):
        check_request(card, path, None, BuildOptions())


def test_infer_and_verify_run_serving_graphs(tmp_path: Path, image_folder: Path) -> None:
    result = cli.invoke(app, ["serving", "contour", "-o", str(tmp_path / "x.onnx")])
    assert result.exit_code == 2 and "one file" in result.output  # contour ships four graphs
    graph = tmp_path / "contour-serving.onnx"
    assert cli.invoke(app, ["serving", str(SHIPPED_DIR / "contour.onnx"), "-o", str(graph)]).exit_code == 0
    # the classic graph the serving one was made from (the shipped name `contour` routes some pages on)
    for model, out in ((graph, "served"), (SHIPPED_DIR / "contour.onnx", "classic")):
        args = ["infer", str(image_folder), "-o", str(tmp_path / out), "--model", str(model)]
        result = cli.invoke(app, args)
        assert result.exit_code == 0, result.output
    for picture in (tmp_path / "classic").iterdir():
        served = cv2.imread(str(tmp_path / "served" / picture.name), cv2.IMREAD_UNCHANGED)
        assert np.array_equal(served, cv2.imread(str(picture), cv2.IMREAD_UNCHANGED))
    result = cli.invoke(app, ["verify", str(graph)])
    assert result.exit_code == 0 and "250x250" in result.output and "PASSED" in result.output


def test_line_model_runs_a_serving_graph(serving: dict[str, Path]) -> None:
    import toolkit

    image = page("contour", 203, 317, 9)
    with (
        toolkit.LineModel(serving["contour"]) as served,
        toolkit.LineModel(SHIPPED_DIR / "contour.onnx") as classic,
    ):
        assert np.abs(served.probability(image) - classic.probability(image)).max() <= 1e-5
