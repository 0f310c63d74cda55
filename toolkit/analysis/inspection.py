"""What an artifact says about itself, read back: `toolkit inspect` of graphs, engines, weights, pictures.

Every artifact the toolkit writes describes itself (docs/ARCHITECTURE.md, decision 3): an ONNX graph its model
card, an engine its JSON header, a weights file the record `toolkit train` put in its header, a
picture the record `toolkit infer` stamped into it (toolkit.core.provenance). This module reads them
without torch, without loading weights into a model and without deserialising a plan, and says in
words what a pipeline engineer asks of a file someone handed them: which model, which precision and
how it got there, which training run made the weights, and whether it can run here. Problems it
finds (a plan that is not the one its header describes, an engine this machine's TensorRT or GPU
cannot run, an INT8 graph that breaks TensorRT's Q/DQ rules) are listed apart.

Executed here: all of it on graphs, weights and pictures; for engines, everything but the GPU query, which
needs a GPU (without one, "runs here" says what was checked and what is unknown).
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toolkit.core.errors import InputError, MissingDependencyError
from toolkit.core.metadata import RUNTIME_MEMORY_NOTE, ModelCard, card_of, graph_mismatch, load_graph
from toolkit.core.model_ref import ENGINE_SUFFIXES, resolve_model
from toolkit.core.provenance import output_record, record_in, safetensors_header
from toolkit.engines.cuda import CudaError
from toolkit.engines.header import (
    EngineHeader,
    EngineMismatchError,
    compatibility_problems,
    read_engine,
    sidecar_path,
)
from toolkit.engines.header import sha256_of as sha256
from toolkit.engines.trt import import_runtime, platform_of
from toolkit.runtime.tile_plan import MEASURED_HEADROOM

Row = tuple[str, str]  # (label, text)

# Card notes that `precision_text` puts in words; any other note is listed as it is.
PRECISION_NOTES = {
    "fp16_converter",
    "fp32_nodes",
    "int8_target",
    "calibration_method",
    "calibration_images",
    "calibration_sha256",
    "calibration_feed",
    "int8_excluded_nodes",
    "int8_pixel_shuffle_nodes",
    "int8_float_pooling_nodes",
}


@dataclass(frozen=True)
class Inspection:
    path: Path
    kind: str  # "onnx", "engine", "weights" or "picture"
    rows: list[Row]  # what `toolkit inspect` prints, in reading order
    facts: dict[str, Any]  # the same, whole and structured: what --json writes
    problems: list[str] = field(default_factory=list)  # what keeps it from being used (here)


def inspect_artifact(path: Path) -> Inspection:
    """Read what `path` says: a .onnx graph (or a shipped model's, by name), an engine or its
    .engine.json header, a .safetensors, or a .png/.svg picture from `toolkit infer`."""
    name = path.name.lower()
    if name.endswith(".onnx"):
        return inspect_graph(path)
    if name.endswith(ENGINE_SUFFIXES):
        return inspect_engine(path)
    if name.endswith(tuple(s + ".json" for s in ENGINE_SUFFIXES)):
        return inspect_engine(path.with_name(path.name[: -len(".json")]))
    if name.endswith(".safetensors"):
        return inspect_weights(path)
    if name.endswith((".png", ".svg")):
        return inspect_picture(path)
    if not path.suffix and not path.is_file():  # a shipped model name, as every command takes it
        return inspect_graph(resolve_model(path, accepts=("graph",)).path)
    raise InputError(f"{path}: not a file inspect reads (.onnx, .engine or .plan, .safetensors, .png, .svg)")


def inspect_graph(path: Path) -> Inspection:
    model = load_graph(path)
    card = card_of(model, path)
    operators = Counter(node.op_type for node in model.graph.node)
    inputs, outputs = [value_type(v) for v in model.graph.input], [value_type(v) for v in model.graph.output]
    tensorrt_int8 = card.precision == "int8" and card.extra.get("int8_target", "tensorrt") == "tensorrt"
    mismatch = graph_mismatch(model, card)
    problems = [mismatch] if mismatch else []
    if tensorrt_int8:
        from toolkit.calibration.qdq import qdq_problems

        problems += [f"breaks TensorRT's Q/DQ rules: {p}" for p in qdq_problems(model)]
    data = path.read_bytes()
    rows = [
        (
            "file",
            f"ONNX graph, {megabytes(len(data))}, sha256 {sha256(data)[:12]}, IR version {model.ir_version}",
        ),
        *card_rows(card),
        *(("graph input", f"{name} {kind} [{dims}]") for name, kind, dims in inputs),
        *(("graph output", f"{name} {kind} [{dims}]") for name, kind, dims in outputs),
        (
            "operators",
            f"{sum(operators.values())} nodes: "
            + ", ".join(f"{op} {n}" for op, n in operators.most_common()),
        ),
    ]
    if tensorrt_int8:
        kept = "TensorRT's, kept: symmetric int8, opset >= 13, no quantised Sigmoid or output"
        rows.append(("Q/DQ rules", "TensorRT's, broken (see problems)" if problems else kept))
    facts = {
        "file": str(path),
        "kind": "onnx",
        "bytes": len(data),
        "sha256": sha256(data),
        "ir_version": model.ir_version,
        "producer": f"{model.producer_name} {model.producer_version}".strip(),
        "card": dataclasses.asdict(card),
        "inputs": [dict(zip(("name", "type", "shape"), v)) for v in inputs],
        "outputs": [dict(zip(("name", "type", "shape"), v)) for v in outputs],
        "operators": dict(operators.most_common()),
        "problems": problems,
    }
    return Inspection(path, "onnx", rows, facts, problems)


def inspect_engine(path: Path) -> Inspection:
    try:
        header, plan = read_engine(path)
        problems = []
    except EngineMismatchError as mismatch:  # still worth reading: the header says what to rebuild
        sidecar = sidecar_path(path)
        header, plan = EngineHeader.from_json(sidecar.read_bytes(), sidecar), path.read_bytes()
        problems = ["the file " + str(mismatch).removeprefix(f"{path}: ")]
    here, here_problems = engine_here(header)
    problems += here_problems
    built = header.built_on.describe()
    options = [
        "version-compatible" if header.version_compatible else "",
        f"hardware compatibility {header.hardware_compatibility}"
        if header.hardware_compatibility != "none"
        else "",
        f"DLA core {header.dla_core}" if header.dla_core is not None else "",
    ]
    rows = [
        (
            "file",
            f"TensorRT plan, {megabytes(len(plan))}, sha256 {sha256(plan)[:12]}, "
            f"header {sidecar_path(path).name}",
        ),
        ("built for", "; ".join([built, *filter(None, options)])),
        ("built", f"{header.built_at or 'at an unrecorded time'} by: {header.build_command}"),
        ("profile", ", ".join(f"{k} {'x'.join(map(str, v))}" for k, v in header.profile.items()) + " (NCHW)"),
        ("from graph", f"{header.onnx_file} (sha256 {header.onnx_sha256[:12]}; {graph_state(header)})"),
        ("runs here", here),
        *card_rows(header.model_card),
    ]
    facts = {
        "file": str(path),
        "kind": "engine",
        "bytes": len(plan),
        "sha256": sha256(plan),
        "header": dataclasses.asdict(header),
        "runs_here": here,
        "problems": problems,
    }
    return Inspection(path, "engine", rows, facts, problems)


def engine_here(header: EngineHeader) -> tuple[str, list[str]]:
    """Whether this machine's TensorRT and GPU can run the plan: (in words, problems found)."""
    try:
        trt, lean = import_runtime()
    except MissingDependencyError:
        return "unknown: TensorRT is not installed here", []
    runtime = f"TensorRT {trt.__version__}" + (" (lean runtime)" if lean else "")
    problems = compatibility_problems(header, platform_of(trt, lean, device=None))  # no GPU needed
    if not problems:
        try:
            here = platform_of(trt, lean)
        except (CudaError, MissingDependencyError) as error:
            return f"{runtime} accepts its version; the GPU is unknown ({error})", []
        problems, runtime = compatibility_problems(header, here), here.describe()
    if problems:
        return f"no, not on {runtime}", [f"{p}; this machine has {runtime}" for p in problems]
    return f"yes, on {runtime}", []


def graph_state(header: EngineHeader) -> str:
    """Whether the graph an engine was built from is still where it was, unchanged."""
    graph = Path(header.onnx_file)
    if not graph.is_file():
        return "not at that path here"
    same = sha256(graph.read_bytes()) == header.onnx_sha256
    return "the file there now is that graph" if same else "the file there now is a different graph"


def inspect_weights(path: Path) -> Inspection:
    if not path.is_file():
        raise InputError(f"{path}: weights file not found")
    metadata, tensors = safetensors_header(path)
    record = record_in(metadata, path)
    values = sum(math.prod(t.get("shape", [])) for t in tensors.values())
    dtypes = sorted({str(t.get("dtype")) for t in tensors.values()})
    data = path.read_bytes()
    rows = [
        ("file", f"weights (safetensors), {megabytes(len(data))}, sha256 {sha256(data)[:12]}"),
        ("tensors", f"{len(tensors)} ({', '.join(dtypes)}), {values / 1e6:.2f} M values"),
    ]
    if record is None:
        rows.append(("trained by", "unknown: its header holds no training record (not from `toolkit train`)"))
    else:
        rows += [
            ("model", str(record.get("model", "?"))),
            ("trained by", str(record.get("command", "?"))),
            ("training", training_text(record)),
            ("made with", f"torch {record.get('torch_version', '?')}"),
        ]
    facts = {
        "file": str(path),
        "kind": "weights",
        "bytes": len(data),
        "sha256": sha256(data),
        "tensors": len(tensors),
        "values": values,
        "dtypes": dtypes,
        "training": record,
        "problems": [],
    }
    return Inspection(path, "weights", rows, facts)


def inspect_picture(path: Path) -> Inspection:
    """A picture `toolkit infer` wrote: the record it stamped into it (toolkit.core.provenance)."""
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    record = output_record(path)
    data = path.read_bytes()
    kind = "SVG" if path.suffix.lower() == ".svg" else "PNG"
    rows = [("file", f"picture ({kind}), {megabytes(len(data))}, sha256 {sha256(data)[:12]}")]
    if record is None:
        rows.append(("made by", "unknown: it carries no record of `toolkit infer`"))
    else:
        get = record.get
        weights_sha = str(get("weights_sha256", "?"))[:12]
        weights = f"{get('weights_file') or 'untrained'} (tensors sha256 {weights_sha})"
        rows += [
            ("made by", f"{get('software', '?')}, backend {get('backend', '?')}"),
            ("source", f"{get('source', '?')} ({get('width', '?')}x{get('height', '?')})"),
            ("shows", str(get("output", "?"))),
            ("model", f"{get('model', '?')}, {get('precision', '?')}, weights {weights}"),
            ("trained by", get("training_command") or "unknown"),
            (
                "settings",
                f"format {get('format', '?')}, scale {get('scale', '?')}, {tiles_text(record)}, "
                f"overlap {get('overlap', '?')}, threshold {get('threshold', '?')}"
                + (f", {get('flips')} mirrored views averaged" if get("flips", 1) > 1 else ""),
            ),
        ]
        if "calibration_sha256" in record:
            rows.append(("calibration", f"sha256 {str(record['calibration_sha256'])[:12]} (INT8 graph)"))
    facts = {
        "file": str(path),
        "kind": "picture",
        "bytes": len(data),
        "sha256": sha256(data),
        "record": record,
        "problems": [],
    }
    return Inspection(path, "picture", rows, facts)


def card_rows(card: ModelCard) -> list[Row]:
    """A model card in words: what the model is, what it takes and gives, and where it came from."""
    drawn = "line probability" if card.output_kind == "lines" else "feature maps"
    channels = (
        "gray"
        if card.input_channels == 1
        else "RGB"
        if card.input_channels == 3
        else f"{card.input_channels}-channel"
    )
    rows = [
        ("model", f"{card.model} ({card.family} family): {card.domain} in, {drawn} out"),
        ("config", json.dumps(card.config)),
        (
            "input",
            f"{card.input_name}: {channels} {card.input_layout}, "
            + (
                f"{card.input_dtype} pixels of any size; inside the graph: "
                if card.takes_pixels
                else f"height and width multiples of {card.stride}; "
            )
            + f"pixels x {scale_text(card.pixel_scale)}, then (x - {card.mean}) / {card.std}",
        ),
    ]
    if card.conditioning != "none":
        rows.append(("conditioning", f"{card.conditioning}, on each whole image before tiling"))
    for output in card.outputs:
        where = [f"stride {output.stride}"] if output.stride != 1 else []
        if output.channels is not None:
            where.append(f"channels {','.join(map(str, output.channels))}")
        rows.append(
            ("output", f"{output.name}: {output.meaning}" + (f" ({', '.join(where)})" if where else ""))
        )
    rows.append(("precision", precision_text(card)))
    if card.weights_file:
        rows.append(("weights", f"{card.weights_file} (tensors sha256 {card.weights_sha256[:12]})"))
    else:
        rows.append(("weights", f"none: untrained, initialised from seed {card.init_seed}"))
    if card.training_command:
        rows.append(("trained by", card.training_command))
    if card.training:
        rows.append(("training", training_text(card.training)))
    rows.append(
        ("made with", f"toolkit {card.toolkit_version}, torch {card.torch_version}, opset {card.opset}")
    )
    if RUNTIME_MEMORY_NOTE in card.extra:
        rows.append(("memory", runtime_memory_text(json.loads(card.extra[RUNTIME_MEMORY_NOTE]))))
    shown = PRECISION_NOTES | {RUNTIME_MEMORY_NOTE}
    rows += [("note", f"{key}: {value}") for key, value in card.extra.items() if key not in shown]
    return rows


def runtime_memory_text(record: dict) -> str:
    sides = [int(side) for side in record.get("by_side", {})]
    over = f" (the most over tiles of {min(sides)}-{max(sides)} px)" if sides else ""
    return (
        f"{record['bytes_per_pixel']:.0f} bytes per input pixel{over}, {record['measured']}, "
        f"{record['date']}: the tile plan counts {MEASURED_HEADROOM}x that"
    )


def precision_text(card: ModelCard) -> str:
    notes = card.extra
    if card.precision == "fp16":
        kept = json.loads(notes.get("fp32_nodes", "{}"))
        converter = notes.get("fp16_converter", "unknown converter")
        if not kept:
            return f"fp16 ({converter}), FP32 inputs and outputs; every other node in FP16"
        listed = "; ".join(f"{node} ({reason})" for node, reason in kept.items())
        return f"fp16 ({converter}), FP32 inputs and outputs; kept in FP32: {listed}"
    if card.precision == "int8":
        target = notes.get("int8_target", "tensorrt")
        form = (
            "TensorRT form: symmetric int8, Q/DQ at convolution inputs"
            if target == "tensorrt"
            else "ONNX Runtime CPU form: uint8 activations (TensorRT cannot build it)"
        )
        excluded = json.loads(notes.get("int8_excluded_nodes", "[]"))
        method, images = notes.get("calibration_method", "?"), notes.get("calibration_images", "?")
        feed, images_sha = notes.get("calibration_feed", "feed unknown"), notes.get("calibration_sha256", "?")
        text = (
            f"int8, {form}; {method} calibration on {images} images ({feed}, sha256 {images_sha[:12]}); "
            f"kept out of INT8: {', '.join(excluded) or 'none'}"
        )
        shuffled = json.loads(notes.get("int8_pixel_shuffle_nodes", "[]"))
        if shuffled:
            text += f"; {len(shuffled)} transposed convolutions as 1x1 convolution + pixel shuffle"
        pooled = json.loads(notes.get("int8_float_pooling_nodes", "[]"))
        if pooled:
            text += f"; max pooling in float before quantising: {', '.join(pooled)}"
        return text
    return card.precision


def training_text(record: dict[str, Any]) -> str:
    """'synthetic data, seed 0, commit 590b7a8, best epoch 6, validation line F1 0.924' ('commit 590b7a8 +
    2 changed files' where the run's tree had package files changed from its commit; '0.924 (from
    0.918)' where it started from other weights, validated on the same pages before training)."""
    parts = [
        f"{record['data']} data" if "data" in record else "",
        f"seed {record['data_seed']}" if "data_seed" in record else "",
    ]
    if record.get("git_commit"):
        commit = f"commit {str(record['git_commit'])[:7]}"
        changed = len(record.get("uncommitted") or [])  # package files the run's tree had changed
        parts.append(f"{commit} + {changed} changed files" if changed else commit)
    if "best_epoch" in record:
        parts.append(f"best epoch {record['best_epoch']}")
    line_f1 = record.get("validation", {}).get("val_line_f1")
    start = (record.get("start_validation") or {}).get("val_line_f1")  # a warm start's, same pages
    if line_f1 is not None:
        parts.append(
            f"validation line F1 {line_f1:.3f}" + (f" (from {start:.3f})" if start is not None else "")
        )
    return ", ".join(filter(None, parts)) or "no details recorded"


def value_type(value: Any) -> tuple[str, str, str]:
    """(name, type, dims) of a graph's input or output: ('image', 'float32', 'batch, 1, height, width')."""
    from onnx import helper

    tensor = value.type.tensor_type
    kind = helper.tensor_dtype_to_np_dtype(tensor.elem_type).name if tensor.elem_type else "?"
    dims = ", ".join(
        d.dim_param or str(d.dim_value) if (d.dim_param or d.dim_value) else "?" for d in tensor.shape.dim
    )
    return value.name, kind, dims


def scale_text(scale: float) -> str:
    inverse = 1 / scale
    return f"1/{round(inverse)}" if abs(inverse - round(inverse)) < 1e-6 else f"{scale:g}"


def megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{size / 1e3:.0f} kB"


def tiles_text(record: dict[str, Any]) -> str:
    """How a picture's image was cut: a fixed tile side, or a memory budget's plan."""
    if record.get("memory_mb") is not None and record.get("max_tile_pixels") is not None:
        return f"memory {record['memory_mb']} MB (tiles of at most {record['max_tile_pixels']} pixels)"
    return f"tile {record.get('tile', '?')}"
