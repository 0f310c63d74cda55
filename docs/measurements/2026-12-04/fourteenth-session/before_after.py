"""Held-out pages drawn by two graphs side by side: input | before | after | target, with each page's line F1.

    git show 5edecce:toolkit/weights/unet-light.onnx > before.onnx
    python before_after.py before.onnx toolkit/weights/unet-light.onnx -o before_after.png \
        data/heldout-sketch-768x1024:00016 data/heldout-sketch-768x1024:00014 ...

Each graph (a file runs as it is: FP32 here) runs with the conditioning its own card names (`flatten`
before, `flatten-neutral` after), on the whole page, as `toolkit infer` runs it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

import toolkit
from toolkit.analysis.metrics import all_counts, scores
from toolkit.core.fileio import write_png
from toolkit.imaging.imageio import lines_of, read_image

WIDTH = 300


def tile(pixels: np.ndarray, label: str) -> np.ndarray:
    rgb = pixels if pixels.ndim == 3 else cv2.cvtColor(pixels, cv2.COLOR_GRAY2RGB)
    rgb = cv2.resize(
        rgb[..., :3], (WIDTH, round(rgb.shape[0] * WIDTH / rgb.shape[1])), interpolation=cv2.INTER_AREA
    )
    cv2.putText(rgb, label, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (220, 0, 0), 2, cv2.LINE_AA)
    return rgb


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("pages", nargs="+", help="SET_FOLDER:PAGE_STEM")
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args()
    with toolkit.LineModel(args.before) as before, toolkit.LineModel(args.after) as after:
        rows = []
        for page in args.pages:
            folder, stem = page.rsplit(":", 1)
            image = read_image(Path(folder) / "input" / f"{stem}.png")
            truth = lines_of(read_image(Path(folder) / "target" / f"{stem}.png"))
            row = [tile(image, f"{Path(folder).name} {stem}")]
            for name, model in (("before", before), ("after", after)):
                ink = model.probability(image) >= model.card.threshold
                f1 = scores(all_counts(ink, truth))["line_f1"]
                print(f"{page} {name}: line F1 {f1:.3f}")
                row.append(tile(np.where(ink, 0, 255).astype(np.uint8), f"{name}: F1 {f1:.3f}"))
            row.append(tile(np.where(truth, 0, 255).astype(np.uint8), "target"))
            gap = np.full((row[0].shape[0], 6, 3), 255, np.uint8)
            rows += [
                np.concatenate([x for t in row for x in (t, gap)][:-1], axis=1),
                np.full((6, 4 * WIDTH + 18, 3), 255, np.uint8),
            ]
    write_png(args.output, np.concatenate(rows[:-1], axis=0), overwrite=True)


if __name__ == "__main__":
    main()
