"""Reading images from disk for the runtime: any file OpenCV decodes, as RGB or gray, never BGR.

PNG goes through imagecodecs (libpng with zlib-ng) instead: a 10000x8000 RGB scan decodes in
0.9-1.2 s where OpenCV's libpng took 1.9-2.2 s (same file, taking turns, 2026-12-03, AMD EPYC,
2 cores), and decode was the largest host stage of a large scan (BENCHMARKS.md). It hands out RGB
(no BGR swap) and releases the GIL, so the folder reader thread still overlaps. Torch-free, like
everything under toolkit.runtime that uses it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import cv2
import imagecodecs
import numpy as np

from toolkit.core.errors import InputError

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")


# Decompression bombs: a few KB of PNG can claim gigapixels. Sizes are read from the header first.
DEFAULT_MAX_PIXELS = 400_000_000  # a 20000 x 20000 scan


def header_size(path: Path) -> tuple[int, int] | None:
    """(width, height) from the file header alone (Pillow reads no pixels here); None if unknown."""
    from PIL import Image, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = None  # our own limit applies, with a message that names the option
    try:
        with warnings.catch_warnings(record=True) as caught, Image.open(path) as image:
            warnings.simplefilter("always")
            size = image.size
    except (UnidentifiedImageError, OSError, ValueError):
        return None  # OpenCV may still read it; it also refuses anything over its own limit
    for warning in caught:  # e.g. "Corrupt EXIF data": the decode that follows says what matters
        log.debug("%s: Pillow: %s", path, warning.message)
    return size


# libjpeg inside OpenCV prints its warnings ("Corrupt JPEG data: 860 extraneous bytes") with its own
# fprintf to the process's stderr, past OpenCV's log level: the decode takes that file descriptor for
# itself (one JPEG at a time) and hands what was printed to our log, where -v shows it.
STDERR_LOCK = threading.Lock()


@contextlib.contextmanager
def libjpeg_lines_to_log(path: Path) -> Iterator[None]:
    with STDERR_LOCK, tempfile.TemporaryFile() as sink:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            for line in sink.read().decode(errors="replace").splitlines():
                log.debug("%s: libjpeg: %s", path, line)


def quiet_opencv(verbose: bool = False) -> None:
    """OpenCV's own console lines ("[ERROR:0@0.3] ... TIFF_Error ...") only with -v: a file it cannot
    decode is reported as our one line naming the file."""
    levels = getattr(cv2.utils, "logging", None)
    if levels is not None:
        levels.setLogLevel(levels.LOG_LEVEL_WARNING if verbose else levels.LOG_LEVEL_SILENT)
    else:  # OpenCV 4.x wheels have no cv2.utils.logging; its levels: 0 silent, 3 warning
        cv2.setLogLevel(3 if verbose else 0)


def read_image(path: str | Path, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """(H, W) gray or (H, W, 3) RGB, uint8 or uint16 as stored, upright as EXIF says (JPEG); alpha is
    composited onto white. Images over `max_pixels` are refused before they are decoded."""
    path = Path(path)
    size = header_size(path) if max_pixels is not None and path.is_file() else None
    if size is not None and size[0] * size[1] > max_pixels:
        raise InputError(
            f"{path}: {size[0]}x{size[1]} is {size[0] * size[1] / 1e6:.0f} megapixels, over the limit of "
            f"{max_pixels / 1e6:.0f} (--max-pixels)"
        )
    try:
        data = np.fromfile(path, dtype=np.uint8)  # np.fromfile + imdecode also reads non-ASCII paths
    except OSError as error:
        raise InputError(f"{path}: cannot read ({error.strerror or error})") from error
    if data.size == 0:
        raise InputError(f"{path}: empty file")
    if data[:8].tobytes() == b"\x89PNG\r\n\x1a\n":
        if b"IEND" not in data[-1024:].tobytes():
            # said here, in one line, before libpng prints its own to the console
            raise InputError(f"{path}: truncated PNG (the file ends before its IEND chunk)")
        return png_pixels(path, data)
    # JPEG carries the camera's orientation in EXIF; OpenCV applies it except under IMREAD_UNCHANGED,
    # which we need elsewhere for alpha and 16 bits (neither exists in JPEG).
    is_jpeg = data[:2].tobytes() == b"\xff\xd8"
    flags = cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR if is_jpeg else cv2.IMREAD_UNCHANGED
    if is_jpeg:
        with libjpeg_lines_to_log(path):
            image = cv2.imdecode(data, flags)
    else:
        image = cv2.imdecode(data, flags)
    if image is None:
        raise InputError(f"{path}: not a readable image (OpenCV cannot decode it)")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        return image
    if image.shape[2] == 4:
        return composite_on_white(cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA))
    # in place: a second copy of a 10000x8000 scan would be 240 MB more at its peak
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB, dst=image)


def png_pixels(path: Path, data: np.ndarray) -> np.ndarray:
    """A PNG's pixels as `read_image` gives them: gray or RGB, any alpha composited onto white."""
    try:
        image = imagecodecs.png_decode(data)  # (H, W) or (H, W, C): gray, gray+alpha, RGB, RGBA
    except (imagecodecs.PngError, ValueError) as error:
        # libpng's message, except where it quoted the corrupt bytes themselves, which cannot be shown
        detail = "corrupt chunk" if isinstance(error, UnicodeDecodeError) else error
        raise InputError(f"{path}: not a readable PNG ({detail})") from None
    if image.ndim == 3 and image.shape[2] in (2, 4):
        return composite_on_white(image)
    return image


def composite_on_white(image: np.ndarray) -> np.ndarray:
    """Line art with transparency means ink on nothing: show it on white paper. (H, W, C + 1) colour
    channels then alpha -> (H, W, 3) RGB, or (H, W) where the colour was gray."""
    full = np.iinfo(image.dtype).max
    alpha = image[:, :, -1:].astype(np.float32) / full
    colour = image[:, :, :-1].astype(np.float32) * alpha + full * (1.0 - alpha)
    composited = np.round(colour).astype(image.dtype)
    return composited[:, :, 0] if composited.shape[2] == 1 else composited


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
