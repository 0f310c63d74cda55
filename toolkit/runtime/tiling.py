"""Any image size: overlapping tiles, run in batches, blended back with a smooth window.

Each tile is a `tile` x `tile` crop (smaller where the image is); neighbours share `overlap`
pixels. In that band a tile's outermost pixels are its least right (their receptive field ran into
the tile's mirrored edge instead of the neighbour's pixels), so the outer quarter of the band is taken
from the neighbour alone and the outputs are cross-faded with a raised cosine across the middle half:
no seam shows, and once the overlap exceeds the model's context the result is the whole pass.
Sides of a tile on the image border get no ramp (nothing to fade into). Tiles are processed one row
of tiles at a time, and only the rows still waiting for the next tile row are kept in float:
working memory is a few tile rows, whatever the height of the scan. Where the whole image fits in
one tile this is exactly `predict`. Torch-free.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from toolkit.core.errors import InputError, UsageError
from toolkit.core.metadata import LINES_OUTPUT
from toolkit.imaging.conditioning import condition, conditioned, scan_of
from toolkit.runtime.base import Runner
from toolkit.runtime.pipeline import predict
from toolkit.runtime.routing import PROBE_CONTEXT, PROBE_SPAN, Router, probe_windows, reading_bytes
from toolkit.runtime.tile_plan import DEFAULT_MEMORY_MB, cheapest_tiles, row_pixels, tile_pixels_within


@dataclass(frozen=True)
class Tiling:
    tile: int = 512  # tile side in pixels
    overlap: int = 64  # pixels shared by neighbouring tiles, cross-faded
    batch: int = 4  # tiles per inference call
    # A memory budget instead of a tile side (`--memory`): the image is cut into as few equal tiles
    # as the model's activations allow in it, and runs whole where it fits (toolkit.runtime.tile_plan).
    memory_mb: int | None = None
    max_tile_pixels: int | None = None  # what `memory_mb` allows for this model (set by `fitted`)
    row_pixels: float = 0.0  # of those, what each row of a tile's height costs in blending buffers
    # what the caller holds beside the scan while its tiles run, paid from `memory_mb` too (toolkit
    # infer: the scans it reads ahead, a picture still being written)
    beside_bytes: int = 0

    def __post_init__(self) -> None:
        if self.tile < 16 or not 0 <= self.overlap < self.tile // 2 or self.batch < 1:
            raise UsageError(
                f"tiling needs tile >= 16, 0 <= overlap < tile/2 and batch >= 1; got tile {self.tile}, "
                f"overlap {self.overlap}, batch {self.batch}"
            )
        if self.memory_mb is not None and self.memory_mb < 16:
            raise UsageError(f"--memory must be at least 16 (MB), not {self.memory_mb}")


DEFAULT_TILING = Tiling()  # fixed tiles of 512 px (`--tile 512`; calibration crops)
PLANNED_TILING = Tiling(memory_mb=DEFAULT_MEMORY_MB)  # what infer, bench and LineModel run by default


# Bytes per pixel of a tile row across the scan while tiles are blended, for the one line output: the
# float32 running sum (4) and the uint8 levels an alpha picture is converted through (1); finished rows
# are divided and converted to 8-bit where they lie in the sum (pictures.write_line_image), where a
# float block and two float conversion arrays made it 20 before. The rest (7) is what the host holds
# beside the model and the plan does not itemise: each tile's input and output arrays, the PNG
# encoder's buffers at the end, and ONNX Runtime's arena, which grows in doubling regions, so its
# resident size steps with the tile rather than following it. Counted at 5, a 10000x8000 scan through
# toolkit infer at 1024 MB peaked 6-8 % over (tiles 1200 rows high); at 12, 819-843 MB over the
# program (1056 rows; 2026-12-03, both shipped models, FP32).
BLEND_BYTES = 12


def fitted(tiling: Tiling, runner: Runner, scan: np.ndarray | None = None) -> Tiling:
    """`tiling`, with tiles and tile batches shrunk to what the runner takes (`Runner.max_input`), and
    a memory budget turned into the largest tile this model's activations allow in it: for `scan`,
    once the scan, its 8-bit picture, the blending buffers as wide as it and what the caller holds
    beside it (`beside_bytes`) are paid for."""
    if runner.max_input is None:
        if tiling.memory_mb is None or tiling.max_tile_pixels is not None:
            return tiling
        held = scan.nbytes + scan.shape[0] * scan.shape[1] + tiling.beside_bytes if scan is not None else 0
        per_row = row_pixels(runner, BLEND_BYTES * scan.shape[1]) if scan is not None else 0.0
        # one tile per call: a batch of tiles is as much memory as one tile that large
        pixels = tile_pixels_within(tiling.memory_mb, runner, held_bytes=held)
        return dataclasses.replace(tiling, max_tile_pixels=pixels, row_pixels=per_row, batch=1)
    # an engine's profile is its plan: its largest input is the largest tile
    max_batch, max_h, max_w = runner.max_input
    side = min(tiling.tile, max_h, max_w)
    side -= side % runner.card.stride
    overlap = tiling.overlap if side == tiling.tile else min(tiling.overlap, side // 4)
    return Tiling(side, overlap, min(tiling.batch, max_batch))


def tile_starts(length: int, tile: int, overlap: int, align: int = 1) -> list[int]:
    """Start offsets of tiles of `tile` pixels covering `length`, neighbours sharing >= `overlap`.

    Starts are multiples of `align` (the network's stride, with `length` and `tile` multiples of it
    too): a tile then samples the image on the same pooling grid as one whole pass does.
    """
    if length <= tile:
        return [0]
    step = max(align, (tile - overlap) // align * align)
    starts = list(range(0, length - tile, step))
    return [*starts, length - tile]


def ramp_weights(tile: int, overlap: int, fade_start: bool, fade_end: bool) -> np.ndarray:
    """(tile,) weights: 1 inside; at each inner side, over `overlap` pixels: 0 on the outer quarter, a
    raised cosine up to 1 across the middle half, 1 on the inner quarter.

    A neighbour's ramp is this one mirrored, so across a shared band the two sum to 1.
    """
    weights = np.ones(tile, np.float32)
    if overlap:
        # Against fading over the whole band (measured on the shipped contour model, PSNR against one
        # pass): 256 px tiles, overlap 64-127: worst 68 -> 100 dB; 64 px tiles, overlap 16-31: median
        # 47 -> 51 dB.
        margin = overlap // 4
        width = overlap - 2 * margin
        fade = np.zeros(overlap, np.float32)
        fade[margin : margin + width] = 0.5 - 0.5 * np.cos(
            np.pi * (np.arange(width, dtype=np.float32) + 0.5) / width
        )
        fade[margin + width :] = 1
        if fade_start:
            weights[:overlap] = fade
        if fade_end:
            weights[-overlap:] = fade[::-1]
    return weights


@dataclass(frozen=True)
class TileGrid:
    """Where an image is cut: tile starts on the image mirrored out to the network's stride."""

    ys: list[int]
    xs: list[int]
    tile_h: int
    tile_w: int

    @property
    def whole(self) -> bool:
        """The image fits one tile: it runs whole, as `predict` runs it."""
        return len(self.ys) == 1 and len(self.xs) == 1

    @property
    def padded_w(self) -> int:
        return self.xs[-1] + self.tile_w


