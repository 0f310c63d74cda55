"""`toolkit train`: one loop for both models, on synthetic pairs or a user's folder.

Adam (lr 1e-3, betas 0.9/0.999) with optional exponential decay, checkpoints every N epochs and on the
best validation line F1, early stopping that restores the best weights, exact resume, AMP on CUDA,
and DistributedDataParallel when started by torchrun (NCCL on GPUs, gloo on CPUs). Rank 0 alone
validates and writes the run folder:

    RUN/config.json         the configuration and the command line
    RUN/metrics.json        one entry per epoch
    RUN/curves.png          loss, PMI/GMI, accuracy, F1
    RUN/samples/*.png       input | prediction | target sheets of validation images
    RUN/checkpoints/        last.pt (resume from it), epoch-NNN.pt, best.pt
    RUN/weights.safetensors the best weights, with command, seed, commit and metrics beside them
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, RandomSampler
from tqdm import tqdm

from toolkit.analysis import metrics as line_metrics
from toolkit.analysis.evaluate import Scoreboard
from toolkit.core.errors import InputError, UsageError
from toolkit.core.fileio import atomic_path, write_json
from toolkit.core.machine import BF16_FLAGS, cpu_flags, usable_cores
from toolkit.core.metadata import DOMAIN_OF_FAMILY
from toolkit.data.datasets import Augment, FolderPairs, InputFormat, PairDataset, SyntheticPairs, pair_folder
from toolkit.data.factors import parse_focus
from toolkit.imaging.conditioning import check_conditioning
from toolkit.imaging.model_input import to_model_input
from toolkit.models.build import load_model
from toolkit.models.registry import ModelSpec, get_spec
from toolkit.models.weights import read_weights, write_weights
from toolkit.runtime.flips import VIEW_COUNTS
from toolkit.train.loss import (
    CENTRELINE_LOSS,
    CENTRELINE_WEIGHT,
    GAP_LOSSES,
    GAP_WEIGHT,
    LOSSES,
    line_loss,
    pmi_gmi_terms,
)
from toolkit.train.plots import comparison_sheet, training_curves
from toolkit.train.quant_aware import QuantAware
from toolkit.train.teacher import TEACHER_VIEWS, TEACHER_WEIGHT, Teacher

log = logging.getLogger(__name__)

MAX_WORKERS = 8


def default_workers() -> int:
    """Data loader processes: one per usable core, shared among torchrun's processes on this machine.

    Synthetic pages are drawn on the CPU (about 0.1 s a 320 px sketch page), and with no workers they
    are drawn between the steps: on 2 cores, 2 workers beside 2 torch threads made an epoch of 180
    pages 1.27x faster (65.8 -> 51.8 s, the same weights to the bit: every page is seeded by its index)."""
    per_machine = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    return min(MAX_WORKERS, usable_cores() // per_machine)


@dataclass
class TrainConfig:
    model: str = "unet-light"
    in_channels: int | None = None
    data: str = "synthetic"  # "synthetic", or a folder with input/ and target/
    kind: str | None = None  # synthetic pairs: "sketch" or "painting"; default by model family
    image_size: int = 256  # synthetic image side
    scales: tuple[float, float] | None = None  # synthetic training pages: element scale range (256 px = 1)
    crop: int = 192  # training crop side
    train_size: int = 480  # synthetic pairs per epoch
    val_size: int = 32  # synthetic validation pairs (held out: other seeds)
    val_fraction: float = 0.1  # of a folder's pairs, for validation
    resize: int | None = None  # folder images: shrink the longest side to this (INTER_AREA)
    batch_size: int = 6
    epochs: int = 100
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    lr_decay: float | None = None  # multiply the learning rate by this after every epoch
    cosine: bool = False  # anneal the learning rate to 2 % of `lr` over `epochs` (after each epoch)
    warmup: int = 0  # epochs whose learning rate rises linearly to `lr` before the schedule above begins
    time_limit: float | None = None  # minutes of training (all sessions of a resumed run) at most
    threads: int | None = None  # torch CPU threads (two runs side by side: 1 each)
    conditioning: str = "none"  # toolkit.imaging.conditioning, on each whole image before it is cropped
    loss: str = "pmi-gmi"
    loss_g: float = 0.5
    loss_a: float = 0.5
    gap_weight: float | None = None  # of the gap term of a gap loss (None: GAP_WEIGHT there)
    centreline_weight: float | None = None  # of pmi-gmi+centrelines' clDice term (None: CENTRELINE_WEIGHT)
    checkpoint_every: int = 50
    patience: int | None = 10  # epochs without a better validation line F1; None = never stop early
    seed: int = 0
    amp: bool = True  # mixed precision, on CUDA only
    bf16: bool = False  # bfloat16 autocast and channels-last on the CPU (BF16_FLAGS): about 2x a step on AMX
    workers: int | None = None  # data loader processes; None: `default_workers()`
    device: str = "auto"
    init_weights: str | None = None  # e.g. a torchvision resnet18 file for the contour trunk
    fresh_lr_factor: float = 1.0  # what `init_weights` lacks (a grown branch) learns this much faster
    focus: tuple[str, ...] = ()  # synthetic training pages: FACTOR=LOW:HIGH parts trained on more often
    focus_share: float = 0.25  # ... on this share of pages (one focus each)
    quant_aware: bool = False  # train through the INT8 CPU graph's rounding (toolkit.train.quant_aware)
    teacher: str | None = None  # weights whose mirrored views' mean is a second, soft target (train.teacher)
    teacher_views: int | None = None  # ... over this many views (1, 2 or 4; None: TEACHER_VIEWS there)
    teacher_weight: float | None = None  # ... weighed this much in the loss (None: TEACHER_WEIGHT there)
    threshold: float = 0.5
    out: str = ""  # run folder; default runs/MODEL
    command: str = field(default_factory=lambda: shlex.join(sys.argv))  # the CLI passes its own

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise InputError(f"--loss must be one of {', '.join(LOSSES)}, not {self.loss}")
        if self.gap_weight is not None and self.loss not in GAP_LOSSES:
            raise InputError(
                f"--gap-weight weighs the gap term of --loss {' or '.join(GAP_LOSSES)}, not of {self.loss}"
            )
        if self.workers is None:
            self.workers = default_workers()  # recorded as the number it is
        if self.workers < 0:
            raise InputError(f"--workers must be 0 or more, not {self.workers}")
        if self.loss in GAP_LOSSES and self.gap_weight is None:
            self.gap_weight = GAP_WEIGHT  # recorded as the number it is
        if self.gap_weight is not None and self.gap_weight < 0:
            raise InputError(f"--gap-weight must be 0 or more, not {self.gap_weight}")
        if self.centreline_weight is not None and self.loss != CENTRELINE_LOSS:
            raise InputError(f"--centreline-weight weighs the clDice term of --loss {CENTRELINE_LOSS}")
        if self.loss == CENTRELINE_LOSS and self.centreline_weight is None:
            self.centreline_weight = CENTRELINE_WEIGHT  # recorded as the number it is
        if self.centreline_weight is not None and self.centreline_weight < 0:
            raise InputError(f"--centreline-weight must be 0 or more, not {self.centreline_weight}")
        if self.crop % 8:
            raise InputError(f"--crop must be a multiple of 8, not {self.crop}")
        check_conditioning(self.conditioning)
        if self.cosine and self.lr_decay:
            raise InputError("--cosine and --lr-decay are two learning-rate schedules: choose one")
        if self.fresh_lr_factor <= 0:
            raise InputError(f"--fresh-lr-factor must be above 0, not {self.fresh_lr_factor}")
        if self.fresh_lr_factor != 1.0 and not self.init_weights:
            raise InputError(
                "--fresh-lr-factor speeds up what --init-weights does not hold: give --init-weights"
            )
        if not 0 <= self.warmup < self.epochs:
            raise InputError(
                f"--warmup must be 0 or more and fewer than --epochs ({self.epochs}), not {self.warmup}"
            )
        if self.focus and self.data != "synthetic":
            raise InputError("--focus pins factors of synthetic pages; it has no meaning with --data FOLDER")
        if self.scales is not None and not 0 < self.scales[0] <= self.scales[1]:
            raise InputError(f"--scales LOW:HIGH needs 0 < LOW <= HIGH, not {self.scales}")
        if self.scales and self.data != "synthetic":
            raise InputError("--scales draws synthetic pages; it has no meaning with --data FOLDER")
        if not 0 <= self.focus_share <= 1:
            raise InputError(f"--focus-share is a share of pages, 0..1, not {self.focus_share}")
        if not self.teacher and (self.teacher_views, self.teacher_weight) != (None, None):
            raise InputError("--teacher-views and --teacher-weight describe a --teacher; none is given")
        if self.teacher:  # recorded as the numbers they are
            self.teacher_views = TEACHER_VIEWS if self.teacher_views is None else self.teacher_views
            self.teacher_weight = TEACHER_WEIGHT if self.teacher_weight is None else self.teacher_weight
        if self.teacher_views is not None and self.teacher_views not in VIEW_COUNTS:
            raise InputError(
                f"--teacher-views must be one of {', '.join(map(str, VIEW_COUNTS))}, not {self.teacher_views}"
            )
        if self.teacher_weight is not None and not 0 <= self.teacher_weight <= 1:
            raise InputError(f"--teacher-weight is a share of the loss, 0..1, not {self.teacher_weight}")

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


@dataclass
class TrainResult:
    run: Path
    best_epoch: int
    best: dict[str, float]
    epochs_run: int
    stopped_early: bool
    evaluation: dict[str, dict[str, float]]  # method -> metrics on the validation set (rank 0)


class Distributed:
    """Rank and world size under torchrun; a single process otherwise."""

    def __init__(self, device: torch.device) -> None:
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        if self.world > 1 and not dist.is_initialized():
            dist.init_process_group("nccl" if device.type == "cuda" else "gloo")

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()

    def broadcast_flag(self, flag: bool) -> bool:
        if self.world == 1:
            return flag
        value = torch.tensor([int(flag)])
        dist.broadcast(value, src=0)
        return bool(value.item())

    def check_replicas_agree(self, model: nn.Module) -> None:
        """DDP keeps every rank's weights identical; prove it rather than trust it."""
        if self.world == 1:
            return
        checksum = torch.stack([p.detach().double().sum() for p in model.parameters()]).sum().reshape(1)
        gathered = [torch.zeros_like(checksum) for _ in range(self.world)]
        dist.all_gather(gathered, checksum)
        if any(not torch.equal(g, gathered[0]) for g in gathered):
            raise RuntimeError(f"DDP replicas diverged: parameter checksums {[g.item() for g in gathered]}")

    def close(self) -> None:
        if self.world > 1 and dist.is_initialized():
            dist.destroy_process_group()


