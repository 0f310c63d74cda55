"""Reading, remapping, checking and writing model weights.

We write safetensors. We read safetensors and PyTorch .pth/.pt files, the latter only with
`weights_only=True` (no pickled code runs). Checkpoint formats are bridged by pure functions on state
dicts (`unwrap_checkpoint`, `strip_prefix`, `torchvision_resnet_to_contour`, `widen_contour_head`,
`widen_unet`), and a state dict that does not fit the model fails loudly, naming the file, the keys
and the shapes.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import re
from collections.abc import Mapping
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save, save_file
from torch import nn

from toolkit.core.errors import InputError, WeightsMismatchError, first_line
from toolkit.core.provenance import record_in, training_record

log = logging.getLogger(__name__)

StateDict = dict[str, torch.Tensor]

# Keys of a torchvision resnet18 that the truncated trunk does not have.
TORCHVISION_DROPPED = re.compile(r"^(layer[234]|fc)\.")
# How many offending keys a mismatch message names before it only counts.
MAX_NAMED_KEYS = 4


CHECKPOINT_SUFFIXES = (".pth", ".pt", ".ckpt")


def read_state_dict(path: Path) -> StateDict:
    """Tensors of a .safetensors, .pth, .pt or .ckpt file, unwrapped from common checkpoint containers."""
    return read_weights(path)[0]


def read_weights(path: Path) -> tuple[StateDict, dict | None]:
    """(tensors, training record) of a weights file, read once: the record is in a .safetensors
    header or in a `toolkit train` checkpoint (RUN/checkpoints/epoch-NNN.pt); None for weights from
    elsewhere."""
    if not path.is_file():
        raise InputError(f"{path}: weights file not found")
    suffix = path.suffix.lower()
    try:
        if suffix == ".safetensors":
            return load_file(path, device="cpu"), training_record(path)
        if suffix in CHECKPOINT_SUFFIXES:
            with path.open("rb") as handle:
                start = handle.read(4)
            # torch.save writes a zip archive (PK..), older PyTorch a pickle (protocol byte 0x80)
            if not (start.startswith(b"PK\x03\x04") or start[:1] == b"\x80"):
                raise InputError(f"{path}: not a PyTorch checkpoint (neither a zip archive nor a pickle)")
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
            record = checkpoint.get("training") if isinstance(checkpoint, Mapping) else None
            training = record_in({"training": record}, path) if isinstance(record, str) else None
            return unwrap_checkpoint(checkpoint, path), training
    except pickle.UnpicklingError as error:
        raise InputError(
            f"{path}: not a readable weights file (it holds Python objects besides tensors, which "
            "weights_only loading refuses; save only the state dict)"
        ) from error
    except (SafetensorError, RuntimeError, OSError, EOFError, ValueError) as error:
        # RuntimeError/EOFError: truncated or non-zip .pth; SafetensorError: bad header.
        raise InputError(f"{path}: not a readable weights file ({first_line(error)})") from error
    raise InputError(f"{path}: unknown weights format '{suffix}' (use .safetensors, .pth, .pt or .ckpt)")


def unwrap_checkpoint(checkpoint: object, path: Path) -> StateDict:
    """The state dict inside a checkpoint: a bare dict of tensors, or under 'state_dict'/'model'."""
    if isinstance(checkpoint, Mapping):
        for key in ("state_dict", "model", "model_state_dict"):
            if isinstance(checkpoint.get(key), Mapping):
                checkpoint = checkpoint[key]
                break
        tensors = {k: v for k, v in checkpoint.items() if isinstance(v, torch.Tensor)}
        if tensors:
            return strip_prefix(tensors, "module.")  # saved from a DistributedDataParallel wrapper
    raise InputError(f"{path}: holds no state dict of tensors")


def strip_prefix(state_dict: StateDict, prefix: str) -> StateDict:
    if not all(key.startswith(prefix) for key in state_dict):
        return state_dict
    return {key[len(prefix) :]: value for key, value in state_dict.items()}


def torchvision_resnet_to_contour(state_dict: StateDict, in_channels: int) -> tuple[StateDict, list[str]]:
    """Keep the stem and layer1 of a torchvision resnet18 state dict; return it and the dropped keys.

    A 1-channel trunk gets conv1's RGB kernels summed over the input channels (as timm's
    adapt_input_conv does): a gray image repeated on three channels then gives the same response.
    """
    kept = {k: v for k, v in state_dict.items() if not TORCHVISION_DROPPED.match(k)}
    dropped = sorted(set(state_dict) - set(kept))
    conv1 = kept.get("conv1.weight")
    if in_channels == 1 and conv1 is not None and conv1.shape[1] == 3:
        kept["conv1.weight"] = conv1.sum(dim=1, keepdim=True)
    return kept, dropped


def contour_head_to_half_resolution(state_dict: StateDict, stem_width: int) -> StateDict:
    """A full-resolution contour head's weights in the half-resolution form (`head_stride` 2), so a
    grown model starts near the model it grew from instead of from a random head:

    - the logit (1 channel) is repeated for the 4 pixels each half-resolution position unfolds into:
      at first every 2x2 block is one value, the old prediction upsampled by nearest neighbour, and no
      checkerboard (the ICNR idea, Aitken et al. 2017);
    - the convolution before it keeps its weights on the fused features and gets zeros for the new
      stem's `stem_width` channels, so the new stem starts unheard and training brings it in;
    - the full-resolution stem is dropped (the new one, 4x4 at stride 2, starts afresh).
    A state dict without a full-resolution head is returned unchanged."""
    logit = state_dict.get("head.out.1.weight")
    if logit is None or logit.shape[0] != 1:
        return state_dict
    fuse = state_dict["head.out.0.0.weight"]  # (width, width + old stem, 3, 3)
    width = fuse.shape[0]
    grown = {k: v for k, v in state_dict.items() if not k.startswith("head.stem.")}
    grown["head.out.0.0.weight"] = torch.cat(
        [fuse[:, :width], fuse.new_zeros(width, stem_width, 3, 3)], dim=1
    )
    grown["head.out.1.weight"] = logit.repeat(4, 1, 1, 1)
    grown["head.out.1.bias"] = state_dict["head.out.1.bias"].repeat(4)
    return grown


# A U-Net decoder block's first convolution reads the upsampled map, then the skip (as wide).
DECODER_CONCAT_INPUTS = re.compile(r"decoder\.\d+\.convs\.0\.weight")
# Head convolutions whose input is two feature maps concatenated, the first `head_width` wide: the
# fusion (reduced conv1, coarse layer1) and the output block (fused features, stem).
HEAD_CONCAT_INPUTS = ("head.fuse.0.weight", "head.out.0.0.weight")


def grown_tensor(
    old: torch.Tensor, fresh: torch.Tensor, inputs: torch.Tensor, *, transposed: bool = False
) -> torch.Tensor:
    """One layer's tensor of a narrower model inside the wider model's `fresh` one, as the same function
    (Net2Net's idea, Chen et al. 2016): every old output channel keeps its weights, reading the old
    input channels at `inputs` (their indices in the wider input) and the new ones with zero weights;
    the new output channels keep `fresh`'s initialisation. A vector (bias, BatchNorm) keeps its old
    values in front. `transposed`: a ConvTranspose2d weight, (in, out, kh, kw)."""
    grown = fresh.clone()
    if old.ndim == 1:
        grown[: old.shape[0]] = old
    elif transposed:
        grown[:, : old.shape[1]] = 0
        grown[inputs, : old.shape[1]] = old
    else:
        grown[: old.shape[0]] = 0
        grown[: old.shape[0], inputs] = old
    return grown


def input_indices(old_inputs: int, *, split: int | None = None, shift: int = 0) -> torch.Tensor:
    """Where a narrower layer's input channels lie in the wider layer's input: in order, except that
    those from `split` on (the second of two concatenated maps) move up by `shift`, the width the first
    map gained."""
    inputs = torch.arange(old_inputs)
    if split is not None:
        inputs[split:] += shift
    return inputs


def widen_contour_head(state_dict: StateDict, fresh: Mapping[str, torch.Tensor]) -> StateDict:
    """A contour head's weights grown into a wider head (`head_width`) as the same function
    (`grown_tensor`), so a wider model starts as the model it grew from; in the fusion and output
    block, the second concatenated map moves up by the added width. BatchNorm keeps its statistics
    for old channels and `fresh`'s for new ones. `fresh` is the state dict of the wider model as
    built; a head of the same width, or a state dict without a contour head, is returned unchanged."""
    key = "head.reduce_layer1.0.weight"
    if key not in state_dict or key not in fresh:
        return state_dict
    old_width, new_width = state_dict[key].shape[0], fresh[key].shape[0]
    if new_width <= old_width:
        return state_dict
    grown = dict(state_dict)
    for name, old in state_dict.items():
        new = fresh.get(name)
        if not name.startswith("head.") or new is None or new.shape == old.shape:
            continue
        split = old_width if name in HEAD_CONCAT_INPUTS else None
        inputs = input_indices(old.shape[1] if old.ndim > 1 else 0, split=split, shift=new_width - old_width)
        grown[name] = grown_tensor(old, new, inputs)
    return grown


def widen_unet(state_dict: StateDict, fresh: Mapping[str, torch.Tensor]) -> StateDict:
    """A U-Net's weights grown into a wider U-Net of the same depths (`unet-light` into
    `unet-light-wide`) as the same function (`grown_tensor`), in training mode too: every old channel
    keeps its weights and BatchNorm statistics, new channels are read with zero weights. In each
    decoder block's first convolution the skip (the second concatenated map) moves up by the width the
    upsampled map gained. A state dict that is not a narrower U-Net of the same depths is returned
    unchanged, for the loader to report."""
    grows = {
        name: (old, fresh[name])
        for name, old in state_dict.items()
        if name in fresh and fresh[name].shape != old.shape
    }
    if not grows or any(
        new.ndim != old.ndim or any(n < o for n, o in zip(new.shape, old.shape))
        for old, new in grows.values()
    ):
        return state_dict
    grown = dict(state_dict)
    for name, (old, new) in grows.items():
        transposed = name.endswith(".up.weight")
        split = old.shape[0] if DECODER_CONCAT_INPUTS.fullmatch(name) else None
        old_inputs = 0 if old.ndim == 1 else old.shape[0 if transposed else 1]
        inputs = input_indices(old_inputs, split=split, shift=new.shape[0] - old.shape[0])
        grown[name] = grown_tensor(old, new, inputs, transposed=transposed)
    return grown


def is_torchvision_resnet(state_dict: StateDict) -> bool:
    return "fc.weight" in state_dict or any(TORCHVISION_DROPPED.match(k) for k in state_dict)


def load_weights(
    model: nn.Module,
    state_dict: StateDict,
    source: Path,
    allow_missing: tuple[str, ...] = (),
) -> None:
    """Load `state_dict` into `model`, or raise one line naming `source` and every kind of mismatch.

    Keys under a prefix in `allow_missing` may be absent (they keep their initialisation), for example
    the contour head when only the torchvision trunk is loaded to export feature maps.
    """
    expected = model.state_dict()
    missing = [k for k in expected if k not in state_dict and not k.startswith(allow_missing)]
    unexpected = [k for k in state_dict if k not in expected]
    wrong_shape = [
        f"{k}: file {tuple(state_dict[k].shape)} vs model {tuple(expected[k].shape)}"
        for k in expected
        if k in state_dict and state_dict[k].shape != expected[k].shape
    ]
    if missing or unexpected or wrong_shape:
        problems = [
            _describe(label, keys)
            for label, keys in (
                ("shape mismatch", wrong_shape),
                ("missing from file", missing),
                ("unexpected in file", unexpected),
            )
            if keys
        ]
        raise WeightsMismatchError(f"{source}: does not fit {type(model).__name__}: {'; '.join(problems)}")
    model.load_state_dict(state_dict, strict=False)


def without_unfitting(
    state_dict: StateDict, expected: Mapping[str, torch.Tensor], prefix: str
) -> tuple[StateDict, list[str]]:
    """(`state_dict` less its keys under `prefix` that the model lacks or holds in another shape, those
    keys): a head of another form is left to train from its initialisation, the rest still loads."""
    dropped = [
        key
        for key, tensor in state_dict.items()
        if key.startswith(prefix) and (key not in expected or expected[key].shape != tensor.shape)
    ]
    return {k: v for k, v in state_dict.items() if k not in dropped}, dropped


def _describe(label: str, keys: list[str]) -> str:
    named = ", ".join(keys[:MAX_NAMED_KEYS])
    more = f" and {len(keys) - MAX_NAMED_KEYS} more" if len(keys) > MAX_NAMED_KEYS else ""
    return f"{len(keys)} {label} ({named}{more})"


def state_dict_sha256(state_dict: Mapping[str, torch.Tensor]) -> str:
    """A hash of the tensors themselves, the same whichever file format they came from."""
    tensors = {k: v.detach().contiguous().cpu() for k, v in state_dict.items()}
    return hashlib.sha256(save(tensors)).hexdigest()


def write_weights(model: nn.Module, path: Path, metadata: Mapping[str, str]) -> None:
    """Write the model's state dict as safetensors, with string metadata in the header."""
    tensors = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, path, metadata=dict(metadata))
