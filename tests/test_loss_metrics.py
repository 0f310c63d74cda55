"""The reference loss and the line metrics on hand-made masks, with values worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from toolkit.analysis.metrics import all_counts, line_f1_at, scores
from toolkit.train.loss import (
    CENTRELINE_WEIGHT,
    GAP_WEIGHT,
    centreline_dice,
    gap_ink,
    line_loss,
    narrow_gaps,
    pmi_gmi_loss,
    pmi_gmi_terms,
    soft_skeleton,
    thin_gaps,
)


def masks() -> tuple[torch.Tensor, torch.Tensor]:
    """4x4 target with a 4-pixel line; prediction covering 2 of them plus 2 wrong pixels."""
    target = torch.zeros(1, 1, 4, 4)
    target[0, 0, 1, :] = 1
    pred = torch.zeros(1, 1, 4, 4)
    pred[0, 0, 1, :2] = 1
    pred[0, 0, 3, :2] = 1
    return pred, target


def test_perfect_and_inverted_predictions() -> None:
    _, target = masks()
    assert pmi_gmi_loss(target, target).item() == pytest.approx(0.0, abs=1e-5)
    assert pmi_gmi_loss(1 - target, target).item() == pytest.approx(1.0, abs=1e-5)


def test_pmi_gmi_by_hand() -> None:
    pred, target = masks()
    pmi, gmi = pmi_gmi_terms(pred, target, a=0.5)
    # lines: |P n G| = 2, |G| = 4, |P| = 4 -> 0.5 * 2/4 + 0.5 * 2/4 = 0.5
    assert pmi.item() == pytest.approx(0.5, abs=1e-5)
    # paper: |P' n G'| = 10, |G'| = 12, |P'| = 12 -> 10/12
    assert gmi.item() == pytest.approx(10 / 12, abs=1e-5)
    assert pmi_gmi_loss(pred, target).item() == pytest.approx(1 - (0.25 + 0.5 * 10 / 12), abs=1e-5)
    # g weighs lines against paper, a recall against precision
    assert pmi_gmi_loss(pred, target, g=1.0).item() == pytest.approx(0.5, abs=1e-5)
    wide = pred.clone()
    wide[0, 0, 1, :] = 1  # full recall, precision 4/6
    assert pmi_gmi_terms(wide, target, a=1.0)[0].item() == pytest.approx(1.0, abs=1e-5)
    assert pmi_gmi_terms(wide, target, a=0.0)[0].item() == pytest.approx(4 / 6, abs=1e-5)


def test_bce_and_sum() -> None:
    pred, target = masks()
    soft = pred * 0.8 + 0.1
    bce = torch.nn.functional.binary_cross_entropy(soft, target).item()
    assert line_loss("bce", soft, target).item() == pytest.approx(bce, rel=1e-5)
    assert line_loss("pmi-gmi+bce", soft, target).item() == pytest.approx(
        pmi_gmi_loss(soft, target).item() + bce
    )
    with pytest.raises(ValueError, match="loss must be one of"):
        line_loss("dice", soft, target)


def line_image(rows: list[int], size: int = 32) -> np.ndarray:
    image = np.zeros((size, size), bool)
    for row in rows:
        image[row, 4:28] = True
    return image


def rows(*lines: tuple[int, int], size: int = 32) -> torch.Tensor:
    """(1, 1, size, size) target with horizontal strokes over columns 8..23, rows [start, stop)."""
    target = torch.zeros(1, 1, size, size)
    for start, stop in lines:
        target[0, 0, start:stop, 8:24] = 1
    return target


def test_narrow_gaps_are_the_paper_between_close_strokes_only() -> None:
    close = rows((10, 13), (17, 20))  # 4 px of paper between two 3 px strokes
    gaps = narrow_gaps(close)[0, 0]
    assert gaps[13:17, 8:24].sum().item() == 4 * 16  # the whole strip between them
    assert gaps.sum().item() == 4 * 16  # and nothing else: straight strokes have no other concavity
    far = rows((4, 7), (20, 23))  # 13 px apart: two lines the closing leaves apart
    assert narrow_gaps(far).sum().item() == 0


def test_the_gap_term_charges_ink_merged_across_a_gap() -> None:
    target = rows((10, 13), (17, 20))
    merged = rows((10, 20))  # the two strokes drawn as one blob
    assert gap_ink(target, target).item() == 0.0
    assert gap_ink(merged, target).item() == pytest.approx(1.0, abs=1e-5)
    assert gap_ink(merged, rows((4, 7), (20, 23))).item() == 0.0  # no gaps, no charge
    plain = pmi_gmi_loss(merged, target).item()
    assert line_loss("pmi-gmi+gaps", merged, target).item() == pytest.approx(plain + GAP_WEIGHT, abs=1e-5)
    assert line_loss("pmi-gmi+gaps", target, target).item() == pytest.approx(0.0, abs=1e-5)


def test_thin_gaps_leave_the_gaps_beside_thick_strokes_uncharged() -> None:
    thin = rows((10, 13), (17, 20))  # 3 px strokes, 4 px apart
    assert torch.equal(thin_gaps(thin), narrow_gaps(thin))
    thick = rows((4, 12), (16, 24))  # 8 px strokes, 4 px apart: a gap the input's passes often cover
    assert narrow_gaps(thick).sum().item() == 4 * 16 and thin_gaps(thick).sum().item() == 0
    merged = rows((4, 24))
    assert gap_ink(merged, thick).item() == pytest.approx(1.0, abs=1e-5)
    assert gap_ink(merged, thick, thin_only=True).item() == 0.0
    plain = pmi_gmi_loss(merged, thick).item()
    assert line_loss("pmi-gmi+thin-gaps", merged, thick).item() == pytest.approx(plain, abs=1e-5)
    merged_thin = rows((10, 20))
    assert line_loss("pmi-gmi+thin-gaps", merged_thin, thin).item() == pytest.approx(
        pmi_gmi_loss(merged_thin, thin).item() + GAP_WEIGHT, abs=1e-5
    )


def two_lines() -> torch.Tensor:
    """(1, 1, 32, 40): a 1 px line (row 8) and a 3 px one (rows 19-21), each 30 px long."""
    target = torch.zeros(1, 1, 32, 40)
    target[0, 0, 8, 5:35] = 1
    target[0, 0, 19:22, 5:35] = 1
    return target


def test_soft_skeleton_is_the_centre_line_of_thin_and_thick_ink() -> None:
    skeleton = soft_skeleton(two_lines())[0, 0]
    assert torch.equal(skeleton[8, 5:35], torch.ones(30))  # a 1 px line is its own centre line
    assert float(skeleton[19:22].sum(0).max()) == 1.0  # a 3 px line: one pixel per column ...
    assert float(skeleton[20].sum()) >= 26  # ... on its middle row, all but the very ends


def test_the_centreline_term_charges_a_missed_thin_line_as_much_as_a_thick_one() -> None:
    """PMI-GMI counts ink, so missing the 1 px line costs about a third of missing the 3 px line of
    the same length; line F1, and the clDice term, count them alike. A line drawn 2 px off (line F1's
    radius) costs nothing there, 4 px off nearly everything."""
    target = two_lines()
    no_thin, no_thick = target.clone(), target.clone()
    no_thin[0, 0, 8] = 0
    no_thick[0, 0, 19:22] = 0
    ink = [pmi_gmi_loss(pred, target).item() for pred in (no_thin, no_thick)]
    lines = [centreline_dice(pred, target).item() for pred in (no_thin, no_thick)]
    assert ink[1] > 2 * ink[0]
    assert lines[0] == pytest.approx(lines[1], rel=0.15) and lines[0] > 0.25  # ends of thick skeletons
    assert centreline_dice(target, target).item() == pytest.approx(0.0, abs=1e-6)
    assert centreline_dice(torch.zeros(1, 1, 8, 8), torch.zeros(1, 1, 8, 8)).item() == 0.0  # blank page
    assert centreline_dice(torch.roll(target, 2, dims=2), target).item() == pytest.approx(0.0, abs=1e-6)
    assert centreline_dice(torch.roll(target, 4, dims=2), target).item() > 0.9
    pred = (0.5 * target + 0.1).requires_grad_()
    total = line_loss("pmi-gmi+centrelines", pred, target)
    assert total.item() == pytest.approx(
        pmi_gmi_loss(pred, target).item() + CENTRELINE_WEIGHT * centreline_dice(pred, target).item()
    )
    total.backward()
    assert float(pred.grad.abs().sum()) > 0


def test_pixel_metrics_by_hand() -> None:
    pred, target = (m[0, 0].numpy().astype(bool) for m in masks())
    result = scores(all_counts(pred, target))
    assert result["accuracy"] == pytest.approx(12 / 16)  # 2 wrong lines + 2 missed
    assert result["precision"] == pytest.approx(0.5) and result["recall"] == pytest.approx(0.5)
    assert result["f1"] == pytest.approx(0.5) and result["iou"] == pytest.approx(2 / 6)


def test_line_f1_tolerates_small_offsets_only() -> None:
    target = line_image([10])
    one_off = scores(all_counts(line_image([11]), target))
    assert one_off["f1"] == 0.0  # no pixel in common
    assert one_off["line_f1"] == pytest.approx(1.0)  # within r = 2
    assert scores(all_counts(line_image([14]), target))["line_f1"] == 0.0  # 4 pixels off
    assert scores(all_counts(line_image([14]), target, radius=4))["line_f1"] == pytest.approx(1.0)
    # a thick prediction is thinned to its centre line: still a match
    assert scores(all_counts(line_image([9, 10, 11]), target))["line_f1"] == pytest.approx(1.0)
    # half the strokes missing: recall 1/2, precision 1 -> F1 2/3
    half = scores(all_counts(line_image([10]), line_image([10, 20])))
    assert (half["line_precision"], half["line_recall"]) == pytest.approx((1.0, 0.5), abs=0.02)
    assert half["line_f1"] == pytest.approx(2 / 3, abs=0.02)


def test_one_pass_scores_every_radius_of_a_curve() -> None:
    pred, target = line_image([14, 25]), line_image([10, 25])  # one line 4 px off, one in place
    counts = all_counts(pred, target, curve=(1, 3, 4))
    for radius in (1, 3, 4):
        alone = scores(all_counts(pred, target, radius=radius))["line_f1"]
        assert line_f1_at(counts, radius) == pytest.approx(alone)
    assert line_f1_at(counts, 3) == pytest.approx(0.5, abs=0.02)  # the offset line is still missed
    assert line_f1_at(counts, 4) == pytest.approx(1.0)
    assert scores(counts)["line_f1"] == scores(all_counts(pred, target))["line_f1"]  # r = 2 as before


def test_empty_images_agree() -> None:
    empty = np.zeros((8, 8), bool)
    result = scores(all_counts(empty, empty))
    assert result["line_f1"] == 1.0 and result["f1"] == 1.0 and result["accuracy"] == 1.0
    assert scores(all_counts(line_image([10]), np.zeros((32, 32), bool)))["line_f1"] == 0.0
