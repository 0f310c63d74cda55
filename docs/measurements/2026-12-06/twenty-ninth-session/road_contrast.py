"""A second gate on `unet-light`'s faint road: the pencil's raw contrast in grey levels.

    python road_contrast.py read OUT.json --sets SET ... --sweeps SEED ...  (from the repository root)
    python road_contrast.py score OUT.json [--rule T C]

Why: moving the road (`pencil_snr`, the pencil's darkness over the paper's noise on the conditioned
page) from 4 to 8 raised every faint set but cost thin, noisy and sharp everyday pages (stroke width 1
-2.75 points, noise 0.04 -1.18, 600 dpi -1.26; twenty-eighth session, road_sweep.txt): those read a
low SNR through blur or noise, not through faint graphite. Their graphite is dark in grey levels of
the page as scanned; a faint page's is not. So a page between 4 and T might go to the expert only
where the pencil on the centre lines `unet-light` drew is under C grey levels darker than the paper
around them (medians, the brightest channel, as `PencilSnr` reads them, but on the unconditioned
page).

`read` draws every page of the sets (folders under data/) and of the sweeps (16 pages a point,
256 px, as `toolkit sweep --seed N --images 16`) with `unet-light` and `unet-light-faint` alone
(FP32), takes the shipped route's reading and the raw contrast, and writes them with each model's
counts. `score` prints line F1 per set and the sweep's points pooled over seeds for road 4 (shipped),
road 8, and each rule "under 4, or under T with contrast under C".
"""

from __future__ import annotations

import argparse
import contextlib
import json
from pathlib import Path

import cv2
import numpy as np

from toolkit.analysis.metrics import add_counts, all_counts, scores
from toolkit.analysis.sweep import SCALE_AXIS, SweepPlan
from toolkit.api import LineModel
from toolkit.data.datasets import pair_folder
from toolkit.data.factors import middle_factors
from toolkit.data.synthetic import held_out_seed, make_pair
from toolkit.imaging.imageio import lines_of, read_image
from toolkit.runtime.routing import PAPER_MARGIN, centre_lines, percentiles

SHIPPED = 4.0
RULES = [(t, c) for t in (6.0, 8.0, 10.0) for c in (20, 30, 40, 50, 60, 80)]


def raw_contrast(image: np.ndarray, ink: np.ndarray) -> float | None:
    """Grey levels between the pencil on the centre lines of `ink` and the paper around them, on the
    page as scanned (the brightest channel's darkness, medians)."""
    darkness = 255 - (image.max(axis=2) if image.ndim == 3 else image).astype(np.intp)
    _, centre = centre_lines(ink)
    margin = 2 * PAPER_MARGIN + 1
    paper = cv2.dilate(ink.view(np.uint8), np.ones((margin, margin), np.uint8)) == 0
    if not centre.any() or not paper.any():
        return None
    pencil = percentiles(np.bincount(darkness[centre], minlength=256), 50)[0]
    return pencil - percentiles(np.bincount(darkness[paper], minlength=256), 50)[0]


class Pages:
    """The shipped route's reading, and each model alone, on one page at a time (models entered once)."""

    def __init__(self, stack: contextlib.ExitStack) -> None:
        self.routed = stack.enter_context(LineModel("unet-light", precision="fp32"))
        self.base = stack.enter_context(LineModel("toolkit/weights/unet-light.onnx"))
        self.expert = stack.enter_context(LineModel("toolkit/weights/unet-light-faint.onnx"))

    def read(self, image: np.ndarray, truth: np.ndarray) -> dict:
        self.routed.probability(image)
        drawn = self.base.probability(image) >= 0.5
        return {
            "reading": self.routed.runner.last.value,
            "contrast": raw_contrast(image, drawn),
            "base": all_counts(drawn, truth),
            "expert": all_counts(self.expert.probability(image) >= 0.5, truth),
        }


def read(args: argparse.Namespace) -> None:
    with contextlib.ExitStack() as stack:
        read_all(args, Pages(stack))


def read_all(args: argparse.Namespace, pages: Pages) -> None:
    record: dict = {"sets": {}, "sweeps": {}}
    for name in args.sets:
        record["sets"][name] = [
            {"page": inp.stem, **pages.read(read_image(inp), lines_of(read_image(tgt)))}
            for inp, tgt in pair_folder(Path("data", name))
        ]
        print(name, "read", flush=True)
    middle = middle_factors("sketch")
    plan = SweepPlan("sketch", images=16)
    for name in plan.chosen():
        for value in plan.values(name):
            values, scale = (middle, value) if name == SCALE_AXIS else (middle | {name: value}, None)
            rows = []
            for seed in args.sweeps:
                for index in range(plan.images):
                    image, target = make_pair(
                        "sketch", 256, 256, held_out_seed(seed, index), factors=values, scale=scale
                    )
                    rows.append(pages.read(image, lines_of(target)))
            record["sweeps"][f"{name}={value:g}"] = rows
        print(name, "swept", flush=True)
    args.record.write_text(json.dumps(record))


def to_expert(row: dict, rule: tuple[float, float] | None, threshold: float = SHIPPED) -> bool:
    reading = row["reading"]
    if reading is None:
        return False
    if reading < SHIPPED or rule is None:
        return reading < threshold
    limit, contrast = rule
    return reading < limit and row["contrast"] is not None and row["contrast"] < contrast


def f1_of(rows: list[dict], rule: tuple[float, float] | None, threshold: float = SHIPPED) -> float:
    total: dict = {}
    for row in rows:
        total = add_counts(total, row["expert" if to_expert(row, rule, threshold) else "base"])
    return scores(total)["line_f1"]


def score(args: argparse.Namespace) -> None:
    record = json.loads(args.record.read_text())
    rules = [tuple(args.rule)] if args.rule else RULES
    arms = {"road 4": (None, SHIPPED), "road 8": (None, 8.0)} | {
        f"under {t:g} if contrast < {c:g}": ((t, c), SHIPPED) for t, c in rules
    }
    for name, rows in record["sets"].items():
        base = f1_of(rows, None)
        cells = [f"{label}: {100 * (f1_of(rows, *arm) - base):+.2f}" for label, arm in list(arms.items())[1:]]
        print(f"{name} ({len(rows)} pages, road 4 {base:.4f}): " + "; ".join(cells))
    if not record["sweeps"]:
        return
    faint = "pencil_contrast=10"
    for label, arm in list(arms.items())[1:]:
        deltas = sorted(
            (100 * (f1_of(rows, *arm) - f1_of(rows, None)), point) for point, rows in record["sweeps"].items()
        )
        mean = sum(d for d, _ in deltas) / len(deltas)
        faint_delta = next(d for d, point in deltas if point == faint)
        print(
            f"sweep, {label}: mean {mean:+.3f}, worst {deltas[0][0]:+.2f} ({deltas[0][1]}), "
            f"next {deltas[1][0]:+.2f} ({deltas[1][1]}), best {deltas[-1][0]:+.2f} ({deltas[-1][1]}), "
            f"faint end {faint_delta:+.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    reader = commands.add_parser("read")
    reader.add_argument("record", type=Path)
    reader.add_argument("--sets", nargs="*", default=[])
    reader.add_argument("--sweeps", nargs="*", type=int, default=[])
    scorer = commands.add_parser("score")
    scorer.add_argument("record", type=Path)
    scorer.add_argument("--rule", nargs=2, type=float)
    args = parser.parse_args()
    (read if args.command == "read" else score)(args)


if __name__ == "__main__":
    main()
