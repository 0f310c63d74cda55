"""How much a `contour-oriented` checkpoint's oriented branch puts out, against the wide branch beside
it: the standard deviation of each branch's projected output on three held31 512 px pages. A level
result from a branch that puts out little says nothing about the branch.

    python docs/measurements/2026-12-06/thirty-third-session/branch_scale.py RUN/checkpoints/epoch-007.pt
"""

import sys

import numpy as np
import torch

from toolkit import read_image
from toolkit.models.registry import get_spec

PAGES = ("00000", "00005", "00010")
MEAN, STD = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])


def main(checkpoint: str) -> None:
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)["model"]
    net = get_spec("contour-oriented").build()
    net.load_state_dict(state)
    net.eval()
    spreads = []
    for stem in PAGES:
        image = read_image(f"data/held31-painting-512/input/{stem}.png").astype(np.float32) / 255
        x = torch.from_numpy(((image - MEAN) / STD).transpose(2, 0, 1)[None].astype(np.float32))
        with torch.inference_mode():
            layer1 = net.forward_features(x)["layer1"]  # (1, 64, H/4, W/4)
            spreads.append((float(net.head.wide(layer1).std()), float(net.head.oriented(layer1).std())))
    wide, oriented = np.mean(spreads, axis=0)
    weight = float(state["head.oriented.project.weight"].abs().mean())
    print(
        f"{checkpoint}: projection mean |w| {weight:.4f}; output std wide {wide:.3f}, "
        f"oriented {oriented:.3f} ({oriented / wide:.0%})"
    )


if __name__ == "__main__":
    main(sys.argv[1])
