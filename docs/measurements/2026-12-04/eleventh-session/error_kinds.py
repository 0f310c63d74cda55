"""What kind of error each unmatched centre-line pixel is (line F1 at r = 2, toolkit.analysis.metrics).

    python error_kinds.py DATA PREDICTIONS      # DATA/target/*.png against PREDICTIONS/*.png (black lines)

A target centre-line pixel with no predicted centre line within 2 px is
  - "covered" when predicted ink lies on it: the stroke is drawn, but merged with a neighbour (or its
    holes filled), so the prediction's one centre line runs elsewhere;
  - "near" when not covered but a predicted centre line is within 6 px: drawn a few pixels off;
  - "far" otherwise: missed.
A predicted centre-line pixel with no target centre line within 2 px is "in target ink" (a spur, or
the centre line of a merged blob), "near" or "far" (invented) the same way. Shares are of all
target (t_) or predicted (p_) centre-line pixels of the set.
"""

import sys
from pathlib import Path

import cv2
import numpy as np
from skimage.morphology import skeletonize


def distance_to(mask: np.ndarray) -> np.ndarray:
    if not mask.any():
        return np.full(mask.shape, np.inf, np.float32)
    return cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, 5)


def main(data: Path, predictions: Path) -> None:
    kinds = dict.fromkeys(["t_covered", "t_near", "t_far", "p_in_target_ink", "p_near", "p_far"], 0)
    target_lines = pred_lines = 0
    for path in sorted((data / "target").glob("*.png")):
        target = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE) < 128
        pred = cv2.imread(str(predictions / path.name), cv2.IMREAD_GRAYSCALE) < 128
        thin_target, thin_pred = skeletonize(target), skeletonize(pred)
        to_target, to_pred = distance_to(thin_target), distance_to(thin_pred)
        missed, extra = thin_target & (to_pred > 2), thin_pred & (to_target > 2)
        target_lines += int(thin_target.sum())
        pred_lines += int(thin_pred.sum())
        kinds["t_covered"] += int((missed & pred).sum())
        kinds["t_near"] += int((missed & ~pred & (to_pred <= 6)).sum())
        kinds["t_far"] += int((missed & ~pred & (to_pred > 6)).sum())
        kinds["p_in_target_ink"] += int((extra & target).sum())
        kinds["p_near"] += int((extra & ~target & (to_target <= 6)).sum())
        kinds["p_far"] += int((extra & ~target & (to_target > 6)).sum())
    shares = {k: round(v / (target_lines if k.startswith("t_") else pred_lines), 4) for k, v in kinds.items()}
    print({"target_lines": target_lines, "pred_lines": pred_lines, **shares})


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
