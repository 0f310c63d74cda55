"""Where to put the scale router's threshold: the mean width of the lines the shipped `contour`
draws (toolkit.runtime.routing.line_width) on calibration pages of element scale 1-3
(`toolkit synth --kind painting --size S --count 32 --seed 41..47`, seeds no held-out set or
training run uses), per graph the router may run first (FP32, and the CPU's INT8 form that
`--precision auto` takes on a VNNI CPU).

    python route_widths.py [GRAPH ...]   # default: the shipped contour.onnx and contour-int8-cpu.onnx
"""

import sys
from pathlib import Path

import numpy as np

from toolkit import LineModel, read_image
from toolkit.core.shipped import SHIPPED_DIR
from toolkit.runtime.routing import line_width

SIZES = (256, 320, 384, 448, 512, 640, 768)  # element scale = size / 256


def widths(model: LineModel, root: Path) -> list[float]:
    found = []
    for path in sorted((root / "input").iterdir()):
        width = line_width(model.lines(read_image(path), "binary") < 128)
        found.append(np.nan if width is None else width)
    return found


def main(graphs: list[str]) -> None:
    for graph in graphs:
        with LineModel(graph) as model:
            print(graph)
            for size in SIZES:
                found = widths(model, Path(f"data/routecal-{size}"))
                low, mid, high = np.nanpercentile(found, [5, 50, 95])
                print(
                    f"  scale {size / 256:.2f}: width min {np.nanmin(found):.2f}, 5/50/95 % "
                    f"{low:.2f} / {mid:.2f} / {high:.2f}, max {np.nanmax(found):.2f} px"
                )


if __name__ == "__main__":
    main(sys.argv[1:] or [str(SHIPPED_DIR / "contour.onnx"), str(SHIPPED_DIR / "contour-int8-cpu.onnx")])
