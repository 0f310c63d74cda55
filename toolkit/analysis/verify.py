"""Does an exported graph, or an engine built from one, compute what PyTorch computes? Per image,
per output, against the tolerances of its precision.

The card (in the ONNX metadata, or the engine's header) names the model, its config, the weights
file and their hash; we rebuild that PyTorch model, prove by the hash that it holds the same
tensors, feed both the same padded batches (toolkit.runtime.pipeline) and compare
(toolkit.core.agreement). Any backend runs the graph side: ONNX Runtime on the CPU by default, a TensorRT
engine on TensorRT (not executed here: no GPU), or ONNX Runtime's CUDA/TensorRT providers.

Where torch is not installed (a Jetson with the runtime only), the reference can be an ONNX graph of
the same model and weights on ONNX Runtime's CPU provider instead, as Polygraphy compares TensorRT
with ONNX Runtime; torch is imported only for the PyTorch reference.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from toolkit.core.agreement import TOLERANCES, Tolerance, compare, within
from toolkit.core.errors import InputError, UsageError
from toolkit.core.metadata import ModelCard, classic_card
from toolkit.core.model_ref import resolve_model
from toolkit.data.samples import other_channels, painting, sketch
from toolkit.imaging.conditioning import condition
from toolkit.imaging.imageio import list_images, read_image
from toolkit.runtime.backends import make_runner, shipped_form
from toolkit.runtime.base import Runner
from toolkit.runtime.onnxruntime_runner import OnnxRuntimeRunner
from toolkit.runtime.pipeline import predict

log = logging.getLogger(__name__)


@dataclass
class Case:
    name: str
    images: list[np.ndarray]  # one batch: same height and width; gray and RGB may mix


@dataclass
class Row:
    case: str
    index: int  # image within the case's batch
    image: str  # the case's name, with [index] for a batch of several
    output: str
    shape: list[int]  # (C, H, W) of the compared output
    max_abs: float
    mean_abs: float
    psnr_db: float
    line_f1: float
    nonfinite: int  # NaN/Inf values in the graph's output
    passed: bool


@dataclass
class VerifyReport:
    file: str  # the graph or engine verified
    backend: str
    reference: str  # "pytorch", or the reference graph
    model: str
    precision: str
    tolerance: Tolerance
    rows: list[Row]
    skipped: list[str]  # one line per input file that could not be read

    @property
    def passed(self) -> bool:
        return all(row.passed for row in self.rows)

    def worst(self) -> dict[str, float]:
        return {
            "max_abs": max(r.max_abs for r in self.rows),
            "mean_abs": max(r.mean_abs for r in self.rows),
            "psnr_db": min(r.psnr_db for r in self.rows),
            "line_f1": min(r.line_f1 for r in self.rows),
            "nonfinite": sum(r.nonfinite for r in self.rows),
        }

    def to_dict(self) -> dict:
        return {
            "file": self.file,
            "backend": self.backend,
            "reference": self.reference,
            "model": self.model,
            "precision": self.precision,
            "tolerance": dataclasses.asdict(self.tolerance),
            "rows": [dataclasses.asdict(r) for r in self.rows],
            "worst": self.worst(),
            "skipped": self.skipped,
            "passed": self.passed,
        }


def generated_cases(domain: str, seed: int = 0) -> list[Case]:
    """Images of the model's domain ("sketch" or "painting"): gray and RGB, the reference size, a
    sizes that are no multiple of any stride, a tiny one, and a batch of two.

    Only its own domain: an INT8 graph's ranges come from calibration images of that domain, and
    out-of-domain inputs fail it for no fault of the graph (a sketch model's INT8 graph agreed at line
    F1 0.997 on sketches and 0.976 on paintings, which the sketch model was never meant to draw).
    """
    draw = {"sketch": sketch, "painting": painting}[domain]
    other = "rgb" if domain == "sketch" else "gray"
    return [
        Case(f"{domain}-424x424", [draw(424, 424, seed)]),
        Case(f"{domain}-{other}-424x424", [other_channels(draw(424, 424, seed + 1))]),
        Case(f"{domain}-517x389", [draw(389, 517, seed + 2)]),
        Case(f"{domain}-250x250", [draw(250, 250, seed + 6)]),
        Case(f"{domain}-45x31", [draw(31, 45, seed + 3)]),
        Case("batch-2x424x424", [draw(424, 424, seed + 4), other_channels(draw(424, 424, seed + 5))]),
    ]


def folder_cases(folder: Path) -> tuple[list[Case], list[str]]:
    """Each readable image alone, and the first two as one batch (cropped to their common size).

    Unreadable files do not stop the run: their one-line errors come back beside the cases.
    """
    images, errors = [], []
    for path in list_images(folder):
        try:
            images.append((path.name, read_image(path)))
        except InputError as error:
            errors.append(str(error))
    cases = [Case(name, [image]) for name, image in images]
    if len(images) >= 2:
        pair = [image for _, image in images[:2]]
        height, width = min(i.shape[0] for i in pair), min(i.shape[1] for i in pair)
        cases.append(Case(f"batch-2x{width}x{height}", [i[:height, :width] for i in pair]))
    return cases, errors


def conditioned(cases: list[Case], method: str) -> list[Case]:
    """Each case's images as the model sees them (toolkit.imaging.conditioning), before any crop."""
    return [dataclasses.replace(case, images=[condition(i, method) for i in case.images]) for case in cases]