def tile_grid(height: int, width: int, stride: int, tiling: Tiling) -> TileGrid:
    # Tiles live on the image mirrored out to the stride, as `predict` pads it, so border pixels see
    # the same context as in one whole pass and every tile is a whole number of strides.
    padded_h, padded_w = height + -height % stride, width + -width % stride
    if tiling.max_tile_pixels is not None:
        tile_h, tile_w = cheapest_tiles(
            padded_h, padded_w, stride, tiling.overlap, tiling.max_tile_pixels, tiling.row_pixels
        )
    else:
        tile = tiling.tile - tiling.tile % stride
        tile_h, tile_w = min(tile, padded_h), min(tile, padded_w)
    ys = tile_starts(padded_h, tile_h, tiling.overlap, stride)
    xs = tile_starts(padded_w, tile_w, tiling.overlap, stride)
    return TileGrid(ys, xs, tile_h, tile_w)


def predict_tiled(runner: Runner, image: np.ndarray, tiling: Tiling = DEFAULT_TILING) -> np.ndarray:
    """(H, W) line probability of a (H, W) or (H, W, 3) image of any size."""
    result = np.empty(image.shape[:2], np.float32)
    for top, rows in tiled_rows(runner, image, tiling):
        result[top : top + len(rows)] = rows
    return result


