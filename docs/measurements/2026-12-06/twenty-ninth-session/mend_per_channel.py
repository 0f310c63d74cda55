"""Quantise, per output channel, the convolutions ONNX Runtime re-quantised per tensor in the shipped
CPU INT8 graphs, and measure agreement and speed against the graphs shipped now.

    python docs/measurements/2026-12-06/twenty-ninth-session/mend_per_channel.py [--write]

The shipped `contour`, `contour-coarse` and `contour-thin` CPU forms were searched before
`runtime_int8.keep_in_float` existed: their cards keep some convolutions "out of INT8" that ONNX
Runtime runs as QLinearConvs all the same, with weights it quantises itself, per tensor. Keeping them
in float (the twenty-eighth session) raised agreement but cost the speed-up. Here each such node's
float weights are written as the quantiser writes every other node's (int8 in [-64, 64], one
symmetric scale per output channel, absmax / 64, a DequantizeLinear on axis 0; bias float): the node
runs in INT8 as before, with finer weights, and every other node and range is left as shipped (the
calibration pages cannot be redrawn byte for byte: PNG bytes differ between OpenCV builds). The graph
is measured as `scripts/ship_graphs.py` measures (40 held-out paintings of its size, seed 0) and
timed against the shipped graph, model only, taking turns (`cpu_speedup`, best of three rounds, ten
held-out pages and one 2048 px page). With `--write` it replaces the shipped graph, its card
naming the nodes in INT8 that were not before; the speed-ups against FP32 are then re-measured with
`ship_graphs.py NAME --speed-only --size S`.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

from toolkit.calibration.runtime_int8 import GraphIndex
from toolkit.core.metadata import AGREEMENT_NOTE, read_card
from toolkit.core.shipped import SHIPPED_DIR
from toolkit.data.synthetic import write_pairs
from toolkit.export.graph_file import save_graph

SIZES = {"contour": 424, "contour-coarse": 768, "contour-thin": 256}  # the sizes their records name
WEIGHT_LEVELS = 64  # reduce_range: 7-bit weights, int8 in [-64, 64] (read off the shipped graphs)


def ship_graphs():
    spec = importlib.util.spec_from_file_location("ship_graphs", Path("scripts/ship_graphs.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def per_channel_weights(model: onnx.ModelProto, excluded: list[str]) -> list[str]:
    """Give every excluded convolution that ONNX Runtime runs in INT8 anyway per-channel int8 weights
    behind a DequantizeLinear, as the quantiser writes them; returns those nodes' names."""
    index = GraphIndex(model)
    moved = []
    for position, node in reversed(list(enumerate(model.graph.node))):
        if node.name not in excluded or not index.runs_in_int8(node):
            continue
        name = node.input[1]
        weight = index.constants[name]
        scale = (np.abs(weight).reshape(len(weight), -1).max(axis=1) / WEIGHT_LEVELS).astype(np.float32)
        scale[scale == 0] = 1.0
        shape = (-1,) + (1,) * (weight.ndim - 1)
        quantized = np.clip(np.round(weight / scale.reshape(shape)), -WEIGHT_LEVELS, WEIGHT_LEVELS)
        model.graph.initializer.extend(
            [
                numpy_helper.from_array(quantized.astype(np.int8), f"{name}_quantized"),
                numpy_helper.from_array(scale, f"{name}_scale"),
                numpy_helper.from_array(np.zeros(len(weight), np.int8), f"{name}_zero_point"),
            ]
        )
        dequantize = helper.make_node(
            "DequantizeLinear",
            [f"{name}_quantized", f"{name}_scale", f"{name}_zero_point"],
            [f"{name}_DequantizeLinear_Output"],
            f"{name}_DequantizeLinear",
            axis=0,
        )
        model.graph.node.insert(position, dequantize)
        node.input[1] = f"{name}_DequantizeLinear_Output"
        moved.append(node.name)
    read = {name for node in model.graph.node for name in node.input}
    unread = [init for init in model.graph.initializer if init.name not in read]  # the float weights
    for init in unread:
        model.graph.initializer.remove(init)
    return sorted(moved)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--write", action="store_true", help="replace the shipped graphs")
    parser.add_argument("--models", nargs="*", default=list(SIZES))
    args = parser.parse_args()
    ship = ship_graphs()
    for name in args.models:
        size = SIZES[name]
        graph, fp32 = SHIPPED_DIR / f"{name}-int8-cpu.onnx", SHIPPED_DIR / f"{name}.onnx"
        card = read_card(graph)
        before = json.loads(card.extra[AGREEMENT_NOTE])
        excluded = json.loads(card.extra["int8_excluded_nodes"])
        model = onnx.load(graph)
        moved = per_channel_weights(model, excluded)
        card = dataclasses.replace(
            card,
            extra={
                **card.extra,
                AGREEMENT_NOTE: "{}",
                "int8_excluded_nodes": json.dumps([node for node in excluded if node not in moved]),
            },
        )
        with tempfile.TemporaryDirectory() as scratch:
            scratch = Path(scratch)
            heldout, large = scratch / "heldout", scratch / "large"
            write_pairs("painting", 40, size, seed=0, root=heldout)
            write_pairs("painting", 1, ship.LARGE_SIDE, seed=2, root=large)
            candidate = scratch / f"{name}-int8-cpu.onnx"
            save_graph(model, card, candidate)
            fp32_f1 = ship.line_f1(fp32, heldout)
            record = ship.record_agreement(candidate, fp32, heldout, fp32_f1, f"--size {size}")
            pages = sorted((heldout / "input").glob("*.png"))[:10]
            speed = {
                str(size): ship.cpu_speedup(candidate, graph, pages),
                str(ship.LARGE_SIDE): ship.cpu_speedup(
                    candidate, graph, sorted((large / "input").glob("*.png"))
                ),
            }
            print(
                f"{name}: per-channel INT8 weights for {moved}; agreement "
                f"{before['line_f1']} -> {record['line_f1']}, "
                f"PSNR {before['psnr_db']} -> {record['psnr_db']} dB, "
                f"F1 lost {before['f1_drop']} -> {record['f1_drop']}; speed against the shipped graph, "
                f"model only: " + ", ".join(f"{side} px {value:.3f}x" for side, value in speed.items()),
                flush=True,
            )
            if args.write:
                shutil.copyfile(candidate, graph)


if __name__ == "__main__":
    main()
