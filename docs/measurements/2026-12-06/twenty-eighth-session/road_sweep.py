"""The faint road's threshold along the sweeps: line F1 at every point of sweeps of held-out seeds
19 and 20 (16 pages a point, 256 px, as `toolkit sweep --seed N --images 16` draws them), pooled over
both seeds, with the road at 4.0 (shipped), 6.0 and 8.0.

    python docs/measurements/2026-12-06/twenty-eighth-session/road_sweep.py > road_sweep.txt

Each page is drawn by `unet-light` and by `unet-light-faint` alone (FP32) and read as the shipped
route reads it; a threshold takes each page's counts from the model it sends the page to.
"""

from __future__ import annotations

import json
from pathlib import Path

from toolkit.analysis.metrics import add_counts, all_counts, scores
from toolkit.analysis.sweep import SCALE_AXIS, SweepPlan
from toolkit.api import LineModel
from toolkit.data.factors import middle_factors
from toolkit.data.synthetic import held_out_seed, make_pair
from toolkit.imaging.imageio import lines_of

SEEDS = (19, 20)
THRESHOLDS = (4.0, 6.0, 8.0)


def main() -> None:
    points: dict[str, list] = {}
    middle = middle_factors("sketch")
    with (
        LineModel("unet-light", precision="fp32") as routed,
        LineModel("toolkit/weights/unet-light.onnx") as base,
        LineModel("toolkit/weights/unet-light-faint.onnx") as expert,
    ):
        plan = SweepPlan("sketch", images=16)
        for name in plan.chosen():
            for value in plan.values(name):
                values, scale = (middle, value) if name == SCALE_AXIS else (middle | {name: value}, None)
                totals = {t: {} for t in THRESHOLDS}
                for seed in SEEDS:
                    for index in range(plan.images):
                        page = held_out_seed(seed, index)
                        image, target = make_pair("sketch", 256, 256, page, factors=values, scale=scale)
                        truth = lines_of(target)
                        routed.probability(image)
                        reading = routed.runner.last.value
                        counts = {
                            "base": all_counts(base.probability(image) >= 0.5, truth),
                            "expert": all_counts(expert.probability(image) >= 0.5, truth),
                        }
                        for t in THRESHOLDS:
                            to_expert = reading is not None and reading < t
                            totals[t] = add_counts(totals[t], counts["expert" if to_expert else "base"])
                f1 = {t: scores(c)["line_f1"] for t, c in totals.items()}
                points.setdefault(name, []).append({"value": value, **{str(t): v for t, v in f1.items()}})
                print(
                    f"{name} {value:g}: " + "  ".join(f"road {t:g}: {v:.4f}" for t, v in f1.items()),
                    flush=True,
                )
    Path(__file__).with_name("road_sweep.json").write_text(json.dumps(points))
    faint = next(p for p in points["pencil_contrast"] if p["value"] == 10.0)
    for moved in ("6.0", "8.0"):
        deltas = sorted((p[moved] - p["4.0"], name, p["value"]) for name, ps in points.items() for p in ps)
        mean = 100 * sum(d for d, *_ in deltas) / len(deltas)
        (worst, worst_at, worst_value), (best, best_at, best_value) = deltas[0], deltas[-1]
        print(
            f"road {moved} against 4.0, seeds {SEEDS} pooled: {len(deltas)} points, mean {mean:+.3f} points"
        )
        print(
            f"  worst {100 * worst:+.2f} ({worst_at} {worst_value:g}); "
            f"best {100 * best:+.2f} ({best_at} {best_value:g})"
        )
        print(f"  faint end {faint['4.0']:.4f} -> {faint[moved]:.4f}")


if __name__ == "__main__":
    main()
