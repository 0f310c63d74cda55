"""Input conditioning: what it does to a page, and that training, inference, calibration and
verification all feed a model the very same conditioned arrays, tiled or whole."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest

from toolkit.calibration.images import load_calibration_set
from toolkit.core.errors import InputError
from toolkit.core.metadata import read_card, write_card
from toolkit.data.datasets import Augment, InputFormat, SyntheticPairs
from toolkit.data.factors import middle_factors
from toolkit.data.synthetic import make_pair
from toolkit.export.onnx_export import export_onnx
from toolkit.imaging.conditioning import BAND_ROWS, condition
from toolkit.imaging.model_input import to_model_input
from toolkit.models.build import load_model
from toolkit.models.registry import get_spec
from toolkit.models.weights import write_weights
from toolkit.runtime.onnxruntime_runner import OnnxRuntimeRunner
from toolkit.runtime.pipeline import predict
from toolkit.runtime.tiling import Tiling, predict_tiled

FAINT = middle_factors("sketch") | {"pencil_contrast": 15, "paper_tone": 0.55, "lighting": 0.5, "shadow": 0.5}


def test_flatten_turns_grey_shadowed_paper_white_and_faint_pencil_dark() -> None:
    image, target = make_pair("sketch", 256, 256, seed=5, factors=FAINT)
    flat = condition(image, "flatten")
    gray, flat_gray = (cv2.cvtColor(i, cv2.COLOR_RGB2GRAY).astype(float) for i in (image, flat))
    lines, paper = target < 128, target == 255
    assert np.median(gray[paper]) < 170 and np.median(flat_gray[paper]) > 235  # paper -> white
    before = np.median(gray[paper]) - np.median(gray[lines])
    after = np.median(flat_gray[paper]) - np.median(flat_gray[lines])
    assert after > 3 * before  # the same lines, far clearer


def test_flatten_graphite_stretches_graphite_that_red_pencil_held_back() -> None:
    """10 grey levels of graphite beside dark construction pencil: on the mean of the channels the
    coloured pencil sets the stretch; on the brightest channel only graphite does."""
    factors = middle_factors("sketch") | {"pencil_contrast": 10, "construction_colour": 1.0}
    image, target = make_pair("sketch", 256, 256, seed=1, factors=factors)
    lines, paper = target < 128, target == 255

    def line_contrast(method: str) -> float:
        gray = cv2.cvtColor(condition(image, method), cv2.COLOR_RGB2GRAY).astype(float)
        return float(np.median(gray[paper]) - np.median(gray[lines]))

    assert line_contrast("flatten-graphite") > 1.5 * line_contrast("flatten")
    # a grey image has one reduction: the two stretches agree there
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    assert np.array_equal(condition(gray, "flatten"), condition(gray, "flatten-graphite"))


def test_flatten_neutral_keeps_a_vignetted_blank_page_paper_to_its_corners() -> None:
    """A blank page, no noise, darkening toward its corners to half its centre: the paper estimate
    that reads only inside the page comes out too bright at the corners, so the stretch turns their
    paper grey (a dark blotch to a model); continued past the edge, it stays near white."""
    y, x = np.mgrid[0:256, 0:320] / np.array([255, 319])[:, None, None]
    light = 1 - ((x - 0.5) ** 2 + (y - 0.5) ** 2)
    page = np.repeat((0.9 * light * 255).round().astype(np.uint8)[..., None], 3, axis=2)
    inside, continued = (
        condition(page, method)[..., 0].astype(int) for method in ("flatten-graphite", "flatten-neutral")
    )
    assert inside[128, 160] == continued[128, 160] >= 245  # the middle is paper either way
    assert inside[:8, :8].mean() < 140 and inside.min() < 70
    assert continued[:8, :8].mean() > 210 and continued.min() > 185
    # away from the edge the two estimates agree
    assert np.abs(inside[64:-64, 64:-64] - continued[64:-64, 64:-64]).max() <= 2


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
@pytest.mark.parametrize("channels", [1, 3])
def test_conditioning_keeps_shape_and_dtype(dtype: type, channels: int) -> None:
    image, _ = make_pair("sketch", 70, 90, seed=2, factors=FAINT)
    image = image if channels == 3 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    if dtype is np.uint16:
        image = image.astype(np.uint16) * 257
    elif dtype is np.float32:
        image = image.astype(np.float32) / 255
    for method in ("flatten", "flatten-graphite", "flatten-neutral"):
        flat = condition(image, method)
        assert flat.shape == image.shape and flat.dtype == image.dtype
    assert condition(image, "none") is image
    choices = "none, flatten, flatten-graphite, flatten-neutral"
    with pytest.raises(InputError, match=rf"unknown input conditioning 'clahe': choose one of {choices}$"):
        condition(image, "clahe")


def test_bands_of_rows_are_one_whole_image_pass() -> None:
    rng = np.random.default_rng(0)
    tall = (rng.uniform(0.3, 1.0, (BAND_ROWS * 2 + 37, 50, 3)) * 255).astype(np.uint8)
    flat = condition(tall, "flatten")
    # the paper estimate interpolated per band equals OpenCV's whole-image bilinear resize of it
    from toolkit.imaging.conditioning import paper_at

    paper = rng.uniform(0.5, 1.0, (16, 7, 3)).astype(np.float32)
    whole = cv2.resize(paper, (50, tall.shape[0]), interpolation=cv2.INTER_LINEAR)
    banded = np.concatenate(
        [
            paper_at(paper, slice(a, min(tall.shape[0], a + BAND_ROWS)), tall.shape[0], 50)
            for a in range(0, tall.shape[0], BAND_ROWS)
        ]
    )
    assert np.abs(banded - whole).max() < 1e-5
    assert flat.shape == tall.shape


@pytest.fixture(scope="module")
def flattening_graph(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small sketch model whose weights were trained with --conditioning flatten (a real record)."""
    folder = tmp_path_factory.mktemp("flatten")
    spec = get_spec("unet-light")
    weights = folder / "weights.safetensors"
    record = {
        "command": "toolkit train unet-light --conditioning flatten",
        "config": {"conditioning": "flatten"},
    }
    write_weights(spec.build(seed=3), weights, {"training": json.dumps(record)})
    return export_onnx(load_model(spec, weights), folder / "flat.onnx").path


