"""faint28's rule (ship-rules.md): `unet-light` routed under 4.0 to the candidate expert against routed
to the shipped `unet-light-faint`, FP32, one view: line F1 (P / R) and the pages each model drew on the
sets, then fresh sweeps (8 pages a point each) of both arms pooled point by point.

    python judge28.py CANDIDATE.onnx OUTDIR --sets SET ... --sweeps SEED ...
"""

import argparse
import json
import sys
from pathlib import Path

from toolkit.analysis.evaluate import evaluate
from toolkit.analysis.sweep import SweepPlan, run_sweep
from toolkit.core.shipped import SHIPPED_DIR
from toolkit.data.datasets import pair_folder

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent / "twenty-third-session"))
from judge_faint import model  # noqa: E402

THRESHOLD = 4.0  # the shipped road's, not re-chosen
FAINT_END = ("pencil_contrast", 10.0)


def sweep_points(report: dict) -> dict[tuple[str, float], float]:
    return {
        (factor, point["value"]): point["methods"]["model"]["line_f1"]
        for factor, curve in report["factors"].items()
        for point in curve
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("candidate", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--sets", nargs="*", default=[])
    parser.add_argument("--sweeps", nargs="*", type=int, default=[])
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    arms = {"shipped": SHIPPED_DIR / "unet-light-faint.onnx", "candidate": args.candidate}
    for name in args.sets:
        cells = []
        for label, expert in arms.items():
            with model(expert, THRESHOLD) as runner:
                report = evaluate(pair_folder(Path("data", name)), name, runner=runner, baselines=False)
            (args.out / f"{label}-{name}.json").write_text(json.dumps(report.to_dict(), indent=1))
            m = report.methods["unet-light"]
            scores = f"{m['line_f1']:.4f} (P {m['line_precision']:.3f} / R {m['line_recall']:.3f})"
            cells.append(f"{scores} {report.drawn_by}")
        print(f"{name}: {' | '.join(cells)}", flush=True)
    pooled: dict[str, dict[tuple[str, float], list[float]]] = {label: {} for label in arms}
    for seed in args.sweeps:
        for label, expert in arms.items():
            path = args.out / f"sweep-{seed}-{label}.json"
            if not path.exists():
                with model(expert, THRESHOLD) as runner:
                    path.write_text(json.dumps(run_sweep(runner, SweepPlan("sketch", seed=seed)), indent=1))
            for key, f1 in sweep_points(json.loads(path.read_text())).items():
                pooled[label].setdefault(key, []).append(f1)
    if not args.sweeps:
        return
    before, after = ({k: sum(v) / len(v) for k, v in pooled[label].items()} for label in arms)
    others = [key for key in before if key != FAINT_END]
    for key in others:
        if after[key] < before[key]:
            print(
                f"  down: {key[0]} {key[1]:g}: {before[key]:.5f} -> {after[key]:.5f} "
                f"({100 * (after[key] - before[key]):+.3f} points)"
            )
    mean_before, mean_after = (sum(scores[k] for k in others) / len(others) for scores in (before, after))
    print(
        f"sweeps {args.sweeps} pooled: the {len(others)} points but the faint end: mean {mean_before:.6f} -> "
        f"{mean_after:.6f} ({100 * (mean_after - mean_before):+.4f} points); worst point down "
        f"{100 * min(after[k] - before[k] for k in others):+.3f} points; "
        f"faint end {before[FAINT_END]:.4f} -> {after[FAINT_END]:.4f}; "
        f"better at {sum(after[k] > before[k] for k in others)}, "
        f"worse at {sum(after[k] < before[k] for k in others)}"
    )


if __name__ == "__main__":
    main()
