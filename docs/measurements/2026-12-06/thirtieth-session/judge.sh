#!/usr/bin/env bash
# What was measured of runs/contour-v10 (ship-rules.md): the shipped graphs' baselines (run beside the
# training) and, after rule 0 had failed, the last epoch's graph alone, for the record.
#   bash docs/measurements/2026-12-06/thirtieth-session/judge.sh
set -euo pipefail
J=docs/measurements/2026-12-06/thirtieth-session/judge
OLD=docs/measurements/2026-12-05/twenty-first-session
SETS="painting-512-s5 held30-painting-512 held30-painting-640"
for s in $SETS; do
  echo "== toolkit evaluate data/$s --model toolkit/weights/contour.onnx"
  toolkit evaluate data/$s --model toolkit/weights/contour.onnx 2>&1 | grep -E "│|pages drawn"
done > $J/shipped-alone.txt
toolkit sweep --model toolkit/weights/contour.onnx --seed 24 --images 8 -o $J/sweep-shipped-alone.png \
  > $J/sweep-shipped-alone.log 2>&1 || true  # exits 1: below 0.85 somewhere
for s in heldout-painting heldout-painting-768x1024; do
  echo "== toolkit evaluate data/$s --model contour --precision fp32"
  toolkit evaluate data/$s --model contour --precision fp32 2>&1 | grep -E "│|pages drawn"
done > $J/shipped-routed.txt
python $OLD/checkpoint_weights.py runs/contour-v10/checkpoints/epoch-016.pt $J/candidate-contour-v10.safetensors
toolkit export contour --weights $J/candidate-contour-v10.safetensors -o /tmp/candidate.onnx --overwrite
for s in $SETS; do
  echo "== toolkit evaluate data/$s --model candidate.onnx (runs/contour-v10 epoch 16)"
  toolkit evaluate data/$s --model /tmp/candidate.onnx 2>&1 | grep -E "│|pages drawn"
done > $J/candidate-alone.txt