def pick_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        return torch.device("cpu")
    return torch.device(name)


def build_datasets(config: TrainConfig, spec: ModelSpec) -> tuple[PairDataset, PairDataset]:
    fmt = InputFormat(spec.in_channels, list(spec.mean), list(spec.std), config.conditioning)
    train_augment = Augment(config.crop)
    if config.data == "synthetic":
        kind = config.kind or DOMAIN_OF_FAMILY[spec.family]
        size = config.image_size
        focus = tuple(parse_focus(kind, text) for text in config.focus)
        train = SyntheticPairs(
            kind,
            size,
            config.train_size,
            train_augment,
            fmt,
            config.seed,
            validation=False,
            focus=focus,
            focus_share=config.focus_share,
            scales=config.scales,
        )
        val_augment = Augment(size - size % spec.stride, enabled=False)
        # validated across the same scales, so the best epoch is the best over them; never focused
        val = SyntheticPairs(
            kind, size, config.val_size, val_augment, fmt, config.seed, validation=True, scales=config.scales
        )
        return train, val
    pairs = pair_folder(Path(config.data))
    rng = np.random.default_rng(config.seed)
    order = rng.permutation(len(pairs))
    val_count = max(1, round(len(pairs) * config.val_fraction)) if len(pairs) > 1 else 0
    if val_count == 0:
        raise InputError(f"{config.data}: needs at least 2 pairs (one for validation)")
    val_pairs = [pairs[i] for i in order[:val_count]]
    train_pairs = [pairs[i] for i in order[val_count:]]
    val_augment = Augment(config.crop, enabled=False)
    return (
        FolderPairs(train_pairs, train_augment, fmt, config.seed, config.resize),
        FolderPairs(val_pairs, val_augment, fmt, config.seed, config.resize),
    )


