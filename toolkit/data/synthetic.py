"""Synthetic paired training data, made by our own code and deterministic by seed.

Two kinds of pair, both `(input image, clean target)` with the target as black lines on white
(uint8), exactly like a user's `data/target/` images:

- "sketch": clean line art (curves, shapes, hatching, lettering; varied widths and scales) and a rough
  pencil version of it: every stroke redrawn two or three times with jitter, pressure and overshoot,
  light construction lines, the marks of drafting (half-erased earlier attempts, smudged graphite,
  guide lines and circles), paper texture, uneven scan lighting, noise, blur and JPEG artefacts.
- "painting": line art coloured the way Thangka are made (regions in mineral-pigment colours with
  gradients, ink outlines of varying strength), then aged (yellowing, fading, craquelure, stains, cloth
  texture), paired with the clean outlines.

Everything is drawn in float32 "ink" maps (1 = ink) with OpenCV's anti-aliased primitives.
Torch-free: `toolkit synth` writes pairs to disk with it, training draws them on the fly.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from toolkit.fileio import write_png

KINDS = ("sketch", "painting")

# Mineral pigments of Tibetan painting, RGB: azurite, malachite, cinnabar, orpiment, vermilion,
# lapis, ochre, gold, white lead, indigo, pink, leaf green.
PIGMENTS = np.array(
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
LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZabdeghkmnpqrstuy0123456789"
FONTS = (
    cv2.FONT_HERSHEY_SIMPLEX,
    cv2.FONT_HERSHEY_DUPLEX,
    cv2.FONT_HERSHEY_SCRIPT_SIMPLEX,
    cv2.FONT_HERSHEY_COMPLEX,
    cv2.FONT_HERSHEY_TRIPLEX,
)


@dataclass
class Stroke:
    points: np.ndarray  # (K, 2) float x, y
    width: float  # pixels
    closed: bool = False


@dataclass
class Text:
    text: str
    origin: tuple[int, int]
    font: int
    scale: float
    width: int


def make_pair(kind: str, height: int, width: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(input, target) for `kind`: (H, W) gray or (H, W, 3) RGB uint8 input; (H, W) uint8 target."""
    if kind not in KINDS:
        raise ValueError(f"synthetic kind must be one of {KINDS}, not {kind!r}")
    rng = np.random.default_rng(seed)
    scale = min(height, width) / 256  # element sizes follow the canvas
    if kind == "sketch":
        strokes, texts = line_art(rng, height, width, scale)
        target = render_clean(strokes, texts, height, width)
        # drafting marks draw from their own stream, so that adding them left every other random
        # choice of a seed, and every target, as it was
        marks = drafting_marks(np.random.default_rng([seed, 1]), strokes, height, width, scale)
        return rough_pencil(rng, strokes, texts, height, width, scale, marks), target
    regions, details = painting_layout(rng, height, width, scale)
    return aged_painting(rng, regions, details, height, width, scale)


# --- line art ---------------------------------------------------------------------------------


def bezier(control: np.ndarray, samples: int) -> np.ndarray:
    """Points of the cubic Bezier curve through 4 control points."""
    t = np.linspace(0.0, 1.0, samples)[:, None]
    c0, c1, c2, c3 = control
    return (1 - t) ** 3 * c0 + 3 * (1 - t) ** 2 * t * c1 + 3 * (1 - t) * t**2 * c2 + t**3 * c3


def ellipse_points(center: np.ndarray, axes: np.ndarray, angle: float, wobble: np.ndarray) -> np.ndarray:
    """A closed ellipse-like loop; `wobble` (M,) bends its radius smoothly (M >= 3)."""
    theta = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    radius = 1.0 + np.interp(theta, np.linspace(0, 2 * np.pi, len(wobble) + 1), np.append(wobble, wobble[0]))
    x, y = axes[0] * np.cos(theta) * radius, axes[1] * np.sin(theta) * radius
    c, s = np.cos(angle), np.sin(angle)
    return np.stack([center[0] + c * x - s * y, center[1] + s * x + c * y], axis=1)


