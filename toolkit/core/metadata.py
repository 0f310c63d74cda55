"""The description every artifact carries: one `ModelCard`, written into ONNX metadata_props.

The runtime reads it to feed a graph (layout, channels, normalisation, stride) and to read its outputs
(meaning, threshold) without torch or the model registry; `toolkit verify` reads it to rebuild the
same PyTorch model from the same weights. Values are strings in ONNX, so structured fields are JSON.
Reading and writing cards needs the `onnx` package (imported when used), never torch: engines are
built, and graphs inspected, on machines without it.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolkit.core.errors import InputError
from toolkit.core.version import __version__

if TYPE_CHECKING:
    import onnx

# The input every toolkit graph takes, and the output of the line-probability models.
INPUT_NAME = "image"
PIXELS_INPUT = "pixels"  # a serving graph's input: raw pixels (toolkit.export.serving)
PIXEL_TOPS = {"uint8": 255, "uint16": 65535}  # what a serving graph takes, and its largest level
LINES_OUTPUT = "lines"

# What each model family draws lines of: its synthetic training pairs and `toolkit verify`'s images.
DOMAIN_OF_FAMILY = {"unet": "sketch", "contour": "painting"}


@dataclass(frozen=True)
class OutputInfo:
    name: str
    meaning: str
    stride: int = 1  # output pixel = `stride` input pixels
    channels: list[int] | None = None  # for feature maps: which channels of the layer, None = all

    @property
    def is_probability(self) -> bool:
        return self.name == LINES_OUTPUT


@dataclass(frozen=True)
class ModelCard:
    model: str  # registry name, e.g. "unet"
    family: str  # "unet" or "contour"
    config: dict[str, Any]  # the model config's fields
    input_channels: int  # 1 = gray, 3 = RGB
    mean: list[float]  # per channel, on pixels scaled to [0, 1]
    std: list[float]
    stride: int  # height and width must be multiples of this
    outputs: list[OutputInfo]
    threshold: float  # suggested threshold on the line probability
    weights_sha256: str  # of the tensors as loaded into the model (toolkit.models.weights)
    init_seed: int = 0  # initialisation seed of anything the weights file does not cover
    weights_file: str = ""  # as given at export; "" = untrained initialisation
    training_command: str = ""  # the `toolkit train` command that made the weights, if known
    training: dict[str, Any] = field(default_factory=dict)  # its data, seed, commit, metrics (provenance)
    precision: str = "fp32"
    opset: int = 0
    toolkit_version: str = ""
    torch_version: str = ""
    input_name: str = INPUT_NAME
    input_layout: str = "NCHW"  # NHWC: a serving graph, which takes pixels of any size
    input_dtype: str = "float32"  # float32 = normalised values; uint8 or uint16 = raw pixels
    output_layout: str = "NCHW"
    conditioning: str = "none"  # toolkit.imaging.conditioning: applied to the whole image before the graph
    pixel_scale: float = 1 / 255
    extra: dict[str, str] = field(default_factory=dict)  # later stages' notes (e.g. excluded nodes)

    @property
    def output_kind(self) -> str:
        return "lines" if [o.name for o in self.outputs] == [LINES_OUTPUT] else "features"

    @property
    def takes_pixels(self) -> bool:
        """A serving graph: raw (N, H, W, C) pixels of any size in, scaling, normalisation, padding and
        cropping inside the graph."""
        return self.input_dtype != "float32"

    @property
    def channel_axis(self) -> int:
        return self.input_layout.index("C")

    @property
    def domain(self) -> str:
        """The kind of image this model is made for: sketch or painting."""
        return DOMAIN_OF_FAMILY[self.family]

    @property
    def output_names(self) -> list[str]:
        return [o.name for o in self.outputs]

    def to_props(self) -> dict[str, str]:
        """Flat string key/values; structured fields JSON-encoded, so other tools can read them too."""
        props = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "outputs":
                value = [dataclasses.asdict(o) for o in value]
            props[f.name] = value if isinstance(value, str) else json.dumps(value)
        return props

    @classmethod
    def from_props(cls, props: dict[str, str], source: Path | str) -> ModelCard:
        if "model" not in props or "weights_sha256" not in props:
            raise InputError(f"{source}: has no toolkit metadata (was it made by `toolkit export`?)")
        values: dict[str, Any] = {}
        try:
            for f in dataclasses.fields(cls):
                if f.name not in props:
                    continue
                raw = props[f.name]
                values[f.name] = raw if f.type == "str" else json.loads(raw)
            values["outputs"] = [OutputInfo(**o) for o in values["outputs"]]
            return cls(**values)
        except (ValueError, TypeError, KeyError) as error:
            raise InputError(f"{source}: toolkit metadata is damaged ({error})") from error


# Notes in a card's `extra` that were measured on that one graph file, not true of the model: a graph
# made from it (converted, calibrated, given a serving front) starts without them.
# agreement: with the FP32 graph, and its CPU speed (scripts/ship_graphs.py, read by `--precision auto`);
# runtime_memory: what ONNX Runtime holds per input pixel running it (read by the tile plan).
AGREEMENT_NOTE = "agreement"
RUNTIME_MEMORY_NOTE = "runtime_memory"
MEASURED_NOTES = (AGREEMENT_NOTE, RUNTIME_MEMORY_NOTE)


def inherited_extra(card: ModelCard) -> dict[str, str]:
    """`card.extra` as a graph derived from `card`'s graph inherits it: without `MEASURED_NOTES`."""
    return {key: value for key, value in card.extra.items() if key not in MEASURED_NOTES}


