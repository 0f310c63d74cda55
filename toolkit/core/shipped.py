"""The weights and graphs we ship inside the package: where they are and how a name finds them. Torch-free.

`toolkit infer --model contour` runs the shipped `contour.onnx` on a machine with only the runtime
installed (a Jetson, a render node), so nothing here may import the model registry (which builds
PyTorch modules): a shipped model name is the stem of a graph in this folder, nothing else.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

SHIPPED_DIR = Path(__file__).resolve().parent.parent / "weights"
SHIPPED_PREFIX = "shipped:"  # how a model card names a shipped file, wherever the package lives
# What `toolkit infer`, `bench`, `serve`, `sweep` and `LineModel` run when no model is named: the
# shipped sketch model that scored best on the held-out sets (docs/shipped-models.md).
DEFAULT_MODEL = "unet-light"


# Beside each shipped FP32 graph NAME.onnx, the graphs derived from it that we ship too (by
# scripts/ship_graphs.py), each carrying its measured agreement with FP32 in its card.
SHIPPED_FORMS = {"fp16": "-fp16", "int8": "-int8", "int8-cpu": "-int8-cpu"}


@dataclass(frozen=True)
class Gate:
    """A road's wider reach: pages whose route reading lies from the road's end up to `up_to` take it
    too where a second reading, `reading`, is under `below`."""

    reading: str
    below: float
    up_to: float

    def record(self) -> dict[str, object]:
        return {"reading": self.reading, "below": self.below, "up_to": self.up_to}


@dataclass(frozen=True)
class Road:
    """Where a routed name (toolkit.runtime.routing) sends a page: to `expert`, another shipped model,
    when the route's reading of the page (`Route.reading`) is `low` or more and under `high`, or, with
    a `gate`, under its `up_to` where the gate's reading is under its `below`. A page on no road keeps
    the first graph's lines."""

    expert: str
    low: float = 0.0
    high: float = math.inf
    gate: Gate | None = None

    @property
    def reach(self) -> float:
        """The end of the route reading's values the road may take: its `high`, or its gate's `up_to`."""
        return self.high if self.gate is None else max(self.high, self.gate.up_to)

    def takes(self, value: float, gated: float | None = None) -> bool:
        """Whether a page reading `value` (and `gated`, the gate's reading, where the road has a gate)
        takes the road."""
        if self.low <= value < self.high:
            return True
        gate = self.gate
        if gate is None or gated is None:
            return False
        return self.low <= value < gate.up_to and gated < gate.below

    def describe(self, unit: str = "", gate_unit: str = "") -> str:
        """'under 4 px', '5.5 px or more', '4-5.5 px', 'under 4x, or under 8x with pencil_contrast
        under 30 levels': how a run's report names the road."""
        if self.low <= 0:
            span = f"under {self.high:g}{unit}"
        elif math.isinf(self.high):
            span = f"{self.low:g}{unit} or more"
        else:
            span = f"{self.low:g}-{self.high:g}{unit}"
        if self.gate is None:
            return span
        gate = self.gate
        return f"{span}, or under {gate.up_to:g}{unit} with {gate.reading} under {gate.below:g}{gate_unit}"

    def record(self) -> dict[str, object]:
        """As JSON holds it (an open end is null)."""
        high = None if math.isinf(self.high) else self.high
        record = {"expert": self.expert, "low": self.low, "high": high}
        return record | ({"gate": self.gate.record()} if self.gate is not None else {})


@dataclass(frozen=True)
class Route:
    """A shipped name's roads, and what they read off each page: the name of one of
    toolkit.runtime.routing's READINGS, measured where the name's own graph drew lines."""

    reading: str
    roads: tuple[Road, ...]


# `contour` is one network over pages of element scale 1-3, about 2 points of line F1 behind a network
# of one scale at each; `contour-thin` is that network for scale 1-1.25, `contour-coarse` for 2.5-3,
# and the width of the lines `contour` draws tells the scale. The thin road's end lies above the
# lines of every scale-1.25 calibration page (at most 3.80 px), at the scale-1.5 pages' median (3.94)
# and under 95 % of the scale-2 pages' (twenty-first session, route_widths.txt). The coarse road's
# start is the best of the thresholds that send at most one in ten scale-2 calibration pages on (3 of
# 32), on 96 pages of scale 2-3 (twenty-second session, choose_threshold.txt; its judgement in
# ship-rules.md there).
#
# `unet-light` loses faint pencil (10-25 grey levels over the paper: line F1 0.71-0.78 where everyday
# sketches score 0.87-0.92); `unet-light-faint` is `unet-light` trained on for 2.9 hours more (four
# runs, each from the last; the last with half its pages faint graphite, alone and beside strong
# construction pencil, and light wide strokes). How far the pencil under `unet-light`'s lines stands
# out of the paper's noise tells a faint page; the road's end is the best of the thresholds on 144
# calibration sketches that sends none of 60+ grey levels (twenty-fifth session,
# choose_threshold-faint27.txt; its judgements in ship-rules.md there). Its gate reaches on to 8
# where the pencil under the lines lies under 30 grey levels below the paper as scanned: a page of
# thin, blurred or noisy everyday graphite reads a low SNR too, but its pencil is dark (twenty-ninth
# session: chosen on the judged sets, confirmed on fresh ones; ship-rules.md there).
ROUTES: dict[str, Route] = {
    "contour": Route("line_width", (Road("contour-thin", high=4.0), Road("contour-coarse", low=5.25))),
    "unet-light": Route(
        "pencil_snr",
        (Road("unet-light-faint", high=4.0, gate=Gate("pencil_contrast", below=30.0, up_to=8.0)),),
    ),
}


def shipped_graphs() -> list[str]:
    """Names of the models we ship a graph of: what `--model NAME` runs."""
    stems = {path.stem for path in SHIPPED_DIR.glob("*.onnx")}
    derived = {stem + suffix for stem in stems for suffix in SHIPPED_FORMS.values()}
    return sorted(stems - derived)


def shipped_forms(name: str) -> dict[str, Path]:
    """{"fp32": NAME.onnx, and "fp16", "int8" (TensorRT's form), "int8-cpu" where shipped}."""
    forms = {"fp32": "", **SHIPPED_FORMS}
    return {
        form: path
        for form, suffix in forms.items()
        if (path := SHIPPED_DIR / f"{name}{suffix}.onnx").is_file()
    }


def is_shipped(path: Path) -> bool:
    """`path` is one of the package's own files (outputs derived from it go elsewhere)."""
    return path.resolve().parent == SHIPPED_DIR


def weights_name(weights: Path | None) -> str:
    """How a card records `weights`: shipped files by name, so the card holds on any machine."""
    if weights is None:
        return ""
    return SHIPPED_PREFIX + weights.name if is_shipped(weights) else str(weights)


def resolve_weights_name(name: str) -> Path:
    """A card's `weights_file` as a path: 'shipped:unet-light.safetensors' -> the package's copy."""
    if name.startswith(SHIPPED_PREFIX):
        return SHIPPED_DIR / name.removeprefix(SHIPPED_PREFIX)
    return Path(name)
