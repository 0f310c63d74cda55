"""`toolkit calibrate` as one call: the INT8 graph, with or without a line-F1 target, and the per-node
sensitivity report when one is asked for. Every output path is checked before any calibration runs."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from toolkit.calibration.images import CalibrationSet
from toolkit.calibration.int8 import Int8Result, check_choices, quantize_int8
from toolkit.calibration.sensitivity import NodeCost, node_sensitivity, quantize_to_target
from toolkit.core.fileio import refuse_overwrite, write_json
from toolkit.export.graph_file import derived_path


@dataclass(frozen=True)
class CalibrateOutcome:
    result: Int8Result
    ranking: list[NodeCost]  # most harmful node first; [] unless ranked (a target, or a report)
    agreement: float | None  # line F1 against the FP32 graph, when a target was given


def calibrate(
    fp32_path: Path,
    images: CalibrationSet,
    *,
    output: Path | None = None,
    method: str = "max",
    target: str = "tensorrt",
    target_f1: float | None = None,
    exclude: Iterable[str] = (),
    report: Path | None = None,
    overwrite: bool = False,
    track: Callable = iter,
) -> CalibrateOutcome:
    """Write the INT8 graph of `fp32_path` (default NAME-int8.onnx, or NAME-int8-cpu.onnx for the CPU
    form); with `target_f1`, the fewest most sensitive nodes stay FP32 until the agreement meets it;
    with `report`, the per-node ranking is written there as JSON."""
    check_choices(method, target)
    output = output or derived_path(fp32_path, "int8" if target == "tensorrt" else f"int8-{target}")
    refuse_overwrite(output, overwrite)
    if report is not None:
        refuse_overwrite(report, overwrite)
    ranking: list[NodeCost] = []
    agreement = None
    if target_f1 is not None:
        result, ranking, agreement = quantize_to_target(
            fp32_path,
            images,
            output,
            target_f1=target_f1,
            method=method,
            overwrite=overwrite,
            track=track,
            target=target,
        )
    else:
        result = quantize_int8(
            fp32_path,
            images,
            output,
            method=method,
            exclude=exclude,
            overwrite=overwrite,
            track=track,
            target=target,
        )
    if report is not None:
        ranking = ranking or node_sensitivity(fp32_path, images, method=method, track=track, target=target)
        write_json(report, [dataclasses.asdict(cost) for cost in ranking], overwrite)
    return CalibrateOutcome(result, ranking, agreement)
