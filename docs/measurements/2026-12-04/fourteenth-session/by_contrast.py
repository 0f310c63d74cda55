"""Line F1 of two graphs on held-out sets, split by the pages' pencil contrast (pages.json).

    python by_contrast.py before.onnx toolkit/weights/unet-light.onnx data/heldout-sketch-768x1024 ...

Micro-averaged over the pages of each contrast band, as `toolkit evaluate` averages a set; each graph
runs as `toolkit infer` runs it (whole page, the conditioning its card names).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import toolkit
from toolkit.analysis.evaluate import Scoreboard
from toolkit.imaging.imageio import lines_of, read_image

BANDS = ((0, 25), (25, 40), (40, 80), (80, 256))  # grey levels between the graphite and the paper


def main(before: Path, after: Path, sets: list[Path]) -> None:
    boards = {band: Scoreboard() for band in BANDS}
    count = {band: 0 for band in BANDS}
    with toolkit.LineModel(before) as old, toolkit.LineModel(after) as new:
        for folder in sets:
            factors = json.loads((folder / "pages.json").read_text())["pages"]
            for stem, page in sorted(factors.items()):
                contrast = page["factors"]["pencil_contrast"]
                band = next(b for b in BANDS if b[0] <= contrast < b[1])
                image = read_image(folder / "input" / f"{stem}.png")
                truth = lines_of(read_image(folder / "target" / f"{stem}.png"))
                for name, model in (("before", old), ("after", new)):
                    boards[band].add(name, model.probability(image) >= model.card.threshold, truth)
                count[band] += 1
    print(f"{sum(count.values())} pages of {', '.join(str(s) for s in sets)}")
    for band, board in boards.items():
        if count[band]:
            f1 = {name: r["line_f1"] for name, r in board.scores().items()}
            scores = f"line F1 before {f1['before']:.4f}, after {f1['after']:.4f}"
            print(f"pencil contrast {band[0]}-{band[1]}: {count[band]} pages, {scores}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), [Path(a) for a in sys.argv[3:]])
