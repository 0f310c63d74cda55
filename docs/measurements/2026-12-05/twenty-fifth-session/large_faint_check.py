"""Does the probe send a large faint page to the faint expert? Pages of faint pencil (10-25 grey levels,
every other factor at the sweep's middle), drawn at their own size, seeds 7 and 8: the reading of
`unet-light`'s lines (FP32; 3072 px is read by the probe of 9 windows, 2048 px by a whole pass) and
the road taken.

    python large_faint_check.py
"""

from toolkit import LineModel
from toolkit.analysis.sweep import middle_factors
from toolkit.data.synthetic import make_pair

with LineModel("unet-light", precision="fp32") as model:
    for side in (2048, 3072):
        for seed in (7, 8):
            for contrast in (10.0, 25.0):
                factors = middle_factors("sketch") | {"pencil_contrast": contrast}
                image, _ = make_pair("sketch", side, side, seed, factors=factors)
                model.lines(image, "binary")
                taken = model.last_route
                print(side, seed, contrast, round(taken.value, 2), taken.model, flush=True)
