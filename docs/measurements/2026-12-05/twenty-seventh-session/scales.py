"""The shipped expert run at other scales of the page (`LineModel.probability(scale=...)`), and the
mean of two scales' probabilities, on faint pages:

    python scales.py unet-light-faint held-faint-424
"""

import sys

import numpy as np

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from probe_common import probe


def at(*scales: float):
    return lambda runner, image: np.mean([runner.probability(image, scale=s) for s in scales], axis=0)


arms = {f"x{s:g}": at(s) for s in (1.0, 0.5, 0.75, 1.25, 1.5)}
arms |= {f"mean x1 x{s:g}": at(1.0, s) for s in (0.5, 0.75, 1.25, 1.5)}
probe(sys.argv[1], sys.argv[2:], arms)
