"""The shipped `contour` on a run's own validation pages, the score its epochs start from:

python start_validation.py runs/contour-wide19      # 0.8183 (P 0.830 / R 0.807)
"""

import json
import sys
from pathlib import Path

import torch

from toolkit.models.build import load_model
from toolkit.models.registry import get_spec
from toolkit.train.trainer import TrainConfig, build_datasets, validate


def main(run: Path) -> None:
    recorded = json.loads((run / "config.json").read_text())
    fields = TrainConfig.__dataclass_fields__
    config = TrainConfig(
        **{k: tuple(v) if isinstance(v, list) else v for k, v in recorded.items() if k in fields}
    )
    spec = get_spec("contour")
    _, validation = build_datasets(config, spec)
    model = load_model(spec, Path("toolkit/weights/contour.safetensors")).module
    with torch.no_grad():
        stats, _ = validate(model, validation, config, torch.device("cpu"))
    print({k: round(v, 4) for k, v in stats.items() if "line" in k})


if __name__ == "__main__":
    main(Path(sys.argv[1]))
