"""What holds the sweep's faint end (10 grey levels of pencil contrast, every other factor at its
middle) near line F1 0.6: the pencil, or what the middle settings do to it? `unet-light`'s line F1
(P / R) on the same 16 pages (sweep seeds 7 and 9, as `toolkit sweep` draws them) with one or more
of the middle's degradations turned off, and on pages of 15 and 20 grey levels. Another graph (a
candidate expert) in place of `unet-light` with GRAPH.

    python faint_end_limits.py [GRAPH] > faint_end_limits.txt
"""

import sys
from pathlib import Path

from toolkit.analysis.metrics import add_counts, all_counts, scores
from toolkit.analysis.sweep import middle_factors
from toolkit.core.shipped import SHIPPED_DIR
from toolkit.data.synthetic import held_out_seed, make_pair
from toolkit.imaging.imageio import lines_of
from toolkit.runtime.onnxruntime_runner import OnnxRuntimeRunner
from toolkit.runtime.tiling import predict_tiled

PAGES, SIZE, SEEDS = 8, 256, (7, 9)
CLEAN = {"jpeg_quality": 100, "noise": 0.0}
VARIANTS = {
    "middle (the sweep's point)": {},
    "no JPEG (quality 100)": {"jpeg_quality": 100},
    "no noise": {"noise": 0.0},
    "no JPEG, no noise": CLEAN,
    "no grid": {"grid": 0.0},
    "no construction pencil": {"construction_colour": 0.0},
    "no grid, no construction pencil": {"grid": 0.0, "construction_colour": 0.0},
    "no JPEG, no noise, no grid, no construction pencil": CLEAN | {"grid": 0.0, "construction_colour": 0.0},
    "... and no lighting, shadow or vignetting": CLEAN
    | {"grid": 0.0, "construction_colour": 0.0, "lighting": 0.0, "shadow": 0.0, "vignetting": 0.0},
}


def main(graph: Path) -> None:
    with OnnxRuntimeRunner(graph) as model:
        for contrast in (10.0, 15.0, 20.0):
            print(f"pencil contrast {contrast:g} grey levels:")
            for label, changes in VARIANTS.items():
                values = middle_factors("sketch") | {"pencil_contrast": contrast} | changes
                total: dict[str, int] = {}
                for seed in SEEDS:
                    for index in range(PAGES):
                        image, target = make_pair(
                            "sketch", SIZE, SIZE, held_out_seed(seed, index), factors=values
                        )
                        drawn = predict_tiled(model, image) >= model.card.threshold
                        total = add_counts(total, all_counts(drawn, lines_of(target)))
                s = scores(total)
                print(
                    f"  {label:52s} {s['line_f1']:.4f} "
                    f"(P {s['line_precision']:.3f} / R {s['line_recall']:.3f})",
                    flush=True,
                )


if __name__ == "__main__":
    main(Path(sys.argv[1]) if sys.argv[1:] else SHIPPED_DIR / "unet-light.onnx")
