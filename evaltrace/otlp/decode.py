"""OTLP/HTTP trace request bodies to ``ExportTraceServiceRequest`` messages, decoded by
opentelemetry-proto: binary protobuf or JSON, plain or gzip, as the OTLP/HTTP spec allows.

OTLP's JSON is protobuf's JSON mapping with two differences the spec makes: trace and span ids
are hex strings (not base64), and enum values may be integers. Unknown fields are ignored
(receivers must accept messages from newer senders).
"""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any

from evaltrace.exceptions import OTLPDecodeError, RequestTooLargeError

__all__ = [
    "JSON",
    "MAX_DECODED_BYTES",
    "PROTOBUF",
    "decode_request",
    "encode_response",
    "encode_status",
    "media_type",
]

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
MAX_DECODED_BYTES = 64 * 1024 * 1024  # a gzip body may not inflate past this
_ID_FIELDS = ("traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id")


def media_type(content_type: str | None) -> str:
    """The body's media type, lowercased, without parameters ("" when not given)."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def decode_request(body: bytes, content_type: str | None, content_encoding: str | None) -> Any:
    """The ExportTraceServiceRequest in ``body``; OTLPDecodeError says what is wrong."""
    from google.protobuf import json_format
    from google.protobuf.message import DecodeError
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    kind = media_type(content_type)
    if kind not in (PROTOBUF, JSON):
        raise OTLPDecodeError(
            f"Content-Type must be {PROTOBUF} or {JSON}, got {content_type or 'none'!r}"
        )
    data = _inflate(body, content_encoding)
    request = ExportTraceServiceRequest()
    if kind == PROTOBUF:
        try:
            request.ParseFromString(data)
        except DecodeError as exc:
            raise OTLPDecodeError(
                f"the body is not an OTLP protobuf trace request: {exc}"
            ) from None
        return request
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, ValueError) as exc:
        raise OTLPDecodeError(f"the body is not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise OTLPDecodeError("an OTLP JSON trace request is an object with resourceSpans")
    _check_containers(document)
    _hex_ids_to_base64(document)
    try:
        json_format.ParseDict(document, request, ignore_unknown_fields=True)
    except (json_format.ParseError, ValueError, TypeError, RecursionError) as exc:
        raise OTLPDecodeError(f"the body is not an OTLP JSON trace request: {exc}") from None
    return request


def _inflate(body: bytes, content_encoding: str | None) -> bytes:
    encoding = (content_encoding or "identity").strip().lower()
    if encoding == "identity":
        return body
    if encoding != "gzip":
        raise OTLPDecodeError(f"Content-Encoding must be gzip or none, got {content_encoding!r}")
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, MAX_DECODED_BYTES + 1)
    except zlib.error as exc:
        raise OTLPDecodeError(f"the gzip body cannot be decompressed: {exc}") from None
    if len(data) > MAX_DECODED_BYTES or inflater.unconsumed_tail:
        raise RequestTooLargeError(f"the body inflates past {MAX_DECODED_BYTES} bytes")
    if not inflater.eof:
        raise OTLPDecodeError("the gzip body is cut short")
    return data


# The fields that hold spans, level by level. Unknown fields are ignored (a newer sender's), but
# one holding a list where spans would be (a misspelt "scopeSpanz", "span") would drop its
# spans without a word: such a body is refused. Pre-1.0 senders' names are read as today's.
_RESOURCE_SPANS = ("resourceSpans", "resource_spans")
_SCOPE_SPANS = ("scopeSpans", "scope_spans")
_LEGACY = {
    "instrumentationLibrarySpans": "scopeSpans",
    "instrumentation_library_spans": "scopeSpans",
}
_LEGACY_SCOPE = ("instrumentationLibrary", "instrumentation_library")


def _check_containers(document: dict[str, Any]) -> None:
    if document and not any(key in document for key in _RESOURCE_SPANS):
        raise OTLPDecodeError(
            f"an OTLP JSON trace request has resourceSpans; this one has {_keys(document)}"
        )
    for r, resource_spans in enumerate(_objects(_first(document, _RESOURCE_SPANS))):
        for legacy, name in _LEGACY.items():
            if legacy in resource_spans and not any(k in resource_spans for k in _SCOPE_SPANS):
                resource_spans[name] = resource_spans.pop(legacy)
        _refuse_unknown_lists(resource_spans, _SCOPE_SPANS, f"resourceSpans[{r}]")
        for s, scope_spans in enumerate(_objects(_first(resource_spans, _SCOPE_SPANS))):
            for legacy in _LEGACY_SCOPE:
                if legacy in scope_spans and "scope" not in scope_spans:
                    scope_spans["scope"] = scope_spans.pop(legacy)
            _refuse_unknown_lists(scope_spans, ("spans",), f"resourceSpans[{r}].scopeSpans[{s}]")


def _refuse_unknown_lists(message: dict[str, Any], known: tuple[str, ...], where: str) -> None:
    for key, value in message.items():
        if isinstance(value, list) and key not in known:
            raise OTLPDecodeError(
                f"{where}: unknown field {str(key)[:100]!r} holds a list (did you mean "
                f"{known[0]!r}?); its spans would be lost"
            )


def _first(message: dict[str, Any], names: tuple[str, ...]) -> Any:
    return next((message[name] for name in names if name in message), None)


def _keys(document: dict[str, Any]) -> str:
    return ", ".join(repr(str(key)[:50]) for key in list(document)[:5])


def _hex_ids_to_base64(document: dict[str, Any]) -> None:
    """OTLP JSON's hex ids as the base64 protobuf's JSON mapping reads. An id that is not hex
    becomes empty: the span is then rejected as invalid (not the whole request)."""
    for resource_spans in _objects(document.get("resourceSpans", document.get("resource_spans"))):
        scopes = resource_spans.get("scopeSpans", resource_spans.get("scope_spans"))
        for scope_spans in _objects(scopes):
            for span in _objects(scope_spans.get("spans")):
                _convert_ids(span)
                for link in _objects(span.get("links")):
                    _convert_ids(link)


def _objects(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _convert_ids(message: dict[str, Any]) -> None:
    for field in _ID_FIELDS:
        value = message.get(field)
        if isinstance(value, str):
            try:
                message[field] = base64.b64encode(bytes.fromhex(value)).decode()
            except ValueError:
                message[field] = ""


def encode_response(kind: str, rejected: int, message: str) -> tuple[bytes, str]:
    """An ExportTraceServiceResponse in the request's encoding, with ``partial_success`` set
    when spans were rejected (the spec: left unset when everything was accepted)."""
    from google.protobuf import json_format
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceResponse,
    )

    response = ExportTraceServiceResponse()
    if rejected:
        response.partial_success.rejected_spans = rejected
        response.partial_success.error_message = message
    if kind == JSON:
        return json.dumps(json_format.MessageToDict(response)).encode(), JSON
    return response.SerializeToString(), PROTOBUF


def encode_status(kind: str, code: int, message: str) -> tuple[bytes, str]:
    """A google.rpc.Status, the body OTLP/HTTP gives every 4xx and 5xx response (JSON for a
    JSON request, protobuf otherwise)."""
    if kind == JSON:
        return json.dumps({"code": code, "message": message}).encode(), JSON
    from google.rpc import status_pb2

    return status_pb2.Status(code=code, message=message).SerializeToString(), PROTOBUF
