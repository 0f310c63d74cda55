"""Images as model inputs: (H, W[, C]) pixels -> (C, H, W) normalised float32, and padding to the stride.

Every backend, the training data and the calibration set get exactly these arrays, which is what lets
`toolkit verify` compare backends and what keeps training and inference alike. Padding mirrors the image
at its border (numpy's 'reflect'), which continues strokes and paper texture instead of drawing an
edge where zero padding would.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

from toolkit.core.metadata import ModelCard


def with_channels(image: np.ndarray, channels: int) -> np.ndarray:
    """(H, W) gray or (H, W, 3) RGB as the model's channels: RGB to gray or gray to RGB where needed.
    (H, W, 1), as a serving request carries gray pixels, is gray."""
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 3 and channels == 1:
        return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    if image.ndim == 2 and channels == 3:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    return image


def to_pixels(image: np.ndarray, card: ModelCard) -> np.ndarray:
    """(H, W[, C]) image -> (H, W, C) pixels of the serving graph's dtype. A float image is scaled by
    the dtype's top and rounded, a uint16 one for a uint8 graph rounded to the nearest level (x / 257)."""
    hwc = with_channels(image, card.input_channels)
    hwc = hwc.reshape(hwc.shape[0], hwc.shape[1], -1)
    if hwc.dtype == card.input_dtype:
        return hwc
    top = np.iinfo(card.input_dtype).max
    if np.issubdtype(hwc.dtype, np.integer):
        unit = hwc.astype(np.float32) / np.float32(np.iinfo(hwc.dtype).max)
    else:
        unit = np.clip(hwc, 0.0, 1.0)
    return np.round(unit * top).astype(card.input_dtype)


def to_model_input(
    image: np.ndarray,
    card: ModelCard,
    out: np.ndarray | None = None,
    *,
    planes: list[np.ndarray] | None = None,
) -> np.ndarray:
    """(H, W) gray or (H, W, 3) RGB, uint8/uint16/float in [0, 1] -> (C, H, W) normalised float32,
    written into `out` when given (a slot of a batch: no stacking copy).

    `planes`, (H, W) uint8 arrays, one per channel, take an 8-bit RGB image's channels on the way: the
    tiler hands the same ones in for every tile, where fresh ones paid their page faults on each (a
    9 MP tile: 50-170 ms against 30-50, split and lookup, 2026-12-03, AMD EPYC, under load)."""
    image = with_channels(image, card.input_channels)
    hwc = image.reshape(image.shape[0], image.shape[1], -1)
    if out is None:
        out = np.empty((hwc.shape[2], *hwc.shape[:2]), np.float32)
    if image.dtype in (np.uint8, np.uint16):
        # one table lookup per channel instead of five float passes and a transpose: the same float32
        # arithmetic, done once per possible value; OpenCV's LUT (8-bit only) is 3x numpy's `take`
        # on a 512 px tile (BENCHMARKS.md: the pipeline alone went from 21-24 to 61-76 Mpx/s)
        table = normalisation_table(card, image.dtype)
        if image.dtype == np.uint8:
            # OpenCV splits the channels in one pass over the pixels (a strided view of a tile too),
            # where a contiguous copy of each channel read them once per channel
            channels = cv2.split(hwc, planes) if hwc.shape[2] > 1 else [image]
            for channel, pixels in enumerate(channels):
                cv2.LUT(pixels, table[channel][None], dst=out[channel])
        else:
            for channel in range(hwc.shape[2]):
                np.take(table[channel], hwc[:, :, channel], out=out[channel])
        return out
    if np.issubdtype(image.dtype, np.integer):
        pixels = hwc.astype(np.float32) / np.iinfo(image.dtype).max
    else:
        pixels = hwc.astype(np.float32)
    mean = np.asarray(card.mean, np.float32)[:, None, None]
    std = np.asarray(card.std, np.float32)[:, None, None]
    out[:] = (pixels.transpose(2, 0, 1) - mean) / std
    return out


@functools.cache
def _normalisation_table(mean: tuple[float, ...], std: tuple[float, ...], dtype: str) -> np.ndarray:
    values = np.arange(np.iinfo(dtype).max + 1, dtype=np.float32) / np.float32(np.iinfo(dtype).max)
    mean_, std_ = np.asarray(mean, np.float32)[:, None], np.asarray(std, np.float32)[:, None]
    return (values[None] - mean_) / std_  # (C, 256 or 65536)


def normalisation_table(card: ModelCard, dtype: np.dtype) -> np.ndarray:
    """(C, levels) float32: the normalised value of every pixel level of `dtype`, per channel."""
    return _normalisation_table(tuple(card.mean), tuple(card.std), np.dtype(dtype).name)


def pad_to_stride(batch: np.ndarray, stride: int) -> np.ndarray:
    """(N, C, H, W) -> (N, C, H', W') with H', W' the next multiples of `stride`, mirrored at the edge."""
    height, width = batch.shape[2:]
    pad_h, pad_w = -height % stride, -width % stride
    if not pad_h and not pad_w:
        return batch
    return np.pad(batch, ((0, 0), (0, 0), (0, pad_h), (0, pad_w)), mode="reflect")
