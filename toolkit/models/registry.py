"""Named model configurations: what `toolkit export unet` or `--model contour` refers to.

Configs are data; `ModelSpec.build` is the one builder. Each spec also says how its input is
normalised and what its output means, which export writes into the ONNX metadata so that the runtime
(which never imports torch) can feed and read the graph without this registry.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from toolkit.core.errors import InputError
from toolkit.core.metadata import ModelCard
from toolkit.core.shipped import SHIPPED_DIR
from toolkit.models.contour import ContourConfig, ContourNet
from toolkit.models.unet import SketchUNet, UNetConfig

# torchvision's ImageNet statistics, in RGB order on pixels scaled to [0, 1]; the contour trunk is a
# torchvision resnet18 and must see its inputs the way those weights were trained.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class ModelSpec:
    name: str
    family: str  # "unet" or "contour"
    summary: str
    config: UNetConfig | ContourConfig
    threshold: float = 0.5  # suggested threshold on the line probability

    @property
    def in_channels(self) -> int:
        return self.config.in_channels

    @property
    def stride(self) -> int:
        return self.config.stride

    @property
    def mean(self) -> tuple[float, ...]:
        if self.family == "unet":
            return (0.0,) * self.in_channels
        return IMAGENET_MEAN if self.in_channels == 3 else (sum(IMAGENET_MEAN) / 3,)

    @property
    def std(self) -> tuple[float, ...]:
        if self.family == "unet":
            return (1.0,) * self.in_channels
        return IMAGENET_STD if self.in_channels == 3 else (sum(IMAGENET_STD) / 3,)

    def with_channels(self, in_channels: int | None) -> ModelSpec:
        if in_channels is None or in_channels == self.in_channels:
            return self
        if in_channels not in (1, 3):
            raise InputError(f"model '{self.name}': input channels must be 1 or 3, not {in_channels}")
        config = dataclasses.replace(self.config, in_channels=in_channels)
        return dataclasses.replace(self, config=config)

    def build(self, seed: int = 0) -> nn.Module:
        """The model in eval mode, initialised from `seed` (weights are loaded separately)."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = SketchUNet(self.config) if self.family == "unet" else ContourNet(self.config)
        return model.eval()


UNET_LIGHT = UNetConfig(
    in_channels=3,  # RGB: coloured construction pencil and grid paper are told by colour
    widths=(16, 32, 64),
    encoder_depths=(2, 2, 3),
    bottleneck_width=128,
    bottleneck_depth=3,
    decoder_depths=(3, 2, 2),
)

CONTOUR = ContourConfig(
    context_dilations=(2, 4, 8),
    wide_width=48,
    wide_dilations=(1, 2, 4, 8, 16),
    stem_width=16,  # a 4x4 stride-2 stem: 16 channels for what 8 saw at every pixel
    head_stride=2,
)

MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in [
        ModelSpec(
            "unet",
            "unet",
            "sketch cleanup U-Net, the reference design (8.3 M parameters)",
            UNetConfig(),
        ),
        ModelSpec(
            "unet-light",
            "unet",
            "sketch cleanup U-Net at half width and lower depth, for CPUs and Jetson Nano class devices",
            UNET_LIGHT,
        ),
        ModelSpec(
            "unet-light-faint",
            "unet",
            "unet-light trained on faint pencil (10-45 grey levels): `unet-light`'s route sends it the pages "
            "whose pencil barely stands out of the paper's noise",
            UNET_LIGHT,
        ),
        ModelSpec(
            "unet-wide",
            "unet",
            "unet-light at 1.5x width and one more layer in the middle blocks: the capacity step between",
            UNetConfig(
                in_channels=3,
                widths=(24, 48, 96),
                encoder_depths=(2, 3, 3),
                bottleneck_width=192,
                bottleneck_depth=3,
                decoder_depths=(3, 3, 2),
            ),
        ),
        ModelSpec(
            "unet-light-wide",
            "unet",
            "unet-light at 1.5x width, the same depths: grows from unet-light weights as the same function "
            "(`toolkit train unet-light-wide --init-weights unet-light.safetensors`)",
            dataclasses.replace(UNET_LIGHT, widths=(24, 48, 96), bottleneck_width=192),
        ),
        ModelSpec(
            "contour",
            "contour",
            "line contours of paintings: ResNet18 up to layer1, a light fusion head at half resolution",
            CONTOUR,
        ),
        ModelSpec(
            "contour-thin",
            "contour",
            "contour trained on pages of fine detail (element scale 1-1.25): `contour`'s route sends pages "
            "whose lines it draws thin to it",
            CONTOUR,
        ),
        ModelSpec(
            "contour-coarse",
            "contour",
            "contour trained on pages of coarse detail (element scale 2.5-3: large scans): `contour`'s route "
            "sends pages whose lines it draws wide to it",
            CONTOUR,
        ),
        ModelSpec(
            "contour-detail",
            "contour",
            "contour with a detail branch on conv1 at half resolution: the capacity step for placing lines",
            dataclasses.replace(CONTOUR, detail_width=32, detail_dilations=(1, 2)),
        ),
        ModelSpec(
            "contour-wide",
            "contour",
            "contour with its head at twice the width (32 channels): the capacity step for thin lines",
            dataclasses.replace(CONTOUR, head_width=32),
        ),
        ModelSpec(
            "contour-oriented",
            "contour",
            "contour with an oriented branch (depthwise 9x9 at stride 4, two layers: 68 px along any "
            "direction), grown from contour weights unchanged: tried for worn outlines (docs/training.md)",
            dataclasses.replace(CONTOUR, oriented_width=32),
        ),
    ]
}


def get_spec(name: str, in_channels: int | None = None) -> ModelSpec:
    try:
        spec = MODELS[name]
    except KeyError:
        raise InputError(f"unknown model '{name}': choose one of {', '.join(MODELS)}") from None
    return spec.with_channels(in_channels)


def spec_from_card(card: ModelCard) -> ModelSpec:
    """The spec an exported model was made from, rebuilt from its card (custom configs included)."""
    config_types = {"unet": UNetConfig, "contour": ContourConfig}
    if card.family not in config_types:
        raise InputError(f"model '{card.model}': unknown family '{card.family}'")
    fields = {k: tuple(v) if isinstance(v, list) else v for k, v in card.config.items()}
    try:
        config = config_types[card.family](**fields)
    except (TypeError, ValueError) as error:
        raise InputError(f"model '{card.model}': its recorded config does not build ({error})") from None
    known = MODELS.get(card.model)
    return ModelSpec(card.model, card.family, known.summary if known else "", config, card.threshold)


def shipped_file(spec: ModelSpec, suffix: str) -> Path | None:
    """The shipped `.safetensors` or `.onnx` of a registry model in its registry form, if we ship one."""
    path = SHIPPED_DIR / f"{spec.name}{suffix}"
    return path if path.is_file() and MODELS.get(spec.name) == spec else None
