#!/usr/bin/env bash
# Line F1 of one unet-light graph on the six held-out sketch sets, FP32, one view:
#   judge_sketch.sh MODEL TAG OUTDIR   (MODEL: a shipped name or an .onnx graph)
set -euo pipefail
model=$1 tag=$2 out=$3
mkdir -p "$out"
for set in heldout-sketch held-sketch-424 held-sketch-424-s9 heldout-sketch-768x1024 held-faint-424 held-faint-768x1024; do
  precision=()
  [[ $model == *.onnx ]] || precision=(--precision fp32)
  toolkit evaluate "data/$set" --model "$model" "${precision[@]}" --no-baselines \
    --json "$out/$set-$tag.json" --overwrite > /dev/null
  python -c "import json,sys; m=next(iter(json.load(open(sys.argv[1]))['methods'].values())); print(f\"$set: {m['line_f1']:.4f} (P {m['line_precision']:.3f} / R {m['line_recall']:.3f})\")" "$out/$set-$tag.json"
done
