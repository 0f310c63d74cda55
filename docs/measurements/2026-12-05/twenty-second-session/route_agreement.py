"""Does each page take the same road whichever graph of `contour` runs first? Per held-out painting
set, the pages whose road (`toolkit.core.shipped.ROUTES["contour"]`: none, or which expert) differs
between the FP32 graph and the INT8 CPU form that `--precision auto` takes on a VNNI CPU. The
twenty-first session's script, for any number of roads.

    python route_agreement.py [SET ...]   # default: the six held-out painting sets
"""

import sys
from collections import Counter
from pathlib import Path

from toolkit import LineModel, read_image
from toolkit.core.shipped import ROUTES, SHIPPED_DIR
from toolkit.runtime.routing import line_width

SETS = (
    "data/heldout-painting",
    "data/held-painting-384",
    "data/held-painting-448",
    "data/held-painting-512",
    "data/held-painting-640",
    "data/heldout-painting-768x1024",
)


def road(width: float | None) -> str:
    taken = (r.expert for r in ROUTES["contour"] if width is not None and r.takes(width))
    return next(taken, "contour")


def main(sets: tuple[str, ...]) -> None:
    graphs = ("contour.onnx", "contour-int8-cpu.onnx")
    with LineModel(SHIPPED_DIR / graphs[0]) as fp32, LineModel(SHIPPED_DIR / graphs[1]) as int8:
        for root in sets:
            pages = sorted((Path(root) / "input").iterdir())
            roads, gaps = [], []
            for path in pages:
                image = read_image(path)
                widths = [line_width(model.lines(image, "binary") < 128) or 0.0 for model in (fp32, int8)]
                roads.append([road(width) for width in widths])
                gaps.append(abs(widths[0] - widths[1]))
            differ = sum(a != b for a, b in roads)
            median = sorted(gaps)[len(gaps) // 2]
            taken = [dict(sorted(Counter(pair[i] for pair in roads).items())) for i in (0, 1)]
            print(
                f"{root}: {len(pages)} pages, FP32 {taken[0]}, INT8 CPU form {taken[1]}; {differ} differ; "
                f"width gap median {median:.3f}, max {max(gaps):.3f} px"
            )


if __name__ == "__main__":
    main(tuple(sys.argv[1:]) or SETS)
