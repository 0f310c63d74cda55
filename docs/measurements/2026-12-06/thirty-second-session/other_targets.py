"""The shipped `contour` scored against two other painting targets than today's: one without the
one-sided stubs, and the intended outlines whole.

`visible_outlines` grows what the scan shows BRIDGE_PX along the outline in both directions, so a
break up to twice that long is drawn through, and a longer one gets BRIDGE_PX of line from each
side that the scan does not show. Here those stubs are taken back (bridge_rule.bridged_outlines at
today's reach). The page is redrawn step by step (error_sources.page_ink); the library's generator is
not changed. Tried 2026-12-06 and reverted (docs/training.md, "What `contour`'s errors
lie on"). The intended outlines are every outline the painter inked and no later region covers, seen
in the scan or not: what a target of "the intended outline" would hold, as an independent check's
painting generator might draw it.

    python docs/measurements/2026-12-06/thirty-second-session/other_targets.py data/held31-painting-512
"""

from __future__ import annotations

import cv2
import numpy as np
from bridge_rule import bridged_outlines
from error_sources import fp32_model, held_out_set, page_ink

from toolkit import read_image
from toolkit.analysis.metrics import add_counts, all_counts, scores


def other_targets(
    seed: int, factors: dict[str, float], shape: tuple[int, int]
) -> dict[str, np.ndarray]:
    """(H, W) bool each: `stub-free`, the page's outlines that show and the breaks between two shown
    parts; `intended`, every outline inked and left uncovered."""
    outlines, contrast, scale = page_ink(seed, factors, shape)
    stub_free = bridged_outlines(outlines, contrast, scale, reach=1) > 0.5
    return {"stub-free": stub_free, "intended": outlines > 0.5}


def main() -> None:
    args, record = held_out_set()
    counts: dict[str, dict[str, int]] = {"today": {}, "stub-free": {}, "intended": {}}
    pixels = dict.fromkeys(counts, 0)
    with fp32_model(args.model) as model:
        for stem, page in sorted(record["pages"].items()):
            image = read_image(args.folder / "input" / f"{stem}.png")
            target = cv2.imread(str(args.folder / "target" / f"{stem}.png"), cv2.IMREAD_GRAYSCALE) < 128
            targets = {"today": target} | other_targets(page["seed"], page["factors"], target.shape)
            pred = model.probability(image) > 0.5
            for name, pixels_of in targets.items():
                counts[name] = add_counts(counts[name], all_counts(pred, pixels_of))
                pixels[name] += int(pixels_of.sum())
    print(args.folder)
    for name, summed in counts.items():
        s = scores(summed)
        p, r = s["line_precision"], s["line_recall"]
        size = pixels[name] / pixels["today"]
        f1 = s["line_f1"]
        print(f"  {name} target ({size:.3f} of today's pixels): line F1 {f1:.4f} (P {p:.4f} / R {r:.4f})")


if __name__ == "__main__":
    main()
