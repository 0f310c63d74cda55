"""Rewire the shipped CPU INT8 graphs' MaxPool as `toolkit calibrate --target cpu` now writes it.

    python docs/measurements/2026-12-06/twenty-eighth-session/mend_pooling.py

`toolkit.calibration.float_pooling` pools the float tensor where the convolution before a MaxPool
stays FP32. A fresh `scripts/ship_graphs.py` run would re-run every sensitivity search and might keep
other nodes in FP32; this applies that one exact pass to the shipped graphs instead (contour,
contour-coarse: the two it changes), and first checks, with ONNX Runtime as `toolkit infer` runs it,
that every output on 40 held-out paintings of 424 px (`toolkit synth --seed 0`, as their agreement
was measured) and on one 2048 px painting is bit for bit the old graph's, so the recorded agreement
still holds. Speed is then re-measured by `python scripts/ship_graphs.py NAME --speed-only`.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
from pathlib import Path

import onnx

from toolkit.analysis.verify import verify_model
from toolkit.calibration.float_pooling import pool_before_quantizing
from toolkit.core.metadata import read_card
from toolkit.core.shipped import SHIPPED_DIR
from toolkit.data.synthetic import write_pairs
from toolkit.export.graph_file import save_graph


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        write_pairs("painting", 40, 424, seed=0, root=Path(scratch) / "heldout")
        write_pairs("painting", 1, 2048, seed=2, root=Path(scratch) / "large")
        for name in ("contour", "contour-coarse"):
            graph = SHIPPED_DIR / f"{name}-int8-cpu.onnx"
            model, pooled = pool_before_quantizing(onnx.load(graph))
            if not pooled:
                print(f"{name}: nothing to rewire")
                continue
            rewired = Path(scratch) / graph.name
            card = read_card(graph)
            card = dataclasses.replace(
                card, extra={**card.extra, "int8_float_pooling_nodes": json.dumps(pooled)}
            )
            save_graph(model, card, rewired)
            worst = max(
                verify_model(rewired, images=Path(scratch) / folder / "input", reference=graph).worst()[
                    "max_abs"
                ]
                for folder in ("heldout", "large")
            )
            print(f"{name}: rewired {pooled}; largest output difference over 41 pages: {worst}")
            if worst != 0.0:
                raise SystemExit(f"{name}: outputs changed; re-run scripts/ship_graphs.py instead")
            save_graph(onnx.load(rewired), card, graph, overwrite=True)


if __name__ == "__main__":
    main()
