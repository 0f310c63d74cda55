"""The runner contract, the same for every backend, and the image pipeline around it."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, TiffImagePlugin

from toolkit.core.errors import InputError
from toolkit.core.metadata import read_card
from toolkit.imaging.imageio import composite_on_white, read_image
from toolkit.models.reference import reference_model
from toolkit.runtime import Runner, pad_to_stride, predict, to_model_input
from toolkit.runtime.onnxruntime_runner import (
    OnnxRuntimeRunner,
    installed_onnxruntimes,
    warn_if_onnxruntimes_clash,
)
from toolkit.runtime.torch_runner import TorchRunner


def onnxruntime_backend(path: Path) -> Runner:
    return OnnxRuntimeRunner(path)


def torch_backend(path: Path) -> Runner:
    card = read_card(path)
    return TorchRunner(reference_model(card, path, None), card)


def tensorrt_backend(path: Path) -> Runner:
    """An engine built from the graph; needs TensorRT's builder and a GPU, so it skips on CI machines."""
    pytest.importorskip("tensorrt", reason="TensorRT's builder is not installable here (NVIDIA's index)")
    from toolkit.engines.build import BuildOptions, Profile, build_engine
    from toolkit.runtime.tensorrt_runner import TensorRTRunner

    engine = path.with_name(f"{path.stem}-contract.engine")
    options = BuildOptions(Profile((1, 16, 16), (2, 32, 32), (2, 32, 32)))
    build_engine(
        path, engine, options=options, command="test_every_backend_keeps_the_contract", overwrite=True
    )
    return TensorRTRunner(engine)


BACKENDS: dict[str, Callable[[Path], Runner]] = {
    "onnxruntime": onnxruntime_backend,
    "torch": torch_backend,
    "tensorrt": tensorrt_backend,
}


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_every_backend_keeps_the_contract(exported: dict[str, Path], backend: str) -> None:
    with BACKENDS[backend](exported["contour-features"]) as runner:
        assert runner.card.output_names == ["conv1", "layer1"]
        outputs = runner.infer({"image": np.random.default_rng(0).random((2, 3, 16, 24), np.float32)})
        assert sorted(outputs) == ["conv1", "layer1"]
        assert outputs["conv1"].dtype == np.float32 and outputs["conv1"].shape == (2, 4, 8, 12)
        assert outputs["layer1"].shape == (2, 64, 4, 6)
        bad_feeds = {
            "expected one input 'image'": {"x": np.zeros((1, 3, 16, 16), np.float32)},
            "must be a float32 numpy array": {"image": np.zeros((1, 3, 16, 16), np.float64)},
            "must be a non-empty NCHW batch": {"image": np.zeros((3, 16, 16), np.float32)},
            "must have 3 channel": {"image": np.zeros((1, 1, 16, 16), np.float32)},
            "positive multiples of 4, got 18x16": {"image": np.zeros((1, 3, 18, 16), np.float32)},
        }
        for message, feed in bad_feeds.items():
            with pytest.raises(InputError, match=message):
                runner.infer(feed)


def test_onnxruntime_leaves_the_cores_when_a_run_ends(exported: dict[str, Path]) -> None:
    """Left to itself, ONNX Runtime's workers spin on the cores after a run, waiting for the next one
    (40-50 ms of a core after each 1024 px pass of `unet-light`, 2026-12-06: docs/measurements/
    2026-12-06/thirty-first-session/spinning.py): the host work that follows a pass (a route's
    readings, writing, the next scan's decoding) and a road's expert would share the cores with it."""
    with OnnxRuntimeRunner(exported["unet-light"], threads=2) as runner:
        batch = np.random.default_rng(0).random((1, runner.card.input_channels, 256, 256), np.float32)
        runner.infer_batch(batch)
        burnt = []
        for _ in range(3):
            runner.infer_batch(batch)
            cpu = time.process_time()
            time.sleep(0.2)
            burnt.append(time.process_time() - cpu)
    assert min(burnt) < 0.005, burnt  # CPU seconds the process spent while it slept


def test_runner_must_be_activated(exported: dict[str, Path]) -> None:
    with pytest.raises(RuntimeError, match="activate the runner"):
        OnnxRuntimeRunner(exported["unet-light"]).infer({"image": np.zeros((1, 1, 8, 8), np.float32)})


def test_pad_to_stride_mirrors_and_predict_crops_back(exported: dict[str, Path]) -> None:
    batch = np.arange(2 * 1 * 5 * 6, dtype=np.float32).reshape(2, 1, 5, 6)
    padded = pad_to_stride(batch, 4)
    assert padded.shape == (2, 1, 8, 8)
    np.testing.assert_array_equal(padded[:, :, :5, :6], batch)
    np.testing.assert_array_equal(padded[:, :, 5, :6], batch[:, :, 3, :])  # reflected about the last row
    assert pad_to_stride(padded, 4) is padded
    with OnnxRuntimeRunner(exported["unet-light"]) as runner:
        tiny = predict(runner, [np.full((3, 2), 255, np.uint8)])["lines"]  # smaller than the stride
        assert tiny.shape == (1, 1, 3, 2)
        with pytest.raises(InputError, match="one batch needs images of one size"):
            predict(runner, [np.zeros((8, 8), np.uint8), np.zeros((8, 16), np.uint8)])


