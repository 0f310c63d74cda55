"""Weights: safetensors and .pth, torchvision key compatibility, loud mismatches."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from toolkit.core.errors import InputError, WeightsMismatchError
from toolkit.core.provenance import safetensors_header
from toolkit.models.build import load_model
from toolkit.models.registry import get_spec
from toolkit.models.weights import read_state_dict, state_dict_sha256, write_weights


def torchvision_resnet18_state_dict(seed: int = 0) -> dict[str, torch.Tensor]:
    """Random tensors under torchvision resnet18's exact keys and shapes (no download, no torchvision)."""
    generator = torch.Generator().manual_seed(seed)
    shapes: dict[str, tuple[int, ...]] = {"conv1.weight": (64, 3, 7, 7)}

    def batch_norm(prefix: str, channels: int) -> None:
        for name in ("weight", "bias", "running_mean", "running_var"):
            shapes[f"{prefix}.{name}"] = (channels,)
        shapes[f"{prefix}.num_batches_tracked"] = ()

    batch_norm("bn1", 64)
    in_channels = 64
    for layer, width in enumerate((64, 128, 256, 512), start=1):
        for block in range(2):
            prefix = f"layer{layer}.{block}"
            shapes[f"{prefix}.conv1.weight"] = (width, in_channels if block == 0 else width, 3, 3)
            batch_norm(f"{prefix}.bn1", width)
            shapes[f"{prefix}.conv2.weight"] = (width, width, 3, 3)
            batch_norm(f"{prefix}.bn2", width)
            if block == 0 and layer > 1:
                shapes[f"{prefix}.downsample.0.weight"] = (width, in_channels, 1, 1)
                batch_norm(f"{prefix}.downsample.1", width)
        in_channels = width
    shapes["fc.weight"], shapes["fc.bias"] = (1000, 512), (1000,)
    state = {}
    for key, shape in shapes.items():
        if key.endswith("num_batches_tracked"):
            state[key] = torch.tensor(100, dtype=torch.long)
        elif key.endswith("running_var"):
            state[key] = torch.rand(shape, generator=generator) + 0.5
        else:
            state[key] = torch.randn(shape, generator=generator) * 0.1
    return state


def resnet_layer1_reference(state: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """torchvision's resnet18 forward up to layer1, written out with functional ops."""

    def bn(t: torch.Tensor, prefix: str) -> torch.Tensor:
        return F.batch_norm(
            t,
            state[f"{prefix}.running_mean"],
            state[f"{prefix}.running_var"],
            state[f"{prefix}.weight"],
            state[f"{prefix}.bias"],
            False,
            0.0,
            1e-5,
        )

    x = F.max_pool2d(F.relu(bn(F.conv2d(x, state["conv1.weight"], stride=2, padding=3), "bn1")), 3, 2, 1)
    for block in ("layer1.0", "layer1.1"):
        out = F.relu(bn(F.conv2d(x, state[f"{block}.conv1.weight"], padding=1), f"{block}.bn1"))
        out = bn(F.conv2d(out, state[f"{block}.conv2.weight"], padding=1), f"{block}.bn2")
        x = F.relu(out + x)
    return x


def test_torchvision_state_dict_loads_directly(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    state = torchvision_resnet18_state_dict()
    assert len(state) == 122  # as torchvision's resnet18().state_dict()
    path = tmp_path / "resnet18.pth"
    torch.save(state, path)
    with caplog.at_level(logging.INFO):
        loaded = load_model(get_spec("contour"), path, features={"conv1": None, "layer1": None})
    assert "ignored 92 keys of layer2-4 and fc" in caplog.text
    x = torch.rand(1, 3, 64, 64)
    with torch.inference_mode():
        _, layer1 = loaded.module(x)
    torch.testing.assert_close(layer1, resnet_layer1_reference(state, x), rtol=1e-4, atol=1e-5)


def test_torchvision_conv1_is_summed_for_gray_input(tmp_path: Path) -> None:
    state = torchvision_resnet18_state_dict()
    path = tmp_path / "resnet18.pth"
    torch.save(state, path)
    loaded = load_model(get_spec("contour", 1), path, features={"conv1": None})
    conv1 = loaded.module.net.conv1.weight
    torch.testing.assert_close(conv1, state["conv1.weight"].sum(dim=1, keepdim=True))


def test_torchvision_trunk_alone_cannot_make_lines(tmp_path: Path) -> None:
    path = tmp_path / "resnet18.pth"
    torch.save(torchvision_resnet18_state_dict(), path)
    with pytest.raises(WeightsMismatchError, match=r"resnet18.pth: does not fit ContourNet: \d+ missing"):
        load_model(get_spec("contour"), path)


def test_safetensors_and_pth_hold_the_same_weights(tmp_path: Path) -> None:
    model = get_spec("unet-light").build(seed=7)
    write_weights(model, tmp_path / "w.safetensors", {"command": "test"})
    torch.save({"state_dict": {f"module.{k}": v for k, v in model.state_dict().items()}}, tmp_path / "w.pth")
    from_safetensors = read_state_dict(tmp_path / "w.safetensors")
    from_ddp_checkpoint = read_state_dict(tmp_path / "w.pth")  # wrapped, with DDP's prefix
    expected = state_dict_sha256(model.state_dict())
    assert state_dict_sha256(from_safetensors) == state_dict_sha256(from_ddp_checkpoint) == expected
    loaded = load_model(get_spec("unet-light"), tmp_path / "w.pth", seed=0)
    assert loaded.weights_sha256 == expected


def test_wrong_shaped_weights_fail_in_one_line_naming_file_keys_and_shapes(tmp_path: Path) -> None:
    path = tmp_path / "full.safetensors"
    write_weights(get_spec("unet").build(), path, {})
    with pytest.raises(WeightsMismatchError) as error:
        load_model(get_spec("unet-light"), path)
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: does not fit SketchUNet: ")
    assert "shape mismatch (encoder.0.0.weight: file (32, 1, 3, 3) vs model (16, 3, 3, 3)" in message
    assert "unexpected in file" in message


def test_pickled_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.pth"
    torch.save({"state_dict": {"w": torch.zeros(1)}, "config": object()}, path)
    with pytest.raises(InputError, match=r"evil\.pth: not a readable weights file"):
        read_state_dict(path)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.safetensors", None, "weights file not found"),
        ("corrupt.safetensors", b"\x00not a header", "not a readable weights file"),
        ("corrupt.pth", b"PK\x03\x04 truncated", "not a readable weights file"),
        ("random.pth", bytes(range(7, 64)), r"not a PyTorch checkpoint \(neither a zip archive nor a pickle"),
        ("empty.ckpt", b"", "not a PyTorch checkpoint"),
        ("weights.bin", b"1234", "unknown weights format '.bin'"),
    ],
)
def test_bad_weights_files(tmp_path: Path, name: str, content: bytes | None, message: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError, match=message) as error:
        read_state_dict(path)
    assert str(error.value).startswith(str(path)) and "\n" not in str(error.value)


