"""error-sources-contour.png: the points of line precision and recall `contour` loses, by what lies
under each unmatched centre-line pixel (error_sources.py's JSON, one bar per held-out set).

    python docs/measurements/2026-12-06/thirty-second-session/plot_error_sources.py
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

HERE = Path(__file__).parent
SETS = {
    "512 px, 40 pages": "error-sources-contour-held31-512.json",
    "640 px, 24 pages": "error-sources-contour-held31-640.json",
}
FALSE = {
    "target_stroke": "on a target stroke, centre line 3+ px off",
    "ink_drawn": "on ink the target leaves out",
    "cracks": "cracks",
    "paint_loss": "paint losses",
    "stains": "stains",
    "folds": "folds",
    "ornament": "ornament",
    "colour_edge": "colour edges",
    "nothing": "none of these",
}
MISSED = {
    "pred_stroke": "under the model's ink, centre line 3+ px off",
    "outline_wear": "in a worn break",
    "paint_loss": "paint losses",
    "cracks": "cracks",
    "stains": "stains",
    "folds": "folds",
    "misregistration": "misregistered fills",
    "ornament": "ornament",
    "nothing": "none of these",
}


def main() -> None:
    figure, axes = plt.subplots(1, 2, figsize=(13, 3.6), sharey=True)
    # one colour per source, the same in both panels
    names = list(dict.fromkeys([*FALSE, *MISSED]))
    colours = dict(zip(names, plt.get_cmap("tab20").colors))
    for axis, (key, sources, title) in zip(
        axes,
        (
            ("false_per_predicted", FALSE, "line precision lost (points)"),
            ("missed_per_target", MISSED, "line recall lost (points)"),
        ),
    ):
        for row, file in enumerate(SETS.values()):
            shares = json.loads((HERE / file).read_text())[key]
            left = 0.0
            for name, text in sources.items():
                width = 100 * shares[name]
                axis.barh(row, width, left=left, color=colours[name], label=text if row == 0 else None)
                if width >= 1.0:
                    axis.text(left + width / 2, row, f"{width:.1f}", ha="center", va="center", fontsize=8)
                left += width
        axis.set_yticks(range(len(SETS)), list(SETS))
        axis.set_title(title)
        axis.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=3, frameon=False)
    figure.suptitle("contour (FP32, routed), held-out paintings of seeds 103 and 104: where its errors lie")
    figure.tight_layout()
    figure.savefig(HERE / "error-sources-contour.png", dpi=110)


if __name__ == "__main__":
    main()
