"""Annotate traces: expectations (ground truth) and feedback (judgments), with history."""

from evaltrace.annotate.api import (
    delete_assessment,
    get_assessment,
    get_assessment_history,
    log_assessment,
    log_expectation,
    log_expectations,
    log_feedback,
    log_feedbacks,
    override_feedback,
    prepare_assessment,
    update_assessment,
)

__all__ = [
    "delete_assessment",
    "get_assessment",
    "get_assessment_history",
    "log_assessment",
    "log_expectation",
    "log_expectations",
    "log_feedback",
    "log_feedbacks",
    "override_feedback",
    "prepare_assessment",
    "update_assessment",
]
