"""What ONNX Runtime's workers spinning after a run cost the host work that follows it: for each value
of `session.force_spinning_stop`, the CPU time the process burns in the 0.5 s after a run of the
shipped `unet-light` (FP32, 1024 px, ONNX Runtime's two threads), and the time of the `unet-light`
route's two readings of that page started right after a run and started after the workers have
settled (1 s later).

    python docs/measurements/2026-12-06/thirty-first-session/spinning.py
"""

import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

from toolkit.imaging.conditioning import brightest, conditioned
from toolkit.imaging.imageio import read_image
from toolkit.imaging.model_input import to_model_input
from toolkit.runtime.onnxruntime_runner import OnnxRuntimeRunner
from toolkit.runtime.routing import PageReadings, PencilContrast, PencilSnr

SCAN = "runs/benchmark-scans/sketch-1024x1024-seed7-scale4.png"
GRAPH = "toolkit/weights/unet-light.onnx"
ROUNDS = 8


def main() -> None:
    with OnnxRuntimeRunner(Path(GRAPH)) as runner:
        card = runner.card
    scan = read_image(SCAN)
    page = np.asarray(conditioned(scan, card.conditioning))
    feed = {card.input_name: to_model_input(page, card)[None]}
    ink = brightest(page) < 170  # lines enough for the readings' work

    def read() -> float:
        started = time.perf_counter()
        readings = PageReadings([PencilSnr, PencilContrast], page, scan)
        readings.add(ink)
        readings.finish()
        return time.perf_counter() - started

    for stop in ("0", "1"):
        options = ort.SessionOptions()
        options.log_severity_level = 3
        options.enable_mem_pattern = False
        options.add_session_config_entry("session.force_spinning_stop", stop)
        session = ort.InferenceSession(GRAPH, options, providers=["CPUExecutionProvider"])
        session.run(None, feed)
        burnt, after_run, settled, runs = [], [], [], []
        for _ in range(ROUNDS):
            started = time.perf_counter()
            session.run(None, feed)
            runs.append(time.perf_counter() - started)
            cpu = time.process_time()
            time.sleep(0.5)
            burnt.append(time.process_time() - cpu)
            session.run(None, feed)
            after_run.append(read())
            time.sleep(1.0)
            settled.append(read())
        ms = {name: 1e3 * float(np.median(values)) for name, values in
              (("run", runs), ("burnt", burnt), ("after", after_run), ("settled", settled))}
        print(
            f"force_spinning_stop={stop}: run {ms['run']:.0f} ms; CPU burnt in the 0.5 s after a run"
            f" {ms['burnt']:.0f} ms (max {1e3 * max(burnt):.0f}); readings right after a run"
            f" {ms['after']:.1f} ms, after 1 s {ms['settled']:.1f} ms (medians of {ROUNDS})"
        )
        del session


if __name__ == "__main__":
    main()
