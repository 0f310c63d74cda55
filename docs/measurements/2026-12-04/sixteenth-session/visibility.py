"""Of the held-out paintings' target centre lines, how much does the ink change the scanned input, and
how much of each contrast band does the shipped `contour` find (within 2 px)? And its line F1 against
targets whose visibility is judged after the scan instead of before it.

toolkit infer data/heldout-painting/input --model contour --precision fp32 -o /tmp/pred --format binary
python docs/measurements/2026-12-04/sixteenth-session/visibility.py data/heldout-painting /tmp/pred

Each page is redrawn from its seed twice, with its ink and without, through the same ageing and scan
(noise, JPEG), as the generator does before the scan to decide what stays in the target
(toolkit.data.synthetic.visible_outlines); here the difference is taken after the scan, 3x3 maximum.
"""

import json
import sys
from pathlib import Path

import cv2
import numpy as np
from skimage.morphology import skeletonize

from toolkit.analysis.metrics import line_counts, scores
from toolkit.data import synthetic
from toolkit.data.factors import draw_factors

root = Path(sys.argv[1])
pred = Path(sys.argv[2])
pages = json.loads((root / "pages.json").read_text())
height, width = pages["height"], pages["width"]
bins = [0, 0.04, 0.07, 0.1, 0.15, 0.25, 1.01]
tot = np.zeros(len(bins) - 1)
hit = np.zeros(len(bins) - 1)
counts = {"before the scan (as shipped)": {}, "after the scan": {}}
for name, page in pages["pages"].items():
    seed = page["seed"]
    values = draw_factors("painting", seed, None)
    rng = np.random.default_rng(seed)
    scale = min(height, width) / 256
    regions, details = synthetic.painting_layout(rng, height, width, scale)
    image, outlines = synthetic.paint_regions(seed, regions, details, (height, width), values)
    image = synthetic.ornament(seed, image, scale, values["ornament"])
    ink = synthetic.worn_ink(seed, outlines, scale, values)[..., None]
    colour = synthetic.OUTLINE_INKS[int(values["outline_colour"])]
    painted = synthetic.aged(seed, image * (1 - ink) + colour * ink, scale, values)
    bare = synthetic.aged(seed, image, scale, values)
    sp = synthetic.scanned(seed, painted, values).astype(np.float32) / 255
    sb = synthetic.scanned(seed, bare, values).astype(np.float32) / 255
    contrast = cv2.dilate(np.abs(sp - sb).max(axis=2), np.ones((3, 3), np.uint8))
    target = cv2.imread(str(root / "target" / f"{name}.png"), 0) < 128
    check = (sp * 255).round().astype(np.uint8)
    given = cv2.imread(str(root / "input" / f"{name}.png"))[..., ::-1]
    if np.abs(check.astype(int) - given).max() > 1:
        raise SystemExit(f"{name}: redrawn page differs from the one on disk (another generator version?)")
    thin = skeletonize(target)
    p = cv2.imread(str(pred / f"{name}.png"), 0) < 128
    dp = cv2.distanceTransform((~skeletonize(p)).astype(np.uint8), cv2.DIST_L2, 5)
    c = contrast[thin]
    found = dp[thin] <= 2
    after = synthetic.visible_outlines(outlines, np.abs(sp - sb).max(axis=2), scale) > 0.5
    for rule, mask in (("before the scan (as shipped)", target), ("after the scan", after)):
        for key, value in line_counts(p, mask).items():
            counts[rule][key] = counts[rule].get(key, 0) + value
    idx = np.digitize(c, bins) - 1
    for b in range(len(bins) - 1):
        tot[b] += (idx == b).sum()
        hit[b] += found[idx == b].sum()
print("contrast bin (of 1.0)   share of target centre line   model recall there")
for b in range(len(bins) - 1):
    print(f"{bins[b]:.2f}-{bins[b + 1]:.2f}   {tot[b] / tot.sum():6.3f}   {hit[b] / max(tot[b], 1):6.3f}")
print("overall recall", hit.sum() / tot.sum())
for rule, summed in counts.items():
    score = scores({**summed, "tp": 0, "fp": 0, "fn": 0, "pixels": 1})
    print(f"line F1 against targets visible {rule}: {score['line_f1']:.4f}", end=" ")
    print(f"(P {score['line_precision']:.4f} / R {score['line_recall']:.4f})")
