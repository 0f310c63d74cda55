"""NVIDIA ModelOpt's ONNX PTQ against our INT8 graph (ONNX Runtime quantize_static), in one run.

ModelOpt's ONNX extra installs onnxruntime-gpu, which must never share an environment with the
onnxruntime our `cpu` extra installs, so this runs in its own virtual environment:

    python3 -m venv .venv-modelopt && . .venv-modelopt/bin/activate
    pip install torch==2.13.0 && pip install "nvidia-modelopt[onnx]" && pip install --no-deps -e .
    pip install opencv-python-headless pillow typer rich
    python benchmarks/modelopt_ptq.py --fp32 export/unet-light.onnx --ours export/unet-light-int8.onnx \\
        --calibration calib/input --heldout heldout/input

For each ModelOpt calibration method it quantises the FP32 graph (INT8, everything not quantised kept
FP32 like ours), then scores every INT8 graph on the held-out images against the FP32 graph's
output: line F1 agreement (toolkit.core.agreement, the numbers `toolkit verify` reports), the TensorRT
Q/DQ rule check, and the median latency of one image on ONNX Runtime's CPU provider.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

from toolkit.calibration.images import load_calibration_set
from toolkit.calibration.int8 import qdq_problems
from toolkit.core.agreement import compare
from toolkit.core.metadata import read_card


def session(path: Path, threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def median_ms(run: ort.InferenceSession, feed: dict[str, np.ndarray], runs: int) -> float:
    run.run(None, feed)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        run.run(None, feed)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def modelopt_int8(fp32: Path, calibration: np.ndarray, method: str, output: Path) -> None:
    from modelopt.onnx.quantization import quantize

    quantize(
        str(fp32),
        quantize_mode="int8",
        calibration_data={"image": calibration},
        calibration_method=method,
        calibration_eps=["cpu"],
        high_precision_dtype="fp32",  # like our graph: what is not INT8 stays FP32
        output_path=str(output),
        log_level="WARNING",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fp32", type=Path, required=True)
    parser.add_argument("--ours", type=Path, required=True, help="our INT8 graph of the same FP32 graph")
    parser.add_argument("--calibration", type=Path, required=True)
    parser.add_argument("--heldout", type=Path, required=True)
    parser.add_argument("--methods", nargs="+", default=["max", "entropy"])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    card = read_card(args.fp32)
    calibration = np.concatenate(list(load_calibration_set(args.calibration).batches(card)))
    heldout = list(load_calibration_set(args.heldout).batches(card))
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        graphs = {"ours (onnxruntime quantize_static)": args.ours}
        for method in args.methods:
            graphs[f"modelopt {method}"] = Path(scratch) / f"modelopt-{method}.onnx"
            started = time.perf_counter()
            modelopt_int8(args.fp32, calibration, method, graphs[f"modelopt {method}"])
            logging.warning("modelopt %s: %.0f s", method, time.perf_counter() - started)
        reference = session(args.fp32, args.threads)
        expected = [reference.run(None, {"image": batch})[0][0] for batch in heldout]
        fp32_ms = median_ms(reference, {"image": heldout[0]}, args.runs)
        for name, path in graphs.items():
            run = session(path, args.threads)
            scores = [
                compare(want, run.run(None, {"image": batch})[0][0], card.outputs[0], card.threshold)
                for want, batch in zip(expected, heldout)
            ]
            ms = median_ms(run, {"image": heldout[0]}, args.runs)
            model = onnx.load(path)
            rows.append(
                {
                    "graph": name,
                    "line_f1_agreement": round(float(np.mean([s["line_f1"] for s in scores])), 5),
                    "worst_line_f1": round(float(np.min([s["line_f1"] for s in scores])), 5),
                    "psnr_db": round(float(np.mean([s["psnr_db"] for s in scores])), 1),
                    "quantised_nodes": sum(n.op_type == "QuantizeLinear" for n in model.graph.node),
                    "tensorrt_qdq_problems": len(qdq_problems(model)),
                    "ms": round(ms, 1),
                    "speed_vs_fp32_graph": round(fp32_ms / ms, 2),
                }
            )
    where = f"ONNX Runtime {ort.__version__} CPU, {args.threads} threads"
    print(f"{card.model}: {len(heldout)} held-out images, {where}")
    print(f"FP32 graph: {fp32_ms:.1f} ms")
    for row in rows:
        print(json.dumps(row))
    if args.json:
        args.json.write_text(json.dumps({"model": card.model, "fp32_ms": fp32_ms, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
