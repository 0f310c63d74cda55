"""The Python API (`toolkit.LineModel`): the pictures `toolkit infer` writes, from arrays in memory."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

import toolkit
from toolkit.cli import app
from toolkit.core.errors import InputError
from toolkit.core.fileio import write_png
from toolkit.data.samples import painting, sketch
from toolkit.imaging.imageio import read_image

runner = CliRunner()


def infer_cli(image_file: Path, out: Path, *args: str) -> Path:
    result = runner.invoke(app, ["infer", str(image_file), "-o", str(out), *args])
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.parametrize(
    ("output_format", "scale", "tile"),
    [("gray", 1.0, 512), ("binary", 1.0, 128), ("alpha", 1.0, 128), ("gray", 0.5, 128)],
)
def test_lines_are_the_pictures_infer_writes(
    tmp_path: Path, output_format: str, scale: float, tile: int
) -> None:
    """The shipped model by name; 300x700 runs whole in a 512 px tile, in 12 tiles at 128 px."""
    image = sketch(300, 700, seed=3)
    write_png(tmp_path / "page.png", image)
    cli = ["--format", output_format, "--scale", str(scale), "--tile", str(tile), "--overlap", "32"]
    out = infer_cli(tmp_path / "page.png", tmp_path / "out", *cli)
    written = cv2.imread(str(out / "page.png"), cv2.IMREAD_UNCHANGED)  # alpha kept (black ink)
    with toolkit.LineModel("unet-light", tiling=toolkit.Tiling(tile, 32)) as model:
        drawn = model.lines(image, output_format, scale)
    assert drawn.dtype == np.uint8 and drawn.shape == written.shape
    assert np.array_equal(drawn, written)


def test_probability_is_what_the_lines_are_drawn_from() -> None:
    image = painting(200, 260, seed=4)  # RGB
    with toolkit.LineModel("contour") as model:
        probability = model.probability(image)
        lines = model.lines(image)
        half = model.probability(image, scale=0.5)
        assert model.card.model == "contour" and model.backend == "onnxruntime"
    assert probability.shape == half.shape == (200, 260) and probability.dtype == np.float32
    assert probability.min() >= 0 and probability.max() <= 1
    assert np.array_equal(lines, np.round((1 - probability) * 255).astype(np.uint8))
    # uint16 and float images in [0, 1] are the same picture as their uint8
    as_float = model_probability("contour", image.astype(np.float32) / 255)
    as_uint16 = model_probability("contour", image.astype(np.uint16) * 257)
    assert np.abs(as_float - probability).max() < 1e-5 and np.abs(as_uint16 - probability).max() < 1e-5


def model_probability(name: str, image: np.ndarray) -> np.ndarray:
    with toolkit.LineModel(name) as model:
        return model.probability(image)


def test_feature_maps_are_the_channels_infer_writes(exported: dict[str, Path], tmp_path: Path) -> None:
    image = painting(90, 120, seed=2)
    write_png(tmp_path / "p.png", image)
    out = infer_cli(tmp_path / "p.png", tmp_path / "maps", "--model", str(exported["contour-features"]))
    with toolkit.LineModel(exported["contour-features"]) as model:
        maps = model.feature_maps(image)
        with pytest.raises(InputError, match="gives features, not lines: lines\\(\\) does not apply"):
            model.lines(image)
    assert list(maps)[:5] == [("conv1", 3), ("conv1", 21), ("conv1", 48), ("conv1", 56), ("layer1", 0)]
    assert len(maps) == 4 + 64
    for (layer, channel), picture in maps.items():
        assert np.array_equal(picture, read_image(out / f"p-{layer}-c{channel}.png")), (layer, channel)


@pytest.mark.parametrize(
    ("image", "message"),
    [
        ([[0, 1]], "image must be a numpy array, not list"),
        (np.zeros((4, 4, 4), np.uint8), "got shape (4, 4, 4) (RGBA: composite it, or read the file"),
        (np.zeros((0, 4), np.uint8), "image must be (H, W) gray or (H, W, 3) RGB, got shape (0, 4)"),
        (np.zeros((8, 8), np.int64), "image must be uint8, uint16 or float in [0, 1], got int64"),
        (np.full((8, 8), 255.0, np.float32), "a float image must lie in [0, 1], got values from 255.0"),
        (np.full((8, 8), np.nan, np.float32), "a float image must lie in [0, 1], got values from nan"),
    ],
)
def test_bad_images_get_one_line_errors(image: object, message: str) -> None:
    with toolkit.LineModel() as model, pytest.raises(InputError) as error:
        model.lines(image)  # type: ignore[arg-type]
    assert message in str(error.value) and "\n" not in str(error.value)


def test_bad_requests_get_the_clis_messages(tmp_path: Path) -> None:
    shipped = "shipped: contour, contour-coarse, contour-thin, unet-light, unet-light-faint"
    with pytest.raises(InputError, match=f"no shipped model 'unet' \\({shipped}\\)"):
        toolkit.LineModel("unet")
    with pytest.raises(InputError, match="--backend must be one of"):
        toolkit.LineModel(backend="cuda")
    image = sketch(32, 32, seed=0)
    with toolkit.LineModel() as model:
        with pytest.raises(InputError, match="--format must be one of gray, binary, alpha, svg, not jpeg"):
            model.lines(image, "jpeg")
        with pytest.raises(InputError, match=r"--scale must lie between 0\.05 and 8, not 0"):
            model.probability(image, scale=0)
        with pytest.raises(InputError, match="gives lines, not features: feature_maps\\(\\) does not apply"):
            model.feature_maps(image)
        with pytest.raises(InputError, match=r"lines\(\) returns pixels: trace a binary picture with"):
            model.lines(image, "svg")
        svg = model.svg(sketch(64, 96, seed=1))
    assert svg.startswith("<?xml") and 'width="96"' in svg and "<path" in svg
