"""The line-contour network: ResNet18 truncated after layer1, plus a light head that draws the lines.

Reference: "The Use of CNN Network in the Generation of Clear Line Contours of Thangka Art" (2024).
The trunk is torchvision's resnet18 up to layer1, with torchvision's parameter names at the top level
(conv1, bn1, layer1.0.conv1, ...), so a torchvision state dict loads directly once layer2-4 and fc are
dropped (toolkit/models/weights.py). It offers two outputs:

- features: the raw feature maps of conv1 (after BN+ReLU, stride 2) and layer1 (stride 4), which the
  paper reads as contour images, one channel at a time (`forward_features`);
- lines: a light head that fuses both feature maps with a stem read off the image into one line
  probability map at the input's resolution (`forward`). Its last layers run at full resolution
  (`head_stride` 1), or at half resolution with each pixel's 2x2 block of outputs unfolded from 4
  channels (`head_stride` 2, depth-to-space): the full-resolution layers took 47 % of the INT8 CPU
  form's time and kept it from being faster than FP32 (docs/precision.md).

Height and width must be multiples of `ContourConfig.stride` (4); the runtime pads and crops.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from toolkit.models.init import init_weights

TRUNK_WIDTH = 64  # conv1 and layer1 of resnet18 both have 64 channels
FEATURE_STRIDES = {"conv1": 2, "layer1": 4}


@dataclass(frozen=True)
class ContourConfig:
    in_channels: int = 3
    head_width: int = 16  # channels of the fused head features
    stem_width: int = 8  # channels of the full-resolution stem
    # dilated residual 3x3 convs on layer1 (stride 4): context to tell cracks and stains, which cross
    # regions, from outlines, which bound them; (2, 4, 8) widens the receptive field by 112 px
    context_dilations: tuple[int, ...] = ()
    # a wider context branch beside it: layer1 reduced to `wide_width` channels, dilated residual
    # layers at `wide_dilations`, then projected onto the head's coarse features (0: no branch)
    wide_width: int = 0
    wide_dilations: tuple[int, ...] = ()
    # a detail branch at stride 2: conv1 reduced to `detail_width` channels, dilated residual layers
    # at `detail_dilations`, added to the fused features where the lines are placed (0: no branch);
    # for the lines drawn 3-6 px beside their place (docs/training.md)
    detail_width: int = 0
    detail_dilations: tuple[int, ...] = ()
    # an oriented branch beside the wide one: layer1 reduced to `oriented_width` channels, then
    # `oriented_layers` residual layers of a depthwise `oriented_kernel`-square convolution (each
    # channel free to sum along any direction) and a 1x1 mix, projected onto the coarse features (0: no
    # branch); for worn outlines, whose break only the outline's own course on both sides can bridge
    oriented_width: int = 0
    oriented_kernel: int = 9
    oriented_layers: int = 2
    # 1: stem, fusion with it and the logit at full resolution; 2: all at half resolution, the stem a
    # 4x4 stride-2 convolution (it still reads every pixel), the logits 4 channels unfolded into 2x2
    head_stride: int = 1

    def __post_init__(self) -> None:
        if self.in_channels not in (1, 3):
            raise ValueError(f"ContourConfig.in_channels must be 1 or 3, not {self.in_channels}")
        if self.head_stride not in (1, 2):
            raise ValueError(f"ContourConfig.head_stride must be 1 or 2, not {self.head_stride}")
        if self.oriented_kernel % 2 == 0:
            raise ValueError(f"ContourConfig.oriented_kernel must be odd, not {self.oriented_kernel}")

    @property
    def stride(self) -> int:
        return FEATURE_STRIDES["layer1"]


class BasicBlock(nn.Module):
    """torchvision.models.resnet.BasicBlock at stride 1 with equal widths, as in resnet18's layer1."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(width, width, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + x)


def conv_bn_relu(in_channels: int, out_channels: int, kernel_size: int, stride: int = 1) -> nn.Sequential:
    # (kernel - 1) // 2 keeps odd kernels centred, and a 4x4 at stride 2 on exactly half the size
    padding = (kernel_size - 1) // 2
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class DilatedContext(nn.Module):
    """Residual 3x3 conv + BN + ReLU layers at growing dilations: wide context at little cost."""

    def __init__(self, width: int, dilations: tuple[int, ...]) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(width, width, 3, padding=d, dilation=d, bias=False),
                nn.BatchNorm2d(width),
                nn.ReLU(inplace=True),
            )
            for d in dilations
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = x + layer(x)  # (N, width, H/4, W/4)
        return x


