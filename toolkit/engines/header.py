"""The engine file format: a plain TensorRT plan, and beside it a JSON header that describes it.

`unet-fp16.engine` stays a plan that trtexec, Polygraphy or Triton load as is; `unet-fp16.engine.json`
records what TensorRT cannot tell us safely before deserialising (a mismatched plan is undefined
behaviour or an opaque "magic tag" error): the TensorRT version and GPU it was built for, the
optimisation profile, the precision, the sha256 of the ONNX graph it came from and of the plan itself
(so a header never vouches for another plan), the model card and the command that rebuilds it.

Everything here is pure Python and runs on any machine; `compatibility_problems` is the rule the
TensorRT backend applies before it hands the plan to TensorRT.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toolkit.core.errors import InputError
from toolkit.core.fileio import atomic_path, refuse_overwrite
from toolkit.core.metadata import ModelCard

log = logging.getLogger(__name__)

FORMAT = "line-art-toolkit engine 1"
SIDECAR_SUFFIX = ".json"
# TensorRT's hardware compatibility levels, as `toolkit build-engine --hardware-compatibility` names them.
HARDWARE_LEVELS = {"none": "NONE", "ampere+": "AMPERE_PLUS", "same-cc": "SAME_COMPUTE_CAPABILITY"}


class EngineMismatchError(InputError):
    """An engine built for another TensorRT or GPU, or a plan that is not the one its header describes."""


@dataclass(frozen=True)
class Platform:
    """Where an engine is built or run: what TensorRT's compatibility rules depend on."""

    tensorrt_version: str  # e.g. "10.3.0.30"
    gpu_name: str  # e.g. "NVIDIA H100 80GB HBM3", "Orin"
    compute_capability: str  # "major.minor", e.g. "9.0"
    lean_runtime: bool = False  # the lean runtime runs version-compatible plans only

    def describe(self) -> str:
        if not self.compute_capability:  # the GPU is not known yet
            return f"TensorRT {self.tensorrt_version}"
        return f"TensorRT {self.tensorrt_version} on {self.gpu_name} (compute {self.compute_capability})"


@dataclass(frozen=True)
class EngineHeader:
    card: dict[str, str]  # the ONNX graph's model card (ModelCard.to_props)
    built_on: Platform
    precision: str  # the graph's precision: fp32, fp16 or int8 (the graph carries it)
    profile: dict[str, list[int]]  # "min"/"opt"/"max" -> input shape, in the card's input layout
    onnx_file: str
    onnx_sha256: str
    engine_sha256: str
    build_command: str  # exactly what rebuilds it
    version_compatible: bool = False
    hardware_compatibility: str = "none"  # a key of HARDWARE_LEVELS
    dla_core: int | None = None
    built_at: str = ""
    format: str = FORMAT
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def model_card(self) -> ModelCard:
        return ModelCard.from_props(self.card, self.onnx_file)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str | bytes, source: Path) -> EngineHeader:
        try:
            values = json.loads(text)  # bytes: UTF-8 (a UnicodeDecodeError is a ValueError)
            if values.get("format") != FORMAT:
                raise ValueError(f"format is {values.get('format')!r}, expected {FORMAT!r}")
            values["built_on"] = Platform(**values["built_on"])
            return cls(**values)
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            raise InputError(f"{source}: not a toolkit engine header ({error})") from error


def sidecar_path(engine_path: Path) -> Path:
    return engine_path.with_name(engine_path.name + SIDECAR_SUFFIX)


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_engine(engine_path: Path, plan: bytes, header: EngineHeader, overwrite: bool = False) -> None:
    """The plan and its header, both or neither: each is written to a temporary file and renamed."""
    if header.engine_sha256 != sha256_of(plan):
        raise ValueError("the header's engine_sha256 is not the plan's")  # a bug, not a user error
    sidecar = sidecar_path(engine_path)
    refuse_overwrite(engine_path, overwrite)
    refuse_overwrite(sidecar, overwrite)
    with atomic_path(engine_path, overwrite) as plan_tmp, atomic_path(sidecar, overwrite) as header_tmp:
        plan_tmp.write_bytes(plan)
        header_tmp.write_text(header.to_json() + "\n")


def read_engine(engine_path: Path) -> tuple[EngineHeader, bytes]:
    """The header and the plan bytes, refused when the plan is not the one the header describes."""
    sidecar = sidecar_path(engine_path)
    if not engine_path.is_file():
        raise InputError(f"{engine_path}: engine file not found")
    if not sidecar.is_file():
        raise InputError(
            f"{engine_path}: has no header {sidecar.name} beside it, so its TensorRT version, GPU and model "
            "are unknown; build engines with `toolkit build-engine` (it writes both)"
        )
    header = EngineHeader.from_json(sidecar.read_bytes(), sidecar)
    plan = engine_path.read_bytes()
    if sha256_of(plan) != header.engine_sha256:
        raise EngineMismatchError(
            f"{engine_path}: is not the plan {sidecar.name} describes (sha256 {sha256_of(plan)[:12]}, "
            f"header says {header.engine_sha256[:12]}); rebuild it: {rebuild_command(header)}"
        )
    return header, plan


def rebuild_command(header: EngineHeader) -> str:
    command = header.build_command
    return command if "--overwrite" in command.split() else f"{command} --overwrite"


def version_tuple(version: str) -> tuple[int, ...]:
    """'10.3.0.30' -> (10, 3, 0): major, minor, patch (the build number never changes compatibility)."""
    parts = []
    for part in version.split(".")[:3]:
        digits = "".join(c for c in part if c.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def compatibility_problems(header: EngineHeader, here: Platform) -> list[str]:
    """Why the plan in `header` cannot run on `here`, per TensorRT's engine compatibility rules.

    - Version: a plan runs only on the TensorRT that built it, unless built version-compatible
      (TensorRT >= 8.6), which runs on that version and later ones; the lean runtime runs nothing else.
    - Hardware: a plan runs only on the compute capability it was built for, unless built with a
      hardware compatibility level: `ampere+` runs on any compute capability >= 8.0.
    A `here` without a compute capability is checked for the version only (before a GPU is queried).
    """
    built = header.built_on
    problems = []
    built_version, run_version = version_tuple(built.tensorrt_version), version_tuple(here.tensorrt_version)
    if header.version_compatible:
        if run_version < built_version:
            problems.append(
                "a version-compatible plan runs only on the TensorRT that built it or a later one"
            )
    else:
        if here.lean_runtime:
            problems.append("the lean runtime only runs plans built with --version-compatible")
        elif run_version != built_version:
            problems.append("a plan runs only on the TensorRT version that built it")
    if not here.compute_capability:
        return problems
    if header.hardware_compatibility == "ampere+":
        if version_tuple(here.compute_capability) < (8, 0):
            problems.append("an ampere+ plan needs compute capability 8.0 or higher")
    elif here.compute_capability != built.compute_capability:
        problems.append("a plan runs only on GPUs of the compute capability it was built for")
    if not problems and here.gpu_name != built.gpu_name:
        log.warning(
            "engine built on %s, running on %s: same compute capability, but its timings were "
            "measured on the other GPU",
            built.gpu_name,
            here.gpu_name,
        )
    return problems


def check_compatible(engine_path: Path, header: EngineHeader, here: Platform) -> None:
    problems = compatibility_problems(header, here)
    if problems:
        raise EngineMismatchError(
            f"{engine_path}: built for {header.built_on.describe()}, this machine has {here.describe()} "
            f"({'; '.join(problems)}); rebuild it here: {rebuild_command(header)}"
        )
