"""The domain-randomisation factors of both synthetic generators, as data: one table per kind.

Every factor is drawn independently per page over [low, high]: from a triangular distribution
peaking at its `middle` (the typical page), on a share of pages uniformly over the whole range (so
every extreme is trained on), or set to its `absent` value on a `p_absent` share of pages (so clean
pages stay in the mix). Every value of the range occurs, but a page rarely has
several factors at their extremes at once: with uniform draws the joint extremes (faint 2H pencil
on mid-grey paper, photographed in shadow, scanned at 150 dpi, JPEG 30) dominated a set's average
and are not what scans look like. Each factor's own extremes are what `toolkit sweep` measures,
with the others at their middle. Values are in the units the help text names, at the input
image's own scale (widths in pixels of the input).

`toolkit synth --factors` prints a kind's table from here; the tables in docs/training.md are its output
(regenerate them with it when a range changes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from toolkit.core.errors import InputError

# Of pages, the share on which a factor is drawn uniformly over its whole range instead of around its
# middle: with triangular draws alone, 2 % of sketches had pencil fainter than 30 grey levels, and
# models fine-tuned on them lost the faint end of the sweep (line F1 0.39 -> 0.24 at 10 levels).
UNIFORM_SHARE = 0.3


@dataclass(frozen=True)
class Factor:
    low: float
    high: float
    middle: float
    help: str
    p_absent: float = 0.0  # share of pages without it ...
    absent: float = 0.0  # ... where it takes this value
    levels: int = 0  # > 0: a choice among `levels` integers 0..levels-1 (low/high ignored)

    def draw(self, rng: np.random.Generator) -> float:
        # every draw always happens, so one factor's setting never shifts another's random stream
        absent, anywhere = rng.random() < self.p_absent, rng.random() < UNIFORM_SHARE
        typical, uniform = rng.triangular(self.low, self.middle, self.high), rng.uniform(self.low, self.high)
        value = uniform if anywhere else typical
        if self.levels:
            value = float(int(rng.integers(self.levels)))
        return self.absent if absent else float(value)

    def sweep(self, points: int) -> list[float]:
        """Values across the whole range, ends included (every level of a choice)."""
        if self.levels:
            return [float(level) for level in range(self.levels)]
        return [float(v) for v in np.linspace(self.low, self.high, points)]


SKETCH: dict[str, Factor] = {
    # the paper and the graphite
    "paper_tone": Factor(0.45, 0.98, 0.85, "paper brightness, mid-grey (0.45) to white"),
    "paper_tint": Factor(0.0, 0.15, 0.05, "paper colour: cream, grey-blue, green, pink (chroma)"),
    "pencil_contrast": Factor(
        10, 200, 110, "grey levels between a full-pressure line and the paper (2H..6B)"
    ),
    "stroke_width": Factor(1.0, 8.0, 2.5, "typical stroke width, px at the input's scale"),
    "passes": Factor(1, 5, 2, "most pencil passes over one stroke (each stroke takes 1..this)"),
    "pass_offset": Factor(0.3, 4.0, 1.2, "how far the passes of one stroke wander apart, px"),
    # what a clean-up drops
    "shading": Factor(0.0, 0.6, 0.25, "soft graphite tone inside shapes (dropped)", p_absent=0.5),
    "construction_colour": Factor(
        0.0, 1.0, 0.5, "blue/red construction pencil strokes, darkness (dropped)", p_absent=0.5
    ),
    "grid": Factor(0.0, 0.5, 0.2, "ruled, squared or dotted paper, strength (dropped)", p_absent=0.6),
    "drafting_marks": Factor(
        0.0, 1.0, 0.5, "erased attempts, smudges, guide lines, strength (dropped)", p_absent=0.3
    ),
    # the photograph or scan of the page
    "lighting": Factor(0.0, 0.6, 0.2, "lighting gradient across the page (photographed), brightness drop"),
    "vignetting": Factor(0.0, 0.5, 0.15, "darkening toward the corners"),
    "shadow": Factor(0.0, 0.6, 0.2, "soft shadow of a hand or phone, darkness", p_absent=0.5),
    "exposure": Factor(0.7, 1.3, 1.0, "exposure, multiplies the light"),
    "gamma": Factor(0.6, 1.6, 1.0, "tone curve of the camera or scanner"),
    "colour_cast": Factor(0.0, 0.15, 0.05, "white-balance error, per-channel gain spread"),
    "dpi": Factor(150, 600, 400, "scan resolution: resampled through dpi/600 of the size (blur)"),
    "noise": Factor(0.0, 0.04, 0.015, "sensor noise, std of [0, 1] pixels"),
    "jpeg_quality": Factor(30, 100, 75, "JPEG quality (100: not compressed)"),
}

PAINTING: dict[str, Factor] = {
    # the painting as made
    "outline_colour": Factor(0, 2, 0, "outline ink: 0 black, 1 red-brown, 2 gold", levels=3),
    "outline_strength": Factor(0.5, 1.0, 0.8, "ink strength of the outlines"),
    "outline_wear": Factor(
        0.0, 0.6, 0.2, "share of the outlines worn away (short breaks stay in the target)"
    ),
    "unoutlined_fills": Factor(0.0, 0.6, 0.2, "share of regions painted without an outline (no target line)"),
    "misregistration": Factor(0.0, 5.0, 1.5, "fills shifted over their outlines, px"),
    "ornament": Factor(0.0, 1.0, 0.4, "gold and white patterns inside regions (not lines)", p_absent=0.3),
    # its age
    "crack_density": Factor(0.0, 1.0, 0.4, "craquelure network density", p_absent=0.2),
    "crack_darkness": Factor(0.1, 0.9, 0.45, "how dark cracks are (0.9: as dark as ink)"),
    "long_cracks": Factor(0, 5, 2, "long cracks across the painting, count", p_absent=0.4),
    "paint_loss": Factor(0.0, 0.2, 0.05, "share of the area flaked off to ground or canvas", p_absent=0.4),
    "stains": Factor(0, 5, 2, "water stains with dark tide lines, count", p_absent=0.3),
    "folds": Factor(0, 4, 1, "folds and creases of the cloth, count", p_absent=0.5),
    "fading": Factor(0.0, 0.3, 0.1, "pigments faded toward the ground"),
    # its scan
    "lighting": Factor(0.0, 0.4, 0.15, "uneven scanner light, brightness drop"),
    "colour_cast": Factor(0.0, 0.15, 0.05, "white-balance error, per-channel gain spread"),
    "noise": Factor(0.0, 0.03, 0.01, "sensor noise, std of [0, 1] pixels"),
    "jpeg_quality": Factor(30, 100, 75, "JPEG quality (100: not compressed)"),
}

FACTORS: dict[str, dict[str, Factor]] = {"sketch": SKETCH, "painting": PAINTING}


def draw_factors(kind: str, seed: int, fixed: dict[str, float] | None = None) -> dict[str, float]:
    """One page's factor values, deterministic by seed; `fixed` overrides some (sweeps)."""
    table = FACTORS[kind]
    unknown = set(fixed or {}) - set(table)
    if unknown:
        raise ValueError(f"unknown {kind} factor(s): {', '.join(sorted(unknown))}; known: {', '.join(table)}")
    rng = np.random.default_rng([seed, 2])  # a stream of its own: the drawing's choices stay put
    values = {name: factor.draw(rng) for name, factor in table.items()}
    return values | dict(fixed or {})