def closed_shape(
    rng: np.random.Generator,
    canvas: np.ndarray,
    axes_range: tuple[float, float],
    scale: float,
    p_ellipse: float,
    wobble: float,
    knots: tuple[int, int],
    corners: tuple[int, int],
) -> np.ndarray:
    """A wobbly ellipse (probability `p_ellipse`) or a polygon, somewhere on the canvas.

    `knots` and `corners` are [low, high) ranges; equal ends of `knots` fix the count without a draw.
    """
    center = rng.uniform(0, canvas)
    axes = rng.uniform(*axes_range, size=2) * scale
    if rng.random() < p_ellipse:
        angle = rng.uniform(0, np.pi)
        count = knots[0] if knots[0] == knots[1] else int(rng.integers(*knots))
        return ellipse_points(center, axes, angle, rng.normal(0, wobble, count))
    angles = np.sort(rng.uniform(0, 2 * np.pi, int(rng.integers(*corners))))
    return center + np.stack([np.cos(angles), np.sin(angles)], 1) * axes


def line_art(
    rng: np.random.Generator, height: int, width: int, scale: float
) -> tuple[list[Stroke], list[Text]]:
    """Curves, shapes, hatching and lettering at varied sizes and stroke widths."""
    size = np.array([width, height], np.float32)
    strokes: list[Stroke] = []
    texts: list[Text] = []
    area_units = height * width / 256**2

    def stroke_width() -> float:
        return float(
            rng.choice([1.0, 1.5, 2.0, 2.5, 3.0, 4.0], p=[0.2, 0.25, 0.25, 0.15, 0.1, 0.05]) * max(scale, 0.6)
        )

    for _ in range(rng.poisson(5 * area_units) + 2):  # free curves
        start = rng.uniform(0, size)
        span = rng.uniform(20, 120) * scale
        control = start + np.cumsum(rng.normal(0, span / 2, size=(4, 2)), axis=0)
        strokes.append(Stroke(bezier(control, 32), stroke_width()))
    for _ in range(rng.poisson(2.5 * area_units) + 1):  # closed shapes: wobbly ellipses and polygons
        points = closed_shape(
            rng, size, (8, 60), scale, p_ellipse=0.5, wobble=0.06, knots=(5, 5), corners=(3, 7)
        )
        strokes.append(Stroke(points, stroke_width(), closed=True))
    for _ in range(rng.poisson(1.0 * area_units)):  # hatching: parallel strokes in a patch
        origin, angle = rng.uniform(0, size), rng.uniform(0, np.pi)
        direction = np.array([np.cos(angle), np.sin(angle)])
        normal = np.array([-direction[1], direction[0]])
        length, gap = rng.uniform(12, 40) * scale, rng.uniform(4, 9) * scale
        w = float(rng.choice([1.0, 1.5, 2.0]))
        for i in range(int(rng.integers(4, 10))):
            a = origin + normal * gap * i
            strokes.append(Stroke(np.stack([a, a + direction * length]), w))
    for _ in range(rng.poisson(0.8 * area_units)):  # lettering
        word = "".join(rng.choice(list(LETTERS), size=int(rng.integers(1, 6))))
        font_scale = float(rng.uniform(0.5, 1.6) * scale)
        origin = (int(rng.uniform(0, width * 0.8)), int(rng.uniform(height * 0.15, height)))
        texts.append(Text(word, origin, int(rng.choice(FONTS)), font_scale, max(1, round(font_scale * 1.6))))
    return strokes, texts


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


# --- the rough pencil version ------------------------------------------------------------------


def smooth_noise(rng: np.random.Generator, count: int, amplitude: float, knots: int = 5) -> np.ndarray:
    """(count, 2) low-frequency offsets: a hand's slow wander along a stroke."""
    positions = np.linspace(0, 1, knots)
    offsets = rng.normal(0, amplitude, size=(knots, 2))
    t = np.linspace(0, 1, count)
    return np.stack([np.interp(t, positions, offsets[:, i]) for i in range(2)], axis=1)


def pencil_pass(rng: np.random.Generator, canvas: np.ndarray, stroke: Stroke, scale: float) -> None:
    """One pass of the pencil over a stroke: wandering, overshooting, with changing pressure."""
    points = stroke.points.astype(np.float64)
    if len(points) < 8:  # straight segments: resample so that they can wander
        t = np.linspace(0, 1, 16)[:, None]
        points = np.concatenate([(1 - t) * a + t * b for a, b in itertools.pairwise(points)])
    if stroke.closed:
        points = np.concatenate([points, points[:2]])
    points = points + smooth_noise(rng, len(points), rng.uniform(0.5, 2.0) * scale)
    if not stroke.closed and rng.random() < 0.6:  # overshoot past the ends
        head, tail = points[1] - points[0], points[-1] - points[-2]
        points = np.concatenate(
            [[points[0] - head * rng.uniform(0, 3)], points, [points[-1] + tail * rng.uniform(0, 3)]]
        )
    pressure = np.clip(rng.uniform(0.35, 0.85) + smooth_noise(rng, len(points), 0.12)[:, 0], 0.15, 1.0)
    width = max(1.0, stroke.width * rng.uniform(0.7, 1.3))
    for i in range(len(points) - 1):  # per segment, so that pressure varies along the stroke
        layer_value = float(pressure[i])
        draw_polyline(canvas, points[i : i + 2], width, layer_value, False)


