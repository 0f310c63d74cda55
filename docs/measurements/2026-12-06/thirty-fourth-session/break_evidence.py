"""What the scan still shows of a worn break: the ink's contrast (how much the surviving ink changes
the aged painting, `error_sources.page_ink`, before the scan's noise and JPEG) on the target's centre
lines, by part (`error_sources.target_parts`: seen, bridged, stub), split by whether the model draws
the pixel (its probability within 2 px at least 0.5).

    python docs/measurements/2026-12-06/thirty-fourth-session/break_evidence.py data/held31-painting-512 \
        --model toolkit/weights/contour.onnx --pages 20
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
from skimage.morphology import skeletonize

sys.path.insert(0, str(Path(__file__).parents[1] / "thirty-second-session"))
from error_sources import fp32_model, held_out_set, page_ink, target_parts

from toolkit import read_image

GREY = 255  # contrast in grey levels


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=0, help="first N pages (0: all)")
    args, record = held_out_set(parser)
    contrasts: dict[tuple[str, bool], list[np.ndarray]] = {}
    with fp32_model(args.model) as model:
        for stem in sorted(record["pages"])[: args.pages or None]:
            page = record["pages"][stem]
            image = read_image(args.folder / "input" / f"{stem}.png")
            shape = image.shape[:2]
            parts = target_parts(page["seed"], page["factors"], shape)
            _, contrast, _ = page_ink(page["seed"], page["factors"], shape)
            drawn = model.probability(image) >= 0.5
            drawn = cv2.dilate(drawn.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
            centre = skeletonize(parts["seen"] | parts["bridged"] | parts["stub"])
            for name, part in parts.items():
                for hit in (True, False):
                    where = centre & part & (drawn == hit)
                    contrasts.setdefault((name, hit), []).append(contrast[where] * GREY)
    print(f"{args.folder} ({args.pages or 'all'} pages, {args.model}): the ink's contrast in grey levels"
          " on the target's centre lines, 10 / 50 / 90 %")
    for (name, hit), values in sorted(contrasts.items()):
        values = np.concatenate(values)
        low, mid, high = np.percentile(values, [10, 50, 90]) if values.size else (np.nan,) * 3
        label = "drawn" if hit else "missed"
        print(f"  {name:8} {label:6} {values.size:6d} px: {low:5.1f} / {mid:5.1f} / {high:5.1f}")


if __name__ == "__main__":
    main()
