"""The shipped expert on faint pages denoised before its conditioning (it was trained without it):

python denoise.py unet-light-faint held-faint-424
"""

import sys

import cv2

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from probe_common import probe

FILTERS = {
    "none": lambda im: im,
    "gauss 0.8": lambda im: cv2.GaussianBlur(im, (0, 0), 0.8),
    "median 3": lambda im: cv2.medianBlur(im, 3),
    "nlm 3": lambda im: cv2.fastNlMeansDenoisingColored(im, None, 3, 3, 7, 21),
    "nlm 6": lambda im: cv2.fastNlMeansDenoisingColored(im, None, 6, 6, 7, 21),
}


def denoised(denoise):
    return lambda runner, image: runner.probability(denoise(image))


arms = {name: denoised(denoise) for name, denoise in FILTERS.items()}
probe(sys.argv[1], sys.argv[2:], arms)
