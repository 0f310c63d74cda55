"""The twenty-third session's judge_faint.py, taking `unet-light` alone's results on the sets it was
already measured on from an earlier judgement's folder (FP32, one view, the same graph and pages: the
same numbers), so only the routed arm runs again there; the sweep runs both arms.

    python judge_reusing.py EXPERT.onnx THRESHOLD OUTDIR SWEEP_SEED EARLIER_OUTDIR SET ...
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

from toolkit.analysis.evaluate import evaluate
from toolkit.analysis.sweep import SweepPlan, run_sweep
from toolkit.data.datasets import pair_folder

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent / "twenty-third-session"))
from judge_faint import model  # noqa: E402


def line(report: dict) -> str:
    m = report["methods"]["unet-light"]
    scores = f"{m['line_f1']:.4f} (P {m['line_precision']:.3f} / R {m['line_recall']:.3f})"
    return f"{scores} {report['drawn_by']}"


def main(expert: str, threshold: str, out: str, sweep_seed: str, earlier: str, *sets: str) -> None:
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    arms = {"alone": None, "routed": Path(expert)}
    for name in sets:
        cells = []
        for label, graph in arms.items():
            path, before = folder / f"{label}-{name}.json", Path(earlier, f"{label}-{name}.json")
            if graph is None and before.exists():
                shutil.copyfile(before, path)
            else:
                with model(graph, float(threshold)) as runner:
                    report = evaluate(pair_folder(Path("data", name)), name, runner=runner, baselines=False)
                path.write_text(json.dumps(report.to_dict(), indent=1))
            cells.append(line(json.loads(path.read_text())))
        print(f"{name}: {' | '.join(cells)}", flush=True)
    for label, graph in arms.items():
        with model(graph, float(threshold)) as runner:
            report = run_sweep(runner, SweepPlan("sketch", seed=int(sweep_seed)))
        (folder / f"sweep-{label}.json").write_text(json.dumps(report, indent=1))
    compare = [sys.executable, str(HERE.parent / "twenty-first-session" / "compare_sweeps.py")]
    subprocess.run([*compare, *(str(folder / f"sweep-{label}.json") for label in arms)], check=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
