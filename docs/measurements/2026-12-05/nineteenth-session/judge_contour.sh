#!/bin/bash
# judge_contour.sh MODEL TAG OUTDIR: a contour graph, checkpoint (RUN/checkpoints/epoch-NNN.pt, exported
# as the registry model $EXPORT_AS, default contour-wide) or shipped name -> FP32, one view -> the 3
# plain painting sets -> sweep on seed 8 (pages no shipped candidate was chosen on), compared point by
# point with OUTDIR/shipped/sweep.json when that exists. Prints line F1 (P / R) per set and the sweep summary.
# $SETS names other sets under data/ (the mean is over the first three).
set -e
cd "$(dirname "$0")/../../../.."
MODEL=$1; TAG=$2; OUT=$3/$TAG; mkdir -p "$OUT"
if [[ $MODEL == *.pt ]]; then
  [ -f "$OUT/model.onnx" ] || .venv/bin/toolkit export ${EXPORT_AS:-contour-wide} --weights "$MODEL" -o "$OUT/model.onnx" > "$OUT/export.log" 2>&1
  MODEL=$OUT/model.onnx
fi
precision=()
[[ $MODEL == *.onnx ]] || precision=(--precision fp32)
SETS=${SETS:-heldout-painting held-painting-512 heldout-painting-768x1024}
for set in $SETS; do
  .venv/bin/toolkit evaluate data/$set --model "$MODEL" "${precision[@]}" --no-baselines --json "$OUT/$set.json" --overwrite > "$OUT/$set.log" 2>&1
done
.venv/bin/toolkit sweep --model "$MODEL" "${precision[@]}" --seed 8 --images 8 -o "$OUT/sweep.png" --overwrite > "$OUT/sweep.log" 2>&1 || true  # exits 1 below the floor
.venv/bin/python - "$OUT" "$3/shipped/sweep.json" $SETS <<'PY'
import json, sys
from pathlib import Path
out, shipped = Path(sys.argv[1]), Path(sys.argv[2])
f1s = []
for name in sys.argv[3:]:
    d = json.loads((out / f"{name}.json").read_text())
    m = next(iter(d["methods"].values()))
    f1s.append(m["line_f1"])
    print(f"{name}: {m['line_f1']:.4f} (P {m['line_precision']:.3f} / R {m['line_recall']:.3f})")
print(f"mean of the first three: {sum(f1s[:3]) / 3:.4f}")
def points(path):
    d = json.loads(path.read_text())
    return {(f, p["value"]): p["methods"]["model"]["line_f1"] for f, v in d["factors"].items() for p in v}
new = points(out / "sweep.json")
worst = min(new, key=new.get)
line = f"sweep seed 8: {len(new)} points, mean {sum(new.values()) / len(new):.4f}, worst {new[worst]:.3f} at {worst}"
if shipped.is_file() and shipped.parent != out:
    old = points(shipped)
    better = sum(new[k] > old[k] for k in old)
    line += f"; shipped mean {sum(old.values()) / len(old):.4f}, worst {min(old.values()):.3f}; better at {better} of {len(old)}"
print(line)
PY
