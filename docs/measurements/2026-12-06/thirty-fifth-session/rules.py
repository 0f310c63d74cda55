"""The ship rules of ship-rules.md, checked on what judge.sh wrote: `python rules.py RULE...` prints each
rule's figures and exits 1 if one fails. Every figure is the candidate's against the shipped
`contour-thin`'s, both measured by judge.sh on this machine; the logs are read as the thirty-first
session's rules.py reads them (its `model_f1s`, `sweep_rule`)."""

import importlib.util
import json
import sys
from pathlib import Path

HERE = Path(__file__).parent
JUDGE = HERE / "judge"
RUN = Path("runs/thin35")
_spec = importlib.util.spec_from_file_location("rules31", HERE.parent / "thirty-first-session" / "rules.py")
rules31 = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rules31)


def gains(name: str) -> list[float]:
    """Points of line F1 the candidate gains over the shipped expert, set by set, in `name`'s logs."""
    candidate, shipped = (rules31.model_f1s(JUDGE / f"{who}-{name}.txt") for who in ("candidate", "shipped"))
    return [round(100 * (c - s), 2) for c, s in zip(candidate, shipped, strict=True)]


def rule0() -> bool:
    record = json.loads((RUN / "weights.json").read_text())
    start, best = record["start_validation"]["val_line_f1"], record["validation"]["val_line_f1"]
    print(
        f"rule 0: epoch 0 {start:.5f}, written (epoch {record['epoch']}) {best:.5f}"
        f" ({100 * (best - start):+.2f} points, at least +0.2)"
    )
    return best - start >= 0.002


def rule1() -> bool:
    change = gains("alone")[0]
    print(f"rule 1: alone on heldout-painting {change:+.2f} points (at least +0.3)")
    return change >= 0.3


def rule_c() -> bool:
    changes = gains("alone")[1:]
    mean = sum(changes) / len(changes)
    print(f"rule C: held35 256 / 424 alone {changes} points, mean {mean:+.2f} (each +0.2, mean +0.3)")
    return min(changes) >= 0.2 and mean >= 0.3


def rule2() -> bool:
    changes = gains("routed")
    print(f"rule 2: routed {changes} points (none below -0.2, heldout-painting's at least +0.3)")
    return min(changes) >= -0.2 and changes[0] >= 0.3


def rule3() -> bool:
    return rules31.sweep_rule(JUDGE / "sweep-shipped-alone.json", JUDGE / "sweep-candidate-alone.json")


RULES = {"0": rule0, "1": rule1, "C": rule_c, "2": rule2, "3": rule3}

if __name__ == "__main__":
    results = [RULES[rule]() for rule in sys.argv[1:]]
    sys.exit(0 if all(results) else 1)
