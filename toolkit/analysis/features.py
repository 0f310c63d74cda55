"""Browse the contour trunk's feature maps and rank them, to pick the channels that read as contours.

The reference paper reads single channels of ResNet18's conv1 and layer1 as contour images and asks
that they be browsed for the clearest. For each image this writes, per layer, a sheet of all its
channels (ink = activation, each channel stretched to its own range, so a weak but clean channel
shows) and, at the image's size, the channels that agree best with a line drawing of the same image.

"Agree" is measured, not judged by eye: the Pearson correlation between a channel and the reference
line drawing (its ink, 0 = paper, 1 = line), at the channel's resolution. The reference is a drawing
the user trusts (`target`), or else the line output of a line model, the shipped `contour` by
default. Channels are ranked by their mean correlation over all images. Torch-free: the feature
maps come from any runner whose card lists feature outputs (`toolkit export --features`, or the
PyTorch model itself).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from toolkit.core.errors import InputError, ToolkitError, UsageError
from toolkit.core.fileio import refuse_overwrite, write_png
from toolkit.core.model_ref import form_of
from toolkit.imaging.conditioning import condition
from toolkit.imaging.imageio import read_image
from toolkit.runtime.backends import make_runner
from toolkit.runtime.base import Runner
from toolkit.runtime.feature_maps import channel_file, channel_numbers, ink_levels
from toolkit.runtime.infer import InputFile
from toolkit.runtime.pictures import rescaled
from toolkit.runtime.pipeline import predict
from toolkit.runtime.tiling import predict_tiled

log = logging.getLogger(__name__)

SHEET_COLUMNS = 8
CELL = 192  # sheet cell width in pixels
TITLE_BAND = 32  # pixels above the cells for what the sheet shows
LABEL_BAND = 22  # pixels above each cell for "c21 +0.62"
TOP_COLOUR = (220, 30, 30)  # frame of the best-ranked channels on a sheet


@dataclass(frozen=True)
class ChannelScore:
    layer: str
    channel: int
    correlation: float  # mean over the images read, Pearson r against the reference lines

    @property
    def label(self) -> str:
        return f"{self.layer}:{self.channel}"


@dataclass
class FeatureReport:
    model: str
    reference: str  # what the channels were ranked against
    max_side: int
    ranking: list[ChannelScore]  # best first
    per_image: dict[str, dict[str, list[float]]] = field(default_factory=dict)  # image -> layer -> r
    written: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # one line per image that could not be used

    def top(self, count: int) -> list[ChannelScore]:
        return self.ranking[:count]

    def export_selection(self, count: int) -> list[str]:
        """The `--features` values that export the best `count` channels, e.g. ['conv1:21,3']."""
        by_layer: dict[str, list[int]] = {}
        for score in self.top(count):
            by_layer.setdefault(score.layer, []).append(score.channel)
        return [f"{layer}:{','.join(map(str, channels))}" for layer, channels in by_layer.items()]

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "reference": self.reference,
            "max_side": self.max_side,
            "ranking": [
                {"layer": s.layer, "channel": s.channel, "correlation": round(s.correlation, 4)}
                for s in self.ranking
            ],
            "per_image": {
                image: {layer: [round(r, 4) for r in values] for layer, values in layers.items()}
                for image, layers in self.per_image.items()
            },
            "written": [str(path) for path in self.written],
            "skipped": self.skipped,
        }


def channel_correlations(maps: np.ndarray, ink: np.ndarray) -> np.ndarray:
    """(C,) Pearson r of each of `maps` (C, h, w) with `ink` (H, W), compared at the maps' size.

    A constant channel (dead after ReLU) correlates with nothing: 0.
    """
    height, width = maps.shape[1:]
    reference = cv2.resize(ink.astype(np.float32), (width, height), interpolation=cv2.INTER_AREA).ravel()
    reference -= reference.mean()
    flat = maps.reshape(len(maps), -1).astype(np.float64)
    flat -= flat.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(flat, axis=1) * np.linalg.norm(reference)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = flat @ reference / norms
    return np.nan_to_num(r, nan=0.0)


def as_ink(feature: np.ndarray, size: tuple[int, int] | None = None) -> np.ndarray:
    """(h, w) activation -> uint8 gray, dark = strong (`ink_levels`); resized to `size` (width, height)."""
    return 255 - ink_levels(feature, size)[0]


def feature_sheet(
    title: str, maps: np.ndarray, correlations: np.ndarray, channels: list[int], framed: set[int]
) -> np.ndarray:
    """RGB sheet of every channel in `maps` (C, h, w), labelled with its number and r, best ones framed."""
    height, width = maps.shape[1:]
    cell_h = max(8, round(CELL * height / width))
    rows = -(-len(maps) // SHEET_COLUMNS)
    sheet = np.full((TITLE_BAND + rows * (cell_h + LABEL_BAND), SHEET_COLUMNS * CELL, 3), 255, np.uint8)
    cv2.putText(sheet, title, (4, TITLE_BAND - 10), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 1)
    for index, (feature, r, channel) in enumerate(zip(maps, correlations, channels)):
        top = TITLE_BAND + (index // SHEET_COLUMNS) * (cell_h + LABEL_BAND)
        left = (index % SHEET_COLUMNS) * CELL
        cell = cv2.cvtColor(as_ink(feature, (CELL - 4, cell_h - 4)), cv2.COLOR_GRAY2RGB)
        sheet[top + LABEL_BAND + 2 : top + LABEL_BAND + cell_h - 2, left + 2 : left + CELL - 2] = cell
        colour = TOP_COLOUR if channel in framed else (0, 0, 0)
        cv2.putText(
            sheet, f"c{channel} {r:+.2f}", (left + 4, top + 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, colour, 1
        )
        if channel in framed:
            corner = (left + CELL - 2, top + LABEL_BAND + cell_h - 2)
            cv2.rectangle(sheet, (left + 1, top + LABEL_BAND + 1), corner, TOP_COLOUR, 2)
    return sheet


def feature_runner(model: str, weights: Path | None = None) -> Runner:
    """A runner of feature maps: every conv1 and layer1 channel of a contour model name in PyTorch
    (with `weights`, default the shipped ones), or the graph or engine from `toolkit export --features`."""
    if form_of(model) is None:
        from toolkit.models.build import load_model
        from toolkit.models.registry import get_spec, shipped_file
        from toolkit.runtime.torch_runner import TorchRunner

        spec = get_spec(model)
        loaded = load_model(
            spec, weights or shipped_file(spec, ".safetensors"), features={"conv1": None, "layer1": None}
        )
        return TorchRunner(loaded.module, loaded.card())
    if weights is not None:
        raise UsageError(f"--weights: {model} already holds its weights")
    return make_runner(model)[0]


def browse_features(
    features: Runner,
    inputs: list[InputFile],
    out_dir: Path,
    *,
    reference: Runner | None = None,
    target: Path | None = None,
    top: int = 8,
    max_side: int = 1024,
    overwrite: bool = False,
    track: Callable[[list[InputFile]], Iterable[InputFile]] = iter,
) -> FeatureReport:
    """Rank `features`' channels against line drawings of `inputs`; write sheets and the best channels.

    The reference is `target` (a line drawing of the one input) or `reference`'s line output. Each
    image is first shrunk to `max_side` on its long side: 64 full-size conv1 maps of a 10000 px scan
    would not fit in memory, and browsing does not need them. Each image is run twice, to rank and
    then to draw the overall best channels, so that no more than one image's maps are held.
    """
    card = features.card
    if card.output_kind != "features":
        raise InputError(f"model '{card.model}': has no feature-map outputs (export it with --features)")
    if (target is None) == (reference is None):
        raise InputError("rank against one reference: a target drawing or a line model, not both or neither")
    if reference is not None and reference.card.output_kind != "lines":
        raise InputError(f"model '{reference.card.model}': ranks need a line drawing, not feature maps")
    if target is not None and len(inputs) != 1:
        raise InputError(f"{target}: a target drawing ranks one image, not {len(inputs)}")
    if top < 1 or max_side < 32:
        raise InputError(f"--top must be at least 1 and --max-side at least 32, not {top} and {max_side}")
    described = f"target drawing {target}" if target else f"line output of '{reference.card.model}'"
    report = FeatureReport(card.model, described, max_side, ranking=[])
    target_ink = None if target is None else ink_of(read_image(target))
    steps = iter(track([*inputs, *inputs]))  # one progress bar over both runs
    for source in itertools.islice(steps, len(inputs)):
        try:
            image = browsed(source.path, max_side)
            maps = feature_maps(features, image)
            if target_ink is None:
                ink = predict_tiled(reference, image)
            else:
                ink = cv2.resize(target_ink, image.shape[1::-1], interpolation=cv2.INTER_AREA)
        except ToolkitError as error:
            report.skipped.append(named(error, source.path))
            continue
        report.per_image[output_name(source)] = {
            layer: channel_correlations(fmap, ink).tolist() for layer, fmap in maps.items()
        }
    if not report.per_image:
        raise InputError(f"none of the {len(inputs)} images could be used: {'; '.join(report.skipped)}")
    channels = channel_numbers(features)
    report.ranking = sorted(
        (
            ChannelScore(layer, channel, float(np.mean([r[layer][i] for r in report.per_image.values()])))
            for layer in card.output_names
            for i, channel in enumerate(channels[layer])
        ),
        key=lambda score: -score.correlation,
    )
    for source in steps:
        name = output_name(source)
        if name not in report.per_image:
            continue
        try:
            image = browsed(source.path, max_side)
            sheets = Sheets(name, report.reference, channels, report.per_image[name], report.top(top))
            outputs = sheets.outputs(image, feature_maps(features, image), out_dir)
            for path in outputs:
                refuse_overwrite(path, overwrite)  # all of an image's outputs, or none
        except ToolkitError as error:
            report.skipped.append(named(error, source.path))
            continue
        for path, pixels in outputs.items():
            write_png(path, pixels, overwrite)
        log.debug("%s: wrote %d files", source.path, len(outputs))
        report.written += list(outputs)
    return report


def browsed(path: Path, max_side: int) -> np.ndarray:
    """The image at `path`, shrunk to `max_side` on its longest side if larger."""
    image = read_image(path)
    return rescaled(image, min(1.0, max_side / max(image.shape[:2])))


def feature_maps(features: Runner, image: np.ndarray) -> dict[str, np.ndarray]:
    """layer -> (C, h, w) maps of one image."""
    image = condition(image, features.card.conditioning)
    return {layer: fmap[0] for layer, fmap in predict(features, [image]).items()}


def output_name(source: InputFile) -> str:
    """Where an image's outputs go under the output folder, without their suffixes."""
    return str(source.relative.with_suffix(""))


