"""What a router of scales would score: each page goes to the scale-1 expert when the lines the
shipped `contour` draws on it are thinner than THRESHOLD px (ink per centre-line pixel,
scale_from_lines.py), else keeps `contour`'s lines. Line F1 (P / R) per held-out painting set, of
`contour`, of the expert everywhere and of the routed pair, and how many pages went to the expert.

    python router_sim.py EXPERT.onnx [SET ...]   # default: the three held-out painting sets
"""

import sys
from collections import Counter
from pathlib import Path

from skimage.morphology import skeletonize

from toolkit import LineModel, read_image
from toolkit.analysis.metrics import line_counts, scores
from toolkit.imaging.imageio import lines_of

THRESHOLD = 4.95  # px: between the 256 px pages' 95th percentile (4.86) and the 512 px pages' 5th (4.97)
SETS = ("data/heldout-painting", "data/held-painting-512", "data/heldout-painting-768x1024")


def summary(counts: Counter) -> str:
    s = scores({**counts, "tp": 0, "fp": 0, "fn": 0, "pixels": 1})
    return f"{s['line_f1']:.4f} (P {s['line_precision']:.3f} / R {s['line_recall']:.3f})"


def main(expert_path: str, sets: tuple[str, ...]) -> None:
    with LineModel("contour", precision="fp32") as shipped, LineModel(expert_path) as expert:
        for root in sets:
            totals = {name: Counter() for name in ("contour", "expert", "routed")}
            routed = 0
            pages = sorted((Path(root) / "input").iterdir())
            for path in pages:
                image = read_image(path)
                truth = lines_of(read_image(next((Path(root) / "target").glob(path.stem + ".*"))))
                ours = shipped.lines(image, "binary") < 128
                theirs = expert.lines(image, "binary") < 128
                thin = ours.sum() / max(1, skeletonize(ours).sum()) < THRESHOLD
                routed += thin
                choices = {"contour": ours, "expert": theirs, "routed": theirs if thin else ours}
                for name, lines in choices.items():
                    totals[name].update(line_counts(lines, truth, 2))
            results = ", ".join(f"{name} {summary(c)}" for name, c in totals.items())
            print(f"{root}: {results}; {routed} of {len(pages)} pages to the expert")


if __name__ == "__main__":
    main(sys.argv[1], tuple(sys.argv[2:]) or SETS)
