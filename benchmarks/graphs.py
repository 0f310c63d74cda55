"""ONNX graphs on ONNX Runtime's CPU provider against the first one given, in one run.

    git show cd72f54:toolkit/weights/contour.onnx > /tmp/contour-full-head.onnx
    python benchmarks/graphs.py /tmp/contour-full-head.onnx toolkit/weights/contour.onnx --size 1024

For two forms of one model (a head before and after a change, a graph and its INT8 form): batch-1
inference of each on the same random float image of `--size` px, the graphs taking turns as
benchmarks/precision.py times its backends (`timed_in_turns`), so the machine's drift falls on each
alike. Prints each graph's median time and its speed against the first graph (the median of the
rounds' ratios, and their range), with the CPU's name and flags; `--json` writes the rows.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import onnxruntime as ort
from precision import speedups_by_round, timed_in_turns

from toolkit.core.machine import cpu_flags, cpu_model

FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8")


def session_call(path: Path, image: np.ndarray, threads: int) -> Callable[[], object]:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return partial(session.run, None, {session.get_inputs()[0].name: image})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("graphs", type=Path, nargs="+", help="the first is the baseline")
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--channels", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--block", type=int, default=3, help="timed calls per graph per round")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    image = np.random.default_rng(0).random((1, args.channels, args.size, args.size), dtype=np.float32)
    backends = {str(path): partial(session_call, path, image, args.threads) for path in args.graphs}
    times = timed_in_turns(backends, args.rounds, args.block)
    by_round = speedups_by_round(times, str(args.graphs[0]))
    rows = [
        {
            "graph": name,
            "ms": round(statistics.median(call for calls in rounds for call in calls) * 1000, 1),
            "speedup": round(statistics.median(by_round[name]), 2),
            "speedup_by_round": [round(ratio, 2) for ratio in by_round[name]],
        }
        for name, rounds in times.items()
    ]
    cpu = f"{cpu_model()} ({', '.join(cpu_flags(FLAGS))})"
    print(
        f"CPU: {cpu}; {args.size}x{args.size}, batch 1, {args.threads} threads, "
        f"{args.rounds} rounds x {args.block} calls, graphs taking turns"
    )
    for row in rows:
        spread = f"{min(row['speedup_by_round']):.2f}-{max(row['speedup_by_round']):.2f}x"
        print(f"{row['ms']:>8} ms {row['speedup']:>6.2f}x ({spread})  {row['graph']}")
    if args.json:
        args.json.write_text(json.dumps({"cpu": cpu, "size": args.size, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
