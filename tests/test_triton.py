"""Triton: model repositories parsed back with Triton's own schema, and a real server (PyTriton, on the
loopback address) that `toolkit infer --triton` draws the same pictures through as local infer."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import header_for
from PIL import Image
from typer.testing import CliRunner

from toolkit.cli.main import app
from toolkit.core.errors import InputError, UsageError
from toolkit.core.metadata import read_card
from toolkit.core.shipped import SHIPPED_DIR
from toolkit.engines.header import write_engine
from toolkit.export.serving import write_serving_graph
from toolkit.serving.triton_repo import RepoOptions, write_repository

pb = pytest.importorskip("tritonclient.grpc.model_config_pb2", reason="the triton extra is not installed")
text_format = pytest.importorskip("google.protobuf.text_format")
cli = CliRunner()


def parsed(folder: Path) -> object:
    """config.pbtxt read with Triton's schema (a field it does not know fails the parse)."""
    return text_format.Parse((folder / "config.pbtxt").read_text(), pb.ModelConfig())


def test_repository_of_graphs_matches_their_cards(tmp_path: Path) -> None:
    serving, card = write_serving_graph(SHIPPED_DIR / "unet-light.onnx", tmp_path / "unet-light-serving.onnx")
    result = cli.invoke(
        app, ["triton-repo", str(serving), "contour", "-o", str(tmp_path / "models"), "--max-batch", "4"]
    )
    assert result.exit_code == 0, result.output
    config = parsed(tmp_path / "models" / "unet-light-serving")
    assert (config.name, config.platform, config.max_batch_size) == (
        "unet-light-serving",
        "onnxruntime_onnx",
        4,
    )
    (inp,), (out,) = config.input, config.output
    assert (inp.name, pb.DataType.Name(inp.data_type), list(inp.dims)) == (
        "pixels",
        "TYPE_UINT8",
        [-1, -1, 3],
    )
    assert (out.name, pb.DataType.Name(out.data_type), list(out.dims)) == ("lines", "TYPE_FP32", [-1, -1, 1])
    assert json.loads(config.parameters["toolkit-card"].string_value) == card.to_props()
    assert pb.ModelInstanceGroup.Kind.Name(config.instance_group[0].kind) == "KIND_AUTO"
    assert config.dynamic_batching.max_queue_delay_microseconds == 100
    copied = tmp_path / "models" / "unet-light-serving" / "1" / "model.onnx"
    assert copied.read_bytes() == serving.read_bytes()
    classic = parsed(tmp_path / "models" / "contour")  # a classic graph: normalised NCHW floats
    assert (classic.input[0].name, list(classic.input[0].dims)) == ("image", [3, -1, -1])
    assert pb.DataType.Name(classic.input[0].data_type) == "TYPE_FP32"
    # a second run does not replace a version; another version goes beside it
    again = cli.invoke(app, ["triton-repo", "contour", "-o", str(tmp_path / "models")])
    assert again.exit_code == 3 and "already exists" in again.output
    assert (
        cli.invoke(
            app, ["triton-repo", "contour", "-o", str(tmp_path / "models"), "--version", "2"]
        ).exit_code
        == 0
    )
    assert (tmp_path / "models" / "contour" / "2" / "model.onnx").is_file()


def test_repository_of_an_engine_takes_its_profile_and_the_bare_plan(tmp_path: Path) -> None:
    plan = b"stand-in plan bytes: no TensorRT builder here"
    header = header_for(plan)  # profile min 1x32x32, opt 4x512x512, max 4x512x512
    engine = tmp_path / "unet-light-fp32.engine"
    write_engine(engine, plan, header)
    (model,) = write_repository([str(engine)], tmp_path / "models")
    config = parsed(model.folder)
    assert (config.platform, config.max_batch_size) == ("tensorrt_plan", 4)
    assert list(config.input[0].dims) == [3, -1, -1]  # sizes vary within the profile
    assert list(config.dynamic_batching.preferred_batch_size) == [4]
    assert pb.ModelInstanceGroup.Kind.Name(config.instance_group[0].kind) == "KIND_GPU"
    assert (model.folder / "1" / "model.plan").read_bytes() == plan  # Triton loads the plan, no header
    with pytest.raises(UsageError, match="runs on a GPU"):
        write_repository([str(engine)], tmp_path / "cpu", RepoOptions(device="cpu"))


