#!/usr/bin/env bash
# Judges runs/thin35 by ship-rules.md, rule by rule (rules 0, 1 and C are all measured, for the record;
# the rest only while every rule before has held). Every baseline is measured here, beside the
# candidate, on this session's CPU. Rule 4 is the re-ship itself (scripts/ship_graphs.py), run by hand.
#   bash docs/measurements/2026-12-06/thirty-fifth-session/judge.sh
set -euo pipefail
HERE=docs/measurements/2026-12-06/thirty-fifth-session
J=$HERE/judge
RUN=runs/thin35
ROUTED="heldout-painting painting-512-s5 heldout-painting-768x1024 held35-painting-256 held35-painting-424"
mkdir -p $J
scores() {  # GRAPH SET...: line F1 alone, one `==` header per set
  local graph=$1; shift
  for s in "$@"; do
    echo "== toolkit evaluate data/$s --model $graph"
    toolkit evaluate data/$s --model "$graph" 2>&1 | grep -E "│ contour"
  done
}
routed() {  # SET...: line F1 of `--model contour`, with whatever contour-thin.onnx now holds
  for s in "$@"; do
    echo "== toolkit evaluate data/$s --model contour --precision fp32"
    toolkit evaluate data/$s --model contour --precision fp32 2>&1 | grep -E "│ contour|pages drawn"
  done
}
[ -d data/held35-painting-256 ] || toolkit synth --kind painting --count 160 --size 256 --seed 111 -o data/held35-painting-256
[ -d data/held35-painting-424 ] || toolkit synth --kind painting --count 40 --size 424 --seed 112 -o data/held35-painting-424
cp $RUN/weights.safetensors $J/candidate-contour-thin35.safetensors
cp $RUN/weights.json $J/candidate-contour-thin35.json
toolkit export contour-thin --weights $J/candidate-contour-thin35.safetensors -o /tmp/candidate.onnx --overwrite
scores toolkit/weights/contour-thin.onnx heldout-painting held35-painting-256 held35-painting-424 > $J/shipped-alone.txt
scores /tmp/candidate.onnx heldout-painting held35-painting-256 held35-painting-424 > $J/candidate-alone.txt
python $HERE/rules.py 0 1 C | tee $J/rules.txt; [ "${PIPESTATUS[0]}" = 0 ] || exit 0

routed $ROUTED > $J/shipped-routed.txt
cp toolkit/weights/contour-thin.onnx /tmp/shipped-contour-thin.onnx
cp /tmp/candidate.onnx toolkit/weights/contour-thin.onnx
trap 'cp /tmp/shipped-contour-thin.onnx toolkit/weights/contour-thin.onnx' EXIT
routed $ROUTED > $J/candidate-routed.txt
python $HERE/rules.py 2 | tee -a $J/rules.txt; [ "${PIPESTATUS[0]}" = 0 ] || exit 0
for who in shipped candidate; do  # both exit 1: below 0.85 somewhere
  graph=/tmp/candidate.onnx; [ $who = shipped ] && graph=/tmp/shipped-contour-thin.onnx
  toolkit sweep --model $graph --seed 24 --images 8 -o $J/sweep-$who-alone.png > $J/sweep-$who-alone.log 2>&1 || true
done
python $HERE/rules.py 3 | tee -a $J/rules.txt
