"""Synthetic paired training data, made by our own code and deterministic by seed.

Two kinds of pair, both `(input image, clean target)` with the target as black lines on white
(uint8), exactly like a user's `data/target/` images:

- "sketch": a page of structured line art (toolkit.data.line_art) and the rough pencil version of
  it, as a phone or scanner gives it: every stroke redrawn in several wandering passes of graphite
  from faint 2H to dark 6B, on white to mid-grey or tinted paper, with what a clean-up drops
  (graphite shading, blue/red construction pencil, ruled/squared/dotted paper, drafting marks) and
  what the camera or scanner adds (lighting gradients, vignetting, shadows, exposure, gamma, colour
  casts, resampling blur of 150-600 dpi, noise, JPEG). RGB input, gray target.
- "painting": line art coloured the way Thangka are made (regions in mineral-pigment colours,
  ornament, outlines in black, red-brown or gold; some fills meet without an outline, some are
  misregistered over theirs), then aged (worn outlines, fading, craquelure networks and long cracks,
  paint losses, stains with tide lines, folds, uneven scanner light, colour casts, JPEG), paired with
  the intended outlines.

How strongly each effect appears is a domain-randomisation factor drawn per page
(toolkit.data.factors: the ranges, as data); `make_pair(..., factors={...})` pins some of them, which
is how the robustness sweep moves one factor at a time. Each stage draws from a random stream of its
own (`default_rng([seed, STAGE])`), so pinning one factor changes that effect and nothing else.

Everything is drawn in float32 maps with OpenCV's anti-aliased primitives. Torch-free: `toolkit synth`
writes pairs to disk with it, training draws them on the fly.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from toolkit.core.errors import InputError
from toolkit.core.fileio import refuse_overwrite, write_json, write_png
from toolkit.data.factors import FACTORS, Focus, draw_factors, pinned_factors
from toolkit.data.line_art import (
    OBJECTS,
    Stroke,
    Text,
    bezier,
    closed_shape,
    compose_page,
    ellipse_points,
    page_units,
    resampled,
)

KINDS = tuple(FACTORS)

# Mineral pigments of Tibetan painting, RGB: azurite, malachite, cinnabar, orpiment, vermilion,
# lapis, ochre, gold, white lead, indigo, pink, leaf green.
PIGMENTS = (
    np.array(
        [
            (38, 84, 160),
            (46, 139, 87),
            (190, 46, 32),
            (228, 181, 46),
            (222, 76, 40),
            (30, 60, 130),
            (181, 120, 50),
            (212, 175, 55),
            (236, 230, 214),
            (45, 50, 90),
            (214, 120, 130),
            (96, 150, 60),
        ],
        dtype=np.float32,
    )
    / 255
)
GROUND = np.array([214, 200, 168], np.float32) / 255  # primed cotton (gesso)
OUTLINE_INKS = (
    np.array([(30, 22, 18), (120, 42, 26), (176, 128, 40)], np.float32) / 255
)  # black, red-brown, gold
PAPER_TINTS = np.array(
    [(1.0, 0.93, 0.78), (0.85, 0.92, 1.0), (0.88, 1.0, 0.86), (1.0, 0.88, 0.9)], np.float32
)
CONSTRUCTION_COLOURS = np.array([(0.45, 0.65, 0.98), (0.95, 0.35, 0.3)], np.float32)  # blue, red pencil
GRID_COLOURS = np.array([(0.55, 0.7, 0.95), (0.6, 0.6, 0.6), (0.6, 0.85, 0.65)], np.float32)

# stage numbers of the random streams (see the module docstring)
SHADING, CONSTRUCTION, GRID, MARKS, GRAIN, PAPER, CAMERA, SCAN = range(3, 11)
OUTLINES, ORNAMENT, AGEING, CRACKS, LOSSES, STAINS, FOLDS = range(11, 18)


def make_pair(
    kind: str,
    height: int,
    width: int,
    seed: int,
    *,
    factors: dict[str, float] | None = None,
    scale: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(input, target): (H, W, 3) RGB uint8 input and (H, W) uint8 target, black lines on white.

    `factors` pins some domain-randomisation factors (toolkit.data.factors); the rest are drawn.
    `scale` is the size of the page's elements against a 256 px page's (outlines, objects, cracks;
    default: the short side / 256, so elements follow the canvas); a small page drawn at a large
    scale is a window onto a large scan, at a small page's cost.
    """
    if kind not in KINDS:
        raise ValueError(f"synthetic kind must be one of {KINDS}, not {kind!r}")
    values = draw_factors(kind, seed, factors)
    rng = np.random.default_rng(seed)
    scale = min(height, width) / 256 if scale is None else scale
    if kind == "sketch":
        strokes, texts = compose_page(rng, height, width, scale, values["stroke_width"])
        return pencil_sketch(rng, seed, strokes, texts, (height, width), scale, values)
    regions, details = painting_layout(rng, height, width, scale)
    return aged_painting(seed, regions, details, (height, width), scale, values)


def stream(seed: int, stage: int) -> np.random.Generator:
    return np.random.default_rng([seed, stage])


# --- drawing primitives --------------------------------------------------------------------------


def draw_polyline(canvas: np.ndarray, points: np.ndarray, width: float, value: float, closed: bool) -> None:
    """Anti-aliased polyline at sub-pixel precision (OpenCV's `shift` of 4 fractional bits)."""
    fixed = np.round(points * 16).astype(np.int32)
    cv2.polylines(canvas, [fixed], closed, float(value), max(1, round(width)), cv2.LINE_AA, shift=4)


