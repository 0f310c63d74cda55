"""Why the faint road lost at 8 px strokes (both sweeps): on pages of thick strokes (`toolkit synth --kind
sketch --size 256 --count 24 --seed 65 --pin stroke_width=7.5:8`), thin strokes (seed 66, `--pin
stroke_width=1:3`) and faint pencil (data/held4-faint-424), each page's `PencilSnr` reading of
`unet-light`'s lines, that reading with the paper's noise read off its bright side only (2 x (median - 10th
percentile): stroke edges further than the margin from the drawn centre line are darker than the paper,
never brighter), and the line F1 of `unet-light` and of the candidate expert on it.

    python thick_strokes.py EXPERT.onnx THRESHOLD FOLDER ... > thick_strokes.txt
"""

import sys
from pathlib import Path

import numpy as np

from toolkit.analysis.metrics import all_counts, scores
from toolkit.core.shipped import SHIPPED_DIR
from toolkit.imaging.conditioning import condition
from toolkit.imaging.imageio import lines_of, read_image
from toolkit.runtime.onnxruntime_runner import OnnxRuntimeRunner
from toolkit.runtime.routing import PencilSnr, percentiles
from toolkit.runtime.tiling import predict_tiled


def readings(image: np.ndarray, ink: np.ndarray) -> tuple[float, float]:
    meter = PencilSnr(image)
    meter.add(ink)
    both = meter.finish() or 0.0
    pencil, (p10, p50) = percentiles(meter.pencil, 50)[0], percentiles(meter.paper, 10, 50)
    return both, (pencil - p50) / max(2 * (p50 - p10), 1.0)


def main(expert: str, threshold: str, folders: list[str]) -> None:
    limit = float(threshold)
    with OnnxRuntimeRunner(SHIPPED_DIR / "unet-light.onnx") as base, OnnxRuntimeRunner(Path(expert)) as other:
        for folder in folders:
            rows = []
            for path in sorted(Path(folder, "input").iterdir()):
                image = read_image(path)
                target = lines_of(read_image(Path(folder, "target", path.name)))
                drawn = predict_tiled(base, image) >= base.card.threshold
                redrawn = predict_tiled(other, image) >= other.card.threshold
                both, bright = readings(condition(image, base.card.conditioning), drawn)
                f1 = [scores(all_counts(d, target))["line_f1"] for d in (drawn, redrawn)]
                rows.append((both, bright, *f1))
            sent = [r for r in rows if r[0] < limit]
            sent_bright = [r for r in rows if r[1] < limit]
            print(f"{folder}: {len(rows)} pages")
            for index, side in ((0, "both sides"), (1, "bright side")):
                spread = np.percentile([r[index] for r in rows], [5, 50, 95]).round(2)
                print(f"  reading ({side}) 5/50/95 %: {spread}")
            for label, group in (("both sides", sent), ("bright side", sent_bright)):
                gain = np.mean([r[3] - r[2] for r in group]) if group else 0.0
                print(f"  under {limit} by {label}: {len(group)} pages, expert - base line F1 {gain:+.4f}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
