"""A service instrumented with the OpenTelemetry Python SDK only (no evaltrace), exporting
with ``opentelemetry-exporter-otlp-proto-http``: ``python -m tests.otlp.python_client
ENDPOINT COMPRESSION`` sends one nested trace and prints its trace id (hex).

The endpoint's headers come from ``OTEL_EXPORTER_OTLP_HEADERS``, as in any deployment."""

from __future__ import annotations

import json
import sys

from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Status, StatusCode


def main(endpoint: str, compression: str) -> None:
    resource = Resource.create({"service.name": "python-svc", "evaltrace.experiment": "py-svc"})
    provider = TracerProvider(resource=resource)
    exporter = OTLPSpanExporter(endpoint=endpoint, compression=Compression(compression))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    tracer = provider.get_tracer("python-client")
    with tracer.start_as_current_span("answer") as root:
        root.set_attribute("openinference.span.kind", "CHAIN")
        root.set_attribute("input.value", json.dumps({"question": "Where is my order?"}))
        with tracer.start_as_current_span("search orders") as search:
            search.set_attribute("openinference.span.kind", "RETRIEVER")
            search.add_event("cache miss", {"key": "order-7"})
        with tracer.start_as_current_span("chat gpt-4o-mini") as chat:
            chat.set_attribute("gen_ai.operation.name", "chat")
            chat.set_attribute("gen_ai.request.model", "gpt-4o-mini")
            chat.set_attribute("gen_ai.usage.input_tokens", 120)
            chat.set_attribute("gen_ai.usage.output_tokens", 30)
            chat.add_event("gen_ai.user.message", {"content": "Where is my order?"})
            chat.add_event(
                "gen_ai.choice",
                {"index": 0, "finish_reason": "stop", "message": "It ships tomorrow."},
            )
        with tracer.start_as_current_span("notify") as notify:
            notify.set_status(Status(StatusCode.ERROR, "smtp down"))
        root.set_attribute("output.value", "It ships tomorrow.")
        trace_id = root.get_span_context().trace_id
    provider.shutdown()  # exports what is left
    print(f"{trace_id:032x}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