def draw_text(canvas: np.ndarray, text: Text, origin: tuple[int, int], value: float) -> None:
    """Anti-aliased lettering; OpenCV draws text only into 8-bit images, so via a uint8 layer."""
    layer = np.zeros(canvas.shape, np.uint8)
    cv2.putText(layer, text.text, origin, text.font, text.scale, 255, text.width, cv2.LINE_AA)
    np.maximum(canvas, layer.astype(np.float32) * (value / 255), out=canvas)


def render_clean(strokes: list[Stroke], texts: list[Text], height: int, width: int) -> np.ndarray:
    """Black lines on white, uint8: the target image."""
    ink = np.zeros((height, width), np.float32)
    for stroke in strokes:
        draw_polyline(ink, stroke.points, stroke.width, 1.0, stroke.closed)
    for text in texts:
        draw_text(ink, text, text.origin, 1.0)
    return np.round(255 * (1 - np.clip(ink, 0, 1))).astype(np.uint8)


def smooth_noise(rng: np.random.Generator, count: int, amplitude: float, knots: int = 5) -> np.ndarray:
    """(count, 2) low-frequency offsets: a hand's slow wander along a stroke."""
    positions = np.linspace(0, 1, knots)
    offsets = rng.normal(0, amplitude, size=(knots, 2))
    t = np.linspace(0, 1, count)
    return np.stack([np.interp(t, positions, offsets[:, i]) for i in range(2)], axis=1)


