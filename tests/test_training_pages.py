"""How `toolkit train` draws its synthetic pages: `--focus` (a share of pages pins one factor, or several
joined by +, inside part of its range) and `--scales` (each page's elements at a scale of its own);
validation, held-out sets and sweeps use neither."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from skimage.morphology import skeletonize
from typer.testing import CliRunner

from toolkit.cli import app
from toolkit.core.errors import InputError
from toolkit.data.datasets import Augment, InputFormat, SyntheticPairs, page_scale
from toolkit.data.factors import Focus, draw_factors, focused_factors, parse_focus
from toolkit.data.synthetic import make_pair

FAINT = parse_focus("sketch", "pencil_contrast=10:40")
WIDE = parse_focus("sketch", "stroke_width=5:8")


def test_focused_pages_pin_one_factor_inside_its_focus_on_the_share_asked() -> None:
    pins = [focused_factors((FAINT, WIDE), 0.25, seed) for seed in range(4000)]
    chosen = Counter(next(iter(p)) for p in pins if p is not None)
    assert abs(sum(chosen.values()) / len(pins) - 0.25) < 0.02
    assert abs(chosen["pencil_contrast"] - chosen["stroke_width"]) < 0.15 * sum(chosen.values())
    for (focus,) in (FAINT, WIDE):
        values = np.array([p[focus.factor] for p in pins if p is not None and focus.factor in p])
        assert values.min() >= focus.low and values.max() <= focus.high
        assert values.max() - values.min() > 0.9 * (focus.high - focus.low)  # the whole focus
    assert pins == [focused_factors((FAINT, WIDE), 0.25, seed) for seed in range(4000)]  # by seed
    assert all(focused_factors((), 1.0, seed) is None for seed in range(50))


def test_a_joint_focus_pins_its_factors_together_and_leaves_single_foci_where_they_were() -> None:
    both = parse_focus("sketch", "pencil_contrast=10:25+construction_colour=0.5:1")
    pins = [focused_factors((both, WIDE), 0.5, seed) for seed in range(2000)]
    joint = [p for p in pins if p is not None and "pencil_contrast" in p]
    assert all(p.keys() == {"pencil_contrast", "construction_colour"} for p in joint)
    contrast, colour = (np.array([p[name] for p in joint]) for name in sorted(joint[0], reverse=True))
    assert contrast.min() >= 10 and contrast.max() <= 25 and colour.min() >= 0.5 and colour.max() <= 1
    assert abs(np.corrcoef(contrast, colour)[0, 1]) < 0.1  # drawn apart inside the group
    # a group of one draws as a focus of one factor always did: the pages of earlier runs stay put
    for seed in range(200):
        rng = np.random.default_rng([seed, 3])
        chosen, index, position = rng.random() < 0.5, int(rng.integers(2)), rng.random()
        expected = {("pencil_contrast", "stroke_width")[index]: (10 + 30 * position, 5 + 3 * position)[index]}
        assert focused_factors((FAINT, WIDE), 0.5, seed) == (expected if chosen else None)


def test_a_focused_page_is_its_ordinary_page_with_one_factor_pinned() -> None:
    seed = next(s for s in range(100) if focused_factors((FAINT,), 0.5, s))
    pinned = focused_factors((FAINT,), 0.5, seed)
    assert draw_factors("sketch", seed, pinned) == draw_factors("sketch", seed) | pinned
    fmt = InputFormat(3, [0.0] * 3, [1.0] * 3)
    train = SyntheticPairs(
        "sketch", 64, 4, Augment(32), fmt, seed=0, validation=False, focus=(FAINT,), focus_share=0.5
    )
    plain = SyntheticPairs("sketch", 64, 4, Augment(32), fmt, seed=0, validation=False)
    for index in range(4):
        page_seed = train.item_seed(index)
        image, _ = train.load(index, np.random.default_rng(0))
        pinned = focused_factors((FAINT,), 0.5, page_seed)
        expected, _ = make_pair("sketch", 64, 64, page_seed, factors=pinned)
        assert np.array_equal(image, expected)
        unfocused, _ = plain.load(index, np.random.default_rng(0))
        assert np.array_equal(image, unfocused) == (pinned is None)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("pencil_contrast=5:40", "5..40 is not inside pencil_contrast's range 10..200"),
        ("pencil=10:40", "no sketch factor 'pencil'"),
        ("pencil_contrast=faint", "write FACTOR=LOW:HIGH"),
        ("pencil_contrast=40:10", "40..10 is not inside"),
    ],
)
def test_a_focus_outside_the_table_is_refused_with_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        Focus.parse("sketch", text)
    with pytest.raises(InputError, match=message):  # also as a part of a joint focus
        parse_focus("sketch", f"grid=0:0.5+{text}")
    with pytest.raises(InputError, match="names a factor twice"):
        parse_focus("sketch", "grid=0:0.5+grid=0.2:0.3")


def test_page_scales_spread_log_uniformly_over_their_range_by_seed() -> None:
    scales = np.array([page_scale((1.0, 4.0), seed) for seed in range(4000)])
    assert scales.min() >= 1.0 and scales.max() <= 4.0
    assert abs(np.mean(scales < 2.0) - 0.5) < 0.03  # as many pages from 1x to 2x as from 2x to 4x
    assert page_scale((1.0, 4.0), 7) == page_scale((1.0, 4.0), 7)


def test_a_page_drawn_at_a_larger_scale_has_larger_elements() -> None:
    image, target = make_pair("painting", 128, 128, 5)
    same_image, same_target = make_pair("painting", 128, 128, 5, scale=0.5)  # 128 / 256: its own scale
    assert np.array_equal(image, same_image) and np.array_equal(target, same_target)
    widths = []
    for scale in (0.5, 1.5):
        lines = make_pair("painting", 128, 128, 5, scale=scale)[1] < 128
        # mean stroke width: line pixels per centre-line pixel
        widths.append(lines.sum() / max(1, skeletonize(lines).sum()))
    assert widths[1] > 2 * widths[0]


def test_train_with_focus_and_scales_records_them_and_refuses_them_on_folders(tmp_path: Path) -> None:
    run = tmp_path / "run"
    tiny = ["--image-size", "48", "--crop", "32", "--train-size", "4", "--val-size", "2", "--batch-size", "4"]
    joint = "pencil_contrast=10:25+construction_colour=0.5:1"
    focus = ["--focus", "pencil_contrast=10:40", "--focus", joint, "--focus-share", "0.5"]
    args = ["train", "unet-light", "-o", str(run), *tiny, "--epochs", "1", *focus, "--scales", "0.5:1"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    config = json.loads((run / "config.json").read_text())
    assert config["focus"] == ["pencil_contrast=10:40", joint] and config["focus_share"] == 0.5
    assert config["scales"] == [0.5, 1.0]
    # the command in the weights retypes a repeated option once per value
    command = json.loads((run / "weights.json").read_text())["command"]
    assert f"--focus pencil_contrast=10:40 --focus {joint} --focus-share 0.5" in command
    assert "--scales 0.5:1" in command
    for scales, message in (("3:1", "needs 0 < LOW <= HIGH"), ("big", "write LOW:HIGH")):
        refused = CliRunner().invoke(app, ["train", "-o", str(tmp_path / "y"), "--scales", scales])
        assert refused.exit_code != 0 and message in refused.output
    refused = CliRunner().invoke(app, ["train", "-o", str(tmp_path / "x"), "--data", str(tmp_path), *focus])
    assert refused.exit_code != 0
    assert "--focus pins factors of synthetic pages" in refused.output
