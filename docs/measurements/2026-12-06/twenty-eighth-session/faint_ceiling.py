"""How much of the faint end's loss is the pencil's contrast, and how much the noise and JPEG on top.

    python docs/measurements/2026-12-06/twenty-eighth-session/faint_ceiling.py [--seed 21] [--images 16]

The sweep's faint end is `pencil_contrast` 10 with every other factor at its middle (sensor noise
0.015, JPEG quality 75, construction pencil 0.5, ...). The generator draws every factor's random
numbers whatever its value, so the same page can be redrawn with the noise off (0) or the JPEG off
(quality 100), or without what a clean-up drops (construction pencil, drafting marks, grid,
shading), or under flat light on white paper, and nothing else changed. The routed default
`unet-light` (FP32, as `toolkit sweep` runs it) and the best baseline are scored on each arm, at
contrasts 10, 20 and 30 grey levels, on held-out pages of `--seed` (256 px, the sweep's size). If
the model reads the faint pages well once noise and JPEG are gone, the loss at the faint end is the
information those two take away; if not, it is the model.
"""

from __future__ import annotations

import argparse

from toolkit.analysis.evaluate import Scoreboard
from toolkit.api import LineModel
from toolkit.data.factors import middle_factors
from toolkit.data.synthetic import held_out_seed, make_pair
from toolkit.imaging.imageio import lines_of

ARMS = {
    "as swept": {},
    "no noise": {"noise": 0.0},
    "no JPEG": {"jpeg_quality": 100.0},
    "neither": {"noise": 0.0, "jpeg_quality": 100.0},
    "no construction pencil": {"construction_colour": 0.0},
    "no marks": {"construction_colour": 0.0, "drafting_marks": 0.0, "grid": 0.0, "shading": 0.0},
    "no marks, clean": {
        "construction_colour": 0.0,
        "drafting_marks": 0.0,
        "grid": 0.0,
        "shading": 0.0,
        "noise": 0.0,
        "jpeg_quality": 100.0,
    },
    "flat light": {"lighting": 0.0, "vignetting": 0.0, "shadow": 0.0, "paper_tone": 0.98},
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--images", type=int, default=16)
    parser.add_argument("--size", type=int, default=256)
    args = parser.parse_args()
    print(f"held-out pages: seed {args.seed}, {args.images} pages of {args.size} px; routed unet-light, FP32")
    with LineModel("unet-light", precision="fp32") as model:
        for contrast in (10.0, 20.0, 30.0):
            for arm, pins in ARMS.items():
                values = middle_factors("sketch") | {"pencil_contrast": contrast} | pins
                board = Scoreboard()
                for index in range(args.images):
                    page = held_out_seed(args.seed, index)
                    image, target = make_pair("sketch", args.size, args.size, page, factors=values)
                    truth = lines_of(target)
                    board.add("model", model.probability(image) >= model.card.threshold, truth)
                    board.add_baselines(image, truth)
                scores = board.scores()
                best = max((m for m in scores if m != "model"), key=lambda m: scores[m]["line_f1"])
                s = scores["model"]
                print(
                    f"contrast {contrast:4.0f}, {arm:22s}: model {s['line_f1']:.4f} "
                    f"(P {s['line_precision']:.3f} / R {s['line_recall']:.3f}); "
                    f"best baseline {best} {scores[best]['line_f1']:.4f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
