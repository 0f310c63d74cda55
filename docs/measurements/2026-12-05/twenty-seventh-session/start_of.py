"""The validation line F1 a run's --init-weights had on the run's own validation pages (for runs made
before `toolkit train` recorded it): python start_of.py RUN/config.json WEIGHTS"""

import dataclasses
import json
import sys
from pathlib import Path

import torch

from toolkit.models.build import load_model
from toolkit.models.registry import get_spec
from toolkit.train.trainer import TrainConfig, build_datasets, validate

raw = json.loads(Path(sys.argv[1]).read_text())
names = {f.name for f in dataclasses.fields(TrainConfig)}
config = TrainConfig(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in raw.items() if k in names})
spec = get_spec(config.model, config.in_channels)
torch.set_num_threads(1)
model = load_model(spec, Path(sys.argv[2]), partial=True).module
_, val_set = build_datasets(config, spec)
stats, _ = validate(model, val_set, config, torch.device("cpu"))
print(sys.argv[2], "on", sys.argv[1], "val line F1", round(stats["val_line_f1"], 4))
