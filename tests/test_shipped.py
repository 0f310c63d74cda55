"""The weights and ONNX graphs we ship: provenance, size, fidelity and quality on held-out pairs."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import onnx
import pytest

from toolkit.analysis.evaluate import evaluate
from toolkit.analysis.verify import verify_model
from toolkit.calibration.runtime_int8 import GraphIndex
from toolkit.core.metadata import read_card
from toolkit.core.shipped import ROUTES, SHIPPED_DIR, shipped_forms, shipped_graphs
from toolkit.data.datasets import pair_folder
from toolkit.data.synthetic import write_pairs
from toolkit.models.registry import MODELS
from toolkit.runtime.backends import verified
from toolkit.runtime.onnxruntime_runner import OnnxRuntimeRunner
from toolkit.runtime.routing import READINGS

SHIPPED = {
    "unet-light": "sketch",
    "unet-light-faint": "sketch",
    "contour": "painting",
    "contour-thin": "painting",
    "contour-coarse": "painting",
}
CPU_KINDS = {"int8 dot products", "no int8 dot products"}  # toolkit.core.machine.int8_kind()


def test_shipped_files_are_small_and_say_how_they_were_made() -> None:
    # five models, each with its FP16 and both INT8 graphs (32 MB; 25 MB held four until the faint
    # expert): a repository clone and a wheel stay small, and a sixth model is a decision, not a drift
    total = sum(p.stat().st_size for p in SHIPPED_DIR.iterdir())
    assert total < 35e6
    for name in SHIPPED:
        record = json.loads((SHIPPED_DIR / f"{name}.json").read_text())
        # trained as the registry model of the same network: `contour-thin` by `toolkit train contour`
        assert record["command"].startswith(f"toolkit train {record['model']} ")
        assert MODELS[record["model"]].config == MODELS[name].config
        assert isinstance(record["data_seed"], int) and len(record["git_commit"]) == 40
        # on validation pages drawn with every factor uniform over its whole range (the training run's
        # generator): the widened held-out sets and the sweeps (docs/shipped-models.md) are the fuller measure
        assert record["validation"]["val_line_f1"] > 0.7
        card = read_card(SHIPPED_DIR / f"{name}.onnx")  # the graph says which run made its weights
        assert card.training_command == record["command"]
        assert card.training["git_commit"] == record["git_commit"]
        assert card.training["validation"] == record["validation"]


def test_every_route_sends_pages_to_shipped_experts_on_roads_apart() -> None:
    """A page takes one road at most: the roads' widths do not overlap, and each names a shipped
    model of the routed one's domain (the twin the Router checks at run time)."""
    for name, route in ROUTES.items():
        roads = route.roads
        assert route.reading in READINGS
        assert all(road.gate is None or road.gate.reading in READINGS for road in roads)
        assert name in SHIPPED and all(SHIPPED.get(road.expert) == SHIPPED[name] for road in roads)
        assert {name, *(road.expert for road in roads)} <= set(shipped_graphs())
        spans = sorted((road.low, road.reach) for road in roads)
        assert all(low < high for low, high in spans)
        assert all(first[1] <= second[0] for first, second in itertools.pairwise(spans)), spans


@pytest.mark.parametrize("name", list(SHIPPED))
def test_every_derived_graph_carries_its_measured_agreement(name: str) -> None:
    # without it `--precision auto` silently runs FP32 (as it did once, after an interrupted
    # scripts/ship_graphs.py rewrote the graphs and not their records)
    fp32 = read_card(SHIPPED_DIR / f"{name}.onnx")
    for form, path in shipped_forms(name).items():
        if form == "fp32":
            continue
        card = read_card(path)
        record = json.loads(card.extra["agreement"])
        assert {"line_f1", "psnr_db", "f1_drop", "date"} <= record.keys(), (form, record)
        if form in ("fp16", "int8-cpu"):  # the forms ONNX Runtime's CPU provider may be given
            # measured on the kinds of x86 CPU, with INT8 dot products (VNNI) and with AVX2 alone; a form
            # not measured on one is never run by default there (`unet-light-faint`'s INT8 CPU form keeps
            # other nodes FP32 than its twin `unet-light`'s, so it cannot borrow its AVX2 figure)
            kinds = record["cpu_speedups"]
            assert kinds and set(kinds) <= CPU_KINDS, (form, record)
            assert all(m["speedup"] > 0 and m["cpu"] and m["date"] for m in kinds.values()), (form, record)
            assert not any(verified(card, cpu_kind=kind) for kind in CPU_KINDS - set(kinds)), (form, record)
        assert card.weights_sha256 == fp32.weights_sha256, form  # made from the shipped weights


@pytest.mark.parametrize("name", list(SHIPPED))
def test_what_a_shipped_cpu_int8_card_keeps_out_of_int8_runs_in_float(name: str) -> None:
    # ONNX Runtime quantises a float Conv between a per-tensor DequantizeLinear and a QuantizeLinear
    # itself (runtime_int8.py), per tensor: `contour`'s graph once listed node_Conv_89 as kept out of
    # INT8 while it ran as such a QLinearConv, 27 ms of a 1024 px page against 5 ms quantised by us
    graph = SHIPPED_DIR / f"{name}-int8-cpu.onnx"
    excluded = set(json.loads(read_card(graph).extra["int8_excluded_nodes"]))
    model = onnx.load(graph)
    index = GraphIndex(model)
    assert not [node.name for node in model.graph.node if node.name in excluded and index.runs_in_int8(node)]


@pytest.mark.parametrize("name", list(SHIPPED))
def test_shipped_onnx_computes_what_the_shipped_weights_compute(name: str) -> None:
    report = verify_model(SHIPPED_DIR / f"{name}.onnx")
    assert report.passed, report.worst()


@pytest.mark.parametrize(
    ("name", "floor", "size"),
    [
        ("unet-light", 0.7, 256),
        ("unet-light-faint", 0.7, 256),
        ("contour", 0.65, 256),
        ("contour-thin", 0.65, 256),
        ("contour-coarse", 0.7, 768),
    ],
)
def test_shipped_models_draw_lines_on_held_out_pairs(
    name: str, floor: float, size: int, tmp_path: Path
) -> None:
    """A small, fast guard; docs/shipped-models.md's numbers come from 200 pairs (see its command).
    `contour-coarse` on pages of its own scale (768 px: scale 3), where its route sends it pages."""
    write_pairs(SHIPPED[name], 6 if size == 256 else 2, size, seed=1, root=tmp_path)
    with OnnxRuntimeRunner(SHIPPED_DIR / f"{name}.onnx") as runner:
        report = evaluate(pair_folder(tmp_path), "held-out", runner=runner, method_name=name)
    best_baseline = max(report.methods[b]["line_f1"] for b in ("otsu", "adaptive", "canny"))
    assert report.methods[name]["line_f1"] >= floor
    assert report.methods[name]["line_f1"] > best_baseline, report.methods
