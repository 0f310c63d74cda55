"""Where `unet-light`'s road to its faint expert should stand: line F1 of each held-out set routed at
other thresholds of its reading (`pencil_snr`, shipped: expert below 4.0).

    python docs/measurements/2026-12-06/twenty-eighth-session/road_threshold.py > road_threshold.txt
    python .../road_threshold.py --json road_threshold-fresh.json held28-sketch-424 ... (the confirmation)

Each page is drawn once by `unet-light` alone and once by `unet-light-faint` alone (FP32), and its
reading taken as the shipped route takes it; a threshold's score sums each page's counts from the
model that threshold sends it to (the same pages, the same models: only the road moves).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from toolkit.analysis.metrics import add_counts, all_counts, scores
from toolkit.api import LineModel
from toolkit.data.datasets import pair_folder
from toolkit.imaging.imageio import lines_of, read_image

SETS = (
    "heldout-sketch",
    "held26-sketch-424",
    "heldout-sketch-768x1024",
    "held-faint-424",
    "held26-faint-424",
    "held-faint-768x1024",
    "held26-faint-768x1024",
    "held28-white-faint-424",
)
THRESHOLDS = (0.0, 4.0, 5.0, 6.0, 8.0, 10.0, 15.0, float("inf"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("sets", nargs="*", default=list(SETS), help="folders under data/")
    parser.add_argument(
        "--json", default="road_threshold.json", help="name of the pages' record, beside this"
    )
    args = parser.parse_args()
    pages: dict[str, list[dict]] = {}
    with (
        LineModel("unet-light", precision="fp32") as routed,
        LineModel("toolkit/weights/unet-light.onnx") as base,
        LineModel("toolkit/weights/unet-light-faint.onnx") as expert,
    ):
        for name in args.sets:
            for inp, tgt in pair_folder(Path("data", name)):
                image, truth = read_image(inp), lines_of(read_image(tgt))
                routed.probability(image)
                reading = routed.runner.last.value
                counts = {
                    model: all_counts(runner.probability(image) >= 0.5, truth)
                    for model, runner in (("base", base), ("expert", expert))
                }
                pages.setdefault(name, []).append({"page": inp.stem, "reading": reading, **counts})
            print(name, "read", flush=True)
    Path(__file__).with_name(args.json).write_text(json.dumps(pages))
    print("set | " + " | ".join(f"expert below {t:g}" for t in THRESHOLDS))
    for name, rows in pages.items():
        cells = []
        for threshold in THRESHOLDS:
            total: dict[str, int] = {}
            sent = 0
            for row in rows:
                to_expert = row["reading"] is not None and row["reading"] < threshold
                sent += to_expert
                total = add_counts(total, row["expert" if to_expert else "base"])
            cells.append(f"{scores(total)['line_f1']:.4f} ({sent})")
        print(f"{name} | " + " | ".join(cells), flush=True)


if __name__ == "__main__":
    main()
