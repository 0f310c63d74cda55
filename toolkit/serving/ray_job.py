"""`toolkit infer scans/ -o lines/ --ray [ADDRESS]`: the local folder job, spread over a Ray cluster.

The driver plans the run exactly as local infer does (outputs, --resume, clashes, outputs onto inputs),
then hands each pending image to a pool of actors, one task per image. Each actor holds one model
(a runner, activated once) and does all of an image's work itself: read, condition, tile, run, draw
and write, through the very function local infer uses (`infer_files`), so its pictures are byte for
byte the local ones, written atomically to the output folder (which every node must see: a shared
path). Actors are sized to the cluster: one per GPU where it has GPUs, else one per `threads` CPUs.

Why no separate reading tasks (Ray Data's `map_batches`): with actors holding every CPU, a reading
task waits for a CPU forever (issue 19 saw `map_batches(concurrency=2, num_cpus=1)` deadlock on 2
CPUs). Here nothing is scheduled besides the actors, so no work waits on a CPU an actor holds, and
an image is read on the node that runs it.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolkit.core.errors import MissingDependencyError, UsageError
from toolkit.runtime.backends import make_runner
from toolkit.runtime.infer import (
    DEFAULT_OPTIONS,
    FileResult,
    InferRun,
    InputFile,
    OutputOptions,
    infer_files,
    plan,
)
from toolkit.runtime.tiling import PLANNED_TILING, Tiling

log = logging.getLogger(__name__)

LOCAL = "local"  # `--ray` with no address: a Ray instance on this machine, started and stopped here


@dataclass(frozen=True)
class RayModel:
    """What each actor opens: as `make_runner` takes it."""

    model: str
    backend: str = "auto"
    precision: str = "auto"
    threads: int = 1  # CPU threads per actor (ONNX Runtime's intra-op threads)
    flips: int = 1  # mirrored views averaged (toolkit.runtime.flips)


class ModelActor:
    """One model, held for the whole run; `run` draws one image (remote method, one task per image)."""

    def __init__(self, spec: RayModel) -> None:
        self.runner, self.backend = make_runner(
            spec.model, spec.backend, precision=spec.precision, flips=spec.flips, threads=spec.threads
        )
        self.runner.__enter__()

    def describe(self) -> tuple[str, str, str, str]:
        card = self.runner.card
        return card.model, card.precision, card.output_kind, self.backend

    def run(
        self, index: int, item: InputFile, out_dir: Path, options: OutputOptions, tiling: Tiling
    ) -> tuple[int, FileResult]:
        return index, infer_files(self.runner, [item], out_dir, options=options, tiling=tiling).results[0]


def ray_module() -> Any:
    try:
        import ray
    except ImportError:
        raise MissingDependencyError("ray", "ray", "`toolkit infer --ray`") from None
    return ray


def actor_plan(resources: dict[str, float], threads: int) -> tuple[int, dict[str, float]]:
    """How many actors, and what each asks Ray for: a GPU each where there are GPUs, else `threads`
    CPUs each (at least one actor, even on a cluster smaller than one actor's ask)."""
    gpus = int(resources.get("GPU", 0))
    if gpus:
        return gpus, {"num_gpus": 1, "num_cpus": 1}
    cpus = resources.get("CPU", 1.0)
    return max(1, int(cpus // threads)), {"num_cpus": min(float(threads), cpus)}


def infer_on_ray(
    spec: RayModel,
    inputs: list[InputFile],
    out_dir: Path,
    *,
    address: str = LOCAL,
    options: OutputOptions = DEFAULT_OPTIONS,
    tiling: Tiling = PLANNED_TILING,
    track: Callable[[list[Any]], Iterable[Any]] = iter,
) -> tuple[InferRun, str]:
    """Local infer's run (results in input order) and a description of the model on the cluster."""
    ray = ray_module()
    if spec.threads < 1:
        raise UsageError(f"--threads must be at least 1, not {spec.threads}")
    started_here = address == LOCAL and not ray.is_initialized()
    on_sigterm = signal.getsignal(signal.SIGTERM)
    ray.init(
        address=None if address == LOCAL else address,
        include_dashboard=False,
        log_to_driver=False,
        logging_level=logging.WARNING,
        ignore_reinit_error=True,
    )
    # ray.init puts its own SIGTERM handler on the driver (it exits at once); keep the caller's, so a
    # scheduler's SIGTERM stops the run as Ctrl-C does: images in flight are finished, then --resume
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_sigterm)
    try:
        count, ask = actor_plan(ray.cluster_resources(), spec.threads)
        actor_class = ray.remote(**ask)(ModelActor)
        actors = [actor_class.remote(spec) for _ in range(count)]
        model, precision, kind, backend = ray.get(actors[0].describe.remote())
        if kind != "lines":
            raise UsageError(f"{spec.model}: --ray draws line models; run feature maps with local infer")
        if precision != "fp32":
            model += f" {precision}"
        described = f"{model} on {backend}, {count} Ray actor{'s' if count > 1 else ''}"
        log.info("%s (%s)", described, ", ".join(f"{k} {v}" for k, v in ask.items()))
        return run_jobs(ray, actors, inputs, out_dir, options, tiling, track), described
    finally:
        if started_here:
            ray.shutdown()


def run_jobs(
    ray: Any,
    actors: list[Any],
    inputs: list[InputFile],
    out_dir: Path,
    options: OutputOptions,
    tiling: Tiling,
    track: Callable[[list[Any]], Iterable[Any]],
) -> InferRun:
    """Each actor one image at a time, the next as it finishes; on Ctrl-C or SIGTERM no new image is
    started and those in flight are finished, so no actor is killed in the middle of a write."""
    jobs = plan(inputs, out_dir, options, None)  # as local infer plans it, before any pixel is read
    finished = {index: job.result for index, job in enumerate(jobs) if job.result is not None}
    pending = [index for index, job in enumerate(jobs) if job.result is None]
    queue = iter(pending)
    in_flight: dict[Any, Any] = {}  # object ref -> the actor running it

    def start(actor: Any) -> None:
        index = next(queue, None)
        if index is not None:
            in_flight[actor.run.remote(index, jobs[index].item, out_dir, options, tiling)] = actor

    for actor in actors:
        start(actor)
    run = InferRun([])
    try:
        for _ in track(pending):  # the bar moves as images finish, in whatever order they do
            (done,), _ = ray.wait(list(in_flight), num_returns=1)
            actor = in_flight.pop(done)
            index, result = ray.get(done)
            finished[index] = result
            start(actor)
    except KeyboardInterrupt:
        run.interrupted = True
        for index, result in ray.get(list(in_flight)):  # the images being drawn are finished, whole
            finished[index] = result
    run.results = [finished[index] for index in sorted(finished)]
    return run
