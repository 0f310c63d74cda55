"""Pictures of a run: training curves, and input | prediction | target sheets."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from toolkit.core.fileio import atomic_path, write_png

CURVES = (  # panel title, (history key, label) pairs
    ("loss", (("loss", "train"), ("val_loss", "validation"))),
    (
        "PMI / GMI",
        (("pmi", "train PMI"), ("gmi", "train GMI"), ("val_pmi", "val PMI"), ("val_gmi", "val GMI")),
    ),
    ("pixel accuracy", (("accuracy", "train"), ("val_accuracy", "validation"))),
    ("F1", (("f1", "train pixel"), ("val_f1", "val pixel"), ("val_line_f1", "val line (r=2)"))),
)


def training_curves(history: list[dict], path: Path, *, start: dict[str, float] | None = None) -> None:
    """One panel per entry of CURVES over the epochs; with `start` (the validation metrics of the
    weights a warm start began from), each validation curve starts at epoch 0 from that point."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(CURVES), figsize=(4.2 * len(CURVES), 3.4))
    for axis, (title, series) in zip(axes, CURVES):
        for key, label in series:
            points = [(entry["epoch"], entry[key]) for entry in history]
            if start and key in start:
                points.insert(0, (0, start[key]))
            axis.plot(*zip(*points), label=label, marker="." if len(points) < 30 else None)
        axis.set_title(title)
        axis.set_xlabel("epoch")
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7)
    figure.tight_layout()
    with atomic_path(path, overwrite=True) as tmp:
        figure.savefig(tmp, format="png", dpi=90)
    plt.close(figure)


def to_display(x: np.ndarray, mean: list[float], std: list[float]) -> np.ndarray:
    """A normalised (C, H, W) model input back to (H, W, 3) uint8 RGB."""
    pixels = x * np.asarray(std, np.float32)[:, None, None] + np.asarray(mean, np.float32)[:, None, None]
    pixels = np.clip(pixels.transpose(1, 2, 0) * 255, 0, 255).astype(np.uint8)
    return pixels if pixels.shape[2] == 3 else np.repeat(pixels, 3, axis=2)


def lines_to_display(probability: np.ndarray) -> np.ndarray:
    """Line probability (1 = ink) as black on white, (H, W, 3) uint8."""
    gray = np.clip((1 - probability) * 255, 0, 255).astype(np.uint8)
    return np.repeat(gray[..., None], 3, axis=2)


def comparison_sheet(
    inputs: np.ndarray, predictions: np.ndarray, targets: np.ndarray, fmt: object, path: Path, rows: int = 4
) -> None:
    """One row per image: input | prediction | target; `fmt` has the inputs' mean and std."""
    gap = 4
    lines = []
    for x, pred, target in list(zip(inputs, predictions, targets))[:rows]:
        tiles = [
            to_display(x, fmt.mean, fmt.std),
            lines_to_display(pred),
            lines_to_display(target.astype(np.float32)),
        ]
        spacer = np.full((tiles[0].shape[0], gap, 3), 255, np.uint8)
        lines.append(np.concatenate([tiles[0], spacer, tiles[1], spacer, tiles[2]], axis=1))
        lines.append(np.full((gap, lines[-1].shape[1], 3), 255, np.uint8))
    sheet = np.concatenate(lines[:-1], axis=0)
    write_png(path, sheet, overwrite=True)
