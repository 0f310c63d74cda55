"""How much line F1 a 1-px boundary change of the target itself costs, per stroke width (sweep pages)."""

import cv2
import numpy as np

from toolkit.analysis.evaluate import Scoreboard
from toolkit.analysis.sweep import SWEEP_SEED
from toolkit.data.factors import FACTORS, middle_factors
from toolkit.data.synthetic import held_out_seed, make_pair
from toolkit.imaging.imageio import lines_of

k3 = np.ones((3, 3), np.uint8)
for width in FACTORS["sketch"]["stroke_width"].sweep(5):
    board = Scoreboard()
    for i in range(32):
        _, target = make_pair(
            "sketch",
            256,
            256,
            held_out_seed(SWEEP_SEED, i),
            factors=middle_factors("sketch") | {"stroke_width": width},
        )
        t = lines_of(target)
        u = t.astype(np.uint8)
        board.add("dilate1", cv2.dilate(u, k3) > 0, t)
        board.add("erode1", cv2.erode(u, k3) > 0, t)
        board.add("close3", cv2.morphologyEx(u, cv2.MORPH_CLOSE, k3) > 0, t)
        board.add("close5", cv2.morphologyEx(u, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8)) > 0, t)
        board.add("shift1", np.roll(t, 1, axis=1), t)
    s = board.scores()
    print(f"width {width:5.2f}: " + "  ".join(f"{m} {s[m]['line_f1']:.3f}" for m in s))
