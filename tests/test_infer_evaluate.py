"""`toolkit infer` and `toolkit evaluate` through the CLI, on real files."""

from __future__ import annotations

import csv
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from toolkit.cli import app
from toolkit.core.errors import ExitCode
from toolkit.core.fileio import write_png
from toolkit.core.shipped import SHIPPED_DIR
from toolkit.data.synthetic import make_pair, read_page_factors, write_pairs
from toolkit.imaging.imageio import read_image
from toolkit.runtime.feature_maps import ink_levels
from toolkit.runtime.onnxruntime_runner import OnnxRuntimeRunner
from toolkit.runtime.pictures import line_image, write_line_image
from toolkit.runtime.pipeline import predict

runner = CliRunner()


def test_infer_writes_line_images_and_reports_bad_files(
    exported: dict[str, Path], image_folder: Path, tmp_path: Path
) -> None:
    (image_folder / "c-broken.png").write_bytes(b"not an image")
    out = tmp_path / "lines"
    args = ["infer", str(image_folder), "-o", str(out), "--model", str(exported["unet-light"])]
    result = runner.invoke(app, args)
    assert result.exit_code == ExitCode.BAD_INPUT
    assert f"{image_folder / 'c-broken.png'}: not a readable image" in result.output
    assert "2 of 3 images written" in result.output
    sketch = read_image(out / "a-sketch.png")
    assert sketch.shape == (71, 93) and sketch.dtype == np.uint8  # the input's size, gray
    assert read_image(out / "b-painting.png").shape == (64, 80)
    assert not list(out.glob(".*.tmp"))
    # existing outputs are kept unless --overwrite
    again = runner.invoke(app, args)
    assert "already exists (pass --overwrite to replace it, --resume to skip it)" in again.output
    binary = runner.invoke(app, [*args, "--overwrite", "--format", "binary"])
    assert "2 of 3 images written" in binary.output
    assert set(np.unique(read_image(out / "a-sketch.png"))) <= {0, 255}


def test_infer_writes_each_feature_channel_at_the_image_size(
    exported: dict[str, Path], image_folder: Path, tmp_path: Path
) -> None:
    """A graph exported with --features (conv1:3,21,48,56 + all 64 of layer1): one picture per channel."""
    (image_folder / "c-broken.png").write_bytes(b"not an image")
    out, report = tmp_path / "maps", tmp_path / "run.json"
    args = ["infer", str(image_folder), "-o", str(out), "--model", str(exported["contour-features"])]
    result = runner.invoke(app, [*args, "--summary", str(report)])
    assert result.exit_code == ExitCode.BAD_INPUT, result.output
    assert "2 of 3 images written" in result.output and "(contour conv1+layer1 maps on" in result.output
    names = [f"a-sketch-conv1-c{c}.png" for c in (3, 21, 48, 56)] + [
        f"a-sketch-layer1-c{c}.png" for c in range(64)
    ]
    assert sorted(p.name for p in out.glob("a-sketch-*")) == sorted(names)
    assert len(list(out.glob("b-painting-*.png"))) == 68 and not list(out.glob(".*.tmp"))
    summary = json.loads(report.read_text())
    assert [row["status"] for row in summary] == ["ok", "ok", "error"]
    assert summary[0]["output"].split(";") == [str(out / name) for name in names]
    # c21 is the graph's second conv1 channel: its map, stretched over the image, at the image's size
    with OnnxRuntimeRunner(exported["contour-features"]) as features:
        image = read_image(image_folder / "a-sketch.png")
        conv1 = predict(features, [image])["conv1"][0]
    picture = read_image(out / "a-sketch-conv1-c21.png")
    assert picture.shape == (71, 93) and picture.dtype == np.uint8
    np.testing.assert_array_equal(picture, 255 - ink_levels(conv1[1], (93, 71))[0])
    # binary: black where the channel is above its own mean (verify's rule for feature maps)
    runner.invoke(app, [*args, "--format", "binary", "--overwrite"])
    binary = read_image(out / "a-sketch-conv1-c21.png")
    above = cv2.resize((conv1[1] >= conv1[1].mean()).astype(np.float32), (93, 71))
    assert set(np.unique(binary)) <= {0, 255} and abs((binary == 0).mean() - above.mean()) < 0.05
    # a run stopped between an image's channels: --resume writes the missing ones, keeps the rest
    (out / "a-sketch-layer1-c7.png").unlink()
    kept = (out / "a-sketch-layer1-c8.png").stat().st_mtime_ns
    resumed = runner.invoke(app, [*args, "--resume"])
    assert "1 of 3 images written" in resumed.output and "1 already there" in resumed.output
    assert (out / "a-sketch-layer1-c7.png").exists()
    assert (out / "a-sketch-layer1-c8.png").stat().st_mtime_ns == kept
    again = runner.invoke(app, args)
    assert f"{out / 'a-sketch-conv1-c3.png'}: already exists (and 67 more of its outputs)" in again.output


