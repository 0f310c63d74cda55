"""FP32, FP16 and INT8 graphs on ONNX Runtime (CPU) against PyTorch eager FP32, in one run.

    python benchmarks/precision.py --model unet --size 424 --rounds 5 --block 3

Exports the model, derives its FP16 graph and both INT8 graphs, TensorRT's (symmetric int8) and
ONNX Runtime CPU's (`--target cpu`), calibrated on `--calibration-count` synthetic held-out images
written to a temporary folder, then times batch-1 inference of each on the same threads: the
backends take turns for `--rounds` rounds, each turn one untimed call and `--block` timed ones
(see `timed_in_turns`). Prints the median per backend, images/s and the speed ratio against
PyTorch eager measured in the same run (the median of the rounds' ratios, and their range), and
whether this CPU has one-instruction INT8 dot products (VNNI), which decide the INT8 speed-up;
`--json` writes them.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from toolkit.calibration.images import load_calibration_set
from toolkit.calibration.int8 import quantize_int8
from toolkit.core.machine import INT8_DOT_PRODUCTS, cpu_flags, cpu_model
from toolkit.core.metadata import DOMAIN_OF_FAMILY, read_card
from toolkit.data.synthetic import write_pairs
from toolkit.export.fp16 import convert_to_fp16
from toolkit.export.onnx_export import export_onnx
from toolkit.models.build import load_model
from toolkit.models.registry import get_spec, shipped_file

Runner = Callable[[], object]  # one batch-1 inference


def timed_in_turns(
    backends: dict[str, Callable[[], Runner]], rounds: int, block: int
) -> dict[str, list[list[float]]]:
    """Seconds of each timed call, per backend and round, over `rounds` rounds of taking turns.

    A turn builds the backend, makes one untimed call, times `block` calls back to back and releases
    it, so each backend runs alone, in its steady state, as a folder of images would run it. Taking
    turns puts this shared machine's drift (10 % within a minute) on every backend alike. Keeping
    every backend alive instead was unfair: an idle ONNX Runtime session's workers keep spinning and
    slowed the next backend (the contour model's PyTorch run took 80-155 ms beside one, 65-77 ms
    once it was released).
    """
    times: dict[str, list[list[float]]] = {name: [] for name in backends}
    gc.collect()  # sessions left by calibration, before the first turn
    for _ in range(rounds):
        for name, build in backends.items():
            run = build()
            run()
            calls = []
            for _ in range(block):
                started = time.perf_counter()
                run()
                calls.append(time.perf_counter() - started)
            times[name].append(calls)
            del run
            gc.collect()  # the session and its thread pool go now, not at some later collection
    return times


def speedups_by_round(times: dict[str, list[list[float]]], baseline: str) -> dict[str, list[float]]:
    """Per backend, the baseline's median over its median in each round: ratios of calls made a
    minute apart at most, so the machine's slower drift cancels out of each one."""
    return {
        name: [statistics.median(base) / statistics.median(own) for base, own in zip(times[baseline], rounds)]
        for name, rounds in times.items()
    }


def int8_dot_product_instructions() -> list[str]:
    """This CPU's flags for one-instruction 8-bit dot products: what decides the INT8 speed-up."""
    return sorted(cpu_flags(INT8_DOT_PRODUCTS))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="unet")
    parser.add_argument("--size", type=int, default=424)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--block", type=int, default=3, help="timed calls per backend per round")
    parser.add_argument("--calibration-count", type=int, default=32)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(args.threads)

    spec = get_spec(args.model)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        loaded = load_model(spec, shipped_file(spec, ".safetensors"))
        fp32 = export_onnx(loaded, folder / "fp32.onnx").path
        write_pairs(
            DOMAIN_OF_FAMILY[spec.family],
            args.calibration_count,
            args.size,
            seed=1,
            root=folder / "calibration",
        )
        images = load_calibration_set(folder / "calibration" / "input")
        convert_to_fp16(fp32, images.batches(read_card(fp32)), folder / "fp16.onnx")
        quantize_int8(fp32, images, folder / "int8.onnx", cache_dir=folder / "cache")
        quantize_int8(fp32, images, folder / "int8-cpu.onnx", cache_dir=folder / "cache", target="cpu")

        x = np.random.default_rng(0).random((1, spec.in_channels, args.size, args.size), dtype=np.float32)
        tensor = torch.from_numpy(x)

        def pytorch_eager() -> Runner:
            def run() -> None:
                with torch.inference_mode():
                    loaded.module(tensor)

            return run

        def onnxruntime_session(path: Path) -> Runner:
            options = ort.SessionOptions()
            options.intra_op_num_threads = args.threads
            session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            return partial(session.run, None, {"image": x})

        backends = {"pytorch eager fp32": pytorch_eager}
        for precision in ("fp32", "fp16", "int8", "int8-cpu"):
            backends[f"onnxruntime {precision}"] = partial(onnxruntime_session, folder / f"{precision}.onnx")
        times = timed_in_turns(backends, args.rounds, args.block)

    baseline = "pytorch eager fp32"
    by_round = speedups_by_round(times, baseline)
    rows = []
    for name, rounds in times.items():
        seconds = statistics.median(call for calls in rounds for call in calls)
        rows.append(
            {
                "backend": name,
                "ms": round(seconds * 1000, 1),
                "images_per_s": round(1 / seconds, 2),
                "speedup": round(statistics.median(by_round[name]), 2),  # median of the rounds' ratios
                "speedup_by_round": [round(ratio, 2) for ratio in by_round[name]],
            }
        )
    vnni = int8_dot_product_instructions()
    print(
        f"{args.model} at {args.size}x{args.size}, batch 1, {args.threads} threads, "
        f"{args.rounds} rounds x {args.block} calls, backends taking turns; "
        f"INT8 dot-product instructions: {', '.join(vnni) or 'none (no VNNI)'}"
    )
    print(f"{'backend':<24}{'ms':>8}{'images/s':>10}{'vs torch':>10}   rounds: min-max")
    for row in rows:
        spread = f"{min(row['speedup_by_round']):.2f}-{max(row['speedup_by_round']):.2f}x"
        print(
            f"{row['backend']:<24}{row['ms']:>8}{row['images_per_s']:>10}{row['speedup']:>9.2f}x   {spread}"
        )
    if args.json:
        machine = {
            "processor": cpu_model(),
            "int8_dot_product": vnni,
            "threads": args.threads,
            "onnxruntime": ort.__version__,
            "torch": torch.__version__,
        }
        args.json.write_text(
            json.dumps({"model": args.model, "size": args.size, "machine": machine, "rows": rows}, indent=2)
        )


if __name__ == "__main__":
    main()
