"""Which quantised node costs how much accuracy, and an INT8 graph that meets a target.

Sensitivity is measured one node at a time: only that node in INT8, everything else FP32, on the
evaluation images; its cost is how far the output's lines move from the FP32 graph's (1 - line F1
agreement). The automatic mode quantises everything, and while the agreement misses the target,
keeps the most sensitive nodes in FP32: 1, 2, 4, ... of them until one count meets it, then the
fewest between the last count that missed and that one, by bisection (a count of 9 that misses and
18 that meets ends at, say, 12, not 18), so a graph with N nodes needs about 2 log2(N) extra
quantisations. Calibration ranges are computed once and reused from the cache.
"""

from __future__ import annotations

import itertools
import logging
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx

from toolkit.calibration.images import CalibrationSet
from toolkit.calibration.int8 import Int8Result, check_choices, quantizable_nodes, quantize_int8
from toolkit.core.agreement import compare
from toolkit.core.errors import CheckFailed
from toolkit.core.metadata import ModelCard, read_card

log = logging.getLogger(__name__)

EVALUATION_BATCHES = 4  # the first calibration images (or tiles), run through every candidate graph


@dataclass
class NodeCost:
    node: str
    module: str  # the PyTorch module it came from, read off its weight's name ("encoder.0.0")
    line_f1: float  # agreement with the FP32 graph when only this node is INT8
    psnr_db: float


def module_names(model: onnx.ModelProto) -> dict[str, str]:
    """Node name -> PyTorch module path, for nodes whose weight initializer kept torch's name."""
    initializers = {init.name for init in model.graph.initializer}
    return {
        node.name: node.input[1].removesuffix(".weight")
        for node in model.graph.node
        if len(node.input) > 1 and node.input[1] in initializers
    }


def run_graph(path: Path, batches: list[np.ndarray]) -> list[dict[str, np.ndarray]]:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name
    names = [o.name for o in session.get_outputs()]
    return [dict(zip(names, session.run(names, {input_name: batch}))) for batch in batches]


def agreement(card: ModelCard, reference: list[dict], result: list[dict]) -> tuple[float, float]:
    """Worst line F1 and worst PSNR over every image and output."""
    f1s, psnrs = [], []
    for ref, got in zip(reference, result):
        for info in card.outputs:
            metrics = compare(ref[info.name][0], got[info.name][0], info, card.threshold)
            f1s.append(metrics["line_f1"])
            psnrs.append(metrics["psnr_db"])
    return min(f1s), min(psnrs)


class Probe:
    """Quantises the FP32 graph with given exclusions and measures the result against FP32."""

    def __init__(
        self, fp32_path: Path, images: CalibrationSet, method: str, target: str, cache_dir: Path | None
    ) -> None:
        check_choices(method, target)
        self.fp32_path, self.images, self.cache_dir = fp32_path, images, cache_dir
        self.method, self.target = method, target
        self.card = read_card(fp32_path)
        self.batches = list(itertools.islice(images.batches(self.card), EVALUATION_BATCHES))
        self.reference = run_graph(fp32_path, self.batches)

    def measure(self, exclude: list[str]) -> tuple[float, float]:
        with tempfile.TemporaryDirectory() as scratch:
            path = Path(scratch) / "probe.onnx"
            quantize_int8(
                self.fp32_path,
                self.images,
                path,
                method=self.method,
                exclude=exclude,
                cache_dir=self.cache_dir,
                target=self.target,
            )
            return agreement(self.card, self.reference, run_graph(path, self.batches))


def node_sensitivity(
    fp32_path: Path,
    images: CalibrationSet,
    *,
    method: str = "max",
    cache_dir: Path | None = None,
    track: Callable[[list[str]], Iterable[str]] = iter,
    target: str = "tensorrt",
) -> list[NodeCost]:
    """Every quantisable node's cost alone, most harmful first."""
    probe = Probe(fp32_path, images, method, target, cache_dir)
    model = onnx.load(fp32_path)
    candidates, modules = quantizable_nodes(model), module_names(model)
    costs = []
    for node in track(candidates):
        f1, psnr = probe.measure([c for c in candidates if c != node])
        costs.append(NodeCost(node, modules.get(node, ""), f1, psnr))
    return sorted(costs, key=lambda c: (c.line_f1, c.psnr_db))


def quantize_to_target(
    fp32_path: Path,
    images: CalibrationSet,
    out: Path,
    *,
    target_f1: float,
    method: str = "max",
    overwrite: bool = False,
    cache_dir: Path | None = None,
    track: Callable[[list[str]], Iterable[str]] = iter,
    target: str = "tensorrt",
) -> tuple[Int8Result, list[NodeCost], float]:
    """The INT8 graph with the fewest most-sensitive nodes in FP32 whose agreement meets `target_f1`.

    Returns the written graph, the sensitivity ranking ([] when no fallback was needed) and the
    agreement reached.
    """
    probe = Probe(fp32_path, images, method, target, cache_dir)
    f1, _ = probe.measure([])
    ranking: list[NodeCost] = []
    excluded: list[str] = []
    if f1 < target_f1:
        log.info("all nodes INT8: line F1 agreement %.4f < %.4f; ranking nodes by sensitivity", f1, target_f1)
        ranking = node_sensitivity(
            fp32_path, images, method=method, cache_dir=cache_dir, track=track, target=target
        )

        def measure(count: int) -> float:
            f1, _ = probe.measure([c.node for c in ranking[:count]])
            log.info("%d most sensitive node(s) in FP32: agreement %.4f", count, f1)
            return f1

        count, f1 = fewest_in_fp32(measure, len(ranking), target_f1)
        if count is None:
            raise CheckFailed(
                f"{fp32_path}: INT8 agreement {f1:.4f} misses the target {target_f1} even with "
                f"{len(ranking)} nodes in FP32"
            )
        excluded = [c.node for c in ranking[:count]]
    result = quantize_int8(
        fp32_path,
        images,
        out,
        method=method,
        exclude=excluded,
        overwrite=overwrite,
        cache_dir=cache_dir,
        target=target,
    )
    return result, ranking, f1


def fewest_in_fp32(measure: Callable[[int], float], total: int, target_f1: float) -> tuple[int | None, float]:
    """(count, its agreement): the fewest of the `total` most sensitive nodes that, kept in FP32, make
    `measure(count)` meet `target_f1`; (None, the agreement with all of them) where even that misses.

    Doubling finds a count that meets the target, bisection the fewest above the last that missed. The
    agreement grows with the count only about monotonically, so this is the fewest the search saw
    meet it, never a count it did not measure."""
    missed, count = 0, 1
    while (f1 := measure(count)) < target_f1:
        if count == total:
            return None, f1
        missed, count = count, min(2 * count, total)
    met = (count, f1)
    while met[0] - missed > 1:
        count = (missed + met[0]) // 2
        if (f1 := measure(count)) >= target_f1:
            met = (count, f1)
        else:
            missed = count
    return met
