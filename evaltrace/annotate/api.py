"""Log, read, change and delete assessments of traces: one validated path for every call."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from evaltrace._config import current_user
from evaltrace._json import storable_text
from evaltrace._session import get_session
from evaltrace._validation import require_json, require_text, safe_str, shown
from evaltrace.entities import (
    Assessment,
    AssessmentError,
    AssessmentSource,
    AssessmentSourceType,
    Expectation,
    Feedback,
)
from evaltrace.entities.assessment import DEFAULT_SOURCE_ID
from evaltrace.entities.limits import MAX_TAG_KEY_CHARS
from evaltrace.exceptions import InvalidArgumentError
from evaltrace.tracer.redact import redact
from evaltrace.tracer.spans import recording_here

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
    "update_assessment",
]


class _Unchanged:
    """The default of update_assessment's fields: keep what the assessment has."""

    def __repr__(self) -> str:
        return "UNCHANGED"


_UNSET: Any = _Unchanged()
_EXPECTATION_FIELDS = {"trace_id", "name", "value", "source", "metadata", "span_id"}
_FEEDBACK_FIELDS = _EXPECTATION_FIELDS | {"rationale", "error"}


def log_expectation(
    *,
    trace_id: str,
    name: str,
    value: Any,
    source: AssessmentSource | None = None,
    metadata: Mapping[str, Any] | None = None,
    span_id: str | None = None,
) -> Expectation:
    """Attach ground truth to a trace (or one of its spans). Default source: HUMAN, you."""
    (expectation,) = log_expectations(
        [
            dict(
                trace_id=trace_id,
                name=name,
                value=value,
                source=source,
                metadata=metadata,
                span_id=span_id,
            )
        ]
    )
    return expectation


def log_feedback(
    *,
    trace_id: str,
    name: str,
    value: Any = None,
    rationale: str | None = None,
    source: AssessmentSource | None = None,
    metadata: Mapping[str, Any] | None = None,
    span_id: str | None = None,
    error: AssessmentError | Exception | str | None = None,
) -> Feedback:
    """Attach a judgment to a trace: a value with a rationale, or an error. Default source: CODE."""
    (feedback,) = log_feedbacks(
        [
            dict(
                trace_id=trace_id,
                name=name,
                value=value,
                rationale=rationale,
                source=source,
                metadata=metadata,
                span_id=span_id,
                error=error,
            )
        ]
    )
    return feedback


def log_expectations(records: Iterable[Mapping[str, Any]]) -> list[Expectation]:
    """Log many expectations, across many traces, in one transaction (all or nothing).

    Each record is a mapping with the keyword arguments of ``log_expectation``.
    """
    return _build_all(records, Expectation)  # type: ignore[return-value]


def log_feedbacks(records: Iterable[Mapping[str, Any]]) -> list[Feedback]:
    """Log many feedbacks in one transaction (all or nothing); records as for ``log_feedback``."""
    return _build_all(records, Feedback)  # type: ignore[return-value]


def _build_all(records: Iterable[Mapping[str, Any]], kind: type[Assessment]) -> list[Assessment]:
    if isinstance(records, Mapping) or not isinstance(records, Iterable):
        raise InvalidArgumentError("records must be a list of mappings")
    records = list(records)
    many = len(records) > 1
    now = _now_ms()
    built = []
    for index, record in enumerate(records):
        where = f"record {index}: " if many else ""
        if not isinstance(record, Mapping):
            raise InvalidArgumentError(f"{where}must be a mapping, got {type(record).__name__}")
        fields = _FEEDBACK_FIELDS if kind is Feedback else _EXPECTATION_FIELDS
        unknown = [shown(key) for key in record if key not in fields]
        if unknown:
            raise InvalidArgumentError(f"{where}unknown field(s) {', '.join(unknown)}")
        built.append(_build(kind, dict(record), where, now))
    to_log = [assessment for assessment in built if assessment.trace_id]
    remaining = get_session().attach_to_running_traces(to_log) if to_log else []
    if remaining:
        get_session().flush_for_readers()
        get_session().store().log_assessments(remaining)
    return built


