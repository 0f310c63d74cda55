"""Validation line F1 of weights on a run's own validation pages, as `toolkit train` measures an
epoch (its `build_datasets` and `validate`, FP32): how a candidate made outside a run (an average of
checkpoints) is read against the run's `epoch 0` on the same pages.

    python validate_weights.py RUN WEIGHTS.safetensors [WEIGHTS...]
"""

import json
import sys
from pathlib import Path

import torch

from toolkit.models.build import load_model
from toolkit.models.registry import get_spec
from toolkit.train.trainer import TrainConfig, build_datasets, validate


def main(run: Path, weights: list[Path]) -> None:
    saved = json.loads((run / "config.json").read_text())
    for key in ("scales", "betas"):
        saved[key] = tuple(saved[key]) if saved[key] is not None else None
    saved["focus"] = tuple(saved["focus"])
    config = TrainConfig(**saved)
    spec = get_spec(config.model)
    _, val_set = build_datasets(config, spec)
    torch.set_num_threads(1)  # beside a training run
    for path in weights:
        model = load_model(spec, path).module
        with torch.no_grad():
            stats, _ = validate(model, val_set, config, torch.device("cpu"))
        print(f"{path}: val line F1 {stats['val_line_f1']:.4f} on {run}'s {len(val_set)} validation pages")


if __name__ == "__main__":
    main(Path(sys.argv[1]), [Path(arg) for arg in sys.argv[2:]])
