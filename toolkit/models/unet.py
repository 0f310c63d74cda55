"""The sketch-cleanup U-Net: rough grayscale sketch in, line probability (1 = ink) out.

Layer for layer the "Deep Learning Sketch Cleanup" reference (docs/ARCHITECTURE.md): three encoder
blocks of 4, 6 and 9 conv+BN+ReLU layers at 32, 64 and 128 filters, each followed by a 2x2 max pool; a
9-layer bottleneck at 256 filters; three decoder blocks, each a 2x2 stride-2 transposed conv, a skip
concatenation with the encoder block of the same resolution, then 8, 5 and 3 conv+BN+ReLU layers at
128, 64 and 32 filters; a 3x3 conv to 2 channels + ReLU and a 1x1 conv to 1 channel + sigmoid.
That is 8.29 M parameters and 153 GFLOP per 424x424 image.

The depths and widths are a `UNetConfig`, so the light variant is this same code with smaller numbers.
Height and width must be multiples of `config.stride` (8 for three pooling levels); the runtime pads
any other size to that and crops the result back (toolkit/runtime/pipeline.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from toolkit.models.init import init_weights


@dataclass(frozen=True)
class UNetConfig:
    in_channels: int = 1
    widths: tuple[int, ...] = (32, 64, 128)  # one per encoder block, highest resolution first
    encoder_depths: tuple[int, ...] = (4, 6, 9)  # conv layers per encoder block
    bottleneck_width: int = 256
    bottleneck_depth: int = 9
    decoder_depths: tuple[int, ...] = (8, 5, 3)  # conv layers per decoder block, lowest resolution first

    def __post_init__(self) -> None:
        levels = len(self.widths)
        if len(self.encoder_depths) != levels or len(self.decoder_depths) != levels:
            raise ValueError(
                f"UNetConfig needs one encoder and one decoder depth per width: widths={self.widths}, "
                f"encoder_depths={self.encoder_depths}, decoder_depths={self.decoder_depths}"
            )

    @property
    def stride(self) -> int:
        return 2 ** len(self.widths)


def conv_bn_relu_stack(in_channels: int, out_channels: int, depth: int) -> nn.Sequential:
    """`depth` 3x3 conv + BN + ReLU layers; the first maps in_channels to out_channels."""
    layers: list[nn.Module] = []
    for i in range(depth):
        layers += [
            nn.Conv2d(in_channels if i == 0 else out_channels, out_channels, 3, padding=1),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        ]
    return nn.Sequential(*layers)


class DecoderBlock(nn.Module):
    def __init__(self, in_channels: int, skip_channels: int, out_channels: int, depth: int) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(in_channels, out_channels, kernel_size=2, stride=2)
        self.convs = conv_bn_relu_stack(out_channels + skip_channels, out_channels, depth)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = self.up(x)  # (N, out, 2h, 2w)
        return self.convs(torch.cat([x, skip], dim=1))


class SketchUNet(nn.Module):
    def __init__(self, config: UNetConfig = UNetConfig()) -> None:
        super().__init__()
        self.config = config
        in_channels = (config.in_channels, *config.widths[:-1])
        self.encoder = nn.ModuleList(
            conv_bn_relu_stack(c_in, c_out, depth)
            for c_in, c_out, depth in zip(in_channels, config.widths, config.encoder_depths)
        )
        self.pool = nn.MaxPool2d(2)
        self.bottleneck = conv_bn_relu_stack(
            config.widths[-1], config.bottleneck_width, config.bottleneck_depth
        )
        # The decoder runs lowest resolution first: its inputs are the bottleneck, then each block's output.
        skip_widths = config.widths[::-1]
        decoder_inputs = (config.bottleneck_width, *skip_widths[:-1])
        self.decoder = nn.ModuleList(
            DecoderBlock(c_in, c_skip, c_skip, depth)
            for c_in, c_skip, depth in zip(decoder_inputs, skip_widths, config.decoder_depths)
        )
        self.head = nn.Sequential(
            nn.Conv2d(config.widths[0], 2, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(2, 1, 1),
        )
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (N, in_channels, H, W), H and W multiples of config.stride, pixels scaled to [0, 1]
        skips = []
        for block in self.encoder:
            x = block(x)  # (N, width_i, H / 2^i, W / 2^i)
            skips.append(x)
            x = self.pool(x)
        x = self.bottleneck(x)  # (N, 256, H / 8, W / 8)
        for block, skip in zip(self.decoder, reversed(skips)):
            x = block(x, skip)  # (N, width_i, H / 2^i, W / 2^i), lowest resolution first
        return torch.sigmoid(self.head(x))  # (N, 1, H, W) line probability