def smooth_field(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """(H, W) float32 noise blurred at `sigma` px and stretched to [0, 1]."""
    field = cv2.GaussianBlur(rng.uniform(0, 1, size=shape).astype(np.float32), (0, 0), max(sigma, 0.5))
    return (field - field.min()) / max(float(np.ptp(field)), 1e-6)


def screen(ink: np.ndarray, layer: np.ndarray) -> np.ndarray:
    """Layers of graphite or dirt darken each other without exceeding full ink."""
    return 1 - (1 - ink) * (1 - layer)


def page_ramp(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """(H, W) in [0, 1]: a linear ramp across the page in a random direction."""
    height, width = shape
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.cos(angle) * x / width + np.sin(angle) * y / height
    return (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)


# --- the rough pencil version --------------------------------------------------------------------


def pencil_pass(
    rng: np.random.Generator, canvas: np.ndarray, stroke: Stroke, wander: float, pressure: float
) -> np.ndarray:
    """One pass of the pencil over a stroke: wandering `wander` px, overshooting, pressure varying.
    Returns the wander: (K, 2) offsets of the pass from `resampled(stroke.points)`.

    Drawn into a layer the size of the stroke's box and screened onto `canvas`, so that a pass costs
    what its stroke covers, not the page."""
    points = resampled(stroke.points.astype(np.float64), stroke.closed)
    drift = smooth_noise(rng, len(points), wander)
    points = points + drift
    if not stroke.closed and rng.random() < 0.6:  # overshoot past the ends
        head, tail = points[1] - points[0], points[-1] - points[-2]
        points = np.concatenate(
            [[points[0] - head * rng.uniform(0, 3)], points, [points[-1] + tail * rng.uniform(0, 3)]]
        )
    along = np.clip(pressure + smooth_noise(rng, len(points), 0.12)[:, 0], 0.15, 1.0)
    width = max(1, round(stroke.width * rng.uniform(0.7, 1.2)))
    box = bounding_box(points, canvas.shape, margin=width + 2)
    if box is None:
        return drift
    (top, bottom), (left, right) = box
    layer = np.zeros((bottom - top, right - left), np.float32)
    # pressure varies along the stroke: segments drawn per level of pressure (32 levels), one call each
    levels = np.round(along[:-1] * 32).astype(int)
    fixed = np.round((points - (left, top)) * 16).astype(np.int32)
    for level in np.unique(levels):
        segments = [fixed[i : i + 2] for i in np.flatnonzero(levels == level)]
        cv2.polylines(layer, segments, False, float(level / 32), width, cv2.LINE_AA, shift=4)
    view = canvas[top:bottom, left:right]
    view[:] = screen(view, layer)
    return drift


def graphite(
    rng: np.random.Generator, strokes: list[Stroke], texts: list[Text], shape: tuple[int, int], values: dict
) -> tuple[np.ndarray, list[Stroke], list[Text]]:
    """(H, W) float32 graphite cover in [0, 1] of the drawing itself, every stroke in 1..passes passes,
    and the clean drawing those passes stand for: each stroke (and lettering) moved to the mean of its
    passes. A hand's passes wander together (up to `pass_offset` px apart); the clean line is drawn
    through their middle, which the rough page shows, not through the path they were meant to
    follow, which it does not (a target off the passes by 3-4 px put a floor under line F1)."""
    ink = np.zeros(shape, np.float32)
    most = max(1, round(values["passes"]))
    drawn_strokes, drawn_texts = [], []
    for stroke in strokes:
        pressure = rng.uniform(0.55, 1.0)
        drifts = [  # passes of graphite darken each other
            pencil_pass(rng, ink, stroke, values["pass_offset"] * rng.uniform(0.5, 1.0), pressure)
            for _ in range(int(rng.integers(1, most + 1)))
        ]
        centre = resampled(stroke.points.astype(np.float64), stroke.closed) + np.mean(drifts, axis=0)
        drawn_strokes.append(Stroke(centre, stroke.width, stroke.closed))
    for text in texts:
        origins = []
        for _ in range(int(rng.integers(1, 3))):
            layer = np.zeros_like(ink)
            dx, dy = rng.normal(0, 0.5 * values["pass_offset"], size=2)
            origins.append((int(text.origin[0] + dx), int(text.origin[1] + dy)))
            draw_text(layer, text, origins[-1], float(rng.uniform(0.6, 1.0)))
            ink = screen(ink, layer)
        centre = np.round(np.mean(origins, axis=0)).astype(int)
        drawn_texts.append(replace(text, origin=(int(centre[0]), int(centre[1]))))
    return ink, drawn_strokes, drawn_texts


def shading(seed: int, strokes: list[Stroke], shape: tuple[int, int], amount: float) -> np.ndarray:
    """(H, W) soft graphite tone inside some closed shapes and beside some lines, to be dropped."""
    tone = np.zeros(shape, np.float32)
    if amount <= 0:
        return tone
    rng = stream(seed, SHADING)
    for stroke in strokes:
        if stroke.closed and rng.random() < 0.4:
            mask = np.zeros(shape, np.float32)
            cv2.fillPoly(mask, [np.round(stroke.points * 16).astype(np.int32)], 1.0, cv2.LINE_AA, shift=4)
            side = smooth_field(rng, shape, 6.0)
            tone = np.maximum(
                tone, cv2.GaussianBlur(mask, (0, 0), 2.0) * (0.4 + 0.6 * side) * rng.uniform(0.5, 1.0)
            )
    return tone * amount


def construction(
    seed: int, strokes: list[Stroke], shape: tuple[int, int], scale: float, amount: float
) -> np.ndarray:
    """(H, W) cover of blue or red construction pencil: axes, boxes and ellipses around the objects."""
    cover = np.zeros(shape, np.float32)
    if amount <= 0 or not strokes:
        return cover
    rng = stream(seed, CONSTRUCTION)
    for _ in range(int(rng.integers(3, 12))):
        anchor = strokes[int(rng.integers(len(strokes)))].points.mean(axis=0)
        value = float(amount * rng.uniform(0.6, 1.0))
        width = float(rng.uniform(1.0, 3.0))
        choice = rng.random()
        if choice < 0.4:  # an axis or a guide through the object
            direction = rng.normal(0, 1, 2)
            direction /= max(np.linalg.norm(direction), 1e-6)
            reach = rng.uniform(40, 160) * scale
            draw_polyline(
                cover, np.stack([anchor - direction * reach, anchor + direction * reach]), width, value, False
            )
        elif choice < 0.7:  # a blocking-in ellipse
            axes = rng.uniform(15, 70, 2) * scale
            draw_polyline(
                cover,
                ellipse_points(anchor, axes, rng.uniform(0, np.pi), rng.normal(0, 0.05, 4)),
                width,
                value,
                True,
            )
        else:  # a rough box
            half = rng.uniform(15, 60, 2) * scale
            box = anchor + np.array([(-1, -1), (1, -1), (1, 1), (-1, 1)]) * half + rng.normal(0, 2, (4, 2))
            draw_polyline(cover, box, width, value, True)
    return cover


def grid_paper(seed: int, shape: tuple[int, int], scale: float, strength: float) -> np.ndarray:
    """(H, W) cover of ruled, squared or dotted paper lines."""
    cover = np.zeros(shape, np.float32)
    if strength <= 0:
        return cover
    rng = stream(seed, GRID)
    height, width = shape
    spacing = rng.uniform(10, 30) * max(scale, 0.5)
    style = int(rng.integers(3))  # 0 ruled, 1 squared, 2 dotted
    angle = rng.normal(0, 0.01)  # a page is never quite square to the camera
    rows = np.arange(rng.uniform(0, spacing), height + width * abs(angle) + spacing, spacing)
    cols = np.arange(rng.uniform(0, spacing), width, spacing)
    if style == 2:
        for y in rows:
            for x in cols:
                cv2.circle(cover, (int(x * 16), int((y + x * angle) * 16)), 16, 1.0, -1, cv2.LINE_AA, shift=4)
    else:
        for y in rows:
            draw_polyline(cover, np.array([(0, y), (width, y + width * angle)]), 1, 1.0, False)
        if style == 1:
            for x in cols:
                draw_polyline(cover, np.array([(x, 0), (x - height * angle, height)]), 1, 1.0, False)
    return cover * strength


def drafting_marks(
    seed: int, strokes: list[Stroke], shape: tuple[int, int], scale: float, strength: float
) -> np.ndarray:
    """(H, W) float32 ink that a clean-up must drop: what drafting leaves on the page besides the drawing.

    - half-erased earlier attempts: a stroke drawn a few pixels off, rubbed out to a grey ghost;
    - smudges: graphite spread by the hand, soft-edged tone patches;
    - guides: long straight lines and circles laid in before the drawing.
    """
    marks = np.zeros(shape, np.float32)
    if strength <= 0:
        return marks
    rng = stream(seed, MARKS)
    height, width = shape
    area_units = page_units(height, width, scale)
    for stroke in strokes:
        if rng.random() < 0.15:
            ghost = np.zeros_like(marks)
            moved = Stroke(stroke.points + rng.normal(0, 3 * scale, size=2), stroke.width, stroke.closed)
            pencil_pass(rng, ghost, moved, 1.0 * scale, 0.7)  # a whole-page layer: it is blurred next
            ghost = cv2.GaussianBlur(ghost, (0, 0), rng.uniform(0.7, 1.6) * max(scale, 0.5))
            marks = screen(marks, ghost * rng.uniform(0.15, 0.5))
    for _ in range(rng.poisson(1.5 * area_units) + 1):
        smudge = np.zeros_like(marks)
        center, axes = rng.uniform(0, (width, height)), rng.uniform(8, 50, size=2) * scale
        box = (tuple(map(float, center)), tuple(map(float, 2 * axes)), float(rng.uniform(0, 180)))
        cv2.ellipse(smudge, box, 1.0, -1, cv2.LINE_AA)
        smudge = cv2.GaussianBlur(smudge, (0, 0), float(axes.mean() / 3))
        marks = screen(marks, smudge * rng.uniform(0.1, 0.5))
    for _ in range(rng.poisson(2 * area_units) + 1):
        value = float(rng.uniform(0.15, 0.5))
        if rng.random() < 0.6:
            a, b = rng.uniform(0, (width, height), size=(2, 2))
            draw_polyline(marks, np.stack([a, b]), 1, value, False)
        else:
            center, radius = rng.uniform(0, (width, height)), rng.uniform(15, 90) * scale
            draw_polyline(
                marks, ellipse_points(center, np.array([radius, radius]), 0.0, np.zeros(3)), 1, value, True
            )
    return marks * strength


def paper(seed: int, shape: tuple[int, int], values: dict) -> np.ndarray:
    """(H, W, 3) float32 RGB paper: its tone, tint and fibres."""
    rng = stream(seed, PAPER)
    tint = 1 - values["paper_tint"] / 0.15 * 0.15 * (1 - PAPER_TINTS[rng.integers(len(PAPER_TINTS))])
    fibres = cv2.GaussianBlur(rng.normal(0, 1, size=shape).astype(np.float32), (0, 0), 1.2)
    return (values["paper_tone"] * tint)[None, None] * (1 + 0.02 * fibres)[..., None]


def photographed(seed: int, image: np.ndarray, values: dict) -> np.ndarray:
    """The page as a camera or scanner sees it: light falloff, vignetting, a shadow, exposure,
    white balance and tone curve, on a (H, W, 3) float image in [0, 1]."""
    rng = stream(seed, CAMERA)
    height, width = image.shape[:2]
    light = 1 - values["lighting"] * page_ramp(rng, (height, width))
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    radius = ((x / width - 0.5) ** 2 + (y / height - 0.5) ** 2) * 2  # 1 at the corners
    light *= 1 - values["vignetting"] * radius
    if values["shadow"] > 0:  # a soft-edged shadow reaching in from one side
        mask = np.zeros((height, width), np.float32)
        side = rng.integers(4)
        reach = rng.uniform(0.15, 0.5)
        edge = np.array([[0, 0], [1, 0], [1, reach], [0, reach * rng.uniform(0.3, 1.5)]])
        corners = {0: edge, 1: edge[:, ::-1], 2: 1 - edge, 3: 1 - edge[:, ::-1]}[int(side)]
        cv2.fillPoly(
            mask, [np.round(corners * (width, height) * 16).astype(np.int32)], 1.0, cv2.LINE_AA, shift=4
        )
        mask = cv2.GaussianBlur(mask, (0, 0), rng.uniform(0.03, 0.1) * min(height, width))
        light *= 1 - values["shadow"] * mask
    gains = 1 + rng.normal(0, 1, 3).astype(np.float32) * values["colour_cast"]
    image = image * light[..., None] * values["exposure"] * gains
    return np.clip(image, 0, 1) ** values["gamma"]


def scanned(seed: int, image: np.ndarray, values: dict) -> np.ndarray:
    """Resampling blur of a `dpi` scan, sensor noise and JPEG: float [0, 1] RGB -> uint8 RGB."""
    rng = stream(seed, SCAN)
    height, width = image.shape[:2]
    factor = values.get("dpi", 600) / 600
    if factor < 0.99:
        small = (max(1, round(width * factor)), max(1, round(height * factor)))
        image = cv2.resize(
            cv2.resize(image, small, interpolation=cv2.INTER_AREA),
            (width, height),
            interpolation=cv2.INTER_CUBIC,
        )
    image = image + rng.normal(0, 1, size=image.shape).astype(np.float32) * values["noise"]
    pixels = np.clip(np.round(image * 255), 0, 255).astype(np.uint8)
    if values["jpeg_quality"] < 99.5:
        encoded = cv2.imencode(
            ".jpg", pixels[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(values["jpeg_quality"])]
        )[1]
        pixels = cv2.imdecode(encoded, cv2.IMREAD_COLOR)[..., ::-1]
    return np.ascontiguousarray(pixels)


def pencil_sketch(
    rng: np.random.Generator,
    seed: int,
    strokes: list[Stroke],
    texts: list[Text],
    shape: tuple[int, int],
    scale: float,
    values: dict,
) -> tuple[np.ndarray, np.ndarray]:
    """(H, W, 3) uint8 RGB: the rough page a person would draw before inking `strokes` and `texts`,
    photographed or scanned; and (H, W) uint8 its clean version, the target."""
    ink, drawn_strokes, drawn_texts = graphite(rng, strokes, texts, shape, values)
    target = render_clean(drawn_strokes, drawn_texts, *shape)
    ink = screen(ink, shading(seed, strokes, shape, values["shading"]))
    ink = screen(ink, drafting_marks(seed, strokes, shape, scale, values["drafting_marks"]))
    grain = np.clip(stream(seed, GRAIN).normal(1.0, 0.25, size=shape), 0.3, 1.3).astype(np.float32)
    ink = np.clip(ink * grain, 0, 1)  # graphite skips over the paper's tooth
    page = paper(seed, shape, values)
    # graphite darkens the paper by `pencil_contrast` grey levels at full cover, slightly cool-toned
    darkness = min(0.97, values["pencil_contrast"] / 255 / max(values["paper_tone"], 1e-3))
    image = page * (1 - darkness * ink[..., None] * np.array([1.0, 0.99, 0.96], np.float32))
    for cover, colours, stage, strength in (
        (grid_paper(seed, shape, scale, values["grid"]), GRID_COLOURS, GRID, 1.0),
        (
            construction(seed, strokes, shape, scale, values["construction_colour"]),
            CONSTRUCTION_COLOURS,
            CONSTRUCTION,
            0.9,
        ),
    ):
        colour = colours[stream(seed, stage).integers(len(colours))]
        darkened = 1 - strength * cover[..., None] * (1 - colour)
        image, page = image * darkened, page * darkened
    photo = photographed(seed, image, values)
    # the same photograph of the page without the drawing: what the camera left of each pencil mark
    shown = (photographed(seed, page, values) - photo).max(axis=-1)
    near = round(values["pass_offset"] + values["stroke_width"]) + 1  # passes lie this close to a line
    target = legible_lines(target, shown, near, scale)
    return scanned(seed, photo, values), target


# A pencil mark is in the photograph where it darkens it by this much (of [0, 1]: one grey level);
# only a camera that clips the paper to white (overexposed white paper) takes faint pencil below it
LEGIBLE_CONTRAST = 1 / 255


def legible_lines(target: np.ndarray, shown: np.ndarray, near: int, scale: float) -> np.ndarray:
    """The uint8 target (black lines on white) without the lines the photograph lost: kept where
    graphite that darkens the photograph by `LEGIBLE_CONTRAST` lies within `near` px, and from there
    along the line's own pixels (`grown_along`), as a painting's worn outlines are. Faint pencil that
    the photograph still shows, however faint (the 10 grey levels of `pencil_contrast`'s end), stays;
    what an overexposed camera clipped to white goes, as no model can draw it."""
    line = (target < 255).astype(np.uint8)  # anti-aliased edges too, as they go with their line
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * near + 1, 2 * near + 1))
    support = cv2.dilate((shown >= LEGIBLE_CONTRAST).astype(np.uint8), disc) & line
    kept = grown_along(support, line, round(BRIDGE_PX * max(scale, 0.5)))
    return np.where(kept > 0, target, 255).astype(np.uint8)


