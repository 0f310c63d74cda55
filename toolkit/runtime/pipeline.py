"""Images in, model outputs out, for any image size: normalise, pad to the stride, run, crop back.

Every backend gets exactly the same arrays from here, which is what lets `toolkit verify` compare
them. Padding mirrors the image at its border (numpy's 'reflect'), which continues strokes and
paper texture instead of drawing an edge where zero padding would.
"""

from __future__ import annotations

import cv2
import numpy as np

from toolkit.errors import InputError
from toolkit.metadata import ModelCard
from toolkit.runtime.base import Runner


def to_model_input(image: np.ndarray, card: ModelCard) -> np.ndarray:
    """(H, W) gray or (H, W, 3) RGB, uint8/uint16/float in [0, 1] -> (C, H, W) normalised float32."""
    if image.ndim == 3 and card.input_channels == 1:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    elif image.ndim == 2 and card.input_channels == 3:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if np.issubdtype(image.dtype, np.integer):
        pixels = image.astype(np.float32) / np.iinfo(image.dtype).max
    else:
        pixels = image.astype(np.float32)
    chw = pixels.reshape(pixels.shape[0], pixels.shape[1], -1).transpose(2, 0, 1)
    mean = np.asarray(card.mean, np.float32)[:, None, None]
    std = np.asarray(card.std, np.float32)[:, None, None]
    return np.ascontiguousarray((chw - mean) / std)


def pad_to_stride(batch: np.ndarray, stride: int) -> np.ndarray:
    """(N, C, H, W) -> (N, C, H', W') with H', W' the next multiples of `stride`, mirrored at the edge."""
    height, width = batch.shape[2:]
    pad_h, pad_w = -height % stride, -width % stride
    if not pad_h and not pad_w:
        return batch
    return np.pad(batch, ((0, 0), (0, 0), (0, pad_h), (0, pad_w)), mode="reflect")


def predict(runner: Runner, images: list[np.ndarray]) -> dict[str, np.ndarray]:
    """Run same-sized images as one batch; each output cropped to the images' size over its stride."""
    sizes = {image.shape[:2] for image in images}
    if len(sizes) != 1:
        raise InputError(f"one batch needs images of one size, got {sorted(sizes)}")
    (height, width), card = sizes.pop(), runner.card
    batch = np.stack([to_model_input(image, card) for image in images])
    outputs = runner.infer({card.input_name: pad_to_stride(batch, card.stride)})
    cropped = {}
    for info in card.outputs:
        out_h, out_w = -(-height // info.stride), -(-width // info.stride)  # ceil division
        cropped[info.name] = outputs[info.name][:, :, :out_h, :out_w]
    return cropped
