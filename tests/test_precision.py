"""FP16 and INT8 graphs on real exports: kept-FP32 nodes, Q/DQ rules, calibration cache, sensitivity."""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest
import torch
from onnx import numpy_helper
from typer.testing import CliRunner

from toolkit.analysis.verify import verify_model
from toolkit.calibration.images import load_calibration_set
from toolkit.calibration.int8 import TARGETS, check_quantiser, quantize_int8
from toolkit.calibration.pixel_shuffle import transposed_convs_as_pixel_shuffle
from toolkit.calibration.qdq import qdq_problems
from toolkit.calibration.sensitivity import fewest_in_fp32, node_sensitivity, quantize_to_target
from toolkit.cli import app
from toolkit.core.errors import ExitCode, InputError, MissingDependencyError
from toolkit.core.metadata import read_card
from toolkit.core.shipped import SHIPPED_DIR
from toolkit.data.synthetic import write_pairs
from toolkit.export.fp16 import convert_to_fp16
from toolkit.export.onnx_export import export_onnx
from toolkit.models.build import load_model
from toolkit.models.registry import get_spec
from toolkit.models.weights import write_weights
from toolkit.runtime.backends import precision_advice
from toolkit.runtime.bench import conv_gflop
from toolkit.runtime.onnxruntime_runner import OnnxRuntimeRunner
from toolkit.runtime.tiling import Tiling, predict_tiled, tile_grid

SCALE = 1e5