def test_the_training_record_of_a_weights_file_reaches_the_model_card(tmp_path: Path) -> None:
    """What `toolkit train` writes into the safetensors header is what every exported graph carries."""
    model = get_spec("unet-light").build(seed=7)
    record = {
        "command": "toolkit train unet-light --epochs 3",
        "data": "synthetic",
        "data_seed": 4,
        "git_commit": "a" * 40,
        "best_epoch": 2,
        "validation": {"val_line_f1": 0.9},
        "config": {"epochs": 3},  # repeats the command: not copied
    }
    write_weights(model, tmp_path / "trained.safetensors", {"training": json.dumps(record)})
    card = load_model(get_spec("unet-light"), tmp_path / "trained.safetensors").card()
    assert card.training_command == "toolkit train unet-light --epochs 3"
    assert card.training == {
        k: record[k] for k in ("data", "data_seed", "git_commit", "best_epoch", "validation")
    }

    write_weights(model, tmp_path / "bare.safetensors", {})  # not from `toolkit train`
    bare = load_model(get_spec("unet-light"), tmp_path / "bare.safetensors").card()
    assert (bare.training_command, bare.training) == ("", {})

    write_weights(model, tmp_path / "damaged.safetensors", {"training": "{not json"})
    with pytest.raises(InputError, match=r"damaged\.safetensors: its training record is damaged"):
        load_model(get_spec("unet-light"), tmp_path / "damaged.safetensors")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x01\x00", "shorter than a safetensors header"),
        (b"\xff" * 8 + b"{}", r"header length \d+ does not fit the file"),
    ],
)
def test_a_safetensors_header_is_read_without_torch_or_refused_in_one_line(
    tmp_path: Path, content: bytes, message: str
) -> None:
    good = tmp_path / "good.safetensors"
    write_weights(get_spec("unet-light").build(), good, {"training": "{}"})
    metadata, tensors = safetensors_header(good)
    assert metadata == {"training": "{}"}
    assert tensors["encoder.0.0.weight"]["shape"] == [16, 3, 3, 3]
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(content)
    with pytest.raises(InputError, match=f"bad.safetensors: not a safetensors file \\({message}"):
        safetensors_header(bad)