def test_the_card_carries_the_conditioning_of_the_weights(
    flattening_graph: Path, exported: dict[str, Path]
) -> None:
    assert read_card(flattening_graph).conditioning == "flatten"
    assert read_card(exported["unet-light"]).conditioning == "none"


def test_training_inference_and_calibration_feed_the_same_arrays(
    flattening_graph: Path, tmp_path: Path
) -> None:
    card = read_card(flattening_graph)
    fmt = InputFormat(card.input_channels, card.mean, card.std, card.conditioning)
    dataset = SyntheticPairs("sketch", 96, 2, Augment(96, enabled=False), fmt, seed=0, validation=True)
    image, _ = dataset.load(1, np.random.default_rng(0))
    expected = to_model_input(condition(image, "flatten"), card)
    # training: the dataset item
    x, _ = dataset[1]
    assert np.array_equal(x.numpy(), expected)
    # calibration: the batch fed to the calibrator
    folder = tmp_path / "calib"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), image[..., ::-1])
    (batch,) = list(load_calibration_set(folder).batches(card))
    assert np.array_equal(batch[0], expected)
    # inference: the tiler feeds the runner what predict gets from the conditioned image
    with OnnxRuntimeRunner(flattening_graph) as runner:
        whole = predict(runner, [condition(image, "flatten")])["lines"][0, 0]
        assert np.array_equal(predict_tiled(runner, image), whole)


def test_tiled_equals_whole_with_conditioning(flattening_graph: Path) -> None:
    image, _ = make_pair("sketch", 200, 260, seed=9, factors=FAINT)
    with OnnxRuntimeRunner(flattening_graph) as runner:
        whole = predict_tiled(runner, image, Tiling(tile=512, overlap=64))
        tiled = predict_tiled(runner, image, Tiling(tile=128, overlap=32))
    mse = float(np.mean((whole - tiled) ** 2))
    assert 10 * np.log10(1 / max(mse, 1e-12)) >= 35  # the tiling tests' tolerance


def test_a_graph_whose_card_names_no_known_conditioning_is_refused(
    flattening_graph: Path, tmp_path: Path
) -> None:
    model = onnx.load(flattening_graph)
    card = read_card(flattening_graph)
    import dataclasses

    write_card(model, dataclasses.replace(card, conditioning="sharpen"))
    odd = tmp_path / "odd.onnx"
    onnx.save(model, odd)
    image, _ = make_pair("sketch", 64, 64, seed=1)
    with (
        OnnxRuntimeRunner(odd) as runner,
        pytest.raises(InputError, match="unknown input conditioning 'sharpen'"),
    ):
        predict_tiled(runner, image)
