"""`contour` with both roads (under 4.0 px to `contour-thin`, at or over THRESHOLD to the candidate
scale-3 expert) against `contour` with the first road alone (as shipped before this session), FP32,
one view: line F1 (P / R) and the pages each model drew on the held-out paintings, then the fresh
sweep (seed 8, 8 pages a point) of both, compared point by point (compare_sweeps.py).

    python judge_roads.py EXPERT.onnx THRESHOLD OUTDIR [SET ...]   # default: the sets below
"""

import json
import subprocess
import sys
from pathlib import Path

from toolkit.analysis.evaluate import evaluate
from toolkit.analysis.sweep import SweepPlan, run_sweep
from toolkit.core.shipped import ROUTES, SHIPPED_DIR, Road
from toolkit.data.datasets import pair_folder
from toolkit.runtime.onnxruntime_runner import OnnxRuntimeRunner
from toolkit.runtime.routing import Router

SETS = (
    "heldout-painting",  # 256 px, scale 1, 200 pages
    "held-painting-384",  # scale 1.5, seed 21
    "held-painting-448",  # scale 1.75, seed 23
    "held-painting-512",  # scale 2
    "held-painting-640",  # scale 2.5, seed 51 (drawn this session)
    "heldout-painting-768x1024",  # scale 3
)
HERE = Path(__file__).parent


def router(expert: Path | None, threshold: float) -> Router:
    def run(graph: Path) -> OnnxRuntimeRunner:
        return OnnxRuntimeRunner(graph, shared_arena=True)

    (thin,) = ROUTES["contour"][:1]
    experts = {thin: run(SHIPPED_DIR / "contour-thin.onnx")}
    if expert is not None:
        experts[Road("contour-coarse", low=threshold)] = run(expert)
    return Router(run(SHIPPED_DIR / "contour.onnx"), experts)


def main(expert: str, threshold: str, out: str, *sets: str) -> None:
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    roads = {"one-road": None, "two-roads": Path(expert)}
    for name in sets or SETS:
        cells = []
        for label, graph in roads.items():
            with router(graph, float(threshold)) as runner:
                report = evaluate(pair_folder(Path("data", name)), name, runner=runner, baselines=False)
            (folder / f"{label}-{name}.json").write_text(json.dumps(report.to_dict(), indent=1))
            m = report.methods["contour"]
            scores = f"{m['line_f1']:.4f} (P {m['line_precision']:.3f} / R {m['line_recall']:.3f})"
            cells.append(f"{scores} {report.drawn_by}")
        print(f"{name}: {' | '.join(cells)}", flush=True)
    for label, graph in roads.items():
        with router(graph, float(threshold)) as runner:
            report = run_sweep(runner, SweepPlan("painting", seed=8))
        (folder / f"sweep-{label}.json").write_text(json.dumps(report, indent=1))
    compare = [sys.executable, str(HERE.parent / "twenty-first-session" / "compare_sweeps.py")]
    sweeps = [str(folder / f"sweep-{label}.json") for label in roads]
    subprocess.run([*compare, *sweeps], check=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
