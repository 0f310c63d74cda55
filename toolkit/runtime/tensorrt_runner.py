"""TensorRT backend: a plan from `toolkit build-engine`, run with TensorRT's name-based I/O API (>= 8.5).

Before TensorRT sees the plan, its header (toolkit.engines.header) is checked against the plan's
sha256 and against this machine's TensorRT version and GPU; a mismatch is refused with both sides
and the command that rebuilds it. Device buffers are allocated once, for the profile's largest
shape, so memory stays fixed whatever the images; batches larger than the profile's are run in
pieces, and `max_input` tells the tiler the largest tile the engine takes.

Executed here: everything up to the CUDA device query (header, plan hash, TensorRT version check, the
CUDA error without a GPU), and a test
that every TensorRT attribute this file uses exists in the real lean runtime bindings. NOT EXECUTED
HERE: deserialisation and inference, which need a GPU.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from toolkit.core.errors import InputError
from toolkit.core.metadata import ModelCard
from toolkit.engines.cuda import CudaError, DeviceBuffer, Stream
from toolkit.engines.header import EngineMismatchError, check_compatible, read_engine, rebuild_command
from toolkit.engines.trt import import_runtime, platform_of
from toolkit.runtime.base import Runner

log = logging.getLogger(__name__)


class TensorRTRunner(Runner):
    name = "tensorrt"

    def __init__(self, engine_path: Path, device: int = 0) -> None:
        super().__init__()
        self.engine_path = engine_path
        self.device = device
        self.max_input: tuple[int, int, int] | None = None  # (batch, height, width) of the profile
        self._min_input: tuple[int, int, int] = (1, 1, 1)
        self._objects: list[Any] = []  # runtime, engine, context: released in reverse order
        self._context: Any = None
        self._buffers: dict[str, DeviceBuffer] = {}
        self._stream: Stream | None = None

    def activate(self) -> ModelCard:
        header, plan = read_engine(self.engine_path)
        card, self.graph = header.model_card, Path(header.onnx_file)
        trt, lean = import_runtime()
        check_compatible(self.engine_path, header, platform_of(trt, lean, device=None))  # no GPU needed
        try:
            here = platform_of(trt, lean, self.device)
        except CudaError as error:  # no GPU or driver: say which engine could not run
            raise CudaError(f"{self.engine_path}: {error}") from error
        check_compatible(self.engine_path, header, here)
        logger = trt.Logger(trt.Logger.WARNING)
        runtime = trt.Runtime(logger)
        if header.version_compatible:
            # A version-compatible plan carries TensorRT's lean runtime as host code. We run it only
            # after its sha256 matched the header this toolkit wrote at build time.
            runtime.engine_host_code_allowed = True
        engine = runtime.deserialize_cuda_engine(plan)
        if engine is None:
            raise EngineMismatchError(
                f"{self.engine_path}: TensorRT could not deserialise it (its log above says why); "
                f"rebuild it: {rebuild_command(header)}"
            )
        self._objects = [logger, runtime, engine]
        try:
            self._prepare(engine, card, trt)
        except Exception:
            self.deactivate()  # `with` does not call __exit__ when __enter__ fails
            raise
        log.info("%s: %s engine, input up to %s", self.engine_path, header.precision, self.max_input)
        return card

    def _prepare(self, engine: Any, card: ModelCard, trt: Any) -> None:
        """Check the plan's I/O against the card; one context, one stream, buffers for the largest input."""
        self._check_io(engine, card, trt)
        low, _, high = engine.get_tensor_profile_shape(card.input_name, 0)
        hw = slice(1, 3) if card.takes_pixels else slice(2, 4)  # NHWC pixels or NCHW values
        self._min_input = (low[0], *low[hw])
        self.max_input = (high[0], *high[hw])
        context = engine.create_execution_context()
        self._objects.append(context)
        self._context = context
        self._stream = Stream()
        context.set_input_shape(card.input_name, tuple(high))
        for name in [card.input_name, *card.output_names]:
            shape = tuple(context.get_tensor_shape(name))
            itemsize = np.dtype(card.input_dtype if name == card.input_name else np.float32).itemsize
            self._buffers[name] = DeviceBuffer(int(np.prod(shape)) * itemsize)
            if not context.set_tensor_address(name, self._buffers[name].pointer):
                raise CudaError(f"{self.engine_path}: TensorRT refused the address of tensor '{name}'")

    def _check_io(self, engine: Any, card: ModelCard, trt: Any) -> None:
        names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
        inputs = [n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        outputs = [n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT]
        if inputs != [card.input_name] or sorted(outputs) != sorted(card.output_names):
            raise EngineMismatchError(
                f"{self.engine_path}: plan has inputs {inputs} and outputs {outputs}, its header's model "
                f"has '{card.input_name}' and {card.output_names}"
            )
        # a serving graph's pixels are uint8 (TensorRT has no uint16); everything else is float32
        wanted = {name: trt.DataType.FLOAT for name in names}
        if card.takes_pixels:
            wanted[card.input_name] = trt.DataType.UINT8
        for name in names:
            if engine.get_tensor_dtype(name) != wanted[name]:
                raise EngineMismatchError(
                    f"{self.engine_path}: tensor '{name}' is {engine.get_tensor_dtype(name)} at the "
                    f"boundary, its header's model has {wanted[name]}"
                )

    def deactivate(self) -> None:
        for buffer in self._buffers.values():
            buffer.free()
        self._buffers = {}
        if self._stream is not None:
            self._stream.destroy()
            self._stream = None
        self._context = None
        while self._objects:  # context before engine before runtime, as TensorRT requires
            del self._objects[-1]

    def infer_batch(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        (max_batch, max_h, max_w), (_, min_h, min_w) = self.max_input, self._min_input
        height, width = batch.shape[1:3] if self.card.takes_pixels else batch.shape[2:]
        if not (min_h <= height <= max_h and min_w <= width <= max_w):
            raise InputError(
                f"{self.engine_path}: takes images of {min_h}x{min_w} to {max_h}x{max_w} pixels, got "
                f"{height}x{width}; rebuild it with a larger --max-shape, or let `toolkit infer` tile"
            )
        pieces = [self._run(batch[i : i + max_batch]) for i in range(0, len(batch), max_batch)]
        return {name: np.concatenate([piece[name] for piece in pieces]) for name in self.card.output_names}

    def _run(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        card, context, stream = self.card, self._context, self._stream
        batch = np.ascontiguousarray(batch)
        if not context.set_input_shape(card.input_name, batch.shape):
            raise InputError(f"{self.engine_path}: TensorRT refused input shape {batch.shape}")
        stream.to_device(self._buffers[card.input_name], batch)
        if not context.execute_async_v3(stream.pointer):
            raise CudaError(f"{self.engine_path}: TensorRT failed to run the batch (its log above says why)")
        outputs = {}
        for name in card.output_names:
            outputs[name] = np.empty(tuple(context.get_tensor_shape(name)), np.float32)
            stream.to_host(outputs[name], self._buffers[name])
        stream.synchronize()
        return outputs
