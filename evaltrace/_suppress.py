"""Our own work never traced: OpenTelemetry's suppress-instrumentation key around it.

Database, HTTP and other instrumentations honour this key (the OTel SDK's exporters set it
around every export): without it, an app that instruments SQLAlchemy globally would trace our
writer's INSERTs, which would become traces, which the writer would insert...
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import context as otel_context

__all__ = ["instrumentation_suppressed"]

# Public in opentelemetry-instrumentation (``suppress_instrumentation``), which the SDK does not
# depend on; the SDK's own exporters use this key from opentelemetry.context.
_KEY = otel_context._SUPPRESS_INSTRUMENTATION_KEY


@contextmanager
def instrumentation_suppressed() -> Iterator[None]:
    token = otel_context.attach(otel_context.set_value(_KEY, True))
    try:
        yield
    finally:
        otel_context.detach(token)
