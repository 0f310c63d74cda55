"""`toolkit triton-repo GRAPH|ENGINE... -o models/`: a Triton model repository, built and checked through
Triton's own model-config protobuf (`tritonclient.grpc.model_config_pb2`), not string templates.

    models/
      unet-light-serving/
        config.pbtxt        platform onnxruntime_onnx, inputs, outputs, batching, instances, the card
        1/model.onnx
      unet-light-fp16/
        config.pbtxt        platform tensorrt_plan, dims and max_batch_size from the engine's profile
        1/model.plan        the plan itself: our engine file without its JSON header

Each config carries the model card as the parameter `toolkit-card`, so `toolkit infer --triton` (and
any client) reads how to feed the model from the server. Not executed here: a Triton server with the
ONNX Runtime or TensorRT backend (the PyTriton wheel's server has only the Python backend); the
configs are parsed back with Triton's schema by the tests.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolkit.core.errors import InputError, MissingDependencyError, UsageError
from toolkit.core.fileio import atomic_path, refuse_overwrite
from toolkit.core.metadata import ModelCard, card_of, load_graph, refuse_external_weights
from toolkit.core.model_ref import ModelRef, resolve_model
from toolkit.engines.header import read_engine
from toolkit.runtime.triton_runner import CARD_PARAMETER

log = logging.getLogger(__name__)

PLATFORMS = {"graph": ("onnxruntime_onnx", "model.onnx"), "engine": ("tensorrt_plan", "model.plan")}
DATA_TYPES = {"float32": "TYPE_FP32", "uint8": "TYPE_UINT8", "uint16": "TYPE_UINT16"}
DEVICES = {"auto": "KIND_AUTO", "cpu": "KIND_CPU", "gpu": "KIND_GPU"}


@dataclass(frozen=True)
class RepoOptions:
    max_batch: int = 8  # for graphs; an engine's comes from its profile
    instances: int = 1
    device: str = "auto"  # auto: engines on a GPU, graphs where Triton finds one (KIND_AUTO)
    version: int = 1
    queue_delay_us: int = 100  # how long the dynamic batcher waits to fill a batch
    overwrite: bool = False

    def check(self) -> None:
        if self.device not in DEVICES:
            raise UsageError(f"--device must be one of {', '.join(DEVICES)}, not {self.device}")
        if self.max_batch < 1 or self.instances < 1 or self.version < 1 or self.queue_delay_us < 0:
            raise UsageError(
                "--max-batch, --instances and --version must be at least 1, --queue-delay 0 or more"
            )


@dataclass(frozen=True)
class RepoModel:
    name: str
    folder: Path
    config: Any  # model_config_pb2.ModelConfig


def model_config_pb2() -> Any:
    try:
        from tritonclient.grpc import model_config_pb2
    except ImportError:
        raise MissingDependencyError("tritonclient", "triton", "`toolkit triton-repo`") from None
    return model_config_pb2


def dims(card: ModelCard, height: int = -1, width: int = -1) -> tuple[list[int], list[int]]:
    """Input and output dims without the batch, in the card's layouts (-1: any size)."""
    if card.input_layout == "NHWC":
        return [height, width, card.input_channels], [height, width, 1]
    return [card.input_channels, height, width], [1, height, width]


def model_config(
    card: ModelCard,
    *,
    name: str,
    form: str,
    options: RepoOptions,
    profile: dict[str, list[int]] | None = None,
) -> Any:
    """The ModelConfig message of one model: from the card, and for an engine from its profile."""
    pb = model_config_pb2()
    if card.output_kind != "lines":
        raise InputError(
            f"{name}: Triton repositories carry line models, not feature maps ({card.output_names})"
        )
    platform, _ = PLATFORMS[form]
    max_batch, opt_batch, size = options.max_batch, None, (-1, -1)
    if profile is not None:  # an engine takes what its profile allows, nothing more
        hw = slice(1, 3) if card.input_layout == "NHWC" else slice(2, 4)
        low, high = profile["min"][hw], profile["max"][hw]
        size = tuple(lo if lo == hi else -1 for lo, hi in zip(low, high))
        max_batch, opt_batch = profile["max"][0], profile["opt"][0]
    input_dims, output_dims = dims(card, *size)
    config = pb.ModelConfig(name=name, platform=platform, max_batch_size=max_batch)
    config.input.add(
        name=card.input_name, data_type=getattr(pb, DATA_TYPES[card.input_dtype]), dims=input_dims
    )
    for output in card.output_names:
        config.output.add(name=output, data_type=pb.TYPE_FP32, dims=output_dims)
    config.dynamic_batching.max_queue_delay_microseconds = options.queue_delay_us
    if opt_batch and opt_batch > 1:
        config.dynamic_batching.preferred_batch_size.append(opt_batch)
    kind = "gpu" if form == "engine" else options.device
    if form == "engine" and options.device == "cpu":
        raise UsageError(f"{name}: a TensorRT engine runs on a GPU, not with --device cpu")
    config.instance_group.add(count=options.instances, kind=getattr(pb.ModelInstanceGroup, DEVICES[kind]))
    config.parameters[CARD_PARAMETER].string_value = json.dumps(card.to_props())
    return config


def config_text(config: Any) -> str:
    """config.pbtxt, checked: it parses back, with Triton's schema, into the same message."""
    from google.protobuf import text_format

    text = text_format.MessageToString(config)
    parsed = model_config_pb2().ModelConfig()
    text_format.Parse(text, parsed)
    if parsed != config:
        raise InputError(f"{config.name}: config.pbtxt does not read back as written")
    return text


def artifact(ref: ModelRef) -> tuple[ModelCard, bytes, dict[str, list[int]] | None]:
    """The card, the bytes Triton loads, and (for an engine) its profile."""
    if ref.is_engine:
        header, plan = read_engine(ref.path)
        return header.model_card, plan, header.profile
    model = load_graph(ref.path)
    refuse_external_weights(model, ref.path)
    return card_of(model, ref.path), ref.path.read_bytes(), None


def write_repository(models: list[str], out: Path, options: RepoOptions = RepoOptions()) -> list[RepoModel]:
    """One model folder per graph or engine under `out`: config.pbtxt and VERSION/model.onnx|plan.
    Refuses an existing version folder unless `options.overwrite`; each file is written atomically."""
    options.check()
    refs = [resolve_model(given, accepts=("graph", "engine")) for given in models]
    names = [ref.path.stem for ref in refs]
    if len(set(names)) != len(names):
        raise UsageError(f"two of these have one name in a repository: {', '.join(sorted(names))}")
    written = []
    for ref, name in zip(refs, names):
        card, payload, profile = artifact(ref)
        form = "engine" if ref.is_engine else "graph"
        config = model_config(card, name=name, form=form, options=options, profile=profile)
        folder = out / name
        model_file = folder / str(options.version) / PLATFORMS[form][1]
        refuse_overwrite(model_file, options.overwrite)
        text = config_text(config)
        model_file.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(model_file, options.overwrite) as tmp:
            tmp.write_bytes(payload)
        with atomic_path(folder / "config.pbtxt", overwrite=True) as tmp:
            tmp.write_text(text)
        log.info("%s: %s, version %d", folder, config.platform, options.version)
        written.append(RepoModel(name, folder, config))
    return written
