"""A `contour-oriented` weights file with its oriented branch switched off (the projection zeroed): the
rest of the network as it trained beside the branch, to tell what the branch adds from what the
continuation did.

    python docs/measurements/2026-12-06/thirty-third-session/branch_off.py IN.safetensors OUT.safetensors
"""

import json
import sys
from pathlib import Path

import torch

from toolkit.models.build import load_model
from toolkit.models.registry import get_spec
from toolkit.models.weights import read_weights, write_weights


def main(weights: Path, out: Path) -> None:
    _, record = read_weights(weights)
    model = load_model(get_spec("contour-oriented"), weights).module
    with torch.no_grad():
        model.head.oriented.project.weight.zero_()
    write_weights(model, out, {"training": json.dumps(record)})
    print(f"wrote {out}: {weights} with head.oriented.project zeroed")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