def drafting_marks(
    rng: np.random.Generator, strokes: list[Stroke], height: int, width: int, scale: float
) -> np.ndarray:
    """(H, W) float32 ink that a clean-up must drop: what drafting leaves on the page besides the
    drawing. Each family appears on about half of the pages, so clean pages stay in the mix.

    - half-erased earlier attempts: a stroke drawn a few pixels off, rubbed out to a grey ghost;
    - smudges: graphite spread by the hand, soft-edged tone patches;
    - guides: long straight lines and circles laid in before the drawing.
    """
    marks = np.zeros((height, width), np.float32)
    area_units = height * width / 256**2
    if rng.random() < 0.5:
        for stroke in strokes:
            if rng.random() < 0.3:
                ghost = np.zeros_like(marks)
                moved = Stroke(stroke.points + rng.normal(0, 3 * scale, size=2), stroke.width, stroke.closed)
                pencil_pass(rng, ghost, moved, scale)
                ghost = cv2.GaussianBlur(ghost, (0, 0), rng.uniform(0.7, 1.6) * max(scale, 0.5))
                marks = 1 - (1 - marks) * (1 - ghost * rng.uniform(0.08, 0.25))
    if rng.random() < 0.5:
        for _ in range(rng.poisson(1.5 * area_units) + 1):
            smudge = np.zeros_like(marks)
            center, axes = rng.uniform(0, (width, height)), rng.uniform(8, 50, size=2) * scale
            box = (tuple(map(float, center)), tuple(map(float, 2 * axes)), float(rng.uniform(0, 180)))
            cv2.ellipse(smudge, box, 1.0, -1, cv2.LINE_AA)
            smudge = cv2.GaussianBlur(smudge, (0, 0), float(axes.mean() / 3))
            marks = 1 - (1 - marks) * (1 - smudge * rng.uniform(0.06, 0.3))
    if rng.random() < 0.5:
        for _ in range(rng.poisson(2 * area_units) + 1):
            value = float(rng.uniform(0.06, 0.3))
            if rng.random() < 0.6:
                a, b = rng.uniform(0, (width, height), size=(2, 2))
                draw_polyline(marks, np.stack([a, b]), 1, value, False)
            else:
                center, radius = rng.uniform(0, (width, height)), rng.uniform(15, 90) * scale
                circle = ellipse_points(center, np.array([radius, radius]), 0.0, np.zeros(3))
                draw_polyline(marks, circle, 1, value, True)
    return marks


def rough_pencil(
    rng: np.random.Generator,
    strokes: list[Stroke],
    texts: list[Text],
    height: int,
    width: int,
    scale: float,
    marks: np.ndarray,
) -> np.ndarray:
    """(H, W) uint8: the rough scan a person would draw before inking `strokes` and `texts`, with the
    drafting `marks` on the same page."""
    ink = np.zeros((height, width), np.float32)
    for stroke in strokes:
        for _ in range(int(rng.integers(1, 4))):
            layer = np.zeros_like(ink)
            pencil_pass(rng, layer, stroke, scale)
            ink = 1 - (1 - ink) * (1 - layer)  # graphite layers darken each other
    for text in texts:
        for _ in range(int(rng.integers(1, 3))):
            layer = np.zeros_like(ink)
            dx, dy = rng.normal(0, 0.8 * scale, size=2)
            origin = (int(text.origin[0] + dx), int(text.origin[1] + dy))
            draw_text(layer, text, origin, float(rng.uniform(0.4, 0.85)))
            ink = 1 - (1 - ink) * (1 - layer)
    for _ in range(rng.poisson(2)):  # light construction lines, not part of the drawing
        a, b = rng.uniform(0, (width, height), size=(2, 2))
        draw_polyline(ink, np.stack([a, b]), 1, float(rng.uniform(0.08, 0.25)), False)
    ink = 1 - (1 - ink) * (1 - marks)
    grain = np.clip(rng.normal(1.0, 0.25, size=ink.shape), 0.3, 1.3).astype(np.float32)
    ink = np.clip(ink * grain, 0, 1)  # graphite skips over the paper's tooth
    paper = paper_texture(rng, height, width, base=rng.uniform(0.86, 0.98))
    image = paper * (1 - 0.92 * ink) * scan_lighting(rng, height, width)
    return finish_scan(rng, image)


