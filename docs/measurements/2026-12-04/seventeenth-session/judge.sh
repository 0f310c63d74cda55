#!/bin/bash
# judge.sh RUN EPOCH [FLIPS]: that epoch's contour weights -> FP32 graph -> 3 painting sets -> full sweep
set -e
cd /work/main && . .venv/bin/activate
RUN=$1; EP=$(printf %03d $2); FL=${3:-1}
OUT=/tmp/s17/judge-$(basename $RUN)-e$2-f$FL; mkdir -p $OUT
[ -f $OUT/model.onnx ] || toolkit export contour --weights $RUN/checkpoints/epoch-$EP.pt -o $OUT/model.onnx > $OUT/export.log 2>&1
for set in heldout-painting held-painting-512 heldout-painting-768x1024; do
  toolkit evaluate data/$set --model $OUT/model.onnx --flips $FL --no-baselines --json $OUT/$set.json --overwrite > $OUT/$set.log 2>&1
  python - $OUT/$set.json <<'PY'
import json,sys; d=json.load(open(sys.argv[1])); m=[v for k,v in d["methods"].items()][0] if "methods" in d else d
print(sys.argv[1].split('/')[-1], {k: round(v,4) for k,v in m.items() if k in ("line_f1","line_precision","line_recall")})
PY
done
toolkit sweep --model $OUT/model.onnx --flips $FL -o $OUT/sweep.png --overwrite > $OUT/sweep.log 2>&1 || true
python - $OUT/sweep.json docs/sweep-contour.json <<'PY'
import json,sys
def pts(p):
    d=json.load(open(p))
    return {(f,pt["value"]): pt["methods"]["model"]["line_f1"] for f,v in d["factors"].items() for pt in v}
new, old = pts(sys.argv[1]), pts(sys.argv[2])
keys = sorted(old)
better = sum(new[k] > old[k] for k in keys)
mean = lambda d: sum(d[k] for k in keys)/len(keys)
worst = min(keys, key=lambda k: new[k])
print(f"sweep: {len(keys)} points, mean {mean(new):.4f} vs {mean(old):.4f}, better at {better}, worst {new[worst]:.4f} at {worst} (shipped worst {min(old.values()):.4f})")
PY
