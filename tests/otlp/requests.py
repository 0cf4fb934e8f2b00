"""OTLP trace requests built with opentelemetry-proto's own message classes."""

from __future__ import annotations

import os
from typing import Any

import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

NS = 1_000_000_000
PROTOBUF = {"content-type": "application/x-protobuf"}


def any_value(value: Any) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    return AnyValue(string_value=str(value))


def attributes(values: dict[str, Any]) -> list[KeyValue]:
    return [KeyValue(key=k, value=any_value(v)) for k, v in values.items()]


def new_trace_id() -> bytes:
    return os.urandom(16)


def span(
    trace_id: bytes,
    span_id: bytes,
    name: str,
    parent: bytes = b"",
    start: int = 1_700_000_000 * NS,
    duration: int = NS,
    error: bool = False,
    **attrs: Any,
) -> Span:
    return Span(
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=parent,
        name=name,
        start_time_unix_nano=start,
        end_time_unix_nano=start + duration,
        attributes=attributes(attrs),
        status=Status(code=Status.STATUS_CODE_ERROR if error else Status.STATUS_CODE_OK),
    )


def request(*spans: Span, resource: dict[str, Any] | None = None) -> ExportTraceServiceRequest:
    resource_spans = ResourceSpans(scope_spans=[ScopeSpans(spans=list(spans))])
    resource_spans.resource.attributes.extend(attributes(resource or {"service.name": "tests"}))
    return ExportTraceServiceRequest(resource_spans=[resource_spans])


def post(server: str, message: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(
        f"{server}/v1/traces",
        content=message.SerializeToString(),
        headers={**PROTOBUF, **(headers or {})},
        timeout=30,
    )
