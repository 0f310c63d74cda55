"""Choosing a backend for an exported graph by name, and `auto`: the fastest one this machine has.

TensorRT engines join this table with the engine-building issue; until then `auto` picks among
ONNX Runtime's execution providers (TensorRT, CUDA, CPU). The PyTorch backend rebuilds the model
the graph was exported from (it needs the `train` extra) and is there as the reference.
"""

from __future__ import annotations

from pathlib import Path

from toolkit.errors import InputError, MissingDependencyError
from toolkit.runtime.base import Runner

ONNXRUNTIME_PROVIDERS = {
    "onnxruntime-tensorrt": ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"],
    "onnxruntime-cuda": ["CUDAExecutionProvider", "CPUExecutionProvider"],
    "onnxruntime": ["CPUExecutionProvider"],
}
BACKENDS = ("auto", *ONNXRUNTIME_PROVIDERS, "torch")


def available_providers() -> list[str]:
    try:
        import onnxruntime
    except ImportError:
        return []
    return onnxruntime.get_available_providers()


def pick_auto() -> str:
    """The first ONNX Runtime flavour whose leading provider is installed and usable here."""
    available = set(available_providers())
    for name, providers in ONNXRUNTIME_PROVIDERS.items():
        if providers[0] in available:
            return name
    raise MissingDependencyError("onnxruntime", "cpu", "`--backend auto`")


def make_runner(onnx_path: Path, backend: str) -> tuple[Runner, str]:
    """A runner for `onnx_path` on `backend`, and the backend actually chosen (for `auto`)."""
    if backend not in BACKENDS:
        raise InputError(f"--backend must be one of {', '.join(BACKENDS)}, not {backend}")
    chosen = pick_auto() if backend == "auto" else backend
    if chosen == "torch":
        from toolkit.export.onnx_export import read_card
        from toolkit.runtime.torch_runner import TorchRunner
        from toolkit.verify import reference_model

        card = read_card(onnx_path)
        if card.precision != "fp32":
            raise InputError(
                f"{onnx_path}: the torch backend runs the FP32 model, this graph is {card.precision}"
            )
        return TorchRunner(reference_model(card, onnx_path, None), card), chosen
    providers = ONNXRUNTIME_PROVIDERS[chosen]
    if available_providers() and providers[0] not in available_providers():
        raise InputError(
            f"--backend {chosen}: this onnxruntime has no {providers[0]} "
            f"(it has {', '.join(available_providers())}; `pip install 'line-art-toolkit[gpu]'` brings CUDA)"
        )
    from toolkit.runtime.onnxruntime_runner import OnnxRuntimeRunner

    return OnnxRuntimeRunner(onnx_path, providers), chosen
