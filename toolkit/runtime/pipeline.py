"""Images in, model outputs out, for one batch of same-sized images: normalise, pad to the stride,
run, crop back (toolkit.imaging.model_input makes the arrays every backend gets). A serving graph
does all of that itself: it is given the pixels (toolkit.export.serving)."""

from __future__ import annotations

import numpy as np

from toolkit.core.errors import InputError
from toolkit.imaging.model_input import pad_to_stride, to_model_input, to_pixels
from toolkit.runtime.base import Runner


def predict(
    runner: Runner,
    images: list[np.ndarray],
    *,
    into: np.ndarray | None = None,
    planes: list[np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Run same-sized images as one batch; each output cropped to the images' size over its stride.

    `into`, a float32 (N >= len(images), C, H, W) array, takes the normalised batch instead of a fresh
    one, and `planes` the channels of each 8-bit RGB image on the way (`to_model_input`): the tiler
    hands the same ones in for every tile (a 9 MP RGB tile's are 110 and 27 MB)."""
    sizes = {image.shape[:2] for image in images}
    if len(sizes) != 1:
        raise InputError(f"one batch needs images of one size, got {sorted(sizes)}")
    (height, width), card = sizes.pop(), runner.card
    if card.takes_pixels:
        feed = np.stack([to_pixels(image, card) for image in images])
        outputs = runner.infer({card.input_name: feed})
        return {name: np.moveaxis(output, 3, 1) for name, output in outputs.items()}  # NHWC -> NCHW view
    shape = (len(images), card.input_channels, height, width)
    if into is not None and (into.dtype != np.float32 or into.shape[1:] != shape[1:] or len(into) < shape[0]):
        raise InputError(f"predict: a {shape} batch does not fit into a {into.dtype} {into.shape} array")
    batch = into[: len(images)] if into is not None else np.empty(shape, np.float32)
    for slot, image in zip(batch, images):
        to_model_input(image, card, out=slot, planes=planes)
    outputs = runner.infer({card.input_name: pad_to_stride(batch, card.stride)})
    cropped = {}
    for info in card.outputs:
        out_h, out_w = -(-height // info.stride), -(-width // info.stride)  # ceil division
        cropped[info.name] = outputs[info.name][:, :, :out_h, :out_w]
    return cropped
