"""The reference loss, 1 - (g * PMI + (1 - g) * GMI), and its companions.

The intersection measure of a prediction P against ground truth G is
    I(P, G, a) = a * |P n G| / |G| + (1 - a) * |P n G| / |P|,
a blend of recall and precision with soft (probability) set sizes. PMI applies it to the lines
(foreground), GMI to the paper (background, 1 - P against 1 - G). g = a = 0.5 as in the reference.
It is computed per image and averaged, so a sparse drawing weighs as much as a dense one.

"pmi-gmi+gaps" adds the ink predicted in the target's narrow gaps: the paper that a closing of the
target fills (between strokes up to GAP_WIDTH px apart, inside small loops, in tight corners). Much
of a sketch model's line F1 error is there (docs/training.md): strokes drawn in the right place but
merged across such a gap, whose one centre line then runs between the two the target has. GMI
weighs those pixels like any other of the paper, which is nearly all of a page. Measured
(docs/shipped-models.md, 2026-12-04): it gains on pages of large elements and faint pencil, and loses
on thick strokes, where it opens holes the target keeps closed. "pmi-gmi+thin-gaps" charges only the
gaps away from thick ink (ink that survives an opening with a THICK_STROKE square).

"pmi-gmi+centrelines" adds clDice (Shit et al., CVPR 2021), the Dice of the two centre lines, each
against the other's ink grown by the line metric's radius: what line F1 counts. PMI-GMI counts ink
pixels, so a 1 px line weighs a third of a 3 px one of the same length and missing it costs a
third as much, where line F1 counts both alike; the centre lines come from clDice's soft
skeleton (iterated min and max pools), differentiable in the prediction.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

GAP_LOSSES = ("pmi-gmi+gaps", "pmi-gmi+thin-gaps")
CENTRELINE_LOSS = "pmi-gmi+centrelines"
LOSSES = ("pmi-gmi", "bce", "pmi-gmi+bce", *GAP_LOSSES, CENTRELINE_LOSS)
EPS = 1e-6
GAP_WIDTH = 6  # px: gaps up to this wide are closed (issue 15: parallel lines 2-6 px apart stay two)
# of the mean gap ink, against PMI-GMI's 1 - (g * PMI + (1 - g) * GMI); 0.5 thinned every stroke
GAP_WEIGHT = 0.1
THICK_STROKE = 5  # px: ink this thick or more is thick; its neighbouring gaps are left uncharged
CENTRELINE_WEIGHT = 0.5  # of the clDice term, against PMI-GMI (clDice's authors use 0.1-0.5)
SKELETON_STEPS = 5  # soft-skeleton erosions: lines up to about 2 * 5 px wide reach their centre
LINE_RADIUS = 2  # px: a centre line counts where the other side's ink is this near (line F1's r)


def intersection_measure(pred: torch.Tensor, truth: torch.Tensor, a: float) -> torch.Tensor:
    """Per image of an (N, 1, H, W) batch: a * |P n G| / |G| + (1 - a) * |P n G| / |P|."""
    dims = (1, 2, 3)
    overlap = (pred * truth).sum(dims)
    return a * overlap / (truth.sum(dims) + EPS) + (1 - a) * overlap / (pred.sum(dims) + EPS)


def pmi_gmi_terms(
    pred: torch.Tensor, target: torch.Tensor, a: float = 0.5
) -> tuple[torch.Tensor, torch.Tensor]:
    """(PMI, GMI), each averaged over the batch."""
    pmi = intersection_measure(pred, target, a)
    gmi = intersection_measure(1 - pred, 1 - target, a)
    return pmi.mean(), gmi.mean()


def pmi_gmi_loss(pred: torch.Tensor, target: torch.Tensor, g: float = 0.5, a: float = 0.5) -> torch.Tensor:
    pmi, gmi = pmi_gmi_terms(pred, target, a)
    return 1 - (g * pmi + (1 - g) * gmi)


def narrow_gaps(target: torch.Tensor, width: int = GAP_WIDTH) -> torch.Tensor:
    """(N, 1, H, W) 0/1: the paper of a binary `target` that a closing with a (width + 1) square fills."""
    size = width + 1 + width % 2  # odd, so the closing stays centred
    dilated = F.max_pool2d(target, size, stride=1, padding=size // 2)
    closed = 1 - F.max_pool2d(1 - dilated, size, stride=1, padding=size // 2)
    return (closed - target).clamp(min=0)


def thin_gaps(target: torch.Tensor, thick: int = THICK_STROKE) -> torch.Tensor:
    """(N, 1, H, W) 0/1: the narrow gaps of `target` farther than `thick` // 2 px from thick ink."""
    pad = thick // 2
    eroded = 1 - F.max_pool2d(1 - target, thick, stride=1, padding=pad)
    thick_ink = F.max_pool2d(eroded, thick, stride=1, padding=pad)  # the opening: ink >= thick px
    near_thick = F.max_pool2d(thick_ink, thick, stride=1, padding=pad)
    return narrow_gaps(target) * (1 - near_thick)


