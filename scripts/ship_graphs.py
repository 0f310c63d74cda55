"""Make the graphs we ship for a model from its shipped weights, and record how well each agrees.

    python scripts/ship_graphs.py unet-light --target-f1 0.995
    python scripts/ship_graphs.py contour --target-f1 0.99 --cpu-target-f1 0.985

Writes toolkit/weights/NAME.onnx (FP32, `toolkit export`), NAME-fp16.onnx (`toolkit convert`),
NAME-int8.onnx (`toolkit calibrate`, TensorRT's form) and NAME-int8-cpu.onnx (`--target cpu`),
calibrated on 32 held-out pages (`toolkit synth --seed 1 --count 32 --size 424`). Each derived graph
is then measured on 40 other held-out pages with targets (seed 0): its agreement with the FP32 graph
(worst line F1 and PSNR over the pages, as `toolkit verify --reference` computes them) and what it
loses in line F1 against the targets. The record goes into the graph's card (`agreement`), where
`--precision auto` reads it: a form is run by default only where its agreement meets its
precision's gate and it loses at most 0.005 line F1 (toolkit.runtime.backends.verified).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
from datetime import date
from pathlib import Path

import onnx

from toolkit.analysis.evaluate import evaluate
from toolkit.analysis.verify import verify_model
from toolkit.calibration.calibrate import calibrate
from toolkit.calibration.images import load_calibration_set
from toolkit.core.metadata import DOMAIN_OF_FAMILY, read_card
from toolkit.core.shipped import SHIPPED_DIR, SHIPPED_FORMS
from toolkit.data.datasets import pair_folder
from toolkit.data.synthetic import write_pairs
from toolkit.export.fp16 import convert_to_fp16
from toolkit.export.graph_file import save_graph
from toolkit.export.onnx_export import export_model
from toolkit.models.registry import get_spec
from toolkit.runtime.onnxruntime_runner import OnnxRuntimeRunner

SIZE = 424


def line_f1(graph: Path, data: Path) -> float:
    with OnnxRuntimeRunner(graph) as runner:
        report = evaluate(pair_folder(data), str(data), runner=runner, method_name="model", baselines=False)
    return report.methods["model"]["line_f1"]


def record_agreement(graph: Path, fp32: Path, heldout: Path, fp32_f1: float) -> dict:
    report = verify_model(graph, images=heldout / "input", reference=fp32)
    worst = report.worst()
    record = {
        "line_f1": round(worst["line_f1"], 5),  # worst page, binarised lines against the FP32 graph's
        "psnr_db": round(worst["psnr_db"], 2),
        "f1_drop": round(fp32_f1 - line_f1(graph, heldout), 5),  # against the targets
        "set": f"toolkit synth --seed 0 --count 40 --size {SIZE} (held out)",
        "date": date.today().isoformat(),
    }
    card = read_card(graph)
    card = dataclasses.replace(card, extra={**card.extra, "agreement": json.dumps(record)})
    save_graph(onnx.load(graph), card, graph, overwrite=True)
    return record


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("model")
    parser.add_argument("--target-f1", type=float, default=0.995, help="calibrate --target-f1, TensorRT form")
    parser.add_argument("--cpu-target-f1", type=float, default=None, help="the same for the CPU form")
    args = parser.parse_args()
    spec = get_spec(args.model)
    domain = DOMAIN_OF_FAMILY[spec.family]
    paths = {form: SHIPPED_DIR / f"{args.model}{suffix}.onnx" for form, suffix in SHIPPED_FORMS.items()}
    fp32 = SHIPPED_DIR / f"{args.model}.onnx"
    with tempfile.TemporaryDirectory() as scratch:
        calib, heldout = Path(scratch) / "calib", Path(scratch) / "heldout"
        write_pairs(domain, 32, SIZE, seed=1, root=calib)
        write_pairs(domain, 40, SIZE, seed=0, root=heldout)
        export_model(args.model, fp32, overwrite=True)
        images = load_calibration_set(calib / "input")
        convert_to_fp16(fp32, images.batches(read_card(fp32)), paths["fp16"], overwrite=True)
        calibrate(fp32, images, output=paths["int8"], target_f1=args.target_f1, overwrite=True)
        cpu_target = args.cpu_target_f1 or args.target_f1
        calibrate(fp32, images, output=paths["int8-cpu"], target="cpu", target_f1=cpu_target, overwrite=True)
        fp32_f1 = line_f1(fp32, heldout)
        print(f"{args.model} fp32: line F1 {fp32_f1:.4f} against the targets of {heldout.name}")
        for form, graph in paths.items():
            print(f"{args.model} {form}: {record_agreement(graph, fp32, heldout, fp32_f1)}")


if __name__ == "__main__":
    main()
