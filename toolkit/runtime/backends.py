"""Choosing a backend for a model, and `auto`: the fastest one this machine has.

What the model string names is decided once, by toolkit.core.model_ref. A TensorRT engine
(`.engine`/`.plan`, from `toolkit build-engine`) runs on TensorRT. An ONNX graph runs on
ONNX Runtime with one of its execution providers (TensorRT, CUDA, CPU); `auto` takes the first whose
provider is installed. The PyTorch backend rebuilds the model the graph was exported from (it needs
the `train` extra) and is there as the reference.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from toolkit.core.agreement import TOLERANCES
from toolkit.core.errors import InputError, MissingDependencyError, UsageError
from toolkit.core.machine import int8_kind
from toolkit.core.metadata import AGREEMENT_NOTE, ModelCard, read_card
from toolkit.core.model_ref import RUNNABLE, ModelRef, resolve_model
from toolkit.core.shipped import ROUTES, shipped_forms, shipped_graphs
from toolkit.runtime.base import Runner
from toolkit.runtime.flips import with_flips
from toolkit.runtime.routing import Router

log = logging.getLogger(__name__)

ONNXRUNTIME_PROVIDERS = {
    "onnxruntime-tensorrt": ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"],
    "onnxruntime-cuda": ["CUDAExecutionProvider", "CPUExecutionProvider"],
    "onnxruntime": ["CPUExecutionProvider"],
}
BACKENDS = ("auto", "tensorrt", *ONNXRUNTIME_PROVIDERS, "torch")
PRECISIONS = ("auto", "fp32", "fp16", "int8")
# Per backend, the shipped graph forms fastest first, as they usually are: ONNX Runtime's CPU provider
# runs its own INT8 form (uint8 activations, VNNI) up to 1.7x FP32 on the shipped models and FP16 no
# faster; TensorRT's provider builds the TensorRT INT8 form, then FP16 (BENCHMARKS.md). Where a CPU
# form measured slower (contour's), its card says so and `verified` passes it over.
FASTEST_FIRST = {
    "onnxruntime": ("int8-cpu", "fp32"),
    "onnxruntime-cuda": ("fp16", "fp32"),
    "onnxruntime-tensorrt": ("int8", "fp16", "fp32"),
    "torch": ("fp32",),
}
INT8_FORM = {"onnxruntime": "int8-cpu"}  # `--precision int8` on the CPU; elsewhere TensorRT's form
MAX_F1_DROP = 0.005  # line F1 against the targets a derived graph may lose to FP32 and still be `auto`


def available_providers() -> list[str]:
    try:
        import onnxruntime
    except ImportError:
        return []
    return onnxruntime.get_available_providers()


def pick_auto(model: ModelRef) -> str:
    """TensorRT for an engine; for a graph, the first ONNX Runtime provider installed here."""
    if model.is_engine:
        return "tensorrt"
    available = set(available_providers())
    for name, providers in ONNXRUNTIME_PROVIDERS.items():
        if providers[0] in available:
            return name
    raise MissingDependencyError("onnxruntime", "cpu", "`--backend auto`")


def verified(card: ModelCard, backend: str = "onnxruntime", *, cpu_kind: str | None = None) -> bool:
    """Whether a derived graph's recorded agreement (scripts/ship_graphs.py) meets its precision's gate
    against FP32, its lines lose at most MAX_F1_DROP of line F1 against the targets, and, on ONNX
    Runtime's CPU provider, it was measured faster than FP32 on a CPU of this machine's kind
    (`machine.int8_kind()`, or `cpu_kind`): an INT8 graph that keeps many nodes in FP32 can be slower
    (`contour`'s CPU form ran at 0.88x on an AVX-512 VNNI Xeon), and one that is faster where the
    CPU has INT8 dot products need not be where it has AVX2 alone."""
    record = json.loads(card.extra.get(AGREEMENT_NOTE, "null") or "null")
    if not isinstance(record, dict):
        return False
    gate = TOLERANCES[card.precision].min_line_f1
    agrees = record.get("line_f1", 0.0) >= gate and record.get("f1_drop", 1.0) <= MAX_F1_DROP
    if backend != "onnxruntime":
        return agrees
    measured = record.get("cpu_speedups", {}).get(cpu_kind or int8_kind(), {})
    return agrees and measured.get("speedup", 0.0) > 1.0


def shipped_form(model: ModelRef, backend: str, precision: str = "auto") -> ModelRef:
    """The graph of a shipped model name to run on `backend` at `precision`: `auto` takes the fastest
    shipped form whose recorded agreement is verified; a file is run as it is."""
    if precision not in PRECISIONS:
        raise UsageError(f"--precision must be one of {', '.join(PRECISIONS)}, not {precision}")
    if model.name is None:
        if precision != "auto":
            raise UsageError(
                f"{model}: --precision chooses among the graphs shipped for a model name; a file is one "
                "graph of one precision (pass the graph you want)"
            )
        return model
    forms = shipped_forms(model.name)
    if precision == "auto":
        wanted = FASTEST_FIRST.get(backend, ("fp32",))
    elif precision == "int8":
        wanted = (INT8_FORM.get(backend, "int8"),)
    else:
        wanted = (precision,)
    for form in wanted:
        path = forms.get(form)
        if path is not None and (precision != "auto" or form == "fp32" or verified(read_card(path), backend)):
            if form == "fp32":
                return model
            log.debug("%s: the shipped %s graph (%s) on %s", model.name, form, path.name, backend)
            return ModelRef(f"{model.name} ({form})", "graph", path)  # a file now: chosen once
    raise UsageError(f"no shipped {precision} graph of '{model.name}' (shipped: {', '.join(forms)})")


def make_runner(
    model: str | Path | ModelRef,
    backend: str = "auto",
    *,
    precision: str = "auto",
    flips: int = 1,
    threads: int = 0,
) -> tuple[Runner, str]:
    """A runner for `model` (a shipped name, an ONNX graph or an engine) on `backend`, and the backend
    chosen (for `auto`); for a shipped name, the graph of `precision` (`auto`: see `shipped_form`);
    with `flips` > 1, averaged over that many mirrored views (toolkit.runtime.flips). A shipped name
    with a route (`shipped.ROUTES`) runs as its graph and its experts', all so chosen, behind a
    Router (toolkit.runtime.routing), sharing one ONNX Runtime arena. `threads`: ONNX Runtime's
    intra-op threads (0: its choice)."""
    model = model if isinstance(model, ModelRef) else resolve_model(model, accepts=RUNNABLE)
    route = ROUTES.get(model.name or "")
    runner, chosen = backend_runner(model, backend, precision, threads, shared_arena=route is not None)
    if route is None:
        return with_flips(runner, flips), chosen
    experts = {}
    for road in route.roads:
        if road.expert not in shipped_graphs():
            raise InputError(f"{model}: its route's expert '{road.expert}' is not shipped in this package")
        expert, _ = backend_runner(resolve_model(road.expert), chosen, precision, threads, shared_arena=True)
        experts[road] = with_flips(expert, flips)
    return Router(with_flips(runner, flips), experts, reading=route.reading), chosen


def backend_runner(
    model: ModelRef, backend: str, precision: str, threads: int = 0, *, shared_arena: bool = False
) -> tuple[Runner, str]:
    """`make_runner`'s one model; `shared_arena`: an ONNX Runtime session draws from the process's one
    CPU arena (onnxruntime_runner.register_shared_arena)."""
    if backend not in BACKENDS:
        raise UsageError(f"--backend must be one of {', '.join(BACKENDS)}, not {backend}")
    chosen = pick_auto(model) if backend == "auto" else backend
    if model.is_engine != (chosen == "tensorrt"):
        raise UsageError(
            f"{model}: --backend tensorrt runs engines from `toolkit build-engine`, other backends run "
            f"ONNX graphs"
            + (f"; build one with `toolkit build-engine {model}`" if not model.is_engine else "")
        )
    model = shipped_form(model, chosen, precision)
    if chosen == "tensorrt":
        from toolkit.runtime.tensorrt_runner import TensorRTRunner

        return TensorRTRunner(model.path), chosen
    if chosen == "torch":
        from toolkit.models.reference import reference_model
        from toolkit.runtime.torch_runner import TorchRunner

        card = read_card(model.path)
        if card.precision != "fp32":
            raise InputError(
                f"{model}: the torch backend runs the FP32 model, this graph is {card.precision}"
            )
        return TorchRunner(reference_model(card, model.path, None), card), chosen
    providers = ONNXRUNTIME_PROVIDERS[chosen]
    if available_providers() and providers[0] not in available_providers():
        raise InputError(
            f"--backend {chosen}: this onnxruntime has no {providers[0]} "
            f"(it has {', '.join(available_providers())}; `pip install 'line-art-toolkit[gpu]'` brings CUDA)"
        )
    from toolkit.runtime.onnxruntime_runner import OnnxRuntimeRunner

    return OnnxRuntimeRunner(model.path, providers, threads, shared_arena=shared_arena), chosen


def precision_advice(card: ModelCard, backend: str) -> str | None:
    """Why this graph's INT8 form does not suit `backend`, if it does not; None when it does.

    Each INT8 form is made for one runtime (`toolkit calibrate --target`) and runs poorly or not at all
    on the other; the one-line advice names the command that makes the right one.
    """
    if card.precision != "int8":
        return None
    target = card.extra.get("int8_target", "tensorrt")
    remake = f"`toolkit calibrate export/{card.model}.onnx --target {{}}`"
    if target == "tensorrt" and backend == "onnxruntime":
        return (
            "TensorRT's INT8 form runs slower than the FP32 graph on ONNX Runtime's CPU provider "
            f"(BENCHMARKS.md); for the CPU make its CPU form with {remake.format('cpu')}"
        )
    if target == "cpu" and backend == "onnxruntime-tensorrt":
        return (
            "ONNX Runtime's CPU INT8 form (uint8 activations) is not TensorRT's; TensorRT leaves it to the "
            f"CUDA and CPU providers: make TensorRT's form with {remake.format('tensorrt')}"
        )
    return None


def warn_if_unsuited(runner: Runner, backend: str) -> None:
    """Log `precision_advice` for an active runner's graph on `backend`."""
    advice = precision_advice(runner.card, backend)
    if advice is not None:
        log.warning("%s: %s", runner.graph or runner.card.model, advice)
