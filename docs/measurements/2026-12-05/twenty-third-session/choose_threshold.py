"""Where the faint road ends: on the calibration sketches (data/faintcal-424-s56 and -s57, unpinned, and
-s61, `--pin pencil_contrast=10:60`; ship-rules.md), each page's `PencilSnr` reading of the lines the
shipped `unet-light` draws (FP32, on the page as it sees it, as the router reads it) and the line counts
of `unet-light` and of the candidate expert; for each threshold on the grid, the line F1 (summed over
the pages, as `toolkit evaluate` sums) when the pages under it are the expert's, and how many of the
pages of 60 grey levels or more it sends on. The rule takes the best over all 144 pages among the
thresholds that send at most one in ten of those.

    python choose_threshold.py EXPERT.onnx > choose_threshold.txt                  # the first rule
    python choose_threshold.py EXPERT.onnx --calm-share 0 > choose_threshold2.txt  # the second
"""

import json
import sys
from pathlib import Path

import numpy as np

from toolkit.analysis.metrics import add_counts, all_counts, scores
from toolkit.core.shipped import SHIPPED_DIR
from toolkit.imaging.conditioning import condition
from toolkit.imaging.imageio import lines_of, read_image
from toolkit.runtime.onnxruntime_runner import OnnxRuntimeRunner
from toolkit.runtime.routing import PencilSnr, read_page
from toolkit.runtime.tiling import predict_tiled

SETS = ("faintcal-424-s56", "faintcal-424-s57", "faintcal-424-s61")
GRID = np.arange(2.0, 10.01, 0.25)
CALM = 60  # grey levels: pages this contrasty or more should stay with `unet-light`


def pages(expert: Path) -> list[tuple[str, float, float, dict, dict]]:
    """(set, pencil contrast, reading, unet-light's counts, the expert's counts) per page."""
    found = []
    with OnnxRuntimeRunner(SHIPPED_DIR / "unet-light.onnx") as base, OnnxRuntimeRunner(expert) as other:
        for name in SETS:
            factors = json.loads(Path("data", name, "pages.json").read_text())["pages"]
            for stem, page in sorted(factors.items()):
                image = read_image(Path("data", name, "input", f"{stem}.png"))
                target = lines_of(read_image(Path("data", name, "target", f"{stem}.png")))
                drawn = predict_tiled(base, image) >= base.card.threshold
                reading = read_page(PencilSnr, condition(image, base.card.conditioning), drawn)
                redrawn = predict_tiled(other, image) >= other.card.threshold
                contrast = page["factors"]["pencil_contrast"]
                counts = all_counts(drawn, target), all_counts(redrawn, target)
                found.append((name, contrast, reading or 0.0, *counts))
    return found


def f1(chosen: list[dict]) -> float:
    total: dict = {}
    for counts in chosen:
        total = add_counts(total, counts)
    return scores(total)["line_f1"]


def main(expert: str, calm_share: float = 0.1) -> None:
    found = pages(Path(expert))
    groups = {
        "all": found,
        "under 25": [p for p in found if p[1] < 25],
        "25-60": [p for p in found if 25 <= p[1] < CALM],
        f"{CALM}+": [p for p in found if p[1] >= CALM],
    }
    print(f"{len(found)} pages; line F1 (pages to the expert), the pages under each threshold the expert's")
    print("threshold  " + "  ".join(f"{name:>15s}" for name in groups))
    rows = [("base", -np.inf), *((f"{t:.2f}", t) for t in GRID), ("expert", np.inf)]
    allowed = len(groups[f"{CALM}+"]) * calm_share
    best = None
    for label, threshold in rows:
        cells = []
        for group in groups.values():
            sent = [page[2] < threshold for page in group]
            value = f1([page[4] if go else page[3] for page, go in zip(group, sent)])
            cells.append(f"{value:.4f} ({sum(sent):3d})")
        calm_sent = sum(page[2] < threshold for page in groups[f"{CALM}+"])
        overall = f1([page[4] if page[2] < threshold else page[3] for page in found])
        if np.isfinite(threshold) and calm_sent <= allowed and (best is None or overall > best[1]):
            best = (threshold, overall)
        print(f"{label:9s}  " + "  ".join(f"{cell:>15s}" for cell in cells))
    print(
        f"the rule's threshold: {best[0]:.2f} (line F1 {best[1]:.4f} over all pages; "
        f"at most {allowed:.1f} of the {len(groups[f'{CALM}+'])} pages of {CALM}+ grey levels sent on)"
    )


if __name__ == "__main__":
    main(sys.argv[1], *(float(a) for a in sys.argv[3:4] if sys.argv[2:3] == ["--calm-share"]))
