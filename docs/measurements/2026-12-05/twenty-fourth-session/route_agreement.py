"""Does each page take the same road under `--precision auto` as under `fp32`? For a routed shipped name
(`toolkit.core.shipped.ROUTES`), per held-out set under data/: the models each precision had draw the
pages (`LineModel.last_route`, as `toolkit infer` routes) and the pages whose road differs, with both
readings. The twenty-second session's script read `contour`'s widths itself; this asks the model a
user runs, for any route.

    python route_agreement.py NAME SET [SET ...]
"""

import sys
from collections import Counter
from pathlib import Path

from toolkit import LineModel, read_image


def main(name: str, sets: list[str]) -> None:
    with LineModel(name, precision="fp32") as fp32, LineModel(name, precision="auto") as auto:
        print(f"{name}: fp32 runs its {fp32.card.precision} graph, auto its {auto.card.precision}")
        for root in sets:
            pages = sorted((Path("data", root) / "input").iterdir())
            taken = []
            for path in pages:
                image = read_image(path)
                pair = []
                for model in (fp32, auto):
                    model.lines(image)
                    pair.append(model.last_route)
                taken.append(pair)
            counts = [dict(sorted(Counter(pair[i].model for pair in taken).items())) for i in (0, 1)]
            differ = [
                (page, pair)
                for page, pair in zip(pages, taken, strict=True)
                if pair[0].model != pair[1].model
            ]
            print(f"{root}: {len(pages)} pages, fp32 {counts[0]}, auto {counts[1]}; {len(differ)} differ")
            for page, (first, second) in differ:
                print(
                    f"  {page.name}: fp32 {first.model} ({first.value}), auto {second.model} ({second.value})"
                )
            sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
