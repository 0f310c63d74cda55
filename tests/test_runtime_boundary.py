"""The runtime and the CLI's inference path import and run without torch (docs/ARCHITECTURE.md,
decision 2)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from typer.testing import CliRunner

from toolkit.cli import app
from toolkit.core.errors import ExitCode
from toolkit.core.shipped import SHIPPED_DIR
from toolkit.data.synthetic import write_pairs

# Makes `import torch` fail in the child process, as on a Jetson with only the runtime installed.
BLOCK_TORCH = textwrap.dedent(
    """
    import sys

    class BlockTorch:
        def find_spec(self, name, path=None, target=None):
            if name == "torch" or name.startswith("torch."):
                raise ModuleNotFoundError(f"No module named '{name}' (blocked)", name=name)
            return None

    sys.meta_path.insert(0, BlockTorch())
    """
)


def run_without_torch(code: str) -> subprocess.CompletedProcess:
    script = BLOCK_TORCH + textwrap.dedent(code)
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)


def test_runtime_runs_an_exported_model_without_torch(exported: dict[str, Path]) -> None:
    result = run_without_torch(
        f"""
        import numpy as np
        from pathlib import Path
        import toolkit.runtime
        from toolkit.data.samples import sketch
        from toolkit.runtime import predict
        from toolkit.runtime.onnxruntime_runner import OnnxRuntimeRunner
        try:
            import torch
        except ModuleNotFoundError:
            pass
        else:
            raise SystemExit("torch was importable: the block did not work")
        from toolkit.runtime.infer import infer_files
        from toolkit.runtime.tiling import Tiling, predict_tiled
        with OnnxRuntimeRunner(Path({str(exported["unet-light"])!r})) as runner:
            lines = predict(runner, [sketch(389, 517, seed=0)])["lines"]
            tiled = predict_tiled(runner, sketch(389, 517, seed=0), Tiling(tile=128, overlap=32))
        assert lines.shape == (1, 1, 389, 517), lines.shape
        assert tiled.shape == (389, 517), tiled.shape
        assert "torch" not in sys.modules
        print("ran", lines.shape)
        """
    )
    assert result.returncode == 0, result.stderr
    assert "ran (1, 1, 389, 517)" in result.stdout


def test_infer_runs_the_shipped_models_by_name_without_torch(tmp_path: Path) -> None:
    """The README's first command (`toolkit infer examples/sketches`, the shipped model by name) and the
    Python API on a machine with only the runtime: a shipped name is found without the model registry."""
    examples = Path(__file__).resolve().parent.parent / "examples"
    runs = [("sketches", "unet-light", 3), ("paintings", "contour", 3)]
    result = run_without_torch(
        f"""
        from toolkit.cli import app
        for folder, model, count in {runs!r}:
            try:
                app(["infer", f"{examples}/{{folder}}", "--model", model, "-o", f"{tmp_path}/{{model}}"])
            except SystemExit as exit:
                print(model, "exit", exit.code, "torch" in sys.modules)
        import numpy as np
        import toolkit
        with toolkit.LineModel("contour") as model:  # the Python API too
            print("api", model.lines(np.full((40, 50, 3), 200, np.uint8)).shape, "torch" in sys.modules)
        """
    )
    assert "api (40, 50) False" in result.stdout, result.stdout + result.stderr
    assert "unet-light exit 0 False" in result.stdout, result.stdout + result.stderr
    assert "contour exit 0 False" in result.stdout, result.stdout + result.stderr
    # the 320 px example is fine detail: `contour`'s route sends it on, without torch too
    assert "2 by contour, 1 by contour-thin" in " ".join(result.stdout.split()), result.stdout
    for _, model, count in runs:
        assert len(list((tmp_path / model).glob("*.png"))) == count


def test_cli_help_without_torch_and_a_clear_error_for_torch_commands() -> None:
    result = run_without_torch(
        """
        from toolkit.cli import app
        try:
            app(["--help"])
        except SystemExit as exit:
            assert exit.code == 0, exit.code
        try:
            app(["export", "unet-light", "-o", "/nonexistent/x.onnx"])
        except SystemExit as exit:
            print("exit", exit.code)
        """
    )
    assert "export" in result.stdout and "verify" in result.stdout
    assert "exit 4" in result.stdout
    assert (
        "error: toolkit export needs the 'torch' package: pip install 'line-art-toolkit[train]'"
        in result.stderr
    )


def test_help_lists_commands_with_examples() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("models", "export", "verify"):
        assert command in result.output
    assert "toolkit export unet-light" in result.output
    verify_help = CliRunner().invoke(app, ["verify", "--help"]).output
    assert "toolkit verify export/unet.onnx" in verify_help


def test_models_lists_the_registry() -> None:
    result = CliRunner().invoke(app, ["models"])
    assert result.exit_code == ExitCode.OK
    assert "8.27 M" in result.output and "unet-light" in result.output and "contour" in result.output


def test_the_tensorrt_backend_and_builder_import_without_torch() -> None:
    """A Jetson with TensorRT and the runtime core runs and builds engines without torch."""
    result = run_without_torch(
        """
        import toolkit.engines.build, toolkit.engines.header, toolkit.runtime.tensorrt_runner
        assert "torch" not in sys.modules
        print("ok")
        """
    )
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr


def test_build_engine_reads_its_graph_without_torch() -> None:
    """Without torch, build-engine gets as far as TensorRT's builder (absent here), not a torch error."""
    result = run_without_torch(
        f"""
        from toolkit.cli import app
        try:
            app(["build-engine", {str(SHIPPED_DIR / "unet-light.onnx")!r}, "-o", "/nonexistent/x.engine"])
        except SystemExit as exit:
            print("exit", exit.code, "torch" in sys.modules)
        """
    )
    assert "exit 4 False" in result.stdout, result.stdout + result.stderr
    assert "toolkit build-engine needs the 'tensorrt' package" in result.stderr


