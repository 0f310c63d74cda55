"""`toolkit features`: the contour trunk's feature maps, ranked against a line drawing, on real files."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import torch
from test_weights import torchvision_resnet18_state_dict
from typer.testing import CliRunner

from toolkit.analysis.features import (
    CELL,
    LABEL_BAND,
    SHEET_COLUMNS,
    TITLE_BAND,
    channel_correlations,
    ink_of,
)
from toolkit.cli import app
from toolkit.core.errors import ExitCode
from toolkit.core.fileio import write_png
from toolkit.data.synthetic import make_pair
from toolkit.imaging.imageio import read_image

runner = CliRunner()


def test_correlation_finds_the_channel_that_is_the_drawing() -> None:
    _, target = make_pair("painting", 96, 128, seed=3)
    ink = ink_of(target)
    at_stride_2 = cv2.resize(ink, (64, 48), interpolation=cv2.INTER_AREA)
    noise = np.random.default_rng(0).random((48, 64), dtype=np.float32)
    maps = np.stack([noise, at_stride_2, 1 - at_stride_2, np.zeros_like(noise)])  # (4, 48, 64)
    r = channel_correlations(maps, ink)
    assert abs(r[0]) < 0.1 and r[1] > 0.999 and r[2] < -0.999
    assert r[3] == 0  # a dead channel correlates with nothing, not NaN


def test_features_command_ranks_writes_sheets_and_reports_bad_files(tmp_path: Path) -> None:
    images = tmp_path / "scans"
    for index, (height, width) in enumerate([(200, 260), (150, 150)]):
        painting, _ = make_pair("painting", height, width, seed=index)
        write_png(images / f"p{index}.png", painting)
    (images / "broken.png").write_bytes(b"not an image")
    out, report_file = tmp_path / "features", tmp_path / "features.json"
    args = ["features", str(images), "-o", str(out), "--top", "3", "--json", str(report_file)]
    result = runner.invoke(app, args)
    assert result.exit_code == ExitCode.BAD_INPUT
    assert f"error: {images / 'broken.png'}: not a readable image" in result.output

    report = json.loads(report_file.read_text())
    ranking = report["ranking"]
    assert len(ranking) == 128 and {r["layer"] for r in ranking} == {"conv1", "layer1"}  # every channel
    correlations = [r["correlation"] for r in ranking]
    assert correlations == sorted(correlations, reverse=True)
    assert correlations[0] > 0.5  # the trained trunk has channels that read as the contour drawing
    assert report["reference"] == "line output of 'contour'" and sorted(report["per_image"]) == ["p0", "p1"]
    best = ranking[:3]
    selection = {}
    for r in best:
        selection.setdefault(r["layer"], []).append(str(r["channel"]))
    expected = " ".join(f"--features {layer}:{','.join(ch)}" for layer, ch in selection.items())
    assert f"next: toolkit export contour {expected}" in result.output
    assert "then: toolkit infer" in result.output and "--model export/contour-features.onnx" in result.output

    # per image: a sheet per layer, 8 x 8 labelled cells; the best channels at the image's size
    sheet = read_image(out / "p0-conv1.png")
    cell_h = round(CELL * 100 / 130)  # conv1 of a 200 x 260 image is 100 x 130
    assert sheet.shape == (TITLE_BAND + 8 * (cell_h + LABEL_BAND), SHEET_COLUMNS * CELL, 3)
    for r in best:
        assert read_image(out / f"p1-{r['layer']}-c{r['channel']}.png").shape == (150, 150)
    assert len(report["written"]) == 2 * (2 + 3) and not list(out.glob(".*.tmp"))

    # nothing is replaced unasked; with --overwrite it is
    before = (out / "p0-conv1.png").stat().st_mtime_ns
    again = runner.invoke(app, ["features", str(images / "p0.png"), "-o", str(out), "--top", "3"])
    assert again.exit_code == ExitCode.BAD_INPUT
    assert f"{out / 'p0-conv1.png'}: already exists (pass --overwrite to replace it)" in again.output
    assert (out / "p0-conv1.png").stat().st_mtime_ns == before
    forced = runner.invoke(
        app, ["features", str(images / "p0.png"), "-o", str(out), "--top", "3", "--overwrite"]
    )
    assert forced.exit_code == 0, forced.output


def test_features_of_an_exported_selection_against_a_target_drawing(
    exported: dict[str, Path], tmp_path: Path
) -> None:
    painting, target = make_pair("painting", 128, 160, seed=9)
    write_png(tmp_path / "page.png", painting)
    write_png(tmp_path / "page-outline.png", target)
    out, report_file = tmp_path / "features", tmp_path / "r.json"
    args = ["features", str(tmp_path / "page.png"), "-o", str(out), "--json", str(report_file)]
    onnx_file = str(exported["contour-features"])  # conv1 channels 3, 21, 48, 56 and all of layer1
    result = runner.invoke(app, [*args, "--model", onnx_file, "--target", str(tmp_path / "page-outline.png")])
    assert result.exit_code == 0, result.output
    report = json.loads(report_file.read_text())
    assert report["reference"] == f"target drawing {tmp_path / 'page-outline.png'}"
    conv1 = {r["channel"] for r in report["ranking"] if r["layer"] == "conv1"}
    assert conv1 == {3, 21, 48, 56} and len(report["ranking"]) == 4 + 64  # channels named as exported
    assert len(report["per_image"]["page"]["conv1"]) == 4

    two = runner.invoke(app, ["features", str(tmp_path), "-o", str(out), "--target", "page-outline.png"])
    assert two.exit_code == ExitCode.BAD_INPUT and "a target drawing ranks one image, not 2" in two.output
    tiny = runner.invoke(app, [*args[:4], "--max-side", "8"])
    assert tiny.exit_code == ExitCode.BAD_INPUT and "--max-side at least 32" in tiny.output
    lines = runner.invoke(app, [*args[:4], "--model", str(exported["contour"])])
    assert lines.exit_code == ExitCode.BAD_INPUT and "has no feature-map outputs" in lines.output


def test_features_of_a_torchvision_checkpoint(tmp_path: Path) -> None:
    """The paper's setup: torchvision's resnet18 file, whose trunk loads without layer2-4 and fc."""
    checkpoint = tmp_path / "resnet18.pth"
    torch.save(torchvision_resnet18_state_dict(seed=1), checkpoint)
    painting, _ = make_pair("painting", 96, 96, seed=4)
    write_png(tmp_path / "page.png", painting)
    out = tmp_path / "features"
    args = [
        "features",
        str(tmp_path / "page.png"),
        "-o",
        str(out),
        "--weights",
        str(checkpoint),
        "--top",
        "2",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    suggested = next(line for line in result.output.splitlines() if line.startswith("next: "))
    assert f"--weights {checkpoint}" in suggested
    assert len(list(out.glob("page-*-c*.png"))) == 2
