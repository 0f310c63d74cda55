"""TensorRT's rules for explicit quantisation, checked on any Q/DQ graph (needs onnx, not torch).

`toolkit calibrate` refuses to write a TensorRT-form INT8 graph that breaks them, and
`toolkit inspect` reports them for a graph from anywhere.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import numpy_helper


def qdq_problems(model: onnx.ModelProto) -> list[str]:
    """What keeps a Q/DQ graph from being TensorRT's kind: asymmetric or non-int8 zero points,
    a quantised Sigmoid, an output straight from a DequantizeLinear, an opset below 13."""
    problems = []
    opset = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    if opset < 13:
        problems.append(f"opset {opset} < 13 (per-channel Q/DQ)")
    initializers = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
    producers = {out: node for node in model.graph.node for out in node.output}
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in model.graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    for node in model.graph.node:
        if node.op_type in ("QuantizeLinear", "DequantizeLinear"):
            zero_point = initializers.get(node.input[2]) if len(node.input) > 2 else None
            if zero_point is None:
                problems.append(f"{node.name}: no zero point (uint8 by default)")
            elif zero_point.dtype != np.int8 or np.any(zero_point != 0):
                problems.append(f"{node.name}: zero point {zero_point.dtype} not all 0")
        if node.op_type == "Sigmoid":
            source = producers.get(node.input[0])
            if source is not None and source.op_type == "DequantizeLinear":
                problems.append(f"{node.name}: Sigmoid input is quantised")
            if any(c.op_type == "QuantizeLinear" for c in consumers.get(node.output[0], [])):
                problems.append(f"{node.name}: Sigmoid output is quantised")
    for output in model.graph.output:
        source = producers.get(output.name)
        if source is not None and source.op_type == "DequantizeLinear":
            problems.append(f"output {output.name} comes from a DequantizeLinear")
    return problems
