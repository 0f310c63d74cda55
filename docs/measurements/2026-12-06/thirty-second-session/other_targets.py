"""The shipped `contour` scored against two other painting targets than today's: one without the
one-sided stubs, and the intended outlines whole.

`visible_outlines` grows what the scan shows BRIDGE_PX along the outline in both directions, so a
break up to twice that long is drawn through, and a longer one gets BRIDGE_PX of line from each
side that the scan does not show. Here those stubs are taken back: the unseen outline no seen part
reaches is grown back over what was grown toward it (through unseen ink only, so never past a seen
part into a bridge). The page is redrawn step by step (error_sources.target_parts); the library's
generator is not changed. Tried 2026-12-06 and reverted (docs/training.md, "What `contour`'s errors
lie on"). The intended outlines are every outline the painter inked and no later region covers, seen
in the scan or not: what a target of "the intended outline" would hold, as an independent check's
painting generator might draw it.

    python docs/measurements/2026-12-06/thirty-second-session/other_targets.py data/held31-painting-512
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

from toolkit import LineModel, read_image
from toolkit.analysis.metrics import add_counts, all_counts, scores
from toolkit.data.synthetic import (
    BRIDGE_PX,
    OUTLINE_INKS,
    VISIBLE_CONTRAST,
    aged,
    ornament,
    paint_regions,
    painting_layout,
    worn_ink,
)


def grown_along(start: np.ndarray, within: np.ndarray, steps: int) -> np.ndarray:
    step = np.ones((3, 3), np.uint8)
    for _ in range(steps):
        start = cv2.dilate(start, step) & within
    return start


def other_targets(
    seed: int, factors: dict[str, float], shape: tuple[int, int]
) -> dict[str, np.ndarray]:
    """(H, W) bool each: `stub-free`, the page's outlines that show and the breaks between two shown
    parts; `intended`, every outline inked and left uncovered."""
    height, width = shape
    scale = min(height, width) / 256
    regions, details = painting_layout(np.random.default_rng(seed), height, width, scale)
    image, outlines = paint_regions(seed, regions, details, shape, factors)
    image = ornament(seed, image, scale, factors["ornament"])
    ink = worn_ink(seed, outlines, scale, factors)[..., None]
    colour = OUTLINE_INKS[int(factors["outline_colour"])]
    painted = aged(seed, image * (1 - ink) + colour * ink, scale, factors)
    contrast = np.abs(painted - aged(seed, image, scale, factors)).max(axis=2)
    line = (outlines > 0.05).astype(np.uint8)
    core = (outlines > 0.5).astype(np.uint8)
    seen = core & (contrast >= VISIBLE_CONTRAST).astype(np.uint8)
    steps = round(BRIDGE_PX * max(scale, 0.5))
    reached = grown_along(seen, line, steps)
    unseen = core & (1 - seen)
    beyond = grown_along(unseen & (1 - reached), unseen, steps + 1)
    return {"stub-free": outlines * (seen | (reached & (1 - beyond))) > 0.5, "intended": outlines > 0.5}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", type=Path)
    parser.add_argument("--model", default="contour")
    args = parser.parse_args()
    record = json.loads((args.folder / "pages.json").read_text())
    counts: dict[str, dict[str, int]] = {"today": {}, "stub-free": {}, "intended": {}}
    pixels = dict.fromkeys(counts, 0)
    with LineModel(args.model, precision="fp32") as model:
        for stem, page in sorted(record["pages"].items()):
            image = read_image(args.folder / "input" / f"{stem}.png")
            target = cv2.imread(str(args.folder / "target" / f"{stem}.png"), cv2.IMREAD_GRAYSCALE) < 128
            targets = {"today": target} | other_targets(page["seed"], page["factors"], target.shape)
            pred = model.probability(image) > 0.5
            for name, pixels_of in targets.items():
                counts[name] = add_counts(counts[name], all_counts(pred, pixels_of))
                pixels[name] += int(pixels_of.sum())
    print(args.folder)
    for name, summed in counts.items():
        s = scores(summed)
        p, r = s["line_precision"], s["line_recall"]
        size = pixels[name] / pixels["today"]
        f1 = s["line_f1"]
        print(f"  {name} target ({size:.3f} of today's pixels): line F1 {f1:.4f} (P {p:.4f} / R {r:.4f})")


if __name__ == "__main__":
    main()