def prepare_assessment(kind: type[Assessment], record: Mapping[str, Any]) -> Assessment:
    """The assessment ``log_expectation`` / ``log_feedback`` would write for ``record``,
    checked the same way, but not written: for callers that write it in a transaction of
    their own (labeling records a reviewer's labels and their review at once)."""
    return _build(kind, dict(record), "", _now_ms())


def _build(kind: type[Assessment], record: dict[str, Any], where: str, now: int) -> Assessment:
    if record.get("trace_id") is None and not recording_here():
        # ``get_active_trace_id()`` inside traced code with tracing off (or sampled out): as
        # the reference does, the assessment is returned and nothing is logged.
        trace_id = ""
    else:
        trace_id = _text(record.get("trace_id"), "trace_id", where)
    name = _text(record.get("name"), "name", where)
    if len(name) > MAX_TAG_KEY_CHARS:
        raise InvalidArgumentError(f"{where}name is longer than {MAX_TAG_KEY_CHARS} characters")
    span_id = record.get("span_id")
    if span_id is not None:
        _text(span_id, "span_id", where)
    value = record.get("value")
    common = {
        "assessment_id": f"a-{uuid.uuid4().hex}",
        "trace_id": trace_id,
        "name": name,
        "value": redact(require_json(value, f"{where}value"), ("value",)),
        "source": _source(record.get("source"), kind, where),
        "create_time_ms": now,
        "last_update_time_ms": now,
        "span_id": span_id,
        "metadata": redact(_metadata(record.get("metadata"), where), ("metadata",)),
    }
    if kind is Expectation:
        if value is None:
            raise InvalidArgumentError(f"{where}value of an expectation cannot be None")
        return Expectation(**common)
    error = _error(record.get("error"), where)
    if value is None and error is None:
        raise InvalidArgumentError(f"{where}a feedback needs a value or an error")
    rationale = redact(
        require_text(record.get("rationale"), f"{where}rationale", optional=True, empty=True),
        ("rationale",),
    )
    return Feedback(**common, rationale=rationale, error=error)


def _text(value: Any, argument: str, where: str) -> str:
    return str(require_text(value, f"{where}{argument}"))


def _metadata(metadata: Any, where: str) -> dict[str, Any]:
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping) or not all(isinstance(k, str) for k in metadata):
        raise InvalidArgumentError(f"{where}metadata must be a mapping with string keys")
    return dict(require_json(dict(metadata), f"{where}metadata"))


def _source(source: Any, kind: type[Assessment], where: str) -> AssessmentSource:
    if source is None:
        default = AssessmentSourceType.HUMAN if kind is Expectation else AssessmentSourceType.CODE
        return AssessmentSource(source_type=default, source_id=current_user())
    if isinstance(source, AssessmentSource):
        return source
    if isinstance(source, str):
        try:
            return AssessmentSource(source_type=source, source_id=current_user())  # type: ignore[arg-type]
        except InvalidArgumentError as exc:
            raise InvalidArgumentError(f"{where}source: {exc}") from None
    raise InvalidArgumentError(
        f"{where}source must be an AssessmentSource, got {type(source).__name__}"
    )


def _error(error: Any, where: str) -> AssessmentError | None:
    if error is None or isinstance(error, AssessmentError):
        return error
    if isinstance(error, BaseException):
        message = storable_text(safe_str(error))
        return AssessmentError(error_code=type(error).__name__, error_message=message)
    if isinstance(error, str):
        message = require_text(error, f"{where}error", empty=True)
        return AssessmentError(error_code="ERROR", error_message=message)
    raise InvalidArgumentError(f"{where}error must be an AssessmentError, an exception or a string")


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


# -- reading and changing ----------------------------------------------------------------------


def get_assessment(trace_id: str, assessment_id: str) -> Assessment:
    require_text(trace_id, "trace_id")
    require_text(assessment_id, "assessment_id")
    get_session().flush_for_readers()
    return get_session().store().get_assessment(trace_id, assessment_id)


def get_assessment_history(trace_id: str, name: str) -> list[Assessment]:
    """Every assessment of that name on the trace, oldest first, overridden ones included.

    Who changed a label, when, from what: ``overrides`` links each one to the one it replaced.
    """
    require_text(trace_id, "trace_id")
    require_text(name, "name")
    get_session().flush_for_readers()
    return get_session().store().assessment_history(trace_id, name)


