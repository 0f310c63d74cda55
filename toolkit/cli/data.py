"""`toolkit synth`: synthetic pairs on disk, held out from training, and the factors that draw them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from toolkit.cli.common import OverwriteOption, console, progress
from toolkit.core.errors import UsageError


def synth_command(
    output: Annotated[
        Optional[Path], typer.Option("--output", "-o", help="Dataset folder (input/ and target/).")
    ] = None,
    kind: Annotated[
        str, typer.Option(help="sketch (rough -> clean) or painting (painting -> outlines).")
    ] = "sketch",
    count: Annotated[int, typer.Option(help="Number of pairs.")] = 100,
    size: Annotated[int, typer.Option(help="Image side in pixels (the height, with --width).")] = 256,
    width: Annotated[Optional[int], typer.Option(help="Image width in pixels. Default: --size.")] = None,
    seed: Annotated[int, typer.Option(help="Seed; sets on disk never share seeds with training.")] = 0,
    sheet: Annotated[
        Optional[Path], typer.Option(help="Also write a contact sheet PNG of the first pairs.")
    ] = None,
    pin: Annotated[
        Optional[list[str]],
        typer.Option(
            help="FACTOR=LOW:HIGH: keep one factor inside this span on every page (repeatable); "
            "the pages are otherwise those the same --seed draws without it."
        ),
    ] = None,
    factors: Annotated[
        bool, typer.Option("--factors", help="Print the domain-randomisation factors of --kind and stop.")
    ] = False,
    overwrite: OverwriteOption = False,
) -> None:
    """Write synthetic pairs to disk in the reference layout (held out from training).

    Examples:

    * `toolkit synth --kind painting --count 200 -o data/heldout-painting`
    * `toolkit synth --kind sketch --factors` (every factor, its range and what it does)
    * `toolkit synth --pin pencil_contrast=10:25 --count 64 --size 424 --seed 11 -o data/held-faint`
    """
    from toolkit.data.factors import Focus, factor_table
    from toolkit.data.synthetic import KINDS, write_pairs, write_sheet

    if kind not in KINDS:
        raise UsageError(f"--kind must be one of {', '.join(KINDS)}, not {kind}")
    if factors:
        typer.echo(factor_table(kind))
        return
    if output is None:
        raise UsageError("give the dataset folder: -o FOLDER")
    pins = tuple(Focus.parse(kind, text, option="--pin") for text in pin or ())
    write_pairs(
        kind,
        count,
        size,
        seed,
        output,
        overwrite=overwrite,
        track=progress("writing"),
        width=width,
        pins=pins,
    )
    console.print(f"wrote {count} {kind} pairs to {output}/input and {output}/target")
    if sheet is not None:
        write_sheet(
            sheet, kind, size=size, width=width or size, seed=seed, count=min(count, 4), overwrite=overwrite
        )
        console.print(f"wrote {sheet}")
