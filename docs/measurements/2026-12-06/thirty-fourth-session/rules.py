"""The ship rules of ship-rules.md, checked on what judge.sh wrote: `python rules.py RULE...` prints each
rule's figures and exits 1 at the first that fails (rule 1 and C are still printed when rule 0 fails).
The figures are read as the thirty-first session's rules.py reads them (its `model_f1s`, `sweep_points`)."""

import importlib.util
import json
import sys
from pathlib import Path

HERE = Path(__file__).parent
JUDGE, BASE = HERE / "judge", HERE.parent / "thirtieth-session" / "judge"
RUN = Path("runs/contour-v13")
_spec = importlib.util.spec_from_file_location("rules31", HERE.parent / "thirty-first-session" / "rules.py")
rules31 = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rules31)


def gains(shipped: Path, candidate: Path) -> list[float]:
    pairs = zip(rules31.model_f1s(candidate), rules31.model_f1s(shipped), strict=True)
    return [100 * (c - s) for c, s in pairs]


def rule0() -> bool:
    record = json.loads((RUN / "weights.json").read_text())
    start, best = record["start_validation"]["val_line_f1"], record["validation"]["val_line_f1"]
    print(f"rule 0: epoch 0 {start:.5f}, written (epoch {record['epoch']}) {best:.5f}"
          f" ({100 * (best - start):+.2f} points, at least +0.2)")
    return best - start >= 0.002


def rule1() -> bool:
    changes = gains(BASE / "shipped-alone.txt", JUDGE / "candidate-alone.txt")
    mean = sum(changes) / len(changes)
    print(f"rule 1: alone against the shipped graph {[round(g, 2) for g in changes]} points, mean {mean:+.2f}"
          " (at least +0.5, none below -0.2)")
    return mean >= 0.5 and min(changes) >= -0.2


def rule_c() -> bool:
    changes = gains(JUDGE / "shipped-confirmation.txt", JUDGE / "candidate-confirmation.txt")
    mean = sum(changes) / len(changes)
    print(f"rule C: held34 512 / 640 alone {[round(g, 2) for g in changes]} points, mean {mean:+.2f}"
          " (each at least +0.3, mean at least +0.5)")
    return mean >= 0.5 and min(changes) >= 0.3


def rule2() -> bool:
    changes = gains(BASE / "shipped-routed.txt", JUDGE / "candidate-routed.txt")
    print(f"rule 2: routed {[round(c, 2) for c in changes]} points (none below -0.3)")
    return min(changes) >= -0.3


def rule3() -> bool:
    return rules31.sweep_rule(BASE / "sweep-shipped-alone.json", JUDGE / "sweep-candidate-alone.json")


RULES = {"0": rule0, "1": rule1, "C": rule_c, "2": rule2, "3": rule3}

if __name__ == "__main__":
    results = [RULES[rule]() for rule in sys.argv[1:]]
    sys.exit(0 if all(results) else 1)
