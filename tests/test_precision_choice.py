"""`--precision` for shipped names: `auto` runs the fastest shipped graph for the backend whose recorded
agreement with FP32 is verified; explicit precisions pick their form; a file is run as it is."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from toolkit.core.errors import UsageError
from toolkit.core.machine import INT8_DOT_PRODUCTS, cpu_flags, int8_kind
from toolkit.core.metadata import ModelCard, read_card
from toolkit.core.model_ref import resolve_model
from toolkit.core.shipped import SHIPPED_DIR, shipped_forms, shipped_graphs
from toolkit.runtime.backends import FASTEST_FIRST, MAX_F1_DROP, make_runner, shipped_form, verified


def with_agreement(card: ModelCard, **record: object) -> ModelCard:
    return dataclasses.replace(card, extra={**card.extra, "agreement": json.dumps(record)})


def test_a_derived_graph_is_verified_only_by_a_record_that_meets_both_gates() -> None:
    card = dataclasses.replace(read_card(SHIPPED_DIR / "unet-light.onnx"), precision="int8")
    gpu = "onnxruntime-tensorrt"
    assert not verified(card, gpu)  # no record: never the default
    assert verified(with_agreement(card, line_f1=0.985, f1_drop=0.001), gpu)
    assert not verified(with_agreement(card, line_f1=0.975, f1_drop=0.001), gpu)  # INT8's gate is 0.98
    assert not verified(with_agreement(card, line_f1=0.99, f1_drop=MAX_F1_DROP + 0.001), gpu)
    fp16 = dataclasses.replace(card, precision="fp16")
    assert not verified(with_agreement(fp16, line_f1=0.99, f1_drop=0.0), gpu)  # FP16's gate is 0.995
    # on the CPU provider a form must also have been measured faster than FP32, on a CPU of this kind
    assert not verified(with_agreement(card, line_f1=0.99, f1_drop=0.0), "onnxruntime")
    vnni, avx2 = "int8 dot products", "no int8 dot products"
    speedups = {vnni: {"speedup": 2.57, "cpu": "AMD EPYC, avx512_vnni"}, avx2: {"speedup": 0.88, "cpu": "x"}}
    measured = with_agreement(card, line_f1=0.99, f1_drop=0.0, cpu_speedups=speedups)
    assert verified(measured, "onnxruntime", cpu_kind=vnni)
    assert not verified(measured, "onnxruntime", cpu_kind=avx2)  # slower there: FP32 runs
    del speedups[avx2]
    unmeasured = with_agreement(card, line_f1=0.99, f1_drop=0.0, cpu_speedups=speedups)
    assert not verified(unmeasured, "onnxruntime", cpu_kind=avx2)  # never measured on this kind
    assert verified(measured, gpu, cpu_kind=avx2)  # the CPU's kind says nothing about a GPU


def test_a_cpus_kind_is_whether_it_has_int8_dot_products() -> None:
    have = cpu_flags(INT8_DOT_PRODUCTS)
    assert int8_kind() == ("int8 dot products" if have else "no int8 dot products")


@pytest.mark.parametrize("name", shipped_graphs())
def test_auto_takes_the_fastest_verified_shipped_graph(name: str) -> None:
    model = resolve_model(name)
    forms = shipped_forms(name)
    for backend, fastest_first in FASTEST_FIRST.items():
        expected = next(
            form
            for form in fastest_first
            if form == "fp32" or (form in forms and verified(read_card(forms[form]), backend))
        )
        assert shipped_form(model, backend).path == forms[expected], backend


def test_explicit_precisions_pick_their_form_and_files_run_as_they_are(tmp_path: Path) -> None:
    model = resolve_model("unet-light")
    assert shipped_form(model, "onnxruntime", "fp32") == model
    forms = shipped_forms("unet-light")
    if "int8-cpu" in forms:
        assert shipped_form(model, "onnxruntime", "int8").path == forms["int8-cpu"]  # the CPU's form
    if "int8" in forms:
        assert shipped_form(model, "onnxruntime-tensorrt", "int8").path == forms["int8"]
    with pytest.raises(UsageError, match="--precision must be one of auto, fp32, fp16, int8, not fp8"):
        make_runner("unet-light", precision="fp8")
    graph = resolve_model(SHIPPED_DIR / "unet-light.onnx")
    assert shipped_form(graph, "onnxruntime") == graph
    with pytest.raises(UsageError, match="a file is one graph of one precision"):
        shipped_form(graph, "onnxruntime", "int8")


def test_the_cli_says_which_graph_ran(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from toolkit.cli import app
    from toolkit.data.synthetic import write_pairs

    write_pairs("sketch", 1, 64, seed=3, root=tmp_path)
    result = CliRunner().invoke(
        app, ["infer", str(tmp_path / "input"), "-o", str(tmp_path / "out"), "--precision", "fp32"]
    )
    assert result.exit_code == 0 and "(unet-light on onnxruntime" in result.output  # and its route
    if "int8-cpu" in shipped_forms("unet-light"):
        result = CliRunner().invoke(
            app, ["infer", str(tmp_path / "input"), "-o", str(tmp_path / "q"), "--precision", "int8"]
        )
        assert result.exit_code == 0 and "(unet-light int8 on onnxruntime" in result.output