def paper_texture(rng: np.random.Generator, height: int, width: int, base: float) -> np.ndarray:
    fibres = cv2.GaussianBlur(rng.normal(0, 1, size=(height, width)).astype(np.float32), (0, 0), 1.2)
    return base + 0.02 * fibres


def scan_lighting(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A smooth brightness field: darker toward one corner, as a flatbed scan of a curled page."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    gx, gy = rng.normal(0, 0.12, size=2)
    field = 1 + gx * (x / width - 0.5) + gy * (y / height - 0.5)
    return np.clip(field, 0.7, 1.15).astype(np.float32)


def finish_scan(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """Blur, sensor noise and JPEG compression of a [0, 1] float image -> uint8."""
    sigma = rng.uniform(0, 1.0)
    if sigma > 0.3:
        image = cv2.GaussianBlur(image, (0, 0), sigma)
    image = image + rng.normal(0, rng.uniform(0.005, 0.03), size=image.shape).astype(np.float32)
    pixels = np.clip(np.round(image * 255), 0, 255).astype(np.uint8)
    if rng.random() < 0.6:
        quality = int(rng.integers(35, 95))
        encoded = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, quality])[1]
        pixels = cv2.imdecode(encoded, cv2.IMREAD_UNCHANGED)
    return pixels


# --- paintings ---------------------------------------------------------------------------------


def painting_layout(
    rng: np.random.Generator, height: int, width: int, scale: float
) -> tuple[list[Stroke], list[Stroke]]:
    """Closed outlines of regions, painted in order (later ones on top), and inner detail lines."""
    size = np.array([width, height], np.float32)
    regions: list[Stroke] = []
    details: list[Stroke] = []
    area_units = height * width / 256**2
    # A central figure (halo and body) as Thangka have, then ornaments around it.
    center = size / 2 + rng.normal(0, 0.08, size=2) * size
    for axes in (size * rng.uniform(0.28, 0.4), size * rng.uniform(0.16, 0.24)):
        regions.append(Stroke(ellipse_points(center, axes, 0.0, rng.normal(0, 0.03, 5)), 2.0, True))
    for _ in range(rng.poisson(6 * area_units) + 3):
        # petals and clouds (wobbly ellipses), and polygons
        points = closed_shape(
            rng, size, (10, 55), scale, p_ellipse=0.6, wobble=0.1, knots=(3, 8), corners=(3, 8)
        )
        regions.append(Stroke(points, float(rng.choice([1.5, 2.0, 2.5, 3.0])) * max(scale, 0.6), True))
    for _ in range(rng.poisson(4 * area_units)):  # folds of cloth, flames, hair: open curves
        start = rng.uniform(0, size)
        control = start + np.cumsum(rng.normal(0, 20 * scale, size=(4, 2)), axis=0)
        details.append(Stroke(bezier(control, 24), float(rng.choice([1.0, 1.5, 2.0])) * max(scale, 0.6)))
    return regions, details


def paint_regions(
    rng: np.random.Generator, regions: list[Stroke], details: list[Stroke], height: int, width: int
) -> tuple[np.ndarray, np.ndarray]:
    """Colours (H, W, 3) float RGB in [0, 1], and the visible outlines (H, W) float ink in [0, 1].

    Regions are painted in order, each hiding what lies under it, outlines included, as a painter
    lays pigment and then inks each shape; the outlines left visible are the target.
    """
    image = np.empty((height, width, 3), np.float32)
    image[:] = np.array([214, 200, 168], np.float32) / 255  # primed cotton (gesso)
    ink = np.zeros((height, width), np.float32)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    for region in regions:
        mask = np.zeros((height, width), np.float32)
        cv2.fillPoly(mask, [np.round(region.points * 16).astype(np.int32)], 1.0, cv2.LINE_AA, shift=4)
        colour = PIGMENTS[rng.integers(len(PIGMENTS))] / 255
        # shading toward a random direction, as painters model volume
        gx, gy = rng.normal(0, 0.6, size=2) / max(height, width)
        shade = np.clip(1 + gx * (x - width / 2) + gy * (y - height / 2), 0.6, 1.3)[..., None]
        image = image * (1 - mask[..., None]) + np.clip(colour * shade, 0, 1) * mask[..., None]
        ink *= 1 - mask
        draw_polyline(ink, region.points, region.width, 1.0, True)
    for stroke in details:
        draw_polyline(ink, stroke.points, stroke.width, 1.0, stroke.closed)
    return image, ink


