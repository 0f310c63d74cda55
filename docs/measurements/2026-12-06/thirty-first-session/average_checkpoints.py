"""The element-wise mean of a run's epoch checkpoints as one `.safetensors` with its `.json` record
(checkpoint averaging): BatchNorm's running statistics are averaged too, its batch counts taken from
the last checkpoint. The record is the last checkpoint's, with what was averaged added.

    python average_checkpoints.py OUT.safetensors RUN/checkpoints/epoch-012.pt ... epoch-016.pt
"""

import json
import sys
from pathlib import Path

import torch

from toolkit.models.build import load_model
from toolkit.models.registry import get_spec
from toolkit.models.weights import write_weights


def average(checkpoints: list[Path]) -> tuple[dict[str, torch.Tensor], dict]:
    states = [torch.load(path, map_location="cpu", weights_only=True) for path in checkpoints]
    models = [state["model"] for state in states]
    if any(model.keys() != models[0].keys() for model in models):
        raise ValueError("the checkpoints hold different tensors: not one network")
    mean = {
        key: torch.stack([model[key].double() for model in models]).mean(0).to(tensor.dtype)
        if tensor.is_floating_point()
        else models[-1][key]
        for key, tensor in models[0].items()
    }
    record = json.loads(states[-1]["training"])
    record["averaged"] = [str(path) for path in checkpoints]
    record["command"] = f"python {Path(__file__).name} OUT " + " ".join(map(str, checkpoints))
    return mean, record


def main(out: Path, checkpoints: list[Path]) -> None:
    mean, record = average(checkpoints)
    model = load_model(get_spec(record["model"])).module
    model.load_state_dict(mean, strict=True)
    write_weights(model, out, {"training": json.dumps(record)})
    out.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {out}: the mean of {len(checkpoints)} checkpoints")


if __name__ == "__main__":
    main(Path(sys.argv[1]), [Path(arg) for arg in sys.argv[2:]])
