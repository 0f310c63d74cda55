"""Test-time flips: a line model run on mirrored views of each batch, its probabilities averaged.

A convolutional network's lines are not exactly mirror-symmetric: a crack it draws in one orientation
it may leave out in another. Averaging the views cancels much of that noise: on held-out paintings
`contour` gains 1.1-1.4 points of line F1 with 4 views (precision up 2.5-2.8 points), `unet-light` a
few tenths (docs/shipped-models.md, sixteenth session), for 2 or 4 times the model's time. The views
run one after another on the same tiles, so memory grows only by the mirrored input and a running sum,
which the tile plan pays for (`held_bytes_per_pixel`). Any runner can be wrapped, so it holds for
every backend, precision and tile plan; a flip is its own inverse, so each view's output is mirrored
straight back.
"""

from __future__ import annotations

import numpy as np

from toolkit.core.errors import UsageError
from toolkit.core.metadata import ModelCard
from toolkit.runtime.base import Runner, Wrapper

# The spatial axes each view mirrors, in an NCHW batch: the image, then left-right, then upside down,
# then both (a half turn). The first `views` of them run.
VIEW_AXES: tuple[tuple[int, ...], ...] = ((), (3,), (2,), (2, 3))
VIEW_COUNTS = (1, 2, 4)


def check_views(views: int) -> int:
    if views not in VIEW_COUNTS:
        raise UsageError(f"--flips must be one of {', '.join(map(str, VIEW_COUNTS))}, not {views}")
    return views


class FlipAverage(Wrapper):
    """`inner` on the first `views` of VIEW_AXES of each batch; every output the mean of the views."""

    def __init__(self, inner: Runner, views: int) -> None:
        super().__init__(inner)
        self.views = check_views(views)

    @property
    def held_bytes_per_pixel(self) -> float:  # type: ignore[override]
        """float32: the mirrored copy of the input, and one running sum per output (one channel each)."""
        return 4.0 * (self.card.input_channels + len(self.card.output_names))

    def activate(self) -> ModelCard:
        card = self.inner.__enter__().card
        if card.output_kind != "lines" or card.takes_pixels:
            self.inner.__exit__(None, None, None)
            what = "feature maps" if card.output_kind != "lines" else "a serving graph's pixels"
            raise UsageError(  # a contradiction of the command line, like --fp16 --int8
                f"{self.inner.graph or card.model}: --flips averages line probabilities; this model "
                f"gives {what}"
            )
        return card

    def deactivate(self) -> None:
        self.inner.__exit__(None, None, None)

    def infer_batch(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        total: dict[str, np.ndarray] = {}
        for axes in VIEW_AXES[: self.views]:
            view = np.ascontiguousarray(np.flip(batch, axes)) if axes else batch
            for name, output in self.inner.infer_batch(view).items():
                back = np.flip(output, axes) if axes else output
                if name in total:
                    total[name] += back  # in place: the plan pays for one sum (held_bytes_per_pixel)
                else:
                    total[name] = back.astype(np.float32)  # a copy: a backend may reuse its buffers
            del view  # before the next view's copy is made
        for summed in total.values():
            summed /= np.float32(self.views)
        return total


def with_flips(runner: Runner, views: int) -> Runner:
    """`runner` itself for one view, else wrapped to average `views` mirrored views."""
    return runner if check_views(views) == 1 else FlipAverage(runner, views)


def flip_views(runner: Runner) -> int:
    """How many views `runner` averages (1 for any plain backend); a route's, as many as its models
    (each averages the same number: toolkit.runtime.backends.make_runner)."""
    while isinstance(runner, Wrapper) and not isinstance(runner, FlipAverage):
        runner = runner.inner  # a route: its first model
    return runner.views if isinstance(runner, FlipAverage) else 1
