"""Model only, INT8 CPU form against FP32, one 1024 px (or SIZE) random input, best of 4 runs, 2 threads:
the quick look at what INT8 buys each shipped graph on this CPU.

    python int8_speedups.py [SIZE]
"""

import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

W = Path("toolkit/weights")
size = int(sys.argv[1]) if len(sys.argv) > 1 else 1024
for name in ["contour", "contour-coarse", "contour-thin", "unet-light", "unet-light-faint"]:
    res = {}
    for form in ["", "-int8-cpu"]:
        p = W / f"{name}{form}.onnx"
        if not p.exists():
            continue
        so = ort.SessionOptions()
        so.intra_op_num_threads = 2
        s = ort.InferenceSession(str(p), so, providers=["CPUExecutionProvider"])
        i = s.get_inputs()[0]
        x = np.random.rand(1, i.shape[1], size, size).astype(np.float32)
        s.run(None, {i.name: x})
        best = 1e9
        for _ in range(4):
            t = time.perf_counter()
            s.run(None, {i.name: x})
            best = min(best, time.perf_counter() - t)
        res[form or "fp32"] = best
    print(
        name,
        {k: round(v, 3) for k, v in res.items()},
        "speedup %.2f" % (res["fp32"] / res["-int8-cpu"]),
        flush=True,
    )
