"""A service that judges its own answers and says so in the GenAI conventions'
``gen_ai.evaluation.result`` events, with the OpenTelemetry Python SDK only:
``python -m tests.otlp.evaluation_client ENDPOINT`` sends its trace twice (an exporter's retry)
and prints the trace id (hex)."""

from __future__ import annotations

import sys

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


def main(endpoint: str) -> None:
    finished = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"evaltrace.experiment": "judged-svc"}))
    provider.add_span_processor(SimpleSpanProcessor(finished))
    tracer = provider.get_tracer("evaluation-client")
    with tracer.start_as_current_span("invoke_agent support") as root:
        with tracer.start_as_current_span("chat gpt-4o-mini") as chat:
            chat.set_attribute("gen_ai.operation.name", "chat")
            chat.set_attribute("gen_ai.response.id", "chatcmpl-1")
            chat.add_event(
                "gen_ai.evaluation.result",
                {
                    "gen_ai.evaluation.name": "relevance",
                    "gen_ai.evaluation.score.value": 0.8,
                    "gen_ai.evaluation.score.label": "relevant",
                    "gen_ai.evaluation.explanation": "answers the question asked",
                    "gen_ai.response.id": "chatcmpl-1",
                },
            )
        root.add_event(
            "gen_ai.evaluation.result",
            {
                "gen_ai.evaluation.name": "tone",
                "gen_ai.evaluation.score.label": "polite",
                "gen_ai.evaluation.source.type": "code",
                "gen_ai.evaluation.source.name": "tone-rules",
            },
        )
        root.add_event("gen_ai.evaluation.result", {"gen_ai.evaluation.score.value": 1})  # no name
        trace_id = root.get_span_context().trace_id
    spans = finished.get_finished_spans()
    exporter = OTLPSpanExporter(endpoint=endpoint)
    for _ in range(2):  # sent again, as an exporter retries a batch whose answer it lost
        exporter.export(spans)
    exporter.shutdown()
    print(f"{trace_id:032x}")


if __name__ == "__main__":
    main(sys.argv[1])
