"""Where a held-out set's errors come from: line F1 of the pages at each end of every
domain-randomisation factor, and the worst pages.

A set written by `toolkit synth` draws every factor per page (toolkit.data.factors) and records the
values beside the pairs (toolkit.data.synthetic.PAGES_FILE). Splitting its pages at each factor's
lower and upper quartile and scoring the two quarters apart (micro averages, as the whole set is
scored) shows which factors cost the most where they meet the others at random, which the sweep
(one factor at a time, the rest at their middle) cannot show.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from toolkit.analysis.metrics import add_counts, scores

QUARTER = 0.25


@dataclass(frozen=True)
class FactorSplit:
    """Line F1 of the pages whose `factor` is at most `low_up_to` (the lowest quarter) and of those at
    least `high_from` (the highest quarter)."""

    factor: str
    low_up_to: float
    low_pages: int
    low_line_f1: float
    high_from: float
    high_pages: int
    high_line_f1: float

    @property
    def gap(self) -> float:
        return abs(self.high_line_f1 - self.low_line_f1)

    def to_dict(self) -> dict:
        return asdict(self) | {"gap": self.gap}

    def describe(self) -> str:
        """One line, the weaker end first: 'stroke_width >= 4.85: 0.815 (<= 2.34: 0.900)'."""
        low = f"<= {self.low_up_to:.3g}: {self.low_line_f1:.3f}"
        high = f">= {self.high_from:.3g}: {self.high_line_f1:.3f}"
        weak, strong = (high, low) if self.high_line_f1 < self.low_line_f1 else (low, high)
        return f"{self.factor} {weak} ({strong})"


def line_f1_of(page_counts: list[dict[str, int]]) -> float:
    total: dict[str, int] = {}
    for counts in page_counts:
        total = add_counts(total, counts)
    return scores(total)["line_f1"]


def factor_splits(
    page_counts: dict[str, dict[str, int]], page_factors: dict[str, dict[str, float]]
) -> list[FactorSplit]:
    """Every factor that varies over the scored pages, the largest gap between its two ends first.

    `page_counts`: toolkit.analysis.metrics counts per page stem; `page_factors`: the factor values
    per page stem (toolkit.data.synthetic.read_page_factors). Pages without values are left out.
    """
    stems = [stem for stem in page_counts if stem in page_factors]
    if not stems:
        return []
    splits = []
    for factor in page_factors[stems[0]]:
        values = np.array([page_factors[stem][factor] for stem in stems])
        low_up_to, high_from = np.quantile(values, [QUARTER, 1 - QUARTER])
        if low_up_to == high_from:  # too few distinct values to tell the ends apart
            continue
        low = [page_counts[stem] for stem, value in zip(stems, values) if value <= low_up_to]
        high = [page_counts[stem] for stem, value in zip(stems, values) if value >= high_from]
        splits.append(
            FactorSplit(
                factor,
                float(low_up_to),
                len(low),
                line_f1_of(low),
                float(high_from),
                len(high),
                line_f1_of(high),
            )
        )
    return sorted(splits, key=lambda split: split.gap, reverse=True)


def worst_pages(page_counts: dict[str, dict[str, int]], count: int = 10) -> list[tuple[str, float]]:
    """The `count` pages of lowest line F1, as (stem, line F1), worst first."""
    page_f1 = [(stem, scores(counts)["line_f1"]) for stem, counts in page_counts.items()]
    return sorted(page_f1, key=lambda item: item[1])[:count]
