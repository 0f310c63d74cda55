"""Line F1 (P / R) of a shipped model's probability map binarised three ways, on sets under data/: at
single thresholds, and by hysteresis (keep a connected region of pixels >= LOW only where it holds a
pixel >= HIGH, as Canny keeps its edges). Whether hysteresis recovers faint lines that one threshold
drops without drawing the faint noise it would let in.

    python hysteresis_probe.py MODEL SET [SET ...] > hysteresis_probe-MODEL.txt
"""

import sys
from pathlib import Path

import cv2
import numpy as np

import toolkit
from toolkit.analysis.metrics import add_counts, all_counts, scores
from toolkit.data.datasets import pair_folder
from toolkit.imaging.imageio import lines_of

SINGLE = (0.3, 0.4, 0.5, 0.6)
PAIRS = [(low, high) for low in (0.15, 0.2, 0.3, 0.4) for high in (0.5, 0.6, 0.7, 0.8)]


def hysteresis(probability: np.ndarray, low: float, high: float) -> np.ndarray:
    count, labels = cv2.connectedComponents((probability >= low).astype(np.uint8), connectivity=8)
    keep = np.zeros(count, dtype=bool)
    keep[np.unique(labels[probability >= high])] = True
    keep[0] = False
    return keep[labels]


def main(model: str, sets: list[str]) -> None:
    with toolkit.LineModel(model, precision="fp32") as runner:
        for name in sets:
            totals: dict[str, dict[str, int]] = {}
            for input_path, target_path in pair_folder(Path("data", name)):
                image = toolkit.read_image(input_path)
                truth = lines_of(toolkit.read_image(target_path))
                probability = runner.probability(image)
                ways = {f"t{t}": probability >= t for t in SINGLE}
                ways |= {f"h{lo}-{hi}": hysteresis(probability, lo, hi) for lo, hi in PAIRS}
                for way, drawn in ways.items():
                    totals[way] = add_counts(totals.get(way, {}), all_counts(drawn, truth))
            print(f"{name}:")
            for way, counts in totals.items():
                s = scores(counts)
                f1, precision, recall = s["line_f1"], s["line_precision"], s["line_recall"]
                print(f"  {way:10s} {f1:.4f} (P {precision:.3f} / R {recall:.3f})")
            sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
