"""A tile plan from a memory budget: the largest tile a model may run within it, and the fewest equal,
stride-aligned tiles that cover an image with it (`toolkit infer --memory MB`). Torch-free.

A model's working memory grows with the pixels it runs. Where the graph's card records it
(`runtime_memory`, measured when the graph is shipped: `measure_runtime_memory`), that is what ONNX
Runtime held per input pixel running that graph. Otherwise it is estimated: every tensor inside the
graph is (C, H/s, W/s) at its own stride s; the graph is walked in its order once, at a fixed size by
shape inference, each tensor alive from the node that makes it to the last node that reads it, and the
most float32 bytes alive at once, per input pixel, times what ONNX Runtime holds beyond them
(`RUNTIME_OVERHEAD`), is what one more input pixel costs. The budget, less the weights, over that is
the largest tile; images that fit run whole, as one `predict`.
"""

from __future__ import annotations

import datetime
import functools
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolkit.core.errors import UsageError
from toolkit.core.machine import available_memory_mb
from toolkit.core.metadata import RUNTIME_MEMORY_NOTE
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
# Where the card records what the runtime held (`runtime_memory`): the most per pixel over tiles of
# these sides, with a little room. It steps with the tile as ONNX Runtime's arena grows in regions:
# 149-182 bytes per pixel for contour, 432-597 for unet-light over sides of 512-3584 (FP32, onnxruntime
# 1.32, 2026-12-03), so one side alone could be 28 % short of another. The sides reach the tiles the plans
# make (a 10000x8000 scan at 4096 MB: 13.6 MP tiles): measured up to 1536 px only, contour's INT8 CPU
# form recorded 187 bytes and held 207 on one 3584 px tile. (Its 10000x8000 scan then still ran 1.3 %
# over the budget: the tiler held each tile's outputs into the next pass, which made the arena grow by
# another region, 1 GB; it no longer does: tiling.blend_tiles.)
MEASURE_SIDES = (512, 768, 1024, 1280, 1536, 2048, 2560, 3584)
MEASURED_HEADROOM = 1.1
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


def bytes_per_pixel(runner: Runner) -> float:
    """What one more input pixel of a tile costs running `runner`'s graph (measured where its card
    records it, else estimated from the graph's tensors), with what the runner holds beside it."""
    measured = runner.card.extra.get(RUNTIME_MEMORY_NOTE)
    if measured:
        graph = MEASURED_HEADROOM * json.loads(measured)["bytes_per_pixel"]
    else:
        graph = activation_bytes_per_pixel(runner.graph, runner.graph.stat().st_mtime)[0]
    return graph + runner.held_bytes_per_pixel


@functools.cache
def activation_bytes_per_pixel(graph: Path, modified: float) -> tuple[float, int]:
    """(bytes the runtime holds per input pixel, estimated from the tensors, bytes of the weights) of an
    ONNX graph."""
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
    per_pixel = bytes_per_pixel(runner)
    weights = activation_bytes_per_pixel(runner.graph, runner.graph.stat().st_mtime)[1]
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
    return row_bytes / bytes_per_pixel(runner)


# A fresh process loads the graphs, makes one random float tile, and runs it through each in turn: how
# far its peak RSS rises above what was resident before the passes (the weights and the sessions are
# not counted: the plan pays for them apart).
PEAK_GROWTH = """
import sys
from contextlib import ExitStack
import numpy as np
from pathlib import Path
from toolkit.core.machine import process_memory_mb
from toolkit.runtime.onnxruntime_runner import OnnxRuntimeRunner
side, passes, shared = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "shared"
graphs = [Path(arg) for arg in sys.argv[4:]]
with ExitStack() as stack:
    runners = [stack.enter_context(OnnxRuntimeRunner(graph, shared_arena=shared)) for graph in graphs]
    card = runners[0].card
    tile = np.random.default_rng(0).random((1, card.input_channels, side, side), np.float32)
    resident = process_memory_mb()
    for runner in runners:
        for _ in range(passes):
            runner.infer({card.input_name: tile})
    print(process_memory_mb("VmHWM") - resident)
"""


def peak_growth_mb(*graphs: Path, side: int, passes: int = 3, shared_arena: bool = False) -> float:
    """MB by which ONNX Runtime's CPU provider raises a fresh process's peak RSS over `passes` passes
    of one `side` x `side` tile of each of `graphs`, one session after the other, all kept open (as a
    route's models are; Linux); `shared_arena`: all drawing from the process's one arena, as a
    route's do."""
    mode = "shared" if shared_arena else "own"
    done = subprocess.run(
        [sys.executable, "-c", PEAK_GROWTH, str(side), str(passes), mode, *map(str, graphs)],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(done.stdout.split()[-1])


def measure_runtime_memory(graph: Path, *, sides: tuple[int, ...] = MEASURE_SIDES) -> dict[str, Any]:
    """The `runtime_memory` note for `graph`'s card: the most bytes per input pixel ONNX Runtime's CPU
    provider held running square tiles of `sides`."""
    import onnxruntime

    per_pixel = {side: peak_growth_mb(graph, side=side) * 2**20 / side**2 for side in sides}
    return {
        "bytes_per_pixel": round(max(per_pixel.values()), 1),
        "by_side": {str(side): round(value, 1) for side, value in per_pixel.items()},
        "measured": f"peak RSS over 3 passes of each side, onnxruntime {onnxruntime.__version__} CPU",
        "date": datetime.date.today().isoformat(),
    }


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
