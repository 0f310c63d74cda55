"""Large scans end to end against the model alone, per stage, with peak memory, in one run.

    python benchmarks/large_scan.py --sizes 1024 2048 10000x8000 --precisions fp32 auto --memory 1024

For each shipped model, precision and scan size, in a fresh subprocess (so each case's peak RSS is its
own): a synthetic page of the model's domain drawn at that size (`scan_file`: once, kept as PNG under
`--scan-cache`), then
`toolkit infer`'s whole path on it (`infer_files`: decode, conditioning, the memory budget's tile plan,
model, blend, conversion, PNG encode, atomic write), and each stage timed alone on the same image.
Model-only is the model alone on the plan's own tiles of the (conditioned) scan, each normalised
before its pass is timed: one pass where the image runs whole, every tile's pass otherwise. One scan
end to end and model only take turns, 9 times each up to 4 MP (5 up to 16 MP, 3 above), and the
share is the median over those turns of each end-to-end run against the model-only passes right
after it: on these shared machines passes vary 10-15 % run to run and the speed drifts over
minutes, and the best of each (what this benchmark counted before 2026-12-06) read a 1024 px scan at
67-104 % of model only in back-to-back runs (BENCHMARKS.md, thirty-first session); the rates printed
are the medians' (the best single pass is kept in the JSON as
`best_pass_gflop_s`); behind a route (`contour`), model only is every model that drew the scan, on the
same tiles (a scan sent on to an expert: two passes, and twice the convolutions), and the windows a
large scan's road is read off before one model draws it (the route's probe, 3 % of a 10000x8000
scan's convolutions) are the first model's passes too;
rates are GFLOP/s of the image's convolutions (`conv_gflop`, 2 x multiply-adds), so the
end-to-end share counts every loss: tile overlap, host-side stages and their serialisation. End to end
is measured twice: one scan alone (its decode and encode cannot overlap anything), and per scan over
a folder of `--scans` of them (as a user's batch runs: the next scan decodes while the model runs),
the folder 3 times at every size, each against the model-only passes right after it, the median
kept (once above 4 MP before 2026-12-06's thirty-second session).
Peak RSS is read right after the single scan's runs (it includes the model-only passes, whose arena
the run reuses), before the stage timings hold copies of their own. Prints one table row per case
with the CPU's name and flags; `--json` writes the rows.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from toolkit.core.fileio import write_png
from toolkit.core.machine import cpu_flags, cpu_model, process_memory_mb
from toolkit.data.synthetic import make_pair
from toolkit.imaging.conditioning import condition
from toolkit.imaging.imageio import read_image
from toolkit.imaging.model_input import pad_to_stride, to_model_input
from toolkit.runtime.backends import make_runner
from toolkit.runtime.base import Runner
from toolkit.runtime.bench import conv_gflop
from toolkit.runtime.infer import InputFile, infer_files, scan_plan
from toolkit.runtime.pictures import draw_lines
from toolkit.runtime.routing import PROBE_SPAN, Router, probe_windows
from toolkit.runtime.tile_plan import DEFAULT_MEMORY_MB
from toolkit.runtime.tiling import TileGrid, Tiling, fitted, mirrored_crop, tile_grid

DOMAINS = {"unet-light": "sketch", "contour": "painting"}
SCAN_SEED, SCAN_SCALE = 7, 4.0


def cpu_description() -> str:
    return (
        f"{cpu_model()} ({', '.join(cpu_flags(('avx2', 'avx512f', 'avx512_vnni', 'avx_vnni', 'amx_int8')))})"
    )


def scan_file(domain: str, height: int, width: int, cache: Path) -> Path:
    """The benchmark's scan of `domain`, drawn at its own size with a 1024 px page's elements (element
    scale 4) and kept in `cache`: a 10000x8000 page takes minutes to draw. Drawn whole, not tiled from
    one page: copies repeat a small page's lighting and vignetting every 1024 px, which no scan has,
    and on them `unet-light`'s road read faint pencil and sent the scan to its expert (2026-12-05)."""
    path = cache / f"{domain}-{width}x{height}-seed{SCAN_SEED}-scale{SCAN_SCALE:g}.png"
    if not path.exists():
        print(f"drawing the {domain} scan of {width}x{height} once, into {path} ...", flush=True)
        page, _ = make_pair(domain, height, width, seed=SCAN_SEED, scale=SCAN_SCALE)
        cache.mkdir(parents=True, exist_ok=True)
        write_png(path, page)
    return path


def timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def one_case(
    model: str, precision: str, height: int, width: int, memory: int, scans: int, source: Path
) -> dict:
    with tempfile.TemporaryDirectory() as scratch:
        # the same page under other names: a folder of scans
        folder = [InputFile(source, Path(f"scan-{copy}.png")) for copy in range(scans)]
        runner, backend = make_runner(model, precision=precision)
        with runner:
            # the interpreter, libraries, session and weights: not the budget's
            program_mb = process_memory_mb()
            card = runner.card
            image = condition(read_image(source), card.conditioning)  # what the tiles are cut from
            # the plan infer makes for this scan: it pays for the scans it may read ahead and a picture
            # being written beside it, as a folder runs
            planned, _ = scan_plan(Tiling(memory_mb=memory), image, (height, width), "gray")
            tiling = fitted(planned, runner, image)
            grid = tile_grid(height, width, card.stride, tiling)
            pixels = height * width
            attempts = 9 if pixels <= 2**22 else 5 if pixels <= 2**24 else 3  # a 1 MP pass is 0.3-0.6 s
            folders = 3  # a 10000x8000 folder of 2 read 80 % once and 86-95 % alone: turns, as for one scan
            runner.infer(model_feed(runner, image, grid, grid.ys[0], grid.xs[0]))  # warm-up
            del image  # infer reads its own
            # Model only is the plan's own passes on the scan's own tiles, nothing else; it and end to end
            # take turns, each end-to-end run read against the passes right after it, so the two are
            # measured under the same conditions whatever the machine's speed does over minutes. End
            # to end runs first: behind a route, it says which models draw the scan, and model only is
            # their passes.
            def model_only() -> list[float]:
                image = condition(read_image(source), card.conditioning)
                seconds = [timed(lambda f=feed: runner.infer(f)) for feed in probe_feeds(runner, image)]
                for each in drawers(runner, height, width):
                    seconds += model_passes(each, image, grid)
                return seconds

            passes, end_to_end = [], []
            for attempt in range(attempts):
                started = time.perf_counter()
                out = Path(scratch) / f"out-{attempt}"
                run = infer_files(runner, [InputFile(source, Path("scan.png"))], out, tiling=tiling)
                end_to_end.append(time.perf_counter() - started)
                assert run.results[0].status == "ok", run.results[0].error
                passes.append(model_only())
            # toolkit infer's peak on this scan (with the model-only passes)
            peak_mb = process_memory_mb("VmHWM")
            per_scan, folder_passes = [], []
            for attempt in range(folders):
                started = time.perf_counter()
                run = infer_files(runner, folder, Path(scratch) / f"folder-{attempt}", tiling=tiling)
                per_scan.append((time.perf_counter() - started) / len(folder))
                assert all(result.status == "ok" for result in run.results)
                folder_passes.append(model_only())
            image = read_image(source)
            stages = {
                "decode": timed(lambda: read_image(source)),
                "condition": timed(lambda: condition(image, card.conditioning)),
                "normalise one tile": timed(
                    lambda: to_model_input(image[: grid.tile_h, : grid.tile_w], card)
                ),
            }
            lines: list[np.ndarray] = []
            stages["model, tiles and blend"] = timed(
                lambda: lines.extend(
                    draw_lines(runner, image, output_format="gray", tiling=tiling, size=(width, height))
                )
            )
            stages["encode"] = timed(lambda: write_png(Path(scratch) / "lines.png", lines[0], overwrite=True))
            graph = runner.graph
            drawn = len(drawers(runner, height, width))  # models that drew it (twins: the same convolutions)
            drawn_by = run.results[0].drawn_by
        probes = len(probe_windows(height, width)) if isinstance(runner, Router) else 0
        probe_gflop = probes * (conv_gflop(graph, card.input_channels, PROBE_SPAN, PROBE_SPAN) or 0.0)
        image_gflop = drawn * (conv_gflop(graph, card.input_channels, height, width) or float("nan"))
        image_gflop += probe_gflop
        tile_gflop = conv_gflop(graph, card.input_channels, grid.tile_h, grid.tile_w) or float("nan")
    tiles = drawn * len(grid.ys) * len(grid.xs)
    model_gflop = tiles * tile_gflop + probe_gflop  # the passes' convolutions, tile overlap included
    model_only_s = float(np.median([sum(run) for run in passes]))
    model_only = model_gflop / model_only_s

    def shares(runs: list[float], after: list[list[float]]) -> list[float]:
        """Each run's rate against that of the model-only passes right after it."""
        return [
            round(image_gflop / run / (model_gflop / sum(seconds)), 3) for run, seconds in zip(runs, after)
        ]

    single, folder = shares(end_to_end, passes), shares(per_scan, folder_passes)
    return {
        "model": model,
        "precision": card.precision,
        "backend": backend,
        "size": f"{width}x{height}",
        "plan": f"{len(grid.ys) * len(grid.xs)} tiles of {grid.tile_w}x{grid.tile_h}"
        if not grid.whole
        else "whole",
        "drawn_by": drawn_by,  # behind a route: the model whose lines the scan got ("": no route)
        "passes": drawn,  # models run on each tile: 2 where a route sent the scan on
        "probe_windows": probes,  # behind a route, a large scan's road is read off windows first
        "model_only_gflop_s": round(model_only, 1),
        "model_only_s": round(model_only_s, 2),
        # the fastest single pass, which model only was in the runs before 2026-12-03's sixth session
        "best_pass_gflop_s": round(tile_gflop / min(min(run) for run in passes), 1),
        "end_to_end_gflop_s": round(image_gflop / float(np.median(end_to_end)), 1),
        "end_to_end_share": float(np.median(single)),  # the median turn's
        "end_to_end_shares": single,  # every turn's, in order
        "end_to_end_s": round(float(np.median(end_to_end)), 2),
        "folder_gflop_s": round(image_gflop / float(np.median(per_scan)), 1),
        "folder_share": float(np.median(folder)),
        "folder_shares": folder,  # every folder turn's, in order
        "folder_s_per_scan": round(float(np.median(per_scan)), 2),
        "stages_s": {name: round(seconds, 3) for name, seconds in stages.items()},
        "peak_rss_mb": round(peak_mb),
        "program_rss_mb": round(program_mb),
    }


