"""Every command that takes a model accepts the same forms, and says the same thing, with the same exit
code, for a form it cannot run (toolkit.core.model_ref decides what a model string is, once)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import has_gpu, header_for
from typer.testing import CliRunner

from toolkit.cli import app
from toolkit.core.errors import ExitCode
from toolkit.core.shipped import SHIPPED_DIR
from toolkit.data.synthetic import write_pairs
from toolkit.engines.header import Platform, write_engine
from toolkit.engines.trt import import_runtime

cli = CliRunner()


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("forms")
    write_pairs("sketch", 1, 64, seed=9, root=root)
    return root


# Each command as it takes a line model: (arguments for MODEL, scratch folder).
COMMANDS: dict[str, Callable[[str, Path, Path], list[str]]] = {
    "infer": lambda model, data, tmp: [
        "infer",
        str(data / "input"),
        "--model",
        model,
        "-o",
        str(tmp / "out"),
    ],
    "bench": lambda model, data, tmp: ["bench", str(data / "input"), "--model", model],
    "verify": lambda model, data, tmp: ["verify", model, "--images", str(data / "input")],
    "evaluate": lambda model, data, tmp: ["evaluate", str(data), "--model", model, "--no-baselines"],
    "sweep": lambda model, data, tmp: [
        *("sweep", "--model", model, "-o", str(tmp / "sweep.png")),
        *("--points", "2", "--images", "1", "--size", "64", "--factor", "pencil_contrast"),
    ],
    "features": lambda model, data, tmp: [
        *("features", str(data / "input"), "--lines", model, "-o", str(tmp / "maps"), "--top", "1"),
    ],
    "inspect": lambda model, data, tmp: ["inspect", model],
}


def refusals(tmp: Path) -> dict[str, tuple[str, ExitCode, str]]:
    """Forms no command here can run: (model, exit code, the one line every command prints)."""
    engine = tmp / "built-elsewhere.engine"
    engine.write_bytes(b"a plan without its header")
    weights = tmp / "weights.safetensors"
    weights.write_bytes(b"")
    return {
        "engine here, no GPU": (
            str(compatible_engine(tmp)),
            ExitCode.MISSING_DEPENDENCY,
            "CUDA cudaGetDeviceCount failed",
        ),
        "unknown name": (
            "nope",
            ExitCode.USAGE,
            "error: no shipped model 'nope' "
            "(shipped: contour, contour-coarse, contour-thin, unet-light, unet-light-faint)",
        ),
        "missing graph": (
            str(tmp / "gone.onnx"),
            ExitCode.BAD_INPUT,
            f"error: {tmp / 'gone.onnx'}: ONNX file not found",
        ),
        "engine without header": (str(engine), ExitCode.BAD_INPUT, f"error: {engine}: has no header"),
        "weights": (
            str(weights),
            ExitCode.USAGE,
            f"error: {weights}: a weights file (.safetensors, .pth, .pt, .ckpt), but this command takes",
        ),
    }


RUNNERS = [name for name in COMMANDS if name != "inspect"]


def compatible_engine(tmp: Path) -> Path:
    """An engine whose header this machine's TensorRT (the lean runtime bindings) accepts: what stops it
    is the want of a GPU, the one refusal `toolkit bench --model X.engine` may give here."""
    trt, _ = import_runtime()
    path, plan = tmp / "unet-light.engine", b"plan"
    built_on = Platform(trt.__version__, "NVIDIA H100 80GB HBM3", "9.0")
    write_engine(path, plan, header_for(plan, built_on, version_compatible=True))
    return path


@pytest.mark.parametrize(
    "form", ["unknown name", "missing graph", "engine without header", "weights", "engine here, no GPU"]
)
def test_every_command_refuses_a_form_it_cannot_run_in_the_same_words(
    form: str, pages: Path, tmp_path: Path
) -> None:
    if form == "engine here, no GPU" and has_gpu():
        pytest.skip("a GPU is present: the fake plan would reach TensorRT's deserialiser")
    model, code, line = refusals(tmp_path)[form]
    readers_too = form not in ("weights", "engine here, no GPU")  # inspect reads those, it runs nothing
    for name in [*RUNNERS, "inspect"] if readers_too else RUNNERS:
        result = cli.invoke(app, COMMANDS[name](model, pages, tmp_path))
        assert (result.exit_code, result.output.count("error: ")) == (code, 1), (name, result.output)
        assert line in result.output, (name, result.output)
        assert "Traceback" not in result.output


@pytest.mark.parametrize("form", ["shipped name", "graph file"])
def test_every_command_runs_a_shipped_name_and_its_graph_file(form: str, pages: Path, tmp_path: Path) -> None:
    graph = tmp_path / "copy of unet-light.onnx"
    shutil.copy(SHIPPED_DIR / "unet-light.onnx", graph)
    model = "unet-light" if form == "shipped name" else str(graph)
    for name, arguments in COMMANDS.items():
        result = cli.invoke(app, arguments(model, pages, tmp_path / name))
        # the sweep's own verdict (exit 1 below line F1 0.85) is about the model, not the form
        assert result.exit_code in ((0, 1) if name == "sweep" else (0,)), (name, result.output)
        assert "error:" not in result.output, (name, result.output)
