"""Each shipped INT8 CPU form's agreement with its FP32 graph, measured again on this machine, on the
pages `scripts/ship_graphs.py` reads its gate on (seed 0, 40 pages, the model's own size and pins),
the way it reads it (worst page's line F1 against the FP32 graph's lines; line F1 lost against the
targets): whether a record made on a CPU with VNNI holds on one with AVX2 alone, where the integer
products take another instruction (vpmaddubsw; the forms' 7-bit weights keep its int16 sums exact).
Nothing is written into the cards.

    python docs/measurements/2026-12-06/thirty-fifth-session/agreement_here.py
"""

import importlib.util
import json
import tempfile
from pathlib import Path

from toolkit.analysis.verify import verify_model
from toolkit.core.machine import INT8_DOT_PRODUCTS, cpu_flags, cpu_model
from toolkit.core.metadata import AGREEMENT_NOTE, DOMAIN_OF_FAMILY, read_card
from toolkit.core.shipped import SHIPPED_DIR
from toolkit.data.factors import Focus
from toolkit.data.synthetic import write_pairs
from toolkit.models.registry import get_spec

_spec = importlib.util.spec_from_file_location("ship_graphs", Path("scripts/ship_graphs.py"))
ship_graphs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ship_graphs)

# model: (page side, pins), as each model's graphs were made (docs/shipped-models.md)
PAGES = {
    "unet-light": (424, ()),
    "unet-light-faint": (424, ("pencil_contrast=10:45",)),
    "contour": (424, ()),
    "contour-thin": (256, ()),
    "contour-coarse": (768, ()),
}

print(cpu_model(), cpu_flags(("avx2", "avx512f", *INT8_DOT_PRODUCTS)))
for name, (side, pins) in PAGES.items():
    domain = DOMAIN_OF_FAMILY[get_spec(name).family]
    focus = tuple(Focus.parse(domain, text, option="--pin") for text in pins)
    fp32, graph = SHIPPED_DIR / f"{name}.onnx", SHIPPED_DIR / f"{name}-int8-cpu.onnx"
    recorded = json.loads(read_card(graph).extra.get(AGREEMENT_NOTE, "{}"))
    with tempfile.TemporaryDirectory() as scratch:
        heldout = Path(scratch) / "heldout"
        write_pairs(domain, 40, side, seed=0, root=heldout, pins=focus)
        worst = verify_model(graph, images=heldout / "input", reference=fp32).worst()
        drop = ship_graphs.line_f1(fp32, heldout) - ship_graphs.line_f1(graph, heldout)
    print(
        f"{name}-int8-cpu: worst page line F1 {worst['line_f1']:.5f} (recorded {recorded.get('line_f1')}),"
        f" F1 lost against the targets {drop:.5f} (recorded {recorded.get('f1_drop')})"
    )
