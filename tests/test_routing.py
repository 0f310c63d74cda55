"""The scale router behind `contour`: the width it reads off the first model's lines, the road each
page takes (the same tiled or whole), and what `toolkit infer` records of it. Real ONNX graphs: the
shipped `contour` and its experts `contour-thin` and `contour-coarse`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image
from test_tiling import PLANNED_FOLDER
from typer.testing import CliRunner

from toolkit import LineModel, Tiling
from toolkit.cli.main import app
from toolkit.core.errors import InputError, UsageError
from toolkit.core.shipped import ROUTES, SHIPPED_DIR, Gate, Road
from toolkit.data.factors import Focus
from toolkit.data.synthetic import write_pairs
from toolkit.imaging.conditioning import brightest
from toolkit.imaging.imageio import read_image
from toolkit.runtime.backends import make_runner
from toolkit.runtime.bench import bench_generated
from toolkit.runtime.flips import FlipAverage
from toolkit.runtime.onnxruntime_runner import OnnxRuntimeRunner
from toolkit.runtime.routing import (
    PROBE_FROM_PIXELS,
    PROBE_SPAN,
    READINGS,
    STRIP,
    PencilContrast,
    PencilSnr,
    Router,
    StripReading,
    level_counts,
    line_width,
    probe_windows,
    read_page,
)
from toolkit.runtime.tile_plan import peak_growth_mb

THIN, COARSE = ROUTES["contour"].roads


def parallel_lines(width: int, degrees: float, side: int = 400) -> np.ndarray:
    """Seven long parallel lines at `degrees`, each the pixels whose centres lie within `width` / 2
    of its centre line: `width` px wide across, at any angle."""
    y, x = np.mgrid[:side, :side] - side / 2
    angle = np.radians(degrees)
    across = -x * np.sin(angle) + y * np.cos(angle)
    along = x * np.cos(angle) + y * np.sin(angle)
    to_centre = np.abs((across + 25) % 50 - 25)  # centre lines 50 px apart
    return (to_centre <= width / 2) & (np.abs(along) < 0.45 * side) & (np.abs(across) < 175)


def test_line_width_reads_the_width_of_lines_at_any_angle() -> None:
    """Exact along rows and columns; at other angles the distance transform's staircase makes thin
    lines read up to a third thinner (the same on every page, so it shifts no page against another),
    and a wider line always reads wider."""
    for degrees in (0, 20, 45, 70, 90):
        widths = [line_width(parallel_lines(drawn, degrees)) for drawn in (1, 3, 5, 7, 9)]
        assert widths == sorted(widths) and len(set(widths)) == 5, (degrees, widths)
        for drawn, width in zip((1, 3, 5, 7, 9), widths):
            if degrees in (0, 90):
                assert width == pytest.approx(drawn, abs=0.05)
            else:
                assert 0.64 * drawn <= width <= drawn + 0.05, (degrees, drawn, width)
    assert line_width(np.zeros((64, 64), bool)) is None


@pytest.mark.parametrize("reading", list(READINGS.values()))
@given(
    seed=st.integers(0, 2**16),
    height=st.integers(1, 40 * STRIP),
    cuts=st.lists(st.integers(1, 40 * STRIP), max_size=6),
)
def test_a_reading_is_the_whole_pages_whatever_blocks_its_rows_come_in(
    reading: type[StripReading], seed: int, height: int, cuts: list[int]
) -> None:
    rng = np.random.default_rng(seed)
    ink = np.zeros((height, 97), np.uint8)
    for _ in range(12):
        x0, x1 = rng.integers(0, 97, 2)
        y0, y1 = rng.integers(0, height, 2)
        cv2.line(ink, (int(x0), int(y0)), (int(x1), int(y1)), 1, int(rng.integers(1, 6)))
    ink[rng.integers(0, height), :40] = 1  # a blob's worth of rows at one place
    ink = ink.astype(bool)
    image = rng.integers(0, 256, (height, 97, 3), np.uint8)
    meter = reading(image)
    for block in np.split(ink, sorted({cut for cut in cuts if cut < height})):
        meter.add(block)
    assert meter.finish() == read_page(reading, image, ink)


def pencil_page(contrast: float, noise: float, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(image, ink): a grey page (level 230, Gaussian noise of `noise` levels) with seven 3 px lines
    `contrast` levels darker, and the lines a model would draw on it (exactly those pixels)."""
    ink = parallel_lines(3, 30)
    rng = np.random.default_rng(seed)
    page = 230 + noise * rng.standard_normal(ink.shape) - contrast * ink
    return np.clip(np.rint(page), 0, 255).astype(np.uint8), ink


