"""What a `--model` string (or a model path) names: the one place that decides it. Torch-free.

Every command that takes a model passes what the user typed through `resolve_model`, with the forms
it can use; a form it cannot use is refused here, in the same words for every command:

- a shipped model name (`unet-light`, `contour`): the ONNX graph shipped in the package;
- `.onnx`: an ONNX graph (`toolkit export`, `convert`, `calibrate`);
- `.engine` / `.plan`: a TensorRT engine (`toolkit build-engine`, or trtexec's plan with our header);
- `.safetensors` / `.pth` / `.pt` / `.ckpt`: a weights file, where a command rebuilds the PyTorch model.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from toolkit.core.errors import InputError, UsageError
from toolkit.core.shipped import SHIPPED_DIR, shipped_graphs

GRAPH_SUFFIXES = (".onnx",)
ENGINE_SUFFIXES = (".engine", ".plan")
WEIGHTS_SUFFIXES = (".safetensors", ".pth", ".pt", ".ckpt")
FORMS = ("graph", "engine", "weights")
RUNNABLE = ("graph", "engine")  # what the inference commands take
FORM_WORDS = {
    "graph": "an ONNX graph (.onnx)",
    "engine": "a TensorRT engine (.engine, .plan)",
    "weights": "a weights file (.safetensors, .pth, .pt, .ckpt)",
}

FILE_NOUNS = {"graph": "ONNX file", "engine": "engine file", "weights": "weights file"}


@dataclass(frozen=True)
class ModelRef:
    given: str  # as the user typed it
    form: str  # one of FORMS
    path: Path
    name: str | None = None  # the shipped model name, when given as one

    @property
    def is_engine(self) -> bool:
        return self.form == "engine"

    def __str__(self) -> str:
        return self.given


def form_of(path: str | Path) -> str | None:
    """The form a file name says, or None for a bare name or another suffix."""
    name = str(path).lower()
    for form, suffixes in zip(FORMS, (GRAPH_SUFFIXES, ENGINE_SUFFIXES, WEIGHTS_SUFFIXES)):
        if name.endswith(suffixes):
            return form
    return None


def resolve_model(given: str | Path, *, accepts: Collection[str] = RUNNABLE) -> ModelRef:
    """`given` as a model of one of the `accepts` forms; InputError (exit 3) for a missing file, UsageError
    (exit 2) for a name or a form the command cannot use."""
    text = str(given)
    form = form_of(text)
    wanted = " or ".join(FORM_WORDS[f] for f in accepts)
    if form is None:
        shipped = shipped_graphs()
        if text in shipped and "graph" in accepts:
            return ModelRef(text, "graph", SHIPPED_DIR / f"{text}.onnx", name=text)
        export = f": `toolkit export {text}` writes export/{text}.onnx of a registry model"
        hint = "" if "/" in text else export
        raise UsageError(
            f"no shipped model '{text}' (shipped: {', '.join(shipped) or 'none'}), and not {wanted}{hint}"
        )
    if form not in accepts:
        hint = (
            f"; make a graph of them with `toolkit export MODEL --weights {text}`"
            if form == "weights"
            else ""
        )
        raise UsageError(f"{text}: {FORM_WORDS[form]}, but this command takes {wanted}{hint}")
    path = Path(text)
    if not path.is_file():
        raise InputError(f"{path}: {FILE_NOUNS[form]} not found")
    return ModelRef(text, form, path)