def gap_ink(pred: torch.Tensor, target: torch.Tensor, *, thin_only: bool = False) -> torch.Tensor:
    """Mean probability of ink in each image's narrow gaps (0 where it has none), over the batch;
    `thin_only`: only in the gaps between thin strokes."""
    gaps = thin_gaps(target) if thin_only else narrow_gaps(target)
    dims = (1, 2, 3)
    return ((pred * gaps).sum(dims) / (gaps.sum(dims) + EPS)).mean()


def soft_erode(x: torch.Tensor) -> torch.Tensor:
    """A 3x3 cross min-pool of (N, 1, H, W) probabilities (clDice's soft erosion)."""
    across = -F.max_pool2d(-x, (3, 1), stride=1, padding=(1, 0))
    down = -F.max_pool2d(-x, (1, 3), stride=1, padding=(0, 1))
    return torch.minimum(across, down)


def soft_skeleton(x: torch.Tensor, steps: int = SKELETON_STEPS) -> torch.Tensor:
    """clDice's soft skeleton: what each erosion leaves that an opening of it would remove."""

    def opened(y: torch.Tensor) -> torch.Tensor:
        return F.max_pool2d(soft_erode(y), 3, stride=1, padding=1)

    skeleton = F.relu(x - opened(x))
    for _ in range(steps):
        x = soft_erode(x)
        delta = F.relu(x - opened(x))
        skeleton = skeleton + F.relu(delta - skeleton * delta)
    return skeleton


def centreline_dice(pred: torch.Tensor, target: torch.Tensor, radius: int = LINE_RADIUS) -> torch.Tensor:
    """1 - clDice over the batch, each centre line matched against the other's ink grown by `radius`
    px: the share of the predicted centre line near target ink (precision) and of the target's near
    predicted ink (recall), as line F1 counts them; an image without lines on either side costs 0."""
    size = 2 * radius + 1
    near_target = F.max_pool2d(target, size, stride=1, padding=radius)
    near_pred = F.max_pool2d(pred, size, stride=1, padding=radius)
    pred_lines, target_lines = soft_skeleton(pred), soft_skeleton(target)
    dims = (1, 2, 3)
    precision = ((pred_lines * near_target).sum(dims) + 1) / (pred_lines.sum(dims) + 1)
    recall = ((target_lines * near_pred).sum(dims) + 1) / (target_lines.sum(dims) + 1)
    return (1 - 2 * precision * recall / (precision + recall)).mean()


def line_loss(
    name: str,
    pred: torch.Tensor,
    target: torch.Tensor,
    g: float = 0.5,
    a: float = 0.5,
    *,
    gap_weight: float = GAP_WEIGHT,
    centreline_weight: float = CENTRELINE_WEIGHT,
) -> torch.Tensor:
    """`name` from LOSSES, on probabilities `pred` and binary `target`, both (N, 1, H, W);
    `gap_weight` weighs the gap term of "pmi-gmi+gaps" and "pmi-gmi+thin-gaps", `centreline_weight`
    the clDice term of "pmi-gmi+centrelines"."""
    pred = pred.float()  # under autocast the sums must not run in half precision
    if name == "pmi-gmi":
        return pmi_gmi_loss(pred, target, g, a)
    if name in GAP_LOSSES:
        thin_only = name == "pmi-gmi+thin-gaps"
        return pmi_gmi_loss(pred, target, g, a) + gap_weight * gap_ink(pred, target, thin_only=thin_only)
    if name == CENTRELINE_LOSS:
        return pmi_gmi_loss(pred, target, g, a) + centreline_weight * centreline_dice(pred, target)
    bce = F.binary_cross_entropy(pred.clamp(EPS, 1 - EPS), target)
    if name == "bce":
        return bce
    if name == "pmi-gmi+bce":
        return pmi_gmi_loss(pred, target, g, a) + bce
    raise ValueError(f"loss must be one of {LOSSES}, not {name!r}")
