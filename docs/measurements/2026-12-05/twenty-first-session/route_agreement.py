"""Does the router send the same pages on whichever graph of `contour` runs first? Per held-out
painting set, the pages whose route differs between the FP32 graph and the INT8 CPU form that
`--precision auto` takes on a VNNI CPU (the width each measures, against the route's threshold).

    python route_agreement.py [SET ...]   # default: the five held-out painting sets
"""

import sys
from pathlib import Path

from toolkit import LineModel, read_image
from toolkit.core.shipped import ROUTES, SHIPPED_DIR
from toolkit.runtime.routing import line_width

SETS = (
    "data/heldout-painting",
    "data/held-painting-384",
    "data/held-painting-448",
    "data/held-painting-512",
    "data/heldout-painting-768x1024",
)
THRESHOLD = ROUTES["contour"][0].high  # the road to contour-thin


def main(sets: tuple[str, ...]) -> None:
    graphs = ("contour.onnx", "contour-int8-cpu.onnx")
    with LineModel(SHIPPED_DIR / graphs[0]) as fp32, LineModel(SHIPPED_DIR / graphs[1]) as int8:
        for root in sets:
            pages = sorted((Path(root) / "input").iterdir())
            routes, gaps = [], []
            for path in pages:
                image = read_image(path)
                widths = [line_width(model.lines(image, "binary") < 128) or 0.0 for model in (fp32, int8)]
                routes.append([width < THRESHOLD for width in widths])
                gaps.append(abs(widths[0] - widths[1]))
            differ = sum(a != b for a, b in routes)
            median = sorted(gaps)[len(gaps) // 2]
            sent = [sum(route[i] for route in routes) for i in (0, 1)]
            print(
                f"{root}: {len(pages)} pages, sent on {sent[0]} (FP32) / {sent[1]} (INT8 CPU form); "
                f"{differ} differ; width gap median {median:.3f}, max {max(gaps):.3f} px"
            )


if __name__ == "__main__":
    main(tuple(sys.argv[1:]) or SETS)
