"""Quantisation-aware fine-tuning (toolkit.train.quant_aware): where it rounds, what it leaves alone."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from toolkit.cli import app
from toolkit.models.build import load_model
from toolkit.models.registry import get_spec
from toolkit.train.quant_aware import WEIGHT_LEVELS, QuantAware, fake_weights


def contour() -> torch.nn.Module:
    return get_spec("contour").build(0)


def test_training_passes_see_uint8_activations_and_7_bit_weights() -> None:
    model, x = contour().train(), torch.randn(2, 3, 64, 64)
    seen: dict[str, torch.Tensor] = {}
    with QuantAware(model):
        # registered after QuantAware's own hook, so it sees the rounded input
        model.layer1[0].conv1.register_forward_pre_hook(lambda m, args: seen.update(layer1=args[0]))
        model.head.out[1].register_forward_pre_hook(lambda m, args: seen.update(logit=args[0]))
        model(x)
        assert 2 < len(torch.unique(seen["layer1"])) <= 256
        assert len(torch.unique(seen["logit"])) <= 256  # the logit conv's input is rounded ...
        assert "forward" not in model.head.out[1].__dict__  # ... its weights are not (never quantised)
        assert "forward" in model.layer1[0].conv1.__dict__
    weight = model.layer1[0].conv1.weight.detach()
    rounded = fake_weights(weight)
    for channel, original in zip(rounded, weight):
        step = original.abs().max() / WEIGHT_LEVELS
        assert len(torch.unique(channel)) <= 2 * WEIGHT_LEVELS + 1
        assert (channel - original).abs().max() <= step / 2 + 1e-7


def test_evaluation_passes_weights_and_the_model_after_it_stay_fp32() -> None:
    model, x = contour().eval(), torch.randn(1, 3, 64, 64)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    reference = model(x)
    with QuantAware(model):
        assert torch.equal(model(x), reference)
        assert model.state_dict().keys() == before.keys()
    conv = model.layer1[0].conv1
    assert not conv._forward_pre_hooks and "forward" not in conv.__dict__
    assert all(torch.equal(model.state_dict()[k], v) for k, v in before.items())


def test_train_quant_aware_writes_plain_fp32_weights(tmp_path: Path) -> None:
    run = tmp_path / "run"
    tiny = ["--image-size", "48", "--crop", "32", "--train-size", "8", "--val-size", "2", "--batch-size", "4"]
    args = ["train", "unet-light", "-o", str(run), *tiny, "--epochs", "1", "--quant-aware"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert json.loads((run / "config.json").read_text())["quant_aware"] is True
    spec = get_spec("unet-light")
    assert load_file(run / "weights.safetensors").keys() == spec.build(0).state_dict().keys()
    load_model(spec, run / "weights.safetensors")  # loads strictly
