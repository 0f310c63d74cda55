"""Line F1 of a model with and without flip averaging (test-time augmentation), inference only.

    python flip_probe.py SET MODEL

"plain": one pass; "h2": the mean with the left-right flip's; "hv4": the mean over the four flips;
"max4": their maximum.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import toolkit
from toolkit.analysis.evaluate import Scoreboard
from toolkit.imaging.imageio import lines_of, read_image

FLIPS = {
    "id": lambda a: a,
    "h": lambda a: a[:, ::-1],
    "v": lambda a: a[::-1],
    "hv": lambda a: a[::-1, ::-1],
}


def main(data: Path, model_name: str) -> None:
    board = Scoreboard()
    with toolkit.LineModel(model_name, precision="fp32") as model:
        threshold = model.card.threshold
        for path in sorted((data / "input").iterdir()):
            image = read_image(path)
            truth = lines_of(read_image(data / "target" / f"{path.stem}.png"))
            # each flip's prediction flipped back (a flip is its own inverse)
            p = {k: flip(model.probability(np.ascontiguousarray(flip(image)))) for k, flip in FLIPS.items()}
            board.add("plain", p["id"] >= threshold, truth)
            board.add("h2", (p["id"] + p["h"]) / 2 >= threshold, truth)
            board.add("hv4", sum(p.values()) / 4 >= threshold, truth)
            board.add("max4", np.maximum.reduce(list(p.values())) >= threshold, truth)
    for name, s in board.scores().items():
        p, r = s["line_precision"], s["line_recall"]
        print(f"{name:6s} line F1 {s['line_f1']:.4f} (P {p:.4f} / R {r:.4f})")


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
