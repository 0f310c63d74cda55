"""`toolkit inspect`: what graphs, engines and weights files say about themselves, read back.

Everything here runs on real files: the shipped graph and weights, FP16 and INT8 graphs made by
`toolkit convert`/`calibrate`, weights written by the trainer's own writer, and engine files with
real headers (the plans are stand-in bytes: no TensorRT builder here; "runs here" is checked with
the real TensorRT lean runtime, up to the GPU query).
"""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

import cv2
import numpy as np
import onnx
import pytest
import tensorrt_lean_bindings as trt
from conftest import ORIN, has_gpu, header_for
from onnx import numpy_helper
from PIL import Image
from typer.testing import CliRunner

from toolkit import __version__
from toolkit.cli import app
from toolkit.core.errors import ExitCode
from toolkit.core.fileio import write_png
from toolkit.core.metadata import RUNTIME_MEMORY_NOTE, read_card, write_card
from toolkit.core.provenance import output_record, png_text
from toolkit.core.shipped import ROUTES, SHIPPED_DIR
from toolkit.data.synthetic import write_pairs
from toolkit.engines.header import Platform, sha256_of, write_engine
from toolkit.models.registry import get_spec
from toolkit.models.weights import write_weights
from toolkit.runtime.infer import collect_inputs, infer_files
from toolkit.runtime.onnxruntime_runner import OnnxRuntimeRunner
from toolkit.runtime.tile_plan import DEFAULT_MEMORY_MB, MEASURED_HEADROOM
from toolkit.runtime.tiling import Tiling

cli = CliRunner()
SHIPPED = SHIPPED_DIR / "unet-light.onnx"


def rows_of(output: str) -> dict[str, list[str]]:
    """The printed rows, label -> texts (labels repeat: output, PROBLEM)."""
    rows: dict[str, list[str]] = {}
    for line in output.splitlines():
        if line.startswith("  "):
            label, _, text = line.strip().partition("  ")
            rows.setdefault(label, []).append(text.strip())
    return rows


@pytest.fixture(scope="module")
def derived(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """FP16, INT8 (TensorRT form) and INT8 (CPU form) graphs of the shipped unet-light, by the CLI."""
    folder = tmp_path_factory.mktemp("derived")
    write_pairs("sketch", 4, 64, seed=1, root=folder / "calib")
    images = str(folder / "calib" / "input")
    paths = {name: folder / f"unet-light-{name}.onnx" for name in ("fp16", "int8", "int8-cpu")}
    commands = {
        "fp16": ["convert", str(SHIPPED), "--images", images],
        "int8": ["calibrate", str(SHIPPED), "--images", images],
        "int8-cpu": ["calibrate", str(SHIPPED), "--images", images, "--target", "cpu"],
    }
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(folder / "cache"))  # calibration ranges stay in the test
        for name, command in commands.items():
            result = cli.invoke(app, [*command, "-o", str(paths[name])])
            assert result.exit_code == 0, result.output
    return paths


def test_a_graph_says_what_it_is_and_which_training_run_made_its_weights(tmp_path: Path) -> None:
    record = json.loads((SHIPPED_DIR / "unet-light.json").read_text())
    result = cli.invoke(app, ["inspect", str(SHIPPED), "--json", str(tmp_path / "inspect.json")])
    assert result.exit_code == ExitCode.OK, result.output
    rows = rows_of(result.output)
    assert rows["model"] == ["unet-light (unet family): sketch in, line probability out"]
    assert rows["precision"] == ["fp32"]
    assert rows["trained by"] == [record["command"]]
    assert rows["training"] == [
        f"synthetic data, seed {record['data_seed']}, commit {record['git_commit'][:7]}, "
        f"best epoch {record['best_epoch']}, "
        f"validation line F1 {record['validation']['val_line_f1']:.3f}"
    ]
    assert rows["graph input"] == ["image float32 [batch, 3, height, width]"]
    assert rows["input"] == [
        "image: RGB NCHW, height and width multiples of 8; pixels x 1/255, then (x - [0.0, 0.0, 0.0]) / "
        "[1.0, 1.0, 1.0]"
    ]
    model = onnx.load(SHIPPED)
    assert rows["operators"][0].startswith(f"{len(model.graph.node)} nodes: Conv 19, Relu 18")
    [facts] = json.loads((tmp_path / "inspect.json").read_text())
    assert facts["kind"] == "onnx" and facts["sha256"] == sha256_of(SHIPPED.read_bytes())
    assert facts["card"]["training_command"] == record["command"]
    assert sum(facts["operators"].values()) == len(model.graph.node)
    assert facts["problems"] == []


