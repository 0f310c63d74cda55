"""Where the scale-3 road starts: on the calibration pages of scale 2, 2.5 and 3 (data/routecal-512,
-640 and -768: `toolkit synth --kind painting --count 32 --seed 45/46/47 --size S`, no held-out set's
seeds), each page's `contour` width (FP32, as the router reads it) and the line counts of `contour`
and of the candidate expert; for each threshold on the grid, the line F1 (summed over the pages, as
`toolkit evaluate` sums) when the pages at or over it are the expert's. The rule
(ship-rules.md) takes the best threshold over all 96 pages.

    python choose_threshold.py EXPERT.onnx > choose_threshold.txt
"""

import sys
from pathlib import Path

import numpy as np

from toolkit.analysis.metrics import add_counts, all_counts, scores
from toolkit.core.shipped import SHIPPED_DIR
from toolkit.imaging.imageio import lines_of, read_image
from toolkit.runtime.onnxruntime_runner import OnnxRuntimeRunner
from toolkit.runtime.routing import line_width
from toolkit.runtime.tiling import predict_tiled

SETS = ("routecal-512", "routecal-640", "routecal-768")
GRID = np.arange(4.5, 6.51, 0.25)


def pages(expert: Path) -> list[tuple[str, float, dict, dict]]:
    """(set, width, contour's counts, the expert's counts) per page."""
    found = []
    with OnnxRuntimeRunner(SHIPPED_DIR / "contour.onnx") as base, OnnxRuntimeRunner(expert) as other:
        for name in SETS:
            for path in sorted(Path("data", name, "input").iterdir()):
                image, target = (
                    read_image(path),
                    lines_of(read_image(Path("data", name, "target", path.name))),
                )
                drawn = predict_tiled(base, image) >= base.card.threshold
                width = line_width(drawn)
                redrawn = predict_tiled(other, image) >= other.card.threshold
                found.append((name, width or 0.0, all_counts(drawn, target), all_counts(redrawn, target)))
    return found


def f1(chosen: list[dict]) -> float:
    total: dict = {}
    for counts in chosen:
        total = add_counts(total, counts)
    return scores(total)["line_f1"]


def main(expert: str) -> None:
    found = pages(Path(expert))
    groups = {"all": found, **{name: [page for page in found if page[0] == name] for name in SETS}}
    print("threshold  " + "  ".join(f"{name:>14s}" for name in groups) + "  (line F1; pages to the expert)")
    rows = [("contour", np.inf), *((f"{t:.2f}", t) for t in GRID), ("expert", -np.inf)]
    for label, threshold in rows:
        cells = []
        for group in groups.values():
            sent = [page[1] >= threshold for page in group]
            value = f1([page[3] if go else page[2] for page, go in zip(group, sent)])
            cells.append(f"{value:.4f} ({sum(sent):2d})")
        print(f"{label:9s}  " + "  ".join(f"{cell:>14s}" for cell in cells))
    for name in SETS:
        widths = [page[1] for page in groups[name]]
        print(
            f"{name}: contour widths 5/50/95 % "
            + " / ".join(f"{w:.2f}" for w in np.percentile(widths, [5, 50, 95]))
        )


if __name__ == "__main__":
    main(sys.argv[1])