def git_commit() -> str:
    """The checkout's commit; where git cannot say (a copy of the tree without .git, as a lent GPU
    machine gets: scripts/gpu_session.sh), the one TOOLKIT_GIT_COMMIT names, else "unknown"."""
    said = os.environ.get("TOOLKIT_GIT_COMMIT", "unknown")
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            cwd=Path(__file__).parent,
        )
        return result.stdout.strip() if result.returncode == 0 else said
    except OSError:
        return said


def uncommitted_code(package: Path = Path(__file__).parents[1]) -> list[str]:
    """The package's tracked files that differ from the checkout's commit (`git status`): weights
    trained from such a tree cannot be remade from the commit alone, and their record says so. Empty
    where git cannot say (a copy without .git)."""
    try:
        result = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", "."],
            capture_output=True,
            text=True,
            timeout=10,
            cwd=package,  # toolkit/: the code that makes the weights
        )
    except OSError:
        return []
    return sorted(line[3:] for line in result.stdout.splitlines()) if result.returncode == 0 else []


def train(config: TrainConfig) -> TrainResult:
    device = pick_device(config.device)
    ranks = Distributed(device)
    try:
        return _train(config, device, ranks)
    finally:
        ranks.close()


def _train(config: TrainConfig, device: torch.device, ranks: Distributed) -> TrainResult:
    spec = get_spec(config.model, config.in_channels)
    run = Path(config.out or f"runs/{config.model}")
    torch.manual_seed(config.seed)
    init = Path(config.init_weights) if config.init_weights else None
    model = load_model(spec, init, seed=config.seed, partial=True).module.to(device)
    groups = parameter_groups(model, init, config.lr, config.fresh_lr_factor)
    optimizer = torch.optim.Adam(groups, lr=config.lr, betas=config.betas)
    if config.threads:
        torch.set_num_threads(config.threads)
    scheduler = make_scheduler(optimizer, config)
    use_amp = config.amp and device.type == "cuda"
    if config.bf16:
        check_bf16(device)
        model.to(memory_format=torch.channels_last)  # oneDNN's BF16 convolutions want NHWC
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    # the commit the run starts from: the code that made the weights, whatever lands while it trains
    state = {
        "epoch": 0,
        "best_score": -1.0,
        "best_epoch": 0,
        "bad_epochs": 0,
        "history": [],
        "git_commit": git_commit(),
        "uncommitted": uncommitted_code(),
        "seconds": 0.0,  # training time so far, over every session of a resumed run
    }

    # the data and the teacher first: what cannot be used fails before a run folder exists
    train_set, val_set = build_datasets(config, spec)
    teacher = (
        Teacher(spec, Path(config.teacher), views=config.teacher_views or TEACHER_VIEWS, device=device)
        if config.teacher
        else None
    )
    last = run / "checkpoints" / "last.pt"
    if last.exists():
        state = resume(last, model, optimizer, scheduler, scaler, device)
    elif ranks.main:
        run.mkdir(parents=True, exist_ok=True)
        write_json(run / "config.json", config.to_json(), overwrite=True)
        if init is not None:
            state["start"] = starting_point(model, val_set, config, device, init)

    sampler = (
        DistributedSampler(train_set, ranks.world, ranks.rank, shuffle=True, seed=config.seed)
        if ranks.world > 1
        else RandomSampler(train_set, generator=torch.Generator())
    )
    loader = DataLoader(
        train_set, config.batch_size, sampler=sampler, num_workers=config.workers, drop_last=True
    )
    net = DistributedDataParallel(model) if ranks.world > 1 else model
    # the INT8 CPU graph's rounding in training passes only: validation and the weights stay FP32
    quant_aware = QuantAware(model) if config.quant_aware else None

    stopped_early = False
    while state["epoch"] < config.epochs and not stopped_early:
        epoch = state["epoch"] + 1
        train_set.set_epoch(epoch)
        if isinstance(sampler, DistributedSampler):
            sampler.set_epoch(epoch)
        else:
            sampler.generator.manual_seed(config.seed * 7919 + epoch)  # same order after a resume
        started = time.perf_counter()
        train_stats = train_epoch(
            net, loader, optimizer, scaler, config, device, use_amp, epoch, ranks.main, teacher=teacher
        )
        if scheduler is not None:
            scheduler.step()
        ranks.barrier()
        state["epoch"] = epoch
        if ranks.main:
            val_stats, sheet_batch = validate(model, val_set, config, device)
            entry = {
                "epoch": epoch,
                "seconds": round(time.perf_counter() - started, 1),
                "lr": optimizer.param_groups[0]["lr"],
                **train_stats,
                **val_stats,
            }
            state["seconds"] = state.get("seconds", 0.0) + entry["seconds"]
            improved = record_epoch(state, entry)
            save_epoch(run, model, optimizer, scheduler, scaler, state, config, epoch, improved)
            if improved or epoch % config.checkpoint_every == 0 or epoch == config.epochs:
                comparison_sheet(*sheet_batch, val_set.format, run / "samples" / f"epoch-{epoch:03d}.png")
            stopped_early = config.patience is not None and state["bad_epochs"] >= config.patience
            if stopped_early:
                log.info("no better validation line F1 for %d epochs: stopping early", config.patience)
            if config.time_limit is not None and state["seconds"] >= 60 * config.time_limit:
                log.info(
                    "time limit of %g minutes reached after epoch %d: stopping", config.time_limit, epoch
                )
                stopped_early = True
        stopped_early = ranks.broadcast_flag(stopped_early)
    if quant_aware is not None:
        quant_aware.remove()
    ranks.check_replicas_agree(model)

    if ranks.main:
        best = torch.load(run / "checkpoints" / "best.pt", map_location="cpu", weights_only=True)
        model.load_state_dict(best["model"])  # restore the best epoch's weights
        best_entry = next(e for e in state["history"] if e["epoch"] == state["best_epoch"])
        write_final_weights(run, model.cpu(), config, best_entry, state)
        evaluation = evaluate_against_baselines(model, val_set, config)
        write_json(run / "evaluation.json", evaluation, overwrite=True)
    else:
        evaluation = {}
    best_entry = next((e for e in state["history"] if e["epoch"] == state["best_epoch"]), {})
    return TrainResult(run, state["best_epoch"], best_entry, state["epoch"], stopped_early, evaluation)


