"""Serving graphs: a classic graph wrapped so that it takes raw pixels of any size and gives lines at
that size, so Triton, Ray or any other client feeds it without the model card's arithmetic.

    pixels (N, H, W, C) uint8 | uint16            the layout image libraries give, any H and W
      Transpose -> (N, C, H, W), still uint8
      Cast -> float32, Div by the dtype's top      the same float32 operations as the host pipeline
      Sub mean, Div std (per channel)              (toolkit.imaging.model_input): they agree exactly
      mirror to multiples of the stride            numpy's "reflect", as the host pads, at every size
      the classic graph, untouched                 FP32, FP16 or INT8: its Q/DQ stay where they were
      Slice back to (N, 1, H, W)
      Transpose -> lines (N, H, W, 1) float32      line probability, 1 = ink

What stays outside, on the client: whole-image conditioning (the card's `conditioning`), because it
is computed from the whole scan and tiles of one scan must be conditioned alike; and tiling itself.

The mirroring gathers the few rows and columns past the edge (at most stride - 1) by index and
concatenates them, rather than ONNX's Pad in mode "reflect": onnx-tensorrt imports that Pad too (as a
reflecting slice, on 8.4 to 10.x), but Pad "reflect" cannot mirror more pixels than an image has
beyond its edge row, so it refuses images narrower than the stride (and `polygraphy check lint`,
which feeds 1x1 pixels, fails on it); by index, a 1x1 image pads as numpy pads it. Every operator the
wrapper adds is in onnx-tensorrt's support list (`TENSORRT_SUPPORT`, read from docs/operators.md of
8.6-GA, 10.1-GA and main on 2026-12-02). TensorRT has no 16-bit unsigned tensors in any version, so
a uint16 serving graph is for ONNX Runtime (`toolkit build-engine` refuses it). Not executed here:
no TensorRT builder installs on these machines.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from toolkit.core.errors import InputError, UsageError
from toolkit.core.fileio import refuse_overwrite
from toolkit.core.metadata import (
    LINES_OUTPUT,
    PIXEL_TOPS,
    PIXELS_INPUT,
    ModelCard,
    card_of,
    load_graph,
    refuse_external_weights,
    serving_form,
)
from toolkit.core.model_ref import resolve_model
from toolkit.core.shipped import shipped_forms
from toolkit.export.graph_file import derived_path, save_graph

SERVING_DTYPES = {"uint8": TensorProto.UINT8, "uint16": TensorProto.UINT16}  # the keys of PIXEL_TOPS
PREFIX = "serving/"

# Every operator the wrapper adds, and the types onnx-tensorrt's docs/operators.md lists for it at
# 8.6-GA / 10.1-GA and main (10.x; 8.6 casts INT64 shape arithmetic down to INT32). Cast's UINT8 is the
# pixel input. tests/test_serving.py checks that a serving graph adds nothing else.
TENSORRT_SUPPORT = {
    "Abs": "FP32, FP16, INT32 / + BF16, INT64",
    "Add": "FP32, FP16, INT32 / + BF16, INT64",
    "Cast": "FP32, FP16, INT32, INT8, UINT8, BOOL / + BF16, INT64",
    "Concat": "FP32, FP16, INT32, INT8, BOOL / + BF16, INT64",
    "Div": "FP32, FP16, INT32 / + BF16, INT64",
    "Gather": "FP32, FP16, INT8, INT32, BOOL / + BF16, INT64",
    "Max": "FP32, FP16, INT32 / + BF16, INT64",
    "Mod": "FP32, FP16, INT32 / + BF16, INT64",
    "Mul": "FP32, FP16, INT32 / + BF16, INT64",
    "Range": "FP32, FP16, INT32 / + BF16, INT64",
    "Shape": "FP32, FP16, INT32, INT8, BOOL / + BF16, INT64",
    "Slice": "FP32, FP16, INT32, INT8, BOOL / + BF16, INT64; axes must be an initializer (they are)",
    "Sub": "FP32, FP16, INT32 / + BF16, INT64",
    "Transpose": "FP32, FP16, INT32, INT8, BOOL / + BF16, INT64",
}


def check_pixels(pixels: str) -> str:
    if pixels not in SERVING_DTYPES:
        raise UsageError(f"--pixels {pixels}: serving graphs take {' or '.join(SERVING_DTYPES)} pixels")
    return pixels


def serving_sources(models: list[str]) -> list[Path]:
    """The graphs `toolkit serving` wraps: each file given, and every graph a shipped name ships."""
    sources: list[Path] = []
    for given in models:
        ref = resolve_model(given, accepts=("graph",))
        sources.extend(shipped_forms(ref.name).values() if ref.name else [ref.path])
    return sources


def serving_path(onnx_file: Path) -> Path:
    """export/unet-light-int8.onnx -> export/unet-light-int8-serving.onnx; a shipped graph's go to export/."""
    return derived_path(onnx_file, "serving")


