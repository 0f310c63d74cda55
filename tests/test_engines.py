"""TensorRT engines: the file format, compatibility rules, the CLI, and the TensorRT API we call.

What runs here, on a machine without a GPU: the engine header and its checks, `toolkit build-engine`
up to importing TensorRT's builder, the TensorRT backend up to the CUDA device query (the version
check uses the real TensorRT lean runtime), and the CUDA error without a GPU.
NOT EXECUTED HERE (no GPU, no TensorRT builder): building a plan, deserialising it, inference. What
stands in for that is `test_every_tensorrt_call_exists_in_the_real_runtime_bindings`: every TensorRT
attribute the runner uses is looked up in the real lean runtime bindings (TensorRT 11).
"""

from __future__ import annotations

import ast
import dataclasses
import json
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import tensorrt_lean_bindings as trt  # the dev extra's TensorRT 11 lean runtime: imports without a GPU
from conftest import ORIN, has_gpu, header_for
from typer.testing import CliRunner

import toolkit.engines.build
import toolkit.engines.cuda
import toolkit.runtime.tensorrt_runner
from toolkit.analysis.verify import verify_runner
from toolkit.cli import app
from toolkit.core.errors import ExitCode, InputError
from toolkit.core.model_ref import resolve_model
from toolkit.core.shipped import SHIPPED_DIR
from toolkit.data.samples import sketch
from toolkit.engines.build import progress_monitor
from toolkit.engines.cuda import CudaError, device_properties
from toolkit.engines.header import (
    EngineMismatchError,
    Platform,
    check_compatible,
    compatibility_problems,
    read_engine,
    sidecar_path,
    write_engine,
)
from toolkit.runtime.backends import make_runner, pick_auto
from toolkit.runtime.onnxruntime_runner import OnnxRuntimeRunner
from toolkit.runtime.tiling import Tiling, fitted, predict_tiled

cli = CliRunner()
SHIPPED = SHIPPED_DIR / "unet-light.onnx"
H100 = Platform("10.3.0.30", "NVIDIA H100 80GB HBM3", "9.0")


def test_engine_and_header_are_written_together_and_read_back(tmp_path: Path) -> None:
    plan, path = b"plan bytes" * 100, tmp_path / "engines" / "unet-light.engine"
    write_engine(path, plan, header_for(plan))
    assert sidecar_path(path).name == "unet-light.engine.json"
    header, read = read_engine(path)
    assert read == plan and header == header_for(plan)
    assert header.model_card.model == "unet-light" and header.model_card.stride == 8
    assert json.loads(sidecar_path(path).read_text())["built_on"]["tensorrt_version"] == "10.3.0.30"
    with pytest.raises(InputError, match="already exists"):
        write_engine(path, plan, header_for(plan))
    assert sorted(p.name for p in path.parent.iterdir()) == ["unet-light.engine", "unet-light.engine.json"]


def test_a_plan_that_is_not_the_one_its_header_describes_is_refused(tmp_path: Path) -> None:
    plan, path = b"plan bytes", tmp_path / "unet-light.engine"
    write_engine(path, plan, header_for(plan))
    path.write_bytes(b"another plan")
    with pytest.raises(
        EngineMismatchError, match=r"is not the plan unet-light\.engine\.json describes"
    ) as error:
        read_engine(path)
    assert "toolkit build-engine unet-light -o engines/unet-light.engine --overwrite" in str(error.value)
    sidecar_path(path).unlink()
    with pytest.raises(InputError, match=r"has no header unet-light\.engine\.json beside it"):
        read_engine(path)
    sidecar_path(path).write_text('{"format": "something else"}')
    with pytest.raises(InputError, match="not a toolkit engine header"):
        read_engine(path)


