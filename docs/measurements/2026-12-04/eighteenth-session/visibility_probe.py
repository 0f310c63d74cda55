"""The held-out 256 px paintings drawn again with another visibility rule for the target."""

import sys
from pathlib import Path

import toolkit.data.synthetic as synthetic

synthetic.VISIBLE_CONTRAST = float(sys.argv[1])
synthetic.write_pairs("painting", 200, 256, 0, Path(sys.argv[2]), overwrite=True)
