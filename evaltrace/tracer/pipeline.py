"""The tracing pipeline: TracerProvider, the assembler (span processor) and the writer.

A Session builds one, plugging in its exporter and the function that says where a new trace
goes; the tracer's functions (``@trace``, ``start_span``, ...) use the *active* pipeline, the
default session's unless a session was installed. Nothing is created at import time. After
``fork()`` the child keeps the provider but gets an empty assembler and writer of its own.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from opentelemetry import trace as otel_trace
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider

from evaltrace._config import Settings, get_settings
from evaltrace._internal_errors import logger
from evaltrace.exceptions import InvalidArgumentError
from evaltrace.tracer import process_exit
from evaltrace.tracer.export import Destination, TraceExporter
from evaltrace.tracer.ids import TimeOrderedIdGenerator
from evaltrace.tracer.processor import TraceAssembler
from evaltrace.tracer.spool import Spool, default_spool_dir
from evaltrace.tracer.writer import TraceWriter

__all__ = ["Pipeline", "activate", "bind_pipeline_source", "deactivate", "get_pipeline"]

_INSTRUMENTATION_NAME = "evaltrace"


@dataclass(frozen=True, slots=True)
class Pipeline:
    provider: TracerProvider
    tracer: otel_trace.Tracer
    assembler: TraceAssembler
    writer: TraceWriter
    spool: Spool | None
    exporter: TraceExporter
    spool_problem: str | None = None  # why the configured spool directory cannot be used

    @classmethod
    def start(
        cls, settings: Settings, exporter: TraceExporter, scope: Callable[[], Destination]
    ) -> Pipeline:
        spool, spool_problem = _make_spool(settings)
        writer = TraceWriter(
            exporter.export,
            asynchronous=settings.async_logging,
            max_queue_size=settings.max_queue_size,
            batch_size=settings.batch_size,
            spill=None if spool is None else spool.append,
            replay=None if spool is None else lambda: spool.replay(exporter.export),
        )
        assembler = TraceAssembler(writer, scope)
        provider = _provider(settings.use_global_provider)
        provider.add_span_processor(assembler)
        pipeline = cls(
            provider=provider,
            tracer=provider.get_tracer(_INSTRUMENTATION_NAME),
            assembler=assembler,
            writer=writer,
            spool=spool,
            exporter=exporter,
            spool_problem=spool_problem,
        )
        if spool is not None and spool.has_work():  # left by a process that died
            writer.request_replay()
        process_exit.on_runtime_created()
        return pipeline

    def flush(self, timeout: float | None = None, *, exporter_too: bool = True) -> bool:
        """Store (or spool) every finished trace, then (``exporter_too``) let the exporter send
        on what it holds itself (OTLP). Readers only need the first: they read the store."""
        written = self.writer.flush(timeout)
        return (not exporter_too or self.exporter.force_flush(timeout)) and written

    def flush_at_exit(self, timeout: float) -> None:
        """The process ends: wait up to ``timeout`` for the store, then spool what it has not
        taken (never a second wait: the writer stops, later flushes return at once)."""
        self.writer.flush(timeout)
        self.writer.spool_what_is_left()
        self.exporter.force_flush(timeout)
        self.exporter.shutdown()

    def add_span_processor(self, processor: SpanProcessor) -> None:
        self.provider.add_span_processor(processor)

    def recover(self, timeout: float | None) -> bool:
        if self.spool_problem is not None:
            raise InvalidArgumentError(self.spool_problem)
        if self.spool is None:
            return True
        if self.spool.has_work():
            self.writer.request_replay(everything=True)
        return self.writer.flush(timeout, wait_for_replay=True)

    def shutdown(self, timeout: float) -> None:
        """Flush what is queued (spool what the store did not take in time), stop the writer,
        release the exporter."""
        self.writer.flush(timeout=timeout)
        self.writer.spool_what_is_left()
        self.writer.stop()
        # A provider shared with others (the global one) cannot drop a processor: disable ours.
        self.assembler.enabled = False
        if self.provider is not otel_trace.get_tracer_provider():
            self.provider.shutdown()
        self.exporter.shutdown()
        if self.spool is not None:
            self.spool.close()

    def after_fork_in_child(self) -> None:
        self.assembler.after_fork_in_child()
        self.writer.after_fork_in_child()
        if self.spool is not None:
            self.spool.after_fork_in_child()
        process_exit.on_fork_in_child()


def _make_spool(settings: Settings) -> tuple[Spool | None, str | None]:
    """The spool, or (None, why) when its directory cannot be used: tracing goes on without
    one (said once here; ``recover()`` raises it) rather than failing every traced call."""
    if not settings.spool:
        return None, None
    directory = Path(settings.spool_dir) if settings.spool_dir else default_spool_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        if not os.access(directory, os.W_OK | os.X_OK):
            raise PermissionError(f"{directory} is not writable")
    except OSError as exc:
        problem = (
            f"the spool directory {str(directory)!r} cannot be used ({exc}); traces that "
            "cannot be stored wait in memory only (EVALTRACE_SPOOL_DIR)"
        )
        logger.warning("evaltrace: %s", problem)
        return None, problem
    return Spool(directory, settings.spool_max_bytes), None


def _provider(use_global: bool) -> TracerProvider:
    if not use_global:
        return TracerProvider(id_generator=TimeOrderedIdGenerator())
    current = otel_trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        return current  # the application's own provider, with its own ids
    provider = TracerProvider(id_generator=TimeOrderedIdGenerator())
    otel_trace.set_tracer_provider(provider)
    return provider


# -- the active pipeline: read on every traced call, so a plain module attribute ---------------

_active: Pipeline | None = None


def _no_source() -> Pipeline:
    raise RuntimeError("no session has bound a pipeline source (import evaltrace)")


_source: Callable[[], Pipeline] = _no_source


def bind_pipeline_source(source: Callable[[], Pipeline]) -> None:
    """The function that makes (and activates) a pipeline when none is active: the session's."""
    global _source
    _source = source


def get_pipeline() -> Pipeline:
    pipeline = _active
    if pipeline is None:
        pipeline = _source()
    return pipeline


def activate(pipeline: Pipeline) -> None:
    global _active
    _active = pipeline


def deactivate(pipeline: Pipeline) -> None:
    global _active
    if _active is pipeline:
        _active = None


def _flush_at_exit() -> None:
    pipeline = _active
    if pipeline is not None:
        pipeline.flush_at_exit(get_settings().flush_on_exit_timeout)


process_exit.flush_at_exit(_flush_at_exit)


def _after_fork_in_child() -> None:
    pipeline = _active
    if pipeline is not None:
        pipeline.after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