def test_derived_graphs_say_how_they_got_their_precision(derived: dict[str, Path]) -> None:
    result = cli.invoke(app, ["inspect", *map(str, derived.values())])
    assert result.exit_code == ExitCode.OK, result.output
    precisions = rows_of(result.output)["precision"]
    fp16 = read_card(derived["fp16"])
    kept = json.loads(fp16.extra["fp32_nodes"])
    assert precisions[0].startswith(f"fp16 ({fp16.extra['fp16_converter']}), FP32 inputs and outputs")
    assert all(node in precisions[0] for node in kept)
    for text, name in zip(precisions[1:], ("int8", "int8-cpu")):
        card = read_card(derived[name])
        excluded = ", ".join(json.loads(card.extra["int8_excluded_nodes"]))
        assert f"max calibration on 4 images ({card.extra['calibration_feed']}" in text
        assert text.endswith(f"kept out of INT8: {excluded}") or f"kept out of INT8: {excluded};" in text
    assert "TensorRT form: symmetric int8" in precisions[1]
    # what was measured on the shipped FP32 file is not carried over to graphs made from it
    assert "memory" in rows_of(cli.invoke(app, ["inspect", str(SHIPPED)]).output)
    assert not any(RUNTIME_MEMORY_NOTE in read_card(path).extra for path in derived.values())
    assert "memory" not in rows_of(result.output)
    assert "ONNX Runtime CPU form" in precisions[2] and "3 transposed convolutions as 1x1" in precisions[2]
    # only the TensorRT form is held to TensorRT's Q/DQ rules
    assert rows_of(result.output)["Q/DQ rules"] == [
        "TensorRT's, kept: symmetric int8, opset >= 13, no quantised Sigmoid or output"
    ]


def test_an_int8_graph_that_breaks_tensorrt_rules_is_a_problem(
    derived: dict[str, Path], tmp_path: Path
) -> None:
    broken = onnx.load(derived["int8"])
    zero_point = next(i for i in broken.graph.initializer if i.name.endswith("zero_point"))
    zero_point.CopyFrom(
        numpy_helper.from_array(np.ones_like(numpy_helper.to_array(zero_point)), zero_point.name)
    )
    onnx.save(broken, tmp_path / "broken-int8.onnx")
    result = cli.invoke(app, ["inspect", str(tmp_path / "broken-int8.onnx"), str(SHIPPED)])
    assert result.exit_code == ExitCode.CHECK_FAILED
    problems = rows_of(result.output)["PROBLEM"]
    assert problems and all(p.startswith("breaks TensorRT's Q/DQ rules: ") for p in problems)
    assert any("zero point int8 not all 0" in p for p in problems)
    assert "FAILED: 1 of 2 file(s) have problems" in result.output
    assert rows_of(result.output)["precision"][1] == "fp32"  # the good file is still inspected


def test_an_engine_says_where_it_was_built_and_whether_it_runs_here(tmp_path: Path) -> None:
    """Version-compatible on this machine's TensorRT (the lean runtime): accepted up to the GPU query."""
    plan, path = b"stand-in plan", tmp_path / "unet-light.engine"
    built_on = Platform(trt.__version__, "NVIDIA H100 80GB HBM3", "9.0")
    header = header_for(plan, built_on, version_compatible=True, built_at="2026-11-21T10:00:00+00:00")
    write_engine(path, plan, header)
    result = cli.invoke(app, ["inspect", str(path), "--json", str(tmp_path / "engine.json")])
    rows = rows_of(result.output)
    assert rows["built for"] == [
        f"TensorRT {trt.__version__} on NVIDIA H100 80GB HBM3 (compute 9.0); version-compatible"
    ]
    assert rows["built"] == [
        "2026-11-21T10:00:00+00:00 by: toolkit build-engine unet-light -o engines/unet-light.engine"
    ]
    assert rows["profile"] == ["min 1x3x32x32, opt 4x3x512x512, max 4x3x512x512 (NCHW)"]
    assert rows["from graph"] == [
        f"{SHIPPED} (sha256 {sha256_of(SHIPPED.read_bytes())[:12]}; the file there now is that graph)"
    ]
    assert rows["trained by"] == [read_card(SHIPPED).training_command]  # the graph's card, kept
    if has_gpu():
        pytest.skip("a GPU is present: 'runs here' compares its compute capability")
    assert result.exit_code == ExitCode.OK, result.output
    assert rows["runs here"][0].startswith(
        f"TensorRT {trt.__version__} (lean runtime) accepts its version; "
        "the GPU is unknown (CUDA cudaGetDeviceCount failed"
    )
    [facts] = json.loads((tmp_path / "engine.json").read_text())
    assert facts["header"]["built_on"]["compute_capability"] == "9.0" and facts["problems"] == []


