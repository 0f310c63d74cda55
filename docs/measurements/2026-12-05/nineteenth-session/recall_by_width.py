"""Line recall of a model by the width of the target line: each target centre-line pixel is matched
when the prediction's centre line is within 2 px (line F1's rule), and sorted by the target's ink
width there, read off the distance to the nearest paper pixel d (1: a 1-2 px line; 2: 3-4 px; more:
5 px or wider; diagonal distances fall between). Evidence for where `contour` loses recall.

    python recall_by_width.py data/heldout-painting [MODEL]   # MODEL: a shipped name or a graph
"""

import sys
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
from skimage.morphology import skeletonize

from toolkit import LineModel, read_image
from toolkit.imaging.imageio import lines_of

RADIUS = 2
WIDTHS = ((1.5, "1-2 px"), (2.5, "3-4 px"), (np.inf, ">= 5 px"))  # (largest d, label)


def count(lines: np.ndarray, target: np.ndarray, found: Counter, total: Counter) -> None:
    """Adds one page's target centre-line pixels, and those matched by `lines`, per width."""
    centre = skeletonize(target)
    depth = cv2.distanceTransform(target.astype(np.uint8), cv2.DIST_L2, 5)
    near = cv2.distanceTransform((~skeletonize(lines)).astype(np.uint8), cv2.DIST_L2, 5) <= RADIUS
    for largest, label in WIDTHS:
        smaller = next((d for d, _ in WIDTHS[::-1] if d < largest), 0.0)
        here = centre & (depth > smaller) & (depth <= largest)
        total[label] += int(here.sum())
        found[label] += int((here & near).sum())


def report(found: Counter, total: Counter) -> None:
    everything = sum(total.values())
    for _, label in WIDTHS:
        share = total[label] / everything
        print(f"{label}: {share:6.1%} of the target's centre lines, recall {found[label] / total[label]:.3f}")


def main(root: Path, model_name: str) -> None:
    found, total = Counter(), Counter()
    # a shipped name runs its FP32 graph; a graph file runs as it is
    precision = "auto" if model_name.endswith(".onnx") else "fp32"
    with LineModel(model_name, precision=precision) as model:
        for path in sorted((root / "input").glob("*.png")):
            target = lines_of(read_image(root / "target" / path.name))
            count(model.lines(read_image(path), "binary") < 128, target, found, total)
    report(found, total)


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "contour")