def test_infer_on_feature_maps_tiles_a_large_image(exported: dict[str, Path], tmp_path: Path) -> None:
    """Tiled feature maps draw the same pictures as one whole pass (conv1 sees 7 px, layer1 ~35 px)."""
    image, _ = make_pair("painting", 300, 260, seed=3)
    write_png(tmp_path / "scan.png", image)
    pictures = {}
    for tile in (512, 128):
        out = tmp_path / f"tile-{tile}"
        args = ["infer", str(tmp_path / "scan.png"), "-o", str(out), "--tile", str(tile), "--overlap", "48"]
        result = runner.invoke(app, [*args, "--model", str(exported["contour-features"])])
        assert result.exit_code == 0, result.output
        pictures[tile] = {p.name: read_image(p).astype(int) for p in out.glob("*.png")}
    assert len(pictures[128]) == 68 and pictures[128].keys() == pictures[512].keys()
    for name, whole in pictures[512].items():
        difference = np.abs(pictures[128][name] - whole)
        # 1 level: a channel's stretch range moves with it (measured: conv1 max 1, layer1 max 6, mean <= 0.26)
        assert difference.max() <= (1 if "conv1" in name else 10) and difference.mean() < 0.5, name


def test_infer_refuses_unknown_models(exported: dict[str, Path], image_folder: Path) -> None:
    unknown = runner.invoke(app, ["infer", str(image_folder), "--model", "unet"])
    assert unknown.exit_code == ExitCode.USAGE and "no shipped model 'unet'" in unknown.output
    assert "`toolkit export unet` writes export/unet.onnx" in unknown.output
    # only registry names: a path into the package's folder is no model name
    stray = runner.invoke(app, ["infer", str(image_folder), "--model", "../weights/unet-light"])
    assert stray.exit_code == ExitCode.USAGE
    shipped = "(shipped: contour, contour-coarse, contour-thin, unet-light, unet-light-faint)"
    assert f"{shipped}, and not an ONNX graph (.onnx) or a TensorRT" in stray.output
    assert "toolkit export" not in stray.output  # no hint that would itself fail
    missing = runner.invoke(app, ["infer", "nowhere/", "--model", str(exported["unet-light"])])
    assert missing.exit_code == ExitCode.BAD_INPUT and "nowhere: no such file or folder" in missing.output


