"""Per-image input conditioning: one function that training, evaluation, calibration, verification
and inference all call on a whole image before it is cut into crops or tiles.

- "none": the image as read (the shipped `contour`: a painting's paper is part of the picture).
- "flatten": for sketches. The paper under the drawing is estimated at low resolution (a grey
  closing removes the strokes, a blur smooths what is left) and each channel divided by it, so
  grey, tinted or shadowed paper and uneven light become white; then the ink is stretched so that
  the darkest 0.5 % of the page reaches black (gain at most 8x, so an empty page stays calm). Faint
  2H graphite on grey paper comes out as dark lines on white. It only helps a model trained with it:
  applied in front of a model trained without, it raised line recall on faint pages from 0.81 to 0.99
  and dropped precision to 0.59 (issue 15's probe), so the method is part of the model card, and
  every entry point reads it from there.

Two variants for sketches, measured in docs/training.md (the shipped `unet-light` uses "flatten-neutral"
since 2026-12-04; "flatten" before):
- "flatten-graphite": the stretch read off each pixel's brightest channel, so dark red or blue
  construction pencil no longer holds faint graphite back.
- "flatten-neutral": that, with the paper estimate continued past the page's edge along its own
  slope. The closing that removes the strokes cannot see past the edge, so under a vignette or a
  shadow that darkens toward a corner it estimated the paper there too bright, and the stretch
  turned the corner's paper into dark blotches (a strong stretch more so).

The paper estimate is computed from the whole image and interpolated to each pixel by position, in
bands of rows: tiles of one scan are conditioned alike, a whole-image pass and a tiled one see the
same pixels, and a 10000x8000 scan needs one band of float rows, not a float copy of the scan.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from toolkit.core.errors import InputError

# method -> (the channel reduction the ink stretch is read on, how the paper estimate meets the edge)
FLATTENINGS = {
    "flatten": ("mean", "inside"),
    "flatten-graphite": ("brightest", "inside"),
    "flatten-neutral": ("brightest", "continued"),
}
CONDITIONINGS = ("none", *FLATTENINGS)
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
    (6.9 s of a 10000x8000 scan's 50 s were conditioning on the model's thread, BENCHMARKS.md; about
    1 s since it runs band by band in OpenCV)."""

    method: str | None = None
    # the brightest channel of the page as scanned, where kept (`keep_scan`) for a reading of it
    # (toolkit.runtime.routing.PencilContrast); never passed on to a view, which may be a crop
    scan: np.ndarray | None = None

    def __array_finalize__(self, source: object) -> None:
        self.method = getattr(source, "method", None)


def conditioned(image: np.ndarray, method: str, *, keep_scan: bool = False) -> np.ndarray:
    """`condition(image, method)`, marked as done, so the tiler does not do it again; with `keep_scan`,
    carrying the brightest channel of `image` as it was (`scan_of`)."""
    result = condition(image, method).view(Conditioned)
    result.method = method
    if keep_scan:
        result.scan = getattr(image, "scan", None) if isinstance(image, Conditioned) else brightest(image)
    return result


def scan_of(image: np.ndarray) -> np.ndarray:
    """The page as scanned: `image` itself, or the scan a conditioned one kept (`keep_scan`)."""
    if not isinstance(image, Conditioned):
        return image
    if image.scan is None:
        raise ValueError("a conditioned page without its scan kept: condition it with keep_scan=True")
    return image.scan


def brightest(image: np.ndarray) -> np.ndarray:
    """(H, W): each pixel's brightest channel (a grey image as it is, not copied)."""
    if image.ndim == 2:
        return image
    # OpenCV splits the channels in one pass and takes their maximum with SIMD: a reading's strip of a
    # 1024 px RGB page 0.13 against 0.8 ms channel by channel in numpy (whose max over a last axis
    # of 3 is 20x slower still); a whole page alike (2026-12-06, Intel Xeon, family 6 model 207)
    planes = cv2.split(image)
    result = cv2.max(planes[0], planes[1]) if len(planes) > 1 else planes[0]
    for plane in planes[2:]:
        cv2.max(result, plane, dst=result)
    return result


