"""Where weights came from: the training record a `toolkit train` weights file carries, read without torch.

`toolkit train` writes its record (command, data, data seed, git commit, best epoch, validation
metrics) into the `.safetensors` header's metadata. Export copies it into the model card, so an ONNX
graph, and every FP16/INT8 graph and engine made from it, says which training run made its weights.

The safetensors header is read here by hand (documented format: 8 bytes little-endian length, then
that many bytes of JSON), so `toolkit inspect` works on a runtime-only install.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

from toolkit.errors import InputError

MAX_HEADER_BYTES = 100_000_000  # safetensors' own limit
# What a model card keeps of a training record; its `config` repeats the command, field by field.
CARD_FIELDS = ("data", "data_seed", "git_commit", "best_epoch", "validation")


def safetensors_header(path: Path) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    """(metadata, tensors) of a .safetensors file: tensors maps name -> {dtype, shape, data_offsets}."""
    try:
        with path.open("rb") as stream:
            length_bytes = stream.read(8)
            if len(length_bytes) < 8:
                raise ValueError("shorter than a safetensors header")
            (length,) = struct.unpack("<Q", length_bytes)
            if length > min(MAX_HEADER_BYTES, path.stat().st_size - 8):
                raise ValueError(f"header length {length} does not fit the file")
            header = json.loads(stream.read(length))
        if not isinstance(header, dict):
            raise ValueError("header is not a JSON object")
    except OSError as error:
        raise InputError(f"{path}: cannot read ({error.strerror or error})") from error
    except (ValueError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: not a safetensors file ({error})") from error
    metadata = header.pop("__metadata__", None) or {}
    return metadata, header


def training_record(weights: Path) -> dict[str, Any] | None:
    """The record `toolkit train` wrote into a .safetensors file; None for other weights."""
    if weights.suffix.lower() != ".safetensors":
        return None
    metadata, _ = safetensors_header(weights)
    if "training" not in metadata:
        return None
    try:
        record = json.loads(metadata["training"])
    except ValueError as error:
        raise InputError(f"{weights}: its training record is damaged ({error})") from error
    return record if isinstance(record, dict) else None


def card_training(record: dict[str, Any] | None) -> tuple[str, dict[str, Any]]:
    """(training_command, training) as a model card holds them."""
    if record is None:
        return "", {}
    return str(record.get("command", "")), {k: record[k] for k in CARD_FIELDS if k in record}
