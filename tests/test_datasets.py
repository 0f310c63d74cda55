"""Folder datasets: pairing, target binarisation, augmentation, reproducible items."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from toolkit.core.errors import InputError
from toolkit.data.datasets import (
    Augment,
    FolderPairs,
    InputFormat,
    SyntheticPairs,
    binarise_target,
    pair_folder,
    shrink,
)

GRAY = InputFormat(1, [0.0], [1.0])


def make_folder(root: Path, inputs: list[str], targets: list[str], size: int = 40) -> Path:
    for sub, names in (("input", inputs), ("target", targets)):
        (root / sub).mkdir(parents=True, exist_ok=True)
        for name in names:
            image = np.full((size, size), 255, np.uint8)
            cv2.line(image, (2, 2), (size - 3, size - 3), 0, 2)
            cv2.imwrite(str(root / sub / name), image)
    return root


def test_pairs_match_by_name_across_formats(tmp_path: Path) -> None:
    root = make_folder(tmp_path, ["a.jpg", "b.png"], ["a.png", "b.png"])
    assert [(i.name, t.name) for i, t in pair_folder(root)] == [("a.jpg", "a.png"), ("b.png", "b.png")]


def test_unmatched_files_are_listed_not_guessed(tmp_path: Path) -> None:
    root = make_folder(tmp_path, ["a.png", "b.png", "c.png"], ["a.png", "d.png"])
    with pytest.raises(InputError) as error:
        pair_folder(root)
    assert str(error.value) == f"{root}: 3 file(s) without a partner: input/b.png, input/c.png, target/d.png"


def test_missing_folder_and_duplicate_names(tmp_path: Path) -> None:
    (tmp_path / "input").mkdir()
    with pytest.raises(InputError, match="has no 'target/' folder"):
        pair_folder(tmp_path)
    root = make_folder(tmp_path / "dup", ["a.png", "a.jpg"], ["a.png"])
    with pytest.raises(InputError, match="same name as"):
        pair_folder(root)


def test_target_is_binarised_at_its_own_mean() -> None:
    target = np.array([[255, 255, 200, 0]], np.uint8)  # mean 177.5
    assert binarise_target(target).tolist() == [[0.0, 0.0, 0.0, 1.0]]
    faint = np.array([[250, 250, 240, 250]], np.uint8)  # faint scan: still one line pixel
    assert binarise_target(faint).tolist() == [[0.0, 0.0, 1.0, 0.0]]


def test_shrink_uses_area_and_never_enlarges() -> None:
    image = np.zeros((100, 50), np.uint8)
    image[::2] = 255
    small = shrink(image, 50)
    assert small.shape == (50, 25) and np.allclose(small, 127.5, atol=1)  # averaged, not sampled
    assert shrink(image, 400) is image


def test_augmentation_moves_image_and_mask_together() -> None:
    image = np.full((64, 64), 255, np.uint8)
    cv2.circle(image, (32, 32), 15, 0, 2)
    mask = binarise_target(image)
    augment = Augment(crop=48)
    for seed in range(5):
        out_image, out_mask = augment(np.random.default_rng(seed), image, mask)
        assert out_image.shape == out_mask.shape == (48, 48)
        assert set(np.unique(out_mask)) <= {0.0, 1.0}
        # line pixels of the mask are dark in the image
        assert out_image[out_mask > 0].mean() < 128 < out_image[out_mask == 0].mean()


def test_folder_items_are_reproducible_per_epoch(tmp_path: Path) -> None:
    root = make_folder(tmp_path, ["a.png", "b.png"], ["a.png", "b.png"], size=30)
    dataset = FolderPairs(pair_folder(root), Augment(crop=32), GRAY, seed=0, resize=None)
    x, y = dataset[0]
    assert x.shape == (1, 32, 32) and y.shape == (1, 32, 32) and x.dtype == torch.float32
    assert torch.equal(dataset[0][0], x)
    dataset.set_epoch(1)
    assert not torch.equal(dataset[0][0], x)


def test_synthetic_validation_is_fixed_and_training_changes_every_epoch() -> None:
    rgb = InputFormat(3, [0.5] * 3, [0.25] * 3)
    val = SyntheticPairs("painting", 64, 2, Augment(64, enabled=False), rgb, seed=0, validation=True)
    train = SyntheticPairs("painting", 64, 2, Augment(48), rgb, seed=0, validation=False)
    first_val, first_train = val[0][0], train[0][0]
    val.set_epoch(3)
    train.set_epoch(3)
    assert torch.equal(val[0][0], first_val) and not torch.equal(train[0][0], first_train)
    assert first_val.shape == (3, 64, 64) and first_train.shape == (3, 48, 48)
