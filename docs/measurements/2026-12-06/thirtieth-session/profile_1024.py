"""Where one 1024 px sketch's time goes in `draw_lines` behind the shipped `unet-light` route (FP32):
three timed pages, then cProfile over four, by internal time.

    python docs/measurements/2026-12-06/thirtieth-session/profile_1024.py

The page is the large-scan benchmark's (`benchmarks/large_scan.py --scan-cache runs/benchmark-scans`).
It is given raw, so its conditioning (in `toolkit infer` the reader thread's) is in the profile too.
"""

import cProfile
import pstats
import time
from pathlib import Path

from toolkit.imaging.conditioning import conditioned
from toolkit.imaging.imageio import read_image
from toolkit.runtime.backends import make_runner
from toolkit.runtime.infer import scan_plan
from toolkit.runtime.pictures import draw_lines
from toolkit.runtime.tiling import Tiling

SOURCE = Path("runs/benchmark-scans/sketch-1024x1024-seed7-scale4.png")


def main() -> None:
    runner, _ = make_runner("unet-light", precision="fp32")
    with runner:
        image = read_image(SOURCE)
        plan, _ = scan_plan(
            Tiling(memory_mb=4096), conditioned(image, runner.card.conditioning), image.shape[:2], "gray"
        )

        def draw() -> None:
            draw_lines(runner, image, output_format="gray", tiling=plan, size=image.shape[1::-1])

        draw()  # warm-up
        for _ in range(3):
            started = time.perf_counter()
            draw()
            print(f"draw_lines {time.perf_counter() - started:.3f} s")
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(4):
            draw()
        profile.disable()
        pstats.Stats(profile).sort_stats("tottime").print_stats(18)


if __name__ == "__main__":
    main()
