"""How hard the thick end of the sketch sweep is for any model, measured on the target itself.

For each stroke width of the sweep (its 32 held-out pages a width, every other factor at its middle):
1. line F1 of the target changed by one pixel (grown, shrunk, its 1-2 px and 1-4 px gaps closed,
   shifted) against the target;
2. whether the input shows the target's narrow gaps (the paper a 5x5 closing fills): their grey
   between the ink's (0) and the paper's (1), and the share of them nearer the ink.

    python docs/measurements/2026-12-04/twelfth-session/thick_strokes.py
"""

import cv2
import numpy as np

from toolkit.analysis.evaluate import Scoreboard
from toolkit.analysis.sweep import SWEEP_SEED
from toolkit.data.factors import FACTORS, middle_factors
from toolkit.data.synthetic import held_out_seed, make_pair
from toolkit.imaging.imageio import lines_of

PAGES = 32
SQUARE3, SQUARE5 = np.ones((3, 3), np.uint8), np.ones((5, 5), np.uint8)

for width in FACTORS["sketch"]["stroke_width"].sweep(5):
    board, gap_greys = Scoreboard(), []
    for i in range(PAGES):
        factors = middle_factors("sketch") | {"stroke_width": width}
        image, target = make_pair("sketch", 256, 256, held_out_seed(SWEEP_SEED, i), factors=factors)
        truth = lines_of(target)
        ink = truth.astype(np.uint8)
        board.add("grown", cv2.dilate(ink, SQUARE3) > 0, truth)
        board.add("shrunk", cv2.erode(ink, SQUARE3) > 0, truth)
        board.add("closed3", cv2.morphologyEx(ink, cv2.MORPH_CLOSE, SQUARE3) > 0, truth)
        board.add("closed5", cv2.morphologyEx(ink, cv2.MORPH_CLOSE, SQUARE5) > 0, truth)
        board.add("shifted", np.roll(truth, 1, axis=1), truth)

        grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(float)
        gaps = (cv2.morphologyEx(ink, cv2.MORPH_CLOSE, SQUARE5) > 0) & ~truth
        paper = cv2.dilate(ink, np.ones((9, 9), np.uint8)) == 0
        ink_grey, paper_grey = np.median(grey[truth]), np.median(grey[paper])
        if gaps.any():
            gap_greys.append(((grey[gaps] - ink_grey) / max(paper_grey - ink_grey, 1)).clip(0, 1.5))
    scores = board.scores()
    greys = np.concatenate(gap_greys)
    print(
        f"width {width:5.2f}: "
        + "  ".join(f"{method} {scores[method]['line_f1']:.3f}" for method in scores)
        + f"  | gaps {greys.size / PAGES:5.0f} px/page, grey median {np.median(greys):.2f},"
        f" nearer ink {np.mean(greys < 0.5):.2f}"
    )
