"""How much reviewers agree on a schema: percent agreement and Fleiss' kappa over the items
labeled by two reviewers or more (Fleiss' form for a varying number of raters per item)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

__all__ = ["Agreement", "agreement"]


@dataclass(frozen=True, slots=True)
class Agreement:
    items: int  # items with at least two labels
    percent: float | None  # mean share of agreeing reviewer pairs per item
    kappa: float | None  # Fleiss' kappa; None when chance agreement is total (one answer)


def agreement(labels_per_item: Sequence[Sequence[Hashable]]) -> Agreement:
    rated = [labels for labels in labels_per_item if len(labels) >= 2]
    if not rated:
        return Agreement(items=0, percent=None, kappa=None)
    shares = []
    totals: Counter[Hashable] = Counter()
    for labels in rated:
        counts = Counter(labels)
        n = len(labels)
        shares.append(sum(c * (c - 1) for c in counts.values()) / (n * (n - 1)))
        totals.update(counts)
    observed = sum(shares) / len(shares)
    all_labels = sum(totals.values())
    chance = sum((count / all_labels) ** 2 for count in totals.values())
    kappa = None if chance >= 1 else (observed - chance) / (1 - chance)
    return Agreement(items=len(rated), percent=observed, kappa=kappa)
