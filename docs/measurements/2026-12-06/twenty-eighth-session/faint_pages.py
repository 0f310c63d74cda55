"""What the faint pages hold, without a model.

    python docs/measurements/2026-12-06/twenty-eighth-session/faint_pages.py > faint_pages.txt

1. The graphite's own darkness as a detector (an oracle: it knows which darkness is graphite): on the
   held-out pages of seed 21 (16, 256 px, every factor at its middle but `pencil_contrast`; noise and
   JPEG off), each page redrawn without graphite (`pencil_contrast` 0, the same random numbers), the
   pixels the graphite darkens by at least T grey levels, scored as line F1 against the target.
2. The paper's texture the graphite must stand out of: the page without graphite, its brightest
   channel less a Gaussian blur (sigma 3 px), the spread (std) of that more than 4 px from any target
   line, median over the pages; with noise and JPEG off and as swept.
3. Pages whose lines the input does not hold: the median darkest channel on the target's lines is
   within one grey level of the median 3-4 px beside them (white paper overexposed clips faint
   pencil to white), on the held-out sets under data/.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from toolkit.analysis.metrics import add_counts, all_counts, scores
from toolkit.data.factors import middle_factors
from toolkit.data.synthetic import held_out_seed, make_pair
from toolkit.imaging.imageio import lines_of, read_image

CLEAN = {"noise": 0.0, "jpeg_quality": 100.0}
SETS = (
    "held-faint-424",
    "held26-faint-424",
    "held-faint-768x1024",
    "held26-faint-768x1024",
    "held28-faint-424",
    "held28-faint-768x1024",
    "held28-white-faint-424",
    "held28-white-faint-424-s90",
    "heldout-sketch",
)


def page_pair(index: int, values: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(drawn, without graphite, target) of held-out page `index` of seed 21."""
    page = held_out_seed(21, index)
    drawn, target = make_pair("sketch", 256, 256, page, factors=values)
    bare, _ = make_pair("sketch", 256, 256, page, factors=values | {"pencil_contrast": 0.0})
    return drawn, bare, target


def main() -> None:
    ring = np.ones((9, 9), np.uint8)
    for contrast in (10.0, 20.0, 30.0):
        values = middle_factors("sketch") | {"pencil_contrast": contrast}
        found: dict[int, dict] = {t: {} for t in (2, 3, 5)}
        texture: dict[str, list[float]] = {"clean": [], "as swept": []}
        for index in range(16):
            drawn, bare, target = page_pair(index, values | CLEAN)
            truth = lines_of(target)
            darkness = (bare.astype(int) - drawn.astype(int)).max(axis=2)
            for t in found:
                found[t] = add_counts(found[t], all_counts(darkness >= t, truth))
            far = cv2.dilate(truth.astype(np.uint8), ring) == 0
            for arm, pins in (("clean", CLEAN), ("as swept", {})):
                _, paper, _ = page_pair(index, values | pins)
                brightest = paper.max(axis=2).astype(np.float32)
                texture[arm].append(float((brightest - cv2.GaussianBlur(brightest, (0, 0), 3))[far].std()))
        oracle = "; ".join(f">= {t} levels {scores(c)['line_f1']:.3f}" for t, c in found.items())
        spread = ", ".join(f"{arm} {np.median(v):.2f}" for arm, v in texture.items())
        print(f"contrast {contrast:g}: oracle line F1 {oracle}; paper texture std (levels) {spread}")
    inner, outer = np.ones((5, 5), np.uint8), np.ones((9, 9), np.uint8)
    for name in SETS:
        root = Path("data", name)
        if not root.is_dir():
            continue
        empty = []
        for inp in sorted((root / "input").glob("*.png")):
            darkest = read_image(inp).min(axis=2).astype(int)
            line = lines_of(read_image(root / "target" / inp.name))
            beside = (cv2.dilate(line.astype(np.uint8), outer) > 0) & (
                cv2.dilate(line.astype(np.uint8), inner) == 0
            )
            if line.any() and np.median(darkest[beside]) - np.median(darkest[line]) <= 1:
                empty.append(inp.stem)
        count = len(list((root / "input").glob("*.png")))
        print(
            f"{name}: {len(empty)} of {count} pages with lines no darker than the paper beside them {empty}"
        )


if __name__ == "__main__":
    main()