def serving_form(card: ModelCard, pixels: str = "uint8") -> ModelCard:
    """The card of `card`'s serving form (toolkit.export.serving; `toolkit serve` offers its model in
    this form too): raw (N, H, W, C) pixels of `pixels` dtype in, (N, H, W, 1) lines out."""
    top = PIXEL_TOPS[pixels]
    return dataclasses.replace(
        card,
        input_name=PIXELS_INPUT,
        input_layout="NHWC",
        input_dtype=pixels,
        output_layout="NHWC",
        pixel_scale=1 / top,
        extra=inherited_extra(card),
    )


def classic_card(card: ModelCard) -> ModelCard:
    """The card of the classic graph a serving graph wraps (what its PyTorch model takes and gives)."""
    if not card.takes_pixels:
        return card
    return dataclasses.replace(
        card,
        input_name=INPUT_NAME,
        input_layout="NCHW",
        input_dtype="float32",
        output_layout="NCHW",
        pixel_scale=1 / 255,
    )


def card_mismatch(card: ModelCard, inputs: dict[str, int | None], outputs: list[str]) -> str:
    """What the card says about a graph that the graph itself contradicts ('' when nothing): its input
    name and channels (`inputs`: name -> channels, None where unknown) and its output names. A card
    copied onto another graph would otherwise fail deep inside a backend."""
    problems = []
    if list(inputs) != [card.input_name]:
        problems.append(
            f"its card names input '{card.input_name}', the graph takes {', '.join(inputs) or 'none'}"
        )
    elif inputs[card.input_name] not in (None, card.input_channels):
        problems.append(
            f"its card says {card.input_channels} input channel(s), the graph takes {inputs[card.input_name]}"
        )
    if sorted(outputs) != sorted(card.output_names):
        problems.append(
            f"its card names output(s) {', '.join(card.output_names)}, the graph gives {', '.join(outputs)}"
        )
    return "; ".join(problems)


def graph_mismatch(model: onnx.ModelProto, card: ModelCard) -> str:
    """`card_mismatch` of an ONNX graph's real inputs and outputs."""
    inputs = {}
    for value in model.graph.input:
        dims = value.type.tensor_type.shape.dim
        axis = card.channel_axis
        inputs[value.name] = dims[axis].dim_value or None if len(dims) > axis else None
    return card_mismatch(card, inputs, [value.name for value in model.graph.output])


def refuse_mismatch(source: Path | str, mismatch: str) -> None:
    if mismatch:
        raise InputError(f"{source}: {mismatch} (was its metadata copied from another graph?)")


def load_graph(path: Path) -> onnx.ModelProto:
    """An ONNX file without its external weights, or one line saying why it cannot be read."""
    import onnx

    if not path.is_file():
        raise InputError(f"{path}: ONNX file not found")
    try:
        return onnx.load(path, load_external_data=False)
    except Exception as error:  # protobuf raises its own DecodeError; the message names no file
        raise InputError(f"{path}: not a readable ONNX model ({type(error).__name__})") from error


def refuse_external_weights(model: onnx.ModelProto, source: Path | str) -> None:
    """Graphs written or copied whole only: `load_graph` leaves external weights on disk."""
    if any(init.data_location == 1 for init in model.graph.initializer):  # TensorProto.EXTERNAL
        raise InputError(
            f"{source}: graphs with external weights are not copied or wrapped; re-export it whole"
        )


def card_of(model: onnx.ModelProto, source: Path | str) -> ModelCard:
    return ModelCard.from_props({p.key: p.value for p in model.metadata_props}, source)


def read_card(path: Path) -> ModelCard:
    """The model card of an ONNX file, read without loading its weights."""
    return card_of(load_graph(path), path)


def write_card(model: onnx.ModelProto, card: ModelCard) -> None:
    del model.metadata_props[:]
    for key, value in card.to_props().items():
        model.metadata_props.add(key=key, value=value)
    model.producer_name = "line-art-toolkit"
    model.producer_version = __version__
    model.doc_string = f"{card.model}: " + "; ".join(o.meaning for o in card.outputs)
