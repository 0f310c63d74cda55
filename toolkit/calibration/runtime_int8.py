"""Which convolutions ONNX Runtime runs in INT8 on its own, and how one kept out of INT8 stays out.

ONNX Runtime's CPU provider runs a Conv as a QLinearConv where its input comes from a per-tensor
DequantizeLinear and its output reaches a QuantizeLinear through nothing but Relu or Clip, one
consumer at each step; where the Conv's weights are float, it first quantises them itself (per tensor,
symmetric: `WeightBiasQuantization`, ONNX Runtime >= 1.20). The quantiser leaves exactly that around
a convolution kept out of INT8 whose input is quantised for another reader and whose output is
quantised for the next: `--exclude`, and the nodes `--target-f1` keeps in FP32, ran in INT8 all the
same, with coarser weights than ours (in the shipped `contour` CPU form, `node_Conv_89`, profiled as
a QLinearConv). Such a node is given a DequantizeLinear of its own that writes the same scale once
per channel: the same numbers, but not the per-tensor form ONNX Runtime looks for, so it runs in float.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper

CONVOLUTIONS = ("Conv", "ConvTranspose")


class GraphIndex:
    """Producers, consumers and constants of a graph, read once."""

    def __init__(self, model: onnx.ModelProto) -> None:
        self.producers = {out: node for node in model.graph.node for out in node.output}
        self.consumers: dict[str, list[onnx.NodeProto]] = {}
        for node in model.graph.node:
            for name in node.input:
                self.consumers.setdefault(name, []).append(node)
        self.constants = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
        self.outputs = {output.name for output in model.graph.output}

    def per_tensor_dequantised(self, tensor: str) -> onnx.NodeProto | None:
        """The DequantizeLinear making `tensor` with one scale for the whole tensor, if one does."""
        source = self.producers.get(tensor)
        if source is None or source.op_type != "DequantizeLinear":
            return None
        scale = self.constants.get(source.input[1])
        return source if scale is not None and scale.size == 1 else None

    def straight_to_quantize(self, node: onnx.NodeProto) -> bool:
        """`node`'s output reaches a QuantizeLinear through Relu or Clip only, never branching."""
        while len(node.output) == 1 and node.output[0] not in self.outputs:
            readers = self.consumers.get(node.output[0], [])
            if len(readers) != 1:
                return False
            node = readers[0]
            if node.op_type == "QuantizeLinear":
                return True
            if node.op_type not in ("Relu", "Clip"):
                return False
        return False

    def runs_in_int8(self, node: onnx.NodeProto) -> bool:
        """ONNX Runtime's CPU provider runs this convolution as a QLinearConv."""
        return (
            node.op_type in CONVOLUTIONS
            and self.per_tensor_dequantised(node.input[0]) is not None
            and self.straight_to_quantize(node)
        )


def input_channels(node: onnx.NodeProto, weight: np.ndarray) -> int:
    if node.op_type == "ConvTranspose":  # weight (C, M / group, k, k)
        return int(weight.shape[0])
    group = next((helper.get_attribute_value(a) for a in node.attribute if a.name == "group"), 1)
    return int(weight.shape[1]) * int(group)  # weight (M, C / group, k, k)


def keep_in_float(model: onnx.ModelProto, excluded: list[str]) -> tuple[onnx.ModelProto, list[str]]:
    """Give every excluded convolution that ONNX Runtime would run in INT8 a per-channel copy of its
    input's DequantizeLinear; returns the model (changed in place) and those nodes' names."""
    index = GraphIndex(model)
    kept = []
    for position, node in reversed(list(enumerate(model.graph.node))):  # insertions keep positions
        if node.name not in excluded or not index.runs_in_int8(node) or node.input[1] not in index.constants:
            continue
        dequantize = index.per_tensor_dequantised(node.input[0])
        channels = input_channels(node, index.constants[node.input[1]])
        scale, zero_point = (index.constants[name] for name in dequantize.input[1:3])
        names = [f"{node.name}_float_input_{part}" for part in ("scale", "zero_point", "dequantized")]
        model.graph.initializer.extend(
            [
                numpy_helper.from_array(np.full(channels, scale.item(), scale.dtype), names[0]),
                numpy_helper.from_array(np.full(channels, zero_point.item(), zero_point.dtype), names[1]),
            ]
        )
        per_channel = helper.make_node(
            "DequantizeLinear",
            [dequantize.input[0], *names[:2]],
            [names[2]],
            f"{node.name}_float_input",
            axis=1,
        )
        model.graph.node.insert(position, per_channel)
        node.input[0] = names[2]
        kept.append(node.name)
    return model, sorted(kept)