def parameter_groups(model: nn.Module, init: Path | None, lr: float, fresh_factor: float) -> list[dict]:
    """Adam's parameter groups: one at `lr`, or, for a run from `init` with `fresh_factor` != 1, the
    parameters `init` holds at `lr` (first, so the run's record reads its rate) and those it does not
    (a branch grown onto the network, or a head on a torchvision trunk) at `fresh_factor` times `lr`.

    A branch whose projection starts at zero gets gradients only through that projection, so at the
    rate that keeps a trained network in its basin it barely enters: `contour-oriented`'s branch,
    grown at 1.5e-4, put out 7 % of the wide branch's signal after 12 epochs (docs/training.md)."""
    if init is None or fresh_factor == 1.0:
        return [{"params": list(model.parameters()), "lr": lr}]
    held = set(read_weights(init)[0])
    named = list(model.named_parameters())
    fresh = [p for name, p in named if name not in held]
    if not fresh:
        raise InputError(f"--fresh-lr-factor: {init} holds every parameter of the model; nothing is fresh")
    return [
        {"params": [p for name, p in named if name in held], "lr": lr},
        {"params": fresh, "lr": lr * fresh_factor},
    ]


def make_scheduler(
    optimizer: torch.optim.Optimizer, config: TrainConfig
) -> torch.optim.lr_scheduler.LRScheduler | None:
    """The learning rate per epoch: `warmup` epochs rising to `lr`, then the cosine or decay over the rest.

    The warm-up is for runs that start from trained weights: Adam's moments start at zero, so its
    first steps at the full rate move every weight by about `lr` whatever its gradient. Epoch k of
    the warm-up (1-based) runs at k / (warmup + 1) of `lr`. What it did not do: `contour`
    continuations lost 0.4-1.0 points of validation line F1 in their first epoch at the peak rate
    (contour-v10, v11); with `--warmup 2` (contour-v12) the first epoch gained and the second, at two
    thirds of the rate, lost 0.41: the rate itself, not the optimiser's start (docs/training.md)."""
    schedule: torch.optim.lr_scheduler.LRScheduler | None = None
    if config.cosine:
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(
            optimizer, config.epochs - config.warmup, eta_min=0.02 * config.lr
        )
    elif config.lr_decay:
        schedule = torch.optim.lr_scheduler.ExponentialLR(optimizer, config.lr_decay)
    if not config.warmup:
        return schedule
    warmup = torch.optim.lr_scheduler.LinearLR(
        optimizer, start_factor=1 / (config.warmup + 1), total_iters=config.warmup
    )
    if schedule is None:
        return warmup  # stays at `lr` after its last epoch
    return torch.optim.lr_scheduler.SequentialLR(optimizer, [warmup, schedule], milestones=[config.warmup])


