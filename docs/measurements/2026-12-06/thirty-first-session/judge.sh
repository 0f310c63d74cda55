#!/usr/bin/env bash
# Judges runs/contour-v12 by ship-rules.md, rule by rule, stopping at the first that fails (rule 1 is
# measured for the record even when rule 0 fails). The shipped graphs' baselines are the thirtieth
# session's, measured on the same CPU model (Intel Xeon, family 6 model 207) with the same commands
# and ONNX Runtime; one set is re-measured here to show they hold on this machine.
#   bash docs/measurements/2026-12-06/thirty-first-session/judge.sh
set -euo pipefail
HERE=docs/measurements/2026-12-06/thirty-first-session
J=$HERE/judge
BASE=docs/measurements/2026-12-06/thirtieth-session/judge
OLD=docs/measurements/2026-12-05/twenty-first-session
RUN=runs/contour-v12
SETS="painting-512-s5 held30-painting-512 held30-painting-640"
mkdir -p $J
alone() {  # GRAPH LABEL: line F1 alone on the three sets
  for s in $SETS; do
    echo "== toolkit evaluate data/$s --model $2"
    toolkit evaluate data/$s --model "$1" 2>&1 | grep -E "│|pages drawn"
  done
}
echo "== the shipped graph alone on data/painting-512-s5, again (thirtieth session: 0.8605)" > $J/shipped-check.txt
toolkit evaluate data/painting-512-s5 --model toolkit/weights/contour.onnx 2>&1 | grep -E "│" >> $J/shipped-check.txt

last=$(python -c "import json; print(json.load(open('$RUN/metrics.json'))[-1]['epoch'])")
python $OLD/checkpoint_weights.py $RUN/checkpoints/epoch-$(printf %03d "$last").pt $J/candidate-contour-v12.safetensors
toolkit export contour --weights $J/candidate-contour-v12.safetensors -o /tmp/candidate.onnx --overwrite
alone /tmp/candidate.onnx "candidate.onnx (runs/contour-v12 epoch $last)" > $J/candidate-alone.txt
python $HERE/rules.py 0 1 | tee $J/rules.txt; [ "${PIPESTATUS[0]}" = 0 ] || exit 0

cp toolkit/weights/contour.onnx /tmp/shipped-contour.onnx
cp /tmp/candidate.onnx toolkit/weights/contour.onnx
trap 'cp /tmp/shipped-contour.onnx toolkit/weights/contour.onnx' EXIT
for s in heldout-painting heldout-painting-768x1024; do
  echo "== toolkit evaluate data/$s --model contour --precision fp32 (the candidate in contour's place)"
  toolkit evaluate data/$s --model contour --precision fp32 2>&1 | grep -E "│|pages drawn"
done > $J/candidate-routed.txt
python $HERE/rules.py 2 || exit 0
toolkit sweep --model /tmp/candidate.onnx --seed 24 --images 8 -o $J/sweep-candidate-alone.png \
  > $J/sweep-candidate-alone.log 2>&1 || true  # exits 1: below 0.85 somewhere
python $HERE/rules.py 3