@pytest.mark.parametrize(
    ("changes", "here", "problem"),
    [
        ({}, ORIN, ""),
        ({}, dataclasses.replace(ORIN, tensorrt_version="10.3.0.26"), ""),  # the build number is not checked
        ({}, dataclasses.replace(ORIN, tensorrt_version="10.4.0.26"), "only on the TensorRT version"),
        ({}, dataclasses.replace(ORIN, lean_runtime=True), "lean runtime only runs plans built with"),
        ({"version_compatible": True}, dataclasses.replace(ORIN, tensorrt_version="11.4.0.106"), ""),
        ({"version_compatible": True}, dataclasses.replace(ORIN, lean_runtime=True), ""),
        ({"version_compatible": True}, dataclasses.replace(ORIN, tensorrt_version="8.6.1"), "or a later one"),
        ({}, H100, "compute capability it was built for"),
        ({"hardware_compatibility": "ampere+"}, H100, ""),
        ({"hardware_compatibility": "ampere+"}, Platform("10.3.0.30", "Tesla T4", "7.5"), "8.0 or higher"),
        ({}, Platform("10.3.0.30", "", ""), ""),  # the version alone, before the GPU is queried
    ],
)
def test_compatibility_follows_tensorrt_rules(changes: dict, here: Platform, problem: str) -> None:
    problems = compatibility_problems(header_for(b"plan", **changes), here)
    assert (problems == []) if not problem else (len(problems) == 1 and problem in problems[0])


def test_a_mismatch_names_both_sides_and_the_rebuild_command(tmp_path: Path) -> None:
    with pytest.raises(EngineMismatchError) as error:
        check_compatible(tmp_path / "unet-light.engine", header_for(b"plan"), H100)
    message = str(error.value)
    assert "built for TensorRT 10.3.0.30 on Orin (compute 8.7)" in message
    assert "this machine has TensorRT 10.3.0.30 on NVIDIA H100 80GB HBM3 (compute 9.0)" in message
    assert message.endswith(
        "rebuild it here: toolkit build-engine unet-light -o engines/unet-light.engine --overwrite"
    )
    assert "\n" not in message


@pytest.mark.parametrize("command", ["infer", "verify"])
def test_an_engine_from_another_tensorrt_is_refused_before_touching_the_gpu(
    command: str, tmp_path: Path, image_folder: Path
) -> None:
    """The version check runs against the real TensorRT runtime installed here (the lean bindings)."""
    plan, path = b"plan from a Jetson", tmp_path / "unet-light.engine"
    write_engine(path, plan, header_for(plan))
    out = tmp_path / "lines"
    args = ["--model", str(path), "-o", str(out)] if command == "infer" else [str(path)]
    result = cli.invoke(app, [command, *([str(image_folder)] if command == "infer" else []), *args])
    assert result.exit_code == ExitCode.BAD_INPUT
    assert (
        f"built for TensorRT 10.3.0.30 on Orin (compute 8.7), this machine has TensorRT {trt.__version__} "
        in (result.output)
    )
    assert "the lean runtime only runs plans built with --version-compatible" in result.output
    assert not out.exists()


def test_verify_crops_its_images_to_the_largest_input_an_engine_takes() -> None:
    """An engine's profile bounds the images `toolkit verify` can feed it (default 512x512); the
    cases are cropped to it, and the crop is named in the report."""
    with OnnxRuntimeRunner(SHIPPED) as limited:
        limited.max_input = (4, 256, 320)
        report = verify_runner(limited, SHIPPED, backend="onnxruntime")
    assert report.passed and report.backend == "onnxruntime" and report.precision == "fp32"
    shapes = {row.image: row.shape for row in report.rows}
    assert shapes["sketch-424x424 cropped to 320x256"] == [1, 256, 320]
    assert shapes["sketch-517x389 cropped to 320x256"] == [1, 256, 320]
    assert shapes["sketch-45x31"] == [1, 31, 45]  # small enough as it is
    assert shapes["batch-2x424x424 cropped to 320x256[1]"] == [1, 256, 320]


def test_a_compatible_engine_reaches_the_gpu_query(tmp_path: Path, image_folder: Path) -> None:
    """A version-compatible engine passes the lean runtime's version check; then CUDA is asked for the GPU."""
    plan, path = b"plan", tmp_path / "unet-light.engine"
    built_on = Platform(trt.__version__, "NVIDIA H100 80GB HBM3", "9.0")
    write_engine(path, plan, header_for(plan, built_on, version_compatible=True))
    result = cli.invoke(
        app, ["infer", str(image_folder), "--model", str(path), "-o", str(tmp_path / "lines")]
    )
    if has_gpu():
        pytest.skip("a GPU is present: the fake plan would reach TensorRT's deserialiser")
    assert result.exit_code == ExitCode.MISSING_DEPENDENCY
    assert f"error: {path}: CUDA cudaGetDeviceCount failed: cudaError" in result.output


