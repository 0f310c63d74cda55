"""The shipped `unet-light` behind variants of its `flatten` conditioning, inference only (no training).

    python conditioning_probe.py VARIANT[,VARIANT...]|all SET [SET...]

SET is a `toolkit synth` folder, or faintN: 16 sweep pages at `pencil_contrast` N with every other
factor at the sweep's middle. Prints line F1 (precision, recall) per variant. `flatten_v` with no
options reproduces toolkit.imaging.conditioning.flatten within one grey level; its options are the
channel reduction the stretch is read on, how the paper estimate meets the page's border, and the
gain cap.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

import toolkit
from toolkit.analysis.evaluate import Scoreboard
from toolkit.analysis.sweep import SWEEP_SEED
from toolkit.data.factors import middle_factors
from toolkit.data.synthetic import held_out_seed, make_pair
from toolkit.imaging import conditioning
from toolkit.imaging.imageio import lines_of, read_image

VARIANTS = {
    "flatten": {},
    "graphite": {"stretch_on": "brightest"},  # = --conditioning flatten-graphite
    "flatten/linear": {"border": "linear"},
    "graphite/linear": {"stretch_on": "brightest", "border": "linear"},
    "graphite/replicate": {"stretch_on": "brightest", "border": "replicate"},
    "graphite/linear/g4": {"stretch_on": "brightest", "border": "linear", "max_gain": 4.0},
    "graphite/linear/g6": {"stretch_on": "brightest", "border": "linear", "max_gain": 6.0},
    "flatten/linear/g16": {"border": "linear", "max_gain": 16.0},
}


def paper_estimate(small: np.ndarray, border: str, sigma: float = 3.0) -> np.ndarray:
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))
    if border == "current":  # as shipped
        return cv2.GaussianBlur(cv2.morphologyEx(small, cv2.MORPH_CLOSE, kernel), (0, 0), sigma)
    pad = 9 + int(3 * sigma)
    big = cv2.copyMakeBorder(small, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    closed = cv2.morphologyEx(big, cv2.MORPH_CLOSE, kernel, borderType=cv2.BORDER_REPLICATE)
    if border == "linear":  # the closed estimate continued past the border along its own slope
        inner = closed[pad:-pad, pad:-pad]
        closed = 2 * cv2.copyMakeBorder(inner, pad, pad, pad, pad, cv2.BORDER_REPLICATE) - cv2.copyMakeBorder(
            inner, pad, pad, pad, pad, cv2.BORDER_REFLECT_101
        )
    return cv2.GaussianBlur(closed, (0, 0), sigma)[pad:-pad, pad:-pad]


def flatten_v(
    image: np.ndarray, *, stretch_on: str = "mean", border: str = "current", max_gain: float = 8.0
) -> np.ndarray:
    top = float(np.iinfo(image.dtype).max)
    height, width, channels = image.shape
    factor = min(1.0, conditioning.PAPER_GRID / max(height, width))
    small = cv2.resize(image, (round(width * factor), round(height * factor)), interpolation=cv2.INTER_AREA)
    small = small.astype(np.float32) / np.float32(top)
    paper = paper_estimate(small, border).reshape(small.shape)
    paper = np.maximum(paper * np.percentile(small / np.maximum(paper, 1e-3), 75, axis=(0, 1)), 1e-3)
    flat_small = small / paper
    darkness = flat_small.max(axis=2) if stretch_on == "brightest" else flat_small.mean(axis=2)
    gain = min(max_gain, 1.0 / max(1.0 - float(np.percentile(darkness, 0.5)), 1e-6))
    under = conditioning.paper_at(paper, slice(0, height), height, width).reshape(height, width, channels)
    out = image.astype(np.float32) / top / under * gain - (gain - 1)
    return np.clip(np.round(out * top), 0, top).astype(image.dtype)


def pages(name: str):
    if name.startswith("faint"):
        values = middle_factors("sketch") | {"pencil_contrast": float(name[5:])}
        for index in range(16):
            image, target = make_pair("sketch", 256, 256, held_out_seed(SWEEP_SEED, index), factors=values)
            yield image, lines_of(target)
        return
    data = Path(name)
    for path in sorted((data / "input").iterdir()):
        yield read_image(path), lines_of(read_image(data / "target" / f"{path.stem}.png"))


def main(chosen: str, sets: list[str]) -> None:
    names = list(VARIANTS) if chosen == "all" else chosen.split(",")
    with toolkit.LineModel("unet-light", precision="fp32") as model:
        for name in sets:
            board = Scoreboard()
            for image, truth in pages(name):
                for variant in names:
                    seen = flatten_v(image, **VARIANTS[variant]).view(conditioning.Conditioned)
                    seen.method = model.card.conditioning  # conditioned already: the runner leaves it
                    board.add(variant, model.probability(seen) >= model.card.threshold, truth)
            for variant, s in board.scores().items():
                print(
                    f"{Path(name).name:24s} {variant:20s} line F1 {s['line_f1']:.4f} "
                    f"(P {s['line_precision']:.3f} / R {s['line_recall']:.3f})",
                    flush=True,
                )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