# --- paintings -----------------------------------------------------------------------------------

PAINTING_OBJECTS = ("flower", "vessel", "building", "concentric", "leaf", "figure")


def painting_layout(
    rng: np.random.Generator, height: int, width: int, scale: float
) -> tuple[list[Stroke], list[Stroke]]:
    """Closed outlines of regions, painted in order (later ones on top), and open detail lines."""
    size = np.array([width, height], np.float64)
    regions: list[Stroke] = []
    details: list[Stroke] = []
    area_units = page_units(height, width, scale)
    line = max(scale, 0.6)
    # A central figure (halo rings and body) as Thangka have, then objects and ornaments around it.
    center = size / 2 + rng.normal(0, 0.08, size=2) * size
    for axes in (size * rng.uniform(0.28, 0.4), size * rng.uniform(0.16, 0.24)):
        regions.append(Stroke(ellipse_points(center, axes, 0.0, rng.normal(0, 0.03, 5)), 2.0 * line, True))
    for _ in range(int(rng.poisson(3 * area_units)) + 1):
        part = OBJECTS[PAINTING_OBJECTS[rng.integers(len(PAINTING_OBJECTS))]][0]
        width_px = float(rng.choice([1.5, 2.0, 2.5, 3.0])) * line
        for stroke in part(rng, rng.uniform(0, size), float(rng.uniform(50, 150) * scale), width_px):
            (regions if stroke.closed and len(stroke.points) > 2 else details).append(stroke)
    for _ in range(int(rng.poisson(4 * area_units)) + 2):  # petals, clouds and polygons
        points = closed_shape(
            rng, size, (10, 55), scale, p_ellipse=0.6, wobble=0.1, knots=(3, 8), corners=(3, 8)
        )
        regions.append(Stroke(points, float(rng.choice([1.5, 2.0, 2.5, 3.0])) * line, True))
    for _ in range(int(rng.poisson(3 * area_units))):  # folds of cloth, flames, hair: open curves
        control = rng.uniform(0, size) + np.cumsum(rng.normal(0, 20 * scale, size=(4, 2)), axis=0)
        details.append(Stroke(bezier(control, 24), float(rng.choice([1.0, 1.5, 2.0])) * line))
    return regions, details