def test_an_engine_this_machine_cannot_run_or_a_swapped_plan_is_a_problem(tmp_path: Path) -> None:
    plan, path = b"stand-in plan", tmp_path / "orin.engine"
    write_engine(path, plan, header_for(plan, ORIN))
    path.write_bytes(b"another plan")
    result = cli.invoke(app, ["inspect", str(tmp_path / "orin.engine.json")])  # the header names it too
    assert result.exit_code == ExitCode.CHECK_FAILED
    rows = rows_of(result.output)
    assert rows["runs here"] == [f"no, not on TensorRT {trt.__version__} (lean runtime)"]
    assert rows["PROBLEM"] == [
        f"the file is not the plan orin.engine.json describes (sha256 {sha256_of(b'another plan')[:12]}, "
        f"header says {sha256_of(plan)[:12]}); rebuild it: "
        "toolkit build-engine unet-light -o engines/unet-light.engine --overwrite",
        "the lean runtime only runs plans built with --version-compatible; "
        f"this machine has TensorRT {trt.__version__} (lean runtime)",
    ]


def test_weights_say_which_training_run_made_them(tmp_path: Path) -> None:
    model = get_spec("unet-light").build(seed=3)
    record = {
        "model": "unet-light",
        "command": "toolkit train unet-light --epochs 2",
        "data": "data/",
        "data_seed": 5,
        "git_commit": "b" * 40,
        "uncommitted": ["toolkit/train/loss.py", "toolkit/train/trainer.py"],  # not the commit's code
        "best_epoch": 1,
        "validation": {"val_line_f1": 0.8123},
        "start_validation": {"val_line_f1": 0.8071},  # its --init-weights, on the same pages
        "torch_version": "2.13.0+cpu",
    }
    write_weights(model, tmp_path / "trained.safetensors", {"training": json.dumps(record)})
    write_weights(model, tmp_path / "bare.safetensors", {})
    result = cli.invoke(
        app, ["inspect", str(tmp_path / "trained.safetensors"), str(tmp_path / "bare.safetensors")]
    )
    assert result.exit_code == ExitCode.OK, result.output
    rows = rows_of(result.output)
    parameters = sum(p.numel() for p in model.parameters())
    buffers = sum(b.numel() for b in model.buffers())
    assert rows["tensors"][0].endswith(f"{(parameters + buffers) / 1e6:.2f} M values")
    assert rows["trained by"] == [
        "toolkit train unet-light --epochs 2",
        "unknown: its header holds no training record (not from `toolkit train`)",
    ]
    assert rows["training"] == [
        "data/ data, seed 5, commit bbbbbbb + 2 changed files, best epoch 1, validation line F1 0.812 "
        "(from 0.807)"
    ]


def test_unreadable_files_get_one_line_each_and_the_rest_are_inspected(tmp_path: Path) -> None:
    (tmp_path / "corrupt.onnx").write_bytes(b"\x08\x01garbage")
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "lonely.engine").write_bytes(b"plan without header")
    files = ["missing.onnx", "corrupt.onnx", "notes.txt", "lonely.engine"]
    result = cli.invoke(app, ["inspect", *(str(tmp_path / f) for f in files), str(SHIPPED)])
    assert result.exit_code == ExitCode.BAD_INPUT
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert errors == [
        f"error: {tmp_path / 'missing.onnx'}: ONNX file not found",
        f"error: {tmp_path / 'corrupt.onnx'}: not a readable ONNX model (DecodeError)",
        f"error: {tmp_path / 'notes.txt'}: not a file inspect reads "
        "(.onnx, .engine or .plan, .safetensors, .png, .svg)",
        f"error: {tmp_path / 'lonely.engine'}: has no header lonely.engine.json beside it, so its TensorRT "
        "version, GPU and model are unknown; build engines with `toolkit build-engine` (it writes both)",
    ]
    assert rows_of(result.output)["precision"] == ["fp32"]


def test_tile_overrides_the_default_memory_plan(tmp_path: Path, image_folder: Path) -> None:
    args = ["infer", str(image_folder / "a-sketch.png"), "-o", str(tmp_path), "--precision", "fp32"]
    result = cli.invoke(app, [*args, "--tile", "64", "--overlap", "8"])
    assert result.exit_code == ExitCode.OK, result.output
    record = output_record(tmp_path / "a-sketch.png")
    assert (record["tile"], record["memory_mb"], record["max_tile_pixels"]) == (64, None, None)


