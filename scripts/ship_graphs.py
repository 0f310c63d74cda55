"""Make the graphs we ship for a model from its shipped weights, and record how well each agrees.

    python scripts/ship_graphs.py unet-light --target-f1 0.995
    python scripts/ship_graphs.py contour --target-f1 0.99 --cpu-target-f1 0.985
    python scripts/ship_graphs.py contour-thin --size 256 --target-f1 0.99 --cpu-target-f1 0.985
    python scripts/ship_graphs.py unet-light-faint --pin pencil_contrast=10:45 --target-f1 0.9995
    python scripts/ship_graphs.py contour --target-f1 0.99 \
        --cpu-exclude-from toolkit/weights/contour-int8-cpu.onnx

Writes toolkit/weights/NAME.onnx (FP32, `toolkit export`), NAME-fp16.onnx (`toolkit convert`),
NAME-int8.onnx (`toolkit calibrate`, TensorRT's form) and NAME-int8-cpu.onnx (`--target cpu`),
calibrated on 32 held-out pages (`toolkit synth --seed 1 --count 32 --size 424`, or `--size`; with
`--pin`, as `toolkit synth --pin`: an expert is made and measured on the pages its route sends it). Each
derived graph is then measured on 40 other held-out pages with targets (seed 0): its agreement with the
FP32 graph (worst line F1 and PSNR over the pages, as `toolkit verify --reference` computes them) and what it
loses in line F1 against the targets; for the forms ONNX Runtime's CPU provider runs, also how much
faster than FP32 they run on this machine (`cpu_speedups`, under the CPU's kind: with INT8 dot
products or without; `--speed-only` on a machine of the other kind adds its figure). The record goes into
the graph's card (`agreement`), where
`--precision auto` reads it: a form is run by default only where its agreement meets its
precision's gate and it loses at most 0.005 line F1 (toolkit.runtime.backends.verified). Last, what
ONNX Runtime's CPU provider holds per input pixel running each graph (`runtime_memory`), which the
tile plan reads (`--memory-only` re-measures just that).

`--cpu-exclude-from GRAPH` makes the CPU form without a search: the nodes GRAPH's card kept out of
INT8 stay out, the rest are calibrated. New weights of the same network can so keep a layout measured
fast (a searched one may keep out other nodes, and every float node between INT8 ones costs time);
its agreement is measured and recorded all the same, and `--precision auto` runs it only if it meets
its gate.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
from datetime import date
from pathlib import Path

import onnx

from toolkit.analysis.evaluate import evaluate
from toolkit.analysis.verify import verify_model
from toolkit.calibration.calibrate import calibrate
from toolkit.calibration.images import load_calibration_set
from toolkit.core.machine import INT8_DOT_PRODUCTS, cpu_flags, cpu_model, int8_kind
from toolkit.core.metadata import AGREEMENT_NOTE, DOMAIN_OF_FAMILY, RUNTIME_MEMORY_NOTE, read_card
from toolkit.core.shipped import SHIPPED_DIR, SHIPPED_FORMS, shipped_graphs
from toolkit.data.datasets import pair_folder
from toolkit.data.factors import Focus
from toolkit.data.synthetic import write_pairs
from toolkit.export.fp16 import convert_to_fp16
from toolkit.export.graph_file import save_graph
from toolkit.export.onnx_export import export_model
from toolkit.models.registry import MODELS, get_spec
from toolkit.runtime.bench import model_only
from toolkit.runtime.onnxruntime_runner import OnnxRuntimeRunner
from toolkit.runtime.tile_plan import measure_runtime_memory

SIZE = 424  # the pages' side, unless --size: `contour-thin` is made for pages of scale 1 (256 px)
Layout = list[tuple[str, str, tuple[str, ...]]]  # a graph's nodes: (operator, name, inputs)
LARGE_SIDE = 2048  # the large page speed is also measured on: the default budget's tiles are 2-14 MP


def line_f1(graph: Path, data: Path) -> float:
    with OnnxRuntimeRunner(graph) as runner:
        report = evaluate(pair_folder(data), str(data), runner=runner, method_name="model", baselines=False)
    return report.methods["model"]["line_f1"]


def record_agreement(graph: Path, fp32: Path, heldout: Path, fp32_f1: float, pages: str) -> dict:
    report = verify_model(graph, images=heldout / "input", reference=fp32)
    worst = report.worst()
    record = {
        "line_f1": round(worst["line_f1"], 5),  # worst page, binarised lines against the FP32 graph's
        "psnr_db": round(worst["psnr_db"], 2),
        "f1_drop": round(fp32_f1 - line_f1(graph, heldout), 5),  # against the targets
        "set": f"toolkit synth --seed 0 --count 40 {pages} (held out)",
        "date": date.today().isoformat(),
    }
    card = read_card(graph)
    card = dataclasses.replace(card, extra={**card.extra, AGREEMENT_NOTE: json.dumps(record)})
    save_graph(onnx.load(graph), card, graph, overwrite=True)
    return record


def cpu_speedup(graph: Path, fp32: Path, pages: list[Path], rounds: int = 3) -> float:
    """Model-only time of the FP32 graph over `graph`'s on ONNX Runtime's CPU provider, the two taking
    turns for `rounds` rounds (the best round of each counts): whether the form is faster here at all."""
    best = {graph: float("inf"), fp32: float("inf")}
    with OnnxRuntimeRunner(graph) as candidate, OnnxRuntimeRunner(fp32) as reference:
        runners = {graph: candidate, fp32: reference}
        for runner in runners.values():
            model_only(runner, pages[:1])  # warm-up
        for _ in range(rounds):
            for path, runner in runners.items():
                best[path] = min(best[path], sum(model_only(runner, pages)))
    return best[fp32] / best[graph]


def speedups_of(graph: Path) -> dict:
    """The CPU speed-ups a shipped graph's card records, by kind of CPU ({} for none)."""
    if not graph.is_file():
        return {}
    return json.loads(read_card(graph).extra.get(AGREEMENT_NOTE, "{}")).get("cpu_speedups", {})


