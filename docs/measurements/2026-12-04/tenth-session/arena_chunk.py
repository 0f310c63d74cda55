"""python arena_chunk.py GRAPH MODE SIDE THREADS [PASSES]: one graph's pass over a SIDE x SIDE image.

Prints the best pass after the first, the first, and the peak RSS over what the process held before.
MODE: `default` (ONNX Runtime's CPU arena), `same` (an environment arena that grows by the size
asked), `bigN` (an environment arena whose first region is N MB), `pattern` (no arena, memory
pattern on) or `off` (no arena). Tenth session, 2026-12-04, docs/inference.md.
"""

import sys
import time

import numpy as np
import onnxruntime as ort

from toolkit.core.machine import process_memory_mb


def main(path: str, mode: str, side: int, threads: int, passes: int = 3) -> None:
    options = ort.SessionOptions()
    options.enable_mem_pattern = False
    options.log_severity_level = 3
    options.intra_op_num_threads = threads
    if mode == "same" or mode.startswith("big"):
        settings = (
            {"arena_extend_strategy": 1}
            if mode == "same"
            else {"initial_chunk_size_bytes": int(mode[3:]) << 20}
        )
        info = ort.OrtMemoryInfo("Cpu", ort.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0, ort.OrtMemType.DEFAULT)
        ort.create_and_register_allocator(info, ort.OrtArenaCfg(settings))
        options.add_session_config_entry("session.use_env_allocators", "1")
    elif mode == "pattern":
        options.enable_cpu_mem_arena = False
        options.enable_mem_pattern = True
    elif mode == "off":
        options.enable_cpu_mem_arena = False
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    name, channels = session.get_inputs()[0].name, session.get_inputs()[0].shape[1]
    image = np.random.default_rng(0).random((1, channels, side, side), np.float32)
    base = process_memory_mb()
    times, after = [], []
    for _ in range(passes):
        start = time.perf_counter()
        session.run(None, {name: image})
        times.append(time.perf_counter() - start)
        after.append(round(process_memory_mb() - base))
    peak = process_memory_mb("VmHWM") - base
    print(
        f"{mode:7s} {side}: best {min(times[1:]):.3f} s, first {times[0]:.3f}, peak +{peak:.0f} MB, "
        f"after each pass {after} MB"
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), *map(int, sys.argv[5:]))
