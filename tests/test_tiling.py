"""Tiled inference: coverage, blending weights, and equivalence with one whole pass."""

from __future__ import annotations

import itertools
import json
import math
import subprocess
import sys
import tracemalloc
import weakref
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from toolkit.core.agreement import compare
from toolkit.core.errors import InputError, UsageError
from toolkit.core.machine import available_memory_mb
from toolkit.core.metadata import RUNTIME_MEMORY_NOTE, OutputInfo
from toolkit.core.shipped import SHIPPED_DIR
from toolkit.data.synthetic import make_pair
from toolkit.runtime.backends import make_runner
from toolkit.runtime.infer import PREFETCH, READ_COPIES, decoded_bytes, no_larger, scan_plan
from toolkit.runtime.onnxruntime_runner import OnnxRuntimeRunner
from toolkit.runtime.pictures import line_image, write_line_image
from toolkit.runtime.pipeline import predict
from toolkit.runtime.routing import Router
from toolkit.runtime.tile_plan import (
    DEFAULT_MEMORY_MB,
    MEASURED_HEADROOM,
    activation_bytes_per_pixel,
    cheapest_tiles,
    default_memory_mb,
    measure_runtime_memory,
    peak_growth_mb,
    tile_pixels_within,
)
from toolkit.runtime.tiling import (
    Tiling,
    fitted,
    predict_tiled,
    predict_tiled_outputs,
    ramp_weights,
    tile_starts,
    tiled_rows,
)

LINES = OutputInfo("lines", "")


