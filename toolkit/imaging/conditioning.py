"""Per-image input conditioning: one function that training, evaluation, calibration, verification
and inference all call on a whole image before it is cut into crops or tiles.

- "none": the image as read (every model shipped so far).
- "flatten": for sketches. The paper under the drawing is estimated at low resolution (a grey
  closing removes the strokes, a blur smooths what is left) and each channel divided by it, so
  grey, tinted or shadowed paper and uneven light become white; then the ink is stretched so that
  the darkest 0.5 % of the page reaches black (gain at most 8x, so an empty page stays calm). Faint
  2H graphite on grey paper comes out as dark lines on white. It only helps a model trained with it:
  applied in front of a model trained without, it raised line recall on faint pages from 0.81 to 0.99
  and dropped precision to 0.59 (issue 15's probe), so the method is part of the model card, and
  every entry point reads it from there.

The paper estimate is computed from the whole image and interpolated to each pixel by position, in
bands of rows: tiles of one scan are conditioned alike, a whole-image pass and a tiled one see the
same pixels, and a 10000x8000 scan needs one band of float rows, not a float copy of the scan.
"""

from __future__ import annotations

import cv2
import numpy as np

from toolkit.core.errors import InputError

CONDITIONINGS = ("none", "flatten")
PAPER_GRID = 128  # long side of the low-resolution paper estimate, px
MAX_GAIN = 8.0  # the ink stretch never amplifies by more (an empty page is mostly noise)
BAND_ROWS = 512


def check_conditioning(method: str) -> str:
    if method not in CONDITIONINGS:
        raise InputError(f"unknown input conditioning '{method}': choose one of {', '.join(CONDITIONINGS)}")
    return method


class Conditioned(np.ndarray):
    """An image `condition` has already been applied to, by `method`: conditioning it again is a no-op.
    `toolkit infer` conditions each scan in its reader thread, while the model runs the previous one
    (6.9 s of a 10000x8000 scan's 50 s were conditioning on the model's thread, BENCHMARKS.md)."""

    method: str | None = None

    def __array_finalize__(self, source: object) -> None:
        self.method = getattr(source, "method", None)


def conditioned(image: np.ndarray, method: str) -> np.ndarray:
    """`condition(image, method)`, marked as done, so the tiler does not do it again."""
    result = condition(image, method).view(Conditioned)
    result.method = method
    return result


def condition(image: np.ndarray, method: str) -> np.ndarray:
    """The image as the model sees it: same shape and dtype (uint8, uint16 or float in [0, 1])."""
    if check_conditioning(method) == "none" or getattr(image, "method", None) == method:
        return image
    return flatten(image)


def as_unit_float(image: np.ndarray) -> tuple[np.ndarray, float]:
    """(H, W, C) float32 in [0, 1] and the scale back to the image's dtype."""
    top = float(np.iinfo(image.dtype).max) if np.issubdtype(image.dtype, np.integer) else 1.0
    pixels = image.reshape(*image.shape[:2], -1).astype(np.float32)
    return pixels / top, top


def flatten(image: np.ndarray) -> np.ndarray:
    pixels, top = as_unit_float(image)
    height, width, channels = pixels.shape
    factor = min(1.0, PAPER_GRID / max(height, width))
    small_size = (max(1, round(width * factor)), max(1, round(height * factor)))
    small = cv2.resize(pixels, small_size, interpolation=cv2.INTER_AREA).reshape(*small_size[::-1], channels)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))
    # a closing removes strokes (darker than their surroundings) without following the noise up
    paper = cv2.GaussianBlur(cv2.morphologyEx(small, cv2.MORPH_CLOSE, kernel), (0, 0), 3.0).reshape(
        small.shape
    )
    # ... and the paper's own level, where most of the page is paper, is white
    paper = np.maximum(paper * np.percentile(small / np.maximum(paper, 1e-3), 75, axis=(0, 1)), 1e-3)
    # the darkest 0.5 % of the flattened page, read at low resolution, sets the stretch
    darkest = float(np.percentile((small / paper).mean(axis=2), 0.5))
    gain = min(MAX_GAIN, 1.0 / max(1.0 - darkest, 1e-6))
    out = np.empty_like(image)
    for top_row in range(0, height, BAND_ROWS):
        rows = slice(top_row, min(height, top_row + BAND_ROWS))
        under = paper_at(paper, rows, height, width)
        flat = np.minimum(pixels[rows] / under, 1.0)
        stretched = np.clip(1.0 - (1.0 - flat) * gain, 0.0, 1.0)
        band = stretched if image.ndim == 3 else stretched[..., 0]
        out[rows] = np.round(band * top).astype(image.dtype) if top > 1 else band
    return out


def paper_at(paper: np.ndarray, rows: slice, height: int, width: int) -> np.ndarray:
    """(rows, W, C) the low-resolution paper estimate interpolated bilinearly at those rows' pixels,
    by pixel centres, exactly as a whole-image resize would place them (edges replicated).

    In numpy, separably, not with cv2.remap: OpenCV 4.x's remap rounds its interpolation weights to
    1/32 (INTER_BITS), which put the paper up to 1 % off a whole-image resize; OpenCV 5 does not.
    The same conditioning on every OpenCV the package allows (>= 4.8).
    """
    small_h, small_w = paper.shape[:2]
    y0, y1, wy = bilinear_taps(np.arange(rows.start, rows.stop), small_h / height, small_h)
    x0, x1, wx = bilinear_taps(np.arange(width), small_w / width, small_w)
    lines = paper[y0] * (1 - wy)[:, None, None] + paper[y1] * wy[:, None, None]  # (rows, small_w, C)
    return lines[:, x0] * (1 - wx)[None, :, None] + lines[:, x1] * wx[None, :, None]


def bilinear_taps(pixels: np.ndarray, scale: float, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For output pixels: the two source indices each reads and the weight of the second, by pixel
    centres ((i + 0.5) * scale - 0.5), clamped to the source as OpenCV's resize clamps."""
    position = np.clip((pixels.astype(np.float32) + 0.5) * np.float32(scale) - 0.5, 0, size - 1)
    first = np.floor(position).astype(np.intp)
    return first, np.minimum(first + 1, size - 1), (position - first).astype(np.float32)