def model_feed(runner: Runner, image: np.ndarray, grid: TileGrid, y: int, x: int) -> dict[str, np.ndarray]:
    """The model's input for the plan's tile at (y, x), as the tiler makes it."""
    card = runner.card
    crop = mirrored_crop(image, y, x, grid.tile_h, grid.tile_w)
    return {card.input_name: pad_to_stride(to_model_input(crop, card)[None], card.stride)}


def drawers(runner: Runner, height: int, width: int) -> list[Runner]:
    """The models that drew the `height` x `width` scan `runner` ran last: itself, or behind a route
    (toolkit.runtime.routing) its first model and the expert the scan was sent on to, if any; where
    the scan was probed, only the model its road took."""
    if not isinstance(runner, Router):
        return [runner]
    expert = [e for road, e in runner.experts.items() if road.expert == runner.last.model]
    if probe_windows(height, width):
        return expert or [runner.base]
    return [runner.base, *expert]


def probe_feeds(runner: Runner, image: np.ndarray) -> list[dict[str, np.ndarray]]:
    """Behind a route, the first model's inputs for the windows a large scan's road is read off
    (toolkit.runtime.routing.probe_windows); none otherwise."""
    if not isinstance(runner, Router):
        return []
    card = runner.card
    return [
        {card.input_name: to_model_input(image[y : y + PROBE_SPAN, x : x + PROBE_SPAN], card)[None]}
        for y, x in probe_windows(*image.shape[:2])
    ]


