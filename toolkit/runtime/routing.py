"""A router: a shipped model draws every page, and pages of a kind it serves less well, read off what
it drew, are drawn again by an expert of their kind. Torch-free.

A route (`toolkit.core.shipped.ROUTES`) takes one of READINGS: `contour`'s reads the width of its
lines, which tells the scale of a painting's detail (below). `PencilSnr`, how far the pencil under a
sketch's lines stands out of the paper's noise, tells faint pencil: `unet-light`'s reads it and sends
faint pages to `unet-light-faint` (docs/shipped-models.md, twenty-third to twenty-fifth sessions);
its road's gate (`shipped.Gate`) reads a second thing, `PencilContrast`, the pencil's grey levels
below the paper on the page as scanned, to reach further for pages of faint graphite only.

Why, for scale: one network spread over pages of element scale 1-3 is about 2 points of line F1
worse at each scale than a network of that scale alone (docs/training.md, the twentieth session's
probes), and the scale shows in what the generalist draws: `contour`'s lines are 2.6-4.3 px wide on
pages of scale 1 (5th-95th percentile of 32 calibration pages, as `LineWidth` measures them), 3.8-5.6
px at scale 2 and 4.3-7.0 px at scale 3 (docs/measurements/2026-12-05/twenty-first-session/
route_widths.txt). So `contour` runs first; where the mean width of its lines lies on one of the
route's roads, that road's expert draws the page instead.
Pages it keeps cost nothing more; pages it sends on cost a second pass. A large scan is probed
instead: the first model runs on windows spread over it, and one model draws it.

A reading is measured on the whole image as its rows are finished, or on a large scan's windows,
never per tile, so every tile of a scan takes the same road and the route does not depend on the
tile plan.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import ClassVar

import cv2
import numpy as np

from toolkit.core.errors import UsageError
from toolkit.core.metadata import ModelCard
from toolkit.core.shipped import Road
from toolkit.imaging.conditioning import brightest
from toolkit.runtime.base import Runner, Wrapper
from toolkit.runtime.tile_plan import bytes_per_pixel

# A line's width from the distance of its centre line to the paper (the ridge of the ink's distance
# transform, where the distance is that of pixel centres: (w + 1) / 2 for a line w px wide), averaged
# over the centre lines: exact for lines along rows or columns, up to a third less for thin lines at
# 45 degrees (tests/test_routing.py), alike on every page. Of the measures tried on 32 calibration
# pages per scale (twenty-first session, route_widths.py), it and the ink's area over its skeleton's
# length told scale-1 pages from scale-2 ones best (AUC 0.968 and 0.967; the area over half the
# outline's length, 0.896: ragged edges lengthen an outline); it needs only OpenCV and looks a few
# pixels around each pixel, so it can be measured strip by strip.
MAX_DEPTH = 8.0  # px: deeper ink is a blob, not a line; capped so a strip needs little context
STRIP = 256  # rows measured at a time, at fixed places from the image's top
# Strips measured at most: the width of a page's lines is a mean, and 16 strips across a 10000x8000
# scan (a fifth of its rows) are plenty of lines; measuring all 31 cost 0.5 s, 2-3 % of `contour`'s
# end-to-end time on it (2026-12-05).
MAX_STRIPS = 16
CONTEXT = int(MAX_DEPTH) + 2  # rows above and below a strip: the capped distances and their ridge
RIDGE = np.ones((3, 3), np.uint8)
# What measuring one strip holds at once, per pixel of the strip and its context: the distances and
# their dilation, the darkness levels, the masks (tracemalloc on a 3000x2400 page fed in blocks of
# 300 rows: `PencilSnr` 12.3 MB, `LineWidth` 7.0 MB, 2026-12-05). A tile plan pays for it
# (`reading_bytes`): unpaid, a folder of 3000x2400 sketches sent on ran 4 % over a 300 MB budget.
READING_BYTES = 24

# A large scan's road is read off windows of it before any model draws it, so that one model draws it,
# not the first model and then an expert: a 10000x8000 scan sent on cost two whole passes (42 s, not
# 21); its probe runs the first model on 3 % of it. Smaller pages are drawn whole first and measured
# as they are drawn (as the roads' thresholds were chosen): a probe would cost them up to a quarter
# of a pass whether or not they are sent on. The windows lie evenly over the page, each PROBE_SIDE px
# measured with PROBE_CONTEXT px around it, so its lines are as a whole pass draws them (the tiles'
# overlap); 1.3 MP measured is thousands of lines' centres.
PROBE_SIDE = 384
PROBE_CONTEXT = 64
PROBE_GRID = 3  # windows a side: 9
PROBE_SPAN = PROBE_SIDE + 2 * PROBE_CONTEXT
PROBE_FROM_PIXELS = 4 * PROBE_GRID**2 * PROBE_SPAN**2  # 9.4 MP (3072x3072): the probe is at most a quarter


class StripSchedule:
    """What is measured of a page where the first model drew lines: fed the rows of its binary
    picture top to bottom in blocks of any height (`add`), or windows of it (`add_region`). Measured in
    strips of STRIP rows at fixed places, each with CONTEXT rows around it, so the result is the whole
    page's, whatever the blocks were (a tile plan's rows). A tall page is sampled: at most MAX_STRIPS
    strips, evenly spaced (every one up to 4096 rows). Subclasses say what a strip adds
    (`add_region`) and whether nothing was measured yet (`_unmeasured`)."""

    def __init__(self, height: int) -> None:
        self.every = max(1, math.ceil(math.ceil(height / STRIP) / MAX_STRIPS))  # every n-th strip
        self.strip = 0  # the index of the next strip
        self.window = np.zeros((0, 0), np.bool_)  # rows not yet measured, after the context above them
        self.top = 0  # the page's row of the window's first row
        self.context = 0  # how many of the window's first rows are context only

    def add(self, ink: np.ndarray) -> None:
        """`ink`: (n, W) bool, the rows below those added before."""
        self.window = np.concatenate([self.window, ink]) if len(self.window) else ink.copy()
        while len(self.window) >= self.context + STRIP + CONTEXT:
            if self.strip % self.every == 0:
                self._measure(self.context, self.context + STRIP)
            self.strip += 1
            cut = self.context + STRIP - CONTEXT
            self.window, self.top = self.window[cut:], self.top + cut
            self.context = CONTEXT

    def _measure_rest(self) -> None:
        """Measure the rows left, where they fall on a measured strip or nothing was measured yet."""
        if len(self.window) > self.context and (self.strip % self.every == 0 or self._unmeasured()):
            self._measure(self.context, len(self.window))
        self.window = self.window[len(self.window) :]

    def _measure(self, first: int, stop: int) -> None:
        """Add the window's rows first:stop (the rows around them, up to CONTEXT, are their context)."""
        # not the whole window: a tile row's block is 4 strips or more
        self.add_region(self.window[: stop + CONTEXT], np.s_[first:stop], origin=(self.top, 0))

    def add_region(
        self, ink: np.ndarray, region: tuple[slice, ...] | slice, *, origin: tuple[int, int] = (0, 0)
    ) -> None:
        """Add what lies in `region` of `ink`, a (h, w) bool picture of the page's pixels from row and
        column `origin` (the rest of it is their context)."""
        raise NotImplementedError

    def _unmeasured(self) -> bool:
        raise NotImplementedError


