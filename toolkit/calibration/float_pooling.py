"""Max pooling moved before the quantisation of a float convolution's output, in the CPU INT8 form.

Where the convolution before a MaxPool stays in FP32 (`--target-f1` keeps the most sensitive nodes
out of INT8) and another consumer of its output is quantised, the quantiser writes

    Conv (float) -> Relu -> Q -> DQ -> MaxPool -> Q -> DQ -> ...

and ONNX Runtime drops the Q/DQ pair around the MaxPool (their scales are equal), so it pools uint8
in NCHW, without the blocked (NCHWc) kernel its float MaxPool has: 86 of `contour`'s 321 ms of
kernels at 1024x1024 against 5 ms in float (benchmarks/ort_ops.py, BENCHMARKS.md). Quantisation is
monotonic, so pooling the float tensor and quantising after gives the very same numbers when the two
Qs share a scale and zero point: the MaxPool reads the tensor before the first Q instead.

Where that tensor comes from a convolution ONNX Runtime runs in INT8 (runtime_int8.py), it pools
the uint8 output in NHWC beside the QLinearConvs (`NhwcMaxPool`, fast); such a MaxPool is left as it
is.
"""

from __future__ import annotations

import numpy as np
import onnx

from toolkit.calibration.runtime_int8 import GraphIndex


def pool_before_quantizing(model: onnx.ModelProto) -> tuple[onnx.ModelProto, list[str]]:
    """Rewire every MaxPool that pools a quantised copy of a float convolution's output to pool the
    float tensor itself; returns the model (changed in place) and the names of the rewired nodes."""
    index = GraphIndex(model)

    def grid(node: onnx.NodeProto) -> tuple[np.ndarray, ...]:
        return tuple(index.constants[name] for name in node.input[1:3])

    def from_int8_convolution(tensor: str) -> bool:
        source = index.producers.get(tensor)
        while source is not None and source.op_type == "Relu":
            source = index.producers.get(source.input[0])
        return source is not None and index.runs_in_int8(source)

    rewired = []
    for node in model.graph.node:
        dequantize = index.producers.get(node.input[0]) if node.op_type == "MaxPool" else None
        quantize = index.producers.get(dequantize.input[0]) if dequantize is not None else None
        if dequantize is None or dequantize.op_type != "DequantizeLinear" or quantize is None:
            continue
        if quantize.op_type != "QuantizeLinear" or from_int8_convolution(quantize.input[0]):
            continue
        after = index.consumers.get(node.output[0], [])
        same_grid = all(
            q.op_type == "QuantizeLinear"
            and all(np.array_equal(a, b) for a, b in zip(grid(q), grid(quantize)))
            for q in after
        )
        if after and same_grid and node.output[0] not in index.outputs:  # q(max(x)) == max(q(x)) on one grid
            node.input[0] = quantize.input[0]
            rewired.append(node.name)
    return model, rewired