def fitted_cases(cases: list[Case], max_input: tuple[int, int, int] | None) -> list[Case]:
    """`cases`, with images larger than a runner takes (an engine's profile) cropped to its largest
    input, and named so; batches larger than its largest batch the runner splits itself."""
    if max_input is None:
        return cases
    _, max_h, max_w = max_input
    fitted = []
    for case in cases:
        height, width = case.images[0].shape[:2]
        if height <= max_h and width <= max_w:
            fitted.append(case)
            continue
        height, width = min(height, max_h), min(width, max_w)
        cropped = [image[:height, :width] for image in case.images]
        fitted.append(Case(f"{case.name} cropped to {width}x{height}", cropped))
    return fitted


def verify_model(
    model: str | Path,
    *,
    images: Path | None = None,
    weights: Path | None = None,
    precision: str = "auto",
    tolerances: str | None = None,
    track: Callable[[list[Case]], Iterable[Case]] = iter,
    backend: str | None = None,
    reference: Path | None = None,
) -> VerifyReport:
    """Run `model` (a shipped name, an ONNX graph or an engine) on `backend` and its PyTorch model (or
    the `reference` graph, on ONNX Runtime's CPU provider) on the same images; compare against the
    `tolerances` of a precision (default: the graph's own). The backend defaults to ONNX Runtime on
    the CPU for a graph, TensorRT for an engine; for a shipped name, `precision` picks its graph as
    `toolkit infer --precision` does.

    `track` wraps the list of cases, e.g. with a progress bar.
    """
    ref = resolve_model(model)
    backend = backend or ("tensorrt" if ref.is_engine else "onnxruntime")
    if backend == "torch":
        raise UsageError(f"{ref}: --backend torch is the reference itself; verify another backend")
    if reference is not None and weights is not None:
        raise UsageError(
            "--weights rebuilds the PyTorch reference; with --reference the graph is the reference"
        )
    if not ref.is_engine:  # for a shipped name, the graph `precision` picks (a file stays itself)
        ref = shipped_form(ref, backend, precision)
    runner, chosen = make_runner(ref, backend)
    with runner:
        return verify_runner(
            runner,
            ref.path,
            backend=chosen,
            images=images,
            weights=weights,
            tolerances=tolerances,
            track=track,
            reference=reference,
        )


def verify_runner(
    graph: Runner,
    model_path: Path,
    *,
    backend: str,
    images: Path | None = None,
    weights: Path | None = None,
    tolerances: str | None = None,
    track: Callable[[list[Case]], Iterable[Case]] = iter,
    reference: Path | None = None,
) -> VerifyReport:
    """`verify_model` for an active runner of `model_path`."""
    card = graph.card
    cases, skipped = folder_cases(images) if images is not None else (generated_cases(card.domain), [])
    if not cases:
        raise InputError(f"{images}: none of its images could be read")
    cases = fitted_cases(conditioned(cases, card.conditioning), graph.max_input)
    precision = tolerances or card.precision
    if precision not in TOLERANCES:
        raise InputError(f"{model_path}: no tolerances for precision '{precision}' ({', '.join(TOLERANCES)})")
    tolerance = TOLERANCES[precision]
    rows = []
    with reference_runner(card, model_path, weights, reference) as expected_runner:
        check_same_model(expected_runner.card, card, reference, model_path)
        for case in track(cases):
            log.debug("verifying %s", case.name)
            expected = predict(expected_runner, case.images)
            actual = predict(graph, case.images)
            for info in card.outputs:
                for index in range(len(case.images)):
                    ref, got = expected[info.name][index], actual[info.name][index]
                    metrics = compare(ref, got, info, card.threshold)
                    label = case.name if len(case.images) == 1 else f"{case.name}[{index}]"
                    rows.append(
                        Row(
                            case.name,
                            index,
                            label,
                            info.name,
                            list(got.shape),
                            **metrics,
                            passed=within(metrics, tolerance),
                        )
                    )
    described = "pytorch" if reference is None else f"{reference} on onnxruntime"
    return VerifyReport(str(model_path), backend, described, card.model, precision, tolerance, rows, skipped)


def reference_runner(
    card: ModelCard, model_path: Path, weights: Path | None, reference: Path | None
) -> Runner:
    """What `model_path` is compared with: its PyTorch model, or the `reference` graph on the CPU."""
    if reference is not None:
        return OnnxRuntimeRunner(reference)
    from toolkit.models.reference import reference_model
    from toolkit.runtime.torch_runner import TorchRunner

    # a serving graph's model is its classic graph's: normalised NCHW in (the pipeline feeds each)
    return TorchRunner(reference_model(card, model_path, weights), classic_card(card))


def check_same_model(expected: ModelCard, card: ModelCard, reference: Path | None, model_path: Path) -> None:
    """A reference graph must be the same model with the same weights and outputs (any precision)."""
    ours = (card.model, card.config, card.weights_sha256, card.output_names)
    theirs = (expected.model, expected.config, expected.weights_sha256, expected.output_names)
    if reference is not None and ours != theirs:
        raise InputError(
            f"{reference}: not a reference for {model_path}: it is '{expected.model}' "
            f"{expected.weights_sha256[:12]} {expected.output_names}, that is '{card.model}' "
            f"{card.weights_sha256[:12]} {card.output_names} (model, config, weights and outputs must match)"
        )
