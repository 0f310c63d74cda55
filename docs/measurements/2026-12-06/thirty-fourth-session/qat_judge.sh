#!/usr/bin/env bash
# Judges runs/contour-v13q by qat-rules.md (Q1: the CPU form's agreement, Q2: its lines against v13's).
#   bash docs/measurements/2026-12-06/thirty-fourth-session/qat_judge.sh
set -euo pipefail
HERE=docs/measurements/2026-12-06/thirty-fourth-session
RUN=runs/contour-v13q
last=$(python -c "import json; print(json.load(open('$RUN/metrics.json'))[-1]['epoch'])")
python docs/measurements/2026-12-05/twenty-first-session/checkpoint_weights.py \
  $RUN/checkpoints/epoch-$(printf %03d "$last").pt /tmp/v13q.safetensors
toolkit export contour --weights /tmp/v13q.safetensors -o /tmp/v13q.onnx --overwrite
{
  echo "== Q1 (epoch $last)"
  python $HERE/cpu_form_methods.py /tmp/v13q.onnx --exclude-from toolkit/weights/contour-int8-cpu.onnx \
    --methods max 2>&1 | grep worst
  echo "== Q2: alone, FP32 (v13: 0.8697 / 0.8576 / 0.8504 / 0.8836 / 0.8434)"
  for s in painting-512-s5 held30-painting-512 held30-painting-640 held34-painting-512 held34-painting-640; do
    echo "$s $(toolkit evaluate data/$s --model /tmp/v13q.onnx 2>&1 | grep '│ contour' | awk -F'│' '{print $(NF-1)}')"
  done
} | tee $HERE/qat-probe.txt
