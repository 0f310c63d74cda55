"""The weights of one epoch's checkpoint as a `.safetensors` with its `.json` record, as
`toolkit train` writes its best epoch's (`RUN/weights.safetensors`): how a run judged at its last
epoch is shipped when that epoch was not its best on validation.

    python checkpoint_weights.py RUN/checkpoints/epoch-012.pt OUT.safetensors
"""

import json
import sys
from pathlib import Path

import torch

from toolkit.models.build import load_model
from toolkit.models.registry import get_spec
from toolkit.models.weights import write_weights


def main(checkpoint: Path, out: Path) -> None:
    saved = torch.load(checkpoint, map_location="cpu", weights_only=True)
    record = json.loads(saved["training"])
    model = load_model(get_spec(record["model"]), checkpoint).module
    write_weights(model, out, {"training": json.dumps(record)})
    out.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {out} and its record (epoch {record['epoch']}, {record['command'][:60]}...)")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
