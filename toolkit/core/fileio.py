"""Writing files so that a crash or Ctrl-C never leaves a half-written artifact behind."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import cv2
import numpy as np

from toolkit.core.errors import InputError, UsageError
from toolkit.core.provenance import png_with_text


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


UMASK = _current_umask()


def file_identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of an existing file, None otherwise: the same file under any name or link."""
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_dev, status.st_ino


def refuse_replacing_inputs(outputs: Iterable[Path], inputs: Iterable[Path]) -> None:
    """A usage error if an output would be written over an input, whatever --overwrite says: the same
    path once symlinks are resolved, or the same file under another name (a hard link)."""
    by_path: dict[Path, Path] = {}
    by_identity: dict[tuple[int, int], Path] = {}
    for source in inputs:
        by_path.setdefault(source.resolve(), source)
        identity = file_identity(source)
        if identity is not None:
            by_identity.setdefault(identity, source)
    for output in outputs:
        identity = file_identity(output)
        source = by_path.get(output.resolve()) or (by_identity.get(identity) if identity else None)
        if source is not None:
            raise UsageError(
                f"{output}: is the input {source} itself; an output never replaces an input, whatever "
                "--overwrite says (write to another folder with -o)"
            )


def refuse_overwrite(path: Path, overwrite: bool) -> None:
    if path.exists() and not overwrite:
        raise InputError(f"{path}: already exists (pass --overwrite to replace it)")


@contextlib.contextmanager
def atomic_path(path: Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success rename it onto `path`, on error delete it.

    The rename is atomic on one file system, so readers see either the old file or the whole new one.
    """
    refuse_overwrite(path, overwrite)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        # mkstemp makes 0600, and some writers (safetensors) replace the file: the result should
        # read like any other file the user writes
        tmp.chmod(0o666 & ~UMASK)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_png(
    path: Path, pixels: np.ndarray, overwrite: bool = False, text: dict[str, str] | None = None
) -> None:
    """Gray, RGB or RGBA uint8/uint16 pixels as a PNG, atomically, with `text` entries (iTXt) if given."""
    if pixels.ndim == 2:
        bgr = pixels
    else:
        bgr = cv2.cvtColor(pixels, cv2.COLOR_RGBA2BGRA if pixels.shape[2] == 4 else cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(".png", bgr)
    if not ok:
        raise InputError(f"{path}: OpenCV could not encode the image")
    with atomic_path(path, overwrite) as tmp:
        tmp.write_bytes(png_with_text(encoded.tobytes(), text) if text else encoded.tobytes())


def write_json(path: Path, data: object, overwrite: bool = False) -> None:
    """`data` as indented JSON, atomically."""
    with atomic_path(path, overwrite) as tmp:
        tmp.write_text(json.dumps(data, indent=2))
