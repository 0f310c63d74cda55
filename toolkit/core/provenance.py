"""Where things came from: the training record in a weights file, the record in every output picture.

`toolkit train` writes its record (command, data, data seed, git commit, best epoch, validation
metrics) into the `.safetensors` header's metadata. Export copies it into the model card, so an ONNX
graph, and every FP16/INT8 graph and engine made from it, says which training run made its weights;
`toolkit infer` stamps each picture with the model card's identity and its own settings.

Torch-free: the safetensors header (8 bytes little-endian length, then that many bytes of JSON) and
PNG chunks are read and written here by hand, so `toolkit inspect` works on a runtime-only install.
"""

from __future__ import annotations

import json
import re
import struct
import zlib
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, unescape

from toolkit.core.errors import InputError

MAX_HEADER_BYTES = 100_000_000  # safetensors' own limit
# What a model card keeps of a training record; its `config` repeats the command, field by field.
CARD_FIELDS = ("data", "data_seed", "git_commit", "uncommitted", "epoch", "best_epoch", "validation")


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
    return record_in(metadata, weights)


def record_in(metadata: dict[str, str], source: Path) -> dict[str, Any] | None:
    """The training record among a safetensors header's metadata, if it holds one."""
    if "training" not in metadata:
        return None
    try:
        record = json.loads(metadata["training"])
    except ValueError as error:
        raise InputError(f"{source}: its training record is damaged ({error})") from error
    return record if isinstance(record, dict) else None


def card_training(record: dict[str, Any] | None) -> tuple[str, dict[str, Any]]:
    """(training_command, training) as a model card holds them."""
    if record is None:
        return "", {}
    return str(record.get("command", "")), {k: record[k] for k in CARD_FIELDS if k in record}


# Every picture `toolkit infer` writes carries what made it (model, weights, precision, backend,
# settings, source image): archives keep outputs apart from run logs for decades. PNGs hold it as
# an iTXt chunk (UTF-8 JSON) beside a standard "Software" one that image viewers show; SVGs as a
# <metadata> element. `toolkit inspect` reads both.
OUTPUT_KEYWORD = "line-art-toolkit"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SVG_METADATA = re.compile(f'<metadata id="{re.escape(OUTPUT_KEYWORD)}">(.*?)</metadata>', re.DOTALL)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_with_text(png: bytes, text: dict[str, str]) -> bytes:
    """`png` with one uncompressed iTXt chunk per entry, right after its IHDR chunk."""
    ihdr_end = len(PNG_SIGNATURE) + 8 + struct.unpack(">I", png[8:12])[0] + 4  # length, type, data, CRC
    chunks = b"".join(
        png_chunk(b"iTXt", keyword.encode("latin-1") + b"\0\0\0\0\0" + value.encode("utf-8"))
        for keyword, value in text.items()
    )
    return png[:ihdr_end] + chunks + png[ihdr_end:]


def png_text(path: Path) -> dict[str, str]:
    """A PNG's tEXt and iTXt entries (uncompressed), read up to its image data."""
    data = path.read_bytes()
    if not data.startswith(PNG_SIGNATURE):
        raise InputError(f"{path}: not a PNG file")
    text, offset = {}, len(PNG_SIGNATURE)
    while offset + 8 <= len(data):
        length, kind = struct.unpack(">I", data[offset : offset + 4])[0], data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        if kind in (b"IDAT", b"IEND"):
            break
        if kind == b"tEXt":
            keyword, _, value = body.partition(b"\0")
            text[keyword.decode("latin-1")] = value.decode("latin-1")
        elif kind == b"iTXt":
            keyword, _, rest = body.partition(b"\0")
            compressed, rest = rest[0], rest[2:]  # compression flag, method
            _language, _, rest = rest.partition(b"\0")
            _translated, _, value = rest.partition(b"\0")
            if not compressed:
                text[keyword.decode("latin-1")] = value.decode("utf-8", errors="replace")
        offset += 12 + length
    return text


def svg_with_metadata(svg: str, record: dict[str, Any]) -> str:
    """`svg` with `record` as JSON in a <metadata> element, first inside its root element."""
    root_end = svg.index(">", svg.index("<svg")) + 1
    element = f'\n<metadata id="{OUTPUT_KEYWORD}">{escape(json.dumps(record))}</metadata>'
    return svg[:root_end] + element + svg[root_end:]


def output_record(path: Path) -> dict[str, Any] | None:
    """The record `toolkit infer` stamped into one of its PNG or SVG outputs; None if it has none."""
    if path.suffix.lower() == ".svg":
        found = SVG_METADATA.search(path.read_text(errors="replace"))
        text = unescape(found.group(1)) if found else None
    else:
        text = png_text(path).get(OUTPUT_KEYWORD)
    if text is None:
        return None
    try:
        record = json.loads(text)
    except ValueError as error:
        raise InputError(f"{path}: its {OUTPUT_KEYWORD} record is damaged ({error})") from error
    return record if isinstance(record, dict) else None
