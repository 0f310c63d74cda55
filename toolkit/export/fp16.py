"""The FP16 graph: FP32 inputs and outputs, FP16 inside, FP32 kept where FP16 would break.

We convert with onnxconverter-common's `float16.convert_float_to_float16` (maintained by the ONNX
project; pure Python, no GPU and no second ONNX Runtime needed) rather than NVIDIA ModelOpt's
AutoCast, whose ONNX extra pulls onnxruntime-gpu in beside the CPU onnxruntime. Which nodes stay in
FP32 is measured, not guessed (besides the operators the converter itself never converts, which the
record lists too): the FP32 graph runs on the calibration images with every
intermediate tensor exposed, and a node stays FP32 when its output comes within `HEADROOM` of the
FP16 maximum (it would overflow to inf, then NaN), or when a weight tensor would overflow or fall
entirely below FP16's normal range (it would lose its precision).
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from toolkit.core.errors import InputError
from toolkit.core.fileio import refuse_overwrite
from toolkit.core.metadata import graph_mismatch, inherited_extra, read_card, refuse_mismatch
from toolkit.export.graph_file import save_graph

log = logging.getLogger(__name__)

FP16_MAX = 65504.0
FP16_MIN_NORMAL = 2.0**-14
HEADROOM = 0.5  # keep FP32 when activations reach half the FP16 range: other inputs may go further


@dataclass
class Fp16Result:
    path: Path
    fp32_nodes: dict[str, str]  # node name -> why it stays FP32
    peaks: dict[str, float]  # node name -> largest |activation| seen on the calibration images


def activation_peaks(model: onnx.ModelProto, batches: Iterable[np.ndarray]) -> dict[str, float]:
    """Largest |value| of every node's first output over `batches`, by node name (FP32 ONNX Runtime)."""
    import onnxruntime as ort

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    known = {o.name for o in probe.graph.output}
    by_tensor = {}
    for node in probe.graph.node:
        if node.output and node.output[0] not in known:
            probe.graph.output.append(onnx.ValueInfoProto(name=node.output[0]))
        by_tensor[node.output[0]] = node.name
    session = ort.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    input_name = session.get_inputs()[0].name
    peaks: dict[str, float] = {}
    for batch in batches:
        for name, value in zip(names, session.run(names, {input_name: batch})):
            if name in by_tensor and np.issubdtype(value.dtype, np.floating) and value.size:
                node = by_tensor[name]
                peaks[node] = max(peaks.get(node, 0.0), float(np.abs(value).max()))
    return peaks


def nodes_to_keep_fp32(model: onnx.ModelProto, peaks: dict[str, float]) -> dict[str, str]:
    """Nodes that FP16 would break, with the reason for each."""
    weights = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
    keep = {}
    for node in model.graph.node:
        peak = peaks.get(node.name, 0.0)
        if peak >= HEADROOM * FP16_MAX:
            keep[node.name] = f"activations reach {peak:.3g} (FP16 max {FP16_MAX:g})"
            continue
        for name in node.input:
            w = weights.get(name)
            if w is None or not np.issubdtype(w.dtype, np.floating) or not w.size:
                continue
            largest = float(np.abs(w).max())
            if largest > FP16_MAX:
                keep[node.name] = f"weight {name} reaches {largest:.3g}"
            elif 0 < largest < FP16_MIN_NORMAL:
                keep[node.name] = f"weight {name} is below FP16's normal range (max {largest:.3g})"
    return keep


def converter_kept(model: onnx.ModelProto, blocked_ops: Iterable[str]) -> dict[str, str]:
    """Nodes the converter keeps in FP32 by itself (its default block list: Resize, Upsample, Range,
    TopK, Min, Max, ...), so that the graph's record names every node that runs in FP32, whoever
    decided it."""
    blocked = set(blocked_ops)
    return {
        node.name: f"{node.op_type}: kept FP32 by onnxconverter-common (its default op block list)"
        for node in model.graph.node
        if node.op_type in blocked
    }


def convert_to_fp16(
    fp32_path: Path, batches: Iterable[np.ndarray], out: Path, *, overwrite: bool = False
) -> Fp16Result:
    """Write the FP16 graph of the FP32 toolkit graph at `fp32_path` to `out`."""
    from onnxconverter_common import __version__ as converter_version
    from onnxconverter_common import float16

    refuse_overwrite(out, overwrite)
    card = read_card(fp32_path)
    if card.precision != "fp32":
        raise InputError(f"{fp32_path}: is already {card.precision}; convert the FP32 graph")
    model = onnx.load(fp32_path)
    refuse_mismatch(fp32_path, graph_mismatch(model, card))
    peaks = activation_peaks(model, batches)
    keep = nodes_to_keep_fp32(model, peaks) | converter_kept(model, float16.DEFAULT_OP_BLOCK_LIST)
    for node, reason in keep.items():
        log.info("keeping %s in FP32: %s", node, reason)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # one line per weight it rounds to FP16's smallest value
        converted = float16.convert_float_to_float16(
            model, keep_io_types=True, node_block_list=list(keep), disable_shape_infer=False
        )
    extra = {
        **inherited_extra(card),
        "fp16_converter": f"onnxconverter-common {converter_version}",
        "fp32_nodes": json.dumps(keep),
    }
    save_graph(converted, replace(card, precision="fp16", extra=extra), out, overwrite=overwrite)
    return Fp16Result(out, keep, peaks)
