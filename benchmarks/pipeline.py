"""What the image pipeline itself costs per megapixel, once the model is fast (a GPU engine).

    python benchmarks/pipeline.py --size 4000x3000 --tile 512

`toolkit infer` normalises, pads, cuts tiles, blends them back and converts the result to pixels on
the CPU, whatever backend runs the model (`draw_lines`). On a CPU backend the model dominates; behind
a TensorRT engine this pipeline is what is left. To measure it alone it runs a real ONNX graph that
computes next to nothing: the shipped contour model's card (RGB, ImageNet normalisation, stride 4)
on a graph whose line output is the Sigmoid of the channel mean. Prints the best of `--runs` in
seconds and megapixels per second, and how much of it the graph itself took (the same number of
tile batches run straight through ONNX Runtime).

It measures the same graph's serving form too (toolkit.export.serving: uint8 pixels in, normalising,
mirroring and cropping inside the graph), alternating with the classic one, and prints what moving
the host-side normalisation into the graph saves; on a GPU host it also cuts host->device traffic 4x
(uint8 instead of float32), which this CPU measurement cannot show.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper

from toolkit.core.metadata import INPUT_NAME, LINES_OUTPUT, PIXELS_INPUT
from toolkit.core.shipped import SHIPPED_DIR
from toolkit.data.synthetic import make_pair
from toolkit.export.serving import write_serving_graph
from toolkit.runtime.onnxruntime_runner import OnnxRuntimeRunner
from toolkit.runtime.pictures import draw_lines
from toolkit.runtime.tiling import Tiling, tile_grid


def negligible_graph(path: Path) -> None:
    """lines = Sigmoid(mean over channels of the image), carrying the shipped contour model's card."""
    with OnnxRuntimeRunner(SHIPPED_DIR / "contour.onnx") as shipped:
        props = shipped.card.to_props()
    image = helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["batch", 3, "height", "width"])
    lines = helper.make_tensor_value_info(LINES_OUTPUT, TensorProto.FLOAT, ["batch", 1, "height", "width"])
    nodes = [
        helper.make_node("ReduceMean", [INPUT_NAME, "axes"], ["mean"], keepdims=1),
        helper.make_node("Sigmoid", ["mean"], [LINES_OUTPUT]),
    ]
    axes = helper.make_tensor("axes", TensorProto.INT64, [1], [1])
    model = helper.make_model(
        helper.make_graph(nodes, "negligible", [image], [lines], [axes]),
        opset_imports=[helper.make_opsetid("", 18)],
        ir_version=9,  # what ONNX Runtime 1.17 (JetPack) and later load
    )
    helper.set_model_props(model, props)
    onnx.save(model, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="4000x3000", help="WIDTHxHEIGHT of the test image")
    parser.add_argument("--tile", type=int, default=512)
    parser.add_argument("--overlap", type=int, default=64)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--format", default="gray", choices=["gray", "binary", "alpha"])
    args = parser.parse_args()

    width, height = map(int, args.size.split("x"))
    painting, _ = make_pair("painting", 500, 500, seed=3)
    image = np.tile(painting, (-(-height // 500), -(-width // 500), 1))[:height, :width]
    tiling = Tiling(args.tile, args.overlap, args.batch)
    megapixels = width * height / 1e6
    with tempfile.TemporaryDirectory() as scratch:
        classic = Path(scratch) / "negligible.onnx"
        negligible_graph(classic)
        serving, _ = write_serving_graph(classic, Path(scratch) / "negligible-serving.onnx")
        with OnnxRuntimeRunner(classic) as runner, OnnxRuntimeRunner(serving) as served:
            best = {"classic": float("inf"), "serving": float("inf")}
            for _ in range(args.runs):  # taking turns, so both see the same machine
                for name, which in (("classic", runner), ("serving", served)):
                    draw = lambda r=which: draw_lines(  # noqa: E731
                        r, image, output_format=args.format, tiling=tiling, size=(width, height)
                    )
                    draw()  # warm-up
                    best[name] = min(best[name], timed(draw))
            grid = tile_grid(height, width, runner.card.stride, tiling)
            batches = -(-len(grid.xs) // tiling.batch) * len(grid.ys)
            feeds = {
                "classic": (
                    runner,
                    {INPUT_NAME: np.zeros((tiling.batch, 3, grid.tile_h, grid.tile_w), np.float32)},
                ),
                "serving": (
                    served,
                    {PIXELS_INPUT: np.zeros((tiling.batch, grid.tile_h, grid.tile_w, 3), np.uint8)},
                ),
            }
            for name, (which, feed) in feeds.items():
                call = lambda w=which, f=feed: w.infer(f)  # noqa: E731
                graph_alone = min(timed(call) for _ in range(args.runs)) * batches
                total = best[name]
                print(
                    f"{name}: {width}x{height} {args.format}, tiles {grid.tile_h}x{grid.tile_w} (overlap "
                    f"{tiling.overlap}, {tiling.batch} per call): pipeline {total:.3f} s = "
                    f"{megapixels / total:.1f} Mpx/s; of which the graph {graph_alone:.3f} s "
                    f"({graph_alone / total:.0%})"
                )
    print(f"serving graph pipeline / classic: {best['serving'] / best['classic']:.2f}x the time")


def timed(call) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
