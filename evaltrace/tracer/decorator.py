"""``@trace``: one span per call of a function, coroutine, generator or async generator."""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, overload

from opentelemetry import context as otel_context
from opentelemetry import trace as otel_trace
from opentelemetry.sdk.trace import Span as OtelSpan
from opentelemetry.trace import Span

from evaltrace._config import get_settings
from evaltrace._internal_errors import log_internal_error
from evaltrace._validation import require_text
from evaltrace.entities import SpanType
from evaltrace.entities import attribute_keys as keys
from evaltrace.exceptions import InvalidArgumentError
from evaltrace.tracer import process_exit
from evaltrace.tracer.serialize import to_json
from evaltrace.tracer.spans import (
    TRACING,
    UNSAMPLED,
    UNTRACED,
    end_span_error,
    end_span_ok,
    open_span,
    parent_for_new_span,
    span_attributes,
)

__all__ = ["trace"]

F = TypeVar("F", bound=Callable[..., Any])
_CLOSED_EARLY = "evaltrace.generator.closed_early"
_INTERRUPTED = "evaltrace.interrupted"  # the exception's type, when it was no failure


class _CallPlan:
    """Everything about a traced function that can be worked out once, at decoration time."""

    __slots__ = (
        "attributes",
        "defaults",
        "fn",
        "name",
        "output_reducer",
        "positional",
        "signature",
        "skip",
    )

    def __init__(
        self,
        fn: Callable[..., Any],
        name: str | None,
        span_type: str,
        attributes: Mapping[str, Any] | None,
        output_reducer: Callable[[list[Any]], Any] | None,
    ) -> None:
        self.fn = fn
        self.name = name or getattr(fn, "__name__", None) or type(fn).__name__
        self.attributes = span_attributes(span_type, attributes)
        self.output_reducer = output_reducer
        try:
            self.signature: inspect.Signature | None = inspect.signature(fn)
        except (TypeError, ValueError):
            self.signature = None
        params = list(self.signature.parameters.values()) if self.signature else []
        # Methods: the instance or class is not an input.
        self.skip = 1 if params and params[0].name in ("self", "cls") else 0
        simple = all(p.kind is p.POSITIONAL_OR_KEYWORD for p in params)
        # With only plain parameters passed positionally, binding is a zip plus the defaults of
        # the trailing parameters: much cheaper than Signature.bind on the hot path.
        self.positional = tuple(p.name for p in params) if simple else None
        self.defaults = tuple((p.name, p.default) for p in params)

    def _bind_positional(self, args: tuple[Any, ...]) -> dict[str, Any] | None:
        names = self.positional
        if names is None or len(args) > len(names):
            return None
        arguments = dict(zip(names, args))
        for name, default in self.defaults[len(args) :]:
            if default is inspect.Parameter.empty:
                return None
            arguments[name] = default
        return arguments

    def inputs(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        fast = None if kwargs else self._bind_positional(args)
        if fast is not None:
            arguments = fast
        elif self.signature is None:
            return {"args": list(args), "kwargs": kwargs}
        else:
            try:
                bound = self.signature.bind(*args, **kwargs)
            except TypeError:  # the call itself will fail the same way; keep what was passed
                return {"args": list(args), "kwargs": kwargs}
            bound.apply_defaults()
            arguments = bound.arguments
        if self.skip:
            arguments.pop(next(iter(arguments)), None)
        return arguments

    def start(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Span | None:
        """A started span with the call's inputs; ``UNSAMPLED`` (made current, so the call's
        children are left out too) when sampling leaves the trace out; None if tracing is off
        or failed (contained)."""
        if not TRACING.on or UNTRACED.get():  # tracing_here(), without a call: hot path
            return None
        # try/except rather than handle_internal_errors(): a context manager costs microseconds.
        try:
            settings = get_settings()
            parent = parent_for_new_span(settings.trace_sampling_ratio)
            if parent is None:
                return UNSAMPLED
            # Serialized now: a later mutation of an argument must not change the record.
            inputs = to_json(self.inputs(args, kwargs), settings.max_payload_chars)
            attributes = dict(self.attributes)
            attributes[keys.SPAN_INPUTS] = inputs
            return open_span(self.name, attributes, parent)
        except Exception as exc:
            log_internal_error("@trace start", exc)
            return None

    def finish(self, span: Span, outputs: Any) -> None:
        if not isinstance(span, OtelSpan):  # UNSAMPLED: nothing is recorded
            return
        try:
            end_span_ok(span, to_json(outputs, get_settings().max_payload_chars))
        except Exception as exc:
            log_internal_error("@trace end", exc)

    def finish_items(self, span: Span, items: list[Any]) -> None:
        self.finish(span, self._reduced(items))

    def _reduced(self, items: list[Any]) -> Any:
        if self.output_reducer is not None:
            try:
                return self.output_reducer(items)
            except Exception as exc:  # the trace is kept, with the items unreduced
                log_internal_error("@trace output_reducer", exc)
        return items

    def fail(self, span: Span, exception: BaseException, items: list[Any] | None = None) -> None:
        """End the span on ``exception``; a generator's ``items`` so far are its outputs (the
        partial answer of a stream is the valuable part). A cancellation or ``SystemExit(0)``
        is not the application's error: the span ends OK, marked ``evaltrace.interrupted``."""
        if not isinstance(span, OtelSpan):  # UNSAMPLED: nothing is recorded
            return
        try:
            outputs = None
            if items is not None:
                outputs = to_json(self._reduced(items), get_settings().max_payload_chars)
            if _interruption(exception):
                span.set_attribute(_INTERRUPTED, type(exception).__name__)
                end_span_ok(span, outputs)
                return
            if outputs is not None:
                span.set_attribute(keys.SPAN_OUTPUTS, outputs)
            end_span_error(span, exception)
        except Exception as exc:
            log_internal_error("@trace error", exc)


def _interruption(exception: BaseException) -> bool:
    """A stop that is not a failure of the traced code: a cancelled task, a clean exit."""
    asyncio = sys.modules.get("asyncio")  # not imported: no task could have been cancelled
    if asyncio is not None and isinstance(exception, asyncio.CancelledError):
        return True
    return isinstance(exception, SystemExit) and exception.code in (0, None)


def _attach(span: Span) -> object:
    return otel_context.attach(otel_trace.set_span_in_context(span))


def _sync_wrapper(plan: _CallPlan) -> Callable[..., Any]:
    fn = plan.fn

    def traced(*args: Any, **kwargs: Any) -> Any:
        span = plan.start(args, kwargs)
        if span is None:
            return fn(*args, **kwargs)
        token = _attach(span)
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            otel_context.detach(token)  # type: ignore[arg-type]
            plan.fail(span, exc)
            raise
        otel_context.detach(token)  # type: ignore[arg-type]
        plan.finish(span, result)
        return result

    return traced


def _async_wrapper(plan: _CallPlan) -> Callable[..., Any]:
    fn = plan.fn

    async def traced(*args: Any, **kwargs: Any) -> Any:
        span = plan.start(args, kwargs)
        if span is None:
            return await fn(*args, **kwargs)
        token = _attach(span)
        try:
            result = await fn(*args, **kwargs)
        except BaseException as exc:
            otel_context.detach(token)  # type: ignore[arg-type]
            plan.fail(span, exc)
            raise
        otel_context.detach(token)  # type: ignore[arg-type]
        plan.finish(span, result)
        return result

    return traced


def _generator_wrapper(plan: _CallPlan) -> Callable[..., Any]:
    fn = plan.fn

    def traced(*args: Any, **kwargs: Any) -> Any:
        span = plan.start(args, kwargs)
        if span is None:
            return (yield from fn(*args, **kwargs))
        token = _attach(span)
        try:
            generator = fn(*args, **kwargs)
        except BaseException as exc:
            otel_context.detach(token)  # type: ignore[arg-type]
            plan.fail(span, exc)
            raise
        otel_context.detach(token)  # type: ignore[arg-type]
        items: list[Any] = []
        step, value = generator.send, None
        while True:
            token = _attach(span)
            try:
                item = step(value)
            except StopIteration as stop:
                plan.finish_items(span, items)
                return stop.value
            except BaseException as exc:
                plan.fail(span, exc, items)
                raise
            finally:
                otel_context.detach(token)  # type: ignore[arg-type]
            items.append(item)
            try:
                value, step = (yield item), generator.send
            except GeneratorExit:
                token = _attach(span)
                try:
                    generator.close()
                finally:
                    otel_context.detach(token)  # type: ignore[arg-type]
                span.set_attribute(_CLOSED_EARLY, True)
                plan.finish_items(span, items)
                raise
            except BaseException as exc:
                step, value = generator.throw, exc

    return traced


def _async_generator_wrapper(plan: _CallPlan) -> Callable[..., Any]:
    fn = plan.fn

    async def traced(*args: Any, **kwargs: Any) -> Any:
        span = plan.start(args, kwargs)
        if span is None:
            async for item in fn(*args, **kwargs):
                yield item
            return
        token = _attach(span)
        try:
            generator = fn(*args, **kwargs)
        except BaseException as exc:
            otel_context.detach(token)  # type: ignore[arg-type]
            plan.fail(span, exc)
            raise
        otel_context.detach(token)  # type: ignore[arg-type]
        items: list[Any] = []
        step, value = generator.asend, None
        while True:
            token = _attach(span)
            try:
                item = await step(value)
            except StopAsyncIteration:
                plan.finish_items(span, items)
                return
            except BaseException as exc:
                plan.fail(span, exc, items)
                raise
            finally:
                otel_context.detach(token)  # type: ignore[arg-type]
            items.append(item)
            try:
                value, step = (yield item), generator.asend
            except GeneratorExit:
                token = _attach(span)
                try:
                    await generator.aclose()
                finally:
                    otel_context.detach(token)  # type: ignore[arg-type]
                span.set_attribute(_CLOSED_EARLY, True)
                plan.finish_items(span, items)
                raise
            except BaseException as exc:
                step, value = generator.athrow, exc

    return traced


@overload
def trace(func: F) -> F: ...
@overload
def trace(
    func: None = None,
    *,
    name: str | None = None,
    span_type: str = SpanType.UNKNOWN,
    attributes: Mapping[str, Any] | None = None,
    output_reducer: Callable[[list[Any]], Any] | None = None,
) -> Callable[[F], F]: ...


def trace(
    func: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    span_type: str = SpanType.UNKNOWN,
    attributes: Mapping[str, Any] | None = None,
    output_reducer: Callable[[list[Any]], Any] | None = None,
) -> Any:
    """Record every call of the decorated function as a span.

    Works bare (``@trace``) or configured (``@trace(name=..., span_type=..., attributes=...)``)
    on functions, methods, coroutines, generators and async generators. Inputs are the bound
    arguments (defaults applied, ``self``/``cls`` left out) as they were at call time; outputs
    are the return value, or for generators the yielded items (or ``output_reducer(items)``).
    An exception is recorded on the span and re-raised unchanged.
    """
    if output_reducer is not None and not callable(output_reducer):
        raise InvalidArgumentError("output_reducer must be callable")
    require_text(name, "name", optional=True)
    span_attributes(span_type, attributes)  # bad ones raise here, where they were written

    def decorate(fn: Any) -> Any:
        if isinstance(fn, (staticmethod, classmethod)):
            return type(fn)(decorate(fn.__func__))
        if not callable(fn):
            raise InvalidArgumentError(f"@trace needs a callable, got {type(fn).__name__}")
        plan = _CallPlan(fn, name, span_type, attributes, output_reducer)
        process_exit.watch_sigterm()  # decorating runs at import, on the main thread as a rule
        if inspect.isasyncgenfunction(fn):
            wrapper = _async_generator_wrapper(plan)
        elif inspect.isgeneratorfunction(fn):
            wrapper = _generator_wrapper(plan)
        elif inspect.iscoroutinefunction(fn):
            wrapper = _async_wrapper(plan)
        else:
            wrapper = _sync_wrapper(plan)
        return functools.wraps(fn)(wrapper)

    return decorate(func) if func is not None else decorate
