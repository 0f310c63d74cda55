"""The road's reading of every page of a set on this CPU (FP32 graphs), the pages sent, and those whose
reading lies within 0.1 of the threshold: where two CPUs' FP32 kernels can send a page differently.

    python near_threshold.py data/heldout-sketch
"""

import sys
from pathlib import Path

from toolkit.api import LineModel
from toolkit.core.shipped import ROUTES
from toolkit.imaging.imageio import read_image

THRESHOLD = ROUTES["unet-light"].roads[0].high


def main(folder: Path) -> None:
    readings = {}
    with LineModel("unet-light", precision="fp32") as model:
        for page in sorted((folder / "input").glob("*.png")):
            model.probability(read_image(page))
            readings[page.name] = model.last_route.value
    read = {name: value for name, value in readings.items() if value is not None}
    sent = [name for name, value in read.items() if value < THRESHOLD]
    near = {name: round(value, 4) for name, value in read.items() if abs(value - THRESHOLD) < 0.1}
    print(f"{folder}: {len(sent)} of {len(readings)} pages sent (under {THRESHOLD:g}); within 0.1: {near}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
