"""ONNX Runtime backend: CPU here; the CUDA and TensorRT execution providers where installed."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from toolkit.errors import InputError, MissingDependencyError
from toolkit.metadata import ModelCard
from toolkit.runtime.base import Runner


class OnnxRuntimeRunner(Runner):
    name = "onnxruntime"

    def __init__(self, path: Path, providers: list[str] | None = None, threads: int = 0) -> None:
        super().__init__()
        self.path = self.graph = path
        self.providers = providers or ["CPUExecutionProvider"]
        self.threads = threads  # 0 = ONNX Runtime's choice (one per physical core)
        self._session = None

    def activate(self) -> ModelCard:
        try:
            import onnxruntime as ort
        except ImportError:
            raise MissingDependencyError("onnxruntime", "cpu", "the ONNX Runtime backend") from None
        if not self.path.is_file():
            raise InputError(f"{self.path}: ONNX file not found")
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.log_severity_level = 3  # errors only: its warnings are about graph fusion internals
        try:
            self._session = ort.InferenceSession(str(self.path), options, providers=self.providers)
        except Exception as error:  # ORT raises its own pybind classes (InvalidProtobuf, Fail, ...)
            detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise InputError(f"{self.path}: not a loadable ONNX model ({detail})") from error
        props = self._session.get_modelmeta().custom_metadata_map
        return ModelCard.from_props(props, self.path)

    def deactivate(self) -> None:
        self._session = None

    def infer_batch(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        names = self.card.output_names
        outputs = self._session.run(names, {self.card.input_name: batch})
        return dict(zip(names, outputs))