def test_model_input_follows_the_card(exported: dict[str, Path]) -> None:
    contour, unet = read_card(exported["contour"]), read_card(exported["unet-light"])
    rgb = np.zeros((2, 3, 3), np.uint8)
    rgb[..., 0] = 255
    x = to_model_input(rgb, contour)
    assert x.shape == (3, 2, 3) and x.dtype == np.float32
    np.testing.assert_allclose(x[:, 0, 0], [(1 - 0.485) / 0.229, -0.456 / 0.224, -0.406 / 0.225], rtol=1e-6)
    gray16 = np.full((4, 5), 65535, np.uint16)
    np.testing.assert_allclose(to_model_input(gray16, unet), 1.0)
    assert to_model_input(rgb, read_card(exported["contour-gray"])).shape == (1, 2, 3)  # RGB to a gray model


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_model_input_is_the_normalisation_formula_exactly(exported: dict[str, Path], dtype: type) -> None:
    """Integer images go through a lookup table per channel (one pass); it must agree bit for bit
    with (pixel / max - mean) / std in float32, written into a batch slot or a new array alike."""
    card = read_card(exported["contour"])
    rng = np.random.default_rng(1)
    full = np.iinfo(dtype).max if dtype != np.float32 else 1
    image = (rng.random((7, 9, 3)) * full).astype(dtype)
    pixels = image.astype(np.float32) / np.float32(full)
    mean, std = (np.asarray(v, np.float32)[:, None, None] for v in (card.mean, card.std))
    expected = (pixels.transpose(2, 0, 1) - mean) / std
    np.testing.assert_array_equal(to_model_input(image, card), expected)
    batch = np.zeros((2, 3, 7, 9), np.float32)
    to_model_input(image, card, out=batch[1])
    np.testing.assert_array_equal(batch[1], expected)
    assert not batch[0].any()


def test_read_image_composites_alpha_on_white_and_keeps_16_bit(tmp_path: Path) -> None:
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[:2, :, 3] = 255  # top half opaque black ink, bottom half fully transparent
    cv2.imwrite(str(tmp_path / "ink.png"), rgba)
    image = read_image(tmp_path / "ink.png")
    assert image.shape == (4, 4, 3)
    assert image[:2].max() == 0 and image[2:].min() == 255
    cv2.imwrite(str(tmp_path / "deep.png"), np.full((3, 3), 40000, np.uint16))
    deep = read_image(tmp_path / "deep.png")
    assert deep.dtype == np.uint16 and deep.max() == 40000
    gray_alpha = np.zeros((4, 4, 2), np.uint8)
    gray_alpha[:, :2, 1] = 255  # left half opaque black, right half transparent
    Image.fromarray(gray_alpha, "LA").save(tmp_path / "gray-ink.png")
    gray = read_image(tmp_path / "gray-ink.png")
    assert gray.shape == (4, 4) and gray[:, :2].max() == 0 and gray[:, 2:].min() == 255


