"""Keep the shipped CPU INT8 graphs' excluded convolutions in float, as `calibrate --target cpu` now
writes them, and record their agreement again.

    python docs/measurements/2026-12-06/twenty-eighth-session/mend_runtime_int8.py

`toolkit.calibration.runtime_int8.keep_in_float`: ONNX Runtime ran some convolutions the sensitivity
search had kept out of INT8 as QLinearConvs with weights it quantised itself (`contour`: node_Conv_89
and node_Conv_91; `contour-coarse`: node_Conv_89; `contour-thin`: five). Given a per-channel copy of
their input's DequantizeLinear they run in float, as their cards say; their outputs change, so each
graph's agreement is measured again exactly as `scripts/ship_graphs.py` measures it (40 held-out
paintings of the size its record names, seed 0; the new record drops the speed-ups measured on the
old graph), then its speed (`ship_graphs.py NAME --speed-only
--size S`) and runtime memory (`--memory-only`).

Run on 2026-12-06 (mend_runtime_int8.txt, speed_after_keep_float.txt) and **not kept**: agreement
rose (contour 0.9828 -> 0.9848, contour-coarse 0.9842 -> 0.9859; contour-thin 0.9824 -> 0.9815) but
the CPU forms fell to 0.92x, 1.02x and 0.89x FP32 (from 1.05x, 1.21x and 1.03x), so `auto` would have
run FP32 for two of them. The shipped graphs stay as they were, verified as ONNX Runtime runs them.
"""

from __future__ import annotations

import importlib.util
import json
import tempfile
from pathlib import Path

import onnx

from toolkit.calibration.runtime_int8 import keep_in_float
from toolkit.core.metadata import AGREEMENT_NOTE, read_card
from toolkit.core.shipped import SHIPPED_DIR
from toolkit.data.synthetic import write_pairs
from toolkit.export.graph_file import save_graph

SIZES = {"contour": 424, "contour-coarse": 768, "contour-thin": 256}  # the sizes their records name


def ship_graphs():
    spec = importlib.util.spec_from_file_location("ship_graphs", Path("scripts/ship_graphs.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    ship = ship_graphs()
    for name, size in SIZES.items():
        graph, fp32 = SHIPPED_DIR / f"{name}-int8-cpu.onnx", SHIPPED_DIR / f"{name}.onnx"
        card = read_card(graph)
        before = json.loads(card.extra[AGREEMENT_NOTE])
        model, kept = keep_in_float(onnx.load(graph), json.loads(card.extra["int8_excluded_nodes"]))
        if not kept:
            print(f"{name}: nothing to keep in float")
            continue
        save_graph(model, card, graph, overwrite=True)
        with tempfile.TemporaryDirectory() as scratch:
            heldout = Path(scratch) / "heldout"
            write_pairs("painting", 40, size, seed=0, root=heldout)
            record = ship.record_agreement(
                graph, fp32, heldout, ship.line_f1(fp32, heldout), f"--size {size}"
            )
        print(
            f"{name}: kept in float {kept}; agreement {before['line_f1']} -> {record['line_f1']}, "
            f"PSNR {before['psnr_db']} -> {record['psnr_db']} dB, "
            f"F1 lost {before['f1_drop']} -> {record['f1_drop']}"
        )


if __name__ == "__main__":
    main()