def tiled_rows(
    runner: Runner, image: np.ndarray, tiling: Tiling = DEFAULT_TILING
) -> Iterator[tuple[int, np.ndarray]]:
    """Finished rows of the line probability, top to bottom: (first row, (n, W) float32 block).

    A caller can turn each block into its output format at once, so no whole-scan float map is held.
    A block is a view into the blending buffer: use it (or overwrite it, as scratch) before asking for
    the next one. Behind a Router the rows may come twice, the second time from the top again: the
    expert's, which replace the first model's (so write each block at its row, as every caller does).
    """
    if isinstance(runner, Router):
        yield from routed_rows(runner, image, tiling)
        return
    card = runner.card
    if card.output_names != [LINES_OUTPUT]:
        raise InputError(f"model '{card.model}': tiling needs a line output, not {card.output_names}")
    for blocks in tiled_outputs(runner, image, tiling):
        top, block = blocks[LINES_OUTPUT]
        yield top, block[0]


def routed_rows(router: Router, image: np.ndarray, tiling: Tiling) -> Iterator[tuple[int, np.ndarray]]:
    """The rows of the model the page's road takes. A large scan (`routing.probe_windows`) is probed:
    the first model runs on windows of it, the route's reading of their lines says the road, and one
    model draws it. Any other page is `tiled_rows` of the first model, reading its lines (at its
    threshold) as they come; where the page is sent on, the expert's rows follow them."""
    # planned for the router, which pays for its models' arena (`Router.held_bytes_per_pixel`); the
    # page is conditioned once, on the whole image, for its windows and its tiles alike
    scan = scan_of(image) if router.reads_scan else image
    kept = getattr(image, "scan", None)
    image = conditioned(image, router.card.conditioning)
    reading = reading_bytes(image.shape[1], readings=len(router.gates) + 1)
    reading += kept.nbytes if kept is not None else 0  # the scan's brightest channel, kept for a reading
    tiling = fitted(dataclasses.replace(tiling, beside_bytes=tiling.beside_bytes + reading), router, image)
    meter = router.meter(image, scan)
    threshold = router.card.threshold
    windows = probe_windows(*image.shape[:2])
    if windows:
        inside = np.s_[PROBE_CONTEXT:-PROBE_CONTEXT, PROBE_CONTEXT:-PROBE_CONTEXT]
        for y, x in windows:
            crop = image[y : y + PROBE_SPAN, x : x + PROBE_SPAN]
            lines = predict(router.base, [crop])[LINES_OUTPUT][0, 0]
            meter.add_region(lines >= threshold, inside, origin=(y, x))
            del lines  # before the next pass (tiled_outputs: an output held keeps the arena growing)
        yield from tiled_rows(router.route(meter.finish()) or router.base, image, tiling)
        return
    for top, rows in tiled_rows(router.base, image, tiling):
        meter.add(rows >= threshold)  # before the caller overwrites the block
        yield top, rows
    expert = router.route(meter.finish())
    if expert is not None:
        yield from tiled_rows(expert, image, tiling)