def resume(
    last: Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None,
    scaler: torch.amp.GradScaler,
    device: torch.device,
) -> dict:
    """Load everything `save_epoch` wrote into the live objects; return the run's state."""
    checkpoint = torch.load(last, map_location=device, weights_only=True)
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    if scheduler is not None:
        scheduler.load_state_dict(checkpoint["scheduler"])
    scaler.load_state_dict(checkpoint["scaler"])
    torch.set_rng_state(checkpoint["torch_rng"])
    log.info("resumed %s at epoch %d", last, checkpoint["state"]["epoch"])
    return checkpoint["state"]


def starting_point(
    model: nn.Module, dataset: PairDataset, config: TrainConfig, device: torch.device, init: Path
) -> dict[str, float]:
    """Validation metrics of the weights a run starts from (`--init-weights`), before its first step:
    what a warm start's epochs are to be read against (a flat curve at the start's level is a run
    that bought nothing; one under it, a run that lost ground). The random state is left as it was,
    so the run trains as it would without this pass."""
    with torch.random.fork_rng(devices=[]):
        stats, _ = validate(model, dataset, config, device)
    log.info(
        "epoch 0 (%s, before training): val loss %.4f, val line F1 %.4f",
        init,
        stats["val_loss"],
        stats["val_line_f1"],
    )
    return {key: round(value, 5) for key, value in stats.items()}