def test_repository_refuses_feature_graphs(tmp_path: Path, exported: dict[str, Path]) -> None:
    with pytest.raises(InputError, match="not feature maps"):
        write_repository([str(exported["contour-features"])], tmp_path / "models")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> object:
    """`toolkit serve` of the shipped unet-light on loopback ports, stopped after the test."""
    pytest.importorskip("pytriton", reason="the triton extra is not installed")
    import tritonclient.http as http

    ports = [free_port() for _ in range(3)]
    args = ["--http-port", str(ports[0]), "--grpc-port", str(ports[1]), "--metrics-port", str(ports[2])]
    log = tmp_path_factory.mktemp("serve") / "serve.log"  # a file: Triton logs more than a pipe holds
    process = subprocess.Popen(
        [sys.executable, "-m", "toolkit", "serve", "--model", "unet-light", "--max-batch", "4", *args],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    client = http.InferenceServerClient(f"127.0.0.1:{ports[0]}")
    deadline = time.monotonic() + 120
    while True:
        try:
            if client.is_model_ready("unet-light"):
                break
        except Exception:  # not listening yet
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("toolkit serve did not come up:\n" + log.read_text()[-3000:])
        time.sleep(0.5)
    yield f"http://127.0.0.1:{ports[0]}", f"grpc://127.0.0.1:{ports[1]}"
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def test_infer_through_toolkit_serve_draws_the_local_pictures(server: tuple, tmp_path: Path) -> None:
    http_url, grpc_url = server
    folder = tmp_path / "in"
    folder.mkdir()
    # a server runs `unet-light`'s graph alone (`toolkit serve`: a request may be tiles of a page), so
    # the two examples whose pencil is dark enough for `unet-light`'s route to keep them (sketch-0 is
    # faint pencil, 12 grey levels: its route sends it to `unet-light-faint`)
    examples = sorted((Path(__file__).parent.parent / "examples" / "sketches").glob("*.png"))[1:]
    for example in examples:  # cropped to an odd size: tiles of 192 at the border get mirrored
        cv2.imwrite(str(folder / example.name), cv2.imread(str(example), cv2.IMREAD_UNCHANGED)[:301, :357])
    common = ["infer", str(folder), "--tile", "192"]
    assert cli.invoke(app, [*common, "-o", str(tmp_path / "local")]).exit_code == 0
    records = [json.loads(Image.open(p).info["line-art-toolkit"]) for p in (tmp_path / "local").iterdir()]
    assert [record["drawn_by"] for record in records] == ["unet-light"] * 2
    for name, url in (("http", http_url), ("grpc", grpc_url)):
        result = cli.invoke(app, [*common, "-o", str(tmp_path / name), "--triton", url])
        assert result.exit_code == 0, result.output
        assert f"on triton at {url}" in result.output
        for picture in (tmp_path / "local").iterdir():
            remote = cv2.imread(str(tmp_path / name / picture.name), cv2.IMREAD_UNCHANGED)
            assert np.array_equal(remote, cv2.imread(str(picture), cv2.IMREAD_UNCHANGED))
    missing = cli.invoke(app, [*common, "-o", str(tmp_path / "x"), "--triton", http_url, "--model", "nope"])
    assert missing.exit_code == 3 and "no model 'nope'" in missing.output


def test_served_card_is_the_serving_form(server: tuple) -> None:
    from toolkit.runtime.triton_runner import TritonRunner

    with TritonRunner(server[0], "unet-light") as runner:
        card, shipped = runner.card, read_card(SHIPPED_DIR / "unet-light.onnx")
        assert (card.input_name, card.input_dtype) == ("pixels", "uint8")
        assert card.conditioning == shipped.conditioning != "none"
        assert card.weights_sha256 == shipped.weights_sha256
        lines = runner.infer({"pixels": np.full((3, 21, 35, 3), 255, np.uint8)})["lines"]
        assert lines.shape == (3, 21, 35, 1)  # any size, batched: blank paper, no lines
        assert float(lines.max()) < card.threshold
