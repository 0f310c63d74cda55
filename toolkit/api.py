"""The Python API: line drawings of numpy images, drawn exactly as `toolkit infer` draws files. Torch-free.

    import toolkit

    with toolkit.LineModel("contour") as model:          # a shipped name, an .onnx graph or an .engine
        image = toolkit.read_image("scans/a.tif")         # as `toolkit infer` reads it: RGB, 16-bit kept
        lines = model.lines(image)                        # (H, W) uint8, black lines on white
        probability = model.probability(image)            # (H, W) float32 in [0, 1]

For a pipeline that already holds its images in memory (a DAM hook, a notebook, a render farm job):
any size runs in overlapping tiles, and a picture from here is, pixel for pixel, the one
`toolkit infer` writes with the same model, backend, format, scale and tiling. Errors are
`toolkit.core.errors.InputError`s carrying the CLI's one-line messages.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from toolkit.core.errors import InputError
from toolkit.core.metadata import ModelCard
from toolkit.core.shipped import DEFAULT_MODEL
from toolkit.imaging.imageio import read_image
from toolkit.runtime.backends import make_runner, warn_if_unsuited
from toolkit.runtime.feature_maps import channel_numbers
from toolkit.runtime.infer import OutputOptions
from toolkit.runtime.pictures import draw_feature_maps, draw_lines, probability_at, rescaled, trace_svg
from toolkit.runtime.routing import Router, RouteTaken
from toolkit.runtime.tiling import PLANNED_TILING, Tiling

__all__ = ["LineModel", "Tiling", "read_image", "trace_svg"]

PIXEL_TYPES = (np.uint8, np.uint16, np.float32, np.float64)


class LineModel:
    """A line model (or a feature-map graph from `toolkit export --features`) on one backend.

    `model`: a shipped name (`unet-light`, `contour`), an ONNX graph or a TensorRT engine.
    `backend`: as `toolkit infer --backend` (auto: TensorRT for an engine, else the fastest ONNX Runtime
    provider installed). `precision`: for a shipped name, as `toolkit infer --precision` (auto: the
    fastest shipped graph for the backend whose recorded agreement with FP32 is verified). `flips`:
    as `toolkit infer --flips` (1, 2 or 4 mirrored views averaged). Load it once with `with`, then
    call it for as many images as you like.
    """

    def __init__(
        self,
        model: str | Path = DEFAULT_MODEL,
        backend: str = "auto",
        tiling: Tiling = PLANNED_TILING,
        *,
        precision: str = "auto",
        flips: int = 1,
    ) -> None:
        self.runner, self.backend = make_runner(model, backend, precision=precision, flips=flips)
        self.tiling = tiling

    def __enter__(self) -> LineModel:
        self.runner.__enter__()
        warn_if_unsuited(self.runner, self.backend)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.runner.__exit__(*exc_info)

    @property
    def card(self) -> ModelCard:
        """What the model is: name, precision, input, outputs, threshold, weights and training run."""
        return self.runner.card

    @property
    def last_route(self) -> RouteTaken | None:
        """For a shipped name with a route (`contour`): which model drew the last image, and the route's
        reading of the lines the first one drew on it (`contour`'s: their width; toolkit.runtime.routing);
        None for one model."""
        return self.runner.last if isinstance(self.runner, Router) else None

    def probability(self, image: np.ndarray, scale: float = 1.0) -> np.ndarray:
        """(H, W) float32 line probability of an (H, W) gray or (H, W, 3) RGB image; the network runs
        at `scale` of the image (strokes as thick as in training) and the result is resized back."""
        pixels, _, size = self._prepared(image, "gray", scale, "lines", "probability")
        return probability_at(self.runner, pixels, self.tiling, size)

    def lines(self, image: np.ndarray, output_format: str = "gray", scale: float = 1.0) -> np.ndarray:
        """The picture `toolkit infer --format FORMAT` writes: gray (H, W) uint8 black lines on white,
        binary (at the model's threshold), or alpha (H, W, 4) black ink on transparency."""
        pixels, options, size = self._prepared(image, output_format, scale, "lines", "lines")
        [picture] = draw_lines(
            self.runner, pixels, output_format=options.output_format, tiling=self.tiling, size=size
        )
        return picture

    def svg(self, image: np.ndarray, scale: float = 1.0) -> str:
        """The SVG document `toolkit infer --format svg` writes (without its provenance record):
        paths traced by VTracer from the binary lines (needs the `svg` extra)."""
        return trace_svg(self.lines(image, "binary", scale))

    def feature_maps(
        self, image: np.ndarray, output_format: str = "gray", scale: float = 1.0
    ) -> dict[tuple[str, int], np.ndarray]:
        """For a graph from `toolkit export --features`: {(layer, channel): picture} at the image's size,
        each channel drawn as `toolkit infer` draws it (ink = activation stretched to its 1st-99.5th
        percentile; binary: above the map's own mean)."""
        pixels, options, size = self._prepared(image, output_format, scale, "features", "feature_maps")
        channels = channel_numbers(self.runner)
        keys = [(layer, channel) for layer, numbers in channels.items() for channel in numbers]
        pictures = draw_feature_maps(
            self.runner, pixels, output_format=options.output_format, tiling=self.tiling, size=size
        )
        return dict(zip(keys, pictures, strict=True))

    def _prepared(
        self, image: object, output_format: str, scale: float, kind: str, method: str
    ) -> tuple[np.ndarray, OutputOptions, tuple[int, int]]:
        """The image at `scale`, the options and the output size (width, height), all checked with the
        CLI's messages; `kind` is what the model must give for `method` ("lines" or "features")."""
        if output_format == "svg":
            raise InputError(f"{method}() returns pixels: trace a binary picture with toolkit.trace_svg()")
        pixels = checked_image(image)
        options = OutputOptions(output_format, scale)
        self._require(kind, method)
        height, width = pixels.shape[:2]
        return rescaled(pixels, scale), options, (width, height)

    def _require(self, kind: str, method: str) -> None:
        card = self.card
        if card.output_kind != kind:
            other = "feature_maps()" if kind == "lines" else "lines() or probability()"
            raise InputError(
                f"model '{card.model}' gives {card.output_kind}, not {kind}: {method}() does not apply; "
                f"use {other}"
            )


def checked_image(image: object) -> np.ndarray:
    """`image` if the pipeline can take it: (H, W) gray or (H, W, 3) RGB (not OpenCV's BGR: convert
    `cv2.imread`'s with `cv2.cvtColor(image, cv2.COLOR_BGR2RGB)`), uint8 or uint16 as stored, or float
    in [0, 1]; otherwise a one-line error saying what it is instead."""
    if not isinstance(image, np.ndarray):
        raise InputError(f"image must be a numpy array, not {type(image).__name__}")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)) or 0 in image.shape:
        hint = " (RGBA: composite it, or read the file with toolkit.read_image)" if image.ndim == 3 else ""
        raise InputError(f"image must be (H, W) gray or (H, W, 3) RGB, got shape {image.shape}{hint}")
    if image.dtype.type not in PIXEL_TYPES:
        raise InputError(f"image must be uint8, uint16 or float in [0, 1], got {image.dtype}")
    if image.dtype.kind == "f":
        low, high = float(image.min()), float(image.max())
        if not 0 <= low <= high <= 1:  # also false for NaN
            raise InputError(f"a float image must lie in [0, 1], got values from {low} to {high}")
        image = image.astype(np.float32, copy=False)
    return image
