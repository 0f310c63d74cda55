"""The held-out paintings where 4 mirrored views change line F1 the most: input, one view, four views,
target; in the two model columns black = a line within 2 px of the target's, red = invented, and the
target column shows missed target lines in blue. Writes flips_before_after.png beside this script.

python docs/measurements/2026-12-04/sixteenth-session/flips_before_after.py data/held-painting-512
"""

import sys
from pathlib import Path

import cv2
import numpy as np
from skimage.morphology import skeletonize

from toolkit import LineModel, read_image
from toolkit.analysis.metrics import line_counts, scores
from toolkit.imaging.imageio import lines_of

RADIUS, SHOWN, CROP = 2, 3, 256


def f1(lines: np.ndarray, target: np.ndarray) -> float:
    counts = line_counts(lines, target, RADIUS)
    return scores({**counts, "tp": 0, "fp": 0, "fn": 0, "pixels": 1})["line_f1"]


def matched(lines: np.ndarray, other: np.ndarray, far: tuple[int, int, int]) -> np.ndarray:
    """RGB: the centre lines of `lines`, black where `other` has a line within RADIUS, else `far`."""
    thin = skeletonize(lines)
    near = cv2.distanceTransform((~skeletonize(other)).astype(np.uint8), cv2.DIST_L2, 5) <= RADIUS
    picture = np.full((*lines.shape, 3), 255, np.uint8)
    picture[thin & near] = (0, 0, 0)
    picture[thin & ~near] = far
    return picture


INVENTED, MISSED = (220, 0, 0), (0, 60, 230)


def main(root: Path) -> None:
    pages = []
    one, four = LineModel("contour", precision="fp32"), LineModel("contour", precision="fp32", flips=4)
    with one, four:
        for path in sorted((root / "input").glob("*.png")):
            image = read_image(path)
            target = lines_of(read_image(root / "target" / path.name))
            a, b = one.lines(image, "binary") < 128, four.lines(image, "binary") < 128
            pages.append((f1(b, target) - f1(a, target), path.stem, image, a, b, target))
    pages.sort(key=lambda page: -page[0])
    rows = []
    for gain, stem, image, a, b, target in pages[:SHOWN]:
        # the CROP x CROP window where the two pictures differ most (box sums centred on each pixel)
        diff = cv2.boxFilter((a != b).astype(np.float32), -1, (CROP, CROP), normalize=False)
        cy, cx = np.unravel_index(np.argmax(diff), diff.shape)
        y = int(np.clip(cy - CROP // 2, 0, a.shape[0] - CROP))
        x = int(np.clip(cx - CROP // 2, 0, a.shape[1] - CROP))
        window = (slice(y, y + CROP), slice(x, x + CROP))
        pictures = [matched(a, target, INVENTED), matched(b, target, INVENTED), matched(target, b, MISSED)]
        tiles = [image[window]] + [picture[window] for picture in pictures]
        framed = [cv2.copyMakeBorder(t, 2, 2, 2, 2, cv2.BORDER_CONSTANT, value=(128,) * 3) for t in tiles]
        rows.append(np.hstack(framed))
        print(f"{stem}: line F1 {f1(a, target):.3f} -> {f1(b, target):.3f} ({gain:+.3f})")
    sheet = np.vstack(rows)
    out = Path(__file__).with_name("flips_before_after.png")
    cv2.imwrite(str(out), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    print(f"wrote {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