class Lines:
    """A strip of the lines the first model drew, and what readings take from it, each made once
    however many readings take it."""

    def __init__(self, ink: np.ndarray) -> None:
        self.ink = ink

    @cached_property
    def centre(self) -> tuple[np.ndarray, np.ndarray]:
        """`centre_lines` of the strip."""
        return centre_lines(self.ink)

    @cached_property
    def paper(self) -> np.ndarray:
        """The paper around the lines: pixels further than PAPER_MARGIN from any drawn one."""
        margin = 2 * PAPER_MARGIN + 1
        return cv2.dilate(self.ink.view(np.uint8), np.ones((margin, margin), np.uint8)) == 0


class StripReading(StripSchedule):
    """A reading of a page (one number), measured on strips of the lines the first model drew.

    `image`: the page as the model saw it (conditioned), or as scanned for a reading that `reads_scan`,
    for readings of the pixels under the lines; held, not copied. Subclasses say what they read
    (`_read`, `_value`), its `name` (the key of the picture's record) and `unit`, and what it is in
    words (`says`)."""

    name: ClassVar[str]
    unit: ClassVar[str]
    says: ClassVar[str]
    reads_scan: ClassVar[bool] = False  # fed the page as scanned, not as the model saw it

    def __init__(self, image: np.ndarray) -> None:
        super().__init__(len(image))
        self.image = image

    def finish(self) -> float | None:
        """The reading of everything measured; None where no line was drawn there."""
        self._measure_rest()
        return self._value()

    def add_region(
        self, ink: np.ndarray, region: tuple[slice, ...] | slice, *, origin: tuple[int, int] = (0, 0)
    ) -> None:
        self.read_lines(Lines(ink), region, origin=origin)

    def read_lines(
        self, lines: Lines, region: tuple[slice, ...] | slice, *, origin: tuple[int, int] = (0, 0)
    ) -> None:
        """`add_region` of lines some other reading may take too."""
        top, left = origin
        height, width = lines.ink.shape
        self._read(lines, self.image[top : top + height, left : left + width], region)

    def _unmeasured(self) -> bool:
        return self._value() is None

    def _read(self, lines: Lines, pixels: np.ndarray, region: tuple[slice, ...] | slice) -> None:
        raise NotImplementedError

    def _value(self) -> float | None:
        raise NotImplementedError