@pytest.mark.parametrize("mode", ["L", "RGB", "P", "I;16"])
def test_read_image_gives_png_pixels_as_opencv_decodes_them_in_rgb(tmp_path: Path, mode: str) -> None:
    """PNG is decoded by imagecodecs (twice OpenCV's speed on a large scan), to the same pixels."""
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)
    picture = Image.fromarray(pixels).convert(mode) if mode != "I;16" else None
    if mode == "I;16":
        cv2.imwrite(str(tmp_path / "scan.png"), rng.integers(0, 65536, (37, 53), dtype=np.uint16))
    else:
        picture.save(tmp_path / "scan.png")
    expected = cv2.imread(str(tmp_path / "scan.png"), cv2.IMREAD_UNCHANGED)
    if expected.ndim == 3:
        expected = cv2.cvtColor(expected, cv2.COLOR_BGR2RGB)
    image = read_image(tmp_path / "scan.png")
    assert image.dtype == expected.dtype
    np.testing.assert_array_equal(image, expected)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (b"GIF89a....", "not a readable image"),
        (b"\x89PNG\r\n\x1a\n cut off", "truncated PNG \\(the file ends before its IEND chunk\\)"),
        (b"\x89PNG\r\n\x1a\n not a header, then IEND", "not a readable PNG \\("),
    ],
)
def test_read_image_errors_name_the_file(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "scan.png"
    path.write_bytes(content)
    with pytest.raises(InputError, match=f"scan.png: {message}"):
        read_image(path)
    with pytest.raises(InputError, match=r"missing\.png: cannot read"):
        read_image(tmp_path / "missing.png")


@pytest.mark.parametrize(
    ("mode", "save"),
    [
        ("RGB", {}),
        ("RGB", {"compression": "tiff_lzw"}),
        ("RGB", {"compression": "tiff_adobe_deflate"}),
        ("L", {}),
        ("RGBA", {}),
        ("I;16", {}),
        ("P", {}),  # palette: OpenCV expands it
        ("RGB", {"orientation": 6}),  # turned: OpenCV applies the tag
        ("RGBA", {"orientation": 8}),  # OpenCV again, whose RGBA TIFFs come premultiplied
    ],
)
def test_read_image_gives_tiff_pixels_as_opencv_decodes_them_in_rgb(
    tmp_path: Path, mode: str, save: dict
) -> None:
    """Plain TIFFs are decoded by imagecodecs (1.2-15x OpenCV's speed on a large scan), the rest by
    OpenCV; both give the same pixels, alpha (as stored) composited onto white."""
    rng = np.random.default_rng(1)
    if mode == "I;16":
        picture = Image.fromarray(rng.integers(0, 65536, (37, 53), dtype=np.uint16))
    else:
        picture = Image.fromarray(rng.integers(0, 256, (37, 53, 4), dtype=np.uint8), "RGBA").convert(mode)
    if "orientation" in save:
        tags = TiffImagePlugin.ImageFileDirectory_v2()
        tags[274] = save.pop("orientation")
        save["tiffinfo"] = tags
    picture.save(tmp_path / "scan.tif", **save)
    if mode == "RGBA":
        # OpenCV hands RGBA TIFFs out premultiplied (libtiff's RGBA reader): expect the pixels saved
        stored = np.asarray(picture)
        if "tiffinfo" in save:  # turned upright as OpenCV turns it: its alpha is as stored
            turned = cv2.imdecode(np.fromfile(tmp_path / "scan.tif", np.uint8), cv2.IMREAD_UNCHANGED)
            quarter = next(k for k in range(4) if np.array_equal(np.rot90(stored, k)[..., 3], turned[..., 3]))
            stored = np.rot90(stored, quarter)
        expected = composite_on_white(stored)
    else:  # imdecode: OpenCV 5.1's imread fails on a TIFF with an orientation tag
        expected = cv2.imdecode(np.fromfile(tmp_path / "scan.tif", np.uint8), cv2.IMREAD_UNCHANGED)
        expected = expected if expected.ndim == 2 else cv2.cvtColor(expected, cv2.COLOR_BGR2RGB)
    image = read_image(tmp_path / "scan.tif")
    assert image.dtype == expected.dtype
    np.testing.assert_array_equal(image, expected)


def test_read_image_turns_cmyk_into_rgb(tmp_path: Path) -> None:
    """OpenCV hands a CMYK TIFF's four channels out as if they were BGRA."""
    rgb = np.zeros((8, 8, 3), np.uint8)
    rgb[:4] = (200, 30, 30)  # red above, black below
    Image.fromarray(rgb).convert("CMYK").save(tmp_path / "print.tif")
    image = read_image(tmp_path / "print.tif")
    assert image.shape == (8, 8, 3)
    assert image[0, 0, 0] > 150 and image[0, 0, 1:].max() < 80 and image[4:].max() < 30


def jpeg_with_orientation(image: np.ndarray, orientation: int) -> bytes:
    """A JPEG whose EXIF says how to turn it upright (6: rotate 90 degrees clockwise)."""
    tiff = b"II*\x00\x08\x00\x00\x00" + b"\x01\x00" + b"\x12\x01\x03\x00\x01\x00\x00\x00"
    tiff += orientation.to_bytes(2, "little") + b"\x00\x00" + b"\x00\x00\x00\x00"
    payload = b"Exif\x00\x00" + tiff
    app1 = b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload
    encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes()
    return encoded[:2] + app1 + encoded[2:]


def test_read_image_honours_exif_orientation(tmp_path: Path) -> None:
    image = np.full((40, 100), 255, np.uint8)
    image[:, :10] = 0  # a dark band on the left
    (tmp_path / "photo.jpg").write_bytes(jpeg_with_orientation(image, 6))
    upright = read_image(tmp_path / "photo.jpg")
    assert upright.shape[:2] == (100, 40)  # turned 90 degrees
    gray = upright if upright.ndim == 2 else upright.mean(axis=2)
    assert gray[:10].mean() < 60 and gray[-10:].mean() > 200  # the band is now on top


def test_two_onnxruntime_distributions_are_reported_once(
    exported: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """`pip install .[gpu]` over `.[cpu]` leaves onnxruntime-gpu beside onnxruntime: say so, once."""
    record = tmp_path / "site" / "onnxruntime_gpu-1.99.0.dist-info"
    record.mkdir(parents=True)
    (record / "METADATA").write_text("Metadata-Version: 2.1\nName: onnxruntime-gpu\nVersion: 1.99.0\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))  # a real installed-distribution record
    warn_if_onnxruntimes_clash.cache_clear()
    try:
        for _ in range(2):
            with OnnxRuntimeRunner(exported["contour"]):
                pass
    finally:
        warn_if_onnxruntimes_clash.cache_clear()
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1, warnings
    assert "onnxruntime-gpu 1.99.0 are installed side by side" in warnings[0]
    assert "pip uninstall -y onnxruntime onnxruntime-gpu" in warnings[0]
    assert installed_onnxruntimes()[0].startswith("onnxruntime ")
