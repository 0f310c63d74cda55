"""Inference without torch: one runner contract over every backend, and the image pipeline.

Backends live in their own modules and import their library only when activated:
`toolkit.runtime.onnxruntime_runner.OnnxRuntimeRunner` (onnxruntime),
`toolkit.runtime.tensorrt_runner.TensorRTRunner` (TensorRT engines from `toolkit build-engine`) and
`toolkit.runtime.torch_runner.TorchRunner` (PyTorch, the reference).
"""

from toolkit.imaging.model_input import pad_to_stride, to_model_input
from toolkit.runtime.base import Runner
from toolkit.runtime.pipeline import predict

__all__ = ["Runner", "pad_to_stride", "predict", "to_model_input"]
