"""Reading images from disk for the runtime: any file OpenCV decodes, as RGB or gray, never BGR.

Torch-free, like everything under toolkit.runtime that uses it.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from toolkit.errors import InputError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")


def read_image(path: Path) -> np.ndarray:
    """(H, W) gray or (H, W, 3) RGB, uint8 or uint16 as stored, upright as EXIF says (JPEG); alpha is
    composited onto white."""
    try:
        data = np.fromfile(path, dtype=np.uint8)  # np.fromfile + imdecode also reads non-ASCII paths
    except OSError as error:
        raise InputError(f"{path}: cannot read ({error.strerror or error})") from error
    if data.size == 0:
        raise InputError(f"{path}: empty file")
    # JPEG carries the camera's orientation in EXIF; OpenCV applies it except under IMREAD_UNCHANGED,
    # which we need elsewhere for alpha and 16 bits (neither exists in JPEG).
    is_jpeg = data[:2].tobytes() == b"\xff\xd8"
    flags = cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR if is_jpeg else cv2.IMREAD_UNCHANGED
    image = cv2.imdecode(data, flags)
    if image is None:
        raise InputError(f"{path}: not a readable image (OpenCV cannot decode it)")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        return image
    if image.shape[2] == 4:
        return composite_on_white(cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA))
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def composite_on_white(rgba: np.ndarray) -> np.ndarray:
    """Line art with transparency means ink on nothing: show it on white paper."""
    full = np.iinfo(rgba.dtype).max
    alpha = rgba[:, :, 3:4].astype(np.float32) / full
    rgb = rgba[:, :, :3].astype(np.float32) * alpha + full * (1.0 - alpha)
    return np.round(rgb).astype(rgba.dtype)


def list_images(folder: Path) -> list[Path]:
    """The image files directly in `folder`, sorted by name."""
    if not folder.is_dir():
        raise InputError(f"{folder}: not a folder")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise InputError(f"{folder}: holds no images ({', '.join(IMAGE_SUFFIXES)})")
    return files


def lines_of(image: np.ndarray) -> np.ndarray:
    """(H, W) bool, True = line: pixels of a line image darker than its own mean.

    The reference's "adaptive threshold" for targets; we read clean line art and line predictions
    given as images the same way.
    """
    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    gray = gray.astype(np.float32)
    return gray < gray.mean()
