"""Transposed convolutions with kernel == stride, rewritten as a 1x1 convolution + a pixel shuffle.

The U-Net upsamples with 2x2, stride-2 transposed convolutions. ONNX Runtime's CPU provider has no
INT8 kernel for ConvTranspose: in the CPU INT8 graph each one runs in float, between a
DequantizeLinear and a QuantizeLinear, with layout transposes around it (about 30 ms of the full
U-Net's 490 ms at 424x424). The same operator is exactly a 1x1 convolution to k*k*C' channels
followed by a pixel shuffle, and those run in INT8 (QLinearConv) with the shuffle's transposes
folded into ONNX Runtime's NHWC layout (measured 26 ms faster, BENCHMARKS.md).

For an input x (N, C, H, W), weight W (C, C', k, k) and bias b (C'):

    y  = Conv1x1(x, W'[(i, j, o), c] = W[c, o, i, j], bias b[o] for every (i, j))   (N, k*k*C', H, W)
    y  = Transpose(y, 0 2 3 1) -> Reshape (N, H, W, k, k, C')                       channels last
    y  = Transpose(y, 0 1 3 2 4 5)                                                  (N, H, k, W, k, C')
    y  = Reshape (N, H*k, W*k, C') -> Transpose(0 3 1 2)                            (N, C', H*k, W*k)

The first transpose cancels against the NHWC layout ONNX Runtime gives QLinearConv, and the shuffle
moves whole C'-channel pixels. The rewritten node keeps the transposed convolution's name and
weight name, so exclusions and sensitivity reports still name the node the user knows.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import onnx
from onnx import helper, numpy_helper


def attribute(node: onnx.NodeProto, name: str, default: object) -> object:
    for attr in node.attribute:
        if attr.name == name:
            return helper.get_attribute_value(attr)
    return default


def rewritable(node: onnx.NodeProto, initializers: dict[str, onnx.TensorProto]) -> bool:
    """A 2-D ConvTranspose whose kernel tiles the output exactly: kernel == stride, no padding."""
    if node.op_type != "ConvTranspose" or not all(name in initializers for name in node.input[1:] if name):
        return False
    weight = initializers[node.input[1]]
    if len(weight.dims) != 4 or weight.dims[2] != weight.dims[3]:
        return False
    k = weight.dims[2]
    return (
        list(attribute(node, "strides", [1, 1])) == [k, k]
        and not any(attribute(node, "pads", [0, 0, 0, 0]))
        and list(attribute(node, "dilations", [1, 1])) == [1, 1]
        and not any(attribute(node, "output_padding", [0, 0]))
        and not attribute(node, "output_shape", [])
        and attribute(node, "group", 1) == 1
        and attribute(node, "auto_pad", b"NOTSET") in (b"NOTSET", "NOTSET")
    )


def shuffle_nodes(
    node: onnx.NodeProto, weight: np.ndarray, bias: np.ndarray | None
) -> tuple[list[onnx.NodeProto], list[onnx.TensorProto]]:
    """The nodes and initializers that replace `node` (see the module docstring)."""
    channels_in, channels_out, k, _ = weight.shape
    x, out, name = node.input[0], node.output[0], node.name
    t = f"{name}/shuffle"  # prefix of every new tensor
    conv_weight = weight.transpose(2, 3, 1, 0).reshape(k * k * channels_out, channels_in, 1, 1)
    conv_inputs = [x, node.input[1]]
    initializers = [numpy_helper.from_array(np.ascontiguousarray(conv_weight), node.input[1])]
    if bias is not None:  # the exporter drops an all-zero bias
        conv_inputs.append(node.input[2])
        initializers.append(numpy_helper.from_array(np.tile(bias, k * k), node.input[2]))
    initializers += [
        numpy_helper.from_array(np.array([0, 0, 0, k, k, channels_out], np.int64), f"{t}/split"),
        numpy_helper.from_array(np.array([0, 2, 3, 1], np.int64), f"{t}/nhwc"),
        numpy_helper.from_array(np.array([1, k, k, 0], np.int64), f"{t}/scale"),
        numpy_helper.from_array(np.array([0, 0, 0, channels_out], np.int64), f"{t}/channels"),
    ]
    nodes = [
        helper.make_node("Conv", conv_inputs, [f"{t}/conv"], name=name, kernel_shape=[1, 1]),
        helper.make_node("Transpose", [f"{t}/conv"], [f"{t}/nhwc_out"], f"{t}/to_nhwc", perm=[0, 2, 3, 1]),
        helper.make_node("Reshape", [f"{t}/nhwc_out", f"{t}/split"], [f"{t}/split_out"], f"{t}/split"),
        helper.make_node(
            "Transpose", [f"{t}/split_out"], [f"{t}/shuffled"], f"{t}/shuffle", perm=[0, 1, 3, 2, 4, 5]
        ),
        # the output shape (N, H*k, W*k, C') from x's (N, C, H, W): gather to (N, H, W, C), scale, set C'
        helper.make_node("Shape", [x], [f"{t}/shape"], f"{t}/shape"),
        helper.make_node("Gather", [f"{t}/shape", f"{t}/nhwc"], [f"{t}/shape_nhwc"], f"{t}/shape_nhwc"),
        helper.make_node("Mul", [f"{t}/shape_nhwc", f"{t}/scale"], [f"{t}/scaled"], f"{t}/scaled"),
        helper.make_node("Add", [f"{t}/scaled", f"{t}/channels"], [f"{t}/out_shape"], f"{t}/out_shape"),
        helper.make_node("Reshape", [f"{t}/shuffled", f"{t}/out_shape"], [f"{t}/merged"], f"{t}/merge"),
        helper.make_node("Transpose", [f"{t}/merged"], [out], f"{t}/to_nchw", perm=[0, 3, 1, 2]),
    ]
    return nodes, initializers


def transposed_convs_as_pixel_shuffle(model: onnx.ModelProto) -> tuple[onnx.ModelProto, list[str]]:
    """A copy of `model` with every rewritable ConvTranspose replaced; and the names replaced."""
    rewritten = onnx.ModelProto()
    rewritten.CopyFrom(model)
    graph = rewritten.graph
    initializers = {init.name: init for init in graph.initializer}
    uses = Counter(name for node in graph.node for name in node.input)
    replaced: list[str] = []
    nodes: list[onnx.NodeProto] = []
    for node in graph.node:
        shared = any(uses[name] > 1 for name in node.input[1:] if name)  # its weights are rewritten in place
        if shared or not rewritable(node, initializers):
            nodes.append(node)
            continue
        weight = numpy_helper.to_array(initializers.pop(node.input[1]))
        has_bias = len(node.input) > 2 and node.input[2]
        bias = numpy_helper.to_array(initializers.pop(node.input[2])) if has_bias else None
        new_nodes, new_initializers = shuffle_nodes(node, weight, bias)
        nodes += new_nodes
        initializers.update((init.name, init) for init in new_initializers)
        replaced.append(node.name)
    del graph.node[:]
    graph.node.extend(nodes)
    del graph.initializer[:]
    graph.initializer.extend(initializers.values())
    del graph.value_info[:]  # shapes of the replaced outputs change inside; check_model infers them again
    return rewritten, replaced
