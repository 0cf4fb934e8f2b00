"""The HTTP store's wire codec: the values store calls take and return, as JSON and back.

Entities with ``to_dict``/``from_dict`` travel as those dicts; other records (dataclasses) field
by field; tuples, enums and dicts whose keys are not plain strings are tagged so they come back
as they left. Only the classes registered here are ever rebuilt: a body names a class by its
registered name, never by an import path.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from enum import Enum
from typing import Any

from evaltrace.exceptions import InvalidArgumentError

__all__ = ["decode", "encode", "register"]

_TYPE = "$"  # {"$": "Trace", "v": ...}: a registered class
_TUPLE = "$tuple"
_PAIRS = "$pairs"  # a dict with keys other than plain strings (or a key that looks like a tag)
_ENUM = "$enum"
_TAGS = (_TYPE, _TUPLE, _PAIRS, _ENUM)


def _registry() -> tuple[dict[str, type], dict[str, type[Enum]]]:
    """Every class that crosses the wire, by name (imported on first use: the server and the
    HTTP store load it, ``import evaltrace`` does not)."""
    from evaltrace.entities import (
        Assessment,
        AssessmentError,
        AssessmentSource,
        DatasetInfo,
        DatasetRecord,
        DatasetRecordSource,
        DatasetVersion,
        Expectation,
        Experiment,
        Feedback,
        Span,
        SpanEvent,
        SpanStatus,
        Trace,
        TraceInfo,
    )
    from evaltrace.entities.assessment import AssessmentSourceType
    from evaltrace.entities.dataset import DatasetRecordSourceType
    from evaltrace.entities.evaluation import EvaluationRun, RunResult
    from evaltrace.entities.labeling import LabelSchema
    from evaltrace.entities.monitoring import (
        FinishedJob,
        JobOutcome,
        MonitorJob,
        ScorerRegistration,
        ScorerSamplingConfig,
        ScorerStatus,
    )
    from evaltrace.entities.prompt import Prompt, PromptVersion
    from evaltrace.entities.span import SpanStatusCode
    from evaltrace.entities.trace import TraceState
    from evaltrace.search.ast import And, Comparison, Key, KeyKind, Not, Op, Or, SpanGroup
    from evaltrace.search.order import OrderKey
    from evaltrace.store.base import TracePage
    from evaltrace.store.results import MergeResult, SessionSummary, SpanOutline, TraceOutline

    classes: list[type] = [
        Assessment,
        AssessmentError,
        AssessmentSource,
        DatasetInfo,
        DatasetRecord,
        DatasetRecordSource,
        DatasetVersion,
        EvaluationRun,
        Expectation,
        Experiment,
        Feedback,
        FinishedJob,
        LabelSchema,
        MergeResult,
        MonitorJob,
        RunResult,
        ScorerRegistration,
        ScorerSamplingConfig,
        ScorerStatus,
        SessionSummary,
        Span,
        SpanEvent,
        SpanOutline,
        SpanStatus,
        Trace,
        TraceInfo,
        TraceOutline,
        TracePage,
        And,
        Comparison,
        Key,
        Not,
        Or,
        OrderKey,
        SpanGroup,
        Prompt,
        PromptVersion,
    ]
    enums: list[type[Enum]] = [
        AssessmentSourceType,
        DatasetRecordSourceType,
        JobOutcome,
        KeyKind,
        Op,
        SpanStatusCode,
        TraceState,
    ]
    return {c.__name__: c for c in classes}, {e.__name__: e for e in enums}


_classes: dict[str, type] | None = None
_enums: dict[str, type[Enum]] = {}
_registered: dict[str, type] = {}


def register(cls: type) -> type:
    """Let a class of a layer above the store cross the wire (a dataset's record candidates,
    which carry their merge rules to the store)."""
    _registered[cls.__name__] = cls
    if _classes is not None:
        _classes[cls.__name__] = cls
    return cls


def _known() -> dict[str, type]:
    global _classes, _enums
    if _classes is None:
        classes, _enums = _registry()
        _classes = {**classes, **_registered}
    return _classes


def _has_dict_codec(cls: type) -> bool:
    return callable(getattr(cls, "to_dict", None)) and callable(getattr(cls, "from_dict", None))


def encode(value: Any) -> Any:
    """``value`` as JSON-ready data."""
    if isinstance(value, Enum):
        return {_ENUM: type(value).__name__, "v": value.value}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return [encode(item) for item in value]
    if isinstance(value, tuple):
        return {_TUPLE: [encode(item) for item in value]}
    if isinstance(value, dict):
        if all(type(key) is str for key in value) and not any(tag in value for tag in _TAGS):
            return {key: encode(item) for key, item in value.items()}
        return {_PAIRS: [[encode(key), encode(item)] for key, item in value.items()]}
    cls = type(value)
    if _known().get(cls.__name__) is not cls:
        raise InvalidArgumentError(f"a {cls.__name__} cannot be sent to the server")
    if _has_dict_codec(cls):
        return {_TYPE: cls.__name__, "v": value.to_dict()}
    fields = {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return {_TYPE: cls.__name__, "v": fields}


def decode(data: Any) -> Any:
    """The value ``encode`` made ``data`` of; InvalidArgumentError for anything else."""
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, list):
        return [decode(item) for item in data]
    if not isinstance(data, dict):
        raise InvalidArgumentError(f"cannot decode a {type(data).__name__}")
    if _TYPE in data:
        return _decode_instance(data)
    if _TUPLE in data:
        return tuple(decode(item) for item in _list(data[_TUPLE]))
    if _PAIRS in data:
        pairs = [_list(pair) for pair in _list(data[_PAIRS])]
        if any(len(pair) != 2 for pair in pairs):
            raise InvalidArgumentError("a $pairs entry is not a [key, value] pair")
        return {_hashable(decode(key)): decode(item) for key, item in pairs}
    if _ENUM in data:
        _known()
        enum = _enums.get(str(data[_ENUM]))
        if enum is None:
            raise InvalidArgumentError(f"unknown enum {str(data[_ENUM])[:100]!r}")
        try:
            return enum(data.get("v"))
        except ValueError:
            raise InvalidArgumentError(f"{data.get('v')!r} is not a {enum.__name__}") from None
    return {key: decode(item) for key, item in data.items()}


def _decode_instance(data: dict[str, Any]) -> Any:
    cls = _known().get(str(data[_TYPE]))
    if cls is None:
        raise InvalidArgumentError(f"unknown type {str(data[_TYPE])[:100]!r}")
    body = data.get("v")
    if not isinstance(body, dict):
        raise InvalidArgumentError(f"a {cls.__name__} must be an object")
    try:
        if _has_dict_codec(cls):
            from_dict: Callable[[dict[str, Any]], Any] = cls.from_dict  # type: ignore[attr-defined]
            return from_dict(body)
        return cls(**{key: decode(item) for key, item in body.items()})
    except InvalidArgumentError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise InvalidArgumentError(f"malformed {cls.__name__}: {exc}") from None


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise InvalidArgumentError(f"expected a list, got a {type(value).__name__}")
    return value


def _hashable(key: Any) -> Any:
    if isinstance(key, (list, dict)):
        raise InvalidArgumentError("a dict key must be a scalar or a tuple")
    return key