def bounding_box(
    points: np.ndarray, shape: tuple[int, int], margin: float
) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """((top, bottom), (left, right)) of `points` grown by `margin`, inside the canvas; None if outside."""
    low = np.floor(points.min(axis=0) - margin).astype(int)
    high = np.ceil(points.max(axis=0) + margin).astype(int)
    left, top = max(0, low[0]), max(0, low[1])
    right, bottom = min(shape[1], high[0]), min(shape[0], high[1])
    return ((top, bottom), (left, right)) if right > left and bottom > top else None


def fill_mask(points: np.ndarray, shape: tuple[int, int], shift: np.ndarray | None = None) -> np.ndarray:
    mask = np.zeros(shape, np.float32)
    moved = points if shift is None else points + shift
    cv2.fillPoly(mask, [np.round(moved * 16).astype(np.int32)], 1.0, cv2.LINE_AA, shift=4)
    return mask


def paint_regions(
    seed: int, regions: list[Stroke], details: list[Stroke], shape: tuple[int, int], values: dict
) -> tuple[np.ndarray, np.ndarray]:
    """Colours (H, W, 3) float RGB in [0, 1], and the visible outlines (H, W) float in [0, 1].

    Regions are painted in order, each hiding what lies under it, outlines included, as a painter
    lays pigment and then inks each shape; of the outlines left uncovered, the target is what the
    aged scan still shows (`visible_outlines`). Some regions
    get no outline (their edge is only a change of colour), and fills may be laid a few pixels off
    their outline (misregistration): the target is the ink, never the colour edge.
    """
    rng = stream(seed, OUTLINES)
    height, width = shape
    image = np.empty((height, width, 3), np.float32)
    image[:] = GROUND
    ink = np.zeros(shape, np.float32)
    for region in regions:
        offset = rng.normal(0, 1, 2)
        offset *= values["misregistration"] * rng.uniform(0.3, 1.0) / max(np.linalg.norm(offset), 1e-6)
        colour = PIGMENTS[rng.integers(len(PIGMENTS))]
        gx, gy = rng.normal(0, 0.6, size=2) / max(height, width)  # shading models volume
        box = bounding_box(
            np.concatenate([region.points, region.points + offset]), shape, margin=region.width + 2
        )
        if box is None:
            continue
        (top, bottom), (left, right) = box
        corner = np.array([left, top])
        mask = fill_mask(region.points + offset - corner, (bottom - top, right - left))[..., None]
        y, x = np.mgrid[top:bottom, left:right].astype(np.float32)
        shade = np.clip(1 + gx * (x - width / 2) + gy * (y - height / 2), 0.6, 1.3)[..., None]
        view = image[top:bottom, left:right]
        view[:] = view * (1 - mask) + np.clip(colour * shade, 0, 1) * mask
        ink[top:bottom, left:right] *= 1 - fill_mask(region.points - corner, (bottom - top, right - left))
        if rng.random() >= values["unoutlined_fills"]:
            draw_polyline(ink, region.points, region.width, 1.0, True)
    for stroke in details:
        draw_polyline(ink, stroke.points, stroke.width, 1.0, stroke.closed)
    return image, np.clip(ink, 0, 1)