def layout(graph: Path) -> Layout:
    """The graph's nodes, (operator, name, inputs): two graphs of one network run at one speed on one CPU
    only where the same nodes are quantized (`calibrate --target-f1` keeps the most sensitive ones FP32,
    and which those are depends on the weights) and wired alike (a MaxPool reading a float tensor or
    its quantised copy: float_pooling.py)."""
    return sorted((node.op_type, node.name, tuple(node.input)) for node in onnx.load(graph).graph.node)


def carried_speedups(name: str, form: str) -> dict[str, tuple[dict, Layout]]:
    """The CPU speed-ups a new `form` of `name` may keep, by kind of CPU, each with the layout of the
    graph it was measured on: those of the graph it replaces, else of the same form of another shipped
    model of the same network (its registry config; `contour-thin` is `contour` with other weights),
    each marked with the graph it was measured on."""
    graph = SHIPPED_DIR / f"{name}{SHIPPED_FORMS[form]}.onnx"
    if not speedups_of(graph):
        config = get_spec(name).config
        twins = [other for other in shipped_graphs() if other != name and other in MODELS]
        twins = [other for other in twins if MODELS[other].config == config]
        if not twins:
            return {}
        graph = SHIPPED_DIR / f"{twins[0]}{SHIPPED_FORMS[form]}.onnx"
    carried = {}
    for kind, figure in speedups_of(graph).items():
        source = figure.get("measured_on", graph.name)
        carried[kind] = ({**figure, "measured_on": source}, layout(SHIPPED_DIR / source))
    return carried


def record_speed(
    graph: Path, fp32: Path, heldout: Path, large: Path, *, earlier: dict | None = None, size: int = SIZE
) -> dict:
    """Add the CPU speed-up against FP32, measured on this machine, to `graph`'s agreement record,
    under this CPU's kind (`machine.int8_kind()`): a measurement on the other kind is kept, also from
    `earlier` (`carried_speedups` of the same nodes quantized; its date says when it was measured).
    The smaller of two counts: on 424 px pages, and on one LARGE_SIDE page (`large`), as scans run: on
    AVX2 alone `contour`'s INT8 CPU form ran 1.04x FP32 at 424 px and 0.77x end to end on a 10000x8000
    scan."""
    card = read_card(graph)
    record = json.loads(card.extra.get(AGREEMENT_NOTE, "{}"))
    by_side = {
        str(size): cpu_speedup(graph, fp32, sorted((heldout / "input").glob("*.png"))[:10]),
        str(LARGE_SIDE): cpu_speedup(graph, fp32, sorted((large / "input").glob("*.png"))),
    }
    measured = {
        "speedup": round(min(by_side.values()), 2),
        "by_side": {side: round(value, 2) for side, value in by_side.items()},
        "cpu": cpu_name(),
        "date": date.today().isoformat(),
    }
    record["cpu_speedups"] = {**(earlier or {}), **record.get("cpu_speedups", {}), int8_kind(): measured}
    card = dataclasses.replace(card, extra={**card.extra, AGREEMENT_NOTE: json.dumps(record)})
    save_graph(onnx.load(graph), card, graph, overwrite=True)
    return record


def record_memory(graph: Path) -> dict:
    """Write what ONNX Runtime holds per input pixel running `graph` into its card (the tile plan's
    figure, toolkit.runtime.tile_plan)."""
    record = measure_runtime_memory(graph)
    card = read_card(graph)
    card = dataclasses.replace(card, extra={**card.extra, RUNTIME_MEMORY_NOTE: json.dumps(record)})
    save_graph(onnx.load(graph), card, graph, overwrite=True)
    return record


