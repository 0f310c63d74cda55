"""`toolkit evaluate`: score a model, or a folder of its predictions, on a folder dataset, beside the
classical baselines a user would otherwise reach for (Otsu, adaptive threshold, Canny).

Every method is scored on the same pairs with the same metrics (toolkit.analysis.metrics), summed over
the set (micro average), so the table says directly how much the network gains.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from toolkit.analysis.by_factor import FactorSplit, factor_splits, worst_pages
from toolkit.analysis.metrics import (
    DEFAULT_RADIUS,
    TOLERANCE_CURVE,
    add_counts,
    all_counts,
    line_f1_at,
    scores,
)
from toolkit.core.errors import InputError
from toolkit.imaging.imageio import IMAGE_SUFFIXES, lines_of, read_image
from toolkit.runtime.base import Runner
from toolkit.runtime.flips import flip_views
from toolkit.runtime.routing import Router
from toolkit.runtime.tiling import predict_tiled


def to_gray_uint8(image: np.ndarray) -> np.ndarray:
    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    if gray.dtype != np.uint8:
        gray = (gray.astype(np.float32) / np.iinfo(gray.dtype).max * 255).round().astype(np.uint8)
    return gray


def otsu(image: np.ndarray) -> np.ndarray:
    gray = to_gray_uint8(image)
    _, ink = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    return ink > 0


def adaptive(image: np.ndarray) -> np.ndarray:
    """Local mean threshold over a 25-pixel window: robust to uneven scan lighting."""
    gray = to_gray_uint8(image)
    return cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY_INV, 25, 10) > 0


def canny(image: np.ndarray) -> np.ndarray:
    """Canny edges with thresholds from the median (the usual automatic choice), after a light blur."""
    gray = cv2.GaussianBlur(to_gray_uint8(image), (0, 0), 1.0)
    median = float(np.median(gray))
    return cv2.Canny(gray, int(max(0, 0.66 * median)), int(min(255, 1.33 * median))) > 0


BASELINES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "otsu": otsu,
    "adaptive": adaptive,
    "canny": canny,
}


class Scoreboard:
    """Counts summed per method over a set; scores are micro averages over every pixel of the set."""

    def __init__(self, radius: int = DEFAULT_RADIUS) -> None:
        self.radius = radius
        self.totals: dict[str, dict[str, int]] = {}
        self.pages: dict[str, dict[str, dict[str, int]]] = {}  # method -> page stem -> counts

    def add(self, method: str, lines: np.ndarray, target: np.ndarray, *, page: str | None = None) -> None:
        """Add one page's counts; with `page` (a model's, not a baseline's), also keep them apart for
        the breakdown by page and factor, and count them at every radius of TOLERANCE_CURVE."""
        counts = all_counts(lines, target, self.radius, curve=TOLERANCE_CURVE if page is not None else ())
        self.totals[method] = add_counts(self.totals.get(method, {}), counts)
        if page is not None:
            self.pages.setdefault(method, {})[page] = counts

    def add_baselines(self, image: np.ndarray, target: np.ndarray) -> None:
        for name, method in BASELINES.items():
            self.add(name, method(image), target)

    def scores(self) -> dict[str, dict[str, float]]:
        return {name: scores(counts) for name, counts in self.totals.items()}


@dataclass
class EvalReport:
    data: str
    pairs: int
    radius: int
    methods: dict[str, dict[str, float]]  # method -> metric -> value
    skipped: list[str]
    # the model's (not the baselines') pages: method -> its worst pages, and its factor splits where
    # the set records its pages' factors (toolkit.analysis.by_factor)
    worst_pages: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    by_factor: dict[str, list[FactorSplit]] = field(default_factory=dict)
    by_radius: dict[str, dict[int, float]] = field(default_factory=dict)  # method -> radius -> line F1
    drawn_by: dict[str, int] = field(default_factory=dict)  # behind a route: pages each model drew

    def to_dict(self) -> dict:
        return {
            "data": self.data,
            "pairs": self.pairs,
            "radius": self.radius,
            "methods": self.methods,
            "skipped": self.skipped,
            "worst_pages": {
                method: [list(page) for page in pages] for method, pages in self.worst_pages.items()
            },
            "by_factor": {method: [split.to_dict() for split in s] for method, s in self.by_factor.items()},
            "by_radius": self.by_radius,
            "drawn_by": self.drawn_by,
        }


def find_prediction(folder: Path, stem: str) -> Path:
    for suffix in IMAGE_SUFFIXES:
        candidate = folder / f"{stem}{suffix}"
        if candidate.is_file():
            return candidate
    raise InputError(f"{folder}: no prediction named {stem}.* ({', '.join(IMAGE_SUFFIXES)})")


def evaluate(
    pairs: list[tuple[Path, Path]],
    data_name: str,
    *,
    runner: Runner | None = None,
    method_name: str | None = None,
    predictions: Path | None = None,
    radius: int = DEFAULT_RADIUS,
    baselines: bool = True,
    page_factors: dict[str, dict[str, float]] | None = None,
    track: Callable[[list], Iterable] = iter,
) -> EvalReport:
    """Score the model run by `runner`, or the images in `predictions`, and the baselines on `pairs`.

    The model's pages are also scored apart: its worst pages, and with `page_factors` (factor values
    per input stem, toolkit.data.synthetic.read_page_factors) line F1 at each end of every factor.
    """
    if method_name is None and runner is not None:
        views = flip_views(runner)
        method_name = runner.card.model + (f" ({views} views)" if views > 1 else "")
    method_name = method_name or "model"
    board = Scoreboard(radius)
    skipped = []
    drawn_by: Counter[str] = Counter()
    for input_path, target_path in track(pairs):
        try:
            image, target = read_image(input_path), lines_of(read_image(target_path))
            if image.shape[:2] != target.shape:
                raise InputError(
                    f"{input_path}: size {image.shape[:2]} differs from its target's {target.shape}"
                )
            found: dict[str, np.ndarray] = {}
            if runner is not None:
                lines = predict_tiled(runner, image)  # tiled and conditioned as `toolkit infer` runs it
                found[method_name] = lines >= runner.card.threshold
                if isinstance(runner, Router) and runner.last is not None:
                    drawn_by[runner.last.model] += 1
            if predictions is not None:
                prediction = read_image(find_prediction(predictions, input_path.stem))
                if prediction.shape[:2] != target.shape:
                    raise InputError(
                        f"{predictions}/{input_path.stem}: size differs from its target's {target.shape}"
                    )
                found[predictions.name or "predictions"] = lines_of(prediction)
        except InputError as error:
            skipped.append(str(error))
            continue
        for name, mask in found.items():
            board.add(name, mask, target, page=input_path.stem)
        if baselines:
            board.add_baselines(image, target)
    if not board.totals:
        raise InputError(f"{data_name}: no pair could be evaluated")
    return EvalReport(
        data_name,
        len(pairs) - len(skipped),
        radius,
        board.scores(),
        skipped,
        worst_pages={method: worst_pages(pages) for method, pages in board.pages.items()},
        by_radius={
            method: {radius: line_f1_at(board.totals[method], radius) for radius in TOLERANCE_CURVE}
            for method in board.pages
        },
        by_factor={method: factor_splits(pages, page_factors) for method, pages in board.pages.items()}
        if page_factors
        else {},
        drawn_by=dict(sorted(drawn_by.items())),
    )