def test_cuda_reports_the_failed_call_or_the_gpu() -> None:
    if has_gpu():
        name, capability = device_properties()
        assert name and capability.count(".") == 1
    else:
        with pytest.raises(CudaError, match=r"^CUDA cudaGetDeviceCount failed: cudaError\w+$"):
            device_properties()


def test_backends_pair_engines_with_tensorrt_and_graphs_with_the_rest(tmp_path: Path) -> None:
    (tmp_path / "x.engine").write_bytes(b"not built here")
    assert pick_auto(resolve_model(tmp_path / "x.engine")) == "tensorrt"
    with pytest.raises(InputError, match="build one with `toolkit build-engine"):
        make_runner(SHIPPED, "tensorrt")
    with pytest.raises(InputError, match="--backend tensorrt runs engines"):
        make_runner(tmp_path / "x.engine", "onnxruntime")
    runner, chosen = make_runner(tmp_path / "x.engine", "auto")
    assert chosen == "tensorrt" and runner.name == "tensorrt"


def test_tiles_shrink_to_the_largest_input_an_engine_takes() -> None:
    """`max_input` is how an engine's profile reaches the tiler; any runner may declare it."""
    image = sketch(150, 210, seed=3)
    with OnnxRuntimeRunner(SHIPPED) as limited:
        limited.max_input = (2, 64, 96)
        assert fitted(Tiling(512, 64, 4), limited) == Tiling(64, 16, 2)
        assert fitted(Tiling(48, 8, 1), limited) == Tiling(48, 8, 1)
        tiled = predict_tiled(limited, image, Tiling(512, 64, 4))
        limited.max_input = None
        expected = predict_tiled(limited, image, Tiling(64, 16, 2))
    np.testing.assert_array_equal(tiled, expected)


@pytest.mark.parametrize(
    ("args", "message", "code"),
    [
        (["--fp16", "--int8"], "--fp16 and --int8 name two precisions", ExitCode.USAGE),
        (["--int8"], "is an fp32 graph, not int8; the graph carries the precision", ExitCode.BAD_INPUT),
        (["--max-shape", "4x500x512"], "--max-shape 4x500x512: height and width must be positive", 3),
        (["--min-shape", "8x64x64"], "shapes must grow from --min-shape to --opt-shape", 3),
        (["--opt-shape", "4x512"], "shape '4x512': expected BATCHxHEIGHTxWIDTH", ExitCode.BAD_INPUT),
        (["--hardware-compatibility", "any"], "--hardware-compatibility must be one of none, ampere+", 3),
        (["--dla-core", "0"], "DLA runs FP16 or INT8 only", ExitCode.BAD_INPUT),
        ([], "toolkit build-engine needs the 'tensorrt' package: install TensorRT from NVIDIA", 4),
    ],
)
def test_build_engine_refuses_impossible_requests_before_tensorrt(
    tmp_path: Path, args: list[str], message: str, code: int
) -> None:
    result = cli.invoke(app, ["build-engine", "unet-light", "-o", str(tmp_path / "x.engine"), *args])
    assert result.exit_code == code and message in result.output, result.output
    assert not list(tmp_path.iterdir())


def test_build_engine_never_overwrites_silently(tmp_path: Path) -> None:
    (tmp_path / "x.engine.json").write_text("{}")
    result = cli.invoke(app, ["build-engine", "unet-light", "-o", str(tmp_path / "x.engine")])
    assert result.exit_code == ExitCode.BAD_INPUT and "x.engine.json: already exists" in result.output


# --- the TensorRT API surface -------------------------------------------------------------------------

