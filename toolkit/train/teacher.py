"""A frozen teacher for `toolkit train --teacher`: a model's mirrored views, averaged, as soft targets.

Averaging a line model's probabilities over mirrored views (`--flips 4` at inference,
toolkit.runtime.flips) gains `contour` 1.1-1.4 points of held-out line F1, nearly all of it precision:
crack and stain fragments that one orientation draws and another does not cancel out. It costs four
passes per image. Distilling tries to put that average into one pass: the student learns from the
targets and, with weight `--teacher-weight`, from the teacher's averaged probabilities on the same
batch, under the same loss (PMI-GMI takes soft sets). The teacher runs without gradients, so a training
step costs about `views` / 3 more forward-and-backward passes. Measured on `contour`, its own shipped
weights as teacher (docs/shipped-models.md, seventeenth session): the students did not gain the views'
precision, at teacher weights 0.5 and 0.9.
"""

from __future__ import annotations

from pathlib import Path

import torch

from toolkit.core.errors import InputError
from toolkit.models.build import load_model
from toolkit.models.registry import ModelSpec
from toolkit.runtime.flips import VIEW_AXES

TEACHER_VIEWS = 4  # the views `--flips 4` averages
TEACHER_WEIGHT = 0.5  # of the loss; the targets get the rest


class Teacher:
    """`spec` with the weights in `weights`, frozen; called on an (N, C, H, W) batch it gives the
    mean of its line probabilities over the first `views` of VIEW_AXES, each mirrored back."""

    def __init__(self, spec: ModelSpec, weights: Path, *, views: int, device: torch.device) -> None:
        if not weights.is_file():
            raise InputError(f"{weights}: --teacher needs a weights file (.safetensors); none is there")
        self.views = views
        self.model = load_model(spec, weights).module.to(device).eval()
        for parameter in self.model.parameters():
            parameter.requires_grad_(False)

    @torch.no_grad()
    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        views = []
        for axes in VIEW_AXES[: self.views]:
            view = torch.flip(x, axes) if axes else x
            probability = self.model(view).float()  # (N, 1, H, W)
            views.append(torch.flip(probability, axes) if axes else probability)
        return torch.stack(views).mean(0)  # (N, 1, H, W)
