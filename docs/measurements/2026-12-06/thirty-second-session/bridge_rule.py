"""A probe of another painting target, not the library's: every break between two seen parts of an
outline up to twice as long as today's bridge is drawn through, and nothing is drawn into a break
seen from one side only (today's target runs `BRIDGE_PX` into it from each side).

    python docs/measurements/2026-12-06/thirty-second-session/bridge_rule.py train contour --out ...

runs `toolkit train` with the generator's `visible_outlines` replaced by `bridged_outlines` below, in
this process only: a probe, never shipped, whose weights record the command of `toolkit train` and
not this replacement (the probe's notes say it). `bridge_rule_target` draws a held-out page's target
by the same rule, for scoring.
"""

from __future__ import annotations

import sys

import cv2
import numpy as np

import toolkit.data.synthetic as synthetic
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

REACH = 2  # times today's BRIDGE_PX


def grown_along(start: np.ndarray, within: np.ndarray, steps: int) -> np.ndarray:
    step = np.ones((3, 3), np.uint8)
    for _ in range(steps):
        start = cv2.dilate(start, step) & within
    return start


def bridged_outlines(outlines: np.ndarray, contrast: np.ndarray, scale: float) -> np.ndarray:
    """`visible_outlines`' contract: (H, W) float ink of the outlines the target holds."""
    line = (outlines > 0.05).astype(np.uint8)
    core = (outlines > 0.5).astype(np.uint8)
    seen = core & (contrast >= VISIBLE_CONTRAST).astype(np.uint8)
    steps = round(REACH * BRIDGE_PX * max(scale, 0.5))
    reached = grown_along(seen, line, steps)
    # unseen ink no seen part reaches is inside a break too long to bridge: what grew toward it from
    # its ends is taken back, through unseen ink only (never past a seen part into a bridge)
    unseen = core & (1 - seen)
    beyond = grown_along(unseen & (1 - reached), unseen, steps + 1)
    return outlines * (seen | (reached & (1 - beyond)))


def bridge_rule_target(seed: int, factors: dict[str, float], shape: tuple[int, int]) -> np.ndarray:
    """(H, W) bool: a held-out page's target by `bridged_outlines` (the page redrawn step by step)."""
    height, width = shape
    scale = min(height, width) / 256
    regions, details = painting_layout(np.random.default_rng(seed), height, width, scale)
    image, outlines = paint_regions(seed, regions, details, shape, factors)
    image = ornament(seed, image, scale, factors["ornament"])
    ink = worn_ink(seed, outlines, scale, factors)[..., None]
    colour = OUTLINE_INKS[int(factors["outline_colour"])]
    painted = aged(seed, image * (1 - ink) + colour * ink, scale, factors)
    contrast = np.abs(painted - aged(seed, image, scale, factors)).max(axis=2)
    return bridged_outlines(outlines, contrast, scale) > 0.5


if __name__ == "__main__":
    synthetic.visible_outlines = bridged_outlines
    from toolkit.cli.main import app

    sys.argv = ["toolkit", *sys.argv[1:]]
    app()
