"""The INT8 graph: explicit Q/DQ that TensorRT compiles and ONNX Runtime runs, from the FP32 graph.

TensorRT's rules for explicit quantisation, which this graph follows: symmetric INT8 (every zero
point 0), per-channel weights (axis 0 for Conv, axis 1 for ConvTranspose), per-tensor activations,
Q/DQ opset >= 13. We quantise the convolutions' inputs and weights only (TensorRT fuses ReLU,
pooling and concatenation around them), and keep out of INT8 the nodes that make an output or feed a
Sigmoid: a probability crushed to 256 levels loses the soft stroke edges the line threshold reads.

The quantiser is ONNX Runtime's `quantize_static` (QDQ format), with its output quantisation of
convolutions switched off so Q/DQ sit at convolution inputs only, as NVIDIA ModelOpt's ONNX PTQ
places them. Measured against ModelOpt (benchmarks/modelopt_ptq.py, BENCHMARKS.md): with ONNX
Runtime's default placement (every convolution output quantised too, so skip connections, pooling and
concatenation inputs are rounded once more) our agreement was lower; with inputs only it matches
ModelOpt's, without ModelOpt's onnxruntime-gpu dependency. The price: ONNX Runtime's CPU provider
fuses a convolution into QLinearConv only when its output is quantised, so this graph is slow on a
CPU; `target="cpu"` writes the fused, uint8-activation form for ONNX Runtime instead, with ReLUs
folded into the ranges before them and transposed convolutions as 1x1 convolutions + pixel shuffles
(pixel_shuffle.py), so every convolution runs in ONNX Runtime's INT8 kernel; a convolution kept out
of INT8 stays in float there (runtime_int8.py: ONNX Runtime would quantise some itself), and max
pooling after one pools the float tensor (float_pooling.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import onnx

from toolkit.calibration.float_pooling import pool_before_quantizing
from toolkit.calibration.images import CalibrationSet
from toolkit.calibration.pixel_shuffle import transposed_convs_as_pixel_shuffle
from toolkit.calibration.qdq import qdq_problems
from toolkit.calibration.runtime_int8 import keep_in_float
from toolkit.core.errors import InputError, MissingDependencyError
from toolkit.core.fileio import refuse_overwrite
from toolkit.core.metadata import graph_mismatch, inherited_extra, read_card, refuse_mismatch
from toolkit.engines.header import version_tuple
from toolkit.export.graph_file import save_graph

log = logging.getLogger(__name__)

QUANTIZED_OPS = ("Conv", "ConvTranspose")
METHODS = ("max", "entropy", "percentile")
# tensorrt: TensorRT's explicit quantisation (symmetric int8 activations), also run by ONNX Runtime.
# cpu: ONNX Runtime's fast x86 form (asymmetric uint8 activations, 7-bit weights against the int16
# saturation of CPUs without VNNI); TensorRT cannot build it.
TARGETS = ("tensorrt", "cpu")
# The node types each target hands to the quantiser. The CPU form adds ReLU and the residual Add that
# a ReLU follows in the contour model: with uint8 activations the quantiser then drops each ReLU and
# quantises the tensor before it with the ReLU's non-negative range, so ONNX Runtime runs Conv+ReLU
# as one QLinearConv, with no DequantizeLinear -> QuantizeLinear requantisation between convolutions
# (measured: full U-Net 539 -> 480 ms, BENCHMARKS.md). Reshape and Transpose carry the pixel
# shuffle that replaces ConvTranspose in the CPU form (pixel_shuffle.py) in uint8. TensorRT fuses
# ReLU itself and wants symmetric activations, where the quantiser keeps ReLU anyway.
OP_TYPES = {"tensorrt": QUANTIZED_OPS, "cpu": (*QUANTIZED_OPS, "Relu", "Add", "Reshape", "Transpose")}
# Bump when the graph handed to the quantiser changes, so cached ranges keyed on the old one are not
# reused for tensors that no longer exist.
GRAPH_FORM = 2
PERCENTILE = 99.999
# `quantize_static(calibration_cache_path=...)`, which keeps our ranges, arrived in ONNX Runtime 1.27.
MIN_ONNXRUNTIME = (1, 27)


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "line-art-toolkit" / "calibration"


@dataclass
class Int8Result:
    path: Path
    cache_hit: bool  # the calibration ranges came from the cache, no image was run
    excluded: list[str]  # nodes kept in higher precision


class SkipPreprocessingAdvice(logging.Filter):
    """Drops the quantiser's "Please consider pre-processing before quantization" warnings.

    ONNX Runtime logs them on the root logger at every call; `quant_pre_process` would infer shapes
    and fold BatchNorm, which our export has done already (check_model, the exporter's optimiser).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "pre-processing before quantization" not in record.getMessage()


@contextlib.contextmanager
def quiet_quantiser() -> Iterator[None]:
    """The quantiser without its advice on the root logger and its prints on stdout."""
    advice, root = SkipPreprocessingAdvice(), logging.getLogger()
    root.addFilter(advice)
    try:
        with contextlib.redirect_stdout(WithoutCalibratorPrints(sys.stdout)):
            yield
    finally:
        root.removeFilter(advice)


class BatchReader:
    """ONNX Runtime's CalibrationDataReader protocol over our batches, handed out in ranges.

    With `CalibStridedMinMax` the quantiser asks for one range at a time (`set_range`) and folds each
    into its ranges or histograms before the next: without it, the entropy and percentile
    calibrators keep every intermediate tensor of every batch (gigabytes for the full U-Net) and
    fail on batches of different sizes.
    """

    def __init__(self, input_name: str, batches: Iterator[np.ndarray], count: int) -> None:
        self.input_name, self.batches, self.count = input_name, batches, count
        self.left = count

    def __len__(self) -> int:
        return self.count

    def set_range(self, start_index: int, end_index: int) -> None:
        self.left = end_index - start_index

    def finish(self) -> None:
        """Let the batches run to their end once the quantiser has taken the last one: a progress
        bar over them counts an item when the next is asked for, and stopped short of 100 % before."""
        for _ in self.batches:  # nothing is left after the last range: no image is decoded here
            pass

    def get_next(self) -> dict[str, np.ndarray] | None:
        batch = next(self.batches, None) if self.left > 0 else None
        self.left -= 1
        return None if batch is None else {self.input_name: batch}


class WithoutCalibratorPrints:
    """sys.stdout without the lines ONNX Runtime's histogram calibrator print()s for every range."""

    PHRASES = ("Collecting tensor data and making histogram", "Finding optimal threshold for each tensor")

    def __init__(self, stream: TextIO) -> None:
        self.stream, self.dropping = stream, False

    def write(self, text: str) -> int:
        if any(phrase in text for phrase in self.PHRASES):
            self.dropping = True  # print() writes its newline separately
        elif not (self.dropping and text == "\n"):
            self.stream.write(text)
        else:
            self.dropping = False
        return len(text)

    def __getattr__(self, name: str) -> Any:  # flush, isatty, fileno: the terminal's own
        return getattr(self.stream, name)


def guarded_nodes(model: onnx.ModelProto) -> list[str]:
    """Nodes whose output is a graph output or feeds a Sigmoid: they stay out of INT8."""
    outputs = {o.name for o in model.graph.output}
    sigmoid_inputs = {n.input[0] for n in model.graph.node if n.op_type == "Sigmoid"}
    return [n.name for n in model.graph.node if set(n.output) & (outputs | sigmoid_inputs)]


def quantizable_nodes(model: onnx.ModelProto) -> list[str]:
    guarded = set(guarded_nodes(model))
    return [n.name for n in model.graph.node if n.op_type in QUANTIZED_OPS and n.name not in guarded]


def check_quantiser(onnxruntime_version: str) -> None:
    """ONNX Runtime's quantiser is new enough for calibration (the inference runtime needs no such thing)."""
    if version_tuple(onnxruntime_version)[:2] < MIN_ONNXRUNTIME:
        wanted = ".".join(map(str, MIN_ONNXRUNTIME))
        raise MissingDependencyError(
            f"onnxruntime >= {wanted}",
            "cpu",
            f"INT8 calibration (onnxruntime {onnxruntime_version} has no calibration cache)",
            install=f"upgrade the installed onnxruntime or onnxruntime-gpu (never both) to {wanted} or later",
        )


def check_choices(method: str, target: str) -> None:
    if method not in METHODS:
        raise InputError(f"calibration method must be one of {', '.join(METHODS)}, not {method}")
    if target not in TARGETS:
        raise InputError(f"INT8 target must be one of {', '.join(TARGETS)}, not {target}")


def cache_key(model_path: Path, images: CalibrationSet, method: str, target: str) -> str:
    import onnxruntime

    record = {
        "model": hashlib.sha256(model_path.read_bytes()).hexdigest(),
        "images": images.fingerprint,
        "method": method,
        "target": target,
        "percentile": PERCENTILE if method == "percentile" else None,
        "feed": images.feed,
        "onnxruntime": onnxruntime.__version__,
        "ops": OP_TYPES[target],
        "form": GRAPH_FORM,
    }
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()[:32]


def quantize_int8(
    fp32_path: Path,
    images: CalibrationSet,
    out: Path,
    *,
    method: str = "max",
    exclude: Iterable[str] = (),
    overwrite: bool = False,
    cache_dir: Path | None = None,
    track: Callable[[list[Path]], Iterable[Path]] = iter,
    target: str = "tensorrt",
) -> Int8Result:
    """Calibrate (or reuse cached ranges) and write the Q/DQ INT8 graph of `fp32_path` to `out`."""
    import onnxruntime
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    check_quantiser(onnxruntime.__version__)
    check_choices(method, target)
    tensorrt = target == "tensorrt"
    refuse_overwrite(out, overwrite)
    card = read_card(fp32_path)
    if card.precision != "fp32":
        raise InputError(f"{fp32_path}: is already {card.precision}; calibrate the FP32 graph")
    model = onnx.load(fp32_path)
    refuse_mismatch(fp32_path, graph_mismatch(model, card))
    shuffled: list[str] = []
    if not tensorrt:  # ONNX Runtime's CPU provider has no INT8 ConvTranspose; TensorRT has
        model, shuffled = transposed_convs_as_pixel_shuffle(model)
    excluded = sorted(set(guarded_nodes(model)) | set(exclude))
    cache = (cache_dir or default_cache_dir()) / f"{cache_key(fp32_path, images, method, target)}.json"
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache_hit = cache.is_file()
    if cache_hit:
        log.info("calibration ranges reused from %s", cache)
    reader = None
    if not cache_hit:
        reader = BatchReader(card.input_name, images.batches(card, track), images.count_batches(card))
    calibration_methods = {
        "max": CalibrationMethod.MinMax,
        "entropy": CalibrationMethod.Entropy,
        "percentile": CalibrationMethod.Percentile,
    }
    with tempfile.TemporaryDirectory() as scratch, quiet_quantiser():
        raw = Path(scratch) / "int8.onnx"
        quantize_static(
            model,
            raw,
            reader,
            quant_format=QuantFormat.QDQ,
            op_types_to_quantize=list(OP_TYPES[target]),
            per_channel=True,
            activation_type=QuantType.QInt8 if tensorrt else QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            reduce_range=not tensorrt,
            nodes_to_exclude=excluded,
            calibrate_method=calibration_methods[method],
            calibration_cache_path=cache,
            extra_options={
                "ActivationSymmetric": tensorrt,
                "WeightSymmetric": True,
                "QDQOpTypePerChannelSupportToAxis": {"ConvTranspose": 1},
                "CalibPercentile": PERCENTILE,
                "CalibStridedMinMax": 1,  # one batch per range: see BatchReader
                "QuantizeBias": False,  # TensorRT adds biases in float; it takes no INT32 Q/DQ
                # TensorRT form: Q/DQ at convolution inputs only (see the module docstring)
                **({"OpTypesToExcludeOutputQuantization": list(QUANTIZED_OPS)} if tensorrt else {}),
            },
        )
        quantized = onnx.load(raw)
    pooled: list[str] = []
    if not tensorrt:  # what ONNX Runtime's CPU provider would otherwise do on its own
        quantized, kept = keep_in_float(quantized, excluded)
        if kept:
            log.info(
                "kept in float, given a per-channel input ONNX Runtime does not fuse: %s", ", ".join(kept)
            )
        quantized, pooled = pool_before_quantizing(quantized)
    if reader is not None:
        reader.finish()
    problems = qdq_problems(quantized) if tensorrt else []
    if problems:
        raise InputError(f"{fp32_path}: the INT8 graph breaks TensorRT's Q/DQ rules: {'; '.join(problems)}")
    extra = {
        **inherited_extra(card),
        "quantizer": "onnxruntime.quantization.quantize_static (QDQ, per-channel weights)",
        "int8_target": target,
        "calibration_method": method,
        "calibration_images": str(len(images.paths)),
        "calibration_sha256": images.fingerprint,
        "calibration_feed": images.feed,
        "int8_excluded_nodes": json.dumps(excluded),
        **({"int8_pixel_shuffle_nodes": json.dumps(shuffled)} if shuffled else {}),
        **({"int8_float_pooling_nodes": json.dumps(pooled)} if pooled else {}),
    }
    save_graph(quantized, replace(card, precision="int8", extra=extra), out, overwrite=overwrite)
    return Int8Result(out, cache_hit, excluded)
