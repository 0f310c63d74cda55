"""A ready-to-run PyTorch model for one output: built, weights loaded and hashed, outputs described.

Export and verify both go through `load_model`, so the model verify rebuilds from an ONNX file's
metadata is, tensor for tensor, the one export traced (the weights hash proves it).
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from toolkit.core.errors import InputError
from toolkit.core.metadata import LINES_OUTPUT, ModelCard, OutputInfo
from toolkit.core.provenance import card_training
from toolkit.core.shipped import weights_name
from toolkit.core.version import __version__
from toolkit.models.contour import FEATURE_STRIDES, FeatureMaps
from toolkit.models.registry import ModelSpec
from toolkit.models.weights import (
    contour_head_to_half_resolution,
    is_torchvision_resnet,
    load_weights,
    read_weights,
    state_dict_sha256,
    torchvision_resnet_to_contour,
    widen_contour_head,
    widen_unet,
    without_unfitting,
)

log = logging.getLogger(__name__)

FeatureSelection = dict[str, list[int] | None]  # layer -> channels, None = all


@dataclass
class LoadedModel:
    spec: ModelSpec
    module: nn.Module  # forward(image) -> one tensor, or a tuple in `outputs` order
    outputs: list[OutputInfo]
    weights_sha256: str
    weights_file: str  # "" when untrained
    init_seed: int
    training: dict[str, Any] | None = None  # the record `toolkit train` wrote into the weights file

    def card(self, opset: int = 0) -> ModelCard:
        """What this model is, as every artifact made from it describes it (opset 0: not exported)."""
        spec = self.spec
        training_command, training = card_training(self.training)
        return ModelCard(
            model=spec.name,
            family=spec.family,
            config=dataclasses.asdict(spec.config),
            input_channels=spec.in_channels,
            mean=list(spec.mean),
            std=list(spec.std),
            stride=spec.stride,
            outputs=self.outputs,
            threshold=spec.threshold,
            weights_sha256=self.weights_sha256,
            init_seed=self.init_seed,
            weights_file=self.weights_file,
            training_command=training_command,
            training=training,
            conditioning=str(((self.training or {}).get("config") or {}).get("conditioning", "none")),
            opset=opset,
            toolkit_version=__version__,
            torch_version=torch.__version__,
        )


def load_model(
    spec: ModelSpec,
    weights: Path | None = None,
    *,
    seed: int = 0,
    features: FeatureSelection | None = None,
    partial: bool = False,
) -> LoadedModel:
    """Build `spec`, load `weights` into it, and select the line output or the given feature maps.

    `partial` lets a contour model take trunk-only weights (a torchvision resnet18) to train its head,
    or weights whose head has another form (`head_stride`): the layers that do not fit start afresh;
    a narrower head grows into a wider one as the same function (`widen_contour_head`), and so does a
    narrower U-Net into a wider one of the same depths (`widen_unet`).
    """
    if features is not None and spec.family != "contour":
        raise InputError(f"model '{spec.name}' has no feature-map output; only 'contour' models do")
    net = spec.build(seed)
    training = None
    if weights is not None:
        state_dict, training = read_weights(weights)
        allow_missing: tuple[str, ...] = ("head.",) if features is not None or partial else ()
        if spec.family == "contour" and is_torchvision_resnet(state_dict):
            state_dict, dropped = torchvision_resnet_to_contour(state_dict, spec.in_channels)
            log.info("%s: torchvision resnet18, ignored %d keys of layer2-4 and fc", weights, len(dropped))
        if partial and spec.family == "contour" and spec.config.head_stride == 2:
            state_dict = contour_head_to_half_resolution(state_dict, spec.config.stem_width)
        expected = net.state_dict()
        if partial:
            widen = widen_contour_head if spec.family == "contour" else widen_unet
            state_dict = widen(state_dict, expected)
            state_dict, dropped = without_unfitting(state_dict, expected, "head.")
            if dropped:
                log.info(
                    "%s: %d head keys of another form start afresh, e.g. %s",
                    weights,
                    len(dropped),
                    dropped[0],
                )
        load_weights(net, state_dict, weights, allow_missing)
    else:
        log.debug("model '%s': initialised from seed %d, no weights loaded", spec.name, seed)
    sha = state_dict_sha256(net.state_dict())
    if features is None:
        module, outputs = net, [line_output(spec)]
    else:
        try:
            module = FeatureMaps(net, features).eval()
        except ValueError as error:
            raise InputError(f"feature selection: {error}") from None
        outputs = [
            OutputInfo(
                name=layer,
                meaning=f"{layer} feature maps of the ResNet18 trunk (after ReLU), read as contour images",
                stride=FEATURE_STRIDES[layer],
                channels=features[layer],
            )
            for layer in module.layers
        ]
    return LoadedModel(spec, module, outputs, sha, weights_name(weights), seed, training)


def line_output(spec: ModelSpec) -> OutputInfo:
    return OutputInfo(
        name=LINES_OUTPUT,
        meaning=f"line probability at input resolution, 1 = ink; suggested threshold {spec.threshold}",
    )


def parse_feature_selection(items: list[str]) -> FeatureSelection:
    """'conv1:3,21,48,56', 'layer1' or 'layer1:all' -> {'conv1': [3, 21, 48, 56], 'layer1': None}."""
    selection: FeatureSelection = {}
    for item in items:
        layer, _, channel_text = item.partition(":")
        layer = layer.strip()
        if layer not in FEATURE_STRIDES:
            raise InputError(f"--features {item}: layer must be one of {', '.join(FEATURE_STRIDES)}")
        if channel_text.strip() in ("", "all"):
            selection[layer] = None
            continue
        try:
            channels = [int(c) for c in channel_text.split(",")]
        except ValueError:
            raise InputError(f"--features {item}: channels must be integers, e.g. conv1:3,21,48,56") from None
        selection[layer] = channels
    return selection
