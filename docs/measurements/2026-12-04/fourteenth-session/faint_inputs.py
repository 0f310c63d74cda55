"""What each conditioning gives the model on a page: the target's ink and the paper around it, after it.

    python faint_inputs.py data/heldout-sketch-768x1024:00016 data/heldout-sketch-768x1024:00012 ...

Grey levels (the mean of the channels, 0-255) of the conditioned input: median and 75th percentile
under the target's lines, median and 5th percentile of the paper more than 4 px from any line.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

from toolkit.imaging.conditioning import condition
from toolkit.imaging.imageio import lines_of, read_image

for page in sys.argv[1:]:
    folder, stem = page.rsplit(":", 1)
    image = read_image(Path(folder) / "input" / f"{stem}.png")
    ink = lines_of(read_image(Path(folder) / "target" / f"{stem}.png"))
    paper = ~cv2.dilate(ink.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    for method in ("flatten", "flatten-neutral"):
        grey = condition(image, method).astype(np.float32).mean(axis=2)
        print(
            f"{page} {method}: ink median {np.median(grey[ink]):.0f}, "
            f"p75 {np.percentile(grey[ink], 75):.0f}; "
            f"paper median {np.median(grey[paper]):.0f}, p5 {np.percentile(grey[paper], 5):.0f}"
        )
