"""Rule (4) of the faint road: does each sketch take the same road under `--precision auto` as under
FP32? `unet-light` (shipped, with its route) draws 100 held-out pages both ways; the pages whose road
differs, and how far the two `PencilSnr` readings lie apart.

    python route_agreement.py [SET ...]   # default: the twenty-fifth session's new sets, 100 pages
"""

import sys
from collections import Counter
from pathlib import Path

from toolkit import LineModel, read_image

SETS = ("data/held9-faint-424", "data/held9-sketch-424", "data/held9-sketch-768x1024")
PAGES = 100


def main(sets: tuple[str, ...]) -> None:
    pages = [path for root in sets for path in sorted((Path(root) / "input").iterdir())][:PAGES]
    roads, gaps = [], []
    with LineModel("unet-light", precision="fp32") as fp32, LineModel("unet-light", precision="auto") as auto:
        print(f"auto runs {auto.card.precision}", flush=True)
        for path in pages:
            image = read_image(path)
            taken = []
            for model in (fp32, auto):
                model.lines(image, "binary")
                taken.append(model.last_route)
            roads.append((taken[0].model, taken[1].model))
            gaps.append(abs(taken[0].value - taken[1].value))
            if taken[0].model != taken[1].model:
                print(
                    f"  {path}: FP32 {taken[0].value:.2f} -> {taken[0].model}, auto {taken[1].value:.2f} -> "
                    f"{taken[1].model}",
                    flush=True,
                )
    differ = sum(a != b for a, b in roads)
    counts = [dict(Counter(pair[i] for pair in roads)) for i in (0, 1)]
    print(
        f"{len(pages)} pages, FP32 {counts[0]}, auto {counts[1]}; "
        f"{differ} differ; reading gap median {sorted(gaps)[len(gaps) // 2]:.3f}, max {max(gaps):.3f}"
    )


if __name__ == "__main__":
    main(tuple(sys.argv[1:]) or SETS)
