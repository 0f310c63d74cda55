"""How closely one model output follows another: error metrics and per-precision tolerances.

Torch-free, so the precision tools (toolkit.calibration) and verify share one definition.
Errors are measured on outputs in [0, 1]: line probabilities as they are, feature maps divided by
their peak magnitude in the reference.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from toolkit.core.metadata import OutputInfo

PSNR_CAP_DB = 200.0  # identical outputs have infinite PSNR; JSON has no infinity


@dataclass(frozen=True)
class Tolerance:
    max_abs: float
    mean_abs: float
    min_psnr_db: float
    min_line_f1: float  # agreement of the binarised outputs


# Per precision of the graph under test, against PyTorch FP32. FP32 differs from PyTorch only by
# summation order. FP16 keeps 11 significant bits: a few pixels on a stroke's soft edge may cross the
# threshold. INT8 moves edges by a step of the activation scale: the lines must still agree.
TOLERANCES = {
    "fp32": Tolerance(max_abs=1e-4, mean_abs=1e-5, min_psnr_db=80.0, min_line_f1=0.999),
    "fp16": Tolerance(max_abs=5e-2, mean_abs=2e-3, min_psnr_db=40.0, min_line_f1=0.995),
    # A stroke-edge pixel may flip from 0.3 to 0.9 in INT8, so max abs is no gate there; the mean,
    # the PSNR and the lines are.
    "int8": Tolerance(max_abs=1.0, mean_abs=1e-2, min_psnr_db=25.0, min_line_f1=0.98),
}


def compare(reference: np.ndarray, result: np.ndarray, info: OutputInfo, threshold: float) -> dict:
    """Error metrics of one (C, H, W) output against its reference."""
    nonfinite = int(np.size(result) - np.count_nonzero(np.isfinite(result)))
    scale = 1.0 if info.is_probability else max(float(np.abs(reference).max()), 1e-12)
    ref, got = reference / scale, np.nan_to_num(result / scale, nan=1e6, posinf=1e6, neginf=-1e6)
    diff = np.abs(got.astype(np.float64) - ref)
    mse = float(np.mean(diff**2))
    psnr = PSNR_CAP_DB if mse == 0 else min(PSNR_CAP_DB, 10 * np.log10(1.0 / mse))
    # Lines are the probability above the threshold; a feature map's lines are where it exceeds its
    # own mean, the adaptive threshold the reference applies to targets.
    cut = threshold if info.is_probability else ref.mean(axis=(1, 2), keepdims=True)
    return {
        "max_abs": float(diff.max()),
        "mean_abs": float(diff.mean()),
        "psnr_db": float(psnr),
        "line_f1": binary_f1(got > cut, ref > cut),
        "nonfinite": nonfinite,
    }


def binary_f1(predicted: np.ndarray, target: np.ndarray) -> float:
    true_pos = np.count_nonzero(predicted & target)
    false_total = np.count_nonzero(predicted ^ target)
    if true_pos == 0 and false_total == 0:
        return 1.0  # both empty: they agree
    return float(2 * true_pos / (2 * true_pos + false_total))


def within(metrics: dict, tolerance: Tolerance) -> bool:
    return (
        metrics["nonfinite"] == 0
        and metrics["max_abs"] <= tolerance.max_abs
        and metrics["mean_abs"] <= tolerance.mean_abs
        and metrics["psnr_db"] >= tolerance.min_psnr_db
        and metrics["line_f1"] >= tolerance.min_line_f1
    )
