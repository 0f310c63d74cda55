"""The one contract every backend keeps: `with runner: runner.infer({name: array}) -> {name: array}`.

Inputs are validated here, once, against the model card (name, rank, dtype, channels, stride), so a
backend only turns a valid batch into its outputs: NCHW float32 of multiples of the stride for a
classic graph, NHWC uint8/uint16 pixels of any size for a serving graph (toolkit.export.serving).
Backends import their heavy library in `activate`, not at module import, so `toolkit.runtime` loads
on a machine with any one of them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np

from toolkit.core.errors import InputError
from toolkit.core.metadata import ModelCard


class Runner(ABC):
    name: str = "runner"
    # The largest (batch, height, width) the backend takes, for backends built for a shape range
    # (TensorRT engines); None = any. The tiler fits its tiles and tile batches to it.
    max_input: tuple[int, int, int] | None = None
    # The ONNX graph it runs, or an engine was built from (for FLOP counts); None = not a file.
    graph: Path | None = None
    # What the runner itself holds per input pixel of a batch beyond its graph's runtime (the tile plan
    # adds it to the graph's cost): 0 for a backend, the mirrored input and the sums for FlipAverage.
    held_bytes_per_pixel: float = 0.0
    # Whether its runtime's working memory comes from the process's one shared CPU arena (ONNX
    # Runtime's environment allocator): runners that run one after another then hold one arena, not
    # one each (toolkit.runtime.routing.Router pays for it so).
    shares_arena: bool = False

    def __init__(self) -> None:
        self._card: ModelCard | None = None

    @property
    def card(self) -> ModelCard:
        if self._card is None:
            raise RuntimeError(f"{self.name}: activate the runner (use `with runner:`) before using it")
        return self._card

    def __enter__(self) -> Runner:
        self._card = self.activate()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.deactivate()
        self._card = None

    @abstractmethod
    def activate(self) -> ModelCard:
        """Load the model; return its card."""

    def deactivate(self) -> None:
        """Release what `activate` took."""

    @abstractmethod
    def infer_batch(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """The card's input (NCHW float32, or NHWC pixels), already validated -> every output, in the
        card's output layout."""

    def infer(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        card = self.card
        if set(feed) != {card.input_name}:
            raise InputError(f"{self.name}: expected one input '{card.input_name}', got {sorted(feed)}")
        batch = feed[card.input_name]
        problem = _shape_problem(batch, card)
        if problem:
            raise InputError(f"{self.name}: input '{card.input_name}' {problem}")
        return self.infer_batch(batch)


class Wrapper(Runner):
    """A runner around another, `inner` (mirrored views, a route): what the tiler and the benchmark
    read off a runner (the largest input, the graph, the arena) is the inner one's, learnt when it is
    activated; the wrapper activates it and adds what it holds itself (`held_bytes_per_pixel`)."""

    def __init__(self, inner: Runner) -> None:
        super().__init__()
        self.inner = inner
        self.name = inner.name

    @property
    def max_input(self) -> tuple[int, int, int] | None:  # type: ignore[override]
        return self.inner.max_input

    @property
    def graph(self) -> Path | None:  # type: ignore[override]
        return self.inner.graph

    @property
    def shares_arena(self) -> bool:  # type: ignore[override]
        return self.inner.shares_arena


def _shape_problem(batch: np.ndarray, card: ModelCard) -> str:
    if not isinstance(batch, np.ndarray) or batch.dtype != card.input_dtype:
        return (
            f"must be a {card.input_dtype} numpy array, got {getattr(batch, 'dtype', type(batch).__name__)}"
        )
    if batch.ndim != 4 or batch.shape[0] < 1:
        return f"must be a non-empty {card.input_layout} batch, got shape {batch.shape}"
    if batch.shape[card.channel_axis] != card.input_channels:
        return f"must have {card.input_channels} channel(s), got shape {batch.shape}"
    if card.takes_pixels:
        height, width = batch.shape[1:3]
        return "" if height and width else f"must have pixels, got shape {batch.shape}"
    height, width = batch.shape[2:]
    if height % card.stride or width % card.stride or not height or not width:
        return (
            f"height and width must be positive multiples of {card.stride}, got {height}x{width} "
            "(toolkit.runtime.pipeline pads any size)"
        )
    return ""
