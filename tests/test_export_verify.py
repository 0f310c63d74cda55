"""ONNX export round trips and `toolkit verify`, on small models with real ONNX Runtime and PyTorch."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from typer.testing import CliRunner

from toolkit.analysis.verify import verify_model
from toolkit.cli import app
from toolkit.core.agreement import TOLERANCES
from toolkit.core.errors import ExitCode, InputError
from toolkit.core.metadata import read_card
from toolkit.runtime.onnxruntime_runner import OnnxRuntimeRunner

runner = CliRunner()


def test_export_is_checked_dynamic_and_self_describing(exported: dict[str, Path]) -> None:
    model = onnx.load(exported["unet-light"])
    onnx.checker.check_model(model, full_check=True)
    assert [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")] == [17]
    dims = [d.dim_param or d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["batch", 3, "height", "width"]  # RGB: coloured pencil and grid paper show by colour
    card = read_card(exported["unet-light"])
    assert (card.model, card.family, card.input_channels, card.stride, card.opset) == (
        "unet-light",
        "unet",
        3,
        8,
        17,
    )
    assert card.output_names == ["lines"] and card.threshold == 0.5
    assert card.mean == [0.0] * 3 and card.std == [1.0] * 3 and card.input_layout == "NCHW"
    assert len(card.weights_sha256) == 64 and card.weights_file == ""
    assert card.config["widths"] == [16, 32, 64]
    props = {p.key for p in model.metadata_props}
    assert {
        "model",
        "input_layout",
        "mean",
        "std",
        "stride",
        "outputs",
        "threshold",
        "weights_sha256",
    } <= props


def test_feature_export_has_one_output_per_layer(exported: dict[str, Path]) -> None:
    card = read_card(exported["contour-features"])
    assert card.output_names == ["conv1", "layer1"]
    assert [(o.stride, o.channels) for o in card.outputs] == [(2, [3, 21, 48, 56]), (4, None)]
    with OnnxRuntimeRunner(exported["contour-features"]) as graph:
        out = graph.infer({"image": np.zeros((3, 3, 40, 24), np.float32)})
    assert out["conv1"].shape == (3, 4, 20, 12) and out["layer1"].shape == (3, 64, 10, 6)


@pytest.mark.parametrize("key", ["unet-light", "contour", "contour-gray", "contour-features"])
def test_verify_passes_fp32_at_reference_and_odd_sizes(exported: dict[str, Path], key: str) -> None:
    report = verify_model(exported[key])
    assert report.passed, report.worst()
    cases = {row.case for row in report.rows}
    # the model's own domain, both channel counts, 424x424, sizes that are no multiple of the stride,
    # and a batch of two
    domain, other = ("sketch", "rgb") if key == "unet-light" else ("painting", "gray")
    assert cases == {
        f"{domain}-424x424",
        f"{domain}-{other}-424x424",
        f"{domain}-517x389",
        f"{domain}-250x250",
        f"{domain}-45x31",
        "batch-2x424x424",
    }
    assert {tuple(r.shape[1:]) for r in report.rows if r.case == f"{domain}-517x389"} <= {
        (389, 517),
        (195, 259),
        (98, 130),  # lines, conv1 (stride 2), layer1 (stride 4)
    }
    assert report.worst()["max_abs"] <= TOLERANCES["fp32"].max_abs == 1e-4
    assert report.worst()["nonfinite"] == 0


def test_perturbed_graph_fails_verification(exported: dict[str, Path], tmp_path: Path) -> None:
    model = onnx.load(exported["unet-light"])
    weight = next(i for i in model.graph.initializer if len(i.dims) == 4 and i.dims[0] == 32)
    values = onnx.numpy_helper.to_array(weight).copy()
    values += np.float32(0.05) * np.abs(values).mean()
    weight.CopyFrom(onnx.numpy_helper.from_array(values, weight.name))
    perturbed = tmp_path / "perturbed.onnx"
    onnx.save(model, perturbed)
    report_path = tmp_path / "report.json"

    result = runner.invoke(app, ["verify", str(perturbed), "--json", str(report_path)])

    assert result.exit_code == ExitCode.CHECK_FAILED
    assert "FAILED" in result.output
    report = json.loads(report_path.read_text())
    assert report["passed"] is False
    assert report["worst"]["max_abs"] > 1e-4


def test_verify_cli_on_a_folder_writes_json(
    exported: dict[str, Path], image_folder: Path, tmp_path: Path
) -> None:
    report_path = tmp_path / "verify.json"
    args = ["verify", str(exported["contour"]), "--images", str(image_folder), "--json", str(report_path)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(report_path.read_text())
    assert [r["case"] for r in report["rows"]] == [
        "a-sketch.png",
        "b-painting.jpg",
        "batch-2x80x64",
        "batch-2x80x64",
    ]
    assert report["rows"][0]["shape"] == [1, 71, 93]
    # the report is never silently replaced
    again = runner.invoke(app, args)
    assert again.exit_code == ExitCode.BAD_INPUT
    assert f"error: {report_path}: already exists (pass --overwrite to replace it)" in again.output


def test_unreadable_image_is_reported_and_the_rest_verified(
    exported: dict[str, Path], image_folder: Path
) -> None:
    (image_folder / "c-broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    result = runner.invoke(app, ["verify", str(exported["unet-light"]), "--images", str(image_folder)])
    assert result.exit_code == ExitCode.BAD_INPUT
    assert f"error: {image_folder / 'c-broken.png'}: truncated PNG" in result.output
    assert "a-sketch.png" in result.output and "b-painting.jpg" in result.output


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "ONNX file not found"), (b"\x08\x07garbage", "not a loadable ONNX model")],
)
def test_missing_or_corrupt_onnx_is_one_line(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "model.onnx"
    if content is not None:
        path.write_bytes(content)
    result = runner.invoke(app, ["verify", str(path)])
    assert result.exit_code == ExitCode.BAD_INPUT
    lines = result.output.strip().splitlines()
    assert lines == [lines[0]] and lines[0].startswith(f"error: {path}: {message}")


def test_onnx_without_toolkit_metadata_is_refused(exported: dict[str, Path], tmp_path: Path) -> None:
    model = onnx.load(exported["unet-light"])
    del model.metadata_props[:]
    foreign = tmp_path / "foreign.onnx"
    onnx.save(model, foreign)
    with pytest.raises(InputError, match=r"foreign\.onnx: has no toolkit metadata"):
        verify_model(foreign)


def test_verify_refuses_other_weights(exported: dict[str, Path], tmp_path: Path) -> None:
    from toolkit.models.registry import get_spec
    from toolkit.models.weights import write_weights

    other = tmp_path / "other.safetensors"
    write_weights(get_spec("unet-light").build(seed=1), other, {})
    result = runner.invoke(app, ["verify", str(exported["unet-light"]), "--weights", str(other)])
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "other.safetensors: weights sha256" in result.output and "are not those" in result.output


def test_verify_refuses_a_reference_of_another_model(exported: dict[str, Path]) -> None:
    args = ["verify", str(exported["unet-light"]), "--reference", str(exported["contour"])]
    result = runner.invoke(app, args)
    assert result.exit_code == ExitCode.BAD_INPUT
    assert (
        f"{exported['contour']}: not a reference for {exported['unet-light']}: it is 'contour'"
        in result.output
    )
    both = runner.invoke(app, [*args, "--weights", "w.safetensors"])
    assert both.exit_code == ExitCode.USAGE and "with --reference the graph is the reference" in both.output
    itself = runner.invoke(app, ["verify", str(exported["unet-light"]), "--backend", "torch"])
    assert itself.exit_code == ExitCode.USAGE and "--backend torch is the reference itself" in itself.output


def test_export_cli_with_weights_refuses_overwrite(tmp_path: Path) -> None:
    from toolkit.models.registry import get_spec
    from toolkit.models.weights import write_weights

    weights = tmp_path / "light.safetensors"
    write_weights(get_spec("unet-light").build(seed=4), weights, {})
    out = tmp_path / "light.onnx"
    args = ["export", "unet-light", "--weights", str(weights), "-o", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert read_card(out).weights_file == str(weights)
    assert runner.invoke(app, ["verify", str(out)]).exit_code == 0  # finds the weights from the card
    again = runner.invoke(app, args)
    assert again.exit_code == ExitCode.BAD_INPUT and "already exists" in again.output
    assert not list(tmp_path.glob(".light.onnx.*"))  # no temporary files left behind


def test_export_cli_errors_are_one_line(tmp_path: Path) -> None:
    bad_shape = tmp_path / "contour.safetensors"
    from toolkit.models.registry import get_spec
    from toolkit.models.weights import write_weights

    write_weights(get_spec("contour", 1).build(), bad_shape, {})
    cases = [
        (["export", "contour", "--weights", str(bad_shape)], "does not fit ContourNet: 2 shape mismatch"),
        (["export", "unet", "--features", "conv1"], "model 'unet' has no feature-map output"),
        (["export", "contour", "--features", "conv9"], "--features conv9: layer must be one of"),
        (["export", "contour", "--opset", "11"], "opset 11 is not supported"),
    ]
    for args, message in cases:
        result = runner.invoke(app, [*args, "-o", str(tmp_path / "x.onnx")])
        assert result.exit_code == ExitCode.BAD_INPUT, (args, result.output)
        assert message in result.output, result.output
    assert not (tmp_path / "x.onnx").exists()
