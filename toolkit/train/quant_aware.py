"""Quantisation-aware fine-tuning: train through the rounding the INT8 CPU graph will apply.

`toolkit calibrate --target cpu` rounds every activation to 256 levels (uint8, one range per tensor)
and every convolution's weights to 7 bits per output channel (toolkit.calibration.int8). A model
trained in float alone can be fragile to that: the shipped contour model's INT8 CPU form met its 0.98
line agreement only with its trunk and full-resolution head left in FP32, and then ran no faster
than FP32. Fine-tuned with `--quant-aware`, the training passes see that rounding (straight-through
gradients), so the model can learn to draw the same lines through it. Measured on `contour` (9 epochs,
docs/training.md): its all-INT8 agreement did not move (0.969 on the worst held-out page), as the
full-resolution head it rests on is where the rounding flips threshold pixels.

Where it rounds, as ONNX Runtime's quantiser does on the exported graph (BatchNorm folded into the
convolution before it): the input of every convolution, the output of every BatchNorm (the folded
convolution's output, before its ReLU or residual add), and every Conv2d's weights per output channel
(symmetric, so folding a BatchNorm's per-channel scale in first changes nothing). The last
convolution, which makes the logit, keeps float weights: calibration never quantises it
(`guarded_nodes`). Transposed convolutions get their input rounded only. Ranges are running
minima and maxima of each tensor over training batches (the quantiser's "max" calibration takes them
over its images); they live here, not in the model, so weights and checkpoints are plain FP32 and
evaluation passes (`model.eval()`) are exact.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch
from torch import nn

ACTIVATION_LEVELS = 255  # uint8
WEIGHT_LEVELS = 63  # 7-bit symmetric weights: the CPU form's reduce_range
MOMENTUM = 0.1  # of the running range, per training batch


class RunningRange:
    """A tensor's range over training batches (exponential average of each batch's extremes)."""

    def __init__(self) -> None:
        self.low: float | None = None
        self.high = 0.0

    def update(self, x: torch.Tensor) -> tuple[float, float]:
        low, high = torch.aminmax(x.detach())
        low, high = float(low), float(high)
        if self.low is None:
            self.low, self.high = low, high
        else:
            self.low += MOMENTUM * (low - self.low)
            self.high += MOMENTUM * (high - self.high)
        return self.low, self.high


def fake_uint8(x: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """`x` rounded as a uint8 tensor over [low, high] with zero exact (ONNX Runtime's asymmetric form)."""
    low, high = min(low, 0.0), max(high, 0.0)
    scale = max(high - low, 1e-8) / ACTIVATION_LEVELS
    zero_point = round(-low / scale)
    return torch.fake_quantize_per_tensor_affine(x, scale, zero_point, 0, ACTIVATION_LEVELS)


def fake_weights(weight: torch.Tensor) -> torch.Tensor:
    """(out, in, k, k) weights rounded symmetrically to WEIGHT_LEVELS per output channel."""
    scale = weight.detach().abs().amax(dim=(1, 2, 3)).clamp_min(1e-8) / WEIGHT_LEVELS
    zero_point = torch.zeros(len(weight), dtype=torch.int32, device=weight.device)
    return torch.fake_quantize_per_channel_affine(weight, scale, zero_point, 0, -WEIGHT_LEVELS, WEIGHT_LEVELS)


class QuantAware:
    """Fake INT8 rounding in `model`'s training passes, until `remove()`.

    Usage: `with QuantAware(model): train(...)`.
    """

    def __init__(self, model: nn.Module) -> None:
        self.ranges: dict[str, RunningRange] = {}
        self.handles: list[torch.utils.hooks.RemovableHandle] = []
        self.convs: list[nn.Conv2d] = []
        modules = list(model.named_modules())
        last_conv = next(m for _, m in reversed(modules) if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)))
        for name, module in modules:
            if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
                self.handles.append(module.register_forward_pre_hook(self.round_input(f"{name}.input")))
                if isinstance(module, nn.Conv2d) and module is not last_conv:
                    # an instance attribute shadows the class's forward; `remove` deletes it
                    module.forward = functools.partial(quantised_conv, module)
                    self.convs.append(module)
            elif isinstance(module, nn.BatchNorm2d):
                self.handles.append(module.register_forward_hook(self.round_output(f"{name}.output")))

    def round_input(self, key: str) -> Callable:
        running = self.ranges.setdefault(key, RunningRange())

        def hook(module: nn.Module, args: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...] | None:
            if not module.training:
                return None
            return (fake_uint8(args[0], *running.update(args[0])), *args[1:])

        return hook

    def round_output(self, key: str) -> Callable:
        running = self.ranges.setdefault(key, RunningRange())

        def hook(module: nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor | None:
            return fake_uint8(output, *running.update(output)) if module.training else None

        return hook

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()
        for conv in self.convs:
            del conv.forward
        self.handles, self.convs = [], []

    def __enter__(self) -> QuantAware:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


def quantised_conv(conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    weight = fake_weights(conv.weight) if conv.training else conv.weight
    return conv._conv_forward(x, weight, conv.bias)