def override_feedback(
    *,
    trace_id: str,
    assessment_id: str,
    value: Any,
    rationale: str | None = None,
    source: AssessmentSource | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Feedback:
    """Replace a feedback with a corrected one; the old one stays, marked invalid."""
    old = get_assessment(trace_id, assessment_id)
    if not isinstance(old, Feedback):
        raise InvalidArgumentError(
            f"assessment {assessment_id!r} is an expectation, not a feedback"
        )
    new = _build(
        Feedback,
        {
            "trace_id": trace_id,
            "name": old.name,
            "value": value,
            "rationale": rationale,
            "source": source
            or AssessmentSource(  # a correction is a person's, by default
                source_type=AssessmentSourceType.HUMAN, source_id=current_user()
            ),
            "metadata": metadata,
            "span_id": old.span_id,
        },
        "",
        _now_ms(),
    )
    new = replace(new, overrides=old.assessment_id)
    get_session().store().supersede_assessment(old, new)
    return new  # type: ignore[return-value]


def update_assessment(
    trace_id: str,
    assessment_id: str,
    assessment: Assessment | None = None,
    *,
    value: Any = _UNSET,
    rationale: Any = _UNSET,
    metadata: Any = _UNSET,
    source: AssessmentSource | None = None,
) -> Assessment:
    """Change an assessment: give the new ``value`` (``rationale``, ``metadata``, ``source``),
    or, as the reference does, an ``assessment`` built with them (``Feedback(value=...)``).
    The new version overrides the old one, which stays in ``get_assessment_history``."""
    old = get_assessment(trace_id, assessment_id)
    if assessment is not None:
        if not isinstance(assessment, type(old)):
            raise InvalidArgumentError(
                f"assessment {assessment_id!r} is a {old.kind}: update it with "
                f"{type(old).__name__}(...), not {type(assessment).__name__}(...)"
            )
        value = assessment.value
        metadata = assessment.metadata or _UNSET
        if assessment.source.source_id != DEFAULT_SOURCE_ID:  # not the constructor's default
            source = source or assessment.source
        if isinstance(assessment, Feedback):
            rationale = assessment.rationale
    if rationale is not _UNSET and not isinstance(old, Feedback):
        raise InvalidArgumentError("rationale applies to feedback only")
    record: dict[str, Any] = {
        "trace_id": trace_id,
        "name": old.name,
        "value": old.value if value is _UNSET else value,
        "source": source or old.source,
        "metadata": old.metadata if metadata is _UNSET else metadata,
        "span_id": old.span_id,
    }
    if isinstance(old, Feedback):
        record["rationale"] = old.rationale if rationale is _UNSET else rationale
        record["error"] = old.error if value is _UNSET else None
        if isinstance(assessment, Feedback) and assessment.error is not None:
            record["error"] = assessment.error
    new = replace(_build(type(old), record, "", _now_ms()), overrides=old.assessment_id)
    get_session().store().supersede_assessment(old, new)
    return new


def log_assessment(trace_id: str, assessment: Assessment) -> Assessment:
    """Log a ``Feedback`` or ``Expectation`` built beforehand (the reference's
    ``mlflow.log_assessment``), on ``trace_id``; returns it as stored (id and times set)."""
    if not isinstance(assessment, (Feedback, Expectation)):
        raise InvalidArgumentError(
            f"assessment must be a Feedback or an Expectation, got {type(assessment).__name__}"
        )
    record: dict[str, Any] = {
        "trace_id": trace_id,
        "name": assessment.name,
        "value": assessment.value,
        "source": assessment.source,
        "metadata": assessment.metadata,
        "span_id": assessment.span_id,
    }
    if isinstance(assessment, Feedback):
        record.update(rationale=assessment.rationale, error=assessment.error)
        return log_feedbacks([record])[0]
    return log_expectations([record])[0]


def delete_assessment(trace_id: str, assessment_id: str) -> None:
    """Delete an assessment; one it had overridden becomes valid again."""
    require_text(trace_id, "trace_id")
    require_text(assessment_id, "assessment_id")
    get_session().flush_for_readers()
    get_session().store().delete_assessment(trace_id, assessment_id)
