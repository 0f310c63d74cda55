"""`toolkit build-engine`: an ONNX graph from this toolkit -> a TensorRT plan and its header.

The graph carries the precision (docs/ARCHITECTURE.md, decision 1): an FP16 graph from `toolkit
convert`, a Q/DQ INT8 graph from `toolkit calibrate`, or the FP32 export. How TensorRT is told to
keep it depends on its version:

- TensorRT >= 10: a strongly typed network (11.x has nothing else): every tensor keeps the type the
  graph gives it, so the engine computes exactly what `toolkit verify` checked on ONNX Runtime.
- TensorRT 8.5/8.6 (JetPack 5/6): weak typing. The FP16 or INT8 builder flag enables the lower
  precision, and every layer is pinned to the type its outputs have in the graph (with
  OBEY_PRECISION_CONSTRAINTS), so the FP32 keep-list of the FP16 graph stays FP32.

NOT EXECUTED HERE: TensorRT's builder cannot be installed on the machines this repository is
developed and tested on (its libraries come only from NVIDIA's index). Everything before
`import_builder()` (options, profile, precision checks, header) is tested; the calls into TensorRT
are written against its documented Python API for 8.5/8.6, 10.x and 11.x and have not been run.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

from toolkit.core.errors import InputError, ToolkitError
from toolkit.core.fileio import atomic_path, refuse_overwrite
from toolkit.core.metadata import ModelCard
from toolkit.engines.header import (
    HARDWARE_LEVELS,
    EngineHeader,
    sha256_of,
    sidecar_path,
    version_tuple,
    write_engine,
)
from toolkit.engines.trt import import_builder, platform_of

log = logging.getLogger(__name__)

# (phase, step, steps) of TensorRT's build phases, for a progress display (TensorRT >= 10)
BuildProgress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Profile:
    """The input shapes an engine accepts, as (batch, height, width); channels come from the model.

    The defaults fit `toolkit infer`'s defaults: tiles of 512 in batches of 4, and any image up to
    512 px a side whole at batch 1. An engine's runner shrinks infer's tiles to fit `max`.
    """

    min: tuple[int, int, int] = (1, 32, 32)
    opt: tuple[int, int, int] = (4, 512, 512)
    max: tuple[int, int, int] = (4, 512, 512)

    def check(self, card: ModelCard) -> None:
        # a serving graph pads and crops itself: any size; a classic graph takes multiples of the stride
        stride = 1 if card.takes_pixels else card.stride
        for name, shape in (("min", self.min), ("opt", self.opt), ("max", self.max)):
            if any(size < 1 for size in shape) or shape[1] % stride or shape[2] % stride:
                raise InputError(
                    f"--{name}-shape {format_shape(shape)}: height and width must be positive multiples "
                    f"of the model's stride {stride}"
                )
        if not all(a <= b <= c for a, b, c in zip(self.min, self.opt, self.max)):
            raise InputError(
                f"shapes must grow from --min-shape to --opt-shape to --max-shape, got "
                f"{format_shape(self.min)}, {format_shape(self.opt)}, {format_shape(self.max)}"
            )

    def input_shapes(self, card: ModelCard) -> dict[str, list[int]]:
        """ "min"/"opt"/"max" -> the input's shape in the card's layout (NCHW, or NHWC pixels)."""
        channels = card.input_channels
        return {
            name: [b, h, w, channels] if card.input_layout == "NHWC" else [b, channels, h, w]
            for name, (b, h, w) in zip(("min", "opt", "max"), self.shapes)
        }

    @property
    def shapes(self) -> tuple[tuple[int, int, int], ...]:
        return self.min, self.opt, self.max


def parse_shape(text: str) -> tuple[int, int, int]:
    """'4x512x512' (batch x height x width) -> (4, 512, 512)."""
    match = re.fullmatch(r"\s*(\d+)\s*x\s*(\d+)\s*x\s*(\d+)\s*", text)
    if not match:
        raise InputError(f"shape '{text}': expected BATCHxHEIGHTxWIDTH, e.g. 4x512x512")
    batch, height, width = (int(group) for group in match.groups())
    return batch, height, width


def format_shape(shape: tuple[int, int, int]) -> str:
    return "x".join(str(size) for size in shape)


@dataclass(frozen=True)
class BuildOptions:
    profile: Profile = Profile()
    workspace_mb: int | None = None  # None = TensorRT's default (the device's memory)
    timing_cache: Path | None = None  # read if present, written after the build
    dla_core: int | None = None  # Jetson's deep-learning accelerator, with GPU fallback
    version_compatible: bool = False  # runs on later TensorRT versions and the lean runtime
    hardware_compatibility: str = "none"  # a key of HARDWARE_LEVELS
    optimisation_level: int | None = None  # TensorRT's builder optimisation level 0-5 (default 3)

    def check(self) -> None:
        if self.hardware_compatibility not in HARDWARE_LEVELS:
            raise InputError(
                f"--hardware-compatibility must be one of {', '.join(HARDWARE_LEVELS)}, "
                f"not {self.hardware_compatibility}"
            )
        if self.optimisation_level is not None and not 0 <= self.optimisation_level <= 5:
            raise InputError(f"--optimisation-level must be 0 to 5, not {self.optimisation_level}")
        if self.workspace_mb is not None and self.workspace_mb < 1:
            raise InputError(f"--workspace must be at least 1 MB, not {self.workspace_mb}")
        if self.dla_core is not None and self.hardware_compatibility != "none":
            raise InputError(
                "DLA engines cannot be hardware-compatible (TensorRT builds DLA code per device)"
            )


class BuildFailed(ToolkitError):
    """TensorRT refused the graph or found no way to build it (its log says why)."""


def check_request(card: ModelCard, onnx_path: Path, precision: str | None, options: BuildOptions) -> None:
    """Everything about a build request that can be refused before TensorRT is imported."""
    options.check()
    options.profile.check(card)
    if card.input_dtype == "uint16":
        raise InputError(
            f"{onnx_path}: a serving graph of uint16 pixels, and TensorRT has no 16-bit unsigned tensors; "
            "wrap its classic graph with `toolkit serving GRAPH --pixels uint8` for an engine"
        )
    if precision is not None and precision != card.precision:
        make = {
            "fp16": f"toolkit convert {onnx_path} --to fp16 --images calibration/",
            "int8": f"toolkit calibrate {onnx_path} --images calibration/",
            "fp32": f"toolkit export {card.model}",
        }[precision]
        raise InputError(
            f"{onnx_path}: is an {card.precision} graph, not {precision}; the graph carries the precision "
            f"(TensorRT 11 has no precision flags): make the {precision} graph with `{make}` and build that"
        )
    if card.extra.get("int8_target", "tensorrt") != "tensorrt":
        raise InputError(
            f"{onnx_path}: is ONNX Runtime's CPU INT8 form (uint8 activations), which TensorRT cannot "
            f"build; make TensorRT's form with `toolkit calibrate export/{card.model}.onnx --target tensorrt`"
        )
    if options.dla_core is not None and card.precision == "fp32":
        raise InputError(f"{onnx_path}: DLA runs FP16 or INT8 only; build the fp16 or int8 graph for DLA")


def default_engine_path(onnx_path: Path) -> Path:
    """Where `toolkit build-engine` writes by default: engines/NAME.engine."""
    return Path("engines") / f"{onnx_path.stem}.engine"


def build_engine(
    onnx_path: Path,
    engine_path: Path,
    *,
    options: BuildOptions,
    command: str,
    overwrite: bool = False,
    precision: str | None = None,
    progress: BuildProgress | None = None,
) -> EngineHeader:
    """Build `onnx_path` into `engine_path` + its header; `command` is recorded as the way to rebuild."""
    from toolkit.core.metadata import read_card

    card = read_card(onnx_path)
    check_request(card, onnx_path, precision, options)
    refuse_overwrite(engine_path, overwrite)
    refuse_overwrite(sidecar_path(engine_path), overwrite)
    trt = import_builder()
    here = platform_of(trt)
    major = version_tuple(trt.__version__)[0]
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(network_flags(trt, major))
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise BuildFailed(f"{onnx_path}: TensorRT's ONNX parser refused it: {errors}")
    config = builder.create_builder_config()
    shapes = options.profile.input_shapes(card)
    profile = builder.create_optimization_profile()
    profile.set_shape(card.input_name, shapes["min"], shapes["opt"], shapes["max"])
    config.add_optimization_profile(profile)
    if major < 10:
        pin_graph_precision(trt, network, config, card.precision)
    configure(trt, builder, config, options)
    if progress is not None and hasattr(trt, "IProgressMonitor"):
        config.progress_monitor = progress_monitor(trt, progress)
    cache = load_timing_cache(config, options.timing_cache)
    log.info("building %s with %s (minutes for a large model)", onnx_path, here.describe())
    plan = builder.build_serialized_network(network, config)
    if plan is None:
        raise BuildFailed(f"{onnx_path}: TensorRT could not build an engine (its log above says why)")
    plan_bytes = bytes(memoryview(plan))
    if options.timing_cache is not None:
        with atomic_path(options.timing_cache, overwrite=True) as tmp:
            tmp.write_bytes(bytes(memoryview(cache.serialize())))
    header = EngineHeader(
        card=card.to_props(),
        built_on=here,
        precision=card.precision,
        profile=shapes,
        onnx_file=str(onnx_path),
        onnx_sha256=sha256_of(onnx_path.read_bytes()),
        engine_sha256=sha256_of(plan_bytes),
        build_command=command,
        version_compatible=options.version_compatible,
        hardware_compatibility=options.hardware_compatibility,
        dla_core=options.dla_core,
        built_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    write_engine(engine_path, plan_bytes, header, overwrite)
    return header


def network_flags(trt: ModuleType, major: int) -> int:
    creation = trt.NetworkDefinitionCreationFlag
    if major < 10:
        return 1 << int(creation.EXPLICIT_BATCH)  # required by the ONNX parser before 10.0
    if hasattr(creation, "STRONGLY_TYPED"):  # 10.x; 11.x networks are always strongly typed
        return 1 << int(creation.STRONGLY_TYPED)
    return 0


def pin_graph_precision(trt: ModuleType, network: Any, config: Any, precision: str) -> None:
    """TensorRT 8.x: enable the graph's precision; hold FP16 graphs' layers to their graph types.

    An explicitly quantised (Q/DQ) graph needs only the INT8 flag: its Q/DQ nodes say what runs in
    INT8 and the rest stays FP32. An FP16 graph has FP32 layers on purpose (the measured keep-list);
    with plain weak typing TensorRT could run them in FP16 anyway, so each layer whose inputs and
    outputs share one floating type is pinned to it. Casts (input and output types differ) are left.
    """
    if precision == "int8":
        config.set_flag(trt.BuilderFlag.INT8)
    if precision != "fp16":
        return
    config.set_flag(trt.BuilderFlag.FP16)
    config.set_flag(trt.BuilderFlag.OBEY_PRECISION_CONSTRAINTS)
    floating = {trt.DataType.FLOAT, trt.DataType.HALF}
    for index in range(network.num_layers):
        layer = network.get_layer(index)
        outputs = {layer.get_output(i).dtype for i in range(layer.num_outputs)}
        inputs = {layer.get_input(i).dtype for i in range(layer.num_inputs) if layer.get_input(i) is not None}
        if len(outputs) == 1 and outputs <= floating and inputs & floating <= outputs:
            layer.precision = outputs.pop()
            for i in range(layer.num_outputs):
                layer.set_output_type(i, layer.precision)


def configure(trt: ModuleType, builder: Any, config: Any, options: BuildOptions) -> None:
    if options.workspace_mb is not None:
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, options.workspace_mb << 20)
    if options.optimisation_level is not None:
        config.builder_optimization_level = options.optimisation_level
    if options.version_compatible:
        if not hasattr(trt.BuilderFlag, "VERSION_COMPATIBLE"):
            raise BuildFailed(f"TensorRT {trt.__version__} cannot build version-compatible engines (8.6+)")
        config.set_flag(trt.BuilderFlag.VERSION_COMPATIBLE)
    if options.hardware_compatibility != "none":
        level = getattr(trt.HardwareCompatibilityLevel, HARDWARE_LEVELS[options.hardware_compatibility])
        config.hardware_compatibility_level = level
    if options.dla_core is not None:
        if options.dla_core >= builder.num_DLA_cores:
            raise InputError(
                f"--dla-core {options.dla_core}: this machine has {builder.num_DLA_cores} DLA cores"
            )
        config.default_device_type = trt.DeviceType.DLA
        config.DLA_core = options.dla_core
        config.set_flag(trt.BuilderFlag.GPU_FALLBACK)  # layers DLA cannot run go to the GPU


def load_timing_cache(config: Any, path: Path | None) -> Any:
    """TensorRT's record of kernel timings: a rebuild that finds it skips most of the measuring."""
    data = path.read_bytes() if path is not None and path.is_file() else b""
    cache = config.create_timing_cache(data)
    if not config.set_timing_cache(cache, ignore_mismatch=False):
        raise BuildFailed(f"{path}: timing cache from another TensorRT or GPU; delete it or pass another")
    return cache


def progress_monitor(trt: ModuleType, progress: BuildProgress) -> Any:
    """A TensorRT IProgressMonitor (TensorRT >= 10) that reports each step of each build phase."""

    class Monitor(trt.IProgressMonitor):
        def __init__(self) -> None:
            trt.IProgressMonitor.__init__(self)
            self.steps: dict[str, int] = {}

        def phase_start(self, phase_name: str, parent_phase: str | None, num_steps: int) -> None:
            self.steps[phase_name] = num_steps
            progress(phase_name, 0, num_steps)

        def step_complete(self, phase_name: str, step: int) -> bool:
            progress(phase_name, step + 1, self.steps.get(phase_name, 0))
            return True  # False would cancel the build

        def phase_finish(self, phase_name: str) -> None:
            steps = self.steps.pop(phase_name, 0)
            progress(phase_name, steps, steps)

    return Monitor()