def ornament(seed: int, image: np.ndarray, scale: float, amount: float) -> np.ndarray:
    """Gold and white dots, rosettes and scrolls painted inside regions: pattern, not outline."""
    if amount <= 0:
        return image
    rng = stream(seed, ORNAMENT)
    height, width = image.shape[:2]
    cover = np.zeros((height, width), np.float32)
    colour = np.array([(0.85, 0.7, 0.3), (0.93, 0.91, 0.86)][int(rng.integers(2))], np.float32)
    for _ in range(int(amount * 60 * height * width / 256**2)):
        center = rng.uniform(0, (width, height))
        radius = rng.uniform(0.8, 3.0) * max(scale, 0.6)
        if rng.random() < 0.6:
            cv2.circle(
                cover, tuple(int(v * 16) for v in center), int(radius * 16), 1.0, -1, cv2.LINE_AA, shift=4
            )
        else:  # a small scroll or rosette
            loop = ellipse_points(center, np.array([radius * 2, radius * 2]), 0, rng.normal(0, 0.2, 6), 24)[
                : int(rng.integers(8, 24))
            ]
            draw_polyline(cover, loop, 1, 1.0, False)
    cover *= rng.uniform(0.6, 1.0)
    return image * (1 - cover[..., None]) + colour * cover[..., None]


def worn_ink(seed: int, outlines: np.ndarray, scale: float, values: dict) -> np.ndarray:
    """The ink as it survives: of uneven strength, faded in patches, and worn through in places."""
    rng = stream(seed, AGEING)
    shape = outlines.shape
    fading = smooth_field(rng, shape, 12 * scale + 1)
    strength = values["outline_strength"] * (0.7 + 0.3 * fading)
    wear = values["outline_wear"]
    if wear > 0:  # breaks: where a smooth field is in its lowest `wear` share, the ink is rubbed off
        field = smooth_field(rng, shape, 5 * max(scale, 0.5))
        worn = cv2.GaussianBlur((field <= np.quantile(field, wear)).astype(np.float32), (0, 0), 1.0)
        strength = strength * (1 - 0.95 * worn)
    return outlines * strength


def craquelure(seed: int, shape: tuple[int, int], scale: float, values: dict) -> np.ndarray:
    """(H, W) darkness of a crack network (cells of a jittered Voronoi diagram) and long cracks."""
    rng = stream(seed, CRACKS)
    height, width = shape
    cracks = np.zeros(shape, np.float32)
    cells = int(values["crack_density"] * 220 * height * width / (256 * max(scale, 0.5)) ** 2)
    if cells >= 4:
        subdiv = cv2.Subdiv2D((0, 0, width, height))
        for point in rng.uniform((0, 0), (width - 1, height - 1), size=(cells, 2)):
            subdiv.insert((float(point[0]), float(point[1])))
        facets, _ = subdiv.getVoronoiFacetList([])
        patch = smooth_field(rng, shape, 30 * scale + 1) > rng.uniform(0.0, 0.5)  # networks cover areas
        network = np.zeros(shape, np.float32)
        for facet in facets:
            edges = np.concatenate([facet, facet[:1]])
            jittered = [
                a + (b - a) * t + rng.normal(0, 0.6, 2)
                for a, b in itertools.pairwise(edges)
                for t in (0.0, 0.5)
            ]
            draw_polyline(network, np.asarray(jittered), 1, 1.0, True)
        cracks = np.maximum(cracks, network * patch * rng.uniform(0.7, 1.0))
    for _ in range(round(values["long_cracks"])):
        steps = int(rng.integers(30, 90))
        heading = rng.uniform(0, 2 * np.pi) + np.cumsum(rng.normal(0, 0.25, steps))
        walk = np.cumsum(np.stack([np.cos(heading), np.sin(heading)], 1) * 4 * max(scale, 0.5), axis=0)
        draw_polyline(
            cracks, walk + rng.uniform(0, (width, height)), float(rng.choice([1, 1, 2])), 1.0, False
        )
    return np.clip(cracks, 0, 1) * values["crack_darkness"]


