"""`toolkit train` on tiny settings: the run folder, early stopping, exact resume, DDP on two CPUs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file
from typer.testing import CliRunner

from toolkit.cli import app
from toolkit.core.machine import BF16_FLAGS, cpu_flags, usable_cores
from toolkit.core.metadata import read_card
from toolkit.models.build import load_model
from toolkit.models.registry import get_spec
from toolkit.models.weights import write_weights
from toolkit.train.trainer import TrainConfig, make_scheduler, parameter_groups

TINY = ["--image-size", "48", "--crop", "32", "--train-size", "8", "--val-size", "2", "--batch-size", "4"]


def train(tmp_path: Path, name: str, *args: str) -> Path:
    run = tmp_path / name
    result = CliRunner().invoke(app, ["train", "unet-light", "-o", str(run), *TINY, *args])
    assert result.exit_code == 0, result.output
    return run


def test_run_folder_holds_curves_checkpoints_sheets_and_provenance(tmp_path: Path) -> None:
    run = train(tmp_path, "run", "--epochs", "2", "--checkpoint-every", "2", "--seed", "3")
    assert json.loads((run / "config.json").read_text())["seed"] == 3
    history = json.loads((run / "metrics.json").read_text())
    assert [entry["epoch"] for entry in history] == [1, 2]
    assert {"loss", "pmi", "gmi", "val_loss", "val_line_f1", "val_iou", "val_accuracy"} <= set(history[0])
    assert (run / "curves.png").stat().st_size > 1000
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["best.pt", "epoch-002.pt", "last.pt"]
    assert list((run / "samples").glob("epoch-*.png"))
    record = json.loads((run / "weights.json").read_text())
    assert record["data_seed"] == 3 and record["command"].startswith("toolkit train unet-light")
    assert len(record["git_commit"]) in (40, len("unknown"))
    assert isinstance(record["uncommitted"], list)  # the package files changed from that commit
    assert 0.0 <= record["validation"]["val_line_f1"] <= 1.0
    evaluation = json.loads((run / "evaluation.json").read_text())
    assert set(evaluation) == {"unet-light", "otsu", "adaptive", "canny"}
    assert 0.0 <= evaluation["unet-light"]["line_f1"] <= 1.0
    with safe_open(run / "weights.safetensors", "pt") as weights:  # provenance travels with the tensors
        assert json.loads(weights.metadata()["training"])["best_epoch"] == record["best_epoch"]
    # readable like the other files written beside it (safetensors replaced the 0600 temporary file)
    modes = {path.name: path.stat().st_mode & 0o777 for path in run.iterdir() if path.is_file()}
    assert len(set(modes.values())) == 1, modes


def test_a_graph_exported_from_any_epoch_carries_that_epochs_record(tmp_path: Path) -> None:
    # the run's conditioning must travel with every epoch's weights: a graph exported from a checkpoint
    # without it was fed raw pages by infer and evaluate, and scored a model nobody trained
    conditioned = ("--conditioning", "flatten-neutral")
    run = train(tmp_path, "run", "--epochs", "2", "--checkpoint-every", "1", *conditioned)
    graph = tmp_path / "epoch1.onnx"
    checkpoint = run / "checkpoints" / "epoch-001.pt"
    result = CliRunner().invoke(app, ["export", "unet-light", "--weights", str(checkpoint), "-o", str(graph)])
    assert result.exit_code == 0, result.output
    card = read_card(graph)
    first = json.loads((run / "metrics.json").read_text())[0]
    assert card.conditioning == "flatten-neutral" and card.training["epoch"] == 1
    assert card.training["validation"]["val_line_f1"] == round(first["val_line_f1"], 5)
    assert "--conditioning flatten-neutral" in card.training_command


def test_early_stopping_restores_the_best_epoch(tmp_path: Path) -> None:
    run = train(tmp_path, "still", "--epochs", "6", "--lr", "0", "--patience", "2")
    history = json.loads((run / "metrics.json").read_text())
    scores = [entry["val_line_f1"] for entry in history]
    best_epoch = scores.index(max(scores)) + 1
    assert len(history) == best_epoch + 2 < 6  # two epochs no better than the best: stop
    assert json.loads((run / "weights.json").read_text())["best_epoch"] == best_epoch
    best = torch.load(run / "checkpoints" / "best.pt", weights_only=True)["model"]
    final = load_file(run / "weights.safetensors")
    assert all(torch.equal(best[k], final[k]) for k in final)


def test_a_warm_start_records_where_it_began(tmp_path: Path) -> None:
    """`--init-weights`: the weights it starts from are validated on the run's pages before the first
    step (epoch 0 of the log, the curves and the record), so a warm start's epochs can be read against
    where it began; two warm starts alike train alike."""
    first = train(tmp_path, "first", "--epochs", "1", "--seed", "4")
    record = json.loads((first / "weights.json").read_text())
    assert record["start_validation"] == {}  # from scratch: no starting point
    init = str(first / "weights.safetensors")
    warm = train(tmp_path, "warm", "--epochs", "1", "--seed", "4", "--init-weights", init)
    start = json.loads((warm / "weights.json").read_text())["start_validation"]
    assert start == record["validation"]  # the same weights on the same seed's validation pages
    again = train(tmp_path, "again", "--epochs", "1", "--seed", "4", "--init-weights", init)
    a, b = (torch.load(run / "checkpoints" / "last.pt", weights_only=True)["model"] for run in (warm, again))
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_resume_continues_exactly_where_it_stopped(tmp_path: Path) -> None:
    straight = train(tmp_path, "straight", "--epochs", "2")
    interrupted = train(tmp_path, "interrupted", "--epochs", "1")
    resumed = train(tmp_path, "interrupted", "--epochs", "2")  # same folder: picks up last.pt
    assert resumed == interrupted
    a = torch.load(straight / "checkpoints" / "last.pt", weights_only=True)
    b = torch.load(resumed / "checkpoints" / "last.pt", weights_only=True)
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])
    assert (
        json.loads((straight / "metrics.json").read_text())[1]["loss"]
        == json.loads((resumed / "metrics.json").read_text())[1]["loss"]
    )


def test_two_process_ddp_step_on_cpu(tmp_path: Path) -> None:
    run = tmp_path / "ddp"
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        "-m",
        "toolkit",
        "train",
        "unet-light",
        "-o",
        str(run),
        "--epochs",
        "1",
        "--device",
        "cpu",
        *TINY,
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    # each of the 2 ranks took 4 of the 8 pairs: one step each, replicas checked identical at the end
    assert json.loads((run / "metrics.json").read_text())[0]["epoch"] == 1
    assert (run / "weights.safetensors").exists()


def test_a_failed_start_leaves_no_run_folder(tmp_path: Path) -> None:
    run = tmp_path / "run"
    data = tmp_path / "data"
    (data / "input").mkdir(parents=True)  # no target/ folder
    result = CliRunner().invoke(app, ["train", "unet-light", "-o", str(run), "--data", str(data), *TINY])
    assert result.exit_code == 3 and f"{data}: has no 'target/' folder" in result.output
    assert not run.exists()


def test_cosine_schedule_and_time_limit(tmp_path: Path) -> None:
    run = train(tmp_path, "run", "--epochs", "4", "--cosine", "--time-limit", "0.0001", "--patience", "0")
    metrics = json.loads((run / "metrics.json").read_text())
    assert len(metrics) == 1  # stopped after the first epoch that passed the limit
    assert metrics[0]["lr"] < 1e-3  # annealed along the cosine over --epochs
    both = CliRunner().invoke(
        app, ["train", "unet-light", "-o", str(tmp_path / "x"), "--cosine", "--lr-decay", "0.9"]
    )
    assert both.exit_code != 0 and "--cosine and --lr-decay are two learning-rate schedules" in both.output


def test_warmup_rises_to_the_rate_then_the_cosine_begins(tmp_path: Path) -> None:
    run = train(
        tmp_path, "run", "--epochs", "4", "--warmup", "2", "--cosine", "--lr", "0.001", "--patience", "0"
    )
    rates = [entry["lr"] for entry in json.loads((run / "metrics.json").read_text())]  # after each epoch
    # epoch 1 ran at 1/3 of --lr, epoch 2 at 2/3, epoch 3 at --lr; the cosine over the last two epochs
    assert rates == pytest.approx([2e-3 / 3, 1e-3, 0.51e-3, 0.02e-3], rel=1e-6)
    assert json.loads((run / "config.json").read_text())["warmup"] == 2
    too_long = CliRunner().invoke(
        app, ["train", "unet-light", "-o", str(tmp_path / "x"), "--epochs", "3", "--warmup", "3", *TINY]
    )
    assert too_long.exit_code != 0 and "--warmup must be 0 or more and fewer than --epochs" in too_long.output


def test_a_grown_branch_learns_at_its_own_rate(tmp_path: Path) -> None:
    """`--fresh-lr-factor`: the parameters the --init-weights file lacks (contour-oriented's branch, on
    contour weights) are Adam's second group, at the factor times --lr through the warm-up, and the
    cosine anneals both to 2 % of --lr; the others move at --lr. Without --init-weights it is refused."""
    source = tmp_path / "contour.safetensors"
    write_weights(get_spec("contour").build(seed=1), source, {})
    config = TrainConfig(
        model="contour-oriented",
        init_weights=str(source),
        lr=1e-4,
        fresh_lr_factor=10.0,
        epochs=4,
        warmup=1,
        cosine=True,
    )
    model = load_model(get_spec("contour-oriented"), source, partial=True).module
    groups = parameter_groups(model, source, config.lr, config.fresh_lr_factor)
    names = {id(p): name for name, p in model.named_parameters()}
    fresh = {names[id(p)] for p in groups[1]["params"]}
    assert fresh == {name for name, _ in model.named_parameters() if name.startswith("head.oriented.")}
    assert len(groups[0]["params"]) + len(fresh) == len(list(model.parameters()))
    optimizer = torch.optim.Adam(groups, lr=config.lr)
    scheduler = make_scheduler(optimizer, config)
    rates = []
    for _ in range(3):
        rates.append([group["lr"] for group in optimizer.param_groups])
        optimizer.step(), scheduler.step()
    assert rates[0] == pytest.approx([0.5e-4, 0.5e-3]) and rates[1] == pytest.approx([1e-4, 1e-3])
    # the cosine takes both toward the same floor, 2 % of --lr: between, the branch stays ahead
    assert rates[2] == pytest.approx([0.755e-4, 0.7505e-3])
    refused = CliRunner().invoke(
        app, ["train", "unet-light", "-o", str(tmp_path / "x"), "--fresh-lr-factor", "10", *TINY]
    )
    assert refused.exit_code != 0 and "give --init-weights" in refused.output


def test_the_gap_loss_trains_and_records_its_weight(tmp_path: Path) -> None:
    run = train(tmp_path, "run", "--epochs", "1", "--loss", "pmi-gmi+gaps", "--gap-weight", "0.3")
    assert json.loads((run / "config.json").read_text())["gap_weight"] == 0.3
    history = json.loads((run / "metrics.json").read_text())
    assert history[0]["loss"] > 0 and history[0]["val_loss"] > 0
    default = train(tmp_path, "default", "--epochs", "1", "--loss", "pmi-gmi+gaps")
    assert json.loads((default / "config.json").read_text())["gap_weight"] == 0.1  # the number, not None
    stray = CliRunner().invoke(app, ["train", "unet-light", "-o", str(tmp_path / "x"), "--gap-weight", "0.3"])
    assert stray.exit_code != 0 and "--gap-weight weighs the gap term of --loss pmi-gmi+gaps" in stray.output


def test_the_centreline_loss_trains_and_records_its_weight(tmp_path: Path) -> None:
    run = train(tmp_path, "run", "--epochs", "1", "--loss", "pmi-gmi+centrelines")
    assert json.loads((run / "config.json").read_text())["centreline_weight"] == 0.5  # the number
    assert json.loads((run / "metrics.json").read_text())[0]["loss"] > 0
    stray = CliRunner().invoke(
        app, ["train", "unet-light", "-o", str(tmp_path / "x"), "--centreline-weight", "0.3"]
    )
    assert stray.exit_code != 0
    assert "--centreline-weight weighs the clDice term of --loss pmi-gmi+centrelines" in stray.output


def test_data_workers_change_the_speed_not_the_weights(tmp_path: Path, monkeypatch) -> None:
    # every page is seeded by its index and epoch, so who draws it does not matter
    alone = train(tmp_path, "alone", "--epochs", "1", "--workers", "0")
    helped = train(tmp_path, "helped", "--epochs", "1", "--workers", "2")
    a, b = load_file(alone / "weights.safetensors"), load_file(helped / "weights.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert json.loads((helped / "config.json").read_text())["workers"] == 2
    # the default is a number in the record: the usable cores, shared by torchrun's processes
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    default = train(tmp_path, "default", "--epochs", "1")
    assert json.loads((default / "config.json").read_text())["workers"] == min(8, usable_cores() // 2)


def test_bf16_trains_where_the_cpu_has_bf16_dot_products_and_says_why_not_elsewhere(tmp_path: Path) -> None:
    if not cpu_flags(BF16_FLAGS):  # an AVX2-only CPU: torch would emulate BF16, slower than FP32
        result = CliRunner().invoke(app, ["train", "unet-light", "-o", str(tmp_path / "x"), *TINY, "--bf16"])
        assert result.exit_code == 2 and "--bf16: this CPU has none of avx512_bf16, amx_bf16" in result.output
        assert not (tmp_path / "x").exists()
        return
    bf16 = train(tmp_path, "bf16", "--epochs", "1", "--workers", "0", "--bf16")
    fp32 = train(tmp_path, "fp32", "--epochs", "1", "--workers", "0")
    assert json.loads((bf16 / "config.json").read_text())["bf16"] is True
    a, b = load_file(bf16 / "weights.safetensors"), load_file(fp32 / "weights.safetensors")
    assert {t.dtype for t in a.values() if t.is_floating_point()} == {torch.float32}  # FP32 master weights
    # the same two steps from the same start: BF16 rounds the passes, so close, not equal
    moved = [k for k in a if a[k].is_floating_point() and not torch.equal(a[k], b[k])]
    assert moved and all(torch.allclose(a[k], b[k], atol=2e-2) for k in moved)


def test_the_gpu_session_script_trains_packs_and_unpacks_on_a_cpu(tmp_path: Path) -> None:
    """scripts/gpu_session.sh at a tiny size on the CPU: what a lent GPU machine would run, with the
    weights split into parts under 16 MiB and put back together here bit for bit."""
    script = Path(__file__).parents[1] / "scripts" / "gpu_session.sh"
    env = os.environ | {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "OUT": str(tmp_path / "out"),
        "RUN_DIR": str(tmp_path / "device-run"),
        **dict(MODEL="unet-light", DEVICE="cpu", MINUTES="1", EPOCHS="1", BATCH="2", WORKERS="0"),
        **dict(TRAIN_SIZE="4", VAL_SIZE="2", CROP="32", IMAGE_SIZE="48", SEED="5"),
    }

    def script_says(*args: str, **options: object) -> subprocess.CompletedProcess:
        return subprocess.run([str(script), *args], capture_output=True, text=True, **options)

    out, back, device_run = tmp_path / "out", tmp_path / "back", tmp_path / "device-run"
    ran = script_says("run", env=env, cwd=script.parents[1])
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert sorted(p.name for p in out.iterdir()) == ["machine.txt", "run.tgz", "train.log", "weights.part-00"]
    unpacked = script_says("unpack", str(out), str(back))
    assert unpacked.returncode == 0 and "weights.safetensors: OK" in unpacked.stdout, unpacked.stderr
    assert (back / "weights.safetensors").read_bytes() == (device_run / "weights.safetensors").read_bytes()
    record = json.loads((back / "weights.json").read_text())
    assert record["data_seed"] == 5 and "--conditioning flatten-neutral" in record["command"]
    assert (back / "train.log").read_text().count("epoch 1 (") == 1
    again = script_says("unpack", str(out), str(back))
    assert again.returncode == 2 and f"{back} exists: pick a new run folder" in again.stderr


def test_a_run_from_a_changed_tree_records_which_package_files_differ_from_its_commit(tmp_path: Path) -> None:
    from toolkit.train.trainer import uncommitted_code

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    package = tmp_path / "toolkit"
    package.mkdir()
    (package / "loss.py").write_text("WEIGHT = 1\n")
    (tmp_path / "README.md").write_text("notes\n")
    git("init", "-q")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "start")
    assert uncommitted_code(package) == []
    (package / "loss.py").write_text("WEIGHT = 2\n")  # the code that makes weights: recorded
    (tmp_path / "README.md").write_text("more notes\n")  # outside the package: not
    (package / "scratch.py").write_text("")  # untracked: not
    assert uncommitted_code(package) == ["toolkit/loss.py"]
    assert uncommitted_code(tmp_path / "elsewhere") == []  # git cannot say: nothing claimed


def test_a_copy_without_git_records_the_commit_it_is_told(monkeypatch: pytest.MonkeyPatch) -> None:
    from toolkit.train.trainer import git_commit

    monkeypatch.setenv("PATH", "")  # no git to ask, as on a lent machine's copy of the tree
    monkeypatch.delenv("TOOLKIT_GIT_COMMIT", raising=False)
    assert git_commit() == "unknown"
    monkeypatch.setenv("TOOLKIT_GIT_COMMIT", "10b20b4999c992166b4a605eda6f0ad7fdec4556")
    assert git_commit() == "10b20b4999c992166b4a605eda6f0ad7fdec4556"