# What each name holds in the code scanned: a TensorRT class, or the module itself.
TENSORRT_NAMES = {
    "trt": lambda: trt,
    "runtime": lambda: trt.Runtime,
    "engine": lambda: trt.ICudaEngine,
    "context": lambda: trt.IExecutionContext,
}
# TensorRT attributes build.py uses that the lean runtime lacks: the builder, and the weak-typing
# flags TensorRT 11 removed (used only when building with TensorRT 8.x, see pin_graph_precision).
BUILDER_ONLY = {
    "trt.Builder",
    "trt.OnnxParser",
    "trt.NetworkDefinitionCreationFlag",
    "trt.BuilderFlag.FP16",
    "trt.BuilderFlag.INT8",
    "trt.BuilderFlag.OBEY_PRECISION_CONSTRAINTS",
}


def tensorrt_chains(module: ModuleType) -> set[str]:
    """Attribute chains in `module`'s source rooted at a TENSORRT_NAMES name, e.g. trt.Logger.WARNING."""
    chains = set()
    for node in ast.walk(ast.parse(Path(module.__file__).read_text())):
        if isinstance(node, ast.Attribute):
            parts, value = [node.attr], node.value
            while isinstance(value, ast.Attribute):
                parts.append(value.attr)
                value = value.value
            if isinstance(value, ast.Name) and value.id in TENSORRT_NAMES:
                chains.add(".".join([value.id, *reversed(parts)]))
    # keep the longest chains only: trt.Logger.WARNING covers trt.Logger
    return {c for c in chains if not any(o.startswith(c + ".") for o in chains)}


def resolves(chain: str) -> bool:
    root, *attributes = chain.split(".")
    value = TENSORRT_NAMES[root]()
    for attribute in attributes:
        if not hasattr(value, attribute):
            return False
        value = getattr(value, attribute)
    return True


def test_every_tensorrt_call_exists_in_the_real_runtime_bindings() -> None:
    chains = tensorrt_chains(toolkit.runtime.tensorrt_runner)
    for needed in ("runtime.deserialize_cuda_engine", "context.execute_async_v3", "context.set_input_shape"):
        assert needed in chains  # the scan sees the calls that matter
    assert [c for c in sorted(chains) if not resolves(c)] == []


def test_the_builder_uses_only_runtime_names_or_documented_builder_ones() -> None:
    chains = {c for c in tensorrt_chains(toolkit.engines.build) if c.startswith("trt.")}
    assert "trt.BuilderFlag.VERSION_COMPATIBLE" in chains and "trt.HardwareCompatibilityLevel" in chains
    assert {c for c in chains if not resolves(c)} == BUILDER_ONLY


def test_the_build_progress_monitor_is_a_real_tensorrt_progress_monitor() -> None:
    reports: list[tuple[str, int, int]] = []
    monitor = progress_monitor(trt, lambda *report: reports.append(report))
    assert isinstance(monitor, trt.IProgressMonitor)
    monitor.phase_start("Building engine", None, 3)
    assert monitor.step_complete("Building engine", 0) is True
    monitor.phase_finish("Building engine")
    assert reports == [("Building engine", 0, 3), ("Building engine", 1, 3), ("Building engine", 3, 3)]


def test_cuda_calls_exist_in_cuda_python() -> None:
    """Every `runtime.cudaX` / `cudart().cudaX` in toolkit/engines/cuda.py exists in cuda-python."""
    cudart = toolkit.engines.cuda.cudart()
    source = Path(toolkit.engines.cuda.__file__).read_text()
    calls = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr.startswith("cuda"):
            parent = node.value
            if (isinstance(parent, ast.Name) and parent.id == "runtime") or (
                isinstance(parent, ast.Call) and getattr(parent.func, "id", "") == "cudart"
            ):
                calls.add(node.attr)
    assert {"cudaMalloc", "cudaMemcpyAsync", "cudaStreamSynchronize", "cudaGetDeviceProperties"} <= calls
    assert sorted(c for c in calls if not hasattr(cudart, c)) == []
    assert hasattr(cudart.cudaMemcpyKind, "cudaMemcpyHostToDevice")
    assert hasattr(cudart.cudaMemcpyKind, "cudaMemcpyDeviceToHost")
