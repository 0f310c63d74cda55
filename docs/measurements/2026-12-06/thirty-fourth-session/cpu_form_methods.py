"""How the CPU INT8 form of a `contour` graph agrees with its FP32 graph by calibration method, with the
nodes an INT8 graph's card kept out of INT8 kept out again (as `ship_graphs.py --cpu-exclude-from`),
on the pages `ship_graphs.py` uses (calibration: 32 of seed 1; agreement: the worst of 40 of seed 0,
424 px, as `toolkit verify --reference` computes it).

    python docs/measurements/2026-12-06/thirty-fourth-session/cpu_form_methods.py /tmp/v13.onnx \
        --exclude-from toolkit/weights/contour-int8-cpu.onnx
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from toolkit.analysis.verify import verify_model
from toolkit.calibration.calibrate import calibrate
from toolkit.calibration.images import load_calibration_set
from toolkit.data.synthetic import write_pairs

sys.path.insert(0, str(Path(__file__).parents[4] / "scripts"))
from ship_graphs import SIZE, excluded_nodes


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("fp32", type=Path)
    parser.add_argument("--exclude-from", type=Path, required=True)
    parser.add_argument("--methods", nargs="+", default=["max", "percentile", "entropy"])
    args = parser.parse_args()
    exclude = excluded_nodes(args.exclude_from)
    with tempfile.TemporaryDirectory() as scratch:
        calib, heldout = Path(scratch) / "calib", Path(scratch) / "heldout"
        write_pairs("painting", 32, SIZE, seed=1, root=calib)
        write_pairs("painting", 40, SIZE, seed=0, root=heldout)
        images = load_calibration_set(calib / "input")
        for method in args.methods:
            graph = Path(scratch) / f"{method}.onnx"
            calibrate(args.fp32, images, output=graph, method=method, target="cpu", exclude=exclude)
            worst = verify_model(graph, images=heldout / "input", reference=args.fp32).worst()
            print(f"{args.fp32.name} {method}: worst page line F1 {worst['line_f1']:.5f},"
                  f" PSNR {worst['psnr_db']:.2f} dB ({len(exclude)} nodes kept out)", flush=True)


if __name__ == "__main__":
    main()