def test_every_picture_infer_writes_says_what_made_it(tmp_path: Path, image_folder: Path) -> None:
    args = ["infer", str(image_folder), "-o", str(tmp_path / "lines"), "--precision", "fp32"]
    result = cli.invoke(app, args)
    assert result.exit_code == ExitCode.OK, result.output
    picture = tmp_path / "lines" / "a-sketch.png"
    Image.open(picture).verify()  # chunks and CRCs as the PNG standard has them
    # unet-light's FP32 graph plans what its card says ONNX Runtime held per pixel, with headroom: the
    # default budget, less its weights, over that (1.7 MP whole at 1024 MB)
    held = json.loads(read_card(SHIPPED).extra[RUNTIME_MEMORY_NOTE])["bytes_per_pixel"]
    most = DEFAULT_MEMORY_MB * 2**20 / (MEASURED_HEADROOM * held)
    assert 0.97 * most < output_record(picture)["max_tile_pixels"] < most
    assert Image.open(picture).info["Software"] == f"line-art-toolkit {__version__}"
    record = output_record(picture)
    card = read_card(SHIPPED)
    assert record == {
        "software": f"line-art-toolkit {__version__}",
        "model": "unet-light",
        "precision": "fp32",
        "flips": 1,
        "weights_file": "shipped:unet-light.safetensors",
        "weights_sha256": card.weights_sha256,
        "training_command": card.training_command,
        "backend": "onnxruntime",
        "format": "gray",
        "scale": 1.0,
        "tile": None,  # by default a plan from a memory budget, not fixed tiles
        "memory_mb": DEFAULT_MEMORY_MB,
        "max_tile_pixels": record["max_tile_pixels"],
        "overlap": 64,
        "threshold": 0.5,
        "source": str(image_folder / "a-sketch.png"),
        "width": 93,
        "height": 71,
        "output": "lines",
        # its route (tests/test_routing.py): this page's pencil stands out of the paper, so it stays
        "drawn_by": "unet-light",
        "pencil_snr": record["pencil_snr"],
        "pencil_contrast": record["pencil_contrast"],  # the road's gate's reading (routing.PencilContrast)
        "route": [
            {
                "reading": "pencil_snr",
                "expert": "unet-light-faint",
                "low": 0.0,
                "high": ROUTES["unet-light"].roads[0].high,
                "gate": ROUTES["unet-light"].roads[0].gate.record(),
                "precision": "fp32",
                "weights_sha256": read_card(SHIPPED_DIR / "unet-light-faint.onnx").weights_sha256,
            }
        ],
    }
    assert not ROUTES["unet-light"].roads[0].takes(record["pencil_snr"], record["pencil_contrast"])
    inspected = cli.invoke(app, ["inspect", str(picture), str(image_folder / "a-sketch.png")])
    assert inspected.exit_code == ExitCode.OK, inspected.output
    rows = rows_of(inspected.output)
    assert rows["source"] == [f"{image_folder / 'a-sketch.png'} (93x71)"]
    assert rows["settings"] == [
        f"format gray, scale 1.0, memory {DEFAULT_MEMORY_MB} MB "
        f"(tiles of at most {record['max_tile_pixels']} pixels), overlap 64, threshold 0.5"
    ]
    assert rows["made by"][1] == "unknown: it carries no record of `toolkit infer`"  # the user's own PNG


def test_feature_pictures_and_svgs_say_what_they_show(
    tmp_path: Path, image_folder: Path, exported: dict[str, Path]
) -> None:
    features = str(exported["contour-features"])
    cli.invoke(app, ["infer", str(image_folder), "--model", features, "-o", str(tmp_path / "maps")])
    assert output_record(tmp_path / "maps" / "b-painting-conv1-c21.png")["output"] == "conv1 channel 21"
    assert output_record(tmp_path / "maps" / "b-painting-layer1-c63.png")["output"] == "layer1 channel 63"
    result = cli.invoke(app, ["infer", str(image_folder), "--format", "svg", "-o", str(tmp_path / "svg")])
    assert result.exit_code == ExitCode.OK, result.output
    svg = tmp_path / "svg" / "a-sketch.svg"
    root = ElementTree.parse(svg).getroot()  # still well-formed XML
    assert root.find("{http://www.w3.org/2000/svg}metadata") is not None
    record = output_record(svg)
    assert record["format"] == "svg" and record["source"] == str(image_folder / "a-sketch.png")


