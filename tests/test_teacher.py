"""`toolkit train --teacher`: a frozen model's mirrored views, averaged, as a second, soft target."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from toolkit.cli import app
from toolkit.core.shipped import SHIPPED_DIR
from toolkit.models.build import load_model
from toolkit.models.registry import get_spec
from toolkit.train.teacher import Teacher

TINY = ["--image-size", "48", "--crop", "32", "--train-size", "8", "--val-size", "2", "--batch-size", "4"]
SHIPPED = SHIPPED_DIR / "unet-light.safetensors"


def train(run: Path, *args: str) -> CliRunner:
    return CliRunner().invoke(app, ["train", "unet-light", "-o", str(run), *TINY, "--epochs", "1", *args])


def test_the_teacher_gives_the_mean_of_its_mirrored_views_mirrored_back() -> None:
    spec = get_spec("unet-light")
    model = load_model(spec, SHIPPED).module
    x = torch.rand(2, spec.in_channels, 64, 48)
    with torch.no_grad():
        views = [
            model(x),
            model(x.flip(3)).flip(3),
            model(x.flip(2)).flip(2),
            model(x.flip(2, 3)).flip(2, 3),
        ]
    four = Teacher(spec, SHIPPED, views=4, device=torch.device("cpu"))(x)
    assert four.shape == (2, 1, 64, 48)
    torch.testing.assert_close(four, torch.stack(views).mean(0))
    one = Teacher(spec, SHIPPED, views=1, device=torch.device("cpu"))(x)
    torch.testing.assert_close(one, views[0])
    assert (four - one).abs().max() > 1e-3  # the views do differ: the average is not the one pass
    assert not any(
        p.requires_grad
        for p in Teacher(spec, SHIPPED, views=2, device=torch.device("cpu")).model.parameters()
    )


def test_distilling_trains_toward_the_teacher_and_is_recorded(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    assert train(plain, "--seed", "4").exit_code == 0
    weightless = tmp_path / "weightless"  # a teacher weighed 0 changes nothing, to the bit
    result = train(weightless, "--seed", "4", "--teacher", str(SHIPPED), "--teacher-weight", "0")
    assert result.exit_code == 0, result.output
    a, b = load_file(plain / "weights.safetensors"), load_file(weightless / "weights.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)
    taught = tmp_path / "taught"
    result = train(taught, "--seed", "4", "--teacher", str(SHIPPED), "--teacher-views", "2")
    assert result.exit_code == 0, result.output
    c = load_file(taught / "weights.safetensors")
    assert any(not torch.equal(a[k], c[k]) for k in a)
    config = json.loads((taught / "weights.json").read_text())["config"]
    assert (config["teacher"], config["teacher_views"], config["teacher_weight"]) == (str(SHIPPED), 2, 0.5)


def test_a_teacher_that_cannot_be_used_is_refused_before_a_run_folder_exists(tmp_path: Path) -> None:
    run = tmp_path / "run"
    missing = tmp_path / "nowhere.safetensors"
    result = train(run, "--teacher", str(missing))
    assert result.exit_code == 3 and f"{missing}: --teacher needs a weights file" in result.output
    result = train(run, "--teacher", str(SHIPPED), "--teacher-views", "3")
    assert result.exit_code == 3 and "--teacher-views must be one of 1, 2, 4, not 3" in result.output
    result = train(run, "--teacher", str(SHIPPED), "--teacher-weight", "1.5")
    assert result.exit_code == 3 and "--teacher-weight is a share of the loss, 0..1, not 1.5" in result.output
    result = train(run, "--teacher-weight", "0.3")  # no teacher to weigh
    assert (
        result.exit_code == 3 and "--teacher-views and --teacher-weight describe a --teacher" in result.output
    )
    wrong = SHIPPED_DIR / "contour.safetensors"  # another network's weights
    result = train(run, "--teacher", str(wrong))
    assert result.exit_code == 3 and str(wrong) in result.output
    assert not run.exists()
