"""ONNX Runtime backend: CPU here; the CUDA and TensorRT execution providers where installed."""

from __future__ import annotations

import functools
import importlib.metadata
import logging
from pathlib import Path

import numpy as np

from toolkit.core.errors import InputError, MissingDependencyError, first_line
from toolkit.core.metadata import ModelCard, card_mismatch, refuse_mismatch
from toolkit.runtime.base import Runner

log = logging.getLogger(__name__)

# Each of these installs the same `onnxruntime` module; two of them overwrite each other's files, and
# uninstalling either deletes files the other needs (ONNX Runtime's install docs: one at a time).
ONNXRUNTIME_DISTRIBUTIONS = (
    "onnxruntime",
    "onnxruntime-gpu",
    "onnxruntime-directml",
    "onnxruntime-openvino",
    "onnxruntime-qnn",
    "onnxruntime-training",
)


def installed_onnxruntimes() -> list[str]:
    """'name version' of every ONNX Runtime distribution installed in this environment."""
    found = []
    for name in ONNXRUNTIME_DISTRIBUTIONS:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


@functools.cache
def warn_if_onnxruntimes_clash() -> None:
    """One warning per process when more than one ONNX Runtime distribution is installed."""
    found = installed_onnxruntimes()
    if len(found) > 1:
        names = " ".join(entry.split()[0] for entry in found)
        log.warning(
            "%s are installed side by side: they share the `onnxruntime` module and overwrite each "
            "other's files; keep one (`pip uninstall -y %s`, then install the one you want)",
            " and ".join(found),
            names,
        )


@functools.cache
def register_shared_arena() -> None:
    """Register, once per process, a CPU arena as ONNX Runtime's environment allocator, which every
    session made with `session.use_env_allocators=1` draws from instead of an arena of its own.

    Why: an arena never shrinks, so two sessions run one after another (a route's models) held two
    arenas, each the size of the largest tile it ran; sharing one holds the larger. Measured on the
    route's two graphs, a pass of each over one 2712x2548 tile: peak 2182 MB with their own arenas,
    1092 MB sharing one (shared_arena.py, twenty-second session; a 10000x8000 scan through the
    route then ran in 19.93 s, 20.50 before there was a route: BENCHMARKS.md). The arena's
    settings are ONNX Runtime's defaults, those of a session's own arena, so the bytes per pixel
    `scripts/ship_graphs.py` measured hold."""
    import onnxruntime as ort

    info = ort.OrtMemoryInfo("Cpu", ort.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0, ort.OrtMemType.DEFAULT)
    ort.create_and_register_allocator(info, None)


class OnnxRuntimeRunner(Runner):
    name = "onnxruntime"

    def __init__(
        self,
        path: Path,
        providers: list[str] | None = None,
        threads: int = 0,
        *,
        shared_arena: bool = False,
    ) -> None:
        super().__init__()
        self.path = self.graph = path
        self.providers = providers or ["CPUExecutionProvider"]
        self.threads = threads  # 0 = ONNX Runtime's choice (one per physical core)
        self.shares_arena = shared_arena  # CPU memory from the process's one arena (register_shared_arena)
        self._session = None

    def activate(self) -> ModelCard:
        try:
            import onnxruntime as ort
        except ImportError:
            raise MissingDependencyError("onnxruntime", "cpu", "the ONNX Runtime backend") from None
        warn_if_onnxruntimes_clash()
        if not self.path.is_file():
            raise InputError(f"{self.path}: ONNX file not found")
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.log_severity_level = 3  # errors only: its warnings are about graph fusion internals
        # Without this, the second run of a shape allocates one block for its whole memory pattern on
        # top of the arena the first run filled: unet-light then held 865 bytes per pixel, not 529, and
        # a memory budget's tiles ran 1.6x over it. The arena alone reuses its blocks at no measured cost.
        options.enable_mem_pattern = False
        # ONNX Runtime's workers spin on the cores after a run, waiting for the next; here the next
        # thing is host work (a route's readings, writing, the reader's next scan) or another session
        # (a road's expert), which the spinning slows. They still spin within a run, between its nodes.
        options.add_session_config_entry("session.force_spinning_stop", "1")
        if self.shares_arena:
            register_shared_arena()
            options.add_session_config_entry("session.use_env_allocators", "1")
        try:
            self._session = ort.InferenceSession(str(self.path), options, providers=self.providers)
        except Exception as error:  # ORT raises its own pybind classes (InvalidProtobuf, Fail, ...)
            raise InputError(f"{self.path}: not a loadable ONNX model ({first_line(error)})") from error
        props = self._session.get_modelmeta().custom_metadata_map
        card = ModelCard.from_props(props, self.path)
        axis = card.channel_axis
        inputs = {
            i.name: i.shape[axis] if len(i.shape) > axis and isinstance(i.shape[axis], int) else None
            for i in self._session.get_inputs()
        }
        refuse_mismatch(self.path, card_mismatch(card, inputs, [o.name for o in self._session.get_outputs()]))
        return card

    def deactivate(self) -> None:
        self._session = None

    def infer_batch(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        names = self.card.output_names
        outputs = self._session.run(names, {self.card.input_name: batch})
        return dict(zip(names, outputs))
