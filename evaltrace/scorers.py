"""``evaltrace.scorers``: the @scorer decorator, deterministic built-ins and LLM judges."""

from evaltrace.evaluate.judges import (
    Correctness,
    ExpectationsGuidelines,
    Guidelines,
    JudgeScorer,
    RelevanceToQuery,
    Safety,
)
from evaltrace.evaluate.scorers import (
    NotJudged,
    Score,
    Scorer,
    contains_all,
    exact_match,
    scorer,
)

__all__ = [
    "Correctness",
    "ExpectationsGuidelines",
    "Guidelines",
    "JudgeScorer",
    "NotJudged",
    "RelevanceToQuery",
    "Safety",
    "Score",
    "Scorer",
    "contains_all",
    "exact_match",
    "scorer",
]
