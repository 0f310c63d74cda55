"""Fuzz and fault tests: random bytes, truncations and bit flips of real PNG, JPEG, TIFF and WebP files,
of an ONNX graph and of an engine header, fed to `infer`, `verify` and `inspect` through the CLI.

Whatever the damage: one line per failure naming the file, the documented exit code, never a
traceback, nothing half-written left behind, and what was written is a whole picture.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import cv2
import pytest
from conftest import header_for
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from toolkit.cli import app
from toolkit.core.errors import ExitCode
from toolkit.core.shipped import SHIPPED_DIR
from toolkit.data.synthetic import make_pair
from toolkit.engines.header import write_engine
from toolkit.runtime.infer import finished

cli = CliRunner()
FUZZ = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
GRAPH = SHIPPED_DIR / "unet-light.onnx"


def encoded(suffix: str) -> bytes:
    image, _ = make_pair("sketch", 48, 56, seed=5)
    ok, data = cv2.imencode(suffix, image[:, :, ::-1].copy())
    assert ok
    return data.tobytes()


IMAGES = {suffix: encoded(suffix) for suffix in (".png", ".jpg", ".tiff", ".webp")}


def damaged(original: bytes) -> st.SearchStrategy[bytes]:
    """Cut off anywhere, a few bits flipped anywhere, or bytes that were never an image."""
    cut = st.integers(0, len(original) - 1).map(lambda n: original[:n])
    flips = st.lists(st.tuples(st.integers(0, len(original) - 1), st.integers(0, 7)), min_size=1, max_size=8)

    def flipped(changes: list[tuple[int, int]]) -> bytes:
        data = bytearray(original)
        for index, bit in changes:
            data[index] ^= 1 << bit
        return bytes(data)

    return st.one_of(cut, flips.map(flipped), st.binary(max_size=256))


def check_one_line(output: str, allowed: set[int], code: int, path: Path) -> None:
    """The outcome every damaged file must have."""
    assert code in allowed, output
    assert "Traceback" not in output and "Exception" not in output, output
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    if code not in (ExitCode.OK, ExitCode.CHECK_FAILED):
        assert len(errors) == 1 and str(path) in errors[0], output


def nothing_half_written(folder: Path) -> None:
    if folder.exists():
        for path in folder.rglob("*"):
            assert not path.name.endswith(".tmp"), path
            assert path.is_dir() or finished(path), path


def in_scratch(test: Callable[[Path], None]) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        test(Path(scratch))


@pytest.mark.parametrize("suffix", sorted(IMAGES))
def test_damaged_images_are_one_line_each_and_leave_nothing_behind(suffix: str) -> None:
    @FUZZ
    @given(data=damaged(IMAGES[suffix]))
    def run(data: bytes) -> None:
        def case(scratch: Path) -> None:
            scan, out = scratch / f"scan{suffix}", scratch / "lines"
            scan.write_bytes(data)
            result = cli.invoke(app, ["infer", str(scan), "-o", str(out)])
            check_one_line(result.output, {ExitCode.OK, ExitCode.BAD_INPUT}, result.exit_code, scan)
            nothing_half_written(out)
            if result.exit_code == ExitCode.OK:  # some flips leave a decodable image
                assert finished(out / "scan.png")

        in_scratch(case)

    run()


def damaged_graph() -> st.SearchStrategy[bytes]:
    """The shipped graph cut off anywhere, or with bits flipped in its first or last 4 KB (its
    structure and metadata; flips among the weights in between make a graph that still runs)."""
    original = GRAPH.read_bytes()
    size, edge = len(original), 4096
    where = st.one_of(st.integers(0, edge - 1), st.integers(size - edge, size - 1))
    flips = st.lists(st.tuples(where, st.integers(0, 7)), min_size=1, max_size=8)

    def flipped(changes: list[tuple[int, int]]) -> bytes:
        data = bytearray(original)
        for index, bit in changes:
            data[index] ^= 1 << bit
        return bytes(data)

    return st.one_of(st.integers(0, size - 1).map(lambda n: original[:n]), flips.map(flipped))


@FUZZ
@given(data=damaged_graph())
def test_damaged_graphs_are_one_line_for_inspect_and_infer(data: bytes) -> None:
    def case(scratch: Path) -> None:
        graph = scratch / "model.onnx"
        graph.write_bytes(data)
        inspected = cli.invoke(app, ["inspect", str(graph)])
        codes = {ExitCode.OK, ExitCode.CHECK_FAILED, ExitCode.BAD_INPUT}
        check_one_line(inspected.output, codes, inspected.exit_code, graph)
        page = scratch / "page.png"
        page.write_bytes(IMAGES[".png"])
        out = scratch / "lines"
        ran = cli.invoke(app, ["infer", str(page), "--model", str(graph), "-o", str(out)])
        check_one_line(ran.output, {ExitCode.OK, ExitCode.BAD_INPUT}, ran.exit_code, graph)
        if ran.exit_code != ExitCode.OK:  # a flip in a name or a doc string may leave a graph that runs
            assert not out.exists() or not any(out.iterdir())  # refused before any image was written

    in_scratch(case)


@settings(max_examples=6, deadline=None)
@given(cut=st.integers(0, GRAPH.stat().st_size - 1))
def test_truncated_graphs_are_refused_by_verify_in_one_line(cut: int) -> None:
    def case(scratch: Path) -> None:
        graph = scratch / "model.onnx"
        graph.write_bytes(GRAPH.read_bytes()[:cut])
        result = cli.invoke(app, ["verify", str(graph)])
        check_one_line(result.output, {ExitCode.BAD_INPUT}, result.exit_code, graph)

    in_scratch(case)


@FUZZ
@given(data=st.data())
def test_damaged_engine_headers_are_one_line_for_inspect_and_infer(data: st.DataObject) -> None:
    def case(scratch: Path) -> None:
        engine = scratch / "unet-light.engine"
        write_engine(engine, b"plan", header_for(b"plan"))
        sidecar = engine.with_name(engine.name + ".json")
        sidecar.write_bytes(data.draw(damaged(sidecar.read_bytes())))
        inspected = cli.invoke(app, ["inspect", str(engine)])
        check_one_line(
            inspected.output, {ExitCode.CHECK_FAILED, ExitCode.BAD_INPUT}, inspected.exit_code, engine
        )
        page, out = scratch / "page.png", scratch / "lines"
        page.write_bytes(IMAGES[".png"])
        ran = cli.invoke(app, ["infer", str(page), "--model", str(engine), "-o", str(out)])
        allowed = {ExitCode.BAD_INPUT, ExitCode.MISSING_DEPENDENCY}
        check_one_line(ran.output, allowed, ran.exit_code, engine)
        assert not out.exists() or not any(out.iterdir())

    in_scratch(case)
