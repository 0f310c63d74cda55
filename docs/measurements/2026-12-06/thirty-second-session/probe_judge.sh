#!/usr/bin/env bash
# Scores the probe (runs/bridge32, its last epoch), the control (contour-v12) and the shipped contour,
# each alone as an FP32 graph, by probe-rules.md.
#   bash docs/measurements/2026-12-06/thirty-second-session/probe_judge.sh
set -euo pipefail
HERE=docs/measurements/2026-12-06/thirty-second-session
RUN=runs/bridge32
V12=docs/measurements/2026-12-06/thirty-first-session/judge/candidate-contour-v12.safetensors
last=$(python -c "import json; print(json.load(open('$RUN/metrics.json'))[-1]['epoch'])")
python docs/measurements/2026-12-05/twenty-first-session/checkpoint_weights.py \
  $RUN/checkpoints/epoch-$(printf %03d "$last").pt $HERE/probe-bridge32.safetensors
toolkit export contour --weights $HERE/probe-bridge32.safetensors -o /tmp/probe.onnx --overwrite
toolkit export contour --weights $V12 -o /tmp/v12.onnx --overwrite
cd $HERE
python probe_score.py /work/main/data/held31-painting-512 /work/main/data/held31-painting-640 \
  --graph shipped=/work/main/toolkit/weights/contour.onnx --graph v12=/tmp/v12.onnx \
  --graph "probe (epoch $last)"=/tmp/probe.onnx | tee probe-scores.txt
