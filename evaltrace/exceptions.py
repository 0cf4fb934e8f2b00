"""The public error hierarchy.

Every error evaltrace raises on purpose is an :class:`EvaltraceError`. Errors a user can fix
(bad arguments, unknown ids) say what is wrong and where.
"""

from __future__ import annotations

__all__ = [
    "AssessmentNotFoundError",
    "AuthenticationError",
    "DatasetNotFoundError",
    "DatasetValidationError",
    "EvaltraceError",
    "EvaluationRunNotFoundError",
    "ExperimentNotFoundError",
    "InvalidArgumentError",
    "InvalidFilterError",
    "MissingDependencyError",
    "MlflowException",
    "MonitorBusyError",
    "NotFoundError",
    "OTLPDecodeError",
    "PermissionDeniedError",
    "RequestTooLargeError",
    "ScorerLoadError",
    "ScorerNotFoundError",
    "StoreError",
    "StoreUnavailableError",
    "TraceNotFoundError",
]


class EvaltraceError(Exception):
    """Base class of every error raised by evaltrace."""


# The reference's base error, by its name: ``except mlflow.MlflowException`` keeps working.
MlflowException = EvaltraceError


class InvalidArgumentError(EvaltraceError, ValueError):
    """An argument to a public API has a wrong type or value."""


class InvalidFilterError(InvalidArgumentError):
    """A filter string cannot be parsed or names an unknown key.

    ``position`` is the 0-based character offset of the offending token in the filter string.
    """

    def __init__(self, message: str, *, position: int | None = None) -> None:
        super().__init__(message)
        self.position = position


class NotFoundError(EvaltraceError, LookupError):
    """A requested object does not exist in the store."""


class TraceNotFoundError(NotFoundError):
    """No trace with the given id exists in the store."""


class ExperimentNotFoundError(NotFoundError):
    """No experiment with the given id or name exists in the store."""


class AssessmentNotFoundError(NotFoundError):
    """No assessment with the given id exists on the given trace."""


class StoreError(EvaltraceError):
    """The store could not be reached, migrated or written."""


class StoreUnavailableError(StoreError):
    """The store cannot be reached or is locked right now; the same call may succeed later."""


class AuthenticationError(EvaltraceError):
    """The server did not accept the token (none given, or one it does not know): HTTP 401."""


class PermissionDeniedError(EvaltraceError):
    """The server knows the token, but its scopes do not allow the call: HTTP 403. The message
    names the token and the scope the call needs."""


class MissingDependencyError(EvaltraceError, ImportError):
    """An optional package that this feature needs is not installed (the message says which)."""


class DatasetNotFoundError(NotFoundError):
    """No dataset with the given id or name (or no such version of it)."""


class DatasetValidationError(InvalidArgumentError):
    """A dataset failed ``evaltrace.datasets.validate``; ``report`` holds every finding."""

    def __init__(self, message: str, report: object = None) -> None:
        super().__init__(message)
        self.report = report


class EvaluationRunNotFoundError(NotFoundError):
    """No evaluation run with the given id."""


class OTLPDecodeError(InvalidArgumentError):
    """An OTLP request body that cannot be decoded (not protobuf or JSON, bad gzip, ...)."""


class RequestTooLargeError(InvalidArgumentError):
    """A request larger than the server takes (after decompression, for a gzip body)."""


class ScorerNotFoundError(NotFoundError):
    """No registered scorer of that name (or version) in the experiment."""


class ScorerLoadError(EvaltraceError):
    """A registered scorer cannot be loaded where it should run (its module cannot be
    imported, its source does not define it, ...)."""


class MonitorBusyError(EvaltraceError):
    """Another monitor worker holds the SQLite store's lease (one runs at a time there)."""
