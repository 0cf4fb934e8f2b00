"""``gen_ai.evaluation.result`` events (the GenAI semantic conventions' judgments of an
operation) as Feedback on the span that carries them: the evaluation's name, its score (value,
else label) and explanation, the response id as metadata. Ids are derived from the event, so a
request sent again stores each judgment once."""

from __future__ import annotations

import hashlib
from typing import Any

from evaltrace.entities import (
    AssessmentError,
    AssessmentSource,
    AssessmentSourceType,
    Feedback,
    Span,
)

__all__ = ["EVALUATION_EVENT", "evaluation_feedback"]

EVALUATION_EVENT = "gen_ai.evaluation.result"
_NAME = "gen_ai.evaluation.name"
_VALUE = "gen_ai.evaluation.score.value"
_LABEL = "gen_ai.evaluation.score.label"
_EXPLANATION = "gen_ai.evaluation.explanation"
_RESPONSE_ID = "gen_ai.response.id"
_ERROR = "error.type"
# Who judged (not in the conventions yet): an LLM judge unless the event says otherwise.
_SOURCE_TYPE = "gen_ai.evaluation.source.type"
_SOURCE_ID = "gen_ai.evaluation.source.name"


def evaluation_feedback(span: Span) -> list[Feedback]:
    judgments = []
    for event in span.events:
        if event.name != EVALUATION_EVENT:
            continue
        attributes = event.attributes
        name = attributes.get(_NAME)
        if not isinstance(name, str) or not name:
            continue  # a judgment of nothing named: kept as the span's event only
        value = attributes.get(_VALUE, attributes.get(_LABEL))
        metadata: dict[str, Any] = {}
        if _VALUE in attributes and _LABEL in attributes:
            metadata["label"] = attributes[_LABEL]
        if _RESPONSE_ID in attributes:
            metadata[_RESPONSE_ID] = attributes[_RESPONSE_ID]
        error = None
        if value is None:
            problem = attributes.get(_ERROR) or "the evaluation event has no score"
            error = AssessmentError(error_code="EVALUATION_FAILED", error_message=str(problem))
        explanation = attributes.get(_EXPLANATION)
        created = event.timestamp_ns // 1_000_000
        judgments.append(
            Feedback(
                assessment_id=_id(span, event.timestamp_ns, name),
                trace_id=span.trace_id,
                span_id=span.span_id,
                name=name,
                value=value,
                rationale=None if explanation is None else str(explanation),
                source=_source(attributes),
                metadata=metadata,
                error=error,
                create_time_ms=created,
                last_update_time_ms=created,
            )
        )
    return judgments


def _id(span: Span, timestamp_ns: int, name: str) -> str:
    key = f"{span.trace_id}/{span.span_id}/{timestamp_ns}/{name}".encode()
    return "a-" + hashlib.sha256(key).hexdigest()[:32]


def _source(attributes: dict[str, Any]) -> AssessmentSource:
    kind = str(attributes.get(_SOURCE_TYPE) or "LLM_JUDGE").upper()
    if kind not in AssessmentSourceType.__members__:
        kind = "LLM_JUDGE"
    source_id = attributes.get(_SOURCE_ID)
    return AssessmentSource(
        source_type=AssessmentSourceType(kind),
        source_id=str(source_id) if source_id else "otlp",
    )