def parse_span(text: str) -> tuple[float, float]:
    """(low, high) from `LOW:HIGH`; ValueError otherwise (callers say which option was wrong)."""
    low, high = (float(part) for part in text.split(":"))
    return low, high


@dataclass(frozen=True)
class Focus:
    """A part of one factor's range: one that training visits more often (`toolkit train --focus`),
    or one a held-out set keeps every page inside (`toolkit synth --pin`, `pinned_factors`).

    The sweep's weak ends are rare in the draws above (pencil fainter than 40 grey levels: about 5 %
    of pages); a focused page pins one factor inside its focus and draws the rest as usual, so the
    weak end is trained on without the joint extremes the draws avoid; foci joined by '+'
    (`parse_focus`) pin the one pairing of weak ends asked for. Held-out sets, validation and sweeps
    never focus; a pinned held-out set is asked for by name."""

    factor: str
    low: float
    high: float

    @classmethod
    def parse(cls, kind: str, text: str, *, option: str = "--focus") -> Focus:
        """From `FACTOR=LOW:HIGH`, inside that factor's range of `kind`; errors name `option`."""
        name, _, span = text.partition("=")
        table = FACTORS[kind]
        if name not in table:
            raise InputError(f"{option} {text}: no {kind} factor '{name}' (known: {', '.join(table)})")
        try:
            focus = cls(name, *parse_span(span))
        except ValueError:
            raise InputError(f"{option} {text}: write FACTOR=LOW:HIGH, e.g. {name}=10:40") from None
        factor = table[name]
        if not factor.low <= focus.low <= focus.high <= factor.high:
            raise InputError(
                f"{option} {text}: {focus.low:g}..{focus.high:g} is not inside {name}'s range "
                f"{factor.low:g}..{factor.high:g}"
            )
        return focus


