"""The little of the CUDA runtime the TensorRT backend needs, through NVIDIA's cuda-python bindings.

Device buffers, one stream, and copies between numpy arrays and the device. cuda-python returns an
error code with every result instead of raising; `call` turns a failure into a `CudaError` that
names the call. Newer cuda-python (cuda-bindings >= 12.6) is `cuda.bindings.runtime`; the older one
JetPack 5/6 ships is `cuda.cudart`: both are accepted.

Executed here (no GPU): the import, and `device_platform`'s failure when no CUDA device or driver
exists. Not executed here: allocation, copies and streams (they need a GPU).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from toolkit.core.errors import ExitCode, MissingDependencyError, ToolkitError


class CudaError(ToolkitError):
    """CUDA failed: no device, no driver, out of memory. Like a missing package, the machine lacks it."""

    exit_code = ExitCode.MISSING_DEPENDENCY


def cudart() -> ModuleType:
    try:
        from cuda.bindings import runtime
    except ImportError:
        try:
            from cuda import cudart as runtime  # cuda-python < 12.6
        except ImportError:
            raise MissingDependencyError("cuda-python", "gpu", "the TensorRT backend") from None
    return runtime


def call(function: Any, *args: Any) -> Any:
    """`function(*args)` of cuda-python: its value, or a CudaError naming the call and the error."""
    error, *values = function(*args)
    if int(error) != 0:
        _, name = cudart().cudaGetErrorName(error)
        name = name.decode() if isinstance(name, bytes) else str(name)
        raise CudaError(f"CUDA {function.__name__} failed: {name}")
    if not values:
        return None
    return values[0] if len(values) == 1 else tuple(values)


def device_properties(device: int = 0) -> tuple[str, str]:
    """The GPU's name and compute capability ("major.minor")."""
    runtime = cudart()
    count = call(runtime.cudaGetDeviceCount)
    if device >= count:
        raise CudaError(f"CUDA device {device} does not exist ({count} found)")
    props = call(runtime.cudaGetDeviceProperties, device)
    name = props.name.decode(errors="replace") if isinstance(props.name, bytes) else str(props.name)
    return name.rstrip("\x00").strip(), f"{props.major}.{props.minor}"


class DeviceBuffer:
    """`nbytes` of device memory, freed by `free()`."""

    def __init__(self, nbytes: int) -> None:
        self.nbytes = nbytes
        self.pointer = int(call(cudart().cudaMalloc, nbytes))

    def free(self) -> None:
        if self.pointer:
            call(cudart().cudaFree, self.pointer)
            self.pointer = 0


class Stream:
    def __init__(self) -> None:
        self.handle = call(cudart().cudaStreamCreate)

    @property
    def pointer(self) -> int:
        return int(self.handle)

    def to_device(self, buffer: DeviceBuffer, array: np.ndarray) -> None:
        runtime = cudart()
        kind = runtime.cudaMemcpyKind.cudaMemcpyHostToDevice
        call(runtime.cudaMemcpyAsync, buffer.pointer, array.ctypes.data, array.nbytes, kind, self.handle)

    def to_host(self, array: np.ndarray, buffer: DeviceBuffer) -> None:
        runtime = cudart()
        kind = runtime.cudaMemcpyKind.cudaMemcpyDeviceToHost
        call(runtime.cudaMemcpyAsync, array.ctypes.data, buffer.pointer, array.nbytes, kind, self.handle)

    def synchronize(self) -> None:
        call(cudart().cudaStreamSynchronize, self.handle)

    def destroy(self) -> None:
        if self.handle is not None:
            call(cudart().cudaStreamDestroy, self.handle)
            self.handle = None