def test_evaluate_scores_predictions_and_baselines(tmp_path: Path) -> None:
    data = tmp_path / "heldout"
    write_pairs("sketch", 3, 64, seed=0, root=data)
    perfect = tmp_path / "perfect"
    shutil.copytree(data / "target", perfect)
    report_path = tmp_path / "eval.json"
    result = runner.invoke(
        app, ["evaluate", str(data), "--predictions", str(perfect), "--json", str(report_path)]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(report_path.read_text())
    assert report["pairs"] == 3 and set(report["methods"]) == {"perfect", "otsu", "adaptive", "canny"}
    assert report["methods"]["perfect"]["line_f1"] == 1.0 and report["methods"]["perfect"]["iou"] == 1.0
    assert report["methods"]["otsu"]["line_f1"] < 1.0


def test_evaluate_splits_the_pages_by_factor(tmp_path: Path) -> None:
    data = tmp_path / "heldout"
    write_pairs("sketch", 8, 48, seed=2, root=data)
    widths = {stem: page["stroke_width"] for stem, page in read_page_factors(data).items()}
    thick = sorted(widths, key=widths.get)[4:]
    predictions = tmp_path / "lines"
    shutil.copytree(data / "target", predictions)
    for stem in thick:  # the thick-stroke half of the pages drawn blank
        write_png(predictions / f"{stem}.png", np.full((48, 48), 255, np.uint8), overwrite=True)
    report_path = tmp_path / "eval.json"
    args = ["evaluate", str(data), "--predictions", str(predictions), "--no-baselines"]
    result = runner.invoke(app, [*args, "--json", str(report_path)])
    assert result.exit_code == 0, result.output
    assert "lines, line F1 by factor" in result.output
    report = json.loads(report_path.read_text())
    assert {stem for stem, f1 in report["worst_pages"]["lines"][:4]} == set(thick)
    assert [f1 for _, f1 in report["worst_pages"]["lines"]] == [0.0] * 4 + [1.0] * 4
    splits = {split["factor"]: split for split in report["by_factor"]["lines"]}
    assert (splits["stroke_width"]["low_line_f1"], splits["stroke_width"]["high_line_f1"]) == (1.0, 0.0)
    assert report["by_factor"]["lines"][0]["gap"] == 1.0
    assert splits["stroke_width"]["low_pages"] == splits["stroke_width"]["high_pages"] == 2
    curve = report["by_radius"]["lines"]
    assert list(curve) == ["1", "2", "3", "4", "6"] and list(curve.values()) == sorted(curve.values())
    assert curve["2"] == report["methods"]["lines"]["line_f1"]


def test_evaluate_a_model_and_skip_a_bad_pair(exported: dict[str, Path], tmp_path: Path) -> None:
    data = tmp_path / "heldout"
    write_pairs("sketch", 2, 48, seed=1, root=data)
    (data / "input" / "00001.png").write_bytes(b"broken")
    result = runner.invoke(
        app, ["evaluate", str(data), "--model", str(exported["unet-light"]), "--no-baselines"]
    )
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "00001.png: not a readable image" in result.output
    assert "unet-light" in result.output and "1 pairs from" in result.output


def test_synth_writes_a_held_out_set_and_a_sheet(tmp_path: Path) -> None:
    sheet = tmp_path / "sheet.png"
    args = [
        "synth",
        "--kind",
        "painting",
        "--count",
        "2",
        "--size",
        "40",
        "-o",
        str(tmp_path / "d"),
        "--sheet",
        str(sheet),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert read_image(tmp_path / "d" / "input" / "00001.png").shape == (40, 40, 3)
    assert read_image(sheet).shape[2] == 3
    assert runner.invoke(app, args).exit_code == ExitCode.BAD_INPUT  # never overwrites silently


def test_synth_pins_a_factor_on_pages_that_are_otherwise_the_same(tmp_path: Path) -> None:
    """`--pin` keeps one factor inside its span on every page, deterministically; every other factor
    is what the same seed draws without it; a span outside the factor's range is refused, unwritten."""
    common = ["synth", "--count", "3", "--size", "40", "--seed", "11"]
    pin = ["--pin", "pencil_contrast=10:25"]
    for folder, extra in (("plain", []), ("faint", pin), ("again", pin)):
        result = runner.invoke(app, [*common, *extra, "-o", str(tmp_path / folder)])
        assert result.exit_code == 0, result.output
    plain, faint, again = (read_page_factors(tmp_path / name) for name in ("plain", "faint", "again"))
    assert faint == again  # deterministic by seed
    assert (
        read_image(tmp_path / "faint/input/00002.png").tobytes()
        == read_image(tmp_path / "again/input/00002.png").tobytes()
    )
    for stem, factors in faint.items():
        assert 10 <= factors["pencil_contrast"] <= 25
        assert {k: v for k, v in factors.items() if k != "pencil_contrast"} == {
            k: v for k, v in plain[stem].items() if k != "pencil_contrast"
        }
    record = json.loads((tmp_path / "faint" / "pages.json").read_text())
    assert record["pins"] == {"pencil_contrast": [10.0, 25.0]}
    refused = runner.invoke(app, [*common, "--pin", "pencil_contrast=1:25", "-o", str(tmp_path / "no")])
    assert refused.exit_code == ExitCode.BAD_INPUT
    assert "--pin pencil_contrast=1:25: 1..25 is not inside pencil_contrast's range 10..200" in refused.output
    assert not (tmp_path / "no").exists()


def test_infer_mirrors_the_tree_resumes_and_summarises(exported: dict[str, Path], tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    write_pairs("sketch", 2, 40, seed=4, root=archive / "box1")
    write_pairs("sketch", 1, 40, seed=5, root=archive / "box2")
    out, summary = tmp_path / "lines", tmp_path / "run.csv"
    model = ["--model", str(exported["unet-light"])]
    result = runner.invoke(
        app, ["infer", str(archive), "-r", "-o", str(out), "--summary", str(summary), *model]
    )
    assert result.exit_code == 0, result.output
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*.png"))
    assert written == [
        "box1/input/00000.png",
        "box1/input/00001.png",
        "box1/target/00000.png",
        "box1/target/00001.png",
        "box2/input/00000.png",
        "box2/target/00000.png",
    ]
    rows = list(csv.DictReader(summary.open()))
    assert [r["status"] for r in rows] == ["ok"] * 6 and rows[0]["width"] == "40"
    # an interrupted run is carried on: existing (whole, atomically written) outputs are skipped
    (out / "box2" / "input" / "00000.png").unlink()
    again = runner.invoke(app, ["infer", str(archive), "-r", "--resume", "-o", str(out), *model])
    assert (
        again.exit_code == 0 and "1 of 6 images written" in again.output and "5 already there" in again.output
    )


def test_infer_takes_globs_and_list_files_and_refuses_colliding_outputs(
    exported: dict[str, Path], image_folder: Path, tmp_path: Path
) -> None:
    listing = tmp_path / "list.txt"
    listing.write_text(f"{image_folder / 'a-sketch.png'}\n\n{image_folder / 'b-painting.jpg'}\n")
    model = ["--model", str(exported["unet-light"])]
    result = runner.invoke(app, ["infer", f"@{listing}", "-o", str(tmp_path / "a"), *model])
    assert result.exit_code == 0 and "2 of 2 images written" in result.output
    result = runner.invoke(app, ["infer", str(image_folder / "*.jpg"), "-o", str(tmp_path / "b"), *model])
    assert result.exit_code == 0 and [p.name for p in (tmp_path / "b").iterdir()] == ["b-painting.png"]
    shutil.copy(image_folder / "a-sketch.png", image_folder / "b-painting.png")  # b-painting.jpg and .png
    result = runner.invoke(app, ["infer", str(image_folder), "-o", str(tmp_path / "c"), *model])
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "b-painting.png: its output" in result.output and "is also" in result.output


def test_sigterm_stops_cleanly_and_resume_finishes(exported: dict[str, Path], tmp_path: Path) -> None:
    scans = tmp_path / "scans"
    write_pairs("sketch", 24, 320, seed=6, root=scans)
    out = tmp_path / "lines"
    command = [sys.executable, "-m", "toolkit", "infer", str(scans / "input"), "-o", str(out)]
    command += ["--model", str(exported["unet-light"])]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (out.is_dir() and any(out.glob("*.png"))) and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == ExitCode.INTERRUPTED, stderr
    assert "interrupted: no output is half-written" in stderr
    done = sorted(p.name for p in out.iterdir())
    assert all(name.endswith(".png") for name in done), done  # no temporary files left behind
    assert 0 < len(done) < 24
    for path in out.iterdir():
        assert read_image(path).shape == (320, 320)  # every output present is whole
    resumed = subprocess.run([*command, "--resume"], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{24 - len(done)} of 24 images written" in resumed.stdout
    assert len(list(out.glob("*.png"))) == 24


def test_output_formats_and_scale(exported: dict[str, Path], image_folder: Path, tmp_path: Path) -> None:
    model = ["--model", str(exported["unet-light"])]
    sketch = image_folder / "a-sketch.png"  # 93 x 71
    result = runner.invoke(
        app, ["infer", str(sketch), "-o", str(tmp_path / "alpha"), "--format", "alpha", *model]
    )
    assert result.exit_code == 0, result.output
    rgba = cv2.imread(str(tmp_path / "alpha" / "a-sketch.png"), cv2.IMREAD_UNCHANGED)
    assert (
        rgba.shape == (71, 93, 4) and rgba[..., :3].max() == 0 and rgba[..., 3].max() > 0
    )  # ink on transparency
    gray = runner.invoke(app, ["infer", str(sketch), "-o", str(tmp_path / "gray"), *model])
    assert gray.exit_code == 0
    expected = 255 - read_image(tmp_path / "gray" / "a-sketch.png").astype(int)
    assert np.abs(rgba[..., 3].astype(int) - expected).max() <= 1  # same lines, other encoding
    half = runner.invoke(app, ["infer", str(sketch), "-o", str(tmp_path / "half"), "--scale", "0.5", *model])
    assert half.exit_code == 0 and read_image(tmp_path / "half" / "a-sketch.png").shape == (71, 93)
    bad = runner.invoke(app, ["infer", str(sketch), "-o", str(tmp_path / "x"), "--format", "pdf", *model])
    assert (
        bad.exit_code == ExitCode.USAGE and "--format must be one of gray, binary, alpha, svg" in bad.output
    )


def test_svg_output_parses_and_rasterises_onto_the_lines(tmp_path: Path) -> None:
    import xml.etree.ElementTree as ElementTree

    import resvg_py

    sketch = tmp_path / "sketch.png"
    write_png(sketch, make_pair("sketch", 160, 200, seed=3)[0])
    model = ["--model", str(SHIPPED_DIR / "unet-light.onnx")]
    for fmt in ("svg", "binary"):
        result = runner.invoke(
            app, ["infer", str(sketch), "-o", str(tmp_path / fmt), "--format", fmt, *model]
        )
        assert result.exit_code == 0, result.output
    svg = (tmp_path / "svg" / "sketch.svg").read_text()
    root = ElementTree.fromstring(svg)
    assert root.tag.endswith("svg") and (root.get("width"), root.get("height")) == ("200", "160")
    assert root.findall("{http://www.w3.org/2000/svg}path")  # connected strokes become compound paths
    raster = cv2.imdecode(
        np.frombuffer(bytes(resvg_py.svg_to_bytes(svg_string=svg)), np.uint8), cv2.IMREAD_UNCHANGED
    )
    traced = raster[..., 3] > 127  # painted paths
    ink = read_image(tmp_path / "binary" / "sketch.png") < 128
    assert (traced & ink).sum() / (traced | ink).sum() > 0.8  # IoU of the vector drawing and the lines


def test_bench_reports_model_only_and_end_to_end(exported: dict[str, Path], tmp_path: Path) -> None:
    report_path = tmp_path / "bench.json"
    args = [
        "bench",
        "--model",
        str(exported["unet-light"]),
        "--count",
        "3",
        "--size",
        "64",
        "--json",
        str(report_path),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(report_path.read_text())
    assert report["images"] == 3 and report["megapixels"] == round(3 * 64 * 64 / 1e6, 2)
    assert report["model_images_per_s"] > 0 and report["end_to_end_fraction"] > 0
    assert set(report["model_latency_ms"]) == {"p50", "p90", "p99"}
    assert report["gflop_per_image"] > 0 and report["peak_rss_mb"] > 0


def test_conv_gflop_matches_the_reference_unet(tmp_path: Path) -> None:
    """The reference design states 153 GFLOP per 424x424 image; counting 2 x multiply-adds of every
    convolution of our export gives 150."""
    from toolkit.export.onnx_export import export_onnx
    from toolkit.models.build import load_model
    from toolkit.models.registry import get_spec
    from toolkit.runtime.bench import conv_gflop

    path = export_onnx(load_model(get_spec("unet")), tmp_path / "unet.onnx").path
    assert conv_gflop(path, 1, 424, 424) == pytest.approx(153, rel=0.03)


def test_backends_agree_and_unavailable_ones_say_so(
    exported: dict[str, Path], image_folder: Path, tmp_path: Path
) -> None:
    model = ["--model", str(exported["unet-light"])]
    sketch = str(image_folder / "a-sketch.png")
    auto = runner.invoke(app, ["infer", sketch, "-o", str(tmp_path / "auto"), *model])
    assert auto.exit_code == 0 and "(unet-light on onnxruntime)" in auto.output  # CPU-only machine
    torch_run = runner.invoke(
        app, ["infer", sketch, "-o", str(tmp_path / "torch"), "--backend", "torch", *model]
    )
    assert torch_run.exit_code == 0, torch_run.output
    difference = read_image(tmp_path / "auto" / "a-sketch.png").astype(int) - read_image(
        tmp_path / "torch" / "a-sketch.png"
    )
    assert np.abs(difference).max() <= 1  # the reference and the graph draw the same lines
    cuda = runner.invoke(
        app, ["infer", sketch, "-o", str(tmp_path / "cuda"), "--backend", "onnxruntime-cuda", *model]
    )
    assert (
        cuda.exit_code == ExitCode.BAD_INPUT
        and "this onnxruntime has no CUDAExecutionProvider" in cuda.output
    )
    bad = runner.invoke(app, ["infer", sketch, "--backend", "opencl", *model])
    assert bad.exit_code == ExitCode.USAGE and "--backend must be one of auto" in bad.output


def test_decompression_bombs_are_refused_from_the_header(exported: dict[str, Path], tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.png"  # 20000 x 20000 of nothing compresses to a few hundred KB
    write_png(bomb, np.zeros((20000, 20000), np.uint8))
    small = tmp_path / "small.png"
    write_png(small, np.full((32, 32), 255, np.uint8))
    args = [
        "infer",
        str(bomb),
        str(small),
        "-o",
        str(tmp_path / "out"),
        "--model",
        str(exported["unet-light"]),
    ]
    result = runner.invoke(app, [*args, "--max-pixels", "100000000"])
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "bomb.png: 20000x20000 is 400 megapixels, over the limit of 100 (--max-pixels)" in result.output
    assert "1 of 2 images written" in result.output


@pytest.mark.parametrize("output_format", ["gray", "binary", "alpha"])
def test_line_pictures_are_the_plain_formula(output_format: str) -> None:
    """OpenCV's fast conversion draws exactly what the plain numpy formula draws, out-of-range and
    half-level values included (rounding half to even, as np.round)."""
    rng = np.random.default_rng(0)
    probability = rng.uniform(-0.2, 1.2, (97, 131)).astype(np.float32)
    probability[0, :6] = [0.5 / 255, 1.5 / 255, 0.5, 1.0, 0.0, 0.55]  # ties and the threshold itself
    clipped = np.clip(probability, 0, 1)
    expected = {
        "gray": np.round((1 - clipped) * 255).astype(np.uint8),
        "binary": np.where(clipped >= 0.55, 0, 255).astype(np.uint8),
        "alpha": np.round(clipped * 255).astype(np.uint8),
    }[output_format]
    picture = line_image(probability[:, 3:], output_format, 0.55)  # a strided view, as tiles give
    drawn = picture[..., 3] if output_format == "alpha" else picture
    assert drawn.dtype == np.uint8 and np.array_equal(drawn, expected[:, 3:])
    # a tile row: converted in its own buffer (scratch) straight into its rows of the scan's picture
    scan = np.full((101, 128, *picture.shape[2:]), 7, np.uint8)
    write_line_image(probability[:, 3:].copy(), scan[2:99], output_format, 0.55)
    assert np.array_equal(scan[2:99], picture) and (scan[:2] == 7).all() and (scan[99:] == 7).all()


def test_an_output_never_replaces_its_input(
    exported: dict[str, Path], image_folder: Path, tmp_path: Path
) -> None:
    model = ["--model", str(exported["unet-light"])]
    before = {p.name: p.read_bytes() for p in image_folder.iterdir()}
    into_itself = runner.invoke(
        app, ["infer", str(image_folder), "-o", str(image_folder), "--overwrite", *model]
    )
    assert into_itself.exit_code == ExitCode.USAGE, into_itself.output
    assert (
        f"{image_folder / 'a-sketch.png'}: is the input {image_folder / 'a-sketch.png'} itself"
        in into_itself.output
    )
    # through a symlink to the folder, and through a hard link of the scan under the output's name
    link = tmp_path / "link"
    link.symlink_to(image_folder, target_is_directory=True)
    via_link = runner.invoke(app, ["infer", str(image_folder), "-o", str(link), "--overwrite", *model])
    assert via_link.exit_code == ExitCode.USAGE and "is the input" in via_link.output
    hard = tmp_path / "hard"
    hard.mkdir()
    (hard / "a-sketch.png").hardlink_to(image_folder / "a-sketch.png")
    via_hard_link = runner.invoke(app, ["infer", str(image_folder), "-o", str(hard), "--overwrite", *model])
    assert via_hard_link.exit_code == ExitCode.USAGE and "is the input" in via_hard_link.output
    assert {p.name: p.read_bytes() for p in image_folder.iterdir()} == before  # nothing written, nothing lost
    assert sorted(p.name for p in hard.iterdir()) == ["a-sketch.png"]
    # a tree (-r mirrors it) written into the folder at its top
    archive = tmp_path / "archive"
    write_pairs("sketch", 1, 40, seed=4, root=archive / "box1")
    tree = {p: p.read_bytes() for p in archive.rglob("*.png")}
    onto_tree = runner.invoke(app, ["infer", str(archive), "-r", "-o", str(archive), "--overwrite", *model])
    assert onto_tree.exit_code == ExitCode.USAGE and "is the input" in onto_tree.output
    assert len(onto_tree.output.strip().splitlines()) == 1
    assert {p: p.read_bytes() for p in archive.rglob("*.png")} == tree


def test_resume_rewrites_outputs_that_are_no_whole_picture(exported: dict[str, Path], tmp_path: Path) -> None:
    scans = tmp_path / "scans"
    write_pairs("sketch", 3, 40, seed=6, root=scans)
    out = tmp_path / "lines"
    args = ["infer", str(scans / "input"), "-o", str(out), "--model", str(exported["unet-light"])]
    assert runner.invoke(app, args).exit_code == 0
    whole = (out / "00002.png").read_bytes()
    (out / "00000.png").write_bytes(b"")  # a zero-byte file, as `touch` or a failed copy leaves
    (out / "00001.png").write_bytes(whole[: len(whole) // 2])  # cut off
    again = runner.invoke(app, [*args, "--resume"])
    assert again.exit_code == 0 and "2 of 3 images written" in again.output, again.output
    for name in ("00000.png", "00001.png"):
        assert read_image(out / name).shape == (40, 40)
    both = runner.invoke(app, [*args, "--resume", "--overwrite"])
    assert both.exit_code == ExitCode.USAGE
    assert "--resume keeps finished outputs and --overwrite replaces them: choose one" in both.output


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--tile", "7"], "tiling needs tile >= 16"),
        (["--scale", "0"], "--scale must lie between 0.05 and 8, not 0.0"),
        (["--format", "foo"], "--format must be one of gray, binary, alpha, svg, not foo"),
        (["--backend", "foo"], "--backend must be one of auto"),
    ],
)
def test_bad_option_values_are_a_bad_command_line(
    option: list[str], message: str, exported: dict[str, Path], image_folder: Path, tmp_path: Path
) -> None:
    args = ["infer", str(image_folder), "-o", str(tmp_path / "out"), "--model", str(exported["unet-light"])]
    result = runner.invoke(app, [*args, *option])
    assert result.exit_code == ExitCode.USAGE and message in result.output, result.output
    assert not (tmp_path / "out").exists()


def test_an_output_folder_that_is_a_file_is_refused_before_the_model_runs(
    exported: dict[str, Path], image_folder: Path, tmp_path: Path
) -> None:
    afile = tmp_path / "notes.txt"
    afile.write_text("mine")
    for out, where in ((afile, "is a file"), (afile / "lines", f"lies under the file {afile}")):
        args = ["infer", str(image_folder), "-o", str(out), "--model", str(exported["unet-light"])]
        result = runner.invoke(app, args)
        assert result.exit_code == ExitCode.USAGE, result.output
        assert f"{out}: {where}; -o names the folder the pictures go to" in result.output
        assert result.output.count("error:") == 1  # one line, not one per image
    assert afile.read_text() == "mine"


def test_third_party_console_lines_stay_out_unless_verbose(tmp_path: Path) -> None:
    """A truncated TIFF: Pillow warns about its EXIF and OpenCV prints two [ERROR] lines of its own on
    the process's stderr; the user sees one line naming the file, and the rest only with -v."""
    pixels = np.random.default_rng(0).integers(0, 255, (200, 200, 3), np.uint8)
    _, data = cv2.imencode(".tiff", pixels)
    scan = tmp_path / "scan.tiff"
    scan.write_bytes(data.tobytes()[: len(data) // 2])
    command = [sys.executable, "-m", "toolkit", "infer", str(scan), "-o", str(tmp_path / "out")]
    quiet = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert quiet.returncode == ExitCode.BAD_INPUT
    assert quiet.stderr.strip().splitlines() == [
        f"error: {scan}: not a readable image (OpenCV cannot decode it)"
    ]
    verbose = subprocess.run([*command[:3], "-v", *command[3:]], capture_output=True, text=True, timeout=120)
    assert f"error: {scan}: not a readable image" in verbose.stderr
    if int(cv2.__version__.split(".")[0]) >= 5:  # OpenCV 4.11 (the triton extra's) writes no TIFF lines
        assert "TIFF" in verbose.stderr


def test_a_full_disk_fails_one_file_and_the_batch_goes_on(tmp_path: Path) -> None:
    """A file size limit (RLIMIT_FSIZE, SIGXFSZ ignored: writes fail with EFBIG, as on a full disk) in a
    subprocess: the picture too large to write is reported in one line, no part of it remains, and
    the small pictures on either side of it are written."""
    import resource

    scans, out = tmp_path / "scans", tmp_path / "lines"
    scans.mkdir()
    write_png(scans / "a-small.png", np.full((64, 64), 255, np.uint8))
    write_png(scans / "b-large.png", np.random.default_rng(0).integers(0, 255, (900, 900), np.uint8))
    write_png(scans / "c-small.png", np.full((64, 64), 200, np.uint8))

    def limited() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (150_000, 150_000))

    command = [sys.executable, "-m", "toolkit", "infer", str(scans), "-o", str(out)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, preexec_fn=limited)
    assert result.returncode == ExitCode.BAD_INPUT
    assert result.stderr.strip().splitlines() == [
        f"error: {out / 'b-large.png'}: not written (a file size limit applies: File too large); "
        "no partial file is left"
    ]
    assert sorted(p.name for p in out.iterdir()) == ["a-small.png", "c-small.png"]  # no temporary file
    assert "2 of 3 images written" in result.stdout


def test_libjpeg_warnings_stay_out_unless_verbose(tmp_path: Path) -> None:
    """A JPEG with a damaged middle still decodes; libjpeg's own "Corrupt JPEG data" line, printed past
    OpenCV to the process's stderr, goes to the log (-v) instead."""
    pixels = np.random.default_rng(1).integers(0, 255, (200, 200, 3), np.uint8)
    data = bytearray(cv2.imencode(".jpg", pixels)[1].tobytes())
    data[len(data) // 2 : len(data) // 2 + 40] = bytes(40)
    scan = tmp_path / "page.jpg"
    scan.write_bytes(bytes(data))
    command = [sys.executable, "-m", "toolkit", "infer", str(scan), "-o", str(tmp_path / "out")]
    quiet = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert quiet.returncode == 0 and quiet.stderr.strip() == ""
    verbose = [*command[:3], "-v", *command[3:-1], str(tmp_path / "out-v")]
    assert (
        f"{scan}: libjpeg: Corrupt JPEG data"
        in subprocess.run(verbose, capture_output=True, text=True).stderr
    )
