"""``evaltrace.scorers``: the @scorer decorator, deterministic built-ins, LLM judges, and the
registered scorers of production monitoring."""

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
from evaltrace.monitoring import (
    BackfillScorerConfig,
    ScorerSamplingConfig,
    backfill_scorers,
    delete_scorer,
    get_scorer,
    list_scorers,
)

__all__ = [
    "BackfillScorerConfig",
    "Correctness",
    "ExpectationsGuidelines",
    "Guidelines",
    "JudgeScorer",
    "NotJudged",
    "RelevanceToQuery",
    "Safety",
    "Score",
    "Scorer",
    "ScorerSamplingConfig",
    "backfill_scorers",
    "contains_all",
    "delete_scorer",
    "exact_match",
    "get_scorer",
    "list_scorers",
    "scorer",
]
