"""Synthetic pairs: deterministic by seed, every factor within its range and doing what it says,
written in the reference layout."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage.morphology import skeletonize

from toolkit.core.errors import InputError
from toolkit.data.datasets import VALIDATION_SEED_OFFSET, binarise_target
from toolkit.data.factors import FACTORS, draw_factors, factor_table, middle_factors
from toolkit.data.synthetic import (
    HELD_OUT_SEED_OFFSET,
    PAGES_FILE,
    contact_sheet,
    craquelure,
    held_out_seed,
    legible_lines,
    make_pair,
    read_page_factors,
    visible_outlines,
    write_pairs,
)
from toolkit.imaging.imageio import read_image

# A page with every effect of the camera and the scan off: what is left is the drawing on paper.
CLEAN_SCAN = {
    "lighting": 0.0,
    "vignetting": 0.0,
    "shadow": 0.0,
    "exposure": 1.0,
    "gamma": 1.0,
    "colour_cast": 0.0,
    "dpi": 600,
    "noise": 0.0,
    "jpeg_quality": 100,
    "paper_tint": 0.0,
    "shading": 0.0,
    "construction_colour": 0.0,
    "grid": 0.0,
    "drafting_marks": 0.0,
}


@pytest.mark.parametrize("kind", ["sketch", "painting"])
def test_pairs_are_deterministic_by_seed(kind: str) -> None:
    image, target = make_pair(kind, 96, 128, seed=11)
    again_image, again_target = make_pair(kind, 96, 128, seed=11)
    other_image, other_target = make_pair(kind, 96, 128, seed=12)
    assert np.array_equal(image, again_image) and np.array_equal(target, again_target)
    assert not np.array_equal(target, other_target) and not np.array_equal(image, other_image)
    assert image.dtype == target.dtype == np.uint8
    assert image.shape == (96, 128, 3) and target.shape == (96, 128)


@pytest.mark.parametrize("kind", ["sketch", "painting"])
def test_every_factor_is_drawn_within_its_range(kind: str) -> None:
    draws = [draw_factors(kind, seed) for seed in range(2000)]
    for name, factor in FACTORS[kind].items():
        values = np.array([d[name] for d in draws])
        if factor.levels:
            assert set(values) == set(range(factor.levels)), name
            continue
        present = values[values != factor.absent] if factor.p_absent else values
        assert present.min() >= factor.low and present.max() <= factor.high, name
        assert present.max() - present.min() > 0.75 * (factor.high - factor.low), name  # the whole range
        absent_share = 1 - len(present) / len(values)
        assert abs(absent_share - factor.p_absent) < 0.04, name
        # triangular around the typical value: its mean is (low + middle + high) / 3
        expected = (factor.low + factor.middle + factor.high) / 3
        assert abs(present.mean() - expected) < 0.03 * (factor.high - factor.low), name
        assert factor.low <= factor.middle <= factor.high, name
    assert draw_factors(kind, 5) == draw_factors(kind, 5)


@pytest.mark.parametrize("kind", ["sketch", "painting"])
def test_a_pinned_factor_changes_the_input_and_nothing_else(kind: str) -> None:
    name = {"sketch": "pencil_contrast", "painting": "noise"}[kind]
    low = make_pair(kind, 96, 96, seed=3, factors={name: FACTORS[kind][name].low})
    high = make_pair(kind, 96, 96, seed=3, factors={name: FACTORS[kind][name].high})
    assert np.array_equal(low[1], high[1])  # the same drawing, the same target
    assert not np.array_equal(low[0], high[0])
    with pytest.raises(ValueError, match="unknown sketch factor"):
        make_pair("sketch", 32, 32, 0, factors={"craquelure": 1.0})


def test_dark_cracks_touch_the_painting_target_only_where_they_cross_an_outline() -> None:
    # a crack over an outline hides a pixel or two of it, which the bridge draws through
    for seed in range(3):
        light, dark = (
            make_pair("painting", 256, 256, seed, factors={"crack_darkness": value})[1] < 128
            for value in (0.1, 0.9)
        )
        assert np.count_nonzero(light != dark) < 0.03 * np.count_nonzero(light)  # 1.7 % at most seen


def test_painting_target_is_the_outlines_the_scan_shows() -> None:
    outlines = np.zeros((40, 120), np.float32)
    outlines[10, 5:115] = 1.0  # one outline, seen except along a short and a long break
    outlines[14, 5:115] = 1.0  # a parallel outline 4 px away that the scan never shows
    contrast = np.zeros_like(outlines)
    contrast[10, 5:30] = contrast[10, 40:60] = contrast[10, 100:115] = 0.5
    contrast[10, 30:40] = contrast[10, 60:100] = 0.02  # breaks of 10 and 40 px
    target = visible_outlines(outlines, contrast, scale=1.0) > 0.5
    assert target[10, 5:60].all()  # the 10 px break is drawn through
    assert not target[10, 72:88].any()  # the 40 px one is not: nothing shows there
    assert target[10, 60:66].all() and target[10, 94:100].all()  # bridged 6 px in from each side
    assert not target[14].any()  # never across to a line the scan does not show


def test_sketch_target_drops_only_the_lines_the_photograph_lost() -> None:
    target = np.full((40, 120), 255, np.uint8)
    target[9:12, 5:115] = 0  # a line whose graphite shows except along a short and a long break
    target[20:23, 5:115] = 0  # a line the camera clipped to white all along
    shown = np.zeros(target.shape, np.float32)
    shown[10, 5:30] = shown[10, 40:60] = shown[10, 100:115] = 2 / 255  # two grey levels
    shown[21, 5:115] = 0.5 / 255  # darkens the photograph by half a level: nothing a pixel shows
    kept = legible_lines(target, shown, near=2, scale=1.0) < 128
    assert kept[9:12, 5:60].all() and kept[9:12, 94:115].all()  # faint, but shown: kept, short break too
    assert not kept[9:12, 72:88].any()  # 40 px where nothing shows
    assert not kept[20:23].any()


def test_overexposed_white_paper_loses_faint_pencil_from_input_and_target_alike() -> None:
    """A camera that clips white paper takes 10-level pencil with it: the target keeps no line that the
    input does not show; the same page exposed for its paper keeps them all."""
    faint = CLEAN_SCAN | {"pencil_contrast": 10, "paper_tone": 0.98, "shading": 0.0, "drafting_marks": 0.0}
    for seed in range(3):
        exposed, exposed_target = make_pair("sketch", 128, 128, seed, factors=faint | {"exposure": 0.95})
        clipped, clipped_target = make_pair("sketch", 128, 128, seed, factors=faint | {"exposure": 1.3})
        lines = exposed_target < 128
        assert lines.sum() > 500
        assert exposed[lines].mean() < exposed[~lines].mean() - 3  # shown: a few grey levels darker
        assert clipped.min() == 255  # the photograph is white: nothing to draw
        assert not (clipped_target < 255).any()


def test_sketch_target_runs_through_the_middle_of_the_passes() -> None:
    # wandering single passes: the clean line is where the pencil went, within the metric's 2 px
    near = []
    for seed in range(3):
        image, target = make_pair(
            "sketch",
            256,
            256,
            seed,
            factors=CLEAN_SCAN | {"passes": 1, "pass_offset": 4.0, "pencil_contrast": 200, "stroke_width": 2},
        )
        pencil = image.mean(axis=2) < 200
        distance = cv2.distanceTransform((~pencil).astype(np.uint8), cv2.DIST_L2, 5)
        lines = skeletonize(target < 128)
        near.append(np.mean(distance[lines] <= 2))
    assert min(near) > 0.97, near


def test_pencil_contrast_is_grey_levels_between_line_and_paper() -> None:
    for levels in (10, 60, 200):
        factors = CLEAN_SCAN | {"pencil_contrast": levels, "paper_tone": 0.9, "passes": 1}
        image, target = make_pair("sketch", 160, 160, seed=4, factors=factors)
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
        paper = np.median(gray[target == 255])
        assert abs(paper - 0.9 * 255) < 6
        darkest = np.percentile(gray[target < 128], 2)
        # full pressure and graphite grain at their peak darken by about `levels`, never much more
        assert 0.5 * levels <= paper - darkest <= 1.35 * levels + 4, levels


def test_paper_tone_sets_the_paper() -> None:
    for tone in (0.45, 0.98):
        image, target = make_pair("sketch", 96, 96, seed=2, factors=CLEAN_SCAN | {"paper_tone": tone})
        assert abs(np.median(image[target == 255]) - tone * 255) < 6


def test_dropped_marks_leave_the_target_alone() -> None:
    plain = make_pair("sketch", 128, 128, seed=8, factors=CLEAN_SCAN)
    for name in ("grid", "construction_colour", "shading", "drafting_marks"):
        marked = make_pair(
            "sketch", 128, 128, seed=8, factors=CLEAN_SCAN | {name: FACTORS["sketch"][name].high}
        )
        assert np.array_equal(plain[1], marked[1]), name
        assert np.abs(plain[0].astype(int) - marked[0]).max() > 20, name  # the marks are on the page


def test_coloured_construction_pencil_is_coloured() -> None:
    factors = CLEAN_SCAN | {"construction_colour": 1.0, "pencil_contrast": 10}
    image, _ = make_pair("sketch", 160, 160, seed=1, factors=factors)
    chroma = image.max(axis=2).astype(int) - image.min(axis=2)
    assert chroma.max() > 60  # blue or red, where graphite is grey


def test_cracks_appear_only_when_asked() -> None:
    values = middle_factors("painting")
    assert not craquelure(0, (64, 64), 1.0, values | {"crack_density": 0.0, "long_cracks": 0}).any()
    dark = craquelure(0, (128, 128), 1.0, values | {"crack_density": 1.0, "crack_darkness": 0.9})
    assert dark.max() == pytest.approx(0.9, abs=0.01) and (dark > 0.3).mean() > 0.02


@pytest.mark.parametrize("kind", ["sketch", "painting"])
def test_targets_are_sparse_lines_that_the_input_shows(kind: str) -> None:
    fractions, contrasts = [], []
    for seed in range(8):
        image, target = make_pair(kind, 128, 128, seed, factors=middle_factors(kind))
        lines = binarise_target(target) > 0
        gray = image.mean(axis=2)
        fractions.append(lines.mean())
        contrasts.append(gray[~lines].mean() - gray[lines].mean())  # lines are darker in the input
    assert 0.01 < np.mean(fractions) < 0.35
    assert min(contrasts) > 5


def test_thick_pencil_draws_a_larger_drawing_not_a_denser_page() -> None:
    # thick strokes come with larger objects and fewer of them, so the page stays line art: with the
    # object count of a thin page, 8 px pages were 46 % ink on average (77 % at worst) against 13 %
    def ink(stroke_width: float) -> float:
        factors = {"stroke_width": stroke_width}
        return float(np.mean([make_pair("sketch", 256, 256, s, factors=factors)[1] < 128 for s in range(12)]))

    thin, thick = ink(3.0), ink(8.0)
    assert thick < 0.25 and thick < 2 * thin


def test_odd_sizes_and_every_extreme_draw() -> None:
    for seed, (height, width) in enumerate([(33, 300), (257, 41), (64, 64)]):
        for kind in ("sketch", "painting"):
            for end in ("low", "high"):
                factors = {name: float(getattr(f, end)) for name, f in FACTORS[kind].items() if not f.levels}
                image, target = make_pair(kind, height, width, seed, factors=factors)
                assert image.shape == (height, width, 3) and target.shape == (height, width)


def test_factor_table_lists_every_factor() -> None:
    for kind, table in FACTORS.items():
        text = factor_table(kind)
        assert all(f"`{name}`" in text for name in table) and text.count("\n") == len(table) + 1


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


def test_write_pairs_records_each_pages_factors(tmp_path: Path) -> None:
    write_pairs("sketch", 3, 40, seed=4, root=tmp_path)
    recorded = read_page_factors(tmp_path)
    assert recorded == {f"{i:05d}": draw_factors("sketch", held_out_seed(4, i)) for i in range(3)}
    assert read_page_factors(tmp_path / "input") is None  # a set `toolkit synth` did not write
    (tmp_path / PAGES_FILE).write_text('{"pages": {"00000": 3}}')
    with pytest.raises(InputError, match=f"{PAGES_FILE}: not a page record"):
        read_page_factors(tmp_path)


def test_contact_sheet_holds_every_tile() -> None:
    pairs = [make_pair("sketch", 32, 32, s) for s in range(3)]
    sheet = contact_sheet([pairs, pairs[:1]], tile=40)
    assert sheet.dtype == np.uint8 and sheet.shape == (40 + 12 + 40, 3 * (80 + 2) + 2 * 12, 3)


def test_write_pairs_of_another_shape(tmp_path: Path) -> None:
    written = write_pairs("sketch", 1, 48, seed=0, root=tmp_path, width=80)
    assert read_image(written[0][0]).shape == (48, 80, 3) and read_image(written[0][1]).shape == (48, 80)
