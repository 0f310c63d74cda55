#!/usr/bin/env bash
# One prepared training run for a lent NVIDIA GPU machine (the `device` tool: PyTorch with CUDA,
# onnxruntime on the CPU, no TensorRT, no network, 15 minutes of device time a session in all).
#
# Issue 15 asks for the full `unet` to be trained wherever a GPU is lent, to measure what capacity
# buys over `unet-light`. This script is written so that a session that is lent one spends its
# device time training, not writing glue:
#
#   here, once:   scripts/gpu_session.sh prepare
#                 (downloads the three wheels the device image lacks into .whl/, which .gitignore holds)
#   there:        device `run` with carry [".whl"], timeout_s 600, command:
#                 TOOLKIT_GIT_COMMIT=<git rev-parse HEAD here> scripts/gpu_session.sh run
#   here, after:  scripts/gpu_session.sh unpack <files_at> runs/unet-gpu
#                 (then judge runs/unet-gpu/weights.safetensors like any run: toolkit export, evaluate, sweep)
#
# What `run` does, in about 8 minutes: trains MODEL (default the full `unet`, RGB input, the shipped
# unet-light's data recipe and conditioning) for MINUTES of training, then writes to $OUT the weights
# in parts of 15 MB (files back from the device are at most 16 MiB each, 8 files: the full `unet`'s
# 33 MB make three), a tarball of the run folder (log, metrics, curves, validation sheet, config,
# weights.json), the training log and the machine it ran on.
#
# Every knob is an environment variable, so the same script runs here on the CPU at a tiny size
# (tests/test_train.py) and there at full size. The CUDA part (autocast, the DataLoader feeding
# a GPU) has NOT been executed on a GPU by this project yet: no session has been lent one.
set -euo pipefail

WHEELS=(imagecodecs==2026.3.6 onnxslim==0.1.98 onnxconverter-common==1.16.0)

prepare() {
    # The device image holds numpy, OpenCV, scikit-image, onnx, onnxruntime, typer, rich, safetensors,
    # tqdm, matplotlib (/work/.library/device/KINDS.md); these three are what the toolkit adds.
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        -d .whl "${WHEELS[@]}"
    ls -l .whl
}

run() {
    : "${OUT:?OUT must name the folder whose files come back (the device sets it)}"
    local model=${MODEL:-unet} minutes=${MINUTES:-5.5} device=${DEVICE:-cuda}
    local run_dir=${RUN_DIR:-/tmp/gpu-session/run}
    if [ -d .whl ]; then
        python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
            --target /tmp/gpu-session/site .whl/*.whl
        export PYTHONPATH="$PWD:/tmp/gpu-session/site${PYTHONPATH:+:$PYTHONPATH}"
    fi
    export PYTHONUNBUFFERED=1
    mkdir -p "$OUT" "$(dirname "$run_dir")"
    {
        date -u
        nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null || echo "no nvidia-smi"
        nproc
        python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available())'
    } > "$OUT/machine.txt" 2>&1
    # The shipped unet-light's recipe (toolkit/weights/unet-light.json), from scratch, at a batch and
    # a page count a GPU can take; data is drawn by the workers (about 0.1 s a page a core), so the
    # run is bound by them, not by the GPU: 15 workers draw about 150 pages a second.
    python3 -m toolkit train "$model" --in-channels 3 --out "$run_dir" --device "$device" \
        --epochs "${EPOCHS:-8}" --time-limit "$minutes" --lr "${LR:-0.001}" --cosine \
        --batch-size "${BATCH:-32}" --workers "${WORKERS:-15}" \
        --crop "${CROP:-256}" --image-size "${IMAGE_SIZE:-320}" \
        --train-size "${TRAIN_SIZE:-4000}" --val-size "${VAL_SIZE:-256}" --checkpoint-every 1000 \
        --patience 0 --seed "${SEED:-19}" --conditioning flatten-neutral --loss pmi-gmi+gaps --gap-weight 0.05 \
        --focus pencil_contrast=10:40 --focus stroke_width=5:8 --focus pass_offset=2.5:4 --focus dpi=150:250 \
        --focus-share 0.25 2>&1 | tee "$OUT/train.log"  # under $OUT, so it comes back if training fails
    cp "$OUT/train.log" "$run_dir/train.log"
    (cd "$run_dir" && sha256sum weights.safetensors > weights.sha256 && split -b 15m -d weights.safetensors "$OUT/weights.part-")
    tar -C "$run_dir" --exclude checkpoints --exclude weights.safetensors -czf "$OUT/run.tgz" .
    ls -l "$OUT"
}

unpack() {
    local from=${1:?unpack FILES_AT RUN_DIR} to=${2:?unpack FILES_AT RUN_DIR}
    if [ -e "$to" ]; then
        echo "$to exists: pick a new run folder" >&2
        exit 2
    fi
    mkdir -p "$to"
    tar -C "$to" -xzf "$from/run.tgz"
    cat "$from"/weights.part-* > "$to/weights.safetensors"
    (cd "$to" && sha256sum -c weights.sha256)
    cp "$from/machine.txt" "$to/"
}

case "${1:-}" in
    prepare | run) "$1" ;;
    unpack) unpack "${2:-}" "${3:-}" ;;
    *)
        echo "usage: scripts/gpu_session.sh prepare | run | unpack FILES_AT RUN_DIR" >&2
        exit 2
        ;;
esac