@given(length=st.integers(1, 3000), tile=st.integers(16, 600), overlap_fraction=st.floats(0, 0.49))
def test_tiles_cover_every_pixel_with_positive_weight(
    length: int, tile: int, overlap_fraction: float
) -> None:
    overlap = int(tile * overlap_fraction)
    tile = min(tile, length)
    starts = tile_starts(length, tile, overlap)
    assert starts[0] == 0 and starts[-1] + tile == length and starts == sorted(set(starts))
    total = np.zeros(length, np.float32)
    for i, start in enumerate(starts):
        total[start : start + tile] += ramp_weights(tile, min(overlap, tile // 2), i > 0, i < len(starts) - 1)
    assert total.min() > 0
    # neighbours overlap by at least `overlap`, so the fades always have a partner
    assert all(b - a <= tile - overlap for a, b in itertools.pairwise(starts))


def test_ramps_cross_fade_to_one() -> None:
    left, right = ramp_weights(64, 16, False, True), ramp_weights(64, 16, True, False)
    np.testing.assert_allclose(left[-16:] + right[:16], 1.0, atol=1e-6)  # raised cosine halves sum to 1
    # a tile's outer quarter of the overlap, which saw its own mirrored edge, is not used at all
    assert not left[-4:].any() and not right[:4].any() and left[:-12].all() and right[12:].all()


@pytest.fixture(scope="module")
def contour() -> OnnxRuntimeRunner:
    with OnnxRuntimeRunner(SHIPPED_DIR / "contour.onnx") as runner:
        yield runner


def test_one_tile_is_exactly_one_pass(contour: OnnxRuntimeRunner) -> None:
    image, _ = make_pair("painting", 90, 130, seed=0)
    np.testing.assert_array_equal(
        predict_tiled(contour, image, Tiling(tile=256)), predict(contour, [image])["lines"][0, 0]
    )


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    height=st.integers(40, 520),
    width=st.integers(40, 520),
    tile=st.sampled_from([320, 384, 448]),
    overlap_fraction=st.floats(0.25, 0.45),
    batch=st.integers(1, 5),
)
@example(height=430, width=40, tile=320, overlap_fraction=0.25, batch=1)  # fading over the whole band
@example(height=257, width=419, tile=256, overlap_fraction=0.25, batch=1)  # the worst measured at 256/64
def test_tiled_equals_whole_image_within_tolerance(
    contour: OnnxRuntimeRunner, height: int, width: int, tile: int, overlap_fraction: float, batch: int
) -> None:
    """The stated tolerance: tiles from 320 px (the contour head's wide context branch reaches about
    250 px; the seventh session's weights measured 33.7 dB on a 430x40 strip at 256/64, where OpenCV
    4.11 draws the page, and 41.3 at 320/80; the 257x419 painting 37.4 at 256/64), overlap >= 1/4
    tile: PSNR >= 35 dB, line F1 >= 0.99."""
    image, _ = make_pair("painting", height, width, seed=height * 1000 + width)
    tiled = predict_tiled(contour, image, Tiling(tile, int(tile * overlap_fraction), batch))
    whole = predict(contour, [image])["lines"][0, 0]
    assert tiled.shape == (height, width)
    metrics = compare(whole[None], tiled[None], LINES, 0.5)
    assert metrics["psnr_db"] >= 35 and metrics["line_f1"] >= 0.99, metrics


def test_overlap_past_the_models_context_gives_the_whole_pass(contour: OnnxRuntimeRunner) -> None:
    """Tile pixels that saw their neighbours' pixels, not their own mirrored edge, are the whole pass's:
    dropping the outer quarter of a 300 px overlap leaves only those (contour sees about 80 px around:
    its trunk 25, its dilated context head 56 more; at 512/160 it measured 88 dB)."""
    image, _ = make_pair("painting", 600, 700, seed=7)
    tiled = predict_tiled(contour, image, Tiling(tile=640, overlap=300))
    metrics = compare(predict(contour, [image])["lines"][0, 0][None], tiled[None], LINES, 0.5)
    assert metrics["psnr_db"] >= 90, metrics


def test_feature_maps_tile_at_their_own_stride(exported: dict[str, Path]) -> None:
    """conv1 (stride 2) and layer1 (stride 4) maps assembled from tiles are the whole pass's, once the
    overlap exceeds the trunk's context, at each output's own resolution."""
    image, _ = make_pair("painting", 333, 301, seed=2)
    with OnnxRuntimeRunner(exported["contour-features"]) as features:
        whole = {name: output[0] for name, output in predict(features, [image]).items()}
        tiled = predict_tiled_outputs(features, image, Tiling(tile=200, overlap=96, batch=3))
    assert {name: maps.shape for name, maps in tiled.items()} == {
        "conv1": (4, 167, 151),
        "layer1": (64, 84, 76),
    }
    for name, maps in whole.items():
        relative = np.abs(tiled[name] - maps).max() / maps.max()
        assert relative < 1e-4, (name, relative)


def test_a_batch_reused_across_tiles_gives_each_tiles_own_pass(contour: OnnxRuntimeRunner) -> None:
    image, _ = make_pair("painting", 96, 200, seed=1)
    left, right = image[:, :96], image[:, 104:]
    into = np.full((2, 3, 96, 96), np.nan, np.float32)  # what a previous tile left behind
    planes = [np.full((96, 96), 7, np.uint8) for _ in range(3)]
    for crop in (left, right):
        np.testing.assert_array_equal(
            predict(contour, [crop], into=into, planes=planes)["lines"], predict(contour, [crop])["lines"]
        )
        np.testing.assert_array_equal(np.dstack(planes), crop)  # the channels went through them
    with pytest.raises(InputError, match=r"batch does not fit into a float32 \(2, 3, 96, 96\)"):
        predict(contour, [image], into=into)


def test_bad_tiling_and_feature_models(exported: dict[str, Path]) -> None:
    with pytest.raises(InputError, match="overlap < tile/2"):
        Tiling(tile=64, overlap=40)
    with (
        OnnxRuntimeRunner(exported["contour-features"]) as runner,
        pytest.raises(InputError, match="needs a line output"),
    ):
        predict_tiled(runner, np.zeros((600, 600, 3), np.uint8))


@settings(deadline=None)
@given(
    height=st.integers(8, 12000),
    width=st.integers(8, 12000),
    stride=st.sampled_from([1, 4, 8]),
    overlap=st.sampled_from([0, 16, 64]),
    max_pixels=st.integers(200 * 200, 30_000_000),
    per_row=st.sampled_from([0.0, 26.5, 264.0]),
)
def test_a_memory_plan_runs_the_fewest_pixels_in_equal_tiles_that_fit(
    height: int, width: int, stride: int, overlap: int, max_pixels: int, per_row: float
) -> None:
    height, width = height + -height % stride, width + -width % stride  # padded to the stride
    try:
        tile_h, tile_w = cheapest_tiles(height, width, stride, overlap, max_pixels, per_row)
    except UsageError as error:  # the rows' own cost can leave no tile wider than twice the overlap
        assert per_row > 0 and "takes an overlap of" in str(error)
        return
    if height * width <= max_pixels:
        assert (tile_h, tile_w) == (height, width)  # it fits: one whole pass
        return
    assert tile_h * tile_w + per_row * tile_h <= max_pixels
    assert tile_h % stride == 0 and tile_w % stride == 0
    assert (tile_h == height or tile_h > 2 * overlap) and (tile_w == width or tile_w > 2 * overlap)
    ys, xs = tile_starts(height, tile_h, overlap, stride), tile_starts(width, tile_w, overlap, stride)
    assert ys[-1] + tile_h == height and xs[-1] + tile_w == width  # covered, every tile the same size
    # never more pixels run than with the largest square tile the budget allows (a fixed plan)
    side = int((math.sqrt(per_row**2 + 4 * max_pixels) - per_row) / 2) // stride * stride
    if side > 2 * overlap:
        square_h, square_w = min(side, height), min(side, width)
        square = (
            tile_starts(height, square_h, overlap, stride),
            tile_starts(width, square_w, overlap, stride),
        )
        run = len(ys) * len(xs) * tile_h * tile_w
        assert run <= len(square[0]) * len(square[1]) * square_h * square_w


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(height=st.integers(200, 520), width=st.integers(200, 520), memory_mb=st.integers(32, 300))
def test_every_memory_plan_equals_the_whole_image_within_tolerance(
    contour: OnnxRuntimeRunner, height: int, width: int, memory_mb: int
) -> None:
    """Whatever tiles a budget gives (from 32 MB: tiles of about 190 px and up, 64 px overlap, the
    stated tolerance's conditions), the picture is the whole pass's within it."""
    image, _ = make_pair("painting", height, width, seed=height * 1000 + width)
    tiling = Tiling(overlap=64, memory_mb=memory_mb)
    tiled = predict_tiled(contour, image, tiling)
    whole = predict(contour, [image])["lines"][0, 0]
    metrics = compare(whole[None], tiled[None], LINES, 0.5)
    assert metrics["psnr_db"] >= 35 and metrics["line_f1"] >= 0.99, metrics
    plan = fitted(tiling, contour, image)  # the plan predict_tiled made for this image
    assert plan.max_tile_pixels is not None and plan.batch == 1
    if height * width <= plan.max_tile_pixels:
        np.testing.assert_array_equal(tiled, whole)  # it fits: one whole pass, exactly


@pytest.mark.parametrize("model", ["unet-light", "contour"])
@pytest.mark.parametrize("precision", ["fp32", "auto"])
def test_the_largest_planned_tile_runs_within_its_budget(model: str, precision: str) -> None:
    """The plan's premise, measured: ONNX Runtime's peak memory over passes of the largest square tile
    a 250 MB budget allows stays inside 250 MB, and uses most of it (the plan is not needlessly small).
    The shipped graphs' cards record what the runtime held per pixel (`runtime_memory`, measured at
    1024x1024); estimated from the tensors instead, `contour` with its half-resolution head used 41 %
    (ONNX Runtime held 1.1x its live tensors there, against the 2.75x of `RUNTIME_OVERHEAD`)."""
    runner, _ = make_runner(model, precision=precision)
    with runner:
        # behind `contour`'s route, every model runs the tile, all drawing from the one shared arena
        runners = [runner.base, *runner.experts.values()] if isinstance(runner, Router) else [runner]
        assert all(RUNTIME_MEMORY_NOTE in each.card.extra for each in runners)
        side = math.isqrt(tile_pixels_within(250, runner) or 0) // runner.card.stride * runner.card.stride
        graphs = [each.graph for each in runners]
        shared = all(each.shares_arena for each in runners)
    assert shared == isinstance(runner, Router)
    grew_mb = peak_growth_mb(*graphs, side=side, shared_arena=shared)
    assert 0.6 * 250 < grew_mb <= 250, (side, grew_mb)


class WatchedRunner(OnnxRuntimeRunner):
    """The shipped contour graph, counting at each pass how many of its earlier outputs are still alive."""

    def __init__(self) -> None:
        super().__init__(SHIPPED_DIR / "contour.onnx")
        self.handed_out: list[weakref.ref] = []
        self.alive_at_pass: list[int] = []

    def infer_batch(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        self.alive_at_pass.append(sum(ref() is not None for ref in self.handed_out))
        outputs = super().infer_batch(batch)
        self.handed_out += [weakref.ref(output) for output in outputs.values()]
        return outputs


def test_no_tiles_output_is_held_into_the_next_pass() -> None:
    """ONNX Runtime hands its outputs out in its arena's blocks: one held while the next tile runs
    keeps the arena from reusing its block, and it grows by another region (on contour's 13.6 MP tiles
    of a 10000x8000 scan, 1 GB more than the plan counted)."""
    image, _ = make_pair("painting", 300, 500, seed=4)
    with WatchedRunner() as runner:
        rows = sum(len(block) for _, block in tiled_rows(runner, image, Tiling(192, 48, 1)))
    assert rows == 300 and len(runner.alive_at_pass) == 8
    assert runner.alive_at_pass == [0] * 8


# A fresh process runs a scan through `draw_lines` (toolkit infer's model, tiles, blend and 8-bit
# picture) at a memory budget, and prints the plan and how far the peak RSS rose above what was
# resident before the scan was made (the program and the loaded model are not the budget's).
PLANNED_SCAN = """
import sys
import numpy as np
from toolkit.core.machine import process_memory_mb
from toolkit.data.synthetic import make_pair
from toolkit.runtime.backends import make_runner
from toolkit.runtime.pictures import draw_lines
from toolkit.runtime.tiling import Tiling, fitted, tile_grid
model, precision, memory_mb, height, width, *flips = sys.argv[1:3] + [int(arg) for arg in sys.argv[3:]]
page, _ = make_pair("painting" if model == "contour" else "sketch", 512, 512, seed=3)
runner, _ = make_runner(model, precision=precision, flips=flips[0] if flips else 1)
with runner:
    resident = process_memory_mb()
    scan = np.ascontiguousarray(np.tile(page, (-(-height // 512), -(-width // 512), 1))[:height, :width])
    grid = tile_grid(height, width, runner.card.stride, fitted(Tiling(memory_mb=memory_mb), runner, scan))
    draw_lines(runner, scan, output_format="gray", tiling=Tiling(memory_mb=memory_mb), size=(width, height))
    print(len(grid.ys) * len(grid.xs), process_memory_mb("VmHWM") - resident)
"""


@pytest.mark.parametrize("model", ["unet-light", "contour"])
@pytest.mark.parametrize("precision", ["fp32", "auto"])
def test_a_planned_scan_stays_within_its_budget(model: str, precision: str) -> None:
    """The whole plan, measured: a 3000x2400 scan at a 300 MB budget runs in several tiles, and the
    scan, its picture, the blending rows and the model's passes together stay inside 300 MB."""
    done = subprocess.run(
        [sys.executable, "-c", PLANNED_SCAN, model, precision, "300", "3000", "2400"],
        capture_output=True,
        text=True,
        check=True,
    )
    tiles, grew_mb = done.stdout.split()
    assert int(tiles) >= 4 and float(grew_mb) <= 300, done.stdout


# The same, through `infer_files` on a folder of three such scans written as PNG: it reads scans ahead
# and writes pictures behind, beside the scan whose tiles run.
PLANNED_FOLDER = """
import sys, tempfile
from pathlib import Path
import numpy as np
from toolkit.core.fileio import write_png
from toolkit.core.machine import process_memory_mb
from toolkit.data.synthetic import make_pair
from toolkit.runtime.backends import make_runner
from toolkit.runtime.infer import InputFile, infer_files
from toolkit.runtime.tiling import Tiling
model, precision, memory_mb, height, width, *side = sys.argv[1:3] + [int(arg) for arg in sys.argv[3:]]
with tempfile.TemporaryDirectory() as folder:
    files = []
    for seed in range(3):
        page, _ = make_pair("painting" if model == "contour" else "sketch", *2 * (side or [512]), seed=seed)
        scan = np.tile(page, (-(-height // 512), -(-width // 512), 1))[:height, :width]
        write_png(Path(folder, f"{seed}.png"), np.ascontiguousarray(scan))
        files.append(InputFile(Path(folder, f"{seed}.png"), Path(f"{seed}.png")))
    del page, scan
    runner, _ = make_runner(model, precision=precision)
    with runner:
        resident = process_memory_mb()
        run = infer_files(runner, files, Path(folder, "lines"), tiling=Tiling(memory_mb=memory_mb))
        grew = process_memory_mb("VmHWM") - resident
        print(sum(result.status == "ok" for result in run.results), grew, *(r.drawn_by for r in run.results))
"""


@pytest.mark.parametrize("model", ["unet-light", "contour"])
def test_a_folder_of_planned_scans_stays_within_its_budget(model: str) -> None:
    """Scans read ahead, pictures waiting to be written and the next scan's read on top of the arena
    are paid from the budget too: without them, a folder of 3000x2400 scans at 300 MB peaked 418 MB
    (unet-light: two read ahead, 43 MB each as decoded and conditioned) and 354 MB (none read
    ahead)."""
    done = subprocess.run(
        [sys.executable, "-c", PLANNED_FOLDER, model, "auto", "300", "3000", "2400"],
        capture_output=True,
        text=True,
        check=True,
    )
    written, grew_mb, *_ = done.stdout.split()
    assert int(written) == 3 and float(grew_mb) <= 300, done.stdout


def test_scans_are_read_ahead_as_far_as_the_budget_allows() -> None:
    """Reading a scan takes READ_COPIES times it as decoded, and an eighth of the budget may go to scans
    read ahead: at 4096 MB two 4000x3000 RGB scans (36 MB each), no 10000x8000 one (229 MB), whose
    next scan is read on top of what the tiles left in ONNX Runtime's arena instead; the plan pays
    for either, and for the picture being written. Without a budget, PREFETCH are read ahead."""
    scan = np.empty((3000, 4000, 3), np.uint8)  # never written: its pages are not touched
    planned, ahead = scan_plan(Tiling(memory_mb=4096), scan, (3000, 4000), "gray")
    assert ahead == 2 and planned.beside_bytes == 2 * READ_COPIES * scan.nbytes + 3000 * 4000
    large = np.empty((8000, 10000, 3), np.uint8)
    planned, ahead = scan_plan(Tiling(memory_mb=4096), large, (8000, 10000), "alpha")
    assert ahead == 0 and planned.beside_bytes == (READ_COPIES - 1) * large.nbytes + 4 * 8000 * 10000
    # scaled 2x down for the model: the reader still holds the scan as decoded
    planned, ahead = scan_plan(Tiling(memory_mb=4096), scan[::2, ::2], (3000, 4000), "gray")
    expected = 2 * READ_COPIES * scan.nbytes + 3000 * 4000
    assert ahead == 2 and planned.beside_bytes == expected
    assert scan_plan(Tiling(512, 64), scan, (3000, 4000), "gray") == (Tiling(512, 64), PREFETCH)


def test_a_scan_is_read_ahead_only_if_it_decodes_to_no_more_bytes(tmp_path: Path) -> None:
    """The header's bit depth counts, not only its pixels: Pillow calls a 16-bit RGB PNG "RGB", and
    read ahead beside an 8-bit scan of its size it would take twice what was reserved."""
    current = np.zeros((60, 80, 3), np.uint8)
    for name, pixels in {
        "deep.png": np.zeros((60, 80, 3), np.uint16),
        "deep.tif": np.zeros((60, 80), np.uint16),
        "same.png": np.zeros((60, 80, 3), np.uint8),
        "gray-deep.png": np.zeros((60, 80), np.uint16),
        "same.jpg": np.zeros((60, 80, 3), np.uint8),
        "taller.png": np.zeros((61, 80, 3), np.uint8),
    }.items():
        assert cv2.imwrite(str(tmp_path / name), pixels)
    reserved = decoded_bytes(current, (60, 80))
    read_ahead = {path.name for path in tmp_path.iterdir() if no_larger(path, reserved)}
    assert read_ahead == {"same.png", "gray-deep.png", "same.jpg", "deep.tif"}  # the TIFF is gray: 9.6 KB


def test_a_budget_is_read_off_the_graphs_card_or_its_tensors(
    contour: OnnxRuntimeRunner, exported: dict[str, Path]
) -> None:
    """The shipped contour's card records what ONNX Runtime held per pixel; a graph without that note
    is estimated from its tensors (2.75x the float32 bytes alive at once)."""
    measured = json.loads(contour.card.extra[RUNTIME_MEMORY_NOTE])["bytes_per_pixel"]
    weights = activation_bytes_per_pixel(contour.graph, contour.graph.stat().st_mtime)[1]
    assert 80 < measured < 400 and 0.5e6 < weights < 2e6
    assert tile_pixels_within(100, contour) == int((100 * 2**20 - weights) / (MEASURED_HEADROOM * measured))
    with OnnxRuntimeRunner(exported["contour"]) as runner:
        assert RUNTIME_MEMORY_NOTE not in runner.card.extra
        per_pixel, weights = activation_bytes_per_pixel(runner.graph, runner.graph.stat().st_mtime)
        assert 300 < per_pixel < 600
        assert tile_pixels_within(100, runner) == int((100 * 2**20 - weights) / per_pixel)
    with pytest.raises(UsageError, match="--memory must be at least 16"):
        Tiling(memory_mb=8)


def test_runtime_memory_is_the_most_a_pixel_cost_over_the_sides_measured(exported: dict[str, Path]) -> None:
    record = measure_runtime_memory(exported["contour"], sides=(256, 384))
    assert set(record["by_side"]) == {"256", "384"}
    assert record["bytes_per_pixel"] == max(record["by_side"].values())
    assert 50 < record["bytes_per_pixel"] < 2000, record  # the full-resolution head held about 400
    assert "onnxruntime" in record["measured"]


def test_the_default_budget_is_a_quarter_of_the_free_memory_within_its_range() -> None:
    # a small VM, a Jetson Orin Nano (about 5 GB free), a 24 GB workstation; a machine that does not say
    machines = (1500, 5000, 9000, 22000, None)
    assert [default_memory_mb(free) for free in machines] == [512, 1024, 2048, 4096, 1024]
    free = available_memory_mb()  # Linux: /proc/meminfo, and the cgroup's limit where there is one
    assert free is not None and free > 0
    assert 512 <= DEFAULT_MEMORY_MB <= 4096 and DEFAULT_MEMORY_MB % 256 == 0


def test_finished_rows_are_converted_where_they_lie_in_the_blending_sum(contour: OnnxRuntimeRunner) -> None:
    """Each step's finished rows are a view of the one blending sum, and converting them to the
    picture allocates nothing as large: a wide scan's tile rows cost no float copies (BLEND_BYTES)."""
    image, _ = make_pair("painting", 600, 1500, seed=5)
    lines = np.empty(image.shape[:2], np.uint8)
    blocks, conversion_peaks = [], []
    tracemalloc.start()  # numpy reports its allocations to tracemalloc
    try:
        for top, rows in tiled_rows(contour, image, Tiling(256, 64, 1)):
            held = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            write_line_image(rows, lines[top : top + len(rows)], "gray", 0.5)
            conversion_peaks.append(tracemalloc.get_traced_memory()[1] - held)
            blocks.append(rows)
    finally:
        tracemalloc.stop()
    assert len(blocks) == 3 and sum(len(rows) for rows in blocks) == 600
    assert all(np.shares_memory(blocks[0], rows) for rows in blocks[1:])
    assert max(conversion_peaks) < blocks[0].nbytes / 100
    expected = predict_tiled(contour, image, Tiling(256, 64, 1))
    np.testing.assert_array_equal(lines, line_image(expected, "gray", 0.5))
