"""A tile plan from a memory budget: the largest tile a model may run within it, and the fewest equal,
stride-aligned tiles that cover an image with it (`toolkit infer --memory MB`). Torch-free.

A model's working memory grows with the pixels it runs: every tensor inside the graph is (C, H/s, W/s)
at its own stride s. The graph is walked in its order once, at a fixed size by shape inference, each
tensor alive from the node that makes it to the last node that reads it: the most float32 bytes alive
at once, per input pixel, times what ONNX Runtime holds beyond them (`RUNTIME_OVERHEAD`, measured), is
what one more input pixel costs. The budget, less the weights, over that is the largest tile; images
that fit run whole, as one `predict`.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import TYPE_CHECKING

from toolkit.core.errors import UsageError
from toolkit.core.machine import available_memory_mb
from toolkit.runtime.base import Runner

if TYPE_CHECKING:
    import onnx

PROBE_SIDE = 256  # the size shape inference is run at; every tensor scales with the pixels
MIN_TILE = 64  # a budget that does not allow a tile this large is refused
# ONNX Runtime's CPU provider held 1.9-2.5x the live float32 bytes (peak RSS over 4 passes at
# 1024x1024, memory pattern off as OnnxRuntimeRunner sets it, every shipped graph, onnxruntime 1.31,
# 2026-12-03: unet-light 529 bytes per pixel against 213 alive, its INT8 CPU form 360 against 192,
# contour 400 against 175); FP16 and INT8 graphs count as float32, as the CPU provider runs much of
# them so. Summing every tensor instead, as this did before, overstated the need 2.7x (unet-light) to
# 9x (INT8 graphs): tiles were far too small.
RUNTIME_OVERHEAD = 2.75
# The budget `toolkit infer`, `toolkit bench` and `LineModel` plan with unless told otherwise: a quarter
# of the memory available at start-up, in steps of 256 MB, between 512 MB and 4 GB (1024 MB where the
# machine does not say). 1 GB on a Jetson Orin Nano (8 GB shared with the GPU, about 5 GB
# free), 512 MB on a small VM, 4 GB on a workstation, which runs a 10000x8000 scan in about 16 tiles
# instead of 90: at 1024 MB the overlap alone cost 12 % of the model's time there, and 85 % of the
# model's own speed end to end was out of reach (BENCHMARKS.md). 1024 MB runs pages up to 1.8 MP
# (unet-light) in one pass, 4 GB about 8 MP.
DEFAULT_MEMORY_SHARE = 0.25
DEFAULT_MEMORY_RANGE_MB = (512, 4096)
FALLBACK_MEMORY_MB = 1024
MEMORY_STEP_MB = 256


def default_memory_mb(available_mb: int | None) -> int:
    """The default budget for a machine with `available_mb` free (`machine.available_memory_mb()`)."""
    if available_mb is None:
        return FALLBACK_MEMORY_MB
    low, high = DEFAULT_MEMORY_RANGE_MB
    share = int(available_mb * DEFAULT_MEMORY_SHARE) // MEMORY_STEP_MB * MEMORY_STEP_MB
    return min(high, max(low, share))


DEFAULT_MEMORY_MB = default_memory_mb(available_memory_mb())  # this machine's, read once at start-up


@functools.cache
def activation_bytes_per_pixel(graph: Path, modified: float) -> tuple[float, int]:
    """(bytes the runtime holds per input pixel, bytes of the weights) of an ONNX graph."""
    import onnx

    model = onnx.load(graph)
    for dim, value in zip(model.graph.input[0].type.tensor_type.shape.dim, (1, None, PROBE_SIDE, PROBE_SIDE)):
        if value is not None:
            dim.ClearField("dim_param")
            dim.dim_value = value
    inferred = onnx.shape_inference.infer_shapes(model)
    sizes = {}  # float32 bytes of every tensor whose shape is known at the probe size
    for value_info in [*inferred.graph.input, *inferred.graph.value_info, *inferred.graph.output]:
        dims = [d.dim_value for d in value_info.type.tensor_type.shape.dim]
        if dims and all(dims):
            sizes[value_info.name] = 4 * math.prod(dims)
    weights = sum(math.prod(tensor.dims) * 4 for tensor in model.graph.initializer)
    return RUNTIME_OVERHEAD * most_alive(inferred.graph, sizes) / PROBE_SIDE**2, weights


def most_alive(graph: onnx.GraphProto, sizes: dict[str, int]) -> int:
    """The most bytes of tensors alive at once as `graph`'s nodes run in order: a tensor lives from
    the node that makes it (or the graph's input) to the last node that reads it (or the output)."""
    nodes = list(graph.node)
    last_read = {name: step for step, node in enumerate(nodes) for name in node.input}
    last_read |= {output.name: len(nodes) for output in graph.output}
    alive = sum(sizes.get(value.name, 0) for value in graph.input)
    most = alive
    for step, node in enumerate(nodes):
        alive += sum(sizes.get(name, 0) for name in node.output)
        most = max(most, alive)
        alive -= sum(sizes.get(name, 0) for name in set(node.input) if last_read.get(name) == step)
    return most


def tile_pixels_within(memory_mb: int, runner: Runner, *, held_bytes: int = 0) -> int | None:
    """The most pixels a tile of `runner`'s model may have within `memory_mb`, after `held_bytes` (what
    the caller holds while the tiles run: the scan, its picture) are paid from it; None where the model
    is not a graph file (the PyTorch reference: its fixed tiles stay)."""
    if runner.graph is None or runner.graph.suffix != ".onnx":
        return None
    per_pixel, weights = activation_bytes_per_pixel(runner.graph, runner.graph.stat().st_mtime)
    pixels = int((memory_mb * 2**20 - weights - held_bytes) / per_pixel)
    if pixels < MIN_TILE**2:
        need = math.ceil((MIN_TILE**2 * per_pixel + weights + held_bytes) / 2**20)
        held_mb = math.ceil(held_bytes / 2**20)
        scan = f", {held_mb} MB of it for the scan and its picture" if held_bytes else ""
        raise UsageError(
            f"--memory {memory_mb}: {runner.card.model} needs {need} MB for even a {MIN_TILE} px tile{scan}"
        )
    return pixels


def row_pixels(runner: Runner, row_bytes: float) -> float:
    """`row_bytes` (what each input row of a tile's height costs beside the model: blending buffers as
    wide as the scan) in tile pixels of `runner`'s model."""
    if runner.graph is None or runner.graph.suffix != ".onnx":
        return 0.0
    return row_bytes / activation_bytes_per_pixel(runner.graph, runner.graph.stat().st_mtime)[0]


def cheapest_tiles(
    height: int, width: int, stride: int, overlap: int, max_pixels: int, per_row: float = 0.0
) -> tuple[int, int]:
    """(tile height, tile width): equal tiles that cover a padded `height` x `width` image with
    `overlap` between neighbours, both sides multiples of `stride`, chosen so the model runs the fewest
    pixels (the overlap costs the least); of plans as costly, the fewest tiles. A tile may have
    `max_pixels`, less `per_row` for each of its rows (buffers as wide as the image that a taller tile
    makes taller). The whole image where it fits."""
    if height * width <= max_pixels:
        return height, width
    best: tuple[tuple[int, int], int, int] | None = None
    for rows in range(1, height // stride + 1):
        if best and (height + (rows - 1) * overlap) * width >= best[0][0]:
            break  # the overlap of this many rows alone costs more than the best plan
        tile_h = equal_side(height, rows, overlap, stride)
        if tile_h < height and tile_h <= 2 * overlap:
            break  # no room left between the fades; more rows only make tiles flatter
        widest = int((max_pixels - per_row * tile_h) // tile_h) // stride * stride
        if widest < width and widest <= 2 * overlap:
            continue
        columns = 1 if widest >= width else math.ceil((width - overlap) / (widest - overlap))
        tile_w = equal_side(width, columns, overlap, stride)
        key = (rows * columns * tile_h * tile_w, rows * columns)
        if best is None or key < best[0]:
            best = (key, tile_h, tile_w)
    if best is None:
        raise UsageError(
            f"no tile of at most {max_pixels} pixels ({per_row:.0f} of them per row) takes an "
            f"overlap of {overlap}"
        )
    return best[1], best[2]


def equal_side(length: int, count: int, overlap: int, stride: int) -> int:
    """The side of `count` equal tiles covering `length` with `overlap` between each, on the stride."""
    side = math.ceil((length + (count - 1) * overlap) / count)
    return min(length, side + -side % stride)