@pytest.fixture(scope="module")
def calibration(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("calibration")
    write_pairs("sketch", 6, 64, seed=1, root=root)
    return root / "input"


def export_with(tmp: Path, name: str, edit) -> Path:
    """unet-light with `edit(model)` applied to its weights, saved and exported (a real toolkit export)."""
    spec = get_spec("unet-light")
    model = spec.build()
    with torch.no_grad():
        edit(model)
    weights = tmp / f"{name}.safetensors"
    write_weights(model, weights, {})
    return export_onnx(load_model(spec, weights), tmp / f"{name}.onnx").path


def amplify_one_channel(factor: float):
    """One channel between encoder.1's two convs (the one whose first-conv weights sum highest: it reads
    the non-negative output of a ReLU, so that channel is surely active; others may be dead) scaled by
    `factor`, undone by the next conv: the FP32 output is unchanged (ReLU commutes with a positive
    scale), the tensor's range is not."""

    def edit(model: torch.nn.Module) -> None:
        block = model.encoder[1]
        c = int(block[0].weight.sum(dim=(1, 2, 3)).argmax())  # block: conv, BN, ReLU, conv, ...
        block[1].weight[c] *= factor
        block[1].bias[c] *= factor
        block[3].weight[:, c] /= factor

    return edit


def consumer_of_amplified_channel(model: onnx.ModelProto) -> str:
    """The Conv whose weights take the amplified channel (one of its input channels is tiny)."""
    weights = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    for node in model.graph.node:
        w = weights.get(node.input[1]) if node.op_type == "Conv" else None
        if w is None or w.shape[1] < 2:
            continue
        for k in range(w.shape[1]):
            if np.abs(w[:, k]).max() < 1e-3 * np.abs(np.delete(w, k, axis=1)).max():
                return node.name
    raise AssertionError("no conv with a shrunk input channel")


@pytest.fixture(scope="module")
def sensitive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_with(tmp_path_factory.mktemp("sensitive"), "sensitive", amplify_one_channel(1e3))


def test_fp16_keeps_the_overflowing_nodes_in_fp32(tmp_path: Path, calibration: Path) -> None:
    fp32 = export_with(tmp_path, "hot", amplify_one_channel(SCALE))  # activations ~1e5 > FP16 max
    images = load_calibration_set(calibration)
    result = convert_to_fp16(fp32, images.batches(read_card(fp32)), tmp_path / "hot-fp16.onnx")
    assert result.fp32_nodes, "nothing kept in FP32"
    assert any("activations reach" in why for why in result.fp32_nodes.values())
    card = read_card(result.path)
    assert card.precision == "fp16" and "onnxconverter-common" in card.extra["fp16_converter"]
    worst = verify_model(result.path).worst()
    # an overflow shows as inf/NaN or a collapse of PSNR; the untrained, amplified model's FP16 rounding
    # noise is above FP16's max/mean abs gates (0.052, 0.0045 with RGB input), its PSNR 44 dB is not
    assert worst["nonfinite"] == 0 and worst["psnr_db"] >= 40, worst
    # ONNX Runtime on a CPU computes FP16 convolutions in FP32 and the converter clamps large weights, so
    # the overflow itself does not show here (it would under TensorRT): the measured keep-list is the guard.


def test_fp16_of_the_shipped_model_converts_everything(calibration: Path, tmp_path: Path) -> None:
    images = load_calibration_set(calibration)
    fp32 = SHIPPED_DIR / "unet-light.onnx"
    result = convert_to_fp16(fp32, images.batches(read_card(fp32)), tmp_path / "fp16.onnx")
    assert result.fp32_nodes == {}
    types = {i.data_type for i in onnx.load(result.path).graph.initializer}
    assert onnx.TensorProto.FLOAT16 in types
    assert verify_model(result.path).passed


def test_fp16_record_names_the_nodes_the_converter_keeps_by_itself(
    exported: dict[str, Path], calibration: Path, tmp_path: Path
) -> None:
    fp32 = exported["contour"]  # its head upsamples with Resize, which the converter never converts
    result = convert_to_fp16(
        fp32, load_calibration_set(calibration).batches(read_card(fp32)), tmp_path / "c.onnx"
    )
    resizes = [n.name for n in onnx.load(fp32).graph.node if n.op_type == "Resize"]
    assert resizes and all(
        "Resize: kept FP32 by onnxconverter-common" in result.fp32_nodes[n] for n in resizes
    )
    assert json.loads(read_card(result.path).extra["fp32_nodes"]) == result.fp32_nodes


def test_calibration_progress_reaches_its_end(
    exported: dict[str, Path], calibration: Path, tmp_path: Path
) -> None:
    seen: list[object] = []

    def track(items: list) -> Iterator:
        for item in items:
            seen.append(item)
            yield item
        seen.append("end")  # a progress bar reaches 100 % only here

    images = load_calibration_set(calibration)
    fp32 = exported["contour"]
    quantize_int8(fp32, images, tmp_path / "q.onnx", cache_dir=tmp_path / "cache", track=track)
    assert seen[-1] == "end" and len(seen) - 1 == images.count_batches(read_card(fp32))


def test_int8_graph_follows_tensorrt_rules(
    exported: dict[str, Path], calibration: Path, tmp_path: Path
) -> None:
    result = quantize_int8(
        exported["unet-light"],
        load_calibration_set(calibration),
        tmp_path / "int8.onnx",
        cache_dir=tmp_path / "cache",
    )
    model = onnx.load(result.path)
    assert qdq_problems(model) == []
    zero_points = [numpy_helper.to_array(i) for i in model.graph.initializer if i.name.endswith("zero_point")]
    assert zero_points and all(z.dtype == np.int8 and not z.any() for z in zero_points)
    weight_scales = [
        numpy_helper.to_array(i) for i in model.graph.initializer if i.name.endswith("weight_scale")
    ]
    assert any(s.ndim == 1 and s.size > 1 for s in weight_scales)  # per-channel weights
    sigmoid = next(n for n in model.graph.node if n.op_type == "Sigmoid")
    assert "node_sigmoid" in result.excluded or sigmoid.name in result.excluded
    card = read_card(result.path)
    assert card.precision == "int8" and card.extra["int8_target"] == "tensorrt"
    assert card.extra["calibration_method"] == "max" and card.extra["calibration_images"] == "6"
    # the checker catches what TensorRT refuses
    broken = onnx.load(result.path)
    zp = next(i for i in broken.graph.initializer if i.name.endswith("zero_point"))
    zp.CopyFrom(numpy_helper.from_array(np.ones_like(numpy_helper.to_array(zp)), zp.name))
    assert any("not all 0" in p for p in qdq_problems(broken))


def requantisations(model_path: Path, optimised: Path) -> tuple[int, int]:
    """(QLinearConv, DequantizeLinear -> QuantizeLinear chains) in ONNX Runtime's optimised graph."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = str(optimised)
    ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
    nodes = onnx.load(optimised).graph.node
    producers = {out: node.op_type for node in nodes for out in node.output}
    chains = sum(
        1 for n in nodes if n.op_type == "QuantizeLinear" and producers.get(n.input[0]) == "DequantizeLinear"
    )
    return sum(n.op_type == "QLinearConv" for n in nodes), chains


def test_cpu_form_runs_conv_relu_chains_in_uint8(
    calibration: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    images = load_calibration_set(calibration)
    fp32 = SHIPPED_DIR / "unet-light.onnx"
    with caplog.at_level(logging.WARNING):
        result = quantize_int8(
            fp32, images, tmp_path / "cpu.onnx", cache_dir=tmp_path / "cache", target="cpu"
        )
    assert "pre-processing" not in caplog.text  # ONNX Runtime's advice, moot for our exports
    model = onnx.load(result.path)
    zero_points = [numpy_helper.to_array(i) for i in model.graph.initializer if i.name.endswith("zero_point")]
    activation_zero_points = [z for z in zero_points if z.dtype == np.uint8]
    assert activation_zero_points and any(z.any() for z in activation_zero_points)  # asymmetric uint8
    assert not any(n.op_type == "Relu" for n in model.graph.node)  # folded into the conv outputs' ranges
    problems = qdq_problems(model)
    assert any("not all 0" in p for p in problems)  # not TensorRT's form, and known not to be
    assert not any("Sigmoid" in p or "output" in p for p in problems)  # the probability stays float
    card = read_card(result.path)
    assert card.extra["int8_target"] == "cpu"
    ops = Counter(n.op_type for n in onnx.load(fp32).graph.node)
    assert json.loads(card.extra["int8_pixel_shuffle_nodes"]) == [
        n.name for n in onnx.load(fp32).graph.node if n.op_type == "ConvTranspose"
    ]
    qlinear, chains = requantisations(result.path, tmp_path / "optimised.onnx")
    # every convolution but the head's, the upsampling ones included, in INT8; no requantisation
    assert qlinear == ops["Conv"] - 1 + ops["ConvTranspose"] and chains == 0
    # against PyTorch FP32; a 64-px image holds few line pixels, so one flipped edge moves F1 by 0.01
    # (docs/precision.md: 0.996 worst on 40 held-out 424-px images)
    assert verify_model(result.path, images=calibration).worst()["line_f1"] >= 0.97


def run(model: onnx.ModelProto, x: np.ndarray, *, optimise: bool = True) -> np.ndarray:
    import onnxruntime as ort

    options = ort.SessionOptions()
    if not optimise:  # each node as the graph writes it: the graph's own arithmetic
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def test_bench_counts_the_same_work_in_every_precision(calibration: Path, tmp_path: Path) -> None:
    fp32 = SHIPPED_DIR / "unet-light.onnx"
    images = load_calibration_set(calibration)
    graphs = [convert_to_fp16(fp32, images.batches(read_card(fp32)), tmp_path / "fp16.onnx").path]
    for target in TARGETS:
        out = tmp_path / f"int8-{target}.onnx"
        graphs.append(quantize_int8(fp32, images, out, cache_dir=tmp_path / "cache", target=target).path)
    expected = conv_gflop(fp32, 3, 424, 424)  # RGB unet-light
    assert expected == pytest.approx(15.2, rel=0.02)  # BENCHMARKS.md, `toolkit bench`
    for graph in graphs:  # weights behind a DequantizeLinear, upsampling as a 1x1 conv: the same work
        assert conv_gflop(graph, 3, 424, 424) == pytest.approx(expected, rel=1e-9), graph.name


def test_pixel_shuffle_rewrite_computes_the_transposed_convolution() -> None:
    rng = np.random.default_rng(0)
    weights = {
        "up.w": rng.normal(size=(4, 3, 2, 2)).astype(np.float32),
        "up.b": rng.normal(size=3).astype(np.float32),
        "odd.w": rng.normal(size=(3, 2, 3, 3)).astype(np.float32),
    }
    graph = onnx.helper.make_graph(
        [
            onnx.helper.make_node("ConvTranspose", ["x", "up.w", "up.b"], ["u"], "up", strides=[2, 2]),
            # kernel 3, stride 2, padded: not a pixel shuffle, left as it is
            onnx.helper.make_node(
                "ConvTranspose", ["u", "odd.w"], ["y"], "odd", strides=[2, 2], pads=[1] * 4
            ),
        ],
        "ups",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["n", 4, "h", "w"])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["n", 2, "h2", "w2"])],
        [numpy_helper.from_array(w, name) for name, w in weights.items()],
    )
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17)], ir_version=8)
    rewritten, replaced = transposed_convs_as_pixel_shuffle(model)
    assert replaced == ["up"]
    assert [n.op_type for n in rewritten.graph.node].count("ConvTranspose") == 1
    onnx.checker.check_model(rewritten, full_check=True)
    x = rng.normal(size=(2, 4, 5, 7)).astype(np.float32)  # batch 2, odd sides
    np.testing.assert_allclose(run(rewritten, x), run(model, x), atol=1e-5)
    # and on a real export, whose transposed convolutions the exporter wrote
    shipped = onnx.load(SHIPPED_DIR / "unet-light.onnx")
    rewritten, replaced = transposed_convs_as_pixel_shuffle(shipped)
    assert len(replaced) == 3
    x = rng.random((2, 3, 40, 56), dtype=np.float32)
    np.testing.assert_allclose(run(rewritten, x), run(shipped, x), atol=1e-5)


def optimised_ops(model: onnx.ModelProto, scratch: Path) -> list[tuple[str, str]]:
    """(domain, operator) of every node of the graph ONNX Runtime's CPU provider runs."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.optimized_model_filepath = str(scratch)
    ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return [(n.domain, n.op_type) for n in onnx.load(scratch).graph.node]


def test_cpu_form_pools_a_float_convolutions_output_in_float(calibration: Path, tmp_path: Path) -> None:
    """Behind the stem kept in FP32, `contour`'s MaxPool pooled a uint8 copy in NCHW (86 of 321 ms at
    1024 px, BENCHMARKS.md); it now pools the float tensor: the same arithmetic, run by a faster kernel."""
    images = load_calibration_set(calibration)
    fp32 = SHIPPED_DIR / "contour.onnx"
    cache = tmp_path / "cache"
    # the two convolutions of the image, as the shipped graphs keep them: the image stays float
    image_convs = ["node_Conv_81", "node_Conv_116"]
    stem = quantize_int8(
        fp32, images, tmp_path / "stem.onnx", cache_dir=cache, target="cpu", exclude=image_convs
    )
    assert json.loads(read_card(stem.path).extra["int8_float_pooling_nodes"]) == ["node_max_pool2d"]
    model = onnx.load(stem.path)
    pool = next(n for n in model.graph.node if n.op_type == "MaxPool")
    assert pool.input[0] == "relu"  # the stem's float output, not its dequantised uint8 copy
    as_quantised = onnx.load(stem.path)
    dequantised = next(
        n
        for n in as_quantised.graph.node
        if n.op_type == "DequantizeLinear" and n.input[0] == "relu_QuantizeLinear_Output"
    )
    next(n for n in as_quantised.graph.node if n.op_type == "MaxPool").input[0] = dequantised.output[0]
    x = next(images.batches(read_card(fp32)))
    # the very same numbers as the graphs write them; optimised, ONNX Runtime fuses the two differently
    assert np.array_equal(run(model, x, optimise=False), run(as_quantised, x, optimise=False))
    # ONNX Runtime pools it with its blocked float kernel (x86 with AVX2 or better, as every CPU here)
    assert ("com.microsoft.nchwc", "MaxPool") in optimised_ops(model, tmp_path / "optimised.onnx")
    assert ("", "MaxPool") in optimised_ops(as_quantised, tmp_path / "optimised.onnx")  # uint8, NCHW
    # with the stem in INT8, ONNX Runtime pools its uint8 output beside it in NHWC, fast: left alone
    everything = quantize_int8(fp32, images, tmp_path / "all.onnx", cache_dir=cache, target="cpu")
    assert "int8_float_pooling_nodes" not in read_card(everything.path).extra
    ops = optimised_ops(onnx.load(everything.path), tmp_path / "optimised.onnx")
    assert ("com.microsoft", "NhwcMaxPool") in ops


def test_cpu_form_keeps_what_it_keeps_out_of_int8_in_float(calibration: Path, tmp_path: Path) -> None:
    """ONNX Runtime runs a float convolution between a per-tensor DequantizeLinear and a QuantizeLinear
    as a QLinearConv, quantising its weights itself: the stem kept out of INT8 while the image was
    quantised for the other convolution reading it, and a layer1 convolution between two quantised
    tensors, ran in INT8 all the same. Now every node kept out runs in float, the rest in INT8."""
    images = load_calibration_set(calibration)
    fp32 = SHIPPED_DIR / "contour.onnx"
    convolutions = {n.name for n in onnx.load(fp32).graph.node if n.op_type == "Conv"}
    for exclude in (["node_Conv_81"], ["node_Conv_89"], ["node_Conv_81", "node_Conv_85", "node_Conv_89"]):
        path = tmp_path / f"{len(exclude)}-{exclude[-1]}.onnx"
        graph = quantize_int8(fp32, images, path, cache_dir=tmp_path / "cache", target="cpu", exclude=exclude)
        kept_out = set(json.loads(read_card(graph.path).extra["int8_excluded_nodes"]))
        ops = optimised_ops(onnx.load(graph.path), tmp_path / "optimised.onnx")
        assert ops.count(("com.microsoft", "QLinearConv")) == len(convolutions - kept_out), exclude
        # the per-channel copy of a DequantizeLinear gives the same numbers as the per-tensor one
        model = onnx.load(graph.path)
        copies = {n.output[0]: n for n in model.graph.node if n.name.endswith("_float_input")}
        assert copies and {n.output[0] for n in model.graph.node if n.input and n.input[0] in copies}
        as_quantiser_wrote = onnx.load(graph.path)
        originals = {
            n.input[0]: n.output[0]
            for n in as_quantiser_wrote.graph.node
            if n.op_type == "DequantizeLinear" and not n.name.endswith("_float_input")
        }
        for node in as_quantiser_wrote.graph.node:
            if node.input and node.input[0] in copies:
                node.input[0] = originals[copies[node.input[0]].input[0]]
        x = next(images.batches(read_card(fp32)))
        assert np.array_equal(run(model, x, optimise=False), run(as_quantiser_wrote, x, optimise=False))


@pytest.mark.parametrize("method", ["max", "entropy", "percentile"])
def test_calibration_is_deterministic_and_cached(
    exported: dict[str, Path], calibration: Path, tmp_path: Path, method: str
) -> None:
    images = load_calibration_set(calibration)
    fp32 = exported["contour"] if method != "max" else exported["unet-light"]
    first = quantize_int8(fp32, images, tmp_path / "a.onnx", method=method, cache_dir=tmp_path / "c1")
    second = quantize_int8(fp32, images, tmp_path / "b.onnx", method=method, cache_dir=tmp_path / "c2")
    assert not first.cache_hit and not second.cache_hit
    assert first.path.read_bytes() == second.path.read_bytes()
    again = quantize_int8(fp32, images, tmp_path / "c.onnx", method=method, cache_dir=tmp_path / "c1")
    assert again.cache_hit and again.path.read_bytes() == first.path.read_bytes()


class RecordingRunner(OnnxRuntimeRunner):
    """The real ONNX Runtime runner, keeping a copy of every batch `toolkit infer` hands it."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.fed: list[np.ndarray] = []

    def infer_batch(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        self.fed.extend(batch[i : i + 1].copy() for i in range(len(batch)))
        return super().infer_batch(batch)


def test_calibration_feeds_images_as_infer_does(tmp_path: Path) -> None:
    folder = tmp_path / "scans"
    folder.mkdir()
    rng = np.random.default_rng(0)
    scan = rng.integers(0, 256, (700, 1100), np.uint8)  # larger than a tile: tiled
    cv2.imwrite(str(folder / "a-scan.png"), scan)
    cv2.imwrite(str(folder / "b-small.png"), rng.integers(0, 256, (60, 100), np.uint8))  # whole
    tiling = Tiling(512, 64)
    images = load_calibration_set(folder, tiling=tiling)
    with RecordingRunner(SHIPPED_DIR / "unet-light.onnx") as runner:  # stride 8
        batches = list(images.batches(runner.card))
        assert images.count_batches(runner.card) == len(batches) == 2 * 3 + 1
        assert [b.shape for b in batches] == [(1, 3, 512, 512)] * 6 + [(1, 3, 64, 104)]
        predict_tiled(runner, scan, tiling)  # what `toolkit infer` runs for the scan, tile by tile
        assert len(runner.fed) == 6
        for fed, calibrated in zip(runner.fed, batches):
            np.testing.assert_array_equal(fed, calibrated)
        halved = load_calibration_set(folder, scale=0.5, tiling=tiling)  # `toolkit infer --scale 0.5`
        shapes = [b.shape for b in halved.batches(runner.card)]
        assert shapes == [(1, 3, 352, 512)] * 2 + [(1, 3, 32, 56)]
    assert halved.feed == "scale 0.5, tile 512, overlap 64, tiles per image 16" != images.feed
    # of a large scan, `tiles_per_image` tiles spread over it, each exactly the tile infer runs
    few = load_calibration_set(folder, tiling=Tiling(128, 32), tiles_per_image=3)
    every = load_calibration_set(folder, tiling=Tiling(128, 32), tiles_per_image=0)
    with RecordingRunner(SHIPPED_DIR / "unet-light.onnx") as runner:
        grid = tile_grid(700, 1100, runner.card.stride, Tiling(128, 32))
        count = len(grid.ys) * len(grid.xs)
        assert [i for _, i in few.pieces(runner.card)] == [0, round((count - 1) / 2), count - 1, 0]
        assert few.count_batches(runner.card) == 4 and every.count_batches(runner.card) == count + 1
        all_tiles = list(every.batches(runner.card))
        for sampled, index in zip(few.batches(runner.card), [0, round((count - 1) / 2), count - 1]):
            np.testing.assert_array_equal(sampled, all_tiles[index])
    assert few.feed.endswith("tiles per image 3") and every.feed.endswith("tiles per image all")


@pytest.mark.parametrize("method", ["entropy", "percentile"])
def test_histogram_calibration_takes_images_of_any_size(
    method: str, calibration: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """ONNX Runtime's histogram calibrators stack every batch's tensors: images of two sizes made
    them fail (inhomogeneous shape) until each batch became its own calibration range."""
    folder = tmp_path / "mixed"
    write_pairs("sketch", 2, 40, seed=5, root=tmp_path / "small")
    folder.mkdir()
    for path in [*calibration.iterdir(), *(tmp_path / "small" / "input").iterdir()]:
        (folder / f"{path.parent.parent.name}-{path.name}").write_bytes(path.read_bytes())
    images = load_calibration_set(folder)
    fp32, cache = SHIPPED_DIR / "unet-light.onnx", tmp_path / "cache"
    result = quantize_int8(fp32, images, tmp_path / "int8.onnx", method=method, cache_dir=cache)
    assert qdq_problems(onnx.load(result.path)) == []
    assert "Collecting tensor data" not in capsys.readouterr().out  # ONNX Runtime's print per range
    # another tiling is another feed: new ranges, recorded in the graph
    tiled = load_calibration_set(folder, tiling=Tiling(32, 8))
    again = quantize_int8(fp32, tiled, tmp_path / "tiled.onnx", method=method, cache_dir=cache)
    assert not again.cache_hit
    assert (
        read_card(again.path).extra["calibration_feed"] == "scale 1, tile 32, overlap 8, tiles per image 16"
    )


def test_calibration_needs_an_onnxruntime_with_its_cache() -> None:
    check_quantiser("1.27.0")
    with pytest.raises(MissingDependencyError, match=r"onnxruntime 1\.26\.0 has no calibration cache"):
        check_quantiser("1.26.0")  # quantize_static's calibration_cache_path arrived in 1.27


def test_bad_calibration_folders(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(InputError, match="no calibration folder"):
        load_calibration_set(tmp_path / "missing")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="holds no readable images"):
        load_calibration_set(empty)
    (empty / "broken.png").write_bytes(b"not a png")
    with pytest.raises(InputError, match="holds no readable images"):
        load_calibration_set(empty)
    write_pairs("sketch", 2, 32, seed=3, root=tmp_path / "few")
    with pytest.raises(InputError, match=r"a `toolkit synth` folder holds its images in .*few/input"):
        load_calibration_set(tmp_path / "few")
    with caplog.at_level(logging.WARNING):
        assert len(load_calibration_set(tmp_path / "few" / "input").paths) == 2
    assert "only 2 calibration images" in caplog.text


def test_sensitivity_ranks_the_deliberately_sensitive_node_first(sensitive: Path, calibration: Path) -> None:
    ranking = node_sensitivity(
        sensitive, load_calibration_set(calibration), cache_dir=sensitive.parent / "cache"
    )
    assert ranking[0].node == consumer_of_amplified_channel(onnx.load(sensitive))
    assert ranking[0].module == "encoder.1.3"  # the conv that takes the amplified channel, by its torch name
    assert ranking[0].line_f1 < ranking[-1].line_f1


def test_automatic_fallback_meets_the_target_and_records_it(
    sensitive: Path, calibration: Path, tmp_path: Path
) -> None:
    """All INT8, the amplified model agrees 0.980 with FP32 on the calibration pages; its amplified
    channel's consumer in FP32 brings it to 0.997 (measured 2026-12-02): a 0.99 target needs the fallback."""
    images = load_calibration_set(calibration)
    result, ranking, f1 = quantize_to_target(
        sensitive, images, tmp_path / "auto.onnx", target_f1=0.99, cache_dir=sensitive.parent / "cache"
    )
    assert f1 >= 0.99 and ranking
    assert consumer_of_amplified_channel(onnx.load(sensitive)) in result.excluded
    assert (
        consumer_of_amplified_channel(onnx.load(sensitive))
        in read_card(result.path).extra["int8_excluded_nodes"]
    )


def test_the_fallback_search_bisects_to_the_fewest_nodes_it_saw_meet_the_target() -> None:
    """unet-light's TensorRT form (2026-12-03): 9 nodes in FP32 missed 0.9995, 18 met it and shipped.
    On a curve that first meets the target at 12 of 20 nodes: doubling to 16, then 12, 10, 11."""
    curve = {count: 0.97 + 0.0025 * count for count in range(1, 21)}  # 11 nodes: 0.9975, 12: 1.0
    seen: list[int] = []

    def measure(count: int) -> float:
        seen.append(count)
        return curve[count]

    assert fewest_in_fp32(measure, 20, 0.999) == (12, curve[12])
    assert seen == [1, 2, 4, 8, 16, 12, 10, 11]
    assert fewest_in_fp32(measure, 20, 0.9) == (1, curve[1])
    seen.clear()
    assert fewest_in_fp32(measure, 20, 1.1) == (None, curve[20])  # all 20 tried, not 16 and stop
    assert seen == [1, 2, 4, 8, 16, 20]


def test_cli_convert_and_calibrate(
    exported: dict[str, Path], calibration: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fp32 = tmp_path / "model.onnx"
    fp32.write_bytes(exported["unet-light"].read_bytes())
    runner = CliRunner()
    result = runner.invoke(app, ["convert", str(fp32), "--images", str(calibration)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "model-fp16.onnx").exists()
    result = runner.invoke(app, ["calibrate", str(fp32), "--images", str(calibration), "--method", "entropy"])
    assert result.exit_code == 0, result.output
    assert read_card(tmp_path / "model-int8.onnx").extra["calibration_method"] == "entropy"
    again = runner.invoke(app, ["calibrate", str(fp32), "--images", str(calibration)])
    assert again.exit_code == ExitCode.BAD_INPUT and "already exists" in again.output
    wrong = runner.invoke(app, ["calibrate", str(tmp_path / "model-int8.onnx"), "--images", str(calibration)])
    assert wrong.exit_code == ExitCode.BAD_INPUT and "is already int8" in wrong.output
    cpu = runner.invoke(app, ["calibrate", str(fp32), "--images", str(calibration), "--target", "cpu"])
    assert cpu.exit_code == 0, cpu.output
    assert read_card(tmp_path / "model-int8-cpu.onnx").extra["int8_target"] == "cpu"
    gpu = runner.invoke(app, ["calibrate", str(fp32), "--images", str(calibration), "--target", "gpu"])
    assert gpu.exit_code == ExitCode.BAD_INPUT and "INT8 target must be one of tensorrt, cpu" in gpu.output
    # each INT8 form on the runtime it was not made for: one line that names the command for the other
    caplog.clear()
    lines = runner.invoke(
        app,
        ["infer", str(calibration), "--model", str(tmp_path / "model-int8.onnx"), "-o", str(tmp_path / "l")],
    )
    assert lines.exit_code == 0, lines.output
    assert "runs slower than the FP32 graph on ONNX Runtime's CPU provider" in caplog.text
    assert "`toolkit calibrate export/unet-light.onnx --target cpu`" in caplog.text
    cpu_card = read_card(tmp_path / "model-int8-cpu.onnx")
    assert precision_advice(cpu_card, "onnxruntime") is None
    assert "--target tensorrt" in precision_advice(cpu_card, "onnxruntime-tensorrt")
    plan = tmp_path / "cpu.engine"
    engine = runner.invoke(
        app, ["build-engine", str(tmp_path / "model-int8-cpu.onnx"), "--int8", "-o", str(plan)]
    )
    assert engine.exit_code == ExitCode.BAD_INPUT
    assert "ONNX Runtime's CPU INT8 form (uint8 activations), which TensorRT cannot build" in engine.output
    assert not plan.exists() and not plan.with_name("cpu.engine.json").exists()


def test_graphs_derived_from_a_shipped_graph_go_to_export(
    calibration: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    shipped_before = sorted(SHIPPED_DIR.iterdir())
    result = CliRunner().invoke(
        app, ["convert", str(SHIPPED_DIR / "unet-light.onnx"), "--images", str(calibration)]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "export" / "unet-light-fp16.onnx").is_file()
    assert sorted(SHIPPED_DIR.iterdir()) == shipped_before  # nothing written into the package


@pytest.mark.parametrize("target", TARGETS)
def test_calibrate_then_the_verify_it_suggests_passes(target: str, calibration: Path, tmp_path: Path) -> None:
    out = tmp_path / f"unet-light-{target}.onnx"
    runner = CliRunner()
    args = ["calibrate", str(SHIPPED_DIR / "unet-light.onnx"), "--images", str(calibration)]
    result = runner.invoke(app, [*args, "--target", target, "-o", str(out)])
    assert result.exit_code == 0, result.output
    suggested = result.output.split("next: toolkit ")[1].split()
    assert suggested == ["verify", str(out)]
    # generated images of the model's domain: sketches, gray and RGB (paintings failed it, 0.976)
    verified = runner.invoke(app, suggested)
    assert verified.exit_code == 0 and "PASSED" in verified.output, verified.output