# A focus of `toolkit train`: the factors one page pins together, each inside its part of the range.
FocusGroup = tuple[Focus, ...]


def parse_focus(kind: str, text: str) -> FocusGroup:
    """`FACTOR=LOW:HIGH`, or several joined by '+' to be pinned on the same page
    (`pencil_contrast=10:25+construction_colour=0.5:1`: faint graphite beside strong construction
    pencil, a pair the independent draws rarely give); each checked as `Focus.parse` does."""
    group = tuple(Focus.parse(kind, part) for part in text.split("+"))
    names = [focus.factor for focus in group]
    if len(set(names)) < len(names):
        raise InputError(f"--focus {text}: names a factor twice")
    return group


def focused_factors(focus: tuple[FocusGroup, ...], share: float, seed: int) -> dict[str, float] | None:
    """The factors a page pins (one group of `focus`, on a `share` of pages), deterministic by seed."""
    rng = np.random.default_rng([seed, 3])  # a stream of its own: the page's other draws stay put
    chosen, index, position = rng.random() < share, int(rng.integers(max(len(focus), 1))), rng.random()
    if not focus or not chosen:
        return None
    # the first factor's position is drawn as when a focus held one factor, so those pages stay put
    group = focus[index]
    positions = [position, *rng.random(len(group) - 1)]
    return {
        part.factor: part.low + at * (part.high - part.low) for part, at in zip(group, positions, strict=True)
    }


def pinned_factors(pins: tuple[Focus, ...], seed: int) -> dict[str, float]:
    """Each of `pins` drawn uniformly inside its span, deterministic by seed (`toolkit synth --pin`):
    a held-out set of the same pages with, say, only faint pencil."""
    rng = np.random.default_rng([seed, 4])  # a stream of its own: the page's other draws stay put
    return {pin.factor: pin.low + rng.random() * (pin.high - pin.low) for pin in pins}


def middle_factors(kind: str) -> dict[str, float]:
    return {name: factor.middle for name, factor in FACTORS[kind].items()}


def factor_table(kind: str) -> str:
    """Markdown rows of a kind's factors, for docs/training.md."""
    rows = ["| factor | range | sweep middle | absent on | meaning |", "|---|---|---|---|---|"]
    for name, f in FACTORS[kind].items():
        span = f"0..{f.levels - 1} (choice)" if f.levels else f"{f.low:g}..{f.high:g}"
        absent = f"{f.p_absent:.0%} of pages" if f.p_absent else "-"
        rows.append(f"| `{name}` | {span} | {f.middle:g} | {absent} | {f.help} |")
    return "\n".join(rows)
