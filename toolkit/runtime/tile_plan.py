"""A tile plan from a memory budget: the largest tile a model may run within it, and the fewest equal,
stride-aligned tiles that cover an image with it (`toolkit infer --memory MB`). Torch-free.

A model's working memory grows with the pixels it runs: every tensor inside the graph is (C, H/s, W/s)
at its own stride s. Their float32 sizes summed per input pixel, read once from the ONNX graph by
shape inference at a fixed size, are the bytes one more input pixel costs; the budget, less the
weights, over that is the largest tile. The sum bounds what ONNX Runtime holds at once from above (its
memory planner reuses buffers), so a plan never runs over its budget on the model's account; images
that fit run whole, as one `predict`.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

from toolkit.core.errors import UsageError
from toolkit.runtime.base import Runner

PROBE_SIDE = 256  # the size shape inference is run at; every tensor scales with the pixels
MIN_TILE = 64  # a budget that does not allow a tile this large is refused
# The budget `toolkit infer`, `toolkit bench` and `LineModel` plan with unless told otherwise: it leaves
# room for the scan and the rest on a Jetson Orin Nano (8 GB shared with the GPU) or a small VM, and
# runs pages up to 0.74 MP (unet-light) and 1.27 MP (contour) in one pass.
DEFAULT_MEMORY_MB = 1024


@functools.cache
def activation_bytes_per_pixel(graph: Path, modified: float) -> tuple[float, int]:
    """(float32 bytes of all tensors per input pixel, bytes of the weights) of an ONNX graph."""
    import onnx

    model = onnx.load(graph)
    for dim, value in zip(model.graph.input[0].type.tensor_type.shape.dim, (1, None, PROBE_SIDE, PROBE_SIDE)):
        if value is not None:
            dim.ClearField("dim_param")
            dim.dim_value = value
    inferred = onnx.shape_inference.infer_shapes(model)
    elements = 0
    for value_info in [*inferred.graph.input, *inferred.graph.value_info, *inferred.graph.output]:
        dims = [d.dim_value for d in value_info.type.tensor_type.shape.dim]
        if dims and all(dims):
            elements += math.prod(dims)
    weights = sum(math.prod(tensor.dims) * 4 for tensor in model.graph.initializer)
    return 4 * elements / PROBE_SIDE**2, weights


def tile_pixels_within(memory_mb: int, runner: Runner) -> int | None:
    """The most pixels a tile of `runner`'s model may have within `memory_mb`; None where the model is
    not a graph file (the PyTorch reference: its fixed tiles stay)."""
    if runner.graph is None or runner.graph.suffix != ".onnx":
        return None
    per_pixel, weights = activation_bytes_per_pixel(runner.graph, runner.graph.stat().st_mtime)
    pixels = int((memory_mb * 2**20 - weights) / per_pixel)
    if pixels < MIN_TILE**2:
        need = math.ceil((MIN_TILE**2 * per_pixel + weights) / 2**20)
        raise UsageError(
            f"--memory {memory_mb}: {runner.card.model} needs {need} MB for even a {MIN_TILE} px tile"
        )
    return pixels


def fewest_tiles(height: int, width: int, stride: int, overlap: int, max_pixels: int) -> tuple[int, int]:
    """(tile height, tile width): the fewest equal tiles of at most `max_pixels` that cover a padded
    `height` x `width` image with `overlap` between neighbours, both sides multiples of `stride`;
    the whole image where it fits. Of plans with as many tiles, the squarest."""
    if height * width <= max_pixels:
        return height, width
    best: tuple[tuple[int, int], int, int] | None = None
    for rows in range(1, height // stride + 1):
        tile_h = equal_side(height, rows, overlap, stride)
        widest = max_pixels // tile_h // stride * stride
        if widest <= 2 * overlap:
            if tile_h <= 2 * overlap:
                break  # more rows only make tiles flatter
            continue
        columns = 1 if widest >= width else math.ceil((width - overlap) / (widest - overlap))
        tile_w = equal_side(width, columns, overlap, stride)
        key = (rows * columns, abs(tile_h - tile_w))
        if best is None or key < best[0]:
            best = (key, tile_h, tile_w)
        if rows > (best[0][0] if best else rows):
            break  # more rows than the best plan has tiles can only be worse
    if best is None:
        raise UsageError(f"no tile of at most {max_pixels} pixels takes an overlap of {overlap}")
    return best[1], best[2]


def equal_side(length: int, count: int, overlap: int, stride: int) -> int:
    """The side of `count` equal tiles covering `length` with `overlap` between each, on the stride."""
    side = math.ceil((length + (count - 1) * overlap) / count)
    return min(length, side + -side % stride)