def test_inspect_reads_graphs_and_weights_without_torch() -> None:
    files = [str(SHIPPED_DIR / "unet-light.onnx"), str(SHIPPED_DIR / "contour.safetensors")]
    result = run_without_torch(
        f"""
        from toolkit.cli import app
        try:
            app(["inspect", *{files!r}])
        except SystemExit as exit:
            print("exit", exit.code, "torch" in sys.modules)
        """
    )
    assert "exit 0 False" in result.stdout, result.stdout + result.stderr
    assert "trained by    toolkit train unet-light" in result.stdout
    assert "trained by  toolkit train contour" in result.stdout


def test_verify_against_a_reference_graph_without_torch(tmp_path: Path) -> None:
    """On a Jetson (no torch) a graph or engine is checked against the FP32 graph on ONNX Runtime."""
    write_pairs("sketch", 4, 64, seed=1, root=tmp_path / "calib")
    fp16 = tmp_path / "unet-light-fp16.onnx"
    shipped = SHIPPED_DIR / "unet-light.onnx"
    converted = CliRunner().invoke(
        app, ["convert", str(shipped), "--images", str(tmp_path / "calib" / "input"), "-o", str(fp16)]
    )
    assert converted.exit_code == 0, converted.output
    result = run_without_torch(
        f"""
        from toolkit.cli import app
        try:
            app(["verify", {str(fp16)!r}, "--reference", {str(shipped)!r}])
        except SystemExit as exit:
            print("exit", exit.code, "torch" in sys.modules)
        """
    )
    assert "exit 0 False" in result.stdout, result.stdout + result.stderr
    assert f"unet-light fp16 on onnxruntime against {shipped} on onnxruntime" in " ".join(
        result.stdout.split()
    )


def test_the_cpu_runtime_installs_no_serving_stack() -> None:
    """`pip install ".[cpu]"`: neither the core nor the cpu extra asks for Ray, PyTriton or tritonclient
    (and what they ask for, checked in the installed metadata, does not either)."""
    import importlib.metadata
    import re

    import pytest

    tomllib = pytest.importorskip("tomllib", reason="Python 3.11+ reads pyproject.toml")

    project = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["cpu"]]
    names = {re.split(r"[\[<>=!~ ;]", requirement)[0].lower() for requirement in wanted}
    serving = {"ray", "nvidia-pytriton", "tritonclient"}
    seen, queue = set(), list(names)
    while queue:  # the installed dependency closure of the runtime
        name = queue.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        queue += [re.split(r"[\[<>=!~ ;]", r)[0].lower() for r in requires if "extra ==" not in r]
    assert not seen & serving, seen & serving
    assert {"ray", "nvidia-pytriton"} <= {
        re.split(r"[\[<>=!~ ;]", r)[0].lower()
        for extra in ("triton", "ray")
        for r in project["optional-dependencies"][extra]
    }
