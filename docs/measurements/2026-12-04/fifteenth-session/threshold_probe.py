"""Line F1 of a model at several thresholds on `toolkit synth` sets (probabilities computed once).

python threshold_probe.py MODEL SET... (fifteenth session)
"""

import sys
from pathlib import Path

from toolkit.analysis.evaluate import lines_of, read_image
from toolkit.analysis.metrics import add_counts, line_counts
from toolkit.runtime.backends import make_runner
from toolkit.runtime.tiling import predict_tiled

model, folders = sys.argv[1], sys.argv[2:]
runner = make_runner(model, precision="fp32")[0].__enter__()  # a probe: open for the whole run
ths = [0.3, 0.5, 0.7, 0.8, 0.9]
for folder in folders:
    tot = {t: {} for t in ths}
    for inp in sorted(Path(folder, "input").iterdir()):
        tgt = next(Path(folder, "target").glob(inp.stem + ".*"))
        image, target = read_image(inp), lines_of(read_image(tgt))
        prob = predict_tiled(runner, image)
        for t in ths:
            tot[t] = add_counts(tot[t], line_counts(prob >= t, target))
    for t in ths:
        c = tot[t]
        p, r = c["pred_matched"] / c["pred_lines"], c["target_matched"] / c["target_lines"]
        print(folder, t, f"P {p:.3f} R {r:.3f} F1 {2 * p * r / (p + r):.4f}", flush=True)