def predict_tiled_outputs(
    runner: Runner, image: np.ndarray, tiling: Tiling = DEFAULT_TILING
) -> dict[str, np.ndarray]:
    """Every output of one image of any size, (C, h, w) at the output's own stride: what `predict`
    gives for the whole image, assembled from tiles."""
    maps: dict[str, np.ndarray] = {}
    for blocks in tiled_outputs(runner, image, tiling):
        for name, (top, block) in blocks.items():
            if name not in maps:  # the first block tells the channels; the card, the size
                stride = next(info.stride for info in runner.card.outputs if info.name == name)
                height = -(-image.shape[0] // stride)
                maps[name] = np.empty((len(block), height, block.shape[2]), np.float32)
            maps[name][:, top : top + block.shape[1]] = block
    return maps


def tiled_outputs(
    runner: Runner, image: np.ndarray, tiling: Tiling = DEFAULT_TILING
) -> Iterator[dict[str, tuple[int, np.ndarray]]]:
    """Finished rows of every output, top to bottom, each at its own stride: per step, output name ->
    (first row, (C, n, w) float32 block). An output's blocks follow on from each other; each is a
    view, valid until the next step is asked for."""
    card = runner.card
    image = condition(image, card.conditioning)  # on the whole image: its tiles are treated alike
    tiling = fitted(tiling, runner, image)
    height, width = image.shape[:2]
    grid = tile_grid(height, width, card.stride, tiling)
    if grid.whole:
        yield {name: (0, output[0]) for name, output in predict(runner, [image]).items()}
        return
    blends = {info.name: Blend(info.stride, grid, tiling.overlap, height, width) for info in card.outputs}
    # one input array for every tile, and one set of channel planes to split 8-bit RGB into (a
    # serving graph takes the pixels themselves)
    shape = (tiling.batch, card.input_channels, grid.tile_h, grid.tile_w)
    batch = None if card.takes_pixels else np.empty(shape, np.float32)
    rgb8 = image.dtype == np.uint8 and image.ndim == 3 and card.input_channels == 3
    planes = [np.empty(shape[2:], np.uint8) for _ in range(3)] if rgb8 and batch is not None else None
    for row, y in enumerate(grid.ys):
        finished = {name: blend.finish_above(y) for name, blend in blends.items()}
        if any(block.shape[1] for _, block in finished.values()):
            yield finished
        for first in range(0, len(grid.xs), tiling.batch):
            chunk = grid.xs[first : first + tiling.batch]
            crops = [mirrored_crop(image, y, x, grid.tile_h, grid.tile_w) for x in chunk]
            # the outputs die with this statement: ONNX Runtime hands them out in its arena's blocks,
            # and held into the next pass they keep it from reusing them, so it grows by another region
            # (contour's INT8 CPU form on a 13.6 MP tile: 1 GB more, 256 bytes per pixel, not 166)
            blend_tiles(blends, predict(runner, crops, into=batch, planes=planes), row, first)
    yield {name: blend.rest() for name, blend in blends.items()}


def blend_tiles(blends: dict[str, Blend], outputs: dict[str, np.ndarray], row: int, first: int) -> None:
    """Add one batch of tiles' `outputs`, (N, C, tile_h / stride, tile_w / stride) each, to their
    blends: the tiles at columns `first`, `first + 1`, ... of the grid's `row`."""
    for name, blend in blends.items():
        for index, output in enumerate(outputs[name]):
            blend.add(output, row, first + index)


class Blend:
    """The running weighted sums of one output over the tile rows still open, at the output's stride.

    Rows above `top` are final and have been handed out; the window holds one tile's height.
    """

    def __init__(self, stride: int, grid: TileGrid, overlap: int, height: int, width: int) -> None:
        if grid.tile_h % stride or grid.tile_w % stride:
            raise InputError(f"an output at stride {stride} does not fit tiles on the model's stride grid")
        self.stride, self.grid = stride, grid
        self.tile_h, self.tile_w = grid.tile_h // stride, grid.tile_w // stride
        self.height, self.width = -(-height // stride), -(-width // stride)  # as `predict` crops
        self.overlap = overlap // stride
        # The weights of the tile being added, rewritten in place when its sides change: one array,
        # not one per kind of tile (up to 9 of 37 MB for a 9 MP tile), each paying its page faults.
        self.weights = np.empty((self.tile_h, self.tile_w), np.float32)
        self.fades: tuple[bool, ...] | None = None
        self.total: np.ndarray | None = None  # (C, tile_h, padded_w), once C is known
        # Each window is the outer product of a row ramp and a column ramp, so the weights summed over
        # the tiles are the outer product of the summed ramps: two vectors, not a (tile_h, W) array.
        self.row_weight = summed_ramps([y // stride for y in grid.ys], self.tile_h, self.overlap)
        self.column_weight = summed_ramps([x // stride for x in grid.xs], self.tile_w, self.overlap)
        self.top = 0
        self.finished = 0  # rows handed out, still at the top of the window until the next step

    def add(self, output: np.ndarray, row: int, column: int) -> None:
        """Blend in the tile at (`row`, `column`) of the grid; its row must be the open one."""
        if self.total is None:
            self.total = np.zeros((len(output), self.tile_h, len(self.column_weight)), np.float32)
        self.slide()
        x = self.grid.xs[column] // self.stride
        window = self.window(row, column)
        for channel, values in enumerate(output):  # OpenCV adds in place, in one pass (numpy takes 3)
            cv2.accumulateProduct(values, window, self.total[channel, :, x : x + self.tile_w])

    def window(self, row: int, column: int) -> np.ndarray:
        """(tile_h, tile_w) weights of the tile at (`row`, `column`): ramps on the sides it shares."""
        fades = (row > 0, row < len(self.grid.ys) - 1, column > 0, column < len(self.grid.xs) - 1)
        if fades != self.fades:
            rows = ramp_weights(self.tile_h, self.overlap, *fades[:2])
            np.outer(rows, ramp_weights(self.tile_w, self.overlap, *fades[2:]), out=self.weights)
            self.fades = fades
        return self.weights

    def finish_above(self, y: int) -> tuple[int, np.ndarray]:
        """Hand out the rows above input row `y` (where the next tile row starts): a view of the
        running sums, finished in place, valid until the next call on this Blend (which slides them
        out)."""
        self.slide()
        count = y // self.stride - self.top
        self.finished = count
        return self.rows(count)

    def rest(self) -> tuple[int, np.ndarray]:
        """The rows left after the last tile row."""
        self.slide()
        return self.rows(self.height - self.top)

    def slide(self) -> None:
        """Drop the rows handed out last, and move the open rows to the top of the window."""
        shift, self.finished = self.finished, 0
        if shift and self.total is not None:
            self.total[:, :-shift] = self.total[:, shift:]  # only the overlap's rows move
            self.total[:, -shift:] = 0
        self.top += shift

    def rows(self, count: int) -> tuple[int, np.ndarray]:
        if self.total is None:
            return self.top, np.zeros((0, 0, self.width), np.float32)
        # divided in place: the caller converts the block where it lies, so no float copy is made
        block = self.total[:, :count, : self.width]
        block /= self.row_weight[self.top : self.top + count, None]
        block /= self.column_weight[: self.width]
        return self.top, block


def summed_ramps(starts: list[int], tile: int, overlap: int) -> np.ndarray:
    """(starts[-1] + tile,) the ramps of tiles at `starts` along one axis, summed where they overlap."""
    total = np.zeros(starts[-1] + tile, np.float32)
    for index, start in enumerate(starts):
        total[start : start + tile] += ramp_weights(tile, overlap, index > 0, index < len(starts) - 1)
    return total


def mirrored_crop(image: np.ndarray, y: int, x: int, tile_h: int, tile_w: int) -> np.ndarray:
    """image[y:y+tile_h, x:x+tile_w], mirrored past the bottom and right borders where it runs over."""
    crop = image[y : y + tile_h, x : x + tile_w]
    pad = ((0, tile_h - crop.shape[0]), (0, tile_w - crop.shape[1])) + ((0, 0),) * (image.ndim - 2)
    return np.pad(crop, pad, mode="reflect") if pad[0][1] or pad[1][1] else crop
