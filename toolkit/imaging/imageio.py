"""Reading images from disk for the runtime: any file OpenCV decodes, as RGB or gray, never BGR.

PNG and plain TIFF go through imagecodecs instead (libpng with zlib-ng; libtiff). A 10000x8000 RGB
scan, OpenCV against imagecodecs taking turns (2026-12-03, AMD EPYC, 2 cores, a training run beside
them): PNG 1.9-2.6 s against 1.0-1.7 s; uncompressed TIFF 1.5-2.3 against 0.1-0.2; LZW 1.1-1.2
against 0.6-1.0; Deflate 0.7-1.0 against 0.1-0.2. Decode was the largest host stage of a large
scan (BENCHMARKS.md). imagecodecs hands out RGB (no BGR swap) and releases the GIL, so the folder
reader thread still overlaps. Torch-free, like everything under toolkit.runtime that uses it.
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import imagecodecs
import numpy as np

from toolkit.core.errors import InputError

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")


# Decompression bombs: a few KB of PNG can claim gigapixels. Sizes are read from the header first.
DEFAULT_MAX_PIXELS = 400_000_000  # a 20000 x 20000 scan


@dataclass(frozen=True)
class Header:
    """What Pillow reads off a file's header, before any pixel is decoded."""

    width: int
    height: int
    format: str  # Pillow's: "PNG", "TIFF", "JPEG", ...
    mode: str  # Pillow's: "L", "RGB", "RGBA", "I;16", "CMYK", "P", ...
    # a TIFF that imagecodecs decodes to exactly the pixels OpenCV gives, 1.2-15x sooner: one plane of
    # gray (min-is-black) or RGB(A), interleaved, 8 or 16 bits, upright (OpenCV applies the orientation
    # tag, imagecodecs does not); other TIFFs stay with OpenCV
    plain_tiff: bool
    sample_bytes: int = 1  # 2 for 16-bit samples, which Pillow reports as "RGB" in a 16-bit RGB PNG

    @property
    def decoded_bytes(self) -> int:
        """The bytes of what `read_image` returns for the file: gray or RGB, at the file's bit depth."""
        channels = 1 if self.mode in GRAY_MODES else 3
        return self.width * self.height * channels * self.sample_bytes


PLAIN_TIFF_MODES = ("L", "RGB", "RGBA", "I;16")
GRAY_MODES = ("1", "L", "LA", "I", "F", "I;16", "I;16L", "I;16B")
PNG_BIT_DEPTH_AT = 24  # the signature (8), the IHDR chunk's length and type (8), width and height (8)


def sample_bytes(path: Path, image: Any) -> int:
    """Bytes per sample of an opened Pillow image, read off the file where Pillow's mode hides it."""
    if image.format == "PNG":
        with open(path, "rb") as file:
            file.seek(PNG_BIT_DEPTH_AT)
            return 2 if file.read(1)[0] == 16 else 1
    if image.format == "TIFF":
        bits = image.tag_v2.get(258, (8,))
        return 2 if max(bits if isinstance(bits, tuple) else (bits,)) > 8 else 1
    return 2 if image.mode.startswith("I;16") or image.mode == "I" else 1


def read_header(path: Path) -> Header | None:
    """The file's header as Pillow reads it (no pixels); None if Pillow does not know the format."""
    from PIL import Image, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = None  # our own limit applies, with a message that names the option
    try:
        with warnings.catch_warnings(record=True) as caught, Image.open(path) as image:
            warnings.simplefilter("always")
            tags = image.tag_v2 if image.format == "TIFF" else None
            plain = tags is not None and image.mode in PLAIN_TIFF_MODES
            if plain:  # orientation 1, photometric min-is-black or RGB, planar configuration 1
                plain = tags.get(274, 1) == 1 and tags.get(262) in (1, 2) and tags.get(284, 1) == 1
            depth = sample_bytes(path, image)
            header = Header(image.width, image.height, image.format, image.mode, plain, depth)
    except (UnidentifiedImageError, OSError, ValueError):
        return None  # OpenCV may still read it; it also refuses anything over its own limit
    for warning in caught:  # e.g. "Corrupt EXIF data": the decode that follows says what matters
        log.debug("%s: Pillow: %s", path, warning.message)
    return header


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
    """(H, W) gray or (H, W, 3) RGB, uint8 or uint16 as stored, upright as EXIF (JPEG) or the
    orientation tag (TIFF) says; alpha is composited onto white. Images over `max_pixels` are refused
    before they are decoded."""
    path = Path(path)
    header = read_header(path) if path.is_file() else None
    pixels = header.width * header.height if header is not None else 0
    if max_pixels is not None and pixels > max_pixels:
        raise InputError(
            f"{path}: {header.width}x{header.height} is {pixels / 1e6:.0f} megapixels, over the limit of "
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
    if header is not None and header.plain_tiff:
        return tiff_pixels(path, data)
    if header is not None and header.mode == "CMYK":  # OpenCV hands out C, M, Y, K as if BGRA
        return cmyk_as_rgb(path)
    # JPEG carries the camera's orientation in EXIF; OpenCV applies it except under IMREAD_UNCHANGED,
    # which we need elsewhere for alpha and 16 bits (neither exists in JPEG).
    is_jpeg = data[:2].tobytes() == b"\xff\xd8"
    flags = cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR if is_jpeg else cv2.IMREAD_UNCHANGED
    try:
        if is_jpeg:
            with libjpeg_lines_to_log(path):
                image = cv2.imdecode(data, flags)
        else:
            image = cv2.imdecode(data, flags)
    except cv2.error:  # an assertion inside OpenCV on some damaged TIFFs
        image = None
    if image is None:
        raise InputError(f"{path}: not a readable image (OpenCV cannot decode it)")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        return image
    if image.shape[2] == 4:
        # libtiff's RGBA reader, which OpenCV uses, hands colour out premultiplied by alpha
        tiff = header is not None and header.format == "TIFF"
        return composite_on_white(cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA), premultiplied=tiff)
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


def tiff_pixels(path: Path, data: np.ndarray) -> np.ndarray:
    """A plain TIFF's first image (`Header.plain_tiff`), as `read_image` gives it."""
    try:
        image = imagecodecs.tiff_decode(data)  # (H, W) or (H, W, C): gray, RGB, RGBA
    except (imagecodecs.TiffError, ValueError, IndexError) as error:  # IndexError: no readable directory
        raise InputError(f"{path}: not a readable TIFF ({error})") from None
    return composite_on_white(image) if image.ndim == 3 and image.shape[2] == 4 else image


def cmyk_as_rgb(path: Path) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"))
    except (OSError, ValueError) as error:
        raise InputError(f"{path}: not a readable CMYK image ({error})") from None


def composite_on_white(image: np.ndarray, *, premultiplied: bool = False) -> np.ndarray:
    """Line art with transparency means ink on nothing: show it on white paper. (H, W, C + 1) colour
    channels then alpha -> (H, W, 3) RGB, or (H, W) where the colour was gray."""
    full = np.iinfo(image.dtype).max
    alpha = image[:, :, -1:].astype(np.float32) / full
    colour = image[:, :, :-1].astype(np.float32) * (1.0 if premultiplied else alpha) + full * (1.0 - alpha)
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