def model_passes(runner: Runner, image: np.ndarray, grid: TileGrid) -> list[float]:
    """Seconds of the model alone on each tile of the plan (the whole image where it runs whole)."""
    seconds = []
    for y in grid.ys:
        for x in grid.xs:
            feed = model_feed(runner, image, grid, y, x)
            seconds.append(timed(lambda: runner.infer(feed)))  # noqa: B023 (called at once)
    return seconds


def parse_size(text: str) -> tuple[int, int]:
    width, _, height = text.partition("x")
    return int(height or width), int(width)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", nargs="+", default=list(DOMAINS))
    parser.add_argument("--sizes", nargs="+", default=["1024", "2048", "10000x8000"])
    parser.add_argument("--precisions", nargs="+", default=["fp32", "auto"])
    parser.add_argument(
        "--memory", type=int, default=DEFAULT_MEMORY_MB, help="the tile plan's budget, MB (toolkit infer's)"
    )
    parser.add_argument("--scans", type=int, default=3, help="scans in the folder run")
    parser.add_argument(
        "--scan-cache", type=Path, default=Path("runs/benchmark-scans"), help="where drawn scans are kept"
    )
    parser.add_argument("--json", type=Path)
    parser.add_argument("--case", nargs=7, help=argparse.SUPPRESS)  # one case, in its own process
    args = parser.parse_args()
    if args.case:
        model, precision, height, width, memory, scans, source = args.case
        row = one_case(model, precision, int(height), int(width), int(memory), int(scans), Path(source))
        print(json.dumps(row))
        return
    print(f"CPU: {cpu_description()}; budget {args.memory} MB")
    rows = []
    for model in args.models:
        for precision in args.precisions:
            for size in args.sizes:
                height, width = parse_size(size)
                source = scan_file(DOMAINS[model], height, width, args.scan_cache)
                case = [model, precision, str(height), str(width), str(args.memory), str(args.scans)]
                case.append(str(source))
                done = subprocess.run(
                    [sys.executable, __file__, "--case", *case], capture_output=True, text=True, check=True
                )
                row = json.loads(done.stdout.strip().splitlines()[-1])
                rows.append(row)
                stages = ", ".join(f"{k} {v}" for k, v in row["stages_s"].items())
                print(
                    f"{row['model']} {row['precision']} {row['size']}: {row['plan']}"
                    + (f", drawn by {row['drawn_by']}" if row["drawn_by"] else "")
                    + (f" after a probe of {row['probe_windows']} windows" if row["probe_windows"] else "")
                    + "; model only "
                    f"{row['model_only_gflop_s']} GFLOP/s, end to end {row['end_to_end_gflop_s']} "
                    f"({row['end_to_end_share']:.0%}, {row['end_to_end_s']} s); a folder of "
                    f"{args.scans}: {row['folder_gflop_s']} per scan ({row['folder_share']:.0%}, "
                    f"{row['folder_s_per_scan']} s); {stages}; "
                    f"peak RSS {row['peak_rss_mb']} MB ({row['program_rss_mb']} MB before the scan)",
                    flush=True,
                )
    if args.json:
        args.json.write_text(
            json.dumps(
                {"cpu": cpu_description(), "memory_mb": args.memory, "scans": args.scans, "rows": rows},
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
