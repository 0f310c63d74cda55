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

import numpy as np
from error_sources import grown_along, page_ink

import toolkit.data.synthetic as synthetic
from toolkit.data.synthetic import BRIDGE_PX, VISIBLE_CONTRAST

REACH = 2  # times today's BRIDGE_PX



def bridged_outlines(
    outlines: np.ndarray, contrast: np.ndarray, scale: float, reach: float = REACH
) -> np.ndarray:
    """`visible_outlines`' contract: (H, W) float ink of the outlines the target holds; breaks up to
    2 x `reach` x BRIDGE_PX (scaled) between two seen parts are drawn through (`reach` 1: today's
    bridge without its stubs)."""
    line = (outlines > 0.05).astype(np.uint8)
    core = (outlines > 0.5).astype(np.uint8)
    seen = core & (contrast >= VISIBLE_CONTRAST).astype(np.uint8)
    steps = round(reach * BRIDGE_PX * max(scale, 0.5))
    reached = grown_along(seen, line, steps)
    # unseen ink no seen part reaches is inside a break too long to bridge: what grew toward it from
    # its ends is taken back, through unseen ink only (never past a seen part into a bridge)
    unseen = core & (1 - seen)
    beyond = grown_along(unseen & (1 - reached), unseen, steps + 1)
    return outlines * (seen | (reached & (1 - beyond)))


def bridge_rule_target(seed: int, factors: dict[str, float], shape: tuple[int, int]) -> np.ndarray:
    """(H, W) bool: a held-out page's target by `bridged_outlines` (the page redrawn step by step)."""
    outlines, contrast, scale = page_ink(seed, factors, shape)
    return bridged_outlines(outlines, contrast, scale) > 0.5


if __name__ == "__main__":
    synthetic.visible_outlines = bridged_outlines
    from toolkit.cli.main import app

    sys.argv = ["toolkit", *sys.argv[1:]]
    app()
