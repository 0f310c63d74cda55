"""Training pairs as torch datasets: a user's folder in the reference layout, or synthetic on the fly.

Folder layout (the reference's): `ROOT/input/` rough images and `ROOT/target/` clean line art, matched
by file name without extension (`a.jpg` pairs with `a.png`); files without a partner are listed in
the error, never guessed. Targets are binarised at their own mean (the reference's adaptive
threshold: darker than the mean = line). Images larger than `resize` are shrunk with INTER_AREA.

Every random choice of item i in epoch e comes from a generator seeded by (seed, epoch, i), so a
run is reproducible and a resumed run sees exactly the data the uninterrupted one would have.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from toolkit.core.errors import InputError
from toolkit.data.factors import FocusGroup, focused_factors
from toolkit.data.synthetic import make_pair
from toolkit.imaging.conditioning import condition
from toolkit.imaging.imageio import IMAGE_SUFFIXES, lines_of, read_image
from toolkit.imaging.model_input import to_model_input

# Seeds of validation items live far from training seeds: the held-out set never overlaps training.
VALIDATION_SEED_OFFSET = 10_000_000


def pair_folder(root: Path) -> list[tuple[Path, Path]]:
    """(input, target) paths matched by stem; an error listing every unmatched file otherwise."""
    folders = {name: root / name for name in ("input", "target")}
    for name, folder in folders.items():
        if not folder.is_dir():
            raise InputError(f"{root}: has no '{name}/' folder (layout: {root}/input/ and {root}/target/)")
    stems = {}
    for name, folder in folders.items():
        files = [p for p in sorted(folder.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES]
        by_stem: dict[str, Path] = {}
        for path in files:
            if path.stem in by_stem:
                raise InputError(f"{path}: same name as {by_stem[path.stem].name} in {folder}")
            by_stem[path.stem] = path
        stems[name] = by_stem
    inputs, targets = stems["input"], stems["target"]
    unmatched = [f"input/{inputs[s].name}" for s in sorted(set(inputs) - set(targets))]
    unmatched += [f"target/{targets[s].name}" for s in sorted(set(targets) - set(inputs))]
    if unmatched:
        shown = ", ".join(unmatched[:10]) + (
            f" and {len(unmatched) - 10} more" if len(unmatched) > 10 else ""
        )
        raise InputError(f"{root}: {len(unmatched)} file(s) without a partner: {shown}")
    if not inputs:
        raise InputError(f"{root}: no image pairs in input/ and target/")
    return [(inputs[s], targets[s]) for s in sorted(inputs)]


def binarise_target(image: np.ndarray) -> np.ndarray:
    """(H, W) float32 mask, 1 = line (darker than the image's own mean)."""
    return lines_of(image).astype(np.float32)


def shrink(image: np.ndarray, longest_side: int | None) -> np.ndarray:
    """INTER_AREA downscale so the longest side is at most `longest_side` (no upscaling)."""
    if longest_side is None or max(image.shape[:2]) <= longest_side:
        return image
    factor = longest_side / max(image.shape[:2])
    size = (max(1, round(image.shape[1] * factor)), max(1, round(image.shape[0] * factor)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


@dataclass(frozen=True)
class Augment:
    """Random crop with rotation, zoom, translation and flips, applied identically to both sides."""

    crop: int
    rotation: float = 10.0  # degrees, +-
    zoom: float = 0.15  # +- fraction
    flip: bool = True
    enabled: bool = True  # False: a deterministic centre crop (validation)

    def __call__(
        self, rng: np.random.Generator, image: np.ndarray, mask: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        height, width = mask.shape
        if height < self.crop or width < self.crop:  # small images are padded with paper
            pad = ((0, max(0, self.crop - height)), (0, max(0, self.crop - width)))
            image = np.pad(image, pad + ((0, 0),) * (image.ndim - 2), mode="edge")
            mask = np.pad(mask, pad)
            height, width = mask.shape
        if not self.enabled:
            top, left = (height - self.crop) // 2, (width - self.crop) // 2
            return image[top : top + self.crop, left : left + self.crop], mask[
                top : top + self.crop, left : left + self.crop
            ]
        # the crop's centre anywhere (translation), then rotate and zoom around it
        center = (
            rng.uniform(self.crop / 2, width - self.crop / 2),
            rng.uniform(self.crop / 2, height - self.crop / 2),
        )
        angle = rng.uniform(-self.rotation, self.rotation)
        scale = rng.uniform(1 - self.zoom, 1 + self.zoom)
        matrix = cv2.getRotationMatrix2D(center, angle, scale)
        matrix[:, 2] += (self.crop / 2 - center[0], self.crop / 2 - center[1])
        size = (self.crop, self.crop)
        image = cv2.warpAffine(image, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        mask = cv2.warpAffine(mask, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        mask = (mask >= 0.5).astype(np.float32)
        if self.flip and rng.random() < 0.5:
            image, mask = image[:, ::-1], mask[:, ::-1]
        if self.flip and rng.random() < 0.5:
            image, mask = image[::-1], mask[::-1]
        return np.ascontiguousarray(image), np.ascontiguousarray(mask)


@dataclass(frozen=True)
class InputFormat:
    """How the model wants its input (toolkit.imaging.model_input.to_model_input reads these)."""

    input_channels: int
    mean: list[float]
    std: list[float]
    conditioning: str = "none"  # toolkit.imaging.conditioning, on the whole image before the crop


class PairDataset(Dataset):
    """Base: subclasses give `load(index, rng) -> (image, mask)`; this crops and normalises."""

    def __init__(self, length: int, augment: Augment, fmt: InputFormat, seed: int) -> None:
        self.length, self.augment, self.format, self.seed = length, augment, fmt, seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.length

    def load(self, index: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def raw(self, index: int, *, conditioned: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Item `index` before normalisation: the cropped image (conditioned as the model sees it, or
        as read), and its 0/1 line mask."""
        rng = np.random.default_rng((self.seed, self.epoch, index))
        image, mask = self.load(index, rng)
        if conditioned:
            image = condition(image, self.format.conditioning)  # the whole image, as inference does
        return self.augment(rng, image, mask)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image, mask = self.raw(index)
        x = torch.from_numpy(to_model_input(image, self.format))  # (C, crop, crop)
        return x, torch.from_numpy(mask)[None]  # (1, crop, crop), 1 = line


def page_scale(scales: tuple[float, float], seed: int) -> float:
    """A page's element scale, log-uniform over `scales` (as many pages from 1x to 2x as from 2x to
    4x), deterministic by seed."""
    low, high = scales
    return float(np.exp(np.random.default_rng([seed, 4]).uniform(np.log(low), np.log(high))))


class SyntheticPairs(PairDataset):
    """`length` fresh pairs per epoch (different every epoch for training, fixed for validation);
    a `focus_share` of training pages pins the factors of one of `focus` (factors.parse_focus), and
    with `scales` each page's elements are drawn at a scale of its own (`page_scale`): scans come at
    every resolution, and a model trained at one scale of elements loses lines at the others."""

    def __init__(
        self,
        kind: str,
        size: int,
        length: int,
        augment: Augment,
        fmt: InputFormat,
        seed: int,
        validation: bool,
        *,
        focus: tuple[FocusGroup, ...] = (),
        focus_share: float = 0.0,
        scales: tuple[float, float] | None = None,
    ) -> None:
        super().__init__(length, augment, fmt, seed)
        self.kind, self.size, self.validation = kind, size, validation
        self.focus, self.focus_share, self.scales = focus, focus_share, scales
        self.cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # validation: drawn once, not per epoch

    def item_seed(self, index: int) -> int:
        if self.validation:
            return VALIDATION_SEED_OFFSET + self.seed * 100_003 + index
        return (self.seed * 1_000_003 + self.epoch * self.length + index) % VALIDATION_SEED_OFFSET

    def load(self, index: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        if index in self.cache:
            return self.cache[index]
        seed = self.item_seed(index)
        pinned = focused_factors(self.focus, self.focus_share, seed)
        scale = page_scale(self.scales, seed) if self.scales else None
        image, target = make_pair(self.kind, self.size, self.size, seed, factors=pinned, scale=scale)
        pair = image, binarise_target(target)
        if self.validation:
            self.cache[index] = pair
        return pair


class FolderPairs(PairDataset):
    def __init__(
        self,
        pairs: list[tuple[Path, Path]],
        augment: Augment,
        fmt: InputFormat,
        seed: int,
        resize: int | None,
    ) -> None:
        super().__init__(len(pairs), augment, fmt, seed)
        self.pairs, self.resize = pairs, resize

    def load(self, index: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        input_path, target_path = self.pairs[index]
        image, target = (
            shrink(read_image(input_path), self.resize),
            shrink(read_image(target_path), self.resize),
        )
        if image.shape[:2] != target.shape[:2]:
            raise InputError(
                f"{input_path}: size {image.shape[:2]} differs from its target's {target.shape[:2]}"
            )
        return image, binarise_target(target)
