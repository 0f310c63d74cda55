"""The shipped `contour` on 8 middle-factor 256 px paintings (sweep seed 7) with chosen factors
overridden: per page line F1, P and R; the first 4 drawn as input | prediction (red: invented) |
target (blue: missed). The clean pages of the nineteenth session's note:

    python clean_pages.py clean_pages.png crack_density=0 outline_wear=0 paint_loss=0 \
        unoutlined_fills=0 long_cracks=0 stains=0 folds=0
"""

import sys

import cv2
import numpy as np
from skimage.morphology import skeletonize

from toolkit import LineModel
from toolkit.analysis.metrics import line_counts, scores
from toolkit.data.factors import middle_factors
from toolkit.data.synthetic import held_out_seed, make_pair
from toolkit.imaging.imageio import lines_of

RADIUS, PAGES, SHOWN = 2, 8, 4
INVENTED, MISSED = (220, 0, 0), (0, 60, 230)


def line_scores(lines: np.ndarray, target: np.ndarray) -> dict[str, float]:
    counts = line_counts(lines, target, RADIUS)
    return scores({**counts, "tp": 0, "fp": 0, "fn": 0, "pixels": 1})


def matched(lines: np.ndarray, other: np.ndarray, far: tuple[int, int, int]) -> np.ndarray:
    """RGB: the centre lines of `lines`, black where `other` has a line within RADIUS, else `far`."""
    thin = skeletonize(lines)
    near = cv2.distanceTransform((~skeletonize(other)).astype(np.uint8), cv2.DIST_L2, 5) <= RADIUS
    picture = np.full((*lines.shape, 3), 255, np.uint8)
    picture[thin & near] = 0
    picture[thin & ~near] = far
    return picture


def main(out: str, overrides: list[str]) -> None:
    values = middle_factors("painting") | {
        name: float(value) for name, value in (item.split("=") for item in overrides)
    }
    rows = []
    with LineModel("contour", precision="fp32") as model:
        for index in range(PAGES):
            image, target = make_pair("painting", 256, 256, held_out_seed(7, index), factors=values)
            truth, lines = lines_of(target), model.lines(image, "binary") < 128
            s = line_scores(lines, truth)
            p, r = s["line_precision"], s["line_recall"]
            print(f"page {index}: line F1 {s['line_f1']:.3f} (P {p:.3f} / R {r:.3f})")
            if index < SHOWN:
                pictures = [matched(lines, truth, INVENTED), matched(truth, lines, MISSED)]
                rows.append(np.hstack([image, *pictures]))
    cv2.imwrite(out, cv2.cvtColor(np.vstack(rows), cv2.COLOR_RGB2BGR))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