def test_no_record_writes_pictures_without_one(tmp_path: Path, image_folder: Path) -> None:
    """For pictures to publish: no source path, no settings, in PNGs and SVGs alike."""
    for output_format in ("gray", "svg"):
        out = tmp_path / output_format
        args = ["infer", str(image_folder), "--format", output_format, "--no-record", "-o", str(out)]
        assert cli.invoke(app, args).exit_code == ExitCode.OK
        for picture in out.iterdir():
            assert output_record(picture) is None, picture
            assert str(image_folder) not in picture.read_bytes().decode("latin-1")
    assert "Software" not in Image.open(tmp_path / "gray" / "a-sketch.png").info
    inspected = cli.invoke(app, ["inspect", str(tmp_path / "gray" / "a-sketch.png")])
    assert rows_of(inspected.output)["made by"] == ["unknown: it carries no record of `toolkit infer`"]


def test_png_text_round_trips_any_file_name(tmp_path: Path) -> None:
    """iTXt is UTF-8: a Tibetan file name survives; a file that is not a PNG is refused in one line."""
    name = "thang-ka-ཐང་ཀ.png"
    write_png(tmp_path / "x.png", np.full((5, 7), 255, np.uint8), text={"Source": name})
    assert png_text(tmp_path / "x.png") == {"Source": name}
    assert (cv2.imread(str(tmp_path / "x.png"), cv2.IMREAD_UNCHANGED) == 255).all()
    (tmp_path / "fake.png").write_bytes(b"GIF89a")
    result = cli.invoke(app, ["inspect", str(tmp_path / "fake.png")])
    assert result.exit_code == ExitCode.BAD_INPUT
    assert result.output.strip() == f"error: {tmp_path / 'fake.png'}: not a PNG file"


def test_a_picture_records_the_tiles_that_ran(tmp_path: Path, image_folder: Path) -> None:
    """A backend with a largest input (an engine's profile) runs smaller tiles: the record says so."""
    with OnnxRuntimeRunner(SHIPPED) as runner:
        runner.max_input = (2, 256, 320)  # as a TensorRT engine's profile would
        run = infer_files(runner, collect_inputs([image_folder]), tmp_path, tiling=Tiling(512, 64, 4))
    assert [r.status for r in run.results] == ["ok", "ok"]
    record = output_record(tmp_path / "a-sketch.png")
    assert (record["tile"], record["overlap"]) == (256, 64)


@pytest.fixture()
def misdescribed(exported: dict[str, Path], tmp_path: Path) -> dict[str, Path]:
    """Graphs whose metadata was copied from another graph: other channels, and another input name."""
    channels = onnx.load(exported["contour-gray"])  # takes 1 channel
    write_card(channels, read_card(exported["contour"]))  # says 3
    renamed = onnx.load(exported["contour"])
    old = renamed.graph.input[0].name
    renamed.graph.input[0].name = "x"
    for node in renamed.graph.node:
        node.input[:] = ["x" if name == old else name for name in node.input]
    paths = {"channels": tmp_path / "channels.onnx", "renamed": tmp_path / "renamed.onnx"}
    onnx.save(channels, paths["channels"])
    onnx.save(renamed, paths["renamed"])
    return paths


def test_a_card_that_disagrees_with_its_graph_is_one_line_everywhere(
    misdescribed: dict[str, Path], image_folder: Path, tmp_path: Path
) -> None:
    expected = {
        "channels": "its card says 3 input channel(s), the graph takes 1",
        "renamed": "its card names input 'image', the graph takes x",
    }
    for key, path in misdescribed.items():
        message = f"{path}: {expected[key]} (was its metadata copied from another graph?)"
        for args in (
            ["infer", str(image_folder), "-o", str(tmp_path / key), "--model", str(path)],
            ["verify", str(path)],
            ["calibrate", str(path), "--images", str(image_folder), "-o", str(tmp_path / f"{key}-q.onnx")],
            [
                "convert",
                str(path),
                "--to",
                "fp16",
                "--images",
                str(image_folder),
                "-o",
                str(tmp_path / "h.onnx"),
            ],
        ):
            result = cli.invoke(app, args)
            assert result.exit_code == ExitCode.BAD_INPUT, (args, result.output)
            assert message in result.output and "Traceback" not in result.output, result.output
        inspected = cli.invoke(app, ["inspect", str(path)])
        assert inspected.exit_code == ExitCode.CHECK_FAILED and expected[key] in inspected.output