def centre_lines(ink: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The (h, w) distance of each ink pixel's centre to the paper, capped at MAX_DEPTH, and the centre
    lines: the ridge of that distance."""
    depth = cv2.distanceTransform(ink.view(np.uint8), cv2.DIST_L2, 5)
    np.minimum(depth, MAX_DEPTH, out=depth)
    return depth, ink & (depth >= cv2.dilate(depth, RIDGE))


class LineWidth(StripReading):
    """The mean width of the lines: twice the mean distance of their centre lines to the paper, less
    one (a pixel's centre is half a pixel inside)."""

    name, unit, says = "line_width", " px", "the width of the lines it draws"

    def __init__(self, image: np.ndarray) -> None:
        super().__init__(image)
        self.depth_sum = 0.0  # distance to the paper, summed over the centre-line pixels
        self.centre_pixels = 0

    def _read(self, lines: Lines, pixels: np.ndarray, region: tuple[slice, ...] | slice) -> None:
        depth, centre = lines.centre
        centre = centre[region]
        self.depth_sum += float(depth[region][centre].sum(dtype=np.float64))
        self.centre_pixels += int(np.count_nonzero(centre))

    def _value(self) -> float | None:
        return 2 * self.depth_sum / self.centre_pixels - 1 if self.centre_pixels else None


# The paper around the lines: pixels further than this from any drawn pixel (the model draws a stroke
# about as wide as the graphite, whose soft edge lies within 2-3 px).
PAPER_MARGIN = 3
DARKNESS_LEVELS = 256


class PencilDarkness(StripReading):
    """Histograms of darkness, 1 - the brightest channel (graphite is neutral; coloured construction
    pencil is paper to it), on the centre lines of what the model drew (the pencil) and more than
    PAPER_MARGIN px from them (the paper), in 256 levels, so a strip at a time adds to them. Subclasses
    say what they make of the two (`_value`)."""

    def __init__(self, image: np.ndarray) -> None:
        super().__init__(image)
        self.pencil = np.zeros(DARKNESS_LEVELS, np.int64)  # centre-line pixels per level of darkness
        self.paper = np.zeros(DARKNESS_LEVELS, np.int64)
        top = np.iinfo(image.dtype).max if np.issubdtype(image.dtype, np.integer) else 1.0
        self.to_level = (DARKNESS_LEVELS - 1) / float(top)

    def _read(self, lines: Lines, pixels: np.ndarray, region: tuple[slice, ...] | slice) -> None:
        pixels = brightest(pixels[region])  # the context rows only shape the lines and the paper around them
        _, centre = lines.centre
        if pixels.dtype == np.uint8:  # as levels already: histograms of brightness, darkness reversed
            self.pencil += level_counts(pixels, centre[region])[::-1]
            self.paper += level_counts(pixels, lines.paper[region])[::-1]
            return
        darkness = (DARKNESS_LEVELS - 1 - np.rint(pixels * self.to_level)).astype(np.intp)
        self.pencil += np.bincount(darkness[centre[region]], minlength=DARKNESS_LEVELS)
        self.paper += np.bincount(darkness[lines.paper[region]], minlength=DARKNESS_LEVELS)


class PencilSnr(PencilDarkness):
    """How far the pencil stands out of the paper's noise, on the page as the model sees it
    (conditioned): the pencil's median darkness less the paper's, over the paper's spread (its 90th
    less its 10th percentile, at least one level of 256).

    Why: the conditioning stretches faint graphite dark, and the paper's noise with it, so neither
    darkness alone tells a faint page; their ratio does. On 144 calibration sketches it told pages
    under 25 grey levels of pencil contrast from pages of 60 or more with AUC 0.997, and under 40
    with 0.962 (docs/measurements/2026-12-05/twenty-third-session/faint_reading.txt)."""

    name, unit, says = "pencil_snr", "x", "how far the pencil under its lines stands out of the paper's noise"

    def _value(self) -> float | None:
        if not self.pencil.any() or not self.paper.any():
            return None
        pencil, paper = percentiles(self.pencil, 50), percentiles(self.paper, 10, 50, 90)
        return (pencil[0] - paper[1]) / max(paper[2] - paper[0], 1.0)


class PencilContrast(PencilDarkness):
    """How many grey levels (of 256) the pencil on the centre lines lies below the paper around them,
    medians, on the page as scanned (`reads_scan`: before conditioning, which stretches it).

    Why: a thin, blurred or noisy page of everyday graphite reads a low `pencil_snr` too, and the faint
    expert draws such pages worse; their pencil is dark in grey levels, a faint page's is not. Moving
    the faint road's end from 4 to 8 raised every faint set and cost thin strokes 2.75 points of line
    F1; gated by this reading under 30 levels it kept the faint sets' gain and cost at most 0.37 on
    fresh sweeps (docs/measurements/2026-12-06/twenty-ninth-session/ship-rules.md)."""

    name, unit, says = "pencil_contrast", " levels", "how many grey levels its pencil lies below the paper"
    reads_scan = True

    def _value(self) -> float | None:
        if not self.pencil.any() or not self.paper.any():
            return None
        return percentiles(self.pencil, 50)[0] - percentiles(self.paper, 50)[0]


def level_counts(pixels: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(256,) int64: how many of the (h, w) uint8 `pixels` under the bool `mask` lie at each level.

    OpenCV's masked histogram reads the pixels once, where numpy gathers the masked ones into a copy
    first: a 1024 px page's strip 1.0 against 1.7 ms (2026-12-06). Its float32 counts are exact below
    2**24 at a level, which a strip (STRIP + 2 * CONTEXT rows) stays under up to 60000 px wide."""
    if pixels.size >= 2**24:
        return np.bincount(pixels[mask], minlength=DARKNESS_LEVELS)
    counts = cv2.calcHist([pixels], [0], mask.view(np.uint8), [DARKNESS_LEVELS], [0, DARKNESS_LEVELS])
    return counts[:, 0].astype(np.int64)


def percentiles(counts: np.ndarray, *qs: float) -> list[float]:
    """The levels below which `qs` percent of a histogram's counts lie (the lowest such level)."""
    cumulative = np.cumsum(counts)
    return [float(np.searchsorted(cumulative, q / 100 * cumulative[-1])) for q in qs]


READINGS: dict[str, type[StripReading]] = {
    reading.name: reading for reading in (LineWidth, PencilSnr, PencilContrast)
}


def reading_bytes(width: int, *, readings: int = 1) -> int:
    """What `readings` readings hold while they measure a page `width` px wide (READING_BYTES each)."""
    return readings * READING_BYTES * (STRIP + 2 * CONTEXT) * width


def line_width(ink: np.ndarray) -> float | None:
    """The mean width (px) of the lines in a whole (H, W) bool picture; None for a blank one."""
    return read_page(LineWidth, np.broadcast_to(np.uint8(0), ink.shape), ink)  # reads no pixels: no copy


def read_page(reading: type[StripReading], image: np.ndarray, ink: np.ndarray) -> float | None:
    """`reading` of a whole page: `image` as the model saw it, `ink` the (H, W) bool lines it drew."""
    meter = reading(image)
    meter.add(ink)
    return meter.finish()


def probe_windows(height: int, width: int) -> list[tuple[int, int]]:
    """Top-left corners of the PROBE_SPAN-px windows a page's road is read from, PROBE_GRID a side
    evenly spread; none for a page under PROBE_FROM_PIXELS, or too narrow for them to lie apart."""
    if height * width < PROBE_FROM_PIXELS or min(height, width) < 2 * PROBE_SPAN:
        return []
    ys, xs = (np.linspace(0, side - PROBE_SPAN, PROBE_GRID).round().astype(int) for side in (height, width))
    return [(int(y), int(x)) for y in ys for x in xs]


@dataclass(frozen=True)
class RouteTaken:
    """Which model drew a page, and why: recorded in each picture `toolkit infer` writes."""

    model: str  # the model whose lines the page got
    reading: str  # what was read off the first model's lines (READINGS)
    value: float | None  # ... and its value (None: the first model drew no lines)
    gated: dict[str, float | None] = field(default_factory=dict)  # the roads' gates' readings

    def record(self) -> dict[str, object]:
        values = {self.reading: self.value, **self.gated}
        return {"drawn_by": self.model} | {
            name: None if value is None else round(value, 3) for name, value in values.items()
        }


class PageReadings(StripSchedule):
    """A route's reading and its roads' gates' readings of one page, fed the same lines, whose centre
    lines and paper each strip makes once for all of them: `image` is the page as the model saw it,
    `scan` as scanned (for readings that `reads_scan`)."""

    def __init__(self, readings: list[type[StripReading]], image: np.ndarray, scan: np.ndarray) -> None:
        super().__init__(len(image))
        self.meters = {reading.name: reading(scan if reading.reads_scan else image) for reading in readings}

    def add_region(
        self, ink: np.ndarray, region: tuple[slice, ...] | slice, *, origin: tuple[int, int] = (0, 0)
    ) -> None:
        lines = Lines(ink)
        for meter in self.meters.values():
            meter.read_lines(lines, region, origin=origin)

    def _unmeasured(self) -> bool:
        return any(meter._value() is None for meter in self.meters.values())

    def finish(self) -> dict[str, float | None]:
        """Each reading of everything measured, by name; None where no line was drawn there."""
        self._measure_rest()
        return {name: meter._value() for name, meter in self.meters.items()}


def gated_by(road: Road, values: dict[str, float | None]) -> float | None:
    """The reading `road`'s gate asks of a page, among `values` (None: no gate)."""
    return None if road.gate is None else values.get(road.gate.reading)


class Router(Wrapper):
    """`base` on every page; each of `experts` again on the pages its road takes (by `reading`, one of
    READINGS, of the lines `base` drew, measured on the whole page; the roads do not overlap).

    The tiler routes (toolkit.runtime.tiling.tiled_rows); a batch handed to `infer` directly (tiles,
    a serving request) is `base`'s alone, since a tile cannot tell its page's kind. All the models
    take the same input and give lines of the same stride, so the tile plan made for `base` holds for
    each.
    """

    def __init__(self, base: Runner, experts: dict[Road, Runner], *, reading: str) -> None:
        super().__init__(base)  # what the tiler reads off it is the base model's (the experts are twins)
        if reading not in READINGS:
            raise UsageError(f"a route reads one of {', '.join(READINGS)}, not '{reading}'")
        self.experts = experts
        self.reading = READINGS[reading]
        gates = sorted({road.gate.reading for road in experts if road.gate is not None})
        if unknown := [gate for gate in gates if gate not in READINGS]:
            raise UsageError(f"a road's gate reads one of {', '.join(READINGS)}, not '{unknown[0]}'")
        self.gates = [READINGS[gate] for gate in gates]
        self.last: RouteTaken | None = None  # the page routed last (the model runs on one thread)

    @property
    def reads_scan(self) -> bool:
        """Some reading of the route needs the page as scanned, beside the page as the model saw it."""
        return any(reading.reads_scan for reading in (self.reading, *self.gates))

    def meter(self, image: np.ndarray, scan: np.ndarray) -> PageReadings:
        """The readings a page is routed by: `image` as the model saw it, `scan` as scanned."""
        return PageReadings([self.reading, *self.gates], image, scan)

    @property
    def base(self) -> Runner:
        """The first model: it draws every page, or probes a large one."""
        return self.inner

    @property
    def held_bytes_per_pixel(self) -> float:  # type: ignore[override]
        """What any model holds beside its graph, and what the others' runtimes keep: each ONNX Runtime
        session keeps the arena its tiles filled, so a plan pays for every model's, unless they all
        draw from the one arena of the process (`shares_arena`: the models run one after another, so
        it holds the most any one of them needs)."""
        runners = [self.base, *self.experts.values()]
        graphs = [0.0 if r.graph is None else bytes_per_pixel(r) - r.held_bytes_per_pixel for r in runners]
        arenas = max(graphs) if all(r.shares_arena for r in runners) else sum(graphs)
        return max(r.held_bytes_per_pixel for r in runners) + arenas - graphs[0]

    def activate(self) -> ModelCard:
        card = self.base.__enter__().card
        entered: list[Runner] = [self.base]
        try:
            for road, expert in self.experts.items():
                other = expert.__enter__().card
                entered.append(expert)
                differ = [name for name in TWIN_FIELDS if getattr(card, name) != getattr(other, name)]
                if differ:
                    raise UsageError(
                        f"{card.model}: its expert {road.expert} differs in {', '.join(differ)}; a route "
                        "needs models that take the same input"
                    )
        except BaseException:
            for runner in reversed(entered):
                runner.__exit__(None, None, None)
            raise
        return card

    def deactivate(self) -> None:
        for expert in reversed(self.experts.values()):
            expert.__exit__(None, None, None)
        self.base.__exit__(None, None, None)

    def infer_batch(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        return self.base.infer_batch(batch)

    def describe(self, road: Road) -> str:
        """How a run's report names `road`, in its readings' units."""
        gate_unit = "" if road.gate is None else READINGS[road.gate.reading].unit
        return road.describe(self.reading.unit, gate_unit)

    def route(self, values: dict[str, float | None]) -> Runner | None:
        """The expert to draw a page whose readings are `values` (`PageReadings.finish`; the route's
        reading None: `base`'s lines stand); the road is remembered in `last`."""
        value = values[self.reading.name]
        road = next(
            (
                road
                for road in self.experts
                if value is not None and road.takes(value, gated_by(road, values))
            ),
            None,
        )
        gated = {name: found for name, found in values.items() if name != self.reading.name}
        self.last = RouteTaken(
            self.card.model if road is None else road.expert, self.reading.name, value, gated
        )
        return None if road is None else self.experts[road]


# What a route's models must share: one input, one stride, one threshold (the reading is made at it).
TWIN_FIELDS = (
    "input_name",
    "input_channels",
    "input_dtype",
    "stride",
    "conditioning",
    "output_names",
    "threshold",
)
