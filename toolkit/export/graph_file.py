"""How every graph we write is saved: the ONNX checker and strict shape inference, the model card
stamped into its metadata, then an atomic write (temporary file + rename). `toolkit export`, `convert`
and `calibrate` all save through `save_graph`, so no graph on disk lacks a card or half-exists."""

from __future__ import annotations

from pathlib import Path

import onnx

from toolkit.core.errors import InputError
from toolkit.core.fileio import atomic_path
from toolkit.core.metadata import ModelCard, write_card
from toolkit.core.shipped import is_shipped


def check_model(model: onnx.ModelProto, path: Path) -> onnx.ModelProto:
    """Full onnx.checker pass and strict shape inference; returns the model with inferred shapes."""
    try:
        onnx.checker.check_model(model, full_check=True)
        return onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as error:
        raise InputError(f"{path}: exported graph fails the ONNX checker ({error})") from error


def save_graph(
    model: onnx.ModelProto, card: ModelCard, path: Path, *, overwrite: bool = False
) -> onnx.ModelProto:
    """Check `model`, stamp `card` on it and write it to `path` atomically; returns the checked model."""
    checked = check_model(model, path)
    write_card(checked, card)
    with atomic_path(path, overwrite) as tmp:
        onnx.save(checked, tmp)
    return checked


def derived_path(onnx_file: Path, precision: str) -> Path:
    """export/unet.onnx -> export/unet-int8.onnx; a shipped graph's go to export/, not into the package."""
    folder = Path("export") if is_shipped(onnx_file) else onnx_file.parent
    return folder / f"{onnx_file.stem}-{precision}.onnx"
