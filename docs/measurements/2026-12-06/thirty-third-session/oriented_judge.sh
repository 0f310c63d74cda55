#!/usr/bin/env bash
# Scores contour-oriented (runs/oriented33b, its best epoch), the same weights with the branch
# switched off, and the control contour-v12, each alone as an FP32 graph, by oriented-rules.md.
#   bash docs/measurements/2026-12-06/thirty-third-session/oriented_judge.sh
set -euo pipefail
HERE=docs/measurements/2026-12-06/thirty-third-session
RUN=runs/oriented33b
V12=docs/measurements/2026-12-06/thirty-first-session/judge/candidate-contour-v12.safetensors
cp $RUN/weights.safetensors $HERE/candidate-contour-oriented.safetensors
cp $RUN/weights.json $HERE/candidate-contour-oriented.json
python $HERE/branch_off.py $RUN/weights.safetensors /tmp/oriented-off.safetensors
toolkit export contour-oriented --weights $RUN/weights.safetensors -o /tmp/oriented.onnx --overwrite
toolkit export contour-oriented --weights /tmp/oriented-off.safetensors -o /tmp/oriented-off.onnx --overwrite
toolkit export contour --weights $V12 -o /tmp/v12.onnx --overwrite
cd docs/measurements/2026-12-06/thirty-second-session
python probe_score.py /work/main/data/held31-painting-512 /work/main/data/held31-painting-640 \
  --graph v12=/tmp/v12.onnx --graph oriented=/tmp/oriented.onnx --graph "oriented, branch off"=/tmp/oriented-off.onnx \
  | tee /work/main/$HERE/oriented-scores.txt