def named(error: ToolkitError, path: Path) -> str:
    """The error as one line that starts with the file it is about."""
    return str(error) if str(error).startswith(str(path)) else f"{path}: {error}"


def ink_of(drawing: np.ndarray) -> np.ndarray:
    """(H, W) float32 ink of a line drawing: 0 on white paper, 1 on black lines."""
    gray = drawing if drawing.ndim == 2 else cv2.cvtColor(drawing, cv2.COLOR_RGB2GRAY)
    full = np.iinfo(gray.dtype).max if np.issubdtype(gray.dtype, np.integer) else 1.0
    return 1 - gray.astype(np.float32) / full


@dataclass(frozen=True)
class Sheets:
    """What one image's files show: its correlations, labelled, and the overall best channels framed."""

    name: str  # the image's output name
    reference: str
    channels: dict[str, list[int]]  # layer -> the channel number of each map
    correlations: dict[str, list[float]]  # layer -> r of each map
    best: list[ChannelScore]

    def outputs(
        self, image: np.ndarray, maps: dict[str, np.ndarray], out_dir: Path
    ) -> dict[Path, np.ndarray]:
        """A sheet per layer, and each of the `best` channels at the image's size."""
        height, width = image.shape[:2]
        outputs = {}
        for layer, layer_maps in maps.items():
            framed = {s.channel for s in self.best if s.layer == layer}
            title = (
                f"{self.name} {layer}: r against the {self.reference}; red: best {len(self.best)} by mean r"
            )
            sheet = feature_sheet(title, layer_maps, self.correlations[layer], self.channels[layer], framed)
            outputs[out_dir / f"{self.name}-{layer}.png"] = sheet
        for score in self.best:
            fmap = maps[score.layer][self.channels[score.layer].index(score.channel)]
            outputs[out_dir / f"{channel_file(self.name, score.layer, score.channel)}.png"] = as_ink(
                fmap, (width, height)
            )
        return outputs
