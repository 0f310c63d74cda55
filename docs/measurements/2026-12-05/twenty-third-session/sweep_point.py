"""The sweep's pages at one factor value (everything else at its middle, as `toolkit sweep` draws them),
page by page: the `PencilSnr` reading of `unet-light`'s lines (with the pencil's darkness quartiles and the
paper's 10th/50th/90th percentiles it is read from, levels of 255, and the share of the target that is
line), and the line F1 of `unet-light` and of the candidate expert. Why the faint road lost at 8 px
strokes on both sweeps (ship-rules.md).

    python sweep_point.py EXPERT.onnx FACTOR VALUE SEED ... > sweep_point.txt
"""

import sys
from pathlib import Path

from toolkit.analysis.metrics import all_counts, scores
from toolkit.analysis.sweep import middle_factors
from toolkit.core.shipped import SHIPPED_DIR
from toolkit.data.synthetic import held_out_seed, make_pair
from toolkit.imaging.conditioning import condition
from toolkit.imaging.imageio import lines_of
from toolkit.runtime.onnxruntime_runner import OnnxRuntimeRunner
from toolkit.runtime.routing import PencilSnr, percentiles
from toolkit.runtime.tiling import predict_tiled

PAGES, SIZE = 8, 256  # as the sweeps of ship-rules.md


def main(expert: str, factor: str, value: str, seeds: list[str]) -> None:
    values = middle_factors("sketch") | {factor: float(value)}
    with OnnxRuntimeRunner(SHIPPED_DIR / "unet-light.onnx") as base, OnnxRuntimeRunner(Path(expert)) as other:
        for seed in seeds:
            print(f"sweep seed {seed}, {factor} = {value}:")
            for index in range(PAGES):
                image, target = make_pair(
                    "sketch", SIZE, SIZE, held_out_seed(int(seed), index), factors=values
                )
                truth = lines_of(target)
                drawn = predict_tiled(base, image) >= base.card.threshold
                redrawn = predict_tiled(other, image) >= other.card.threshold
                meter = PencilSnr(condition(image, base.card.conditioning))
                meter.add(drawn)
                reading = meter.finish() or 0.0
                pencil, paper = percentiles(meter.pencil, 25, 50, 75), percentiles(meter.paper, 10, 50, 90)
                f1 = [scores(all_counts(d, truth))["line_f1"] for d in (drawn, redrawn)]
                print(
                    f"  page {index}: reading {reading:5.2f} (pencil {pencil}, paper {paper}, target "
                    f"{truth.mean():.0%} line), F1 unet-light {f1[0]:.4f}, expert {f1[1]:.4f}"
                )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:])
