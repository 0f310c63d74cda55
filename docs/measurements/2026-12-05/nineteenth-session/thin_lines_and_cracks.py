"""Is `contour`'s low recall on 1-2 px lines the cracks' doing, or the network's? Recall by line width
(recall_by_width.py beside this) on middle-factor 256 px paintings (sweep seed 8, 32 pages a row)
with no cracks at all, with the sweep's middle cracks, with dense, ink-dark cracks, and with no
cracks, wear, JPEG or noise.

    python thin_lines_and_cracks.py [MODEL]
"""

import sys
from collections import Counter

from recall_by_width import count, report

from toolkit import LineModel
from toolkit.data.factors import middle_factors
from toolkit.data.synthetic import held_out_seed, make_pair
from toolkit.imaging.imageio import lines_of

PAGES = 32
SETTINGS = {
    "no cracks": {"crack_density": 0.0, "long_cracks": 0.0},
    "middle cracks": {},
    "dense ink-dark cracks": {"crack_density": 1.0, "crack_darkness": 0.9, "long_cracks": 5.0},
    "no cracks, no wear, no JPEG or noise": {
        "crack_density": 0.0,
        "long_cracks": 0.0,
        "outline_wear": 0.0,
        "jpeg_quality": 100.0,
        "noise": 0.0,
    },
}


def main(model_name: str) -> None:
    precision = "auto" if model_name.endswith(".onnx") else "fp32"
    with LineModel(model_name, precision=precision) as model:
        for name, overrides in SETTINGS.items():
            found, total = Counter(), Counter()
            values = middle_factors("painting") | overrides
            for index in range(PAGES):
                image, target = make_pair("painting", 256, 256, held_out_seed(8, index), factors=values)
                count(model.lines(image, "binary") < 128, lines_of(target), found, total)
            print(f"{name}:")
            report(found, total)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "contour")
