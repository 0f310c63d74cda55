"""The ship rules of ship-rules.md, checked on what judge.sh wrote: `python rules.py RULE...` prints each
rule's figures and exits 1 at the first that fails (rule 1 is still printed when rule 0 fails)."""

import json
import sys
from pathlib import Path

HERE = Path(__file__).parent
JUDGE, BASE = HERE / "judge", HERE.parent / "thirtieth-session" / "judge"
RUN = Path("runs/contour-v12")


def model_f1s(path: Path) -> list[float]:
    """The line F1 (last column) of the first table row after each `==` header of an evaluate log."""
    scores, want = [], False
    for line in path.read_text().splitlines():
        if line.startswith("=="):
            want = True
        elif want and line.startswith("│"):
            scores.append(float(line.strip("│ ").split("│")[-1]))
            want = False
    return scores


def rule0() -> bool:
    # the start's validation as the run recorded it (5 decimals; its log rounds to 4)
    start = json.loads((RUN / "weights.json").read_text())["start_validation"]["val_line_f1"]
    history = json.loads((RUN / "metrics.json").read_text())
    first = [round(entry["val_line_f1"] - start, 4) for entry in history[:2]]
    last = history[-1]["val_line_f1"]
    print(
        f"rule 0: epoch 0 {start:.4f}, epoch {history[-1]['epoch']} {last:.4f}"
        f" ({100 * (last - start):+.2f} points, at least +0.2);"
        f" the warm-up's epochs 1-2 against epoch 0: {first} (not below -0.0015)"
    )
    return last - start >= 0.002


def rule1() -> bool:
    shipped, candidate = model_f1s(BASE / "shipped-alone.txt"), model_f1s(JUDGE / "candidate-alone.txt")
    gains = [100 * (c - s) for c, s in zip(candidate, shipped, strict=True)]
    mean = sum(gains) / len(gains)
    print(f"rule 1: alone {shipped} -> {candidate}: {[round(g, 2) for g in gains]} points, mean {mean:+.2f}"
          " (at least +0.5, none below -0.2)")
    return mean >= 0.5 and min(gains) >= -0.2


def rule2() -> bool:
    shipped, candidate = model_f1s(BASE / "shipped-routed.txt"), model_f1s(JUDGE / "candidate-routed.txt")
    changes = [100 * (c - s) for c, s in zip(candidate, shipped, strict=True)]
    print(f"rule 2: routed {shipped} -> {candidate}: {[round(c, 2) for c in changes]} points (none < -0.3)")
    return min(changes) >= -0.3


def sweep_points(path: Path) -> dict[tuple[str, float], float]:
    factors = json.loads(path.read_text())["factors"]
    return {
        (factor, point["value"]): point["methods"]["model"]["line_f1"]
        for factor, points in factors.items()
        for point in points
    }


def rule3() -> bool:
    return sweep_rule(BASE / "sweep-shipped-alone.json", JUDGE / "sweep-candidate-alone.json")


def sweep_rule(shipped_json: Path, candidate_json: Path) -> bool:
    """Rule 3 on two `toolkit sweep` JSON files: mean change not below 0, no point below -1.5 points."""
    shipped, candidate = sweep_points(shipped_json), sweep_points(candidate_json)
    changes = {key: 100 * (candidate[key] - shipped[key]) for key in shipped}
    mean = sum(changes.values()) / len(changes)
    worst = min(changes, key=changes.get)
    print(f"rule 3: sweep mean {mean:+.2f} points (not below 0), worst {worst} {changes[worst]:+.2f}"
          " (not below -1.5)")
    return mean >= 0 and changes[worst] >= -1.5


RULES = {"0": rule0, "1": rule1, "2": rule2, "3": rule3}

if __name__ == "__main__":
    results = [RULES[rule]() for rule in sys.argv[1:]]
    sys.exit(0 if all(results) else 1)
