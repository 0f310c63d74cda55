#!/bin/bash
# probe_contour.sh MODEL TAG OUTDIR: a contour checkpoint (.pt, exported as $EXPORT_AS, default contour),
# graph or shipped name -> recall by line width on middle-factor 256 px pages with and without cracks
# (thin_lines_and_cracks.py) and line F1 (P / R) on the 256 px and 512 px held-out paintings. FP32.
set -e
cd "$(dirname "$0")/../../../.."
MODEL=$1; TAG=$2; OUT=$3/$TAG; mkdir -p "$OUT"
if [[ $MODEL == *.pt ]]; then
  [ -f "$OUT/model.onnx" ] || .venv/bin/toolkit export "${EXPORT_AS:-contour}" --weights "$MODEL" -o "$OUT/model.onnx" > "$OUT/export.log" 2>&1
  MODEL=$OUT/model.onnx
fi
precision=()
[[ $MODEL == *.onnx ]] || precision=(--precision fp32)
NINETEEN=docs/measurements/2026-12-05/nineteenth-session
.venv/bin/python $NINETEEN/thin_lines_and_cracks.py "$MODEL" > "$OUT/thin_lines.txt"
for set in heldout-painting held-painting-512; do
  .venv/bin/toolkit evaluate data/$set --model "$MODEL" "${precision[@]}" --no-baselines --json "$OUT/$set.json" --overwrite > "$OUT/$set.log" 2>&1
  .venv/bin/python -c "import json,sys; m=next(iter(json.load(open(sys.argv[1]))['methods'].values())); print(sys.argv[2], f\"{m['line_f1']:.4f} (P {m['line_precision']:.3f} / R {m['line_recall']:.3f})\")" "$OUT/$set.json" $set
done | tee "$OUT/sets.txt"
cat "$OUT/thin_lines.txt"
