"""How `contour` misses the target's worn-outline parts (error_sources.target_parts): for the missed
centre-line pixels of each part, how far the nearest matched target centre line is (a few pixels:
a line stopped short; more: a break not drawn through at all) and the model's probability there.

    python docs/measurements/2026-12-06/thirty-second-session/bridge_misses.py data/held31-painting-512
"""

from __future__ import annotations

import cv2
import numpy as np
from error_sources import fp32_model, held_out_set, near, target_parts
from skimage.morphology import skeletonize

from toolkit import read_image
from toolkit.analysis.metrics import distance_to

EDGES = (0, 2.5, 4.5, 8.5, 16.5, np.inf)


def main() -> None:
    args, record = held_out_set()
    distances: dict[str, list[np.ndarray]] = {"seen": [], "bridged": [], "stub": []}
    probabilities: dict[str, list[np.ndarray]] = {name: [] for name in distances}
    with fp32_model(args.model) as model:
        for stem, page in sorted(record["pages"].items()):
            image = read_image(args.folder / "input" / f"{stem}.png")
            target = cv2.imread(str(args.folder / "target" / f"{stem}.png"), cv2.IMREAD_GRAYSCALE) < 128
            probability = model.probability(image)
            thin_target = skeletonize(target)
            matched = thin_target & near(skeletonize(probability > 0.5))
            missed = thin_target & ~matched
            to_matched = distance_to(matched)
            if to_matched is None:  # nothing matched: every miss is far from a drawn line
                to_matched = np.full(target.shape, np.inf, np.float32)
            for name, part in target_parts(page["seed"], page["factors"], target.shape).items():
                here = missed & near(part, 1)
                distances[name].append(to_matched[here])
                probabilities[name].append(probability[here])
    for name in distances:
        far, p = np.concatenate(distances[name]), np.concatenate(probabilities[name])
        shares = np.histogram(far, bins=EDGES)[0] / max(len(far), 1)
        print(
            f"{args.folder} {name}: {len(far)} missed centre-line px; nearest matched <=2.5 / <=4.5 / "
            f"<=8.5 / <=16.5 / farther px: {' / '.join(f'{v:.3f}' for v in shares)}; probability there, "
            f"10/50/90 %: {' / '.join(f'{v:.3f}' for v in np.quantile(p, [0.1, 0.5, 0.9]))}"
        )


if __name__ == "__main__":
    main()