class OrientedContext(nn.Module):
    """Residual layers of a large depthwise convolution + BN, then a 1x1 mix + BN + ReLU. Each channel
    has its own dense kernel, which can learn to sum along a line in any direction: context that
    follows an outline across a break, where dilated 3x3s see a sparse isotropic grid."""

    def __init__(self, width: int, kernel: int, layers: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(width, width, kernel, padding=kernel // 2, groups=width, bias=False),
                nn.BatchNorm2d(width),
                nn.Conv2d(width, width, 1, bias=False),
                nn.BatchNorm2d(width),
                nn.ReLU(inplace=True),
            )
            for _ in range(layers)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = x + layer(x)  # (N, width, H/4, W/4)
        return x


class ContextBranch(nn.Module):
    """A trunk feature map (conv1 or layer1, 64 channels) reduced to `width` channels, seen through
    its own `context` stack and projected onto the head's features, to which it is added.

    Its projection starts at zero (`ContourNet.__init__`), so a model grown from weights that lack the
    branch starts as exactly that model, and training adds to it from there.
    """

    def __init__(self, width: int, out_width: int, context: nn.Module) -> None:
        super().__init__()
        self.reduce = conv_bn_relu(TRUNK_WIDTH, width, 1)
        self.context = context
        self.project = nn.Conv2d(width, out_width, 1, bias=False)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.project(self.context(self.reduce(features)))  # (N, out_width, H/s, W/s)


class ContourHead(nn.Module):
    """Fuses conv1 (stride 2, with its detail branch), layer1 (stride 4, seen in context by the head's
    own stack and the wide and oriented branches) and a stem read off the image (at `head_stride`)
    into line probability."""

    def __init__(self, config: ContourConfig) -> None:
        super().__init__()
        width, stem_width, stride = config.head_width, config.stem_width, config.head_stride
        self.reduce_conv1 = conv_bn_relu(TRUNK_WIDTH, width, 1)
        self.reduce_layer1 = conv_bn_relu(TRUNK_WIDTH, width, 1)
        self.context = DilatedContext(width, config.context_dilations)
        wide, oriented, detail = config.wide_width, config.oriented_width, config.detail_width
        self.wide = ContextBranch(wide, width, DilatedContext(wide, config.wide_dilations)) if wide else None
        self.oriented = (
            ContextBranch(
                oriented, width, OrientedContext(oriented, config.oriented_kernel, config.oriented_layers)
            )
            if oriented
            else None
        )
        self.detail = (
            ContextBranch(detail, width, DilatedContext(detail, config.detail_dilations)) if detail else None
        )
        self.fuse = conv_bn_relu(2 * width, width, 3)
        self.stride = stride
        self.stem = (
            conv_bn_relu(config.in_channels, stem_width, 3)
            if stride == 1
            else conv_bn_relu(config.in_channels, stem_width, 4, stride=2)
        )
        self.out = nn.Sequential(conv_bn_relu(width + stem_width, width, 3), nn.Conv2d(width, stride**2, 1))
        self.unfold = nn.PixelShuffle(stride) if stride > 1 else nn.Identity()

    def forward(self, image: torch.Tensor, conv1: torch.Tensor, layer1: torch.Tensor) -> torch.Tensor:
        coarse = self.context(self.reduce_layer1(layer1))  # (N, width, H/4, W/4)
        for branch in (self.wide, self.oriented):
            if branch is not None:
                coarse = coarse + branch(layer1)
        coarse = upsample2(coarse)  # (N, width, H/2, W/2)
        x = self.fuse(torch.cat([self.reduce_conv1(conv1), coarse], dim=1))  # (N, width, H/2, W/2)
        if self.detail is not None:
            x = x + self.detail(conv1)
        if self.stride == 1:
            x = upsample2(x)  # (N, width, H, W)
        x = torch.cat([x, self.stem(image)], dim=1)  # (N, width + stem, H/s, W/s), s = head_stride
        return torch.sigmoid(self.unfold(self.out(x)))  # (N, s*s, H/s, W/s) unfolded: (N, 1, H, W)


def upsample2(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)


class ContourNet(nn.Module):
    def __init__(self, config: ContourConfig = ContourConfig()) -> None:
        super().__init__()
        self.config = config
        # resnet18's stem and layer1, under torchvision's names
        self.conv1 = nn.Conv2d(config.in_channels, TRUNK_WIDTH, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(TRUNK_WIDTH)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = nn.Sequential(BasicBlock(TRUNK_WIDTH), BasicBlock(TRUNK_WIDTH))
        self.head = ContourHead(config)
        init_weights(self)
        for branch in (self.head.wide, self.head.oriented, self.head.detail):
            if branch is not None:
                nn.init.zeros_(branch.project.weight)

    def forward_features(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        # x: (N, in_channels, H, W), normalised with the ImageNet mean and std
        conv1 = self.relu(self.bn1(self.conv1(x)))  # (N, 64, H/2, W/2)
        layer1 = self.layer1(self.maxpool(conv1))  # (N, 64, H/4, W/4)
        return {"conv1": conv1, "layer1": layer1}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.forward_features(x)
        return self.head(x, features["conv1"], features["layer1"])  # (N, 1, H, W) line probability


class FeatureMaps(nn.Module):
    """The paper's output: chosen channels of conv1 and layer1, one ONNX output per layer.

    `channels` maps a layer name to the channel indices to keep, or to None for all 64.
    """

    def __init__(self, net: ContourNet, channels: dict[str, list[int] | None]) -> None:
        super().__init__()
        unknown = set(channels) - set(FEATURE_STRIDES)
        if unknown or not channels:
            raise ValueError(
                f"feature layers must be among {sorted(FEATURE_STRIDES)}, got {sorted(channels)}"
            )
        for layer, picked in channels.items():
            bad = [c for c in picked or [] if not 0 <= c < TRUNK_WIDTH]
            if bad:
                raise ValueError(f"{layer} has channels 0-{TRUNK_WIDTH - 1}; cannot select {bad}")
        self.net = net
        self.layers = [layer for layer in FEATURE_STRIDES if layer in channels]
        # Buffers, so that the export is a single Gather per layer; None keeps the whole map.
        for layer in self.layers:
            picked = channels[layer]
            index = None if picked is None else torch.tensor(picked, dtype=torch.long)
            self.register_buffer(f"{layer}_channels", index, persistent=False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        features = self.net.forward_features(x)
        outputs = []
        for layer in self.layers:
            index = getattr(self, f"{layer}_channels")
            fmap = features[layer]  # (N, 64, H/s, W/s)
            outputs.append(fmap if index is None else fmap.index_select(1, index))
        return tuple(outputs)