def condition(image: np.ndarray, method: str) -> np.ndarray:
    """The image as the model sees it: same shape and dtype (uint8, uint16 or float in [0, 1])."""
    if check_conditioning(method) == "none" or getattr(image, "method", None) == method:
        return image
    stretch_on, edge = FLATTENINGS[method]
    return flatten(image, stretch_on=stretch_on, edge=edge)


def flatten(image: np.ndarray, *, stretch_on: str = "mean", edge: str = "inside") -> np.ndarray:
    """Paper to white, then the ink stretched; `stretch_on` ("mean" or "brightest") is the reduction
    over channels that the darkest 0.5 % is read on, `edge` ("inside" or "continued") how the paper
    estimate meets the page's edge (`paper_estimate`)."""
    top = float(np.iinfo(image.dtype).max) if np.issubdtype(image.dtype, np.integer) else 1.0
    height, width = image.shape[:2]
    channels = 1 if image.ndim == 2 else image.shape[2]
    factor = min(1.0, PAPER_GRID / max(height, width))
    small_size = (max(1, round(width * factor)), max(1, round(height * factor)))
    # read at low resolution from the image's own dtype: no float copy of a large scan
    small = cv2.resize(image, small_size, interpolation=cv2.INTER_AREA)
    small = small.reshape(*small_size[::-1], channels).astype(np.float32) / np.float32(top)
    paper = paper_estimate(small, edge).reshape(small.shape)
    # ... and the paper's own level, where most of the page is paper, is white
    paper = np.maximum(paper * np.percentile(small / np.maximum(paper, 1e-3), 75, axis=(0, 1)), 1e-3)
    # the darkest 0.5 % of the flattened page, read at low resolution, sets the stretch
    flat_small = small / paper
    darkness = flat_small.max(axis=2) if stretch_on == "brightest" else flat_small.mean(axis=2)
    darkest = float(np.percentile(darkness, 0.5))
    gain = min(MAX_GAIN, 1.0 / max(1.0 - darkest, 1e-6))
    # out = clip(1 - (1 - min(pixel / paper, 1)) * gain, 0, 1), in the image's units: as the stretch
    # never brightens, min(., 1) is the clip at the top, so it is gain * pixel / paper - (gain - 1),
    # clipped: two OpenCV calls per band (threaded, SIMD; 11x numpy's time on this), the clip and the
    # rounding in OpenCV's saturating conversion back to the image's integer type
    columns = paper_columns(paper, width)  # (small_h, W, C), once
    depth = {np.dtype(np.uint8): cv2.CV_8U, np.dtype(np.uint16): cv2.CV_16U}.get(image.dtype)
    out = np.empty_like(image)
    for first in range(0, height, BAND_ROWS):
        last = min(height, first + BAND_ROWS)
        under = paper_rows(columns, slice(first, last), height).reshape(last - first, -1)
        pixels = image[first:last].reshape(last - first, -1)
        scaled = cv2.divide(pixels, under, scale=float(gain), dtype=cv2.CV_32F)
        offset = float((gain - 1) * top)
        if depth is not None:
            band = cv2.subtract(scaled, offset, dtype=depth)
        else:
            band = np.clip(scaled - offset, 0, top).astype(image.dtype)
        out[first:last] = band.reshape(out[first:last].shape)
    return out


PAPER_CLOSING = 7  # px of the low-resolution image: wider than a stroke there
PAPER_BLUR = 3.0  # sigma, px of the low-resolution image


