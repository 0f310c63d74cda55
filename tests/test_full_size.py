"""The reference-size U-Net (8.3 M parameters) end to end: about 30 s on 2 CPU cores."""

from __future__ import annotations

from pathlib import Path

from toolkit.analysis.verify import verify_model
from toolkit.export.onnx_export import export_onnx
from toolkit.models.build import load_model
from toolkit.models.registry import get_spec


def test_reference_unet_exports_and_verifies_within_1e_4(tmp_path: Path) -> None:
    result = export_onnx(load_model(get_spec("unet")), tmp_path / "unet.onnx")
    report = verify_model(result.path)
    assert report.passed, report.worst()
    sizes = {tuple(row.shape[1:]) for row in report.rows}
    assert {(424, 424), (389, 517)} <= sizes
    assert report.worst()["max_abs"] <= 1e-4
