"""Models and training: `toolkit models` (the named configurations) and `toolkit train`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from toolkit.cli.common import console, invocation, print_scores
from toolkit.core.errors import InputError


def parse_range(option: str, text: str | None) -> tuple[float, float] | None:
    from toolkit.data.factors import parse_span

    if text is None:
        return None
    try:
        return parse_span(text)
    except ValueError:
        raise InputError(f"{option} {text}: write LOW:HIGH, e.g. 1:3") from None


def models_command() -> None:
    """List the named model configurations.

    Example: `toolkit models`
    """
    from toolkit.models.registry import MODELS

    table = Table("name", "family", "parameters", "stride", "input", "summary")
    for spec in MODELS.values():
        parameters = sum(p.numel() for p in spec.build().parameters())
        channels = "gray" if spec.in_channels == 1 else "RGB"
        table.add_row(
            spec.name, spec.family, f"{parameters / 1e6:.2f} M", str(spec.stride), channels, spec.summary
        )
    console.print(table)


def train_command(
    context: typer.Context,
    model: Annotated[str, typer.Argument(help="Model name (see `toolkit models`).")] = "unet-light",
    data: Annotated[
        str, typer.Option(help="`synthetic`, or a folder holding input/ and target/ images matched by name.")
    ] = "synthetic",
    out: Annotated[
        Optional[Path], typer.Option("--out", "-o", help="Run folder. Default: runs/MODEL.")
    ] = None,
    epochs: Annotated[int, typer.Option(help="Epochs at most.")] = 100,
    batch_size: Annotated[int, typer.Option(help="Images per step (per process under torchrun).")] = 6,
    lr: Annotated[float, typer.Option(help="Adam learning rate.")] = 1e-3,
    lr_decay: Annotated[
        Optional[float], typer.Option(help="Multiply the learning rate by this after each epoch.")
    ] = None,
    cosine: Annotated[
        bool, typer.Option(help="Anneal the learning rate to 2 % over --epochs (cosine), after each epoch.")
    ] = False,
    warmup: Annotated[
        int,
        typer.Option(
            help="Epochs whose learning rate rises linearly to --lr before --cosine or --lr-decay begins "
            "(for runs from --init-weights)."
        ),
    ] = 0,
    time_limit: Annotated[
        Optional[float], typer.Option(help="Stop after the epoch that passes this many minutes of training.")
    ] = None,
    threads: Annotated[
        Optional[int], typer.Option(help="Torch CPU threads (e.g. 1 each for two runs side by side).")
    ] = None,
    conditioning: Annotated[
        str,
        typer.Option(
            help="Input conditioning on each whole image: none, flatten (paper to white, ink stretched; "
            "sketches), flatten-graphite (the stretch set by graphite, not coloured pencil) or "
            "flatten-neutral (that, with the paper estimated past the page's edge). "
            "Recorded in the weights; every graph and engine made from them applies it."
        ),
    ] = "none",
    loss: Annotated[
        str,
        typer.Option(
            help="pmi-gmi (the reference), bce, pmi-gmi+bce, pmi-gmi+gaps (also penalises ink "
            "in the target's narrow gaps: strokes merged across them), pmi-gmi+thin-gaps (only "
            "in the gaps away from strokes 5 px thick or more) or pmi-gmi+centrelines (adds clDice: "
            "the centre lines matched within 2 px, as line F1 counts them, so thin lines weigh as "
            "much as thick ones)."
        ),
    ] = "pmi-gmi",
    gap_weight: Annotated[
        Optional[float],
        typer.Option(help="With a gap loss: the weight of the gap term. Default: 0.1."),
    ] = None,
    centreline_weight: Annotated[
        Optional[float],
        typer.Option(help="With pmi-gmi+centrelines: the weight of the clDice term. Default: 0.5."),
    ] = None,
    crop: Annotated[int, typer.Option(help="Training crop side, a multiple of 8.")] = 192,
    image_size: Annotated[int, typer.Option(help="Synthetic pairs: image side.")] = 256,
    scales: Annotated[
        Optional[str],
        typer.Option(
            help="Synthetic pairs: draw each training page's elements at a scale in LOW:HIGH (1 = as on a "
            "256 px page; default: the page's own, --image-size / 256), e.g. 1:3 for scans of every size."
        ),
    ] = None,
    train_size: Annotated[int, typer.Option(help="Synthetic pairs: new pairs per epoch.")] = 480,
    val_size: Annotated[int, typer.Option(help="Synthetic pairs: held-out validation pairs.")] = 32,
    kind: Annotated[
        Optional[str], typer.Option(help="Synthetic pairs: sketch or painting. Default: by model.")
    ] = None,
    resize: Annotated[
        Optional[int], typer.Option(help="Folder data: shrink the longest side to this (INTER_AREA).")
    ] = None,
    in_channels: Annotated[Optional[int], typer.Option("--in-channels", help="1 (gray) or 3 (RGB).")] = None,
    checkpoint_every: Annotated[int, typer.Option(help="Keep a checkpoint every N epochs.")] = 50,
    patience: Annotated[
        int, typer.Option(help="Stop after N epochs without a better validation line F1 (0: never).")
    ] = 10,
    seed: Annotated[int, typer.Option(help="Seed of initialisation, data and order.")] = 0,
    init_weights: Annotated[
        Optional[Path], typer.Option(help="Start from these weights (e.g. a torchvision resnet18 file).")
    ] = None,
    fresh_lr_factor: Annotated[
        float,
        typer.Option(
            help="Parameters --init-weights does not hold (a grown branch, a new head) learn at this "
            "multiple of --lr; the rest at --lr."
        ),
    ] = 1.0,
    focus: Annotated[
        Optional[list[str]],
        typer.Option(
            help="Synthetic pairs: train more often on part of a factor's range, FACTOR=LOW:HIGH "
            "(`toolkit synth --factors`), e.g. pencil_contrast=10:40; join several with + to pin them "
            "on the same page; repeat for several foci."
        ),
    ] = None,
    focus_share: Annotated[
        float, typer.Option(help="Share of training pages that pin one --focus (0..1).")
    ] = 0.25,
    quant_aware: Annotated[
        bool,
        typer.Option(
            help="Train through the rounding of the INT8 CPU graph (`calibrate --target cpu`), so it "
            "keeps the FP32 lines; the weights stay FP32."
        ),
    ] = False,
    teacher: Annotated[
        Optional[Path],
        typer.Option(
            help="Distil: these weights' line probabilities, averaged over --teacher-views mirrored "
            "views, are a second, soft target (e.g. toolkit/weights/contour.safetensors)."
        ),
    ] = None,
    teacher_views: Annotated[
        Optional[int], typer.Option(help="With --teacher: views averaged (1, 2 or 4). Default: 4.")
    ] = None,
    teacher_weight: Annotated[
        Optional[float],
        typer.Option(help="With --teacher: its share of the loss (the targets get the rest). Default: 0.5."),
    ] = None,
    amp: Annotated[bool, typer.Option(help="Mixed precision on CUDA.")] = True,
    bf16: Annotated[
        bool,
        typer.Option(
            help="bfloat16 autocast on the CPU, where it has avx512_bf16 or amx_bf16 (a step about 2x "
            "faster on an AMX Xeon); weights and optimiser stay FP32."
        ),
    ] = False,
    workers: Annotated[
        Optional[int],
        typer.Option(
            help="Data loader processes. Default: one per usable core (at most 8), shared under torchrun."
        ),
    ] = None,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:1 ...")] = "auto",
) -> None:
    """Train a model; resumes by itself from RUN/checkpoints/last.pt when the run folder has one.

    Examples:

    * `toolkit train unet-light --epochs 40`
    * `toolkit train unet --data data/ --resize 1024 --crop 384`
    * `torchrun --nproc_per_node 4 -m toolkit train unet --batch-size 6`
    """
    from toolkit.train.trainer import TrainConfig, train

    config = TrainConfig(
        command=invocation(context),
        model=model,
        in_channels=in_channels,
        data=data,
        kind=kind,
        image_size=image_size,
        scales=parse_range("--scales", scales),
        crop=crop,
        train_size=train_size,
        val_size=val_size,
        resize=resize,
        batch_size=batch_size,
        epochs=epochs,
        lr=lr,
        lr_decay=lr_decay,
        cosine=cosine,
        warmup=warmup,
        time_limit=time_limit,
        threads=threads,
        conditioning=conditioning,
        loss=loss,
        gap_weight=gap_weight,
        centreline_weight=centreline_weight,
        checkpoint_every=checkpoint_every,
        patience=patience or None,
        seed=seed,
        amp=amp,
        bf16=bf16,
        workers=workers,
        device=device,
        init_weights=str(init_weights) if init_weights else None,
        fresh_lr_factor=fresh_lr_factor,
        focus=tuple(focus or ()),
        focus_share=focus_share,
        quant_aware=quant_aware,
        teacher=str(teacher) if teacher else None,
        teacher_views=teacher_views,
        teacher_weight=teacher_weight,
        out=str(out or f"runs/{model}"),
    )
    result = train(config)
    if result.evaluation:
        console.print(
            f"validation set, best weights against classical baselines ({result.run}/evaluation.json):"
        )
        print_scores(result.evaluation, radius=2)
    if result.best:
        console.print(
            f"best epoch {result.best_epoch} of {result.epochs_run}: validation line F1 "
            f"{result.best['val_line_f1']:.4f}; weights in {result.run / 'weights.safetensors'}"
        )
