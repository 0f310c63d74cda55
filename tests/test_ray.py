"""`toolkit infer --ray`: the folder job on a real local Ray instance (2 CPUs), byte for byte the local
pictures, per-file errors and exit codes as local infer's, and --resume after an interrupted run."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import pytest
from typer.testing import CliRunner

from toolkit.cli.main import app, with_bare_values
from toolkit.core.provenance import output_record
from toolkit.serving.ray_job import actor_plan

ray = pytest.importorskip("ray", reason="the ray extra is not installed")
cli = CliRunner()
EXAMPLES = Path(__file__).parent.parent / "examples" / "sketches"


@pytest.fixture(scope="module")
def cluster() -> object:
    """One local Ray instance for the module's in-process runs (`--ray local` reuses it)."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture()
def scans(tmp_path: Path) -> Path:
    """The example sketches at two sizes, and a corrupt PNG among them."""
    folder = tmp_path / "scans"
    folder.mkdir()
    for example in sorted(EXAMPLES.glob("*.png")):
        image = cv2.imread(str(example), cv2.IMREAD_UNCHANGED)
        cv2.imwrite(str(folder / example.name), image)
        cv2.imwrite(str(folder / f"small-{example.name}"), image[:203, :317])
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(300))
    return folder


def test_bare_ray_means_a_local_instance() -> None:
    assert with_bare_values(["infer", "s/", "--ray"]) == ["infer", "s/", "--ray", "local"]
    assert with_bare_values(["infer", "s/", "--ray", "-o", "x"]) == [
        "infer",
        "s/",
        "--ray",
        "local",
        "-o",
        "x",
    ]
    assert with_bare_values(["infer", "s/", "--ray", "auto"]) == ["infer", "s/", "--ray", "auto"]


def test_actors_leave_no_cpu_to_wait_for() -> None:
    assert actor_plan({"CPU": 2.0}, 1) == (2, {"num_cpus": 1.0})
    assert actor_plan({"CPU": 2.0}, 4) == (1, {"num_cpus": 2.0})  # one actor, never zero
    assert actor_plan({"CPU": 16.0, "GPU": 2.0}, 1) == (2, {"num_gpus": 1, "num_cpus": 1})


def test_ray_writes_the_local_pictures_byte_for_byte(cluster: object, scans: Path, tmp_path: Path) -> None:
    local = cli.invoke(app, ["infer", str(scans), "-o", str(tmp_path / "local")])
    result = cli.invoke(app, ["infer", str(scans), "-o", str(tmp_path / "ray"), "--ray", "local"])
    for run in (local, result):
        assert run.exit_code == 3  # the corrupt file, reported in one line; the rest written
        assert run.output.count("broken.png") == 1 and "6 of 7 images written" in run.output
    assert "Ray actors" in result.output
    pictures = sorted(path.name for path in (tmp_path / "local").iterdir())
    assert len(pictures) == 6 and pictures == sorted(path.name for path in (tmp_path / "ray").iterdir())
    for name in pictures:
        assert (tmp_path / "ray" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()
    # an existing output is kept, as local infer keeps it; --resume skips it
    again = cli.invoke(app, ["infer", str(scans), "-o", str(tmp_path / "ray"), "--ray", "local"])
    assert again.exit_code == 3 and "already exists" in again.output
    (tmp_path / "ray" / pictures[0]).unlink()
    resumed = cli.invoke(
        app, ["infer", str(scans), "-o", str(tmp_path / "ray"), "--ray", "local", "--resume"]
    )
    said = " ".join(resumed.output.split())
    assert resumed.exit_code == 3 and "1 of 7 images written" in said and "5 already there" in said, said
    assert (tmp_path / "ray" / pictures[0]).read_bytes() == (tmp_path / "local" / pictures[0]).read_bytes()


def test_ray_averages_the_same_mirrored_views(cluster: object, scans: Path, tmp_path: Path) -> None:
    for path in scans.iterdir():
        if not path.name.startswith("small-"):
            path.unlink()  # two small sketches are enough
    args = ["infer", str(scans), "--flips", "2", "--precision", "fp32"]
    local = cli.invoke(app, [*args, "-o", str(tmp_path / "local")])
    result = cli.invoke(app, [*args, "-o", str(tmp_path / "ray"), "--ray", "local"])
    for run in (local, result):
        assert run.exit_code == 0 and "2 mirrored views averaged" in run.output, run.output
    for picture in (tmp_path / "local").iterdir():
        assert (tmp_path / "ray" / picture.name).read_bytes() == picture.read_bytes()
        assert output_record(picture)["flips"] == 2


def test_ray_resumes_after_an_interrupted_run(scans: Path, tmp_path: Path) -> None:
    (scans / "broken.png").unlink()
    for index in range(6):  # more work, so that the signal comes while images are in flight
        shutil.copy(scans / "sketch-0.png", scans / f"copy-{index}.png")
    out = tmp_path / "ray"
    command = [sys.executable, "-m", "toolkit", "infer", str(scans), "--ray", "-o", str(out)]  # bare --ray
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 180
    while not (out.is_dir() and any(out.glob("*.png"))) and process.poll() is None:
        assert time.monotonic() < deadline, "no picture within 3 minutes"
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    output = process.communicate(timeout=120)[0]
    assert process.returncode in (0, 130), output  # 130: interrupted; 0: it had finished first
    assert not list(out.glob("*.tmp*")) and not list(out.glob(".*"))  # nothing half-written
    resumed = subprocess.run([*command, "--resume"], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert cli.invoke(app, ["infer", str(scans), "-o", str(tmp_path / "local")]).exit_code == 0
    for picture in (tmp_path / "local").iterdir():
        assert (out / picture.name).read_bytes() == picture.read_bytes()
