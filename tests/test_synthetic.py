"""Synthetic pairs: deterministic by seed, plausible, written in the reference layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from toolkit.data.datasets import VALIDATION_SEED_OFFSET, binarise_target
from toolkit.data.imageio import read_image
from toolkit.data.synthetic import HELD_OUT_SEED_OFFSET, contact_sheet, make_pair, write_pairs
from toolkit.errors import InputError


@pytest.mark.parametrize(("kind", "channels"), [("sketch", 1), ("painting", 3)])
def test_pairs_are_deterministic_by_seed(kind: str, channels: int) -> None:
    image, target = make_pair(kind, 96, 128, seed=11)
    again_image, again_target = make_pair(kind, 96, 128, seed=11)
    other_image, other_target = make_pair(kind, 96, 128, seed=12)
    assert np.array_equal(image, again_image) and np.array_equal(target, again_target)
    assert not np.array_equal(target, other_target) and not np.array_equal(image, other_image)
    assert image.dtype == target.dtype == np.uint8
    assert image.shape == ((96, 128) if channels == 1 else (96, 128, 3)) and target.shape == (96, 128)


@pytest.mark.parametrize("kind", ["sketch", "painting"])
def test_targets_are_sparse_lines_that_the_input_shows(kind: str) -> None:
    fractions, contrasts = [], []
    for seed in range(8):
        image, target = make_pair(kind, 128, 128, seed)
        lines = binarise_target(target) > 0
        gray = image if image.ndim == 2 else image.mean(axis=2)
        fractions.append(lines.mean())
        contrasts.append(gray[~lines].mean() - gray[lines].mean())  # lines are darker in the input
    assert 0.01 < np.mean(fractions) < 0.35
    assert min(contrasts) > 5


def test_seed_ranges_of_training_validation_and_held_out_sets_are_disjoint() -> None:
    assert VALIDATION_SEED_OFFSET < HELD_OUT_SEED_OFFSET
    with pytest.raises(ValueError, match="synthetic kind must be one of"):
        make_pair("photo", 8, 8, 0)


def test_write_pairs_in_the_reference_layout(tmp_path: Path) -> None:
    written = write_pairs("painting", 3, 48, seed=0, root=tmp_path)
    assert [p.name for p, _ in written] == ["00000.png", "00001.png", "00002.png"]
    image, target = read_image(written[1][0]), read_image(written[1][1])
    assert image.shape == (48, 48, 3) and target.shape == (48, 48)
    with pytest.raises(InputError, match="already exists"):
        write_pairs("painting", 1, 48, seed=0, root=tmp_path)


def test_contact_sheet_holds_every_tile() -> None:
    pairs = [make_pair("sketch", 32, 32, s) for s in range(3)]
    sheet = contact_sheet([pairs, pairs[:1]], tile=40)
    assert sheet.dtype == np.uint8 and sheet.shape == (40 + 12 + 40, 3 * (80 + 2) + 2 * 12, 3)
