"""The README's picture: each example beside what the README's main command draws for it.

    toolkit infer examples/sketches -o lines --overwrite
    toolkit infer examples/paintings --model contour -o outlines --overwrite
    python scripts/example_picture.py lines outlines -o docs/infer-example.png

One row per example (input | lines), each side `--width` pixels wide.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from toolkit.core.fileio import write_png
from toolkit.imaging.imageio import read_image

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def as_rgb(pixels: np.ndarray, width: int) -> np.ndarray:
    rgb = pixels if pixels.ndim == 3 else cv2.cvtColor(pixels, cv2.COLOR_GRAY2RGB)
    height = round(rgb.shape[0] * width / rgb.shape[1])
    return cv2.resize(rgb[..., :3], (width, height), interpolation=cv2.INTER_AREA)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("lines", type=Path, help="infer's output folder for examples/sketches")
    parser.add_argument("outlines", type=Path, help="infer's output folder for examples/paintings")
    parser.add_argument("-o", "--output", type=Path, default=Path("docs/infer-example.png"))
    parser.add_argument("--width", type=int, default=300)
    args = parser.parse_args()
    rows = []
    for folder, drawn in (("sketches", args.lines), ("paintings", args.outlines)):
        for source in sorted((EXAMPLES / folder).glob("*.png")):
            pair = [
                as_rgb(read_image(source), args.width),
                as_rgb(read_image(drawn / source.name), args.width),
            ]
            gap = np.full((pair[0].shape[0], 8, 3), 255, np.uint8)
            rows += [
                np.concatenate([pair[0], gap, pair[1]], axis=1),
                np.full((8, 2 * args.width + 8, 3), 255, np.uint8),
            ]
    write_png(args.output, np.concatenate(rows[:-1], axis=0), overwrite=True)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