def record_epoch(state: dict, entry: dict) -> bool:
    """Add an epoch's metrics to the state and track the best one; True when this epoch is the best."""
    state["history"].append(entry)
    improved = entry["val_line_f1"] > state["best_score"]
    if improved:
        state.update(best_score=entry["val_line_f1"], best_epoch=entry["epoch"], bad_epochs=0)
    else:
        state["bad_epochs"] += 1
    log.info(
        "epoch %d (%.0f s): loss %.4f, val loss %.4f, val line F1 %.4f%s",
        entry["epoch"],
        entry["seconds"],
        entry["loss"],
        entry["val_loss"],
        entry["val_line_f1"],
        " (best)" if improved else "",
    )
    return improved


def batch_loss(config: TrainConfig, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The configured loss (toolkit.train.loss) of one batch of probabilities and targets."""
    # __post_init__ has set the weight of the chosen loss's added term; the others are None and unused
    weights = {"gap_weight": config.gap_weight, "centreline_weight": config.centreline_weight}
    chosen = {name: weight for name, weight in weights.items() if weight is not None}
    return line_loss(config.loss, pred, target, config.loss_g, config.loss_a, **chosen)


def check_bf16(device: torch.device) -> None:
    """`--bf16` runs where it pays: on a CPU with BF16 dot products (elsewhere torch emulates them,
    slower than FP32); CUDA has `--amp` (float16)."""
    if device.type != "cpu":
        raise UsageError(f"--bf16 is bfloat16 autocast on the CPU; on {device.type} --amp runs float16")
    if not cpu_flags(BF16_FLAGS):
        raise UsageError(
            f"--bf16: this CPU has none of {', '.join(BF16_FLAGS)}; "
            "bfloat16 would be emulated, slower than FP32"
        )


def autocast(device: torch.device, *, use_amp: bool, bf16: bool) -> torch.autocast:
    """The training pass's autocast: float16 on CUDA (`--amp`), bfloat16 on the CPU (`--bf16`); the
    weights, the optimiser and the loss's sums stay FP32 either way."""
    dtype = torch.bfloat16 if bf16 else torch.float16
    return torch.autocast(device.type, dtype=dtype, enabled=use_amp or bf16)


def train_epoch(
    net: nn.Module,
    loader: DataLoader,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    config: TrainConfig,
    device: torch.device,
    use_amp: bool,
    epoch: int,
    show: bool,
    *,
    teacher: Teacher | None = None,
) -> dict[str, float]:
    net.train()
    totals = {"loss": 0.0, "pmi": 0.0, "gmi": 0.0, "accuracy": 0.0, "f1": 0.0}
    batches = 0
    for x, target in tqdm(loader, desc=f"epoch {epoch}", disable=None if show else True, leave=False):
        x, target = x.to(device, non_blocking=True), target.to(device, non_blocking=True)
        if config.bf16:
            x = x.contiguous(memory_format=torch.channels_last)
        with autocast(device, use_amp=use_amp, bf16=config.bf16):
            pred = net(x)  # (N, 1, H, W) line probability
        loss = batch_loss(config, pred.float(), target)
        if teacher is not None:
            soft = batch_loss(config, pred.float(), teacher(x))
            weight = config.teacher_weight or 0.0
            loss = (1 - weight) * loss + weight * soft
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        with torch.no_grad():
            pmi, gmi = pmi_gmi_terms(pred.float(), target, config.loss_a)
            counts = line_metrics.pixel_counts(
                (pred >= config.threshold).cpu().numpy(), target.bool().cpu().numpy()
            )
            tp, fp, fn = counts["tp"], counts["fp"], counts["fn"]
            totals["loss"] += loss.item()
            totals["pmi"] += pmi.item()
            totals["gmi"] += gmi.item()
            totals["accuracy"] += 1 - (fp + fn) / counts["pixels"]
            totals["f1"] += 2 * tp / max(1, 2 * tp + fp + fn)
        batches += 1
    return {key: value / max(1, batches) for key, value in totals.items()}


@torch.no_grad()
def validate(
    model: nn.Module, dataset: PairDataset, config: TrainConfig, device: torch.device
) -> tuple[dict[str, float], tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Validation metrics (micro-averaged over the set) and the first images for a comparison sheet."""
    model.eval()
    loader = DataLoader(dataset, batch_size=max(1, config.batch_size), shuffle=False)
    counts: dict[str, int] = {}
    losses, pmis, gmis, first = [], [], [], None
    for x, target in loader:
        pred = model(x.to(device)).float()
        target = target.to(device)
        losses.append(batch_loss(config, pred, target).item() * len(x))
        pmi, gmi = pmi_gmi_terms(pred, target, config.loss_a)
        pmis.append(pmi.item() * len(x))
        gmis.append(gmi.item() * len(x))
        pred_np, target_np = pred.cpu().numpy()[:, 0], target.cpu().numpy()[:, 0] > 0.5
        for p, t in zip(pred_np, target_np):
            counts = line_metrics.add_counts(counts, line_metrics.all_counts(p >= config.threshold, t))
        if first is None:
            first = (x.numpy(), pred_np, target_np)
    n = len(dataset)
    scores = line_metrics.scores(counts)
    stats = {"val_loss": sum(losses) / n, "val_pmi": sum(pmis) / n, "val_gmi": sum(gmis) / n}
    stats |= {f"val_{name}": value for name, value in scores.items()}
    return stats, first


@torch.no_grad()
def evaluate_against_baselines(model: nn.Module, dataset: PairDataset, config: TrainConfig) -> dict:
    """The trained model beside Otsu, adaptive threshold and Canny on the validation images."""
    model.eval()
    board = Scoreboard()
    for index in range(len(dataset)):
        image, mask = dataset.raw(index)  # conditioned as the model sees it ...
        x = torch.from_numpy(to_model_input(image, dataset.format))[None]
        if dataset.format.conditioning != "none":
            image, _ = dataset.raw(index, conditioned=False)  # ... the baselines see the image itself
        probability = model(x.to(next(model.parameters()).device)).float().cpu().numpy()[0, 0]
        target = mask > 0.5
        board.add(config.model, probability >= config.threshold, target)
        board.add_baselines(image, target)
    return board.scores()


def save_epoch(
    run: Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: object,
    scaler: torch.amp.GradScaler,
    state: dict,
    config: TrainConfig,
    epoch: int,
    improved: bool,
) -> None:
    checkpoint = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict() if scheduler is not None else {},
        "scaler": scaler.state_dict(),
        "torch_rng": torch.get_rng_state(),
        "state": state,
        # so that a graph exported from any epoch's checkpoint carries its record, conditioning included
        "training": json.dumps(epoch_record(config, state["history"][-1], state)),
    }
    folder = run / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    targets = [folder / "last.pt"]
    if improved:
        targets.append(folder / "best.pt")
    if epoch % config.checkpoint_every == 0:
        targets.append(folder / f"epoch-{epoch:03d}.pt")
    for path in targets:
        with atomic_path(path, overwrite=True) as tmp:
            torch.save(checkpoint, tmp)
    write_json(run / "metrics.json", state["history"], overwrite=True)
    training_curves(state["history"], run / "curves.png", start=state.get("start"))


def epoch_record(config: TrainConfig, entry: dict, state: dict) -> dict:
    """How the weights of epoch `entry` were made: command, seed, the run's commit (and the package
    files it started with changed from it), metrics, and the config (whose `conditioning` every graph
    made from them must apply)."""
    return {
        "model": config.model,
        "command": config.command,
        "data": config.data,
        "data_seed": config.seed,
        "git_commit": state["git_commit"],
        "uncommitted": state.get("uncommitted", []),  # runs resumed from before it was recorded: none
        "epoch": entry["epoch"],
        "validation": {k: round(v, 5) for k, v in entry.items() if k.startswith("val_")},
        # the same pages' metrics of the --init-weights it started from, before training
        "start_validation": state.get("start", {}),
        "config": config.to_json(),
        "torch_version": torch.__version__,
    }


def write_final_weights(run: Path, model: nn.Module, config: TrainConfig, best: dict, state: dict) -> None:
    """The best weights, and beside them how they were made: command, seed, commit, metrics."""
    record = {**epoch_record(config, best, state), "best_epoch": best["epoch"]}
    metadata = {"training": json.dumps(record)}
    with atomic_path(run / "weights.safetensors", overwrite=True) as tmp:
        write_weights(model, tmp, metadata)
    write_json(run / "weights.json", record, overwrite=True)