def make_serving_graph(model: onnx.ModelProto, card: ModelCard, pixels: str = "uint8") -> onnx.ModelProto:
    """`model` (a classic graph: normalised NCHW float in, lines at the padded size out) wrapped to take
    (N, H, W, C) pixels of `dtype` and give (N, H, W, 1) lines. The classic graph is not modified."""
    dtype = check_pixels(pixels)
    if card.input_dtype != "float32":
        raise InputError(f"model '{card.model}': this graph is already a serving graph")
    if card.output_names != [LINES_OUTPUT]:
        raise InputError(
            f"model '{card.model}': serving graphs carry line models, not feature maps ({card.output_names})"
        )
    channels, stride = card.input_channels, card.stride
    top = float(PIXEL_TOPS[dtype])

    def const(name: str, values: object, dtype_: type = np.int64) -> str:
        if PREFIX + name not in {init.name for init in initializers}:
            initializers.append(numpy_helper.from_array(np.asarray(values, dtype_), PREFIX + name))
        return PREFIX + name

    def node(op: str, inputs: list[str], output: str, **attributes: object) -> str:
        nodes.append(helper.make_node(op, inputs, [PREFIX + output], name=PREFIX + output, **attributes))
        return PREFIX + output

    nodes: list[onnx.NodeProto] = []
    initializers: list[onnx.TensorProto] = []
    # (N, H, W, C) pixels -> the normalised values, by the host pipeline's float32 operations
    # NCHW first, on the 1-byte pixels: ONNX Runtime broadcasts per-channel constants over the long
    # inner axes 8x faster than over an inner axis of 3 (64 of 100 ms per 4 tiles of 512 px were Sub
    # and Div on NHWC); the arithmetic is the same float32 operations either way
    nchw_pixels = node("Transpose", [PIXELS_INPUT], "nchw_pixels", perm=[0, 3, 1, 2])
    pixels = node("Cast", [nchw_pixels], "float", to=TensorProto.FLOAT)
    per_channel = (len(card.mean), 1, 1)
    unit = node("Div", [pixels, const("top", top, np.float32)], "unit")
    mean = const("mean", np.reshape(card.mean, per_channel), np.float32)
    centred = node("Sub", [unit, mean], "centred")
    std = const("std", np.reshape(card.std, per_channel), np.float32)
    nchw = node("Div", [centred, std], "nchw")
    # mirror out to the next multiple of the stride at the bottom, then the right: numpy's "reflect"
    # (which the host pipeline pads with) at every size, by gathering the few mirrored rows/columns
    shape = node("Shape", [PIXELS_INPUT], "shape")
    step = const("stride", stride)
    one = const("one", 1)
    padded = nchw
    for axis, name in ((2, "h"), (3, "w")):
        length = node("Gather", [shape, const(f"axis_{name}", axis - 1)], f"{name}", axis=0)
        rounded = node("Add", [length, const("stride-1", stride - 1)], f"{name}+stride-1")
        blocks = node("Div", [rounded, step], f"{name}_blocks")
        end = node("Mul", [blocks, step], f"{name}_padded")
        # position p past the edge reads index last - |(p mod period) - last|, period = max(2 last, 1)
        positions = node("Range", [length, end, one], f"{name}_positions")
        last = node("Sub", [length, one], f"{name}_last")
        period = node("Max", [node("Add", [last, last], f"{name}_2last"), one], f"{name}_period")
        folded = node("Sub", [node("Mod", [positions, period], f"{name}_mod"), last], f"{name}_folded")
        mirrored = node("Sub", [last, node("Abs", [folded], f"{name}_abs")], f"{name}_mirrored")
        strip = node("Gather", [padded, mirrored], f"{name}_strip", axis=axis)
        padded = node("Concat", [padded, strip], f"padded_{name}", axis=axis)
    size = node("Slice", [shape, const("1", [1]), const("3", [3])], "hw")
    # the classic graph reads the padded batch as its input, and its output is cropped back
    inner_output = PREFIX + "lines_padded"
    classic = onnx.ModelProto()
    classic.CopyFrom(model)
    graph = classic.graph
    for inner in graph.node:
        inner.input[:] = [padded if name == card.input_name else name for name in inner.input]
        inner.output[:] = [inner_output if name == LINES_OUTPUT else name for name in inner.output]
    cropped = node(
        "Slice", [inner_output, const("zeros2", [0, 0]), size, const("axes_hw", [2, 3])], "cropped"
    )
    node("Transpose", [cropped], "nhwc", perm=[0, 2, 3, 1])
    nodes[-1].output[:] = [LINES_OUTPUT]
    del graph.value_info[:]  # the classic graph's inner shapes are re-inferred when it is saved
    new_graph = helper.make_graph(
        [*nodes[:-2], *graph.node, *nodes[-2:]],
        graph.name or card.model,
        [
            helper.make_tensor_value_info(
                PIXELS_INPUT, SERVING_DTYPES[dtype], ["batch", "height", "width", channels]
            )
        ],
        [helper.make_tensor_value_info(LINES_OUTPUT, TensorProto.FLOAT, ["batch", "height", "width", 1])],
        [*initializers, *graph.initializer],
    )
    serving = helper.make_model(new_graph, opset_imports=list(classic.opset_import))
    serving.ir_version = classic.ir_version
    return serving


def write_serving_graph(
    onnx_file: Path, output: Path | None = None, *, pixels: str = "uint8", overwrite: bool = False
) -> tuple[Path, ModelCard]:
    """The serving graph of the classic graph in `onnx_file`, saved (checked, card stamped, atomic)."""
    output = output or serving_path(onnx_file)
    refuse_overwrite(output, overwrite)
    model = load_graph(onnx_file)
    refuse_external_weights(model, onnx_file)
    card = card_of(model, onnx_file)
    serving = serving_form(card, pixels)
    save_graph(make_serving_graph(model, card, pixels), serving, output, overwrite=overwrite)
    return output, serving