def excluded_nodes(graph: Path) -> list[str]:
    """The nodes an INT8 graph's card says were kept out of INT8."""
    card = read_card(graph)
    if card.precision != "int8":
        raise SystemExit(f"{graph}: is {card.precision}, not an INT8 graph")
    return json.loads(card.extra.get("int8_excluded_nodes", "[]"))


def cpu_name() -> str:
    """The CPU's model name and the flags that decide INT8 speed on x86."""
    return cpu_model() + "".join(f", {flag}" for flag in cpu_flags(("avx2", "avx512f", *INT8_DOT_PRODUCTS)))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("model")
    parser.add_argument("--target-f1", type=float, default=0.995, help="calibrate --target-f1, TensorRT form")
    parser.add_argument("--cpu-target-f1", type=float, default=None, help="the same for the CPU form")
    parser.add_argument("--size", type=int, default=SIZE, help="side of the calibration and held-out pages")
    parser.add_argument(
        "--pin", action="append", default=[], help="FACTOR=LOW:HIGH on every page, as `toolkit synth --pin`"
    )
    parser.add_argument(
        "--cpu-exclude-from", type=Path, help="CPU form: keep out of INT8 what this graph's card kept out"
    )
    parser.add_argument("--speed-only", action="store_true", help="only re-measure the CPU speed-ups")
    parser.add_argument("--memory-only", action="store_true", help="only re-measure the runtime memory")
    args = parser.parse_args()
    if args.cpu_exclude_from and args.cpu_target_f1:
        parser.error("--cpu-exclude-from makes the CPU form without a search: --cpu-target-f1 has no use")
    spec = get_spec(args.model)
    domain = DOMAIN_OF_FAMILY[spec.family]
    pins = tuple(Focus.parse(domain, text, option="--pin") for text in args.pin)
    pages = " ".join([f"--size {args.size}", *(f"--pin {text}" for text in args.pin)])
    paths = {form: SHIPPED_DIR / f"{args.model}{suffix}.onnx" for form, suffix in SHIPPED_FORMS.items()}
    fp32 = SHIPPED_DIR / f"{args.model}.onnx"
    if args.memory_only:
        for form, graph in {"fp32": fp32, **paths}.items():
            print(f"{args.model} {form}: {record_memory(graph)}")
        return
    with tempfile.TemporaryDirectory() as scratch:
        calib, heldout, large = Path(scratch) / "calib", Path(scratch) / "heldout", Path(scratch) / "large"
        write_pairs(domain, 32, args.size, seed=1, root=calib, pins=pins)
        write_pairs(domain, 40, args.size, seed=0, root=heldout, pins=pins)
        write_pairs(domain, 1, LARGE_SIDE, seed=2, root=large, pins=pins)
        if args.speed_only:
            for form in ("fp16", "int8-cpu"):  # the forms ONNX Runtime's CPU provider may be given
                record = record_speed(paths[form], fp32, heldout, large, size=args.size)
                print(f"{args.model} {form}: {record}")
            return
        carried = {form: carried_speedups(args.model, form) for form in ("fp16", "int8-cpu")}
        # read before the graph named may be the one overwritten below
        cpu_exclude = excluded_nodes(args.cpu_exclude_from) if args.cpu_exclude_from else None
        export_model(args.model, fp32, overwrite=True)
        images = load_calibration_set(calib / "input")
        convert_to_fp16(fp32, images.batches(read_card(fp32)), paths["fp16"], overwrite=True)
        calibrate(fp32, images, output=paths["int8"], target_f1=args.target_f1, overwrite=True)
        cpu_target = None if cpu_exclude is not None else args.cpu_target_f1 or args.target_f1
        calibrate(
            fp32,
            images,
            output=paths["int8-cpu"],
            target="cpu",
            target_f1=cpu_target,
            exclude=cpu_exclude or (),
            overwrite=True,
        )
        fp32_f1 = line_f1(fp32, heldout)
        print(f"{args.model} fp32: line F1 {fp32_f1:.4f} against the targets of {heldout.name}")
        for form, graph in paths.items():
            print(f"{args.model} {form}: {record_agreement(graph, fp32, heldout, fp32_f1, pages)}")
        for form in ("fp16", "int8-cpu"):
            nodes_now = layout(paths[form])  # the new graph's: read once, compared with each carried one
            speedups = {kind: m for kind, (m, nodes) in carried[form].items() if nodes == nodes_now}
            if dropped := sorted(carried[form].keys() - speedups.keys()):
                # unmeasured on such a CPU, where `--precision auto` then runs another form
                print(f"{args.model} {form}: not carried, measured with other nodes quantized: {dropped}")
            record = record_speed(paths[form], fp32, heldout, large, earlier=speedups, size=args.size)
            print(f"{args.model} {form}: {record}")
        for form, graph in {"fp32": fp32, **paths}.items():
            print(f"{args.model} {form}: {record_memory(graph)}")


if __name__ == "__main__":
    main()
