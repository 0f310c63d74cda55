"""Shared fixtures: small exported models (made once per session) and images on disk."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import pytest
from hypothesis import settings

from toolkit.core.metadata import read_card
from toolkit.core.shipped import SHIPPED_DIR
from toolkit.data.samples import painting, sketch
from toolkit.engines.build import Profile
from toolkit.engines.cuda import CudaError, device_properties
from toolkit.engines.header import EngineHeader, Platform, sha256_of
from toolkit.export.onnx_export import export_onnx
from toolkit.models.build import load_model
from toolkit.models.registry import get_spec

# Property tests draw the same examples on every run, so CI passes or fails for a reason, not a seed.
# A random draw once found height 214, width 40, tile 64, overlap 16 tiling at 34.4 dB (stated: >= 35).
settings.register_profile("reproducible", derandomize=True)
settings.load_profile("reproducible")

# name -> (model, in_channels, feature selection); unet-light and contour are small enough for 2 cores.
EXPORTS = {
    "unet-light": ("unet-light", None, None),
    "contour": ("contour", None, None),
    "contour-gray": ("contour", 1, None),
    "contour-features": ("contour", None, {"conv1": [3, 21, 48, 56], "layer1": None}),
}


@pytest.fixture(scope="session")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("export")
    paths = {}
    for key, (model, channels, features) in EXPORTS.items():
        loaded = load_model(get_spec(model, channels), None, seed=0, features=features)
        paths[key] = export_onnx(loaded, folder / f"{key}.onnx").path
    return paths


@pytest.fixture()
def image_folder(tmp_path: Path) -> Path:
    """A gray PNG at an odd size and an RGB JPEG, as a user's folder would hold them."""
    folder = tmp_path / "images"
    folder.mkdir()
    cv2.imwrite(str(folder / "a-sketch.png"), sketch(71, 93, seed=5))
    cv2.imwrite(str(folder / "b-painting.jpg"), cv2.cvtColor(painting(64, 80, seed=6), cv2.COLOR_RGB2BGR))
    return folder


# Engines without a TensorRT builder: real headers around stand-in plan bytes (tests of engines, inspect).
ORIN = Platform("10.3.0.30", "Orin", "8.7")


def header_for(plan: bytes, built_on: Platform = ORIN, **changes: object) -> EngineHeader:
    """The header `toolkit build-engine` would write for the shipped unet-light graph and `plan`."""
    shipped = SHIPPED_DIR / "unet-light.onnx"
    card = read_card(shipped)
    header = EngineHeader(
        card=card.to_props(),
        built_on=built_on,
        precision=card.precision,
        profile=Profile().input_shapes(card),
        onnx_file=str(shipped),
        onnx_sha256=sha256_of(shipped.read_bytes()),
        engine_sha256=sha256_of(plan),
        build_command="toolkit build-engine unet-light -o engines/unet-light.engine",
    )
    return dataclasses.replace(header, **changes)


def has_gpu() -> bool:
    try:
        device_properties()
    except CudaError:
        return False
    return True
