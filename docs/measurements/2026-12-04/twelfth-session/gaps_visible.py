"""Are the target's narrow gaps (filled by a 3x3 / 5x5 closing) visible in the input? Sweep pages."""

import cv2
import numpy as np

from toolkit.analysis.sweep import SWEEP_SEED
from toolkit.data.factors import FACTORS, middle_factors
from toolkit.data.synthetic import held_out_seed, make_pair
from toolkit.imaging.imageio import lines_of

for width in FACTORS["sketch"]["stroke_width"].sweep(5):
    rows = []
    for i in range(32):
        image, target = make_pair(
            "sketch",
            256,
            256,
            held_out_seed(SWEEP_SEED, i),
            factors=middle_factors("sketch") | {"stroke_width": width},
        )
        t = lines_of(target).astype(np.uint8)
        grey = (
            cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(float) if image.ndim == 3 else image.astype(float)
        )
        gap = (cv2.morphologyEx(t, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8)) > 0) & (t == 0)
        far = cv2.dilate(t, np.ones((9, 9), np.uint8)) == 0
        ink, paper = np.median(grey[t > 0]), np.median(grey[far])
        if gap.any():
            # 0 = as dark as ink, 1 = as bright as paper
            rows.append(((grey[gap] - ink) / max(paper - ink, 1)).clip(0, 1.5))
    g = np.concatenate(rows)
    print(
        f"width {width:5.2f}: gap px/page {g.size / 32:6.0f}  brightness in gaps (0 ink, 1 paper): "
        f"median {np.median(g):.2f}, share < 0.5: {np.mean(g < 0.5):.2f}"
    )