def test_pencil_snr_reads_the_pencil_against_the_papers_noise() -> None:
    """On a page whose noise is Gaussian, the paper's 10th-90th percentile spread is 2.56 sigma, so the
    reading is the contrast over that; darker pencil or calmer paper reads higher, and the coloured
    channels of a page count by their brightest (a red line on white paper is paper to graphite)."""
    for contrast, noise in ((10, 4), (40, 4), (40, 8), (120, 4)):
        image, ink = pencil_page(contrast, noise)
        assert read_page(PencilSnr, image, ink) == pytest.approx(contrast / (2.563 * noise), rel=0.1)
    readings = [read_page(PencilSnr, *pencil_page(c, 4)) for c in (5, 10, 20, 40, 80)]
    assert readings == sorted(readings) and len(set(readings)) == 5
    image, ink = pencil_page(60, 4)
    red = np.stack([np.where(ink, 230, image), image, image], axis=2)  # the lines in the red channel only
    assert read_page(PencilSnr, red, ink) == pytest.approx(0.0, abs=0.5)
    assert read_page(PencilSnr, image, np.zeros_like(ink)) is None


def test_pencil_contrast_reads_the_pencils_grey_levels_under_the_paper() -> None:
    """The pencil's median darkness on the lines less the paper's: its grey levels below the paper,
    whatever the paper's noise (which `pencil_snr` divides by), and coloured lines are paper to it."""
    for contrast, noise in ((10, 4), (40, 4), (40, 8), (120, 4)):
        image, ink = pencil_page(contrast, noise)
        assert read_page(PencilContrast, image, ink) == pytest.approx(contrast, abs=1.5), (contrast, noise)
    image, ink = pencil_page(60, 4)
    red = np.stack([np.where(ink, 230, image), image, image], axis=2)
    assert read_page(PencilContrast, red, ink) == pytest.approx(0.0, abs=1.5)
    assert read_page(PencilContrast, image, np.zeros_like(ink)) is None


