"""Deterministic test images: pencil-like sketches (gray) and painting-like scans (RGB).

`toolkit verify` feeds these when the user gives no folder, so that verification covers the model's
domain in both channel counts (`other_channels`) and sizes that are not multiples of the network
stride on any machine. They are made by our own code from a seed (nothing is downloaded). Torch-free.
"""

from __future__ import annotations

import cv2
import numpy as np


def random_strokes(rng: np.random.Generator, height: int, width: int, count: int) -> list[np.ndarray]:
    """Smooth open curves (quadratic Bezier) as int32 point arrays, spread over the canvas."""
    t = np.linspace(0.0, 1.0, 24)[:, None]
    strokes = []
    for _ in range(count):
        p0, p1, p2 = rng.uniform((0, 0), (width, height), size=(3, 2))
        curve = (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t**2 * p2
        strokes.append(np.round(curve).astype(np.int32))
    return strokes


def sketch(height: int, width: int, seed: int) -> np.ndarray:
    """(H, W) uint8: rough pencil strokes drawn two or three times with jitter, on textured paper."""
    rng = np.random.default_rng(seed)
    paper = rng.normal(238.0, 6.0, size=(height, width)).astype(np.float32)
    ink = np.zeros((height, width), np.float32)
    for stroke in random_strokes(rng, height, width, count=max(3, height * width // 12000)):
        for _ in range(int(rng.integers(2, 4))):
            jitter = rng.normal(0.0, 1.2, size=stroke.shape).round().astype(np.int32)
            strength = float(rng.uniform(0.4, 0.9))
            layer = np.zeros_like(ink)
            cv2.polylines(layer, [stroke + jitter], False, strength, int(rng.integers(1, 3)), cv2.LINE_AA)
            ink = np.maximum(ink, layer)
    # uneven scan lighting: a horizontal ramp
    light = np.linspace(1.0, 0.92, width, dtype=np.float32)[None, :]
    image = paper * light * (1.0 - 0.8 * ink)
    return np.clip(image, 0, 255).astype(np.uint8)


def painting(height: int, width: int, seed: int) -> np.ndarray:
    """(H, W, 3) uint8 RGB: flat colour regions with dark ink outlines on yellowed cloth."""
    rng = np.random.default_rng(seed)
    image = np.empty((height, width, 3), np.float32)
    image[:] = (224, 206, 170)  # yellowed cotton ground
    for _ in range(max(4, height * width // 20000)):
        center = rng.uniform((0, 0), (width, height)).astype(np.int32)
        axes = rng.uniform(8, max(9, min(height, width) / 3), size=2).astype(np.int32)
        colour = rng.uniform(40, 230, size=3).tolist()
        angle = float(rng.uniform(0, 180))
        cv2.ellipse(image, tuple(center.tolist()), tuple(axes.tolist()), angle, 0, 360, colour, -1)
        cv2.ellipse(image, tuple(center.tolist()), tuple(axes.tolist()), angle, 0, 360, (25, 20, 15), 2)
    for stroke in random_strokes(rng, height, width, count=4):
        cv2.polylines(image, [stroke], False, (25, 20, 15), 2, cv2.LINE_AA)
    image += rng.normal(0.0, 5.0, size=image.shape).astype(np.float32)  # cloth texture and grain
    return np.clip(image, 0, 255).astype(np.uint8)


def other_channels(image: np.ndarray) -> np.ndarray:
    """Gray as RGB (a pencil sketch scanned in colour); RGB as gray (a painting scanned in gray)."""
    if image.ndim == 2:
        return np.repeat(image[:, :, None], 3, axis=2)
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
