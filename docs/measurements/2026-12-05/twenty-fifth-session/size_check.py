"""Does the `PencilSnr` reading drift with a page's size? Calm pages (every factor at the sweep's
middle), drawn at their own size, seeds 7 and 8: the reading of `unet-light`'s lines (FP32; from
3072 px read by the probe of 9 windows) and the road taken. Output, 2026-12-05, the VNNI EPYC: 424 px
19.58 / 17.25, 1024 27.44 / 22.0, 2048 27.22 / 24.5, 3000 30.75 / 27.56, 3072 24.56 / 16.56, 4096
27.0 / 20.56, all kept by `unet-light` (a 4096 px page takes 76-118 s to draw).

    python size_check.py
"""

from toolkit import LineModel
from toolkit.analysis.sweep import middle_factors
from toolkit.data.synthetic import make_pair

with LineModel("unet-light", precision="fp32") as model:
    for side in (424, 1024, 2048, 3000, 3072, 4096):
        for seed in (7, 8):
            image, _ = make_pair("sketch", side, side, seed, factors=middle_factors("sketch"))
            model.lines(image, "binary")
            taken = model.last_route
            print(side, seed, round(taken.value, 2), taken.model, flush=True)
