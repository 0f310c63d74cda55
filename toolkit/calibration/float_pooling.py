"""Max pooling moved before the quantisation of a float convolution's output, in the CPU INT8 form.

Where the convolution before a MaxPool stays in FP32 (`--target-f1` keeps the most sensitive nodes
out of INT8) and another consumer of its output is quantised, the quantiser writes

    Conv (float) -> Relu -> Q -> DQ -> MaxPool -> Q -> DQ -> ...

and ONNX Runtime drops the Q/DQ pair around the MaxPool (their scales are equal), so it pools uint8
in NCHW, without the blocked (NCHWc) kernel its float MaxPool has: 86 of `contour`'s 321 ms of
kernels at 1024x1024 against 5 ms in float (benchmarks/ort_ops.py, BENCHMARKS.md). Quantisation is
monotonic, so pooling the float tensor and quantising after gives the very same numbers when the two
Qs share a scale and zero point: the MaxPool reads the tensor before the first Q instead.

Where that tensor comes from a convolution ONNX Runtime runs in INT8, it pools the uint8 output in
NHWC beside the QLinearConvs (`NhwcMaxPool`, fast); such a MaxPool is left as it is. That includes a
convolution kept out of INT8 whose input is quantised for another reader (the stem, when the other
convolution of the image is in INT8): ONNX Runtime quantises its weights itself.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import numpy_helper


def pool_before_quantizing(model: onnx.ModelProto) -> tuple[onnx.ModelProto, list[str]]:
    """Rewire every MaxPool that pools a quantised copy of a float convolution's output to pool the
    float tensor itself; returns the model (changed in place) and the names of the rewired nodes."""
    producers = {out: node for node in model.graph.node for out in node.output}
    constants = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
    outputs = {output.name for output in model.graph.output}

    def quantisation(node: onnx.NodeProto) -> tuple[np.ndarray, ...]:
        return tuple(constants[name] for name in node.input[1:3])

    def from_int8_convolution(tensor: str) -> bool:
        """Whether ONNX Runtime runs the convolution making `tensor` as a QLinearConv: it does for a
        dequantised input and a quantised output, its weights quantised or not (ONNX Runtime >= 1.20
        quantises a float weight there itself, `WeightBiasQuantization`)."""
        source = producers.get(tensor)
        while source is not None and source.op_type == "Relu":
            source = producers.get(source.input[0])
        if source is None or source.op_type != "Conv":
            return False
        data = producers.get(source.input[0])
        return data is not None and data.op_type == "DequantizeLinear"

    rewired = []
    for node in model.graph.node:
        dequantize = producers.get(node.input[0]) if node.op_type == "MaxPool" else None
        quantize = producers.get(dequantize.input[0]) if dequantize is not None else None
        if dequantize is None or dequantize.op_type != "DequantizeLinear" or quantize is None:
            continue
        if quantize.op_type != "QuantizeLinear" or from_int8_convolution(quantize.input[0]):
            continue
        after = [n for n in model.graph.node if node.output[0] in n.input]
        same_grid = all(
            q.op_type == "QuantizeLinear"
            and all(np.array_equal(a, b) for a, b in zip(quantisation(q), quantisation(quantize)))
            for q in after
        )
        if (
            after and same_grid and node.output[0] not in outputs
        ):  # exact: q(max(x)) == max(q(x)) on one grid, and only q(...) is read
            node.input[0] = quantize.input[0]
            rewired.append(node.name)
    return model, rewired
