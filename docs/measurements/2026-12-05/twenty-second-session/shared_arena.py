"""python shared_arena.py MODE HEIGHT WIDTH [GRAPH...]: the route's two sessions, one pass each in turn.

MODE `own`: each session its own CPU arena (ONNX Runtime's default); `shared`: one arena registered
as the environment's CPU allocator, both sessions using it (`session.use_env_allocators=1`). Prints
the peak RSS over what the process held before, and each pass's time. Twenty-second session,
2026-12-05 (issue 18: the route paid two arenas).
"""

import sys
import time

import numpy as np
import onnxruntime as ort

from toolkit.core.machine import process_memory_mb

GRAPHS = ["toolkit/weights/contour.onnx", "toolkit/weights/contour-thin.onnx"]


def main(mode: str, height: int, width: int, *graphs: str) -> None:
    options = ort.SessionOptions()
    options.enable_mem_pattern = False
    options.log_severity_level = 3
    options.intra_op_num_threads = 1
    if mode == "shared":
        info = ort.OrtMemoryInfo("Cpu", ort.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0, ort.OrtMemType.DEFAULT)
        ort.create_and_register_allocator(info, None)
        options.add_session_config_entry("session.use_env_allocators", "1")
    sessions = [
        ort.InferenceSession(path, options, providers=["CPUExecutionProvider"]) for path in graphs or GRAPHS
    ]
    image = np.random.default_rng(0).random((1, 3, height, width), np.float32)
    base = process_memory_mb()
    times = []
    for _ in range(2):
        for session in sessions:
            start = time.perf_counter()
            session.run(None, {session.get_inputs()[0].name: image})
            times.append(round(time.perf_counter() - start, 2))
    peak = process_memory_mb("VmHWM") - base
    print(f"{mode:6s} {height}x{width}: peak +{peak:.0f} MB over {base:.0f}, passes {times} s")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), *sys.argv[4:])
