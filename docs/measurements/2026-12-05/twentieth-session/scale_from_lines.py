"""Can a page's element scale be read off what the shipped `contour` draws? Per page: the width of
its predicted lines (ink pixels per centre-line pixel), for the held-out sets at scale 1, 2 and 3.
If the ranges part, a router could send each page to a model of its scale (the twentieth session's
probes: a model of one scale is 2 points better at it).

    python scale_from_lines.py
"""

from pathlib import Path

import numpy as np
from skimage.morphology import skeletonize

from toolkit import LineModel, read_image

SETS = {1: "data/heldout-painting", 2: "data/held-painting-512", 3: "data/heldout-painting-768x1024"}


def main() -> None:
    with LineModel("contour", precision="fp32") as model:
        for scale, root in SETS.items():
            widths = []
            for path in sorted((Path(root) / "input").iterdir())[:48]:
                lines = model.lines(read_image(path), "binary") < 128
                widths.append(lines.sum() / max(1, skeletonize(lines).sum()))
            low, mid, high = np.percentile(widths, [5, 50, 95])
            print(f"scale {scale} ({root}): line width 5/50/95 % {low:.2f} / {mid:.2f} / {high:.2f} px")


if __name__ == "__main__":
    main()
