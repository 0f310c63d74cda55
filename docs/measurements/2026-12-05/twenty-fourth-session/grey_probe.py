"""Would the model do better if coloured pencil were grey? `unet-light` (or GRAPH) on its conditioned
page as it is, and on the same page with every pixel made neutral at its brightest channel's level
(graphite is neutral; blue and red construction pencil, which the target drops, keep their brightest
channel near the paper's, so they fade to faint grey). No retraining: a page without construction
pencil is one the model was trained on. Line F1 (P / R) on sweep pages (seeds 7 and 9, 8 pages each,
the middle settings but the factor named) and on held-out sets under data/.

    python grey_probe.py [GRAPH] > grey_probe.txt

With a chroma weight, coloured pencil is lifted to the paper, not only faded.
"""

import sys
from pathlib import Path

import numpy as np

from toolkit.analysis.metrics import add_counts, all_counts, scores
from toolkit.analysis.sweep import middle_factors
from toolkit.core.shipped import SHIPPED_DIR
from toolkit.data.datasets import pair_folder
from toolkit.data.synthetic import held_out_seed, make_pair
from toolkit.imaging.conditioning import Conditioned, conditioned
from toolkit.imaging.imageio import lines_of, read_image
from toolkit.runtime.onnxruntime_runner import OnnxRuntimeRunner
from toolkit.runtime.tiling import predict_tiled

POINTS = [
    ("pencil_contrast", 10.0),
    ("pencil_contrast", 15.0),
    ("pencil_contrast", 20.0),
    ("pencil_contrast", 57.5),
    ("pencil_contrast", 200.0),
    ("construction_colour", 0.0),
    ("construction_colour", 1.0),
    ("grid", 0.5),
    ("paper_tint", 0.15),
    ("colour_cast", 0.15),
    ("stroke_width", 8.0),
]
WAYS = {"grey": 0.0, "grey-0.3": 0.3, "grey-1": 1.0}  # chroma weights
SETS = ("held-faint-424", "held5-faint-424", "heldout-sketch", "held-sketch-424", "held5-sketch-424")


def grey(page: np.ndarray, chroma_weight: float = 0.0) -> np.ndarray:
    """Each pixel neutral at its brightest channel's level, darkened less by `chroma_weight` times its
    chroma (brightest less darkest channel: 0 for graphite), marked conditioned as `page` was."""
    brightest, darkest = page.max(axis=2).astype(np.float32), page.min(axis=2).astype(np.float32)
    level = np.clip(brightest + chroma_weight * (brightest - darkest), 0, 255).astype(np.uint8)
    out = np.repeat(level[..., None], 3, axis=2).view(Conditioned)
    out.method = page.method
    return out


def pages_of(source: str | tuple[str, float]):
    if isinstance(source, str):
        for input_path, target_path in pair_folder(Path("data", source)):
            yield read_image(input_path), lines_of(read_image(target_path))
        return
    factor, value = source
    values = middle_factors("sketch") | {factor: value}
    for seed in (7, 9):
        for index in range(8):
            image, target = make_pair("sketch", 256, 256, held_out_seed(seed, index), factors=values)
            yield image, lines_of(target)


def main(graph: Path) -> None:
    with OnnxRuntimeRunner(graph) as model:
        for source in [*POINTS, *SETS]:
            totals: dict[str, dict[str, int]] = {label: {} for label in ("as is", *WAYS)}
            for image, truth in pages_of(source):
                page = conditioned(image, model.card.conditioning)
                for label, seen in (("as is", page), *((w, grey(page, k)) for w, k in WAYS.items())):
                    drawn = predict_tiled(model, seen) >= model.card.threshold
                    totals[label] = add_counts(totals[label], all_counts(drawn, truth))
            cells = []
            for label, counts in totals.items():
                s = scores(counts)
                cells.append(
                    f"{label} {s['line_f1']:.4f} (P {s['line_precision']:.3f} / R {s['line_recall']:.3f})"
                )
            name = source if isinstance(source, str) else f"{source[0]} = {source[1]:g}"
            print(f"{name:28s} {' | '.join(cells)}", flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if sys.argv[1:] else SHIPPED_DIR / "unet-light.onnx")
