"""Which target pixels the routed default misses at the faint end, by how dark the graphite drew them.

    python docs/measurements/2026-12-06/twenty-eighth-session/faint_misses.py

Each held-out page (seed 21, 16 pages of 256 px, every factor at its middle but `pencil_contrast`) is
drawn twice more with the same random numbers: without graphite (`pencil_contrast` 0) and, for the
clean arm, without noise and JPEG. The graphite's own darkness at a pixel is the difference between
the page without graphite and with it (grey levels, the channel that differs most, noise and JPEG
off). A target pixel counts as found where the model drew a line within 2 px (the line metrics'
tolerance). Printed: the share of target pixels in each darkness bin and the share found there.
"""

from __future__ import annotations

import cv2
import numpy as np

from toolkit.api import LineModel
from toolkit.data.factors import middle_factors
from toolkit.data.synthetic import held_out_seed, make_pair
from toolkit.imaging.imageio import lines_of

BINS = (0, 1, 2, 3, 5, 8, 13, 256)
CLEAN = {"noise": 0.0, "jpeg_quality": 100.0}


def main() -> None:
    near = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))  # within 2 px
    with LineModel("unet-light", precision="fp32") as model:
        for contrast in (10.0, 20.0, 30.0):
            for arm, pins in {"as swept": {}, "clean": CLEAN}.items():
                total, found = np.zeros(len(BINS) - 1), np.zeros(len(BINS) - 1)
                for index in range(16):
                    page = held_out_seed(21, index)
                    values = middle_factors("sketch") | {"pencil_contrast": contrast}
                    image, target = make_pair("sketch", 256, 256, page, factors=values | pins)
                    drawn, _ = make_pair("sketch", 256, 256, page, factors=values | CLEAN)
                    bare, _ = make_pair(
                        "sketch", 256, 256, page, factors=values | CLEAN | {"pencil_contrast": 0.0}
                    )
                    darkness = np.clip((bare.astype(int) - drawn.astype(int)).max(axis=2), 0, 255)
                    truth = lines_of(target)
                    lines = model.probability(image) >= model.card.threshold
                    hit = cv2.dilate(lines.astype(np.uint8), near).astype(bool)
                    which = np.digitize(darkness[truth], BINS) - 1
                    total += np.bincount(which, minlength=len(BINS) - 1)[: len(BINS) - 1]
                    found += np.bincount(which, weights=hit[truth], minlength=len(BINS) - 1)[: len(BINS) - 1]
                cells = [
                    f"{low}-{high - 1}: {t / total.sum():.0%} of target, {f / max(t, 1):.0%} found"
                    for low, high, t, f in zip(BINS, BINS[1:], total, found)
                ]
                print(f"contrast {contrast:3.0f}, {arm:8s} | " + " | ".join(cells), flush=True)


if __name__ == "__main__":
    main()
