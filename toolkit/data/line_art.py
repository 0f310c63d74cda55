"""Clean line art with the structure of real drawings, composed from procedural parts.

Loose scribbles teach a network little about drawings: real line art has closed shapes with details
inside, T/X/Y junctions where lines meet, sharp corners, genuinely parallel or concentric lines a few
pixels apart (which must stay two lines), dots and short dashes, long smooth contours, and dense and
sparse regions on one page. A page here is composed of objects built from those parts (vessels,
buildings, flowers, leaves, figures, bundles of parallel and concentric lines, stipple and dashes,
long contours, hatching, lettering), placed densely around a few clusters and sparsely elsewhere.
Every part is our own procedural geometry, drawn from the random generator it is given.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

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


# --- geometry ------------------------------------------------------------------------------------


def bezier(control: np.ndarray, samples: int) -> np.ndarray:
    """Points of the cubic Bezier curve through 4 control points."""
    t = np.linspace(0.0, 1.0, samples)[:, None]
    c0, c1, c2, c3 = control
    return (1 - t) ** 3 * c0 + 3 * (1 - t) ** 2 * t * c1 + 3 * (1 - t) * t**2 * c2 + t**3 * c3


def ellipse_points(
    center: np.ndarray, axes: np.ndarray, angle: float, wobble: np.ndarray, samples: int = 64
) -> np.ndarray:
    """A closed ellipse-like loop; `wobble` (M,) bends its radius smoothly (M >= 3)."""
    theta = np.linspace(0, 2 * np.pi, samples, endpoint=False)
    radius = 1.0 + np.interp(theta, np.linspace(0, 2 * np.pi, len(wobble) + 1), np.append(wobble, wobble[0]))
    x, y = axes[0] * np.cos(theta) * radius, axes[1] * np.sin(theta) * radius
    return rotate(np.stack([x, y], axis=1), angle) + center


def rotate(points: np.ndarray, angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return points @ np.array([[c, s], [-s, c]])


def closed_shape(
    rng: np.random.Generator,
    canvas: np.ndarray,
    axes_range: tuple[float, float],
    scale: float,
    *,
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


def offset_curve(points: np.ndarray, distance: float) -> np.ndarray:
    """The curve moved `distance` px along its normals: a genuinely parallel line."""
    tangent = np.gradient(points, axis=0)
    tangent /= np.maximum(np.linalg.norm(tangent, axis=1, keepdims=True), 1e-6)
    return points + np.stack([-tangent[:, 1], tangent[:, 0]], axis=1) * distance


def vec(x: float, y: float) -> np.ndarray:
    return np.array([x, y], np.float64)


def polyline(*points: tuple[float, float]) -> np.ndarray:
    return np.asarray(points, np.float64)


# --- objects: each returns strokes around `center`, about `size` px across ---------------------------

Part = Callable[[np.random.Generator, np.ndarray, float, float], list[Stroke]]


def parallel_gap(rng: np.random.Generator, width: float) -> float:
    """Centre distance of two lines with 2-6 px of clear paper between them."""
    return width + rng.uniform(2.0, 6.0)


def vessel(rng: np.random.Generator, center: np.ndarray, size: float, width: float) -> list[Stroke]:
    """A symmetric pot: profile curves, rim ellipse, foot, and decoration bands around the body."""
    height = size * rng.uniform(0.7, 1.1)
    rim, belly, foot = (size * rng.uniform(lo, hi) for lo, hi in ((0.12, 0.3), (0.3, 0.5), (0.12, 0.3)))
    top, bottom = center[1] - height / 2, center[1] + height / 2
    ys = np.linspace(top, bottom, 40)
    t = np.linspace(0, 1, 40)
    radius = rim + (belly - rim) * np.sin(np.pi * np.clip(t * 1.2, 0, 1)) ** 1.5
    radius = np.where(t > 0.8, radius + (foot - radius) * (t - 0.8) / 0.2, radius)
    left = np.stack([center[0] - radius, ys], 1)
    right = np.stack([center[0] + radius, ys], 1)
    strokes = [Stroke(left, width), Stroke(right, width)]
    strokes.append(
        Stroke(
            ellipse_points(np.array([center[0], top]), np.array([rim, rim * 0.25]), 0, np.zeros(3)),
            width,
            True,
        )
    )
    strokes.append(Stroke(polyline((center[0] - foot, bottom), (center[0] + foot, bottom)), width))
    band_width = max(1.0, width * 0.6)
    for _ in range(int(rng.integers(0, 3))):  # bands: pairs of lines across the body, a gap apart
        row = int(rng.integers(8, 32))
        gap = parallel_gap(rng, band_width)
        for offset in (0.0, gap):
            y = ys[row] + offset
            r = np.interp(y, ys, radius)
            strokes.append(Stroke(polyline((center[0] - r, y), (center[0] + r, y)), band_width))
    if rng.random() < 0.5:  # handles: loops meeting the profile in T junctions
        for side in (-1, 1):
            y0, y1 = ys[6], ys[20]
            x0 = center[0] + side * np.interp(y0, ys, radius)
            x1 = center[0] + side * np.interp(y1, ys, radius)
            reach = side * size * rng.uniform(0.12, 0.25)
            strokes.append(
                Stroke(bezier(polyline((x0, y0), (x0 + reach, y0), (x1 + reach, y1), (x1, y1)), 16), width)
            )
    return strokes


def building(rng: np.random.Generator, center: np.ndarray, size: float, width: float) -> list[Stroke]:
    """A house: walls, a roof meeting them in corners and T junctions, windows with crosses, a door."""
    w, h = size * rng.uniform(0.5, 0.9), size * rng.uniform(0.4, 0.7)
    x0, y0, x1, y1 = center[0] - w / 2, center[1] - h / 3, center[0] + w / 2, center[1] + 2 * h / 3
    strokes = [Stroke(polyline((x0, y0), (x1, y0), (x1, y1), (x0, y1)), width, True)]
    apex = (center[0] + rng.uniform(-0.2, 0.2) * w, y0 - h * rng.uniform(0.3, 0.7))
    eave = w * rng.uniform(0.0, 0.12)
    strokes.append(Stroke(polyline((x0 - eave, y0), apex, (x1 + eave, y0)), width))
    thin = max(1.0, width * 0.7)
    for _ in range(int(rng.integers(1, 5))):  # windows: a square with a cross (X and T junctions)
        s = min(w, h) * rng.uniform(0.1, 0.2)
        cx, cy = rng.uniform(x0 + s, x1 - s), rng.uniform(y0 + s, y1 - 1.5 * s)
        strokes.append(
            Stroke(
                polyline(
                    (cx - s / 2, cy - s / 2),
                    (cx + s / 2, cy - s / 2),
                    (cx + s / 2, cy + s / 2),
                    (cx - s / 2, cy + s / 2),
                ),
                thin,
                True,
            )
        )
        strokes.append(Stroke(polyline((cx, cy - s / 2), (cx, cy + s / 2)), thin))
        strokes.append(Stroke(polyline((cx - s / 2, cy), (cx + s / 2, cy)), thin))
    dx = rng.uniform(x0 + 0.1 * w, x1 - 0.25 * w)
    strokes.append(
        Stroke(
            polyline((dx, y1), (dx, y1 - h * 0.4), (dx + 0.15 * w, y1 - h * 0.4), (dx + 0.15 * w, y1)), width
        )
    )
    return strokes


def leaf(
    rng: np.random.Generator, center: np.ndarray, size: float, width: float, angle: float | None = None
) -> list[Stroke]:
    """A leaf: two arcs meeting in points, a midrib, and veins meeting it in Y junctions."""
    length, breadth = size * rng.uniform(0.5, 1.0), size * rng.uniform(0.15, 0.35)
    angle = rng.uniform(0, 2 * np.pi) if angle is None else angle
    tip, base = np.array([length / 2, 0.0]), np.array([-length / 2, 0.0])
    upper = bezier(np.stack([base, (-length / 6, -breadth), (length / 6, -breadth), tip]), 24)
    lower = bezier(np.stack([base, (-length / 6, breadth), (length / 6, breadth), tip]), 24)
    thin = max(1.0, width * 0.6)
    shapes = [(upper, width), (lower, width), (polyline(tuple(base), tuple(tip)), thin)]
    for i in range(int(rng.integers(2, 6))):
        x = -length / 2 + length * (i + 1) / 7
        for side in (-1, 1):
            edge_y = side * breadth * 0.65 * np.sin(np.pi * (x + length / 2) / length)
            shapes.append((polyline((x, 0.0), (x + length * 0.1, edge_y)), thin))
    return [Stroke(rotate(p, angle) + center, w) for p, w in shapes]


def flower(rng: np.random.Generator, center: np.ndarray, size: float, width: float) -> list[Stroke]:
    """Petals around a double (concentric) centre, a long stem, and leaves on it."""
    radius = size * rng.uniform(0.08, 0.14)
    strokes = [Stroke(ellipse_points(center, np.array([radius, radius]), 0, np.zeros(3)), width, True)]
    if rng.random() < 0.6:
        inner = radius - parallel_gap(rng, width)
        if inner > 2:
            strokes.append(
                Stroke(ellipse_points(center, np.array([inner, inner]), 0, np.zeros(3)), width, True)
            )
    petals = int(rng.integers(5, 10))
    length = size * rng.uniform(0.18, 0.3)
    for i in range(petals):
        a = 2 * np.pi * i / petals + rng.normal(0, 0.05)
        direction = np.array([np.cos(a), np.sin(a)])
        start = center + direction * radius
        half = length * 0.45
        axes = np.array([half, half * rng.uniform(0.35, 0.55)])
        petal = ellipse_points(start + direction * half, axes, a, rng.normal(0, 0.04, 5), 32)
        strokes.append(Stroke(petal, width, True))
    stem = bezier(
        np.stack(
            [
                center,
                center + vec(rng.normal(0, 0.2) * size, size * 0.3),
                center + vec(rng.normal(0, 0.2) * size, size * 0.6),
                center + vec(rng.normal(0, 0.1) * size, size * 0.9),
            ]
        ),
        32,
    )
    strokes.append(Stroke(stem, width))
    for _ in range(int(rng.integers(0, 3))):
        at = stem[int(rng.integers(8, 28))]
        strokes += leaf(
            rng,
            at + vec(rng.choice([-1, 1]) * size * 0.15, 0),
            size * 0.35,
            width,
            rng.uniform(-0.8, 0.8) + np.pi * rng.integers(2),
        )
    return strokes


def figure(rng: np.random.Generator, center: np.ndarray, size: float, width: float) -> list[Stroke]:
    """A person: head with dot eyes and a dash mouth, a closed torso, limbs as double contours."""
    head = size * rng.uniform(0.08, 0.12)
    neck = center + vec(0, -size * 0.25)
    head_center = neck + vec(0, -head)
    strokes = [
        Stroke(
            ellipse_points(head_center, np.array([head * 0.85, head]), 0, rng.normal(0, 0.03, 4)), width, True
        )
    ]
    dot = max(1.0, width * 0.8)
    for side in (-1, 1):  # eyes: dots
        eye = head_center + vec(side * head * 0.35, -head * 0.1)
        strokes.append(Stroke(polyline(tuple(eye), tuple(eye + vec(0.5, 0))), dot * 1.6))
    strokes.append(
        Stroke(
            polyline(
                tuple(head_center + vec(-head * 0.3, head * 0.45)),
                tuple(head_center + vec(head * 0.3, head * 0.45)),
            ),
            max(1.0, width * 0.6),
        )
    )
    shoulders, hips = size * rng.uniform(0.12, 0.2), size * rng.uniform(0.1, 0.16)
    waist = center + vec(0, size * 0.12)
    torso = polyline(
        tuple(neck + vec(-shoulders, 0)),
        tuple(neck + vec(shoulders, 0)),
        tuple(waist + vec(hips, 0)),
        tuple(waist + vec(-hips, 0)),
    )
    strokes.append(Stroke(torso, width, True))
    limb = max(3.0, size * 0.04)
    for start, reach in (
        (neck + vec(-shoulders, 0), (-size * 0.2, size * 0.25)),
        (neck + vec(shoulders, 0), (size * 0.2, size * 0.25)),
        (waist + vec(-hips * 0.5, 0), (-size * 0.08, size * 0.35)),
        (waist + vec(hips * 0.5, 0), (size * 0.08, size * 0.35)),
    ):
        bend = np.asarray(reach) * 0.5 + rng.normal(0, size * 0.04, 2)
        bone = bezier(np.stack([start, start + bend * 0.6, start + bend, start + np.asarray(reach)]), 20)
        strokes.append(Stroke(offset_curve(bone, limb / 2), width))
        strokes.append(Stroke(offset_curve(bone, -limb / 2), width))
    return strokes


def concentric(rng: np.random.Generator, center: np.ndarray, size: float, width: float) -> list[Stroke]:
    """Rings or parallel curves 2-6 px apart: each must stay its own line."""
    strokes = []
    if rng.random() < 0.5:
        radius, aspect, angle = size * rng.uniform(0.15, 0.45), rng.uniform(0.5, 1.0), rng.uniform(0, np.pi)
        wobble = rng.normal(0, 0.03, 5)
        for _ in range(int(rng.integers(2, 6))):
            if radius < 3:
                break
            strokes.append(
                Stroke(
                    ellipse_points(center, np.array([radius, radius * aspect]), angle, wobble), width, True
                )
            )
            radius -= parallel_gap(rng, width)
        return strokes
    span = size * rng.uniform(0.4, 1.0)
    start = center - rng.uniform(-1, 1, 2) * span / 2
    base = bezier(start + np.cumsum(rng.normal(0, span / 3, size=(4, 2)), axis=0), 40)
    gap = parallel_gap(rng, width)
    for i in range(int(rng.integers(2, 5))):
        strokes.append(Stroke(offset_curve(base, i * gap), width))
    return strokes


def stipple_and_dashes(
    rng: np.random.Generator, center: np.ndarray, size: float, width: float
) -> list[Stroke]:
    """Small details: a cluster of dots, or a dashed line."""
    if rng.random() < 0.5:
        dots = center + rng.normal(0, size * 0.12, size=(int(rng.integers(5, 25)), 2))
        return [
            Stroke(polyline(tuple(p), tuple(p + vec(0.5, 0))), max(1.5, width * rng.uniform(0.8, 1.6)))
            for p in dots
        ]
    path = bezier(center + np.cumsum(rng.normal(0, size * 0.25, size=(4, 2)), axis=0), 80)
    dash, skip = int(rng.integers(3, 8)), int(rng.integers(2, 6))
    return [Stroke(path[i : i + dash], width) for i in range(0, len(path) - dash, dash + skip)]


def hatching(rng: np.random.Generator, center: np.ndarray, size: float, width: float) -> list[Stroke]:
    """Parallel strokes in a patch, meant to stay (the target has them)."""
    angle = rng.uniform(0, np.pi)
    direction = np.array([np.cos(angle), np.sin(angle)])
    normal = np.array([-direction[1], direction[0]])
    length, gap = size * rng.uniform(0.2, 0.5), parallel_gap(rng, width) * rng.uniform(1.0, 2.0)
    w = max(1.0, width * rng.uniform(0.5, 0.9))
    return [
        Stroke(np.stack([a, a + direction * length]), w)
        for a in (center + normal * gap * i for i in range(int(rng.integers(4, 10))))
    ]


def scribble(rng: np.random.Generator, center: np.ndarray, size: float, width: float) -> list[Stroke]:
    """A free curve or a closed blob: the loose marks pages have between objects."""
    if rng.random() < 0.5:
        control = center + np.cumsum(rng.normal(0, size * 0.25, size=(4, 2)), axis=0)
        return [Stroke(bezier(control, 32), width)]
    axes = rng.uniform(0.1, 0.4, size=2) * size
    if rng.random() < 0.5:
        return [
            Stroke(ellipse_points(center, axes, rng.uniform(0, np.pi), rng.normal(0, 0.06, 5)), width, True)
        ]
    angles = np.sort(rng.uniform(0, 2 * np.pi, int(rng.integers(3, 7))))
    return [Stroke(center + np.stack([np.cos(angles), np.sin(angles)], 1) * axes, width, True)]


# Object kinds and how often they are chosen
OBJECTS: dict[str, tuple[Part, float]] = {
    "vessel": (vessel, 1.0),
    "building": (building, 1.0),
    "flower": (flower, 1.0),
    "leaf": (leaf, 0.8),
    "figure": (figure, 0.8),
    "concentric": (concentric, 1.2),
    "stipple": (stipple_and_dashes, 0.8),
    "hatching": (hatching, 0.7),
    "scribble": (scribble, 1.0),
}


def long_contour(rng: np.random.Generator, size: np.ndarray, width: float) -> Stroke:
    """A long smooth line across much of the page (horizon, drapery, a border)."""
    knots = int(rng.integers(3, 6))
    xs = np.linspace(-0.1, 1.1, knots) * size[0]
    ys = rng.uniform(0.1, 0.9) * size[1] + np.cumsum(rng.normal(0, 0.12 * size[1], knots))
    points = np.stack([xs, ys], 1)
    if rng.random() < 0.5:
        points = points[:, ::-1] * (size[0] / size[1], size[1] / size[0])  # vertical instead
    t = np.linspace(0, 1, 96)
    smooth = np.stack([np.interp(t, np.linspace(0, 1, knots), points[:, i]) for i in range(2)], 1)
    smooth = cv2.GaussianBlur(smooth[:, None].astype(np.float32), (1, 31), 0)[:, 0].astype(np.float64)
    return Stroke(smooth, width)


def lettering(rng: np.random.Generator, height: int, width: int, scale: float) -> Text:
    word = "".join(rng.choice(list(LETTERS), size=int(rng.integers(1, 6))))
    font_scale = float(rng.uniform(0.5, 1.6) * scale)
    origin = (int(rng.uniform(0, width * 0.8)), int(rng.uniform(height * 0.15, height)))
    return Text(word, origin, int(rng.choice(FONTS)), font_scale, max(1, round(font_scale * 1.6)))


def page_units(height: int, width: int, scale: float) -> float:
    """How many 256-px pages of elements a page holds: elements grow with `scale`, so a square page
    holds one at any size, and a long page (768x1024) one and a third."""
    return height * width / (256 * max(scale, 1e-3)) ** 2


def compose_page(
    rng: np.random.Generator, height: int, width: int, scale: float, stroke_width: float
) -> tuple[list[Stroke], list[Text]]:
    """A page of objects: dense around a few clusters, sparse elsewhere; widths vary around
    `stroke_width` (px at the input's scale)."""
    size = np.array([width, height], np.float64)
    # a page drawn with a thick pencil is drawn larger: objects grow with the width, so that 8 px
    # strokes stay legible, and the page is a window onto that larger drawing, holding fewer of them
    # (with the count of a 2.5 px page, 8 px pages were 46 % ink, strokes merged into blobs)
    drawing_scale = scale * max(1.0, stroke_width / 3)
    area_units = page_units(height, width, drawing_scale)
    density = rng.uniform(0.5, 2.0)  # sparse to busy pages
    clusters = rng.uniform(0.15, 0.85, size=(int(rng.integers(1, 4)), 2)) * size
    names = list(OBJECTS)
    weights = np.array([OBJECTS[n][1] for n in names])
    strokes: list[Stroke] = []
    for _ in range(int(rng.poisson(6 * density * area_units)) + 2):
        if rng.random() < 0.6:
            center = clusters[rng.integers(len(clusters))] + rng.normal(0, 0.12, 2) * size
        else:
            center = rng.uniform(0, size)
        part = OBJECTS[names[rng.choice(len(names), p=weights / weights.sum())]][0]
        object_size = float(rng.uniform(40, 160) * drawing_scale)
        w = max(1.0, stroke_width * rng.uniform(0.6, 1.4))
        strokes += part(rng, center, object_size, w)
    for _ in range(int(rng.poisson(0.6 * area_units))):
        strokes.append(long_contour(rng, size, max(1.0, stroke_width * rng.uniform(0.6, 1.2))))
    texts = [lettering(rng, height, width, scale) for _ in range(int(rng.poisson(0.3 * area_units)))]
    return strokes, texts


def resampled(points: np.ndarray, closed: bool) -> np.ndarray:
    """Straight segments cut into short ones, so that a hand's wander can bend them."""
    if closed:
        points = np.concatenate([points, points[:1]])
    if len(points) >= 16:
        return points
    t = np.linspace(0, 1, 12)[:, None]
    return np.concatenate([(1 - t) * a + t * b for a, b in itertools.pairwise(points)])
