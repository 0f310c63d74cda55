"""Line-art deployment toolkit: train, export, verify and run line-extraction CNNs.

The Python API (toolkit.api): `with toolkit.LineModel("contour") as model: lines = model.lines(image)`.
"""

from __future__ import annotations

from toolkit.core.version import __version__

__all__ = ["LineModel", "Tiling", "__version__", "read_image", "trace_svg"]


def __getattr__(name: str) -> object:
    # The API loads when first used (PEP 562), so `import toolkit` stays light for the CLI's startup.
    if name in __all__:
        from toolkit import api

        return getattr(api, name)
    raise AttributeError(f"module 'toolkit' has no attribute {name!r}")
