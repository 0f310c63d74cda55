"""Decoding a large scan: `read_image` against OpenCV's own decoder, in one run.

    python benchmarks/decode.py --size 10000x8000 --rounds 3

A synthetic painting page tiled up to the size (as benchmarks/large_scan.py makes its scans) is written
as PNG (OpenCV's encoder, as `toolkit infer` writes) and as uncompressed, LZW and Deflate TIFF
(Pillow). Each file is then decoded by OpenCV (`cv2.imdecode` and its BGR-to-RGB swap: what
`read_image` did before it used imagecodecs for PNG and plain TIFF) and by `read_image`, taking turns,
`--rounds` times; each counts its best round, and the pixels must be equal. Prints one line per format
with the CPU's name and flags; `--json` writes the rows.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from large_scan import cpu_description, parse_size, scan
from PIL import Image

from toolkit.core.fileio import write_png
from toolkit.imaging.imageio import read_image

TIFF_COMPRESSIONS = {"TIFF": None, "TIFF LZW": "tiff_lzw", "TIFF Deflate": "tiff_adobe_deflate"}


def opencv_rgb(path: Path) -> np.ndarray:
    image = cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_UNCHANGED)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB, dst=image)


def best_of(rounds: int, path: Path) -> tuple[float, float]:
    """Best seconds of OpenCV and of `read_image` on `path`, taking turns."""
    opencv, ours = [], []
    for _ in range(rounds):
        started = time.perf_counter()
        expected = opencv_rgb(path)
        opencv.append(time.perf_counter() - started)
        started = time.perf_counter()
        image = read_image(path)
        ours.append(time.perf_counter() - started)
        if not np.array_equal(image, expected):
            raise SystemExit(f"{path.name}: read_image and OpenCV decode different pixels")
        del expected, image
    return min(opencv), min(ours)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", default="10000x8000")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    height, width = parse_size(args.size)
    print(f"CPU: {cpu_description()}; a {width}x{height} RGB painting page")
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        pixels = scan("painting", height, width)
        files = {"PNG": Path(scratch) / "scan.png"}
        write_png(files["PNG"], pixels)
        for name, compression in TIFF_COMPRESSIONS.items():
            files[name] = Path(scratch) / f"scan-{compression or 'raw'}.tif"
            Image.fromarray(pixels).save(files[name], compression=compression)
        del pixels
        for name, path in files.items():
            opencv, ours = best_of(args.rounds, path)
            row = {
                "format": name,
                "size": f"{width}x{height}",
                "file_mb": round(path.stat().st_size / 1e6, 1),
                "opencv_s": round(opencv, 3),
                "read_image_s": round(ours, 3),
                "speedup": round(opencv / ours, 2),
            }
            rows.append(row)
            print(
                f"{name} ({row['file_mb']} MB): OpenCV {row['opencv_s']} s, "
                f"read_image {row['read_image_s']} s ({row['speedup']}x)",
                flush=True,
            )
    if args.json:
        args.json.write_text(json.dumps({"cpu": cpu_description(), "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
