"""Where an ONNX graph's time goes on ONNX Runtime's CPU provider: milliseconds per operator type.

    python benchmarks/ort_ops.py export/unet-int8-cpu.onnx --size 424 --runs 5

Runs the graph batch 1 at `--size` x `--size` with ONNX Runtime's profiler on, after one warm-up,
and prints, per operator type of the *optimised* graph (QLinearConv, not Conv + Q/DQ), the mean
milliseconds per run, the share of the total and the node count. `--nodes N` also lists the N
slowest nodes. This is how the CPU INT8 form's float leftovers were found (BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import onnxruntime as ort


def kernel_times(path: Path, size: int, runs: int, threads: int) -> dict[tuple[str, str], list[float]]:
    """(operator type, node name) -> milliseconds of each profiled run."""
    with tempfile.TemporaryDirectory() as scratch:
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.enable_profiling = True
        options.profile_file_prefix = str(Path(scratch) / "profile")
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        model_input = session.get_inputs()[0]
        channels = model_input.shape[1]
        x = np.random.default_rng(0).random((1, channels, size, size), dtype=np.float32)
        session.run(None, {model_input.name: x})  # warm-up, profiled too: dropped below
        for _ in range(runs):
            session.run(None, {model_input.name: x})
        events = json.loads(Path(session.end_profiling()).read_text())
    times: dict[tuple[str, str], list[float]] = defaultdict(list)
    for event in events:
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            node = event["name"].removesuffix("_kernel_time")
            times[(event["args"]["op_name"], node)].append(event["dur"] / 1000)
    return {key: values[1:] for key, values in times.items()}  # without the warm-up


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("onnx", type=Path)
    parser.add_argument("--size", type=int, default=424)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--nodes", type=int, default=0, help="also list the N slowest nodes")
    args = parser.parse_args()

    times = kernel_times(args.onnx, args.size, args.runs, args.threads)
    per_op: Counter[str] = Counter()
    count: Counter[str] = Counter()
    for (op, _), values in times.items():
        per_op[op] += float(np.mean(values))
        count[op] += 1
    total = sum(per_op.values())
    print(
        f"{args.onnx} at {args.size}x{args.size}, {args.threads} threads: {total:.1f} ms of kernels per run"
    )
    print(f"{'operator':<22}{'ms/run':>10}{'share':>8}{'nodes':>7}")
    for op, ms in per_op.most_common():
        print(f"{op:<22}{ms:>10.1f}{100 * ms / total:>7.1f}%{count[op]:>7}")
    slowest = sorted(((float(np.mean(v)), op, node) for (op, node), v in times.items()), reverse=True)
    for ms, op, node in slowest[: args.nodes]:
        print(f"{ms:8.2f} ms  {op:<16} {node}")


if __name__ == "__main__":
    main()
