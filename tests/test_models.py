"""The two reference models: structure, parameter counts, shapes at any size."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from toolkit.core.errors import WeightsMismatchError
from toolkit.models.build import load_model
from toolkit.models.contour import ContourConfig, ContourNet, FeatureMaps
from toolkit.models.registry import MODELS, get_spec
from toolkit.models.unet import SketchUNet, UNetConfig
from toolkit.models.weights import write_weights


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def convs_per_stage(stages: nn.ModuleList | nn.Sequential) -> list[int]:
    return [sum(isinstance(m, nn.Conv2d) for m in stage.modules()) for stage in stages]


def test_reference_unet_matches_the_design() -> None:
    model = SketchUNet(UNetConfig())
    # "about 8.3 M parameters" in the reference
    assert count_parameters(model) == pytest.approx(8.3e6, rel=0.01)
    assert convs_per_stage(model.encoder) == [4, 6, 9]
    assert convs_per_stage([model.bottleneck]) == [9]
    assert convs_per_stage(model.decoder) == [8, 5, 3]
    assert [block.up.out_channels for block in model.decoder] == [128, 64, 32]
    assert [m.out_channels for m in model.head if isinstance(m, nn.Conv2d)] == [2, 1]
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()) == 4 + 6 + 9 + 9 + 8 + 5 + 3


def test_light_unet_is_the_same_code_with_smaller_numbers() -> None:
    light = get_spec("unet-light").build()
    assert type(light) is SketchUNet
    assert count_parameters(light) < count_parameters(get_spec("unet").build()) / 10


def test_unet_config_rejects_mismatched_depths() -> None:
    with pytest.raises(ValueError, match="one encoder and one decoder depth per width"):
        UNetConfig(widths=(16, 32), encoder_depths=(1, 1, 1), decoder_depths=(1, 1))


@pytest.mark.parametrize("name", list(MODELS))
def test_output_is_a_probability_map_of_the_input_size(name: str) -> None:
    spec = get_spec(name)
    model = spec.build()
    x = torch.rand(2, spec.in_channels, 5 * spec.stride, 3 * spec.stride)
    with torch.inference_mode():
        y = model(x)
    assert y.shape == (2, 1, 5 * spec.stride, 3 * spec.stride)
    assert float(y.min()) >= 0.0 and float(y.max()) <= 1.0
    # He initialisation keeps an untrained model's output varying (a constant would verify trivially)
    assert float(y.std()) > 1e-3


def test_contour_trunk_is_resnet18_up_to_layer1() -> None:
    net = ContourNet(ContourConfig())
    assert (net.conv1.kernel_size, net.conv1.stride, net.conv1.out_channels) == ((7, 7), (2, 2), 64)
    assert (net.maxpool.kernel_size, net.maxpool.stride) == (3, 2)
    assert len(net.layer1) == 2
    trunk = sum(p.numel() for name, p in net.named_parameters() if not name.startswith("head."))
    # resnet18: conv1 9408 + bn1 128 + layer1 2 x (2 x 36864 + 2 x 128) = 157,504
    assert trunk == 157_504
    features = net.forward_features(torch.rand(1, 3, 64, 48))
    assert features["conv1"].shape == (1, 64, 32, 24)
    assert features["layer1"].shape == (1, 64, 16, 12)


@pytest.mark.parametrize(
    ("branch", "growth"),
    [
        ("wide", {"wide_width": 8, "wide_dilations": (1, 2)}),
        ("detail", {"detail_width": 8, "detail_dilations": (1, 2)}),
        ("oriented", {"oriented_width": 8, "oriented_kernel": 5}),
    ],
)
def test_a_contour_model_grown_a_branch_starts_as_the_model_without_it(
    branch: str, growth: dict[str, object]
) -> None:
    """A branch's projection starts at zero: weights without the branch, loaded into a model with it
    (as `toolkit train --init-weights` does), give the same lines until training moves it."""
    base = ContourConfig(context_dilations=(2, 4, 8), head_stride=2, stem_width=8)
    grown_config = dataclasses.replace(base, **growth)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        small, grown = ContourNet(base).eval(), ContourNet(grown_config).eval()
    missing, unexpected = grown.load_state_dict(small.state_dict(), strict=False)
    assert not unexpected and missing and all(key.startswith(f"head.{branch}.") for key in missing)
    x = torch.rand(1, 3, 64, 48)
    with torch.inference_mode():
        assert torch.equal(grown(x), small(x))
    assert sum(p.numel() for p in getattr(grown.head, branch).parameters()) > 0


@pytest.mark.parametrize("name", ["contour", "contour-detail"])
def test_contour_runs_no_layer_at_full_resolution(name: str) -> None:
    """Its stem reads every pixel with a 4x4 stride-2 convolution and its logits unfold 2x2 blocks:
    the lines come out at the input's size while no convolution's output is larger than half of it."""
    net = get_spec(name).build()
    sizes = []
    for module in net.modules():
        if isinstance(module, nn.Conv2d):
            module.register_forward_hook(lambda _m, _i, out: sizes.append(tuple(out.shape[-2:])))
    with torch.inference_mode():
        lines = net(torch.rand(2, 3, 64, 96))
    assert lines.shape == (2, 1, 64, 96) and float(lines.min()) >= 0 and float(lines.max()) <= 1
    assert max(sizes) == (32, 48)
    assert (64, 96) in [(2 * h, 2 * w) for h, w in sizes]  # the stem and the logits at half size
    with pytest.raises(ValueError, match="head_stride must be 1 or 2, not 4"):
        ContourConfig(head_stride=4)
    with pytest.raises(ValueError, match="oriented_kernel must be odd, not 8"):
        ContourConfig(oriented_kernel=8)


def test_full_resolution_head_weights_grow_the_half_resolution_head(tmp_path: Path) -> None:
    """`toolkit train contour --init-weights` with weights of the paper's full-resolution head (as
    contour shipped until 2026-12-03): the trunk and the coarse head load as they are; the logit is
    repeated for the 4 unfolded pixels and the new stem starts unheard, so every 2x2 block of lines is
    one value (no checkerboard). Loaded for use (not partial), the file is refused, naming the mismatch."""
    full = dataclasses.replace(get_spec("contour").config, stem_width=8, head_stride=1)
    source = ContourNet(full).eval()
    path = tmp_path / "full-head.safetensors"
    write_weights(source, path, {})
    grown = load_model(get_spec("contour"), path, partial=True).module
    fresh = get_spec("contour").build(seed=0)
    for key, tensor in grown.state_dict().items():
        if key.startswith("head.stem."):
            assert torch.equal(tensor, fresh.state_dict()[key]), key
        elif not key.startswith(("head.out.0.0.", "head.out.1.")):
            assert torch.equal(tensor, source.state_dict()[key]), key
    with torch.inference_mode():
        lines = grown(torch.rand(1, 3, 64, 48))[0, 0].numpy()
    blocks = lines.reshape(32, 2, 24, 2)
    assert np.array_equal(blocks, np.broadcast_to(blocks[:, :1, :, :1], blocks.shape))  # one value per 2x2
    with pytest.raises(
        WeightsMismatchError, match=r"shape mismatch \(head.stem.0.weight: file \(8, 3, 3, 3\)"
    ):
        load_model(get_spec("contour"), path)


def saved_with_trained_statistics(name: str, folder: Path) -> tuple[nn.Module, Path]:
    """Model `name` with trained-looking BatchNorm statistics (so that a channel read from the wrong
    place would show), and its weights file."""
    source = get_spec(name).build(seed=3)
    for module in source.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
    path = folder / f"{name}.safetensors"
    write_weights(source, path, {})
    return source, path


def test_a_narrower_contour_head_grows_into_contour_wide_as_the_same_function(tmp_path: Path) -> None:
    """`toolkit train contour-wide --init-weights contour.safetensors`: every old channel keeps its
    weights (the fusion's second input moved up by the added width) and the new ones are read with
    zero weights, so the wider model draws the same lines, in eval and in training mode, until
    training brings the new channels in; loaded for use (not partial), the file is refused."""
    source, path = saved_with_trained_statistics("contour", tmp_path)
    grown = load_model(get_spec("contour-wide"), path, partial=True).module
    assert grown.head.fuse[0].weight.shape == (32, 64, 3, 3)
    assert count_parameters(grown) > count_parameters(source) + 40_000
    x = torch.rand(2, 3, 64, 48)
    for train in (False, True):
        source.train(train), grown.train(train)
        with torch.no_grad():
            assert torch.equal(grown(x), source(x)), f"training mode {train}"
    with pytest.raises(WeightsMismatchError, match=r"head.reduce_conv1.0.weight: file \(16, 64, 1, 1\)"):
        load_model(get_spec("contour-wide"), path)


def test_unet_light_grows_into_unet_light_wide_as_the_same_function(tmp_path: Path) -> None:
    """`toolkit train unet-light-wide --init-weights unet-light.safetensors`: every old channel keeps its
    weights (in each decoder block's first convolution the skip moved up by the added width, and the
    transposed convolutions' weights are read (in, out)) and the new ones are read with zero weights, so
    the wider U-Net draws the same lines, in eval and in training mode, until training brings them in;
    loaded for use (not partial), the file is refused."""
    source, path = saved_with_trained_statistics("unet-light", tmp_path)
    grown = load_model(get_spec("unet-light-wide"), path, partial=True).module
    assert grown.decoder[0].convs[0].weight.shape == (96, 192, 3, 3)
    assert count_parameters(grown) > 2 * count_parameters(source)
    x = torch.rand(2, 3, 64, 48)
    for train in (False, True):
        source.train(train), grown.train(train)
        # wider convolutions sum in another order: 1e-6 apart; the skip left unmoved, 0.4
        with torch.no_grad():
            torch.testing.assert_close(grown(x), source(x), rtol=0, atol=1e-5, msg=f"training mode {train}")
    with pytest.raises(WeightsMismatchError, match=r"encoder.0.0.weight: file \(16, 3, 3, 3\)"):
        load_model(get_spec("unet-light-wide"), path)


def test_feature_maps_select_channels() -> None:
    net = ContourNet().eval()
    maps = FeatureMaps(net, {"conv1": [3, 21, 48, 56], "layer1": None})
    x = torch.rand(1, 3, 32, 32)
    conv1, layer1 = maps(x)
    full = net.forward_features(x)
    assert torch.equal(conv1, full["conv1"][:, [3, 21, 48, 56]])
    assert layer1.shape == (1, 64, 8, 8)
    with pytest.raises(ValueError, match="cannot select"):
        FeatureMaps(net, {"conv1": [64]})
    with pytest.raises(ValueError, match="must be among"):
        FeatureMaps(net, {"layer2": None})


def test_contour_takes_one_or_three_channels() -> None:
    gray = get_spec("contour", 1)
    assert gray.in_channels == 1 and len(gray.mean) == 1
    assert gray.build()(torch.rand(1, 1, 16, 16)).shape == (1, 1, 16, 16)
    with pytest.raises(Exception, match="1 or 3"):
        get_spec("contour", 2)


def test_unknown_model_name_lists_the_known_ones() -> None:
    with pytest.raises(
        Exception,
        match="unknown model 'unett': choose one of unet, unet-light, unet-light-faint, unet-wide, "
        "unet-light-wide, "
        "contour",
    ):
        get_spec("unett")


def test_same_seed_same_weights() -> None:
    a, b = get_spec("unet-light").build(seed=3), get_spec("unet-light").build(seed=3)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
