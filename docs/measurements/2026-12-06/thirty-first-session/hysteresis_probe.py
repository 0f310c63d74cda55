"""Probe: hysteresis binarisation of `contour`'s probability map against one threshold, line F1 over a
set's pages. Fresh pages (`toolkit synth --kind painting --count 24 --size 512 --seed 98 -o SET`):

    python hysteresis_probe.py SET [GRAPH.onnx]
"""

import sys
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from toolkit.analysis import metrics
from toolkit.imaging.imageio import lines_of, read_image
from toolkit.runtime.onnxruntime_runner import OnnxRuntimeRunner
from toolkit.runtime.tiling import predict_tiled


def hysteresis(prob: np.ndarray, low: float, high: float) -> np.ndarray:
    """Pixels of at least `low` connected (8-way) to a pixel of at least `high`."""
    _, labels = cv2.connectedComponents((prob >= low).astype(np.uint8), connectivity=8)
    strong = np.zeros(labels.max() + 1, bool)
    strong[np.unique(labels[prob >= high])] = True
    strong[0] = False
    return strong[labels]


def main(folder: Path, graph: Path) -> None:
    pages = sorted((folder / "input").glob("*.png"))
    with OnnxRuntimeRunner(graph, threads=1) as runner:
        probs = [predict_tiled(runner, read_image(page)) for page in pages]
    targets = [lines_of(read_image(folder / "target" / page.name)) for page in pages]

    def score(binarise: Callable[[np.ndarray], np.ndarray]) -> str:
        total: dict[str, int] = {}
        for prob, target in zip(probs, targets):
            total = metrics.add_counts(total, metrics.all_counts(binarise(prob), target))
        got = metrics.scores(total)
        return f"{got['line_f1']:.4f} (P {got['line_precision']:.3f} / R {got['line_recall']:.3f})"

    for threshold in (0.4, 0.5, 0.6):
        print(f"threshold {threshold}: {score(lambda p, t=threshold: p >= t)}")
    for low, high in ((0.3, 0.5), (0.25, 0.5), (0.35, 0.6), (0.3, 0.6), (0.2, 0.6), (0.4, 0.7), (0.3, 0.7)):
        print(f"hysteresis {low}/{high}: {score(lambda p, lo=low, hi=high: hysteresis(p, lo, hi))}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2] if len(sys.argv) > 2 else "toolkit/weights/contour.onnx"))
