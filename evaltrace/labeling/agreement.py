"""How much reviewers agree on a schema, over the items labeled by two reviewers or more:
percent agreement, Fleiss' kappa (any number of reviewers, varying per item) and Cohen's
kappa (each pair of reviewers over the items both labeled, with each reviewer's own answer
rates; with more than two reviewers, the mean over pairs: Light's kappa)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

__all__ = ["Agreement", "agreement"]


@dataclass(frozen=True, slots=True)
class Agreement:
    items: int  # items with at least two labels
    percent: float | None  # mean share of agreeing reviewer pairs per item
    fleiss_kappa: float | None  # None when chance agreement is total (one answer only)
    cohen_kappa: float | None  # None when no pair of reviewers has a defined kappa
    pairs: int  # reviewer pairs with a Cohen's kappa (1 for two reviewers)


def agreement(labels_per_item: Sequence[Mapping[str, Hashable]]) -> Agreement:
    """``labels_per_item``: per item, each reviewer's answer (reviewer name → answer)."""
    rated = [labels for labels in labels_per_item if len(labels) >= 2]
    if not rated:
        return Agreement(items=0, percent=None, fleiss_kappa=None, cohen_kappa=None, pairs=0)
    percent, fleiss = _fleiss([list(labels.values()) for labels in rated])
    cohen = [
        kappa
        for a, b in combinations(sorted({r for labels in rated for r in labels}), 2)
        if (kappa := _cohen([(x[a], x[b]) for x in rated if a in x and b in x])) is not None
    ]
    return Agreement(
        items=len(rated),
        percent=percent,
        fleiss_kappa=fleiss,
        cohen_kappa=sum(cohen) / len(cohen) if cohen else None,
        pairs=len(cohen),
    )


def _fleiss(rated: Sequence[Sequence[Hashable]]) -> tuple[float, float | None]:
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
    return observed, None if chance >= 1 else (observed - chance) / (1 - chance)


def _cohen(pairs: Sequence[tuple[Hashable, Hashable]]) -> float | None:
    if not pairs:
        return None
    n = len(pairs)
    observed = sum(a == b for a, b in pairs) / n
    first, second = Counter(a for a, _ in pairs), Counter(b for _, b in pairs)
    chance = sum(first[k] * second[k] for k in first) / (n * n)
    return None if chance >= 1 else (observed - chance) / (1 - chance)
