"""The weights and graphs we ship inside the package: where they are and how a name finds them. Torch-free.

`toolkit infer --model contour` runs the shipped `contour.onnx` on a machine with only the runtime
installed (a Jetson, a render node), so nothing here may import the model registry (which builds
PyTorch modules): a shipped model name is the stem of a graph in this folder, nothing else.
"""

from __future__ import annotations

from pathlib import Path

SHIPPED_DIR = Path(__file__).resolve().parent.parent / "weights"
SHIPPED_PREFIX = "shipped:"  # how a model card names a shipped file, wherever the package lives


def shipped_graphs() -> list[str]:
    """Names of the ONNX graphs we ship: what `--model NAME` runs."""
    return sorted(path.stem for path in SHIPPED_DIR.glob("*.onnx"))


def is_shipped(path: Path) -> bool:
    """`path` is one of the package's own files (outputs derived from it go elsewhere)."""
    return path.resolve().parent == SHIPPED_DIR


def weights_name(weights: Path | None) -> str:
    """How a card records `weights`: shipped files by name, so the card holds on any machine."""
    if weights is None:
        return ""
    return SHIPPED_PREFIX + weights.name if is_shipped(weights) else str(weights)


def resolve_weights_name(name: str) -> Path:
    """A card's `weights_file` as a path: 'shipped:unet-light.safetensors' -> the package's copy."""
    if name.startswith(SHIPPED_PREFIX):
        return SHIPPED_DIR / name.removeprefix(SHIPPED_PREFIX)
    return Path(name)