def paper_estimate(small: np.ndarray, edge: str) -> np.ndarray:
    """The paper under the drawing, at low resolution: a grey closing removes the strokes (darker than
    their surroundings) without following the noise up, and a blur smooths what is left.

    "inside": both read only the image, so near the edge they reach inward alone: under a vignette
    the closing's erosion cannot come back down to the darker edge, and the paper there comes out too
    bright. "continued": the image is first padded by replication (the closing of a ramp is then the
    ramp), and the closed estimate is continued past the edge along its own slope for the blur.
    """
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (PAPER_CLOSING, PAPER_CLOSING))
    if edge == "inside":
        return cv2.GaussianBlur(cv2.morphologyEx(small, cv2.MORPH_CLOSE, kernel), (0, 0), PAPER_BLUR)
    pad = PAPER_CLOSING + math.ceil(3 * PAPER_BLUR)
    padded = cv2.copyMakeBorder(small, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    inner = cv2.morphologyEx(padded, cv2.MORPH_CLOSE, kernel, borderType=cv2.BORDER_REPLICATE)
    inner = inner[pad:-pad, pad:-pad]
    # a point reflection about the edge: edge + (edge - mirrored inside), so a slope carries on
    continued = 2 * cv2.copyMakeBorder(inner, pad, pad, pad, pad, cv2.BORDER_REPLICATE) - cv2.copyMakeBorder(
        inner, pad, pad, pad, pad, cv2.BORDER_REFLECT_101
    )
    return cv2.GaussianBlur(continued, (0, 0), PAPER_BLUR)[pad:-pad, pad:-pad]


def paper_at(paper: np.ndarray, rows: slice, height: int, width: int) -> np.ndarray:
    """(rows, W, C) the low-resolution paper estimate interpolated bilinearly at those rows' pixels,
    by pixel centres, exactly as a whole-image resize would place them (edges replicated)."""
    return paper_rows(paper_columns(paper, width), rows, height)


def paper_rows(columns: np.ndarray, rows: slice, height: int) -> np.ndarray:
    """(rows, W, C): `paper_columns` interpolated down to those rows of an image `height` tall.

    Rows between the same two estimate rows are one blend, `above + weight * (below - above)`, one
    numpy outer product per run of them (a 1024-px page: 2.4 against 9.4 ms a band of 512 rows as
    one OpenCV weighted sum per row; the same numbers within float rounding)."""
    small_h, width, channels = columns.shape
    y0, y1, wy = bilinear_taps(np.arange(rows.start, rows.stop), small_h / height, small_h)
    flat = columns.reshape(small_h, -1)
    under = np.empty((len(y0), width * channels), np.float32)
    starts = np.flatnonzero(np.r_[True, y0[1:] != y0[:-1]])
    for start, stop in zip(starts, np.r_[starts[1:], len(y0)]):
        above, below = flat[y0[start]], flat[y1[start]]
        np.add(above, np.multiply.outer(wy[start:stop], below - above), out=under[start:stop])
    return under.reshape(len(y0), width, channels)


def paper_columns(paper: np.ndarray, width: int) -> np.ndarray:
    """(small_h, W, C): the paper estimate interpolated across to every column: OpenCV's bilinear
    resize of the width alone (its float path weighs exactly; 1.5 against 6.7 ms numpy's gathers at
    1024 px). Not cv2.remap: OpenCV 4.x's remap rounds its interpolation weights to 1/32
    (INTER_BITS), which put the paper up to 1 % off a whole-image resize."""
    columns = cv2.resize(paper, (width, paper.shape[0]), interpolation=cv2.INTER_LINEAR)
    return columns.reshape(paper.shape[0], width, paper.shape[2])


def bilinear_taps(pixels: np.ndarray, scale: float, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For output pixels: the two source indices each reads and the weight of the second, by pixel
    centres ((i + 0.5) * scale - 0.5), clamped to the source as OpenCV's resize clamps."""
    position = np.clip((pixels.astype(np.float32) + 0.5) * np.float32(scale) - 0.5, 0, size - 1)
    first = np.floor(position).astype(np.intp)
    return first, np.minimum(first + 1, size - 1), (position - first).astype(np.float32)
