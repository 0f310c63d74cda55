#!/usr/bin/env bash
# Judges runs/contour-v13 by ship-rules.md, rule by rule (rules 0, 1 and C are all measured, for the
# record; the rest only while every rule before has held). Rule 4 is the re-ship itself
# (scripts/ship_graphs.py), run by hand after this. Baselines of rules 1-3: the thirtieth session's,
# measured on the same CPU model (Intel Xeon, family 6 model 207); one is re-measured here.
#   bash docs/measurements/2026-12-06/thirty-fourth-session/judge.sh
set -euo pipefail
HERE=docs/measurements/2026-12-06/thirty-fourth-session
J=$HERE/judge
V12=docs/measurements/2026-12-06/thirty-first-session/judge/candidate-contour-v12.safetensors
RUN=runs/contour-v13
mkdir -p $J
scores() {  # GRAPH SET...: line F1 alone, one `==` header per set
  local graph=$1; shift
  for s in "$@"; do
    echo "== toolkit evaluate data/$s --model $graph"
    toolkit evaluate data/$s --model "$graph" 2>&1 | grep -E "│ contour"
  done
}
[ -d data/held34-painting-512 ] || toolkit synth --kind painting --count 40 --size 512 --seed 105 -o data/held34-painting-512
[ -d data/held34-painting-640 ] || toolkit synth --kind painting --count 24 --size 640 --seed 106 -o data/held34-painting-640
toolkit export contour --weights $RUN/weights.safetensors -o /tmp/candidate.onnx --overwrite
toolkit export contour --weights $V12 -o /tmp/v12.onnx --overwrite
echo "== the shipped graph alone on data/painting-512-s5, again (thirtieth session: 0.8605)" > $J/shipped-check.txt
toolkit evaluate data/painting-512-s5 --model toolkit/weights/contour.onnx 2>&1 | grep -E "│ contour" >> $J/shipped-check.txt
scores /tmp/candidate.onnx painting-512-s5 held30-painting-512 held30-painting-640 > $J/candidate-alone.txt
scores toolkit/weights/contour.onnx held34-painting-512 held34-painting-640 > $J/shipped-confirmation.txt
scores /tmp/candidate.onnx held34-painting-512 held34-painting-640 > $J/candidate-confirmation.txt
scores /tmp/v12.onnx held34-painting-512 held34-painting-640 > $J/v12-confirmation.txt  # the record
python $HERE/rules.py 0 1 C | tee $J/rules.txt; [ "${PIPESTATUS[0]}" = 0 ] || exit 0

cp toolkit/weights/contour.onnx /tmp/shipped-contour.onnx
cp /tmp/candidate.onnx toolkit/weights/contour.onnx
trap 'cp /tmp/shipped-contour.onnx toolkit/weights/contour.onnx' EXIT
for s in heldout-painting heldout-painting-768x1024; do
  echo "== toolkit evaluate data/$s --model contour --precision fp32 (the candidate in contour's place)"
  toolkit evaluate data/$s --model contour --precision fp32 2>&1 | grep -E "│ contour|pages drawn"
done > $J/candidate-routed.txt
python $HERE/rules.py 2 | tee -a $J/rules.txt; [ "${PIPESTATUS[0]}" = 0 ] || exit 0
toolkit sweep --model /tmp/candidate.onnx --seed 24 --images 8 -o $J/sweep-candidate-alone.png \
  > $J/sweep-candidate-alone.log 2>&1 || true  # exits 1: below 0.85 somewhere
python $HERE/rules.py 3 | tee -a $J/rules.txt
