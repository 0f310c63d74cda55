"""PyTorch -> ONNX: dynamic batch/height/width, checked, simplified where that helps, self-describing.

We use torch's dynamo exporter (`torch.onnx.export(dynamo=True)`, the default since torch 2.9; the
TorchScript exporter is deprecated). It translates at opset 18 and converts down to the requested
opset; 17 is our default because it is the newest that TensorRT 8.5/8.6 on JetPack 5/6 parses.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import onnx
import torch

from toolkit.core.errors import InputError
from toolkit.core.fileio import refuse_overwrite
from toolkit.core.metadata import INPUT_NAME, ModelCard
from toolkit.export.graph_file import save_graph
from toolkit.models.build import LoadedModel

log = logging.getLogger(__name__)

DEFAULT_OPSET = 17
MIN_OPSET = 13  # per-channel Q/DQ, which the INT8 graph needs
# The traced example: batch 2 and unequal sides keep torch.export from specialising any of them.
EXAMPLE_BATCH, EXAMPLE_SIZE = 2, (96, 128)
DIM_NAMES = ("batch", "height", "width")


@dataclass
class ExportResult:
    path: Path
    card: ModelCard
    nodes_exported: int
    nodes_simplified: int  # after onnxslim; the smaller graph is the one written
    simplified: bool
    seconds: float


def export_path(model: str, *, features: bool = False, in_channels: int | None = None) -> Path:
    """Where `toolkit export` writes a model by default: export/NAME[-features][-Nch].onnx."""
    suffix = ("-features" if features else "") + (f"-{in_channels}ch" if in_channels is not None else "")
    return Path("export") / f"{model}{suffix}.onnx"


def export_model(
    model: str,
    output: Path | None = None,
    *,
    weights: Path | None = None,
    features: list[str] | None = None,
    in_channels: int | None = None,
    opset: int = DEFAULT_OPSET,
    simplify: bool = True,
    seed: int = 0,
    untrained: bool = False,
    overwrite: bool = False,
) -> ExportResult:
    """`toolkit export`: the registry model `model` with `weights` (default: the shipped ones, unless
    `untrained`), or its feature maps (`features`, e.g. ['conv1:3,21', 'layer1']), as an ONNX graph."""
    from toolkit.models.build import load_model, parse_feature_selection
    from toolkit.models.registry import get_spec, shipped_file

    spec = get_spec(model, in_channels)
    if weights is None and not untrained:
        weights = shipped_file(spec, ".safetensors")
    if weights is None:
        log.warning("exporting '%s' untrained (seed %d): no weights given and none shipped", model, seed)
    selection = parse_feature_selection(features) if features else None
    output = output or export_path(model, features=bool(selection), in_channels=in_channels)
    refuse_overwrite(output, overwrite)  # before minutes of tracing, not after
    loaded = load_model(spec, weights, seed=seed, features=selection)
    return export_onnx(loaded, output, opset=opset, simplify=simplify, overwrite=overwrite)


def export_onnx(
    loaded: LoadedModel,
    path: Path,
    *,
    opset: int = DEFAULT_OPSET,
    simplify: bool = True,
    overwrite: bool = False,
) -> ExportResult:
    if not MIN_OPSET <= opset <= onnx.defs.onnx_opset_version():
        raise InputError(
            f"opset {opset} is not supported: choose {MIN_OPSET}-{onnx.defs.onnx_opset_version()}"
        )
    refuse_overwrite(path, overwrite)  # before the slow part
    start = time.perf_counter()
    spec = loaded.spec
    card = loaded.card(opset)
    model = trace_to_onnx(loaded.module, spec.in_channels, spec.stride, card.output_names, opset)
    nodes_exported = len(model.graph.node)
    simplified = False
    if simplify:
        slim = _simplify(model)
        if slim is not None and len(slim.graph.node) < nodes_exported:
            model, simplified = slim, True
    nodes = len(model.graph.node)
    log.info("%s: %d nodes as exported, %d after onnxslim", path.name, nodes_exported, nodes)

    save_graph(model, card, path, overwrite=overwrite)
    return ExportResult(path, card, nodes_exported, nodes, simplified, time.perf_counter() - start)


def trace_to_onnx(
    module: torch.nn.Module, in_channels: int, stride: int, output_names: list[str], opset: int
) -> onnx.ModelProto:
    height, width = (stride * (size // stride) for size in EXAMPLE_SIZE)
    example = torch.rand(EXAMPLE_BATCH, in_channels, height, width)
    dynamic = torch.export.Dim.DYNAMIC
    # The exporter and its optimiser log progress and harmless notes (missing torchvision ops, the
    # opset conversion) at INFO/WARNING; the one line that matters is ours.
    with quiet_loggers("torch.onnx", "onnxscript", "onnx_ir"), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.export's own pytree deprecations
        program = torch.onnx.export(
            module.eval(),
            (example,),
            input_names=[INPUT_NAME],
            output_names=output_names,
            opset_version=opset,
            dynamic_shapes=({0: dynamic, 2: dynamic, 3: dynamic},),
            dynamo=True,
            verbose=False,
        )
    model = program.model_proto
    version = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    if version != opset:
        raise InputError(f"the exporter could not convert the graph to opset {opset} (it is at {version})")
    _name_dynamic_dims(model)
    return model


@contextlib.contextmanager
def quiet_loggers(*names: str) -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def _name_dynamic_dims(model: onnx.ModelProto) -> None:
    """Rename the exporter's symbols (s77, s53, ...) to batch/height/width in inputs and outputs."""
    dims = model.graph.input[0].type.tensor_type.shape.dim  # (N, C, H, W)
    symbols = {dims[axis].dim_param: name for axis, name in zip((0, 2, 3), DIM_NAMES)}
    pattern = re.compile(r"\b(" + "|".join(re.escape(s) for s in symbols) + r")\b")
    for value in [*model.graph.input, *model.graph.output]:
        for dim in value.type.tensor_type.shape.dim:
            if dim.dim_param:
                dim.dim_param = pattern.sub(lambda m: symbols[m.group(1)], dim.dim_param)


def _simplify(model: onnx.ModelProto) -> onnx.ModelProto | None:
    try:
        import onnxslim
    except ImportError:
        log.info("onnxslim is not installed: graph left as exported")
        return None
    return onnxslim.slim(model)
