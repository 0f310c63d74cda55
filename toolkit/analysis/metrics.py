"""Line metrics on binary masks (True = line), torch-free so predictions folders can be scored anywhere.

Pixel metrics (accuracy, IoU, precision, recall, F1) compare masks pixel for pixel. The tolerance
line F1 is what a person judges: both sides are thinned to one-pixel centre lines, and a line pixel
counts as matched when the other side has a line within `radius` pixels, so a stroke drawn one pixel
off or one pixel thicker is not an error (the BSDS boundary benchmark's idea, with a plain radius).
"""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np
from skimage.morphology import skeletonize

DEFAULT_RADIUS = 2
# the radii at which `toolkit evaluate` also scores a model: how much of its error is a line drawn a
# few pixels off (or split, merged) rather than missed or invented
TOLERANCE_CURVE = (1, 2, 3, 4, 6)
METRIC_NAMES = ("accuracy", "iou", "precision", "recall", "f1", "line_precision", "line_recall", "line_f1")


def ratio(numerator: float, denominator: float, empty: float = 1.0) -> float:
    """`empty` when there is nothing to measure (no lines on either side means full agreement)."""
    return float(numerator / denominator) if denominator else empty


def f1_of(precision: float, recall: float) -> float:
    return ratio(2 * precision * recall, precision + recall, empty=0.0)


def pixel_counts(pred: np.ndarray, target: np.ndarray) -> dict[str, int]:
    return {
        "tp": int(np.count_nonzero(pred & target)),
        "fp": int(np.count_nonzero(pred & ~target)),
        "fn": int(np.count_nonzero(~pred & target)),
        "pixels": int(pred.size),
    }


def distance_to(lines: np.ndarray) -> np.ndarray | None:
    """Each pixel's distance to the nearest pixel of `lines`; None where there are no lines."""
    if not lines.any():
        return None
    return cv2.distanceTransform((~lines).astype(np.uint8), cv2.DIST_L2, 5)


def matched(lines: np.ndarray, distance: np.ndarray | None, radius: int) -> int:
    """How many pixels of `lines` lie within `radius` of the lines `distance` was measured to."""
    return 0 if distance is None else int(np.count_nonzero(lines & (distance <= radius)))


def line_counts(
    pred: np.ndarray, target: np.ndarray, radius: int = DEFAULT_RADIUS, *, curve: Iterable[int] = ()
) -> dict[str, int]:
    """Centre-line counts at `radius`, and at each radius of `curve` under keys ending in `_r{radius}`
    (`line_f1_at`): the skeletons and distances are computed once for all of them."""
    thin_pred, thin_target = skeletonize(pred), skeletonize(target)
    to_pred, to_target = distance_to(thin_pred), distance_to(thin_target)
    counts = {
        "pred_lines": int(np.count_nonzero(thin_pred)),
        "pred_matched": matched(thin_pred, to_target, radius),
        "target_lines": int(np.count_nonzero(thin_target)),
        "target_matched": matched(thin_target, to_pred, radius),
    }
    for other in curve:
        counts[f"pred_matched_r{other}"] = matched(thin_pred, to_target, other)
        counts[f"target_matched_r{other}"] = matched(thin_target, to_pred, other)
    return counts


def scores(counts: dict[str, int]) -> dict[str, float]:
    """Metrics from summed counts: pass one image's counts, or the sum over a set (micro average)."""
    tp, fp, fn, pixels = counts["tp"], counts["fp"], counts["fn"], counts["pixels"]
    precision = ratio(tp, tp + fp, empty=float(fn == 0))
    recall = ratio(tp, tp + fn)
    line_precision = ratio(
        counts["pred_matched"], counts["pred_lines"], empty=float(counts["target_lines"] == 0)
    )
    line_recall = ratio(counts["target_matched"], counts["target_lines"])
    return {
        "accuracy": ratio(pixels - fp - fn, pixels),
        "iou": ratio(tp, tp + fp + fn),
        "precision": precision,
        "recall": recall,
        "f1": f1_of(precision, recall) if tp + fp + fn else 1.0,
        "line_precision": line_precision,
        "line_recall": line_recall,
        "line_f1": f1_of(line_precision, line_recall)
        if counts["pred_lines"] + counts["target_lines"]
        else 1.0,
    }


def line_f1_at(counts: dict[str, int], radius: int) -> float:
    """Line F1 at one radius of the `curve` the counts were taken with (`line_counts`)."""
    at_radius = {
        "pred_matched": counts[f"pred_matched_r{radius}"],
        "target_matched": counts[f"target_matched_r{radius}"],
    }
    return scores(counts | at_radius)["line_f1"]


def all_counts(
    pred: np.ndarray, target: np.ndarray, radius: int = DEFAULT_RADIUS, *, curve: Iterable[int] = ()
) -> dict[str, int]:
    pred, target = pred.astype(bool), target.astype(bool)
    return pixel_counts(pred, target) | line_counts(pred, target, radius, curve=curve)


def add_counts(total: dict[str, int], counts: dict[str, int]) -> dict[str, int]:
    return {key: total.get(key, 0) + value for key, value in counts.items()}
