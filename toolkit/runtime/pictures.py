"""One image into its line picture, torch-free: the model's probability (or feature maps) drawn as
gray, binary or alpha pixels at the image's size, or traced to SVG. `toolkit infer`, `LineModel`,
calibration and the feature browser all draw through here; the folder job is toolkit.runtime.infer.
"""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np

from toolkit.core.errors import InputError, UsageError
from toolkit.runtime.base import Runner
from toolkit.runtime.feature_maps import ink_levels
from toolkit.runtime.tiling import Tiling, predict_tiled, predict_tiled_outputs, tiled_rows

FORMATS = ("gray", "binary", "alpha", "svg")
PICTURE_CHANNELS = {"alpha": (4,)}  # the others are one gray channel


def line_image(probability: np.ndarray, output_format: str, threshold: float) -> np.ndarray:
    """(H, W) line probability -> uint8 pixels of the output format (a new array; `probability` is
    left as it is).

    gray: black lines on white, darkness = probability; binary (and svg, which is traced from it):
    black where probability >= threshold; alpha: (H, W, 4) black ink whose opacity is the probability.
    """
    picture = np.empty((*probability.shape, *PICTURE_CHANNELS.get(output_format, ())), np.uint8)
    # only the gray and alpha conversions use their input as scratch: a binary picture needs no copy
    scratch = probability if output_format in ("binary", "svg") else probability.copy()
    write_line_image(scratch, picture, output_format, threshold)
    return picture


def write_line_image(
    probability: np.ndarray, picture: np.ndarray, output_format: str, threshold: float
) -> None:
    """`line_image` written into `picture`, with `probability` as scratch: the gray and alpha formats
    overwrite it.

    A tile row of a large scan is converted in its own float buffer straight into the scan's picture,
    so it costs no float copy (toolkit.runtime.tiling.BLEND_BYTES counts what it does cost).
    """
    # OpenCV's threshold and saturating conversion instead of numpy's clip, round and where: the same
    # pixels (round half to even, as np.round), 5x (gray) to 20x (binary) faster; behind a GPU engine
    # this is the pipeline's own time (BENCHMARKS.md, the image pipeline). Strided views are fine.
    if output_format in ("binary", "svg"):
        ink = np.greater_equal(probability, threshold, out=picture.view(np.bool_))
        np.logical_not(ink, out=ink)  # white (1) where no line, NaN included
        picture *= np.uint8(255)
    elif output_format == "alpha":
        picture[..., :3] = 0
        picture[..., 3] = levels_in_place(probability)
    else:
        np.subtract(np.float32(1), probability, out=probability)
        levels_in_place(probability, out=picture)


def levels_in_place(values: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """float32 in [0, 1] -> uint8 round(value * 255), values outside clipped; `values` is overwritten."""
    cv2.threshold(values, 0, 0, cv2.THRESH_TOZERO, dst=values)  # negatives (and NaN) -> 0
    return cv2.convertScaleAbs(values, dst=out, alpha=255)  # rounds half to even, saturates above 255


def blacked(ink: np.ndarray) -> np.ndarray:
    """bool (H, W) -> uint8: 0 (black) where `ink`, 255 elsewhere."""
    return (~ink).view(np.uint8) * np.uint8(255)


def check_scale(scale: float) -> None:
    if not 0.05 <= scale <= 8:
        raise UsageError(f"--scale must lie between 0.05 and 8, not {scale}")


def scaled_size(height: int, width: int, scale: float) -> tuple[int, int]:
    """(height, width) of an image at `scale`, at least one pixel each."""
    return max(1, round(height * scale)), max(1, round(width * scale))


def rescaled(image: np.ndarray, scale: float) -> np.ndarray:
    """The image at `scale`: INTER_AREA to shrink (no aliasing), INTER_CUBIC to enlarge."""
    if scale == 1.0:
        return image
    height, width = scaled_size(*image.shape[:2], scale)
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)


def trace_svg(binary: np.ndarray) -> str:
    """Vector paths around the black lines of a binary line image, traced by VTracer (visioncortex's
    maintained tracer; Rust, with wheels on PyPI): splines, specks under 4 pixels dropped."""
    import vtracer

    ok, png = cv2.imencode(".png", binary)
    if not ok:
        raise InputError("OpenCV could not encode the lines for tracing")
    return vtracer.convert_raw_image_to_svg(
        png.tobytes(), img_format="png", colormode="binary", mode="spline", filter_speckle=4
    )


def draw_lines(
    runner: Runner, image: np.ndarray, *, output_format: str, tiling: Tiling, size: tuple[int, int]
) -> list[np.ndarray]:
    """The line picture at `size` (width, height), converted tile row by tile row where the network
    sees the image at its own size."""
    threshold = runner.card.threshold
    if image.shape[1::-1] == size:
        lines = np.empty((*image.shape[:2], *PICTURE_CHANNELS.get(output_format, ())), np.uint8)
        for top, rows in tiled_rows(runner, image, tiling):  # rows: scratch, until the next step
            write_line_image(rows, lines[top : top + len(rows)], output_format, threshold)
        return [lines]
    return [line_image(probability_at(runner, image, tiling, size), output_format, threshold)]


def probability_at(runner: Runner, image: np.ndarray, tiling: Tiling, size: tuple[int, int]) -> np.ndarray:
    """(H, W) float32 line probability of `image`, resized to `size` (width, height) where the network
    saw it at another scale (--scale)."""
    probability = predict_tiled(runner, image, tiling)
    if probability.shape[::-1] == size:
        return probability
    return cv2.resize(probability, size, interpolation=cv2.INTER_LINEAR)


def draw_feature_maps(
    runner: Runner, image: np.ndarray, *, output_format: str, tiling: Tiling, size: tuple[int, int]
) -> Iterator[np.ndarray]:
    """One picture per channel of every feature output, at `size` (width, height): the model runs here,
    on the caller's thread; each picture is made when the writer takes it.

    The maps are held whole at their own stride (each channel is stretched over the whole image, so
    a tile cannot be finished alone): the selected channels of a scan / stride^2 in float32, e.g.
    80 MB per conv1 channel of a 10000x8000 scan. Binary, alpha and SVG read the stretched map as
    ink, thresholded at the map's own mean, as `toolkit verify` binarises feature maps. Full-size
    pictures are made in uint8: one 10000x8000 picture at a time is 80 MB.
    """
    maps = predict_tiled_outputs(runner, image, tiling)
    return (
        ink_picture(*ink_levels(feature, size), output_format) for fmap in maps.values() for feature in fmap
    )


def ink_picture(ink: np.ndarray, threshold: int, output_format: str) -> np.ndarray:
    """(H, W) uint8 ink (255 = strongest) -> pixels of the output format, drawn as `line_image` draws
    a probability; binary (and svg) black where ink >= `threshold`."""
    if output_format in ("binary", "svg"):
        return blacked(ink >= threshold)
    if output_format == "alpha":
        rgba = np.zeros((*ink.shape, 4), np.uint8)
        rgba[..., 3] = ink
        return rgba
    return 255 - ink
