"""`toolkit bench`: model-only against end-to-end throughput, measured in one run. Torch-free.

Model-only times `runner.infer` on batches already decoded, normalised and padded. End-to-end times
`toolkit infer`'s whole path over the same files: decode, tiles, model, conversion, PNG encoding,
atomic writes. Their ratio says how much of the model's speed the pipeline delivers.
"""

from __future__ import annotations

import resource
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from toolkit.imaging.conditioning import condition
from toolkit.imaging.imageio import list_images, read_image
from toolkit.imaging.model_input import pad_to_stride, to_model_input
from toolkit.runtime.base import Runner
from toolkit.runtime.flips import flip_views
from toolkit.runtime.infer import InputFile, drawn_by_counts, infer_files
from toolkit.runtime.tiling import PLANNED_TILING, Tiling


@dataclass
class BenchReport:
    model: str
    precision: str
    flips: int  # mirrored views averaged per image (toolkit.runtime.flips); the GFLOP count includes them
    images: int
    megapixels: float  # of all images together
    model_images_per_s: float
    model_latency_ms: dict[str, float]  # p50, p90, p99 of one image through the model
    end_to_end_images_per_s: float
    end_to_end_fraction: float  # end-to-end / model-only throughput
    megapixels_per_s: float  # end to end
    gflop_per_image: float | None  # convolutions only; None without the onnx package
    gflop_per_s: float | None  # achieved by the model alone
    peak_rss_mb: float
    # behind a route (toolkit.runtime.routing): pages each model drew end to end; model only is the
    # first model alone, so a page sent on costs end to end a second pass model only does not count
    drawn_by: dict[str, int] = field(default_factory=dict)


def conv_gflop(onnx_path: Path, channels: int, height: int, width: int) -> float | None:
    """Multiply-adds x 2 of every Conv/ConvTranspose for one image of the given size."""
    try:
        import onnx
    except ImportError:
        return None
    if not onnx_path.is_file():  # an engine whose graph is not on this machine
        return None
    model = onnx.load(onnx_path)
    dims = model.graph.input[0].type.tensor_type.shape.dim
    for dim, value in zip(dims, (1, channels, height, width)):
        dim.ClearField("dim_param")
        dim.dim_value = value
    model = onnx.shape_inference.infer_shapes(model)
    shapes = {
        v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
        for v in [*model.graph.value_info, *model.graph.output]
    }
    weights = {init.name: list(init.dims) for init in model.graph.initializer}
    for node in model.graph.node:  # INT8 and FP16 graphs reach a weight through a DequantizeLinear or Cast
        if node.op_type in ("DequantizeLinear", "Cast") and node.input[0] in weights:
            weights[node.output[0]] = weights[node.input[0]]
    flops = 0
    for node in model.graph.node:
        if node.op_type not in ("Conv", "ConvTranspose") or node.input[1] not in weights:
            continue
        kernel = weights[node.input[1]]  # Conv (out, in/g, kh, kw); ConvTranspose (in, out/g, kh, kw)
        if node.op_type == "Conv":
            out = shapes.get(node.output[0])
            if not out:
                continue
            flops += 2 * int(np.prod(out)) * int(np.prod(kernel[1:]))
        else:
            source = shapes.get(node.input[0])
            if not source:
                continue
            flops += 2 * int(np.prod(source)) * int(np.prod(kernel[1:]))
    return flops / 1e9


def percentile_ms(seconds: list[float]) -> dict[str, float]:
    return {f"p{q}": round(float(np.percentile(seconds, q)) * 1000, 1) for q in (50, 90, 99)}


def model_only(runner: Runner, files: list[Path]) -> list[float]:
    """Seconds of each image through the model alone, decoded, normalised and padded beforehand."""
    card = runner.card
    batches = [
        pad_to_stride(to_model_input(condition(read_image(path), card.conditioning), card)[None], card.stride)
        for path in files
    ]
    latencies = []
    for batch in batches:
        started = time.perf_counter()
        runner.infer({card.input_name: batch})
        latencies.append(time.perf_counter() - started)
    return latencies


def bench(runner: Runner, files: list[Path], tiling: Tiling = PLANNED_TILING) -> BenchReport:
    """`runner` (active) over `files`: the model alone, then `toolkit infer`'s whole path.

    The model alone is timed before and after the whole path and the faster pass counts. With one pass
    before, a session's slower first calls and the noise of a few images made the whole path read
    faster than the model alone (104 % on 4 images); now the pipeline's share is a lower bound.
    """
    card = runner.card
    first = read_image(files[0])
    runner.infer({card.input_name: pad_to_stride(to_model_input(first, card)[None], card.stride)})  # warm-up
    before = model_only(runner, files)

    with tempfile.TemporaryDirectory() as scratch:
        inputs = [InputFile(path, Path(f"{index:05d}.png")) for index, path in enumerate(files)]
        started = time.perf_counter()
        run = infer_files(runner, inputs, Path(scratch), tiling=tiling)
        elapsed = time.perf_counter() - started
    latencies = min(before, model_only(runner, files), key=sum)
    model_rate = len(latencies) / sum(latencies)
    pixels = sum(r.width * r.height for r in run.results)
    end_to_end_rate = len(run.results) / elapsed
    views = flip_views(runner)
    gflop = None if runner.graph is None else conv_gflop(runner.graph, card.input_channels, *first.shape[:2])
    gflop = None if gflop is None else gflop * views
    return BenchReport(
        model=card.model,
        precision=card.precision,
        flips=views,
        images=len(files),
        megapixels=round(pixels / 1e6, 2),
        model_images_per_s=round(model_rate, 2),
        model_latency_ms=percentile_ms(latencies),
        end_to_end_images_per_s=round(end_to_end_rate, 2),
        end_to_end_fraction=round(end_to_end_rate / model_rate, 3),
        megapixels_per_s=round(pixels / 1e6 / elapsed, 2),
        gflop_per_image=None if gflop is None else round(gflop, 2),
        gflop_per_s=None if gflop is None else round(gflop * model_rate, 1),
        peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        drawn_by=drawn_by_counts(run.results),
    )


def bench_generated(
    runner: Runner, *, count: int, size: int, tiling: Tiling = PLANNED_TILING, track: Callable = iter
) -> BenchReport:
    """`bench` over `count` generated pages of `size` px of the model's domain (held-out seed 2)."""
    from toolkit.data.synthetic import write_pairs

    with tempfile.TemporaryDirectory() as scratch:
        write_pairs(runner.card.domain, count, size, seed=2, root=Path(scratch), track=track)
        return bench(runner, list_images(Path(scratch) / "input"), tiling)
