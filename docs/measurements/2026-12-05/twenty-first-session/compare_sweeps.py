"""Two sweeps of the same pages (`toolkit sweep ... --seed 8`), point by point: the model's line F1
in each, their means, worst points, how many points the second wins and how many reach 0.85.

    python compare_sweeps.py FIRST.json SECOND.json
"""

import json
import sys


def points(path: str) -> dict[tuple[str, float], float]:
    with open(path) as file:
        report = json.load(file)
    return {
        (factor, point["value"]): point["methods"]["model"]["line_f1"]
        for factor, curve in report["factors"].items()
        for point in curve
    }


def main(first: str, second: str) -> None:
    a, b = points(first), points(second)
    keys = sorted(a)
    mean = [sum(scores[k] for k in keys) / len(keys) for scores in (a, b)]
    worst = [min(scores.values()) for scores in (a, b)]
    print(f"{first} vs {second}: {len(keys)} points")
    print(f"mean {mean[0]:.4f} vs {mean[1]:.4f}; worst {worst[0]:.3f} vs {worst[1]:.3f}")
    print(f"second better at {sum(b[k] > a[k] for k in keys)}, worse at {sum(b[k] < a[k] for k in keys)}")
    loss, gain = max(a[k] - b[k] for k in keys), max(b[k] - a[k] for k in keys)
    print(f"largest loss {loss:.4f}, largest gain {gain:.4f}")
    print(f"points >= 0.85: {sum(a[k] >= 0.85 for k in keys)} vs {sum(b[k] >= 0.85 for k in keys)}")
    for factor in dict.fromkeys(k[0] for k in keys):
        values = " ".join(f"{v:g}: {a[(f, v)]:.3f}/{b[(f, v)]:.3f}" for f, v in keys if f == factor)
        print(f"  {factor}: {values}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
