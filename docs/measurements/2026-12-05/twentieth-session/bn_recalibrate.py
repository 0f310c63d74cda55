"""Is what training across scales costs the scale-1 pages only BatchNorm's statistics? The shipped
`contour` with every BatchNorm's running mean and variance measured again on synthetic pages of one
element-scale range (training-time pages, no weights changed), written as a checkpoint that `toolkit
export contour --weights` takes.

    python bn_recalibrate.py OUT.pt LOW:HIGH [PAGES]
"""

import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

from toolkit.data.datasets import page_scale
from toolkit.data.synthetic import make_pair
from toolkit.imaging.model_input import to_model_input
from toolkit.models.build import load_model
from toolkit.models.registry import get_spec

SEED_OFFSET = 7_000_000  # pages no training run or held-out set draws
BATCH = 8
SHIPPED = Path(__file__).resolve().parents[4] / "toolkit/weights/contour.safetensors"


def main(out: str, span: str, pages: int) -> None:
    low, high = (float(v) for v in span.split(":"))
    loaded = load_model(get_spec("contour"), SHIPPED)
    net, card = loaded.module, loaded.card()
    for layer in net.modules():
        if isinstance(layer, nn.BatchNorm2d):
            layer.reset_running_stats()
            layer.momentum = None  # a plain average over every batch
    net.train()
    with torch.no_grad():
        for start in range(0, pages, BATCH):
            batch = []
            for seed in range(SEED_OFFSET + start, SEED_OFFSET + start + BATCH):
                image, _ = make_pair("painting", 256, 256, seed, scale=page_scale((low, high), seed))
                batch.append(to_model_input(image, card))
            net(torch.from_numpy(np.stack(batch)))
    torch.save({"model": net.state_dict(), "training": loaded.training}, out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 256)
