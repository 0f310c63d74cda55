"""Scores FP32 graphs, each alone, against three painting targets on held-out sets (probe-rules.md):
today's (the files), the probe's rule (bridge_rule.py) and the intended outlines whole
(other_targets.py); and, on today's target, the recall of its bridged part (error_sources.py).

    python docs/measurements/2026-12-06/thirty-second-session/probe_score.py data/held31-painting-512 \
        data/held31-painting-640 --graph shipped=toolkit/weights/contour.onnx --graph probe=/tmp/probe.onnx
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np
from bridge_rule import bridge_rule_target
from error_sources import near, target_parts
from other_targets import other_targets
from skimage.morphology import skeletonize

from toolkit import LineModel, read_image
from toolkit.analysis.metrics import add_counts, all_counts, scores


def page_targets(folder: Path) -> dict[str, dict[str, np.ndarray]]:
    record = json.loads((folder / "pages.json").read_text())
    out = {}
    for stem, page in sorted(record["pages"].items()):
        today = cv2.imread(str(folder / "target" / f"{stem}.png"), cv2.IMREAD_GRAYSCALE) < 128
        shape, seed, factors = today.shape, page["seed"], page["factors"]
        out[stem] = {
            "today": today,
            "probe rule": bridge_rule_target(seed, factors, shape),
            "intended": other_targets(seed, factors, shape)["intended"],
            "bridged": target_parts(seed, factors, shape)["bridged"],
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folders", type=Path, nargs="+")
    parser.add_argument("--graph", action="append", required=True, help="LABEL=PATH")
    args = parser.parse_args()
    graphs = dict(item.split("=", 1) for item in args.graph)
    results = {}
    for folder in args.folders:
        targets = page_targets(folder)
        for label, path in graphs.items():
            counts: dict[str, dict[str, int]] = {"today": {}, "probe rule": {}, "intended": {}}
            bridged = found = 0
            with LineModel(path) as model:
                for stem, wanted in targets.items():
                    pred = model.probability(read_image(folder / "input" / f"{stem}.png")) > 0.5
                    for name in counts:
                        counts[name] = add_counts(counts[name], all_counts(pred, wanted[name]))
                    part = skeletonize(wanted["today"]) & near(wanted["bridged"], 1)
                    bridged += int(part.sum())
                    found += int((part & near(skeletonize(pred))).sum())
            row: dict = {
                name: {k: round(v, 4) for k, v in scores(c).items() if k.startswith("line")}
                for name, c in counts.items()
            }
            row["bridged_recall"] = round(found / max(bridged, 1), 4)
            results[f"{folder.name} {label}"] = row
            summary = "; ".join(
                f"{name} {row[name]['line_f1']:.4f} (P {row[name]['line_precision']:.3f} / "
                f"R {row[name]['line_recall']:.3f})"
                for name in counts
            )
            print(f"{folder.name} {label}: {summary}; bridged recall {row['bridged_recall']:.3f}", flush=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
