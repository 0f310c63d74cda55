"""Where a painting model's line errors come from, pixel by pixel, on a held-out set written by
`toolkit synth` (its pages.json gives each page's seed and factors).

Each ageing effect draws from a random stream of its own, so a page redrawn with one effect switched
off differs from the page only where that effect is: that difference is the effect's layer. A false
line pixel (the prediction's centre line farther than 2 px from the target's) is charged to the
first layer of FALSE_ORDER within 2 px of it; a missed target pixel likewise (MISSED_ORDER). Shares
are of all predicted (false) or target (missed) centre-line pixels: 1 - the sum is the precision or
recall. The drawn ink before the visibility rule
(`paint_regions`' outlines) and the fills' colour edges are layers too: a false line on real ink that
the target dropped as invisible is a different error from one on a crack.

    python docs/measurements/2026-12-06/thirty-second-session/error_sources.py data/held31-painting-512 \
        --model contour --out error-sources-contour.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np
from skimage.morphology import skeletonize

from toolkit import LineModel, read_image
from toolkit.analysis.metrics import DEFAULT_RADIUS, distance_to
from toolkit.data.synthetic import (
    BRIDGE_PX,
    OUTLINE_INKS,
    VISIBLE_CONTRAST,
    aged,
    grown_along,
    make_pair,
    ornament,
    paint_regions,
    painting_layout,
    worn_ink,
)

# effect: the factor values that switch it off
SWITCHED_OFF = {
    "cracks": {"crack_density": 0.0, "long_cracks": 0.0},
    "paint_loss": {"paint_loss": 0.0},
    "stains": {"stains": 0.0},
    "folds": {"folds": 0.0},
    "ornament": {"ornament": 0.0},
    "misregistration": {"misregistration": 0.0},
    "outline_wear": {"outline_wear": 0.0},
}
CHANGED = 12 / 255  # a layer is where switching its effect off moves the scan by this much
# the order in which an error is charged: a false line on a target stroke (a branch of the centre line
# of a thick stroke) is the thinning's; on other drawn ink, the visibility rule's doing before it is
# the crack's beside it; a missed line on a predicted stroke is the thinning's too, one where the ink
# wore away the wear's
FALSE_ORDER = (
    "target_stroke", "ink_drawn", "cracks", "paint_loss", "stains", "folds", "ornament", "colour_edge"
)
MISSED_ORDER = (
    "pred_stroke", "outline_wear", "paint_loss", "cracks", "stains", "folds", "misregistration", "ornament"
)


def held_out_set(parser: argparse.ArgumentParser | None = None) -> tuple[argparse.Namespace, dict]:
    """The command line's held-out FOLDER and --model (and whatever `parser` adds), and the set's
    pages.json record."""
    parser = parser or argparse.ArgumentParser()
    parser.add_argument("folder", type=Path)
    parser.add_argument("--model", default="contour")
    args = parser.parse_args()
    return args, json.loads((args.folder / "pages.json").read_text())


def fp32_model(model: str) -> LineModel:
    """A shipped name in FP32, or a graph file as it is (`--precision` is for names only)."""
    return LineModel(model) if model.endswith(".onnx") else LineModel(model, precision="fp32")


def near(mask: np.ndarray, radius: int = DEFAULT_RADIUS) -> np.ndarray:
    distance = distance_to(mask)
    return np.zeros_like(mask) if distance is None else distance <= radius


def layers(seed: int, factors: dict[str, float], shape: tuple[int, int]) -> dict[str, np.ndarray]:
    height, width = shape
    full, _ = make_pair("painting", height, width, seed, factors=factors)
    full = full.astype(np.float32) / 255
    out = {}
    for effect, off in SWITCHED_OFF.items():
        without, _ = make_pair("painting", height, width, seed, factors=factors | off)
        out[effect] = np.abs(full - without.astype(np.float32) / 255).max(axis=2) > CHANGED
    scale = min(height, width) / 256
    regions, details = painting_layout(np.random.default_rng(seed), height, width, scale)
    fills, ink = paint_regions(seed, regions, details, shape, factors)
    out["ink_drawn"] = ink > 0.05
    edges = cv2.Canny(np.round(fills * 255).astype(np.uint8), 20, 60) > 0
    out["colour_edge"] = edges
    return out


def page_ink(
    seed: int, factors: dict[str, float], shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray, float]:
    """(outlines, contrast, scale) of a painting page, redrawn as `aged_painting` draws it: the inked
    outlines no later region covers, and how much the ink changes the aged scan, the two things
    `visible_outlines` makes the target from."""
    height, width = shape
    scale = min(height, width) / 256
    regions, details = painting_layout(np.random.default_rng(seed), height, width, scale)
    image, outlines = paint_regions(seed, regions, details, shape, factors)
    image = ornament(seed, image, scale, factors["ornament"])
    ink = worn_ink(seed, outlines, scale, factors)[..., None]
    colour = OUTLINE_INKS[int(factors["outline_colour"])]
    painted = aged(seed, image * (1 - ink) + colour * ink, scale, factors)
    contrast = np.abs(painted - aged(seed, image, scale, factors)).max(axis=2)
    return outlines, contrast, scale


def target_parts(seed: int, factors: dict[str, float], shape: tuple[int, int]) -> dict[str, np.ndarray]:
    """The target's pixels by why they are in it (`visible_outlines`, redone step by step): `seen` in
    the scan; `bridged`, grown along the outline across a break between two seen parts; `stub`, grown
    into a break from one side only (a break longer than the bridge): a guess no scan supports."""
    outlines, contrast, scale = page_ink(seed, factors, shape)
    line = (outlines > 0.05).astype(np.uint8)
    seen = ((outlines > 0.5) & (contrast >= VISIBLE_CONTRAST)).astype(np.uint8)
    grown = grown_along(seen, line, round(BRIDGE_PX * max(scale, 0.5)))
    kept = (outlines * grown) >= 0.5  # as the written target is binarised
    added = kept & ~seen.astype(bool)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(added.astype(np.uint8), connectivity=8)
    bridged = np.zeros(shape, bool)
    for index in range(1, count):
        x, y, w, h = stats[index, :4]
        window = (slice(max(y - 2, 0), y + h + 2), slice(max(x - 2, 0), x + w + 2))
        part = labels[window] == index
        contact = cv2.dilate(part.astype(np.uint8), np.ones((3, 3), np.uint8)) & seen[window]
        if cv2.connectedComponents(contact, connectivity=8)[0] - 1 >= 2:  # touches seen ink twice
            bridged[window] |= part
    return {"seen": kept & seen.astype(bool), "bridged": bridged, "stub": added & ~bridged}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=0, help="first N pages (0: all)")
    parser.add_argument("--out", type=Path, required=True)
    args, record = held_out_set(parser)
    stems = sorted(record["pages"])[: args.pages or None]
    totals: dict[str, float] = {}

    def add(key: str, value: float) -> None:
        totals[key] = totals.get(key, 0) + value

    with fp32_model(args.model) as model:
        for stem in stems:
            page = record["pages"][stem]
            image = read_image(args.folder / "input" / f"{stem}.png")
            target = cv2.imread(str(args.folder / "target" / f"{stem}.png"), cv2.IMREAD_GRAYSCALE) < 128
            pred = model.probability(image) > 0.5
            thin_pred, thin_target = skeletonize(pred), skeletonize(target)
            false = thin_pred & ~near(thin_target)
            missed = thin_target & ~near(thin_pred)
            add("pred_lines", thin_pred.sum())
            add("target_lines", thin_target.sum())
            add("false", false.sum())
            add("missed", missed.sum())
            found = layers(page["seed"], page["factors"], target.shape)
            close = {name: near(mask) for name, mask in found.items()}
            close["target_stroke"], close["pred_stroke"] = near(target, 1), near(pred, 1)
            for kind, errors, order in (("false", false, FALSE_ORDER), ("missed", missed, MISSED_ORDER)):
                left = errors.copy()
                for name in order:  # each error pixel charged once, to the first layer near it
                    add(f"{kind}_{name}", (left & close[name]).sum())
                    left &= ~close[name]
                add(f"{kind}_nothing", left.sum())
            parts = target_parts(page["seed"], page["factors"], target.shape)
            for name, part in parts.items():  # the centre line's pixels nearest each part
                owner = near(part, 1)
                add(f"target_part_{name}", (thin_target & owner).sum())
                add(f"missed_part_{name}", (missed & owner).sum())
            print(stem, f"false {false.sum()} missed {missed.sum()}", flush=True)
    totals = {key: int(value) for key, value in totals.items()}
    precision = 1 - totals["false"] / totals["pred_lines"]
    recall = 1 - totals["missed"] / totals["target_lines"]
    summary = {
        "folder": str(args.folder),
        "model": args.model,
        "pages": len(stems),
        "line_precision": precision,
        "line_recall": recall,
        "line_f1": 2 * precision * recall / (precision + recall),
        "false_per_predicted": {
            key.removeprefix("false_"): round(value / totals["pred_lines"], 4)
            for key, value in totals.items()
            if key.startswith("false_")
        },
        "missed_per_target": {
            key.removeprefix("missed_"): round(value / totals["target_lines"], 4)
            for key, value in totals.items()
            if key.startswith("missed_") and not key.startswith("missed_part_")
        },
        "target_parts": {
            name: {
                "share_of_target": round(totals[f"target_part_{name}"] / totals["target_lines"], 4),
                "missed_share_of_part": round(
                    totals[f"missed_part_{name}"] / max(totals[f"target_part_{name}"], 1), 4
                ),
            }
            for name in ("seen", "bridged", "stub")
        },
        "counts": totals,
    }
    args.out.write_text(json.dumps(summary, indent=1))
    print(json.dumps({k: v for k, v in summary.items() if k != "counts"}, indent=1))


if __name__ == "__main__":
    main()
