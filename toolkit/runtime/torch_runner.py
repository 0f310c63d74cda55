"""PyTorch backend: the reference every exported graph is checked against. Needs the `train` extra."""

from __future__ import annotations

import numpy as np
import torch

from toolkit.core.metadata import ModelCard
from toolkit.runtime.base import Runner


class TorchRunner(Runner):
    name = "torch"

    def __init__(self, module: torch.nn.Module, card: ModelCard, device: str = "cpu") -> None:
        super().__init__()
        self.module = module
        self._model_card = card
        self.device = torch.device(device)

    def activate(self) -> ModelCard:
        self.module.to(self.device).eval()
        return self._model_card

    def infer_batch(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        with torch.inference_mode():
            outputs = self.module(torch.from_numpy(batch).to(self.device))
        if isinstance(outputs, torch.Tensor):
            outputs = (outputs,)
        return {name: out.float().cpu().numpy() for name, out in zip(self.card.output_names, outputs)}
