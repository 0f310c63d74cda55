"""`unet-light` with the faint road (pages whose `PencilSnr` reading is under THRESHOLD to the candidate
expert) against `unet-light` alone, FP32, one view: line F1 (P / R) and the pages each model drew on the
held-out sketches, then a sweep's pages (SWEEP_SEED; 7 is the published one; 8 pages a point) of both,
compared point by point (compare_sweeps.py).

    python judge_faint.py EXPERT.onnx THRESHOLD OUTDIR SWEEP_SEED [SET ...]   # default: the sets below
"""

import json
import subprocess
import sys
from pathlib import Path

from toolkit.analysis.evaluate import evaluate
from toolkit.analysis.sweep import SweepPlan, run_sweep
from toolkit.core.shipped import SHIPPED_DIR, Road
from toolkit.data.datasets import pair_folder
from toolkit.runtime.onnxruntime_runner import OnnxRuntimeRunner
from toolkit.runtime.routing import Router

SETS = (
    "held3-faint-424",  # rule 1: faint pages, new (seed 58, pencil contrast 10-25)
    "held-faint-424",  # fourteenth session's faint pages (seed 11)
    "held-faint-768x1024",  # (seed 13)
    "heldout-sketch",  # rule 2: the published 256 px set (200)
    "held-sketch-424",  # seed 5
    "held-sketch-424-s9",  # seed 9
    "heldout-sketch-768x1024",  # the published 768x1024 set
    "held3-sketch-424",  # new, seed 59
    "held3-sketch-768x1024",  # new, seed 60
)
HERE = Path(__file__).parent


def model(expert: Path | None, threshold: float) -> OnnxRuntimeRunner | Router:
    base = SHIPPED_DIR / "unet-light.onnx"
    if expert is None:
        return OnnxRuntimeRunner(base)
    experts = {Road("unet-light-faint", high=threshold): OnnxRuntimeRunner(expert, shared_arena=True)}
    return Router(OnnxRuntimeRunner(base, shared_arena=True), experts, reading="pencil_snr")


def main(expert: str, threshold: str, out: str, sweep_seed: str, *sets: str) -> None:
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    arms = {"alone": None, "routed": Path(expert)}
    for name in sets or SETS:
        cells = []
        for label, graph in arms.items():
            with model(graph, float(threshold)) as runner:
                report = evaluate(pair_folder(Path("data", name)), name, runner=runner, baselines=False)
            (folder / f"{label}-{name}.json").write_text(json.dumps(report.to_dict(), indent=1))
            m = report.methods["unet-light"]
            scores = f"{m['line_f1']:.4f} (P {m['line_precision']:.3f} / R {m['line_recall']:.3f})"
            cells.append(f"{scores} {report.drawn_by}")
        print(f"{name}: {' | '.join(cells)}", flush=True)
    for label, graph in arms.items():
        with model(graph, float(threshold)) as runner:
            report = run_sweep(runner, SweepPlan("sketch", seed=int(sweep_seed)))
        (folder / f"sweep-{label}.json").write_text(json.dumps(report, indent=1))
    compare = [sys.executable, str(HERE.parent / "twenty-first-session" / "compare_sweeps.py")]
    subprocess.run([*compare, *(str(folder / f"sweep-{label}.json") for label in arms)], check=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
