"""Immutable values exchanged with users and the store (standard library only)."""

from evaltrace.entities.assessment import (
    Assessment,
    AssessmentError,
    AssessmentSource,
    AssessmentSourceType,
    Expectation,
    ExpectationValue,
    Feedback,
    FeedbackValue,
)
from evaltrace.entities.conversation import Conversation
from evaltrace.entities.dataset import (
    DatasetInfo,
    DatasetRecord,
    DatasetRecordSource,
    DatasetRecordSourceType,
    DatasetVersion,
)
from evaltrace.entities.experiment import DEFAULT_EXPERIMENT_ID, DEFAULT_EXPERIMENT_NAME, Experiment
from evaltrace.entities.prompt import Prompt, PromptVersion
from evaltrace.entities.span import Span, SpanEvent, SpanStatus, SpanStatusCode, SpanType
from evaltrace.entities.trace import Trace, TraceData, TraceInfo, TraceState
from evaltrace.entities.trace_location import (
    MlflowExperimentLocation,
    TraceLocation,
    TraceLocationType,
)

__all__ = [
    "DEFAULT_EXPERIMENT_ID",
    "DEFAULT_EXPERIMENT_NAME",
    "Assessment",
    "AssessmentError",
    "AssessmentSource",
    "AssessmentSourceType",
    "Conversation",
    "DatasetInfo",
    "DatasetRecord",
    "DatasetRecordSource",
    "DatasetRecordSourceType",
    "DatasetVersion",
    "Expectation",
    "ExpectationValue",
    "Experiment",
    "Feedback",
    "FeedbackValue",
    "MlflowExperimentLocation",
    "Prompt",
    "PromptVersion",
    "Session",
    "Span",
    "SpanEvent",
    "SpanStatus",
    "SpanStatusCode",
    "SpanType",
    "Trace",
    "TraceData",
    "TraceInfo",
    "TraceLocation",
    "TraceLocationType",
    "TraceState",
]

# The reference's name for a conversation (``mlflow.entities.Session``).
Session = Conversation