def aged_painting(
    rng: np.random.Generator,
    regions: list[Stroke],
    details: list[Stroke],
    height: int,
    width: int,
    scale: float,
) -> tuple[np.ndarray, np.ndarray]:
    """(H, W, 3) uint8 RGB painting after centuries of wear, and its clean outlines (H, W) uint8."""
    image, outlines = paint_regions(rng, regions, details, height, width)
    # ink of uneven strength: some paintings have faint outlines, and wear fades them in patches
    fading = cv2.GaussianBlur(
        rng.uniform(0, 1, size=(height, width)).astype(np.float32), (0, 0), 12 * scale + 1
    )
    fading = (fading - fading.min()) / max(float(np.ptp(fading)), 1e-6)
    strength = rng.uniform(0.5, 1.0) * (0.7 + 0.3 * fading)
    ink = (outlines * strength)[..., None]
    image = image * (1 - ink) + np.array([30, 22, 18], np.float32) / 255 * ink
    # ageing: fading toward the ground, yellowed varnish, stains, craquelure, cloth weave
    fade = rng.uniform(0, 0.3)
    image = image * (1 - fade) + fade * np.array([0.84, 0.78, 0.64], np.float32)
    image *= np.array([1.0, rng.uniform(0.9, 1.0), rng.uniform(0.7, 0.92)], np.float32)
    for _ in range(rng.poisson(2)):
        stain = np.zeros((height, width), np.float32)
        center = tuple(int(v) for v in rng.uniform(0, (width, height)))
        cv2.circle(stain, center, int(rng.uniform(10, 60) * scale), 1.0, -1)
        stain = cv2.GaussianBlur(stain, (0, 0), 8 * scale + 1)
        image *= 1 - rng.uniform(0.1, 0.3) * stain[..., None] * np.array([0.3, 0.5, 0.9], np.float32)
    cracks = np.zeros((height, width), np.float32)
    for _ in range(rng.poisson(6 * height * width / 256**2)):
        walk = np.cumsum(rng.normal(0, 3 * scale, size=(12, 2)), axis=0) + rng.uniform(0, (width, height))
        draw_polyline(cracks, walk, 1, float(rng.uniform(0.1, 0.35)), False)
    image *= 1 - cracks[..., None]
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    period = rng.uniform(2.5, 4.0)
    weave = 1 + 0.025 * np.sin(2 * np.pi * x / period) * np.sin(2 * np.pi * y / period)
    image *= weave[..., None] * scan_lighting(rng, height, width)[..., None]
    target = np.round(255 * (1 - np.clip(outlines, 0, 1))).astype(np.uint8)
    return finish_scan(rng, image), target


# --- on disk ---------------------------------------------------------------------------------------

# Pairs written by `toolkit synth` take seeds from their own range, disjoint from the ranges training
# draws from (toolkit.data.datasets): a written set is held out from every training run.
HELD_OUT_SEED_OFFSET = 20_000_000


def held_out_seed(seed: int, index: int) -> int:
    return HELD_OUT_SEED_OFFSET + seed * 100_003 + index


def write_pairs(
    kind: str,
    count: int,
    size: int,
    seed: int,
    root: Path,
    overwrite: bool = False,
    track: Callable[[range], Iterable[int]] = iter,
) -> list[tuple[Path, Path]]:
    """`count` pairs as ROOT/input/NNNNN.png and ROOT/target/NNNNN.png (the reference layout)."""
    written = []
    for index in track(range(count)):
        image, target = make_pair(kind, size, size, held_out_seed(seed, index))
        paths = (root / "input" / f"{index:05d}.png", root / "target" / f"{index:05d}.png")
        for path, pixels in zip(paths, (image, target)):
            write_png(path, pixels, overwrite)
        written.append(paths)
    return written


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
