"""Any image size: overlapping tiles, run in batches, blended back with a smooth window.

Each tile is a `tile` x `tile` crop (smaller where the image is); neighbours share `overlap`
pixels, across which their outputs are cross-faded with a raised-cosine ramp, so no seam shows.
Sides of a tile on the image border get no ramp (nothing to fade into). Tiles are processed one row
of tiles at a time, and only the rows still waiting for the next tile row are kept in float:
working memory is a few tile rows, whatever the height of the scan. Where the whole image fits in
one tile this is exactly `predict`. Torch-free.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from toolkit.errors import InputError
from toolkit.metadata import LINES_OUTPUT
from toolkit.runtime.base import Runner
from toolkit.runtime.pipeline import predict


@dataclass(frozen=True)
class Tiling:
    tile: int = 512  # tile side in pixels
    overlap: int = 64  # pixels shared by neighbouring tiles, cross-faded
    batch: int = 4  # tiles per inference call

    def __post_init__(self) -> None:
        if self.tile < 16 or not 0 <= self.overlap < self.tile // 2 or self.batch < 1:
            raise InputError(
                f"tiling needs tile >= 16, 0 <= overlap < tile/2 and batch >= 1; got tile {self.tile}, "
                f"overlap {self.overlap}, batch {self.batch}"
            )


DEFAULT_TILING = Tiling()


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
    """(tile,) weights: 1 inside, a raised-cosine fade over `overlap` pixels at each inner side."""
    weights = np.ones(tile, np.float32)
    if overlap:
        fade = 0.5 - 0.5 * np.cos(np.pi * (np.arange(overlap, dtype=np.float32) + 0.5) / overlap)
        if fade_start:
            weights[:overlap] = fade
        if fade_end:
            weights[-overlap:] = fade[::-1]
    return weights


def predict_tiled(runner: Runner, image: np.ndarray, tiling: Tiling = DEFAULT_TILING) -> np.ndarray:
    """(H, W) line probability of a (H, W) or (H, W, 3) image of any size."""
    card = runner.card
    if card.output_names != [LINES_OUTPUT]:
        raise InputError(f"model '{card.model}': tiling needs a line output, not {card.output_names}")
    original_height, original_width = image.shape[:2]
    # Mirror the image to the stride first, as `predict` does, so the border pixels see the same
    # context in every tile as in one whole pass; tiles are then whole multiples of the stride.
    image = pad_image_to_stride(image, card.stride)
    height, width = image.shape[:2]
    tile = tiling.tile - tiling.tile % card.stride
    tile_h, tile_w = min(tile, height), min(tile, width)
    if tile_h == height and tile_w == width:
        return predict(runner, [image])[LINES_OUTPUT][0, 0, :original_height, :original_width]
    ys = tile_starts(height, tile_h, tiling.overlap, card.stride)
    xs = tile_starts(width, tile_w, tiling.overlap, card.stride)
    column_weights = [ramp_weights(tile_w, tiling.overlap, i > 0, i < len(xs) - 1) for i in range(len(xs))]
    result = np.empty((height, width), np.float32)
    # rows [top, top + tile_h) of the running sums; rows above `top` are final
    total = np.zeros((tile_h, width), np.float32)
    weight = np.zeros((tile_h, width), np.float32)
    top = 0
    for row, y in enumerate(ys):
        shift = y - top  # rows that no later tile touches: finish them, slide the window down
        if shift:
            result[top:y] = total[:shift] / weight[:shift]
            total = np.concatenate([total[shift:], np.zeros((shift, width), np.float32)])
            weight = np.concatenate([weight[shift:], np.zeros((shift, width), np.float32)])
            top = y
        row_weight = ramp_weights(tile_h, tiling.overlap, row > 0, row < len(ys) - 1)
        for first in range(0, len(xs), tiling.batch):
            chunk = xs[first : first + tiling.batch]
            crops = [image[y : y + tile_h, x : x + tile_w] for x in chunk]
            probabilities = predict(runner, crops)[LINES_OUTPUT][:, 0]  # (n, tile_h, tile_w)
            for index, (x, probability) in enumerate(zip(chunk, probabilities)):
                window = np.outer(row_weight, column_weights[first + index])
                total[:, x : x + tile_w] += probability * window
                weight[:, x : x + tile_w] += window
    result[top:] = total[: height - top] / weight[: height - top]
    return result[:original_height, :original_width]


def pad_image_to_stride(image: np.ndarray, stride: int) -> np.ndarray:
    pad = ((0, -image.shape[0] % stride), (0, -image.shape[1] % stride)) + ((0, 0),) * (image.ndim - 2)
    return np.pad(image, pad, mode="reflect") if any(p[1] for p in pad) else image