def paint_losses(seed: int, image: np.ndarray, scale: float, share: float, darkness: float) -> np.ndarray:
    """Flakes of paint lost down to the ground or canvas, with a dark broken edge around each."""
    if share <= 0:
        return image
    rng = stream(seed, LOSSES)
    shape = image.shape[:2]
    field = smooth_field(rng, shape, rng.uniform(3, 10) * max(scale, 0.5))
    loss = (field > np.quantile(field, 1 - share)).astype(np.uint8)
    edge = cv2.morphologyEx(loss, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)).astype(np.float32)
    ground = GROUND * (0.9 + 0.1 * smooth_field(rng, shape, 1.0))[..., None]
    loss_f = cv2.GaussianBlur(loss.astype(np.float32), (0, 0), 0.7)[..., None]
    image = image * (1 - loss_f) + ground * loss_f
    return image * (1 - 0.7 * darkness * edge[..., None])


def stains(seed: int, image: np.ndarray, scale: float, count: float) -> np.ndarray:
    """Water stains: a brownish tone with a darker tide line where the water stopped."""
    rng = stream(seed, STAINS)
    height, width = image.shape[:2]
    for _ in range(round(count)):
        blot = np.zeros((height, width), np.float32)
        center = rng.uniform(0, (width, height))
        axes = rng.uniform(15, 70, 2) * scale
        outline = ellipse_points(center, axes, rng.uniform(0, np.pi), rng.normal(0, 0.12, 7))
        cv2.fillPoly(blot, [np.round(outline * 16).astype(np.int32)], 1.0, cv2.LINE_AA, shift=4)
        tide = np.zeros_like(blot)
        draw_polyline(tide, outline, float(rng.uniform(1, 3) * max(scale, 0.6)), 1.0, True)
        tide = cv2.GaussianBlur(tide, (0, 0), rng.uniform(0.5, 1.5))
        blot = cv2.GaussianBlur(blot, (0, 0), 3 * scale + 1)
        brown = np.array([0.3, 0.5, 0.9], np.float32)
        image = image * (1 - rng.uniform(0.1, 0.3) * blot[..., None] * brown)
        image = image * (1 - rng.uniform(0.2, 0.55) * tide[..., None] * brown)
    return image


def folds(seed: int, image: np.ndarray, scale: float, count: float) -> np.ndarray:
    """Folds and creases of the cloth: a dark crease with a light ridge beside it, across the scan."""
    rng = stream(seed, FOLDS)
    height, width = image.shape[:2]
    for _ in range(round(count)):
        dark, light = np.zeros((height, width), np.float32), np.zeros((height, width), np.float32)
        a, b = rng.uniform(0, (width, height), size=(2, 2))
        direction = (b - a) / max(np.linalg.norm(b - a), 1e-6)
        a, b = a - direction * 2 * max(width, height), b + direction * 2 * max(width, height)
        normal = np.array([-direction[1], direction[0]]) * rng.uniform(1.5, 3) * max(scale, 0.6)
        draw_polyline(dark, np.stack([a, b]), float(rng.uniform(1, 2.5)), 1.0, False)
        draw_polyline(light, np.stack([a + normal, b + normal]), float(rng.uniform(2, 5)), 1.0, False)
        sigma = rng.uniform(0.8, 2.5) * max(scale, 0.6)
        dark, light = cv2.GaussianBlur(dark, (0, 0), sigma), cv2.GaussianBlur(light, (0, 0), sigma * 1.5)
        image = (
            image * (1 - rng.uniform(0.15, 0.45) * dark[..., None])
            + rng.uniform(0.05, 0.2) * light[..., None]
        )
    return image


def aged_painting(
    seed: int,
    regions: list[Stroke],
    details: list[Stroke],
    shape: tuple[int, int],
    scale: float,
    values: dict,
) -> tuple[np.ndarray, np.ndarray]:
    """(H, W, 3) uint8 RGB painting after centuries of wear, and its intended outlines (H, W) uint8:
    the outlines that can still be seen (`visible_outlines`)."""
    image, outlines = paint_regions(seed, regions, details, shape, values)
    image = ornament(seed, image, scale, values["ornament"])
    ink = worn_ink(seed, outlines, scale, values)[..., None]
    colour = OUTLINE_INKS[int(values["outline_colour"])]
    # aged twice, with its ink and without, from the same random streams: what the ink still changes
    # in the scan is what a person can trace
    painted = aged(seed, image * (1 - ink) + colour * ink, scale, values)
    bare = aged(seed, image, scale, values)
    visible = np.abs(painted - bare).max(axis=2)
    target = visible_outlines(outlines, visible, scale)
    return scanned(seed, painted, values), np.round(255 * (1 - target)).astype(np.uint8)


def aged(seed: int, image: np.ndarray, scale: float, values: dict) -> np.ndarray:
    """The painting's centuries and its scan: fading, varnish, losses, stains, cracks, folds, cloth
    weave, uneven light and colour cast, on (H, W, 3) float RGB in [0, 1]."""
    shape = image.shape[:2]
    rng = stream(seed, AGEING)
    fade = values["fading"]
    image = image * (1 - fade) + fade * np.array([0.84, 0.78, 0.64], np.float32)
    image *= np.array([1.0, rng.uniform(0.9, 1.0), rng.uniform(0.75, 0.95)], np.float32)  # varnish
    image = paint_losses(seed, image, scale, values["paint_loss"], values["crack_darkness"])
    image = stains(seed, image, scale, values["stains"])
    image *= 1 - craquelure(seed, shape, scale, values)[..., None]
    image = folds(seed, image, scale, values["folds"])
    height, width = shape
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    period = rng.uniform(2.5, 4.0)
    weave = 1 + 0.025 * np.sin(2 * np.pi * x / period) * np.sin(2 * np.pi * y / period)
    light = 1 - values["lighting"] * page_ramp(rng, shape)
    gains = 1 + rng.normal(0, 1, 3).astype(np.float32) * values["colour_cast"]
    return np.clip(image * (weave * light)[..., None] * gains, 0, 1)


