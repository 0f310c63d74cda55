"""Weight initialisation shared by both model families."""

from __future__ import annotations

from torch import nn


def init_weights(model: nn.Module) -> None:
    """He initialisation, as torchvision's ResNet: activations keep their scale through 40+ layers.

    PyTorch's default conv init shrinks the signal by about 2.4x per conv+ReLU layer, so an untrained
    reference U-Net would output a constant; with this init its outputs vary, and verifying an untrained
    export means something.
    """
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
