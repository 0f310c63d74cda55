#!/bin/bash
# judge_router.sh OUTDIR: the routed `contour` (the shipped name, FP32: `contour` first, pages whose
# lines it draws thin redrawn by `contour-thin`) against `contour` alone (its graph file), line F1
# (P / R) and the pages each model drew, on the held-out paintings at element scale 1, 1.5, 1.75, 2
# and 3; then the fresh sweep (seed 8, 8 pages a point) of both, compared point by point.
set -e
cd "$(dirname "$0")/../../../.."
OUT=$1; mkdir -p "$OUT"
HERE=docs/measurements/2026-12-05/twenty-first-session
SETS="heldout-painting held-painting-384 held-painting-448 held-painting-512 heldout-painting-768x1024"
for set in $SETS; do
  .venv/bin/toolkit evaluate data/$set --model contour --precision fp32 --no-baselines \
    --json "$OUT/routed-$set.json" --overwrite > "$OUT/routed-$set.log" 2>&1
  .venv/bin/toolkit evaluate data/$set --model toolkit/weights/contour.onnx --no-baselines \
    --json "$OUT/alone-$set.json" --overwrite > "$OUT/alone-$set.log" 2>&1
done
.venv/bin/python - "$OUT" $SETS <<'PY' | tee "$OUT/sets.txt"
import json, sys
out, sets = sys.argv[1], sys.argv[2:]
def score(path):
    report = json.load(open(path))
    m = next(iter(report["methods"].values()))
    return f"{m['line_f1']:.4f} (P {m['line_precision']:.3f} / R {m['line_recall']:.3f})", report.get("drawn_by", {})
print("set: contour alone | routed contour (pages drawn by each)")
for name in sets:
    alone, _ = score(f"{out}/alone-{name}.json")
    routed, drawn = score(f"{out}/routed-{name}.json")
    print(f"{name}: {alone} | {routed} {drawn}")
PY
.venv/bin/toolkit sweep --model contour --precision fp32 --seed 8 --images 8 -o "$OUT/sweep-routed.png" --overwrite > "$OUT/sweep-routed.log" 2>&1 || true  # exit 1: a point under 0.85
.venv/bin/toolkit sweep --model toolkit/weights/contour.onnx --seed 8 --images 8 -o "$OUT/sweep-alone.png" --overwrite > "$OUT/sweep-alone.log" 2>&1 || true
.venv/bin/python $HERE/compare_sweeps.py "$OUT/sweep-alone.json" "$OUT/sweep-routed.json" | tee "$OUT/sweep_compare.txt"
