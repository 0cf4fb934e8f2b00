"""OpenInference's instrumentation of the real openai client (no evaltrace in this process):
``python -m tests.otlp.openinference_client ENDPOINT`` asks evaltrace.testing's OpenAIServer
one chat question over HTTP, exports the span with the OpenTelemetry SDK's protobuf exporter,
and prints its trace id (hex)."""

from __future__ import annotations

import sys

import openai
from openinference.instrumentation.openai import OpenAIInstrumentor
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from evaltrace.testing import OpenAIServer


def main(endpoint: str) -> None:
    provider = TracerProvider()
    seen = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    provider.add_span_processor(SimpleSpanProcessor(seen))
    OpenAIInstrumentor().instrument(tracer_provider=provider)
    with OpenAIServer() as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="test", max_retries=0)
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[
                {"role": "system", "content": "You answer about orders."},
                {"role": "user", "content": "Where is order 42?"},
            ],
        )
    provider.shutdown()
    (span,) = seen.get_finished_spans()  # what was exported, seen here too for its id
    print(f"{span.context.trace_id:032x}")


if __name__ == "__main__":
    main(sys.argv[1])
