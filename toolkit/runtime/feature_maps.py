"""Feature maps as pictures: one channel's activation stretched into ink, and the files channels go to.

Shared by `toolkit features` (browsing, ranking) and `toolkit infer` on a graph exported with
`--features` (every selected channel of every image, at the image's size), so that a channel looks
the same wherever it is drawn. Torch-free.
"""

from __future__ import annotations

import cv2
import numpy as np

from toolkit.runtime.base import Runner
from toolkit.runtime.pipeline import predict

# An activation's range for display: a few hot pixels (ReLU maps are heavy-tailed) do not wash out
# the rest, and a weak but clean channel still shows.
LOW_PERCENTILE, HIGH_PERCENTILE = 1.0, 99.5


def ink_levels(feature: np.ndarray, size: tuple[int, int] | None = None) -> tuple[np.ndarray, int]:
    """(h, w) activation -> uint8 ink (255 = strong) from its 1st to 99.5th percentile, resized to
    `size` (width, height) if given; and where the map's mean falls on that scale: the level above
    which it counts as a line, as `toolkit verify` binarises feature maps ("above its own mean")."""
    feature = feature.astype(np.float32, copy=False)
    low, high = np.percentile(feature, [LOW_PERCENTILE, HIGH_PERCENTILE])
    if high <= low:  # a constant (dead) channel: no ink anywhere
        levels, threshold = np.zeros(feature.shape, np.uint8), 256
    else:
        levels = np.round(np.clip((feature - low) / (high - low), 0, 1) * 255).astype(np.uint8)
        threshold = int(np.clip(np.round((feature.mean() - low) / (high - low) * 255), 0, 255))
    if size is not None and size != levels.shape[::-1]:
        # uint8 at full size, not float: a 10000x8000 channel is 80 MB instead of 320
        shrink = size[0] < levels.shape[1]
        levels = cv2.resize(levels, size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    return levels, threshold


def channel_file(name: str, layer: str, channel: int) -> str:
    """Where one channel of an image goes, without suffix: 'painting-0-conv1-c21'."""
    return f"{name}-{layer}-c{channel}"


def channel_numbers(runner: Runner) -> dict[str, list[int]]:
    """Each feature output's channel numbers in the layer: the exported selection, or for an output
    exported whole, all of them (counted on one small image; the card records only the selection)."""
    outputs = runner.card.outputs
    counts: dict[str, int] = {}
    if any(info.channels is None for info in outputs):
        # any size the backend takes: an engine surely takes its profile's largest input
        height, width = runner.max_input[1:] if runner.max_input else (8 * runner.card.stride,) * 2
        probe = predict(runner, [np.full((height, width), 255, np.uint8)])  # gray; RGB graphs take it too
        counts = {name: output.shape[1] for name, output in probe.items()}
    return {info.name: info.channels or list(range(counts[info.name])) for info in outputs}
