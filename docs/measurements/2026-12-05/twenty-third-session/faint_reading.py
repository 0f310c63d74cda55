"""Which reading of a sketch page tells faint pencil: measures of the page under the lines `unet-light`
draws, against the generator's pencil contrast (pages.json), on calibration pages only.

    python faint_reading.py data/faintcal-424-s56 data/faintcal-424-s57 > faint_reading.txt

Each measure is per page; printed: its rank correlation with the pencil contrast, and the AUC with which
it tells pages under 25 (and under 40) grey levels from pages of 60 or more.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2
import numpy as np

import toolkit
from toolkit.imaging.conditioning import condition
from toolkit.imaging.imageio import read_image

RIDGE = np.ones((3, 3), np.uint8)


def measures(image: np.ndarray, ink: np.ndarray, method: str) -> dict[str, float]:
    seen = condition(image, method).astype(np.float32) / 255.0
    bright = seen.max(axis=2) if seen.ndim == 3 else seen  # graphite is neutral; the brightest channel
    depth = cv2.distanceTransform(ink.view(np.uint8), cv2.DIST_L2, 5)
    centre = ink & (depth >= cv2.dilate(depth, RIDGE))
    paper = ~cv2.dilate(ink.view(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
    dark = 1.0 - bright
    if not centre.any() or not paper.any():
        return {}
    ink_dark = float(np.median(dark[centre]))
    paper_dark = float(np.median(dark[paper]))
    paper_spread = float(np.percentile(dark[paper], 90) - np.percentile(dark[paper], 10))
    return {
        "ink_dark": ink_dark,
        "ink_minus_paper": ink_dark - paper_dark,
        "snr": (ink_dark - paper_dark) / max(paper_spread, 1e-3),
        "ink_dark_p25": float(np.percentile(dark[centre], 25)),
    }


def auc(scores: list[float], positive: list[bool]) -> float:
    """P(a positive page scores lower than a negative one): faint pages should read low."""
    pos = [s for s, p in zip(scores, positive) if p]
    neg = [s for s, p in zip(scores, positive) if not p]
    wins = sum((a < b) + 0.5 * (a == b) for a in pos for b in neg)
    return wins / max(1, len(pos) * len(neg))


def main(sets: list[Path]) -> None:
    rows = []
    with toolkit.LineModel("unet-light", precision="fp32") as model:
        for folder in sets:
            pages = json.loads((folder / "pages.json").read_text())["pages"]
            for stem, page in sorted(pages.items()):
                image = read_image(folder / "input" / f"{stem}.png")
                ink = model.probability(image) >= model.card.threshold
                found = measures(image, ink, model.card.conditioning)
                if found:
                    rows.append((page["factors"]["pencil_contrast"], found))
    contrast = np.array([c for c, _ in rows])
    print(f"{len(rows)} pages of {', '.join(str(s) for s in sets)}")
    for name in rows[0][1]:
        values = np.array([m[name] for _, m in rows])
        rank = np.corrcoef(np.argsort(np.argsort(contrast)), np.argsort(np.argsort(values)))[0, 1]
        calm = contrast >= 60
        line = f"{name:16s} rank corr {rank:+.3f}"
        for below in (25, 40):
            keep = (contrast < below) | calm
            line += f"  AUC <{below} vs >=60: {auc(list(values[keep]), list(contrast[keep] < below)):.3f}"
        print(line)
        for lo, hi in ((0, 25), (25, 40), (40, 60), (60, 256)):
            band = values[(contrast >= lo) & (contrast < hi)]
            if len(band):
                q = np.percentile(band, [5, 50, 95])
                quantiles = f"{q[0]:.3f} {q[1]:.3f} {q[2]:.3f}"
                print(f"    contrast {lo}-{hi}: {len(band)} pages, 5/50/95 %: {quantiles}")


if __name__ == "__main__":
    main([Path(a) for a in sys.argv[1:]])