def test_pencil_readings_of_8_bit_pixels_count_as_those_of_any_other_dtype() -> None:
    """8-bit pages are counted by OpenCV's masked histograms (`level_counts`), others by numpy: the same
    histograms, so the same readings, for RGB pages (their brightest channel) and for windows whose
    rows are strided views of the page."""
    image, ink = pencil_page(25, 6, seed=3)
    rgb = np.stack([image, np.clip(image.astype(int) + 9, 0, 255).astype(np.uint8), image // 2], axis=2)
    for page in (image, rgb):
        for reading in (PencilSnr, PencilContrast):
            as_float = read_page(reading, page.astype(np.float32) / 255, ink)
            assert read_page(reading, page, ink) == as_float is not None
            as_uint16 = read_page(reading, page.astype(np.uint16) * 257, ink)
            assert as_uint16 == as_float
    window = np.s_[20:180, 30:200]
    meter = PencilSnr(rgb)
    meter.add_region(ink[window], np.s_[:, :], origin=(20, 30))
    assert meter.finish() == read_page(PencilSnr, rgb[window].astype(np.float32) / 255, ink[window])
    for page in (rgb, rgb.astype(np.uint16) * 257, rgb.astype(np.float32) / 255, rgb[..., :2], image):
        window = page[10:, 7:]  # strided rows
        np.testing.assert_array_equal(brightest(window), window.max(axis=-1) if page.ndim == 3 else window)
    rng = np.random.default_rng(0)
    pixels, mask = rng.integers(0, 256, (70, 90), dtype=np.uint8), rng.random((70, 90)) < 0.4
    pixels, mask = pixels[:, 5:], mask[:, 5:]  # strided rows, as a window's
    np.testing.assert_array_equal(level_counts(pixels, mask), np.bincount(pixels[mask], minlength=256))


def test_a_gated_road_reaches_further_where_its_gate_reads_under_its_limit() -> None:
    road = Road("expert", high=4.0, gate=Gate("pencil_contrast", below=30.0, up_to=8.0))
    assert road.takes(3.0) and road.takes(3.0, 200.0) and road.reach == 8.0
    assert road.takes(5.0, 29.0) and not road.takes(5.0, 30.0) and not road.takes(5.0)
    assert not road.takes(8.0, 0.0)
    assert road.describe("x", " levels") == "under 4x, or under 8x with pencil_contrast under 30 levels"
    assert road.record()["gate"] == {"reading": "pencil_contrast", "below": 30.0, "up_to": 8.0}
    assert Road("expert", low=5.25).record() == {"expert": "expert", "low": 5.25, "high": None}


def test_a_window_is_read_at_its_place_on_the_page() -> None:
    """A large scan's probe reads windows of the page (`add_region` at their origin): the pixels under
    each window's lines are the page's own there."""
    image, ink = pencil_page(30, 4)
    image[:, 200:] //= 2  # the right half darker: a window there reads other pixels
    for y, x in ((0, 0), (40, 220), (150, 90)):
        window = np.s_[y : y + 160, x : x + 170]
        meter = PencilSnr(image)
        meter.add_region(ink[window], np.s_[:, :], origin=(y, x))
        assert meter.finish() == read_page(PencilSnr, image[window], ink[window])


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    """A page of fine detail (scale 1, 256 px), one of middling detail (scale 2, 512 px: `contour`'s
    lines 4.44 px wide) and one of coarse detail (scale 3, 768 px: 6.26 px)."""
    root = tmp_path_factory.mktemp("pages")
    write_pairs("painting", 1, 256, seed=46, root=root / "thin")
    write_pairs("painting", 1, 512, seed=40, root=root / "middle")
    write_pairs("painting", 1, 768, seed=44, root=root / "thick")
    return {name: read_image(next((root / name / "input").iterdir())) for name in ("thin", "middle", "thick")}


def alone(graph: str, image: np.ndarray) -> np.ndarray:
    with LineModel(SHIPPED_DIR / graph) as model:
        return model.lines(image, "binary")


def test_the_router_redraws_pages_of_thin_and_wide_lines_with_their_experts(
    pages: dict[str, np.ndarray],
) -> None:
    drawn, roads = {}, {}
    with LineModel("contour", precision="fp32") as model:
        assert isinstance(model.runner, Router)
        for name, page in pages.items():
            drawn[name] = model.lines(page, "binary")
            roads[name] = model.last_route
    assert roads["thin"].model == "contour-thin" and roads["thin"].value < THIN.high - 0.5
    assert roads["middle"].model == "contour"
    assert THIN.high + 0.4 < roads["middle"].value < COARSE.low - 0.4
    assert roads["thick"].model == "contour-coarse" and roads["thick"].value > COARSE.low + 0.5
    for name, graph in (("thin", "contour-thin"), ("middle", "contour"), ("thick", "contour-coarse")):
        np.testing.assert_array_equal(drawn[name], alone(f"{graph}.onnx", pages[name]))


@pytest.mark.parametrize(
    ("name", "tiles"), [("thin", Tiling(128, 48)), ("middle", Tiling(224, 64)), ("thick", Tiling(320, 80))]
)
def test_a_page_takes_the_same_road_in_tiles_as_whole(
    pages: dict[str, np.ndarray], name: str, tiles: Tiling
) -> None:
    """Each page in 3x3 tiles: the width is read from the whole page's finished rows, so every tile
    of the page goes the same way; the width moves only by what tiling moves the lines (a few pixels
    at the model's threshold: 0.05 px on the 768 px page with the test extras' OpenCV and numpy), and
    the picture is the whole pass's within the tiling tolerance."""
    roads, pictures = [], []
    for tiling in (Tiling(tile=2048), tiles):
        with LineModel("contour", precision="fp32", tiling=tiling) as model:
            pictures.append(model.probability(pages[name]))
            roads.append(model.last_route)
    assert roads[0].model == roads[1].model
    assert roads[0].value == pytest.approx(roads[1].value, abs=0.15)
    assert np.abs(pictures[0] - pictures[1]).mean() < 0.01


def test_large_scans_are_probed_at_windows_spread_over_them() -> None:
    assert probe_windows(3072, 3071) == [] and probe_windows(40000, 2 * PROBE_SPAN - 1) == []
    windows = probe_windows(3328, 3328)
    assert PROBE_FROM_PIXELS <= 3328**2 and len(windows) == 9
    assert {y for y, _ in windows} == {x for _, x in windows} == {0, 1408, 3328 - PROBE_SPAN}


def test_a_large_scan_takes_its_road_before_one_model_draws_it(pages: dict[str, np.ndarray]) -> None:
    """A 3328x3328 scan of fine detail: its road is read off 9 windows (the width within 0.2 px of
    what the whole first pass draws), and its lines are the expert's alone, as if it were run by
    itself: the first model never draws the whole scan."""
    scan = np.tile(pages["thin"], (13, 13, 1))
    tiling = Tiling(tile=1024)
    with LineModel("contour", precision="fp32", tiling=tiling) as model:
        routed = model.probability(scan)
        road = model.last_route
    with LineModel(SHIPPED_DIR / "contour.onnx", tiling=tiling) as first:
        whole = line_width(first.lines(scan, "binary") < 128)
    assert road is not None and road.model == "contour-thin"
    assert road.value == pytest.approx(whole, abs=0.2)
    with LineModel(SHIPPED_DIR / "contour-thin.onnx", tiling=tiling) as expert:
        np.testing.assert_array_equal(routed, expert.probability(scan))


def test_make_runner_routes_shipped_names_and_runs_files_alone() -> None:
    runner, backend = make_runner("contour", precision="fp32", flips=2)
    assert isinstance(runner, Router) and backend == "onnxruntime"
    assert isinstance(runner.base, FlipAverage) and tuple(runner.experts) == ROUTES["contour"].roads
    assert all(isinstance(expert, FlipAverage) and expert.shares_arena for expert in runner.experts.values())
    with runner:
        assert runner.card.model == "contour"
        assert [expert.card.model for expert in runner.experts.values()] == [r.expert for r in runner.experts]
    plain, _ = make_runner(SHIPPED_DIR / "contour.onnx")
    assert not isinstance(plain, Router)


def test_a_router_keeps_the_runner_contract_and_refuses_unlike_models(exported: dict[str, Path]) -> None:
    router = Router(
        OnnxRuntimeRunner(SHIPPED_DIR / "contour.onnx"),
        {THIN: OnnxRuntimeRunner(SHIPPED_DIR / "contour-thin.onnx")},
        reading="line_width",
    )
    batch = np.random.default_rng(0).random((2, 3, 32, 48), np.float32)
    with router, OnnxRuntimeRunner(SHIPPED_DIR / "contour.onnx") as base:
        # a batch handed in directly is tiles of no known page: the first model's alone
        np.testing.assert_array_equal(
            router.infer({"image": batch})["lines"], base.infer({"image": batch})["lines"]
        )
        with pytest.raises(InputError, match="positive multiples of 4, got 18x16"):
            router.infer({"image": np.zeros((1, 3, 18, 16), np.float32)})
    unlike = Router(
        OnnxRuntimeRunner(SHIPPED_DIR / "contour.onnx"),
        {
            THIN: OnnxRuntimeRunner(SHIPPED_DIR / "contour-thin.onnx"),
            Road("contour-gray", low=6.0): OnnxRuntimeRunner(exported["contour-gray"]),
        },
        reading="line_width",
    )
    with pytest.raises(UsageError, match="differs in input_channels"):
        unlike.__enter__()


def test_infer_records_which_model_drew_each_page(pages: dict[str, np.ndarray], tmp_path: Path) -> None:
    for name, image in pages.items():
        cv2.imwrite(str(tmp_path / f"{name}.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    out, summary = tmp_path / "lines", tmp_path / "summary.csv"
    files = [str(tmp_path / f"{name}.png") for name in pages]
    result = CliRunner().invoke(
        app, ["infer", *files, "--model", "contour", "-o", str(out), "--summary", str(summary)]
    )
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "under 4 px by contour-thin" in said and "5.25 px or more by contour-coarse" in said, said
    assert "1 by contour, 1 by contour-coarse, 1 by contour-thin" in said, said
    roads = {"thin": "contour-thin", "middle": "contour", "thick": "contour-coarse"}
    rows = summary.read_text().splitlines()
    assert rows[0].endswith(",drawn_by")
    assert [row.rsplit(",", 1)[1] for row in rows[1:]] == list(roads.values())
    for name, drawn_by in roads.items():
        record = json.loads(Image.open(out / f"{name}.png").info["line-art-toolkit"])
        assert record["drawn_by"] == drawn_by and record["model"] == "contour"
        # each road's widths and expert; the precision is `auto`'s, which depends on the CPU
        assert [{key: road[key] for key in ("reading", *THIN.record())} for road in record["route"]] == [
            {"reading": "line_width", **road.record()} for road in ROUTES["contour"].roads
        ]
        assert all(len(road["weights_sha256"]) == 64 for road in record["route"])
        taken = [road.expert for road in ROUTES["contour"].roads if road.takes(record["line_width"])]
        assert taken == ([] if drawn_by == "contour" else [drawn_by])


def test_a_folder_of_routed_scans_stays_within_its_budget() -> None:
    """3000x2400 scans of fine detail (256 px pages, tiled) all go on to the expert, so both models'
    ONNX Runtime sessions fill the one arena they share (an arena never shrinks): the plan pays for
    the larger."""
    done = subprocess.run(
        [sys.executable, "-c", PLANNED_FOLDER, "contour", "auto", "300", "3000", "2400", "256"],
        capture_output=True,
        text=True,
        check=True,
    )
    written, grew_mb, *drawn_by = done.stdout.split()
    assert int(written) == 3 and drawn_by == ["contour-thin"] * 3, done.stdout
    assert float(grew_mb) <= 300, done.stdout


def test_bench_counts_the_pages_each_model_drew() -> None:
    """Model only is `contour` alone; end to end pays the expert's pass on pages sent on, so the
    report says how many went."""
    runner, _ = make_runner("contour", precision="fp32")
    with runner:
        report = bench_generated(runner, count=2, size=256)
    assert report.drawn_by == {"contour-thin": 2} and report.images == 2


def test_a_routes_models_share_one_arena() -> None:
    """Each ONNX Runtime session keeps an arena as large as the largest tile it ran; the route's
    models, run one after another on a tile, hold about one such arena between them when they draw
    from the process's shared one, and two when each has its own."""
    graphs = [SHIPPED_DIR / "contour.onnx", SHIPPED_DIR / "contour-thin.onnx"]
    one = peak_growth_mb(graphs[0], side=768, passes=2)
    shared = peak_growth_mb(*graphs, side=768, passes=2, shared_arena=True)
    own = peak_growth_mb(*graphs, side=768, passes=2)
    assert shared < 1.25 * one < 0.75 * own, (one, shared, own)


@pytest.fixture(scope="module")
def sketches(tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    """A sketch of faint pencil (18 grey levels over the paper) and the same page as seed 1 draws it
    (134 grey levels), 256 px."""
    root = tmp_path_factory.mktemp("sketches")
    write_pairs(
        "sketch", 1, 256, seed=1, root=root / "faint", pins=(Focus.parse("sketch", "pencil_contrast=10:20"),)
    )
    write_pairs("sketch", 1, 256, seed=1, root=root / "calm")
    return {name: read_image(next((root / name / "input").iterdir())) for name in ("faint", "calm")}


def test_unet_light_sends_faint_pencil_to_its_expert(sketches: dict[str, np.ndarray], tmp_path: Path) -> None:
    """The same page with faint and with everyday pencil: the faint one reads under the road's end and
    `unet-light-faint` draws it; the other stays. `toolkit infer` says so."""
    (faint,) = ROUTES["unet-light"].roads
    with LineModel("unet-light", precision="fp32") as model:
        roads = {}
        for name, page in sketches.items():
            drawn = model.lines(page, "binary")
            roads[name] = model.last_route
            graph = "unet-light-faint" if name == "faint" else "unet-light"
            np.testing.assert_array_equal(drawn, alone(f"{graph}.onnx", page))
    assert roads["faint"].model == "unet-light-faint" and roads["faint"].value < faint.high - 0.5
    assert roads["calm"].model == "unet-light" and roads["calm"].value > faint.high + 1.0
    assert roads["faint"].reading == "pencil_snr"
    for name, page in sketches.items():
        cv2.imwrite(str(tmp_path / f"{name}.png"), cv2.cvtColor(page, cv2.COLOR_RGB2BGR))
    result = CliRunner().invoke(app, ["infer", str(tmp_path), "-o", str(tmp_path / "lines")])
    said = " ".join(result.output.split())
    assert result.exit_code == 0 and "1 by unet-light, 1 by unet-light-faint" in said, said
    road = "under 4x, or under 8x with pencil_contrast under 30 levels"
    assert f"stands out of the paper's noise: {road} by unet-light-faint" in said, said


def test_the_faint_road_reads_the_scan_alike_in_infer_and_line_model(
    sketches: dict[str, np.ndarray], tmp_path: Path
) -> None:
    """The road's gate reads the page as scanned: `toolkit infer` conditions a scan in its reader
    thread and keeps the scan's brightest channel for it; LineModel hands the tiler the scan itself.
    Both read the same, and the road taken is the one its readings say."""
    (faint,) = ROUTES["unet-light"].roads
    taken = {}
    with LineModel("unet-light", precision="fp32") as model:
        for name, page in sketches.items():
            model.lines(page, "binary")
            taken[name] = model.last_route
            cv2.imwrite(str(tmp_path / f"{name}.png"), cv2.cvtColor(page, cv2.COLOR_RGB2BGR))
    # 18 grey levels of pencil on the faint page, 134 on the other, as the generator drew them
    assert taken["faint"].gated["pencil_contrast"] < faint.gate.below < taken["calm"].gated["pencil_contrast"]
    out = tmp_path / "lines"
    result = CliRunner().invoke(app, ["infer", str(tmp_path), "-o", str(out), "--precision", "fp32"])
    assert result.exit_code == 0, result.output
    for name, route in taken.items():
        record = json.loads(Image.open(out / f"{name}.png").info["line-art-toolkit"])
        assert record["pencil_snr"] == round(route.value, 3)
        assert record["pencil_contrast"] == round(route.gated["pencil_contrast"], 3)
        sent = faint.takes(route.value, route.gated["pencil_contrast"])
        assert record["drawn_by"] == route.model == ("unet-light-faint" if sent else "unet-light")
        assert record["route"][0]["gate"] == faint.gate.record()