# An outline pixel is seen where its ink changes the scan by this much (of [0, 1], any channel: 25 of
# 255 grey levels) ...
VISIBLE_CONTRAST = 0.1
# ... and kept in the target within this many pixels along the outline of a seen pixel (at 256 px
# pages; it grows with the page), so that a break up to twice as long is drawn through.
BRIDGE_PX = 6


def visible_outlines(outlines: np.ndarray, contrast: np.ndarray, scale: float) -> np.ndarray:
    """(H, W) float ink of the intended outlines a person can trace in the scan.

    An outline worn away, lost with its paint, or inked in a colour too close to what lies under it
    (gold on orpiment) is not in the scan: no model can draw it, and a target that keeps it teaches
    guessing and caps recall (a quarter of the outline pixels of an average page were below 20 grey
    levels). What survives is grown along the outline's own pixels (never across to another line),
    so a short break in a worn outline is drawn through, as the painter intended."""
    line = (outlines > 0.05).astype(np.uint8)
    support = ((outlines > 0.5) & (contrast >= VISIBLE_CONTRAST)).astype(np.uint8)
    return outlines * grown_along(support, line, round(BRIDGE_PX * max(scale, 0.5)))


def grown_along(start: np.ndarray, within: np.ndarray, steps: int) -> np.ndarray:
    """(H, W) uint8: `start` grown `steps` pixels, 8-connected, through `within` only (both uint8
    masks): along a line's own pixels, never across the paper to another line."""
    step = np.ones((3, 3), np.uint8)
    for _ in range(steps):
        start = cv2.dilate(start, step) & within
    return start


# --- on disk ---------------------------------------------------------------------------------------

# Pairs written by `toolkit synth` take seeds from their own range, disjoint from the ranges training
# draws from (toolkit.data.datasets): a written set is held out from every training run.
HELD_OUT_SEED_OFFSET = 20_000_000
# beside input/ and target/: each page's seed and factor values, so an evaluation can say which
# factors its errors come from (toolkit.analysis.by_factor)
PAGES_FILE = "pages.json"


def held_out_seed(seed: int, index: int) -> int:
    return HELD_OUT_SEED_OFFSET + seed * 100_003 + index


def write_pairs(
    kind: str,
    count: int,
    size: int,
    seed: int,
    root: Path,
    *,
    overwrite: bool = False,
    track: Callable[[range], Iterable[int]] = iter,
    width: int | None = None,
    pins: tuple[Focus, ...] = (),
) -> list[tuple[Path, Path]]:
    """`count` pairs as ROOT/input/NNNNN.png and ROOT/target/NNNNN.png (the reference layout), `size`
    pixels high and `width` (default: `size`) wide; each of `pins` keeps one factor inside its span
    on every page (the pages are otherwise those the same seed draws without it)."""
    refuse_overwrite(root / PAGES_FILE, overwrite)  # refused before any page is drawn
    written, pages = [], {}
    for index in track(range(count)):
        page_seed = held_out_seed(seed, index)
        pinned = pinned_factors(pins, page_seed)
        image, target = make_pair(kind, size, width or size, page_seed, factors=pinned)
        paths = (root / "input" / f"{index:05d}.png", root / "target" / f"{index:05d}.png")
        for path, pixels in zip(paths, (image, target)):
            write_png(path, pixels, overwrite)
        written.append(paths)
        pages[paths[0].stem] = {"seed": page_seed, "factors": draw_factors(kind, page_seed, pinned)}
    record = {"kind": kind, "seed": seed, "height": size, "width": width or size, "pages": pages}
    if pins:
        record["pins"] = {pin.factor: [pin.low, pin.high] for pin in pins}
    write_json(root / PAGES_FILE, record, overwrite)
    return written


def read_page_factors(root: Path) -> dict[str, dict[str, float]] | None:
    """{pair stem: its factor values} from the PAGES_FILE `write_pairs` left in `root`, or None for a
    set it did not write (a user's own pairs)."""
    path = root / PAGES_FILE
    if not path.is_file():
        return None
    try:
        pages = json.loads(path.read_text())["pages"]
        return {stem: {name: float(v) for name, v in page["factors"].items()} for stem, page in pages.items()}
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise InputError(f"{path}: not a page record written by `toolkit synth` ({error})") from error


def contact_sheet(rows: list[list[tuple[np.ndarray, np.ndarray]]], tile: int = 192) -> np.ndarray:
    """RGB uint8 sheet: one row of (input, target) tile pairs per list in `rows`."""

    def as_tile(pixels: np.ndarray) -> np.ndarray:
        rgb = pixels if pixels.ndim == 3 else cv2.cvtColor(pixels, cv2.COLOR_GRAY2RGB)
        return cv2.resize(rgb, (tile, tile), interpolation=cv2.INTER_AREA)

    def white(height: int, width: int) -> np.ndarray:
        return np.full((height, width, 3), 255, np.uint8)

    lines = []
    for pairs in rows:
        tiles = []
        for image, target in pairs:
            tiles += [as_tile(image), white(tile, 2), as_tile(target), white(tile, 12)]
        lines += [np.concatenate(tiles[:-1], axis=1)]
    width = max(line.shape[1] for line in lines)
    padded = []
    for line in lines:
        padded += [np.concatenate([line, white(tile, width - line.shape[1])], axis=1), white(12, width)]
    return np.concatenate(padded[:-1], axis=0)


def write_sheet(
    path: Path, kind: str, *, size: int, width: int, seed: int, count: int = 4, overwrite: bool = False
) -> None:
    """A contact sheet of the first `count` held-out pairs `write_pairs` writes with `seed`."""
    pairs = [make_pair(kind, size, width, held_out_seed(seed, i)) for i in range(count)]
    write_png(path, contact_sheet([pairs]), overwrite)
