"""The large-scan benchmark's scan (copies of one 1024 px page, benchmarks/large_scan.py) at several
sizes: the `PencilSnr` reading of `unet-light`'s lines (FP32; a whole pass up to 3000 px, a probe of 9
windows from 3072) and the road taken. Output, 2026-12-05, the VNNI EPYC: 1024 11.053 unet-light,
2048 5.56 unet-light, 3000 3.756 unet-light-faint, 3072 8.407 unet-light (probed), 4096 3.172
unet-light-faint (probed): the reading drifts down on copies of one page. Mirrored copies (no seams,
tried and not kept) read 11.05, 8.11, 5.2, 9.46 and 1.63 (sent): not the seams alone; the copies'
own vignetting and lighting, repeated every 1024 px, are no page's (size_check.py: pages drawn at
their own size read 16-31 up to 4096 px).

    python probe_check.py   # from the repository's root
"""

import sys

sys.path.insert(0, "benchmarks")
from large_scan import scan

from toolkit import LineModel

with LineModel("unet-light", precision="fp32") as model:
    for side in (1024, 2048, 3000, 3072, 4096):
        model.lines(scan("sketch", side, side), "binary")
        taken = model.last_route
        print(side, round(taken.value, 3), taken.model, flush=True)
