"""The PyTorch model a graph or engine was exported from, rebuilt from its card and proven by the
weights hash: the reference `toolkit verify` compares with, and what `--backend torch` runs."""

from __future__ import annotations

from pathlib import Path

import torch

from toolkit.core.errors import InputError
from toolkit.core.metadata import ModelCard
from toolkit.core.shipped import resolve_weights_name
from toolkit.models.build import load_model
from toolkit.models.registry import spec_from_card


def reference_model(card: ModelCard, model_path: Path, weights: Path | None) -> torch.nn.Module:
    """The PyTorch module `model_path` (a graph, or an engine built from one) was exported from, proven
    by the weights hash."""
    if weights is None and card.weights_file:
        weights = resolve_weights_name(card.weights_file)
        if not weights.is_file():
            raise InputError(
                f"{model_path}: was exported from weights {weights}, which is not found (pass --weights)"
            )
    features = None
    if card.output_kind == "features":
        features = {o.name: o.channels for o in card.outputs}
    loaded = load_model(spec_from_card(card), weights, seed=card.init_seed, features=features)
    if loaded.weights_sha256 != card.weights_sha256:
        raise InputError(
            f"{weights or 'untrained initialisation'}: weights sha256 {loaded.weights_sha256[:12]} are "
            f"not those {model_path} was exported from ({card.weights_sha256[:12]})"
        )
    return loaded.module
