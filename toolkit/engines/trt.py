"""Finding TensorRT: the full package for building, the full or the lean runtime for running.

The full `tensorrt` package (NVIDIA's index, or JetPack's python3-libnvinfer) builds and runs
engines. The lean runtime (`tensorrt_lean`, or `tensorrt_lean_bindings` from the
tensorrt-lean-cu13-* wheels on PyPI) only runs version-compatible plans, and is what this repository's
tests import on a machine without a GPU to check the runtime calls we make.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from toolkit.core.errors import MissingDependencyError
from toolkit.engines.cuda import device_properties
from toolkit.engines.header import Platform

FULL = "tensorrt"
LEAN = ("tensorrt_lean", "tensorrt_lean_bindings")
INSTALL = (
    "install TensorRT from NVIDIA (`pip install tensorrt --extra-index-url https://pypi.nvidia.com`, "
    "or JetPack's python3-libnvinfer)"
)


def import_runtime() -> tuple[ModuleType, bool]:
    """TensorRT's Python module for running plans, and whether it is the lean runtime."""
    for name in (FULL, *LEAN):
        try:
            return importlib.import_module(name), name != FULL
        except ImportError:
            continue
    raise MissingDependencyError(FULL, "", "the TensorRT backend", INSTALL)


def import_builder() -> ModuleType:
    try:
        trt = importlib.import_module(FULL)
    except ImportError:
        raise MissingDependencyError(FULL, "", "toolkit build-engine", INSTALL) from None
    if not hasattr(trt, "Builder"):
        raise MissingDependencyError(
            FULL, "", "toolkit build-engine (the lean runtime cannot build)", INSTALL
        )
    return trt


def platform_of(trt: ModuleType, lean: bool = False, device: int | None = 0) -> Platform:
    """This machine as engine compatibility sees it; raises CudaError without a usable GPU.

    `device=None` leaves the GPU out (no CUDA call), for checks of the TensorRT version alone.
    """
    if device is None:
        return Platform(trt.__version__, "", "", lean)
    gpu_name, capability = device_properties(device)
    return Platform(trt.__version__, gpu_name, capability, lean)
