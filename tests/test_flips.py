"""Test-time flips (toolkit.runtime.flips): the mean of mirrored views, on every backend and tile plan."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_runtime import BACKENDS
from test_tiling import PLANNED_SCAN
from typer.testing import CliRunner

from toolkit.cli.main import app
from toolkit.core.agreement import compare
from toolkit.core.errors import InputError, UsageError
from toolkit.core.metadata import OutputInfo
from toolkit.core.provenance import output_record
from toolkit.core.shipped import SHIPPED_DIR
from toolkit.data.synthetic import make_pair
from toolkit.runtime.backends import make_runner
from toolkit.runtime.flips import FlipAverage, flip_views, with_flips
from toolkit.runtime.onnxruntime_runner import OnnxRuntimeRunner
from toolkit.runtime.pipeline import predict
from toolkit.runtime.tile_plan import bytes_per_pixel, tile_pixels_within
from toolkit.runtime.tiling import Tiling, predict_tiled

cli = CliRunner()


def test_four_views_are_the_mean_of_the_mirrored_passes(exported: dict[str, Path]) -> None:
    batch = np.random.default_rng(0).random((2, 3, 16, 24), np.float32)
    with OnnxRuntimeRunner(exported["contour"]) as plain:
        passes = [
            np.flip(plain.infer({"image": np.ascontiguousarray(np.flip(batch, axes))})["lines"], axes)
            for axes in ((), (3,), (2,), (2, 3))
        ]
    for views in (2, 4):
        with FlipAverage(OnnxRuntimeRunner(exported["contour"]), views) as flipped:
            averaged = flipped.infer({"image": batch})["lines"]
        np.testing.assert_allclose(averaged, np.mean(passes[:views], axis=0), rtol=1e-5, atol=1e-6)
        assert averaged.dtype == np.float32 and averaged.shape == (2, 1, 16, 24)
    # the views do differ (else there would be nothing to average): a network is not mirror-symmetric
    assert np.abs(passes[0] - passes[1]).max() > 1e-3


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_flips_keep_every_backends_contract(exported: dict[str, Path], backend: str) -> None:
    with FlipAverage(BACKENDS[backend](exported["contour"]), 4) as runner:
        assert runner.card.output_names == ["lines"] and runner.name == backend
        outputs = runner.infer({"image": np.random.default_rng(1).random((1, 3, 16, 20), np.float32)})
        assert outputs["lines"].shape == (1, 1, 16, 20)
        assert outputs["lines"].min() >= 0 and outputs["lines"].max() <= 1
        with pytest.raises(InputError, match="positive multiples of 4, got 18x16"):
            runner.infer({"image": np.zeros((1, 3, 18, 16), np.float32)})


def test_one_view_is_the_runner_itself_and_other_counts_are_refused(exported: dict[str, Path]) -> None:
    plain = OnnxRuntimeRunner(exported["contour"])
    assert with_flips(plain, 1) is plain and flip_views(plain) == 1
    assert flip_views(with_flips(plain, 2)) == 2
    with pytest.raises(UsageError, match="--flips must be one of 1, 2, 4, not 3"):
        make_runner(exported["contour"], flips=3)
    features = FlipAverage(OnnxRuntimeRunner(exported["contour-features"]), 2)
    with pytest.raises(UsageError, match="--flips averages line probabilities; this model gives feature"):
        features.__enter__()


def test_tiled_flips_equal_the_whole_images_flips_within_tolerance() -> None:
    """Each view of a tile is that tile's own pass, so the tiled picture keeps the tiling tolerance
    (tests/test_tiling.py: tiles from 320 px, overlap >= 1/4 tile: PSNR >= 35 dB, line F1 >= 0.99)."""
    image, _ = make_pair("painting", 430, 390, seed=4)
    with FlipAverage(OnnxRuntimeRunner(SHIPPED_DIR / "contour.onnx"), 4) as runner:
        tiled = predict_tiled(runner, image, Tiling(tile=320, overlap=80, batch=2))
        whole = predict(runner, [image])["lines"][0, 0]
    metrics = compare(whole[None], tiled[None], OutputInfo("lines", ""), 0.5)
    assert metrics["psnr_db"] >= 35 and metrics["line_f1"] >= 0.99, metrics


def test_infer_records_the_views_and_bench_counts_their_work(
    exported: dict[str, Path], image_folder: Path, tmp_path: Path
) -> None:
    infer = ["infer", str(image_folder), "-m", str(exported["contour"])]
    result = cli.invoke(app, [*infer, "--flips", "2", "-o", str(tmp_path / "l")])
    assert result.exit_code == 0, result.output
    assert "2 of 2 images written" in result.output and "2 mirrored views averaged" in result.output
    assert output_record(tmp_path / "l" / "a-sketch.png")["flips"] == 2
    inspected = cli.invoke(app, ["inspect", str(tmp_path / "l" / "a-sketch.png")])
    assert "threshold 0.5, 2 mirrored views averaged" in " ".join(inspected.output.split())
    result = cli.invoke(app, [*infer, "--flips", "3", "-o", str(tmp_path / "x")])
    assert result.exit_code == 2 and "--flips must be one of 1, 2, 4, not 3" in result.output
    assert not (tmp_path / "x").exists()
    maps = ["infer", str(image_folder), "-m", str(exported["contour-features"]), "--flips", "2"]
    result = cli.invoke(app, [*maps, "-o", str(tmp_path / "maps")])
    assert result.exit_code == 2 and "this model gives feature maps" in result.output
    assert not (tmp_path / "maps").exists()
    reports = {}
    for views in (1, 4):
        path = tmp_path / f"bench-{views}.json"
        args = ["bench", "-m", infer[3], "--flips", str(views), "--count", "2", "--size", "64"]
        assert cli.invoke(app, [*args, "--json", str(path)]).exit_code == 0
        reports[views] = json.loads(path.read_text())
    assert reports[4]["flips"] == 4 and reports[1]["flips"] == 1
    assert reports[4]["gflop_per_image"] == pytest.approx(4 * reports[1]["gflop_per_image"], rel=0.05)


def test_evaluate_and_sweep_name_the_views(exported: dict[str, Path], tmp_path: Path) -> None:
    data = tmp_path / "pairs"
    synth = ["synth", "--kind", "painting", "--count", "2", "--size", "48", "-o", str(data)]
    assert cli.invoke(app, synth).exit_code == 0
    args = ["evaluate", str(data), "-m", str(exported["contour"]), "--flips", "4", "--no-baselines"]
    result = cli.invoke(app, [*args, "--json", str(tmp_path / "e.json")])
    assert result.exit_code == 0, result.output
    assert list(json.loads((tmp_path / "e.json").read_text())["methods"]) == ["contour (4 views)"]
    sweep = ["sweep", "-m", str(exported["contour"]), "--flips", "2", "--points", "2", "--images", "1"]
    sweep += ["--size", "48", "--factor", "crack_darkness", "-o", str(tmp_path / "s.png")]
    cli.invoke(app, sweep)  # an untrained network fails the floor; the report is written all the same
    report = json.loads((tmp_path / "s.json").read_text())
    assert report["flips"] == 2 and report["precision"] == "fp32"


def test_the_tile_plan_pays_for_the_mirrored_input_and_the_sums() -> None:
    with (
        OnnxRuntimeRunner(SHIPPED_DIR / "contour.onnx") as plain,
        FlipAverage(OnnxRuntimeRunner(SHIPPED_DIR / "contour.onnx"), 4) as flipped,
    ):
        assert flipped.held_bytes_per_pixel == 4 * (3 + 1) and plain.held_bytes_per_pixel == 0
        cost = bytes_per_pixel(plain)
        assert bytes_per_pixel(flipped) == cost + 16
        ratio = tile_pixels_within(1024, flipped) / tile_pixels_within(1024, plain)
        assert ratio == pytest.approx(cost / (cost + 16), rel=0.01)


def test_a_planned_scan_with_four_views_stays_within_its_budget() -> None:
    """tests/test_tiling.py's measured plan (a 3000x2400 scan at 300 MB: 206 MB with one view, 241 MB
    with four on the AVX2 EPYC, 2026-12-04), through FlipAverage."""
    done = subprocess.run(
        [sys.executable, "-c", PLANNED_SCAN, "contour", "fp32", "300", "3000", "2400", "4"],
        capture_output=True,
        text=True,
        check=True,
    )
    tiles, grew_mb = done.stdout.split()
    assert int(tiles) >= 4 and float(grew_mb) <= 300, done.stdout
