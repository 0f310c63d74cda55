"""Rule (3') of faint27's second judgement: sweeps of several seeds pooled point by point (the mean of
their line F1), `unet-light` alone against routed; the points down, the mean of all points but the
faint end, and the faint end.

    python pool_sweeps.py JUDGE_DIR ...   # each holding sweep-alone.json and sweep-routed.json
"""

import json
import sys
from pathlib import Path

FAINT_END = ("pencil_contrast", 10.0)


def pooled(folders: list[Path], arm: str) -> dict[tuple[str, float], float]:
    sweeps = [json.loads((folder / f"sweep-{arm}.json").read_text())["factors"] for folder in folders]
    return {
        (factor, point["value"]): sum(s[factor][i]["methods"]["model"]["line_f1"] for s in sweeps)
        / len(sweeps)
        for factor, points in sweeps[0].items()
        for i, point in enumerate(points)
    }


def main(folders: list[Path]) -> None:
    alone, routed = pooled(folders, "alone"), pooled(folders, "routed")
    others = [key for key in alone if key != FAINT_END]
    for key in others:
        if routed[key] < alone[key]:
            change = 100 * (routed[key] - alone[key])
            print(f"{key[0]} {key[1]:g}: {alone[key]:.5f} -> {routed[key]:.5f} ({change:+.3f} points)")
    mean_alone = sum(alone[k] for k in others) / len(others)
    mean_routed = sum(routed[k] for k in others) / len(others)
    change = 100 * (mean_routed - mean_alone)
    print(
        f"{len(folders)} sweeps pooled; the {len(others)} points but the faint end: mean {mean_alone:.6f} -> "
        f"{mean_routed:.6f} ({change:+.4f} points); "
        f"faint end {alone[FAINT_END]:.4f} -> {routed[FAINT_END]:.4f}"
    )


if __name__ == "__main__":
    main([Path(arg) for arg in sys.argv[1:]])
