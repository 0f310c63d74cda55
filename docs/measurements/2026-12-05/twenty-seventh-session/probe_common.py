"""What the two probes share: a shipped model's line F1 (P / R) on a held-out set, summed over its
pages, for each arm (a function of the page giving the probability map)."""

from collections.abc import Callable
from pathlib import Path

import numpy as np

from toolkit.analysis.evaluate import lines_of
from toolkit.analysis.metrics import add_counts, all_counts, scores
from toolkit.api import LineModel
from toolkit.data.datasets import pair_folder
from toolkit.imaging.imageio import read_image

Arm = Callable[[LineModel, np.ndarray], np.ndarray]


def cell(counts: dict[str, int]) -> str:
    s = scores(counts)
    return f"{s['line_f1']:.4f} (P {s['line_precision']:.3f} / R {s['line_recall']:.3f})"


def probe(model: str, sets: list[str], arms: dict[str, Arm]) -> None:
    with LineModel(model, precision="fp32") as runner:
        for name in sets:
            totals: dict[str, dict[str, int]] = {arm: {} for arm in arms}
            for inp, tgt in pair_folder(Path("data", name)):
                image, target = read_image(inp), lines_of(read_image(tgt))
                for arm, probability in arms.items():
                    found = probability(runner, image) >= runner.card.threshold
                    totals[arm] = add_counts(totals[arm], all_counts(found, target))
            print(name, "; ".join(f"{arm} {cell(c)}" for arm, c in totals.items()), flush=True)
