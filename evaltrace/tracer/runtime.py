"""The process's tracing runtime: TracerProvider, span processor and writer, made on first use.

Nothing is created at import time. ``reset_runtime()`` flushes and forgets everything (tests);
after ``fork()`` the child keeps the provider but gets an empty writer of its own.
"""

from __future__ import annotations

import os
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from opentelemetry import trace as otel_trace
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider

from evaltrace._config import get_settings
from evaltrace._internal_errors import log_internal_error
from evaltrace.entities import DEFAULT_EXPERIMENT_ID, Trace
from evaltrace.store import get_store, get_tracking_uri
from evaltrace.tracer import process_exit
from evaltrace.tracer.convert import to_trace
from evaltrace.tracer.ids import TimeOrderedIdGenerator
from evaltrace.tracer.processor import ExperimentRef, PendingTrace, TraceAssembler
from evaltrace.tracer.spool import Spool, default_spool_dir
from evaltrace.tracer.writer import TraceWriter

__all__ = [
    "Runtime",
    "add_span_processor",
    "flush_for_readers",
    "get_active_experiment",
    "get_runtime",
    "recover",
    "reset_runtime",
    "set_active_experiment",
]

_INSTRUMENTATION_NAME = "evaltrace"


@dataclass(frozen=True, slots=True)
class Runtime:
    provider: TracerProvider
    tracer: otel_trace.Tracer
    assembler: TraceAssembler
    writer: TraceWriter
    spool: Spool | None


_lock = threading.Lock()
_runtime: Runtime | None = None
_active_experiment: ExperimentRef | None = None


def set_active_experiment(ref: ExperimentRef | None) -> None:
    global _active_experiment
    _active_experiment = ref


_DEFAULT_EXPERIMENT = ExperimentRef(experiment_id=DEFAULT_EXPERIMENT_ID)


def get_active_experiment() -> ExperimentRef:
    """The experiment set in code, else the one named by the settings, else the default."""
    if _active_experiment is not None:
        return _active_experiment
    settings = get_settings()
    if settings.experiment_id:
        return ExperimentRef(experiment_id=settings.experiment_id)
    if settings.experiment_name:
        return ExperimentRef(name=settings.experiment_name)
    return _DEFAULT_EXPERIMENT


def _scope() -> tuple[str, ExperimentRef]:
    return get_tracking_uri(), get_active_experiment()


def get_runtime() -> Runtime:
    runtime = _runtime
    if runtime is None:
        runtime = _create_runtime()
    return runtime


def _create_runtime() -> Runtime:
    global _runtime
    with _lock:
        if _runtime is not None:
            return _runtime
        settings = get_settings()
        spool = _make_spool(settings)
        writer = TraceWriter(
            _store_batch,
            asynchronous=settings.async_logging,
            max_queue_size=settings.max_queue_size,
            batch_size=settings.batch_size,
            spill=None if spool is None else partial(_spill, spool),
            replay=None if spool is None else partial(_replay, spool),
        )
        assembler = TraceAssembler(writer, _scope)
        provider = _provider(settings.use_global_provider)
        provider.add_span_processor(assembler)
        _runtime = Runtime(
            provider=provider,
            tracer=provider.get_tracer(_INSTRUMENTATION_NAME),
            assembler=assembler,
            writer=writer,
            spool=spool,
        )
        if spool is not None and spool.has_work():  # left by a process that died
            writer.request_replay()
        process_exit.on_runtime_created()
        return _runtime


def _provider(use_global: bool) -> TracerProvider:
    if not use_global:
        return TracerProvider(id_generator=TimeOrderedIdGenerator())
    current = otel_trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        return current  # the application's own provider, with its own ids
    provider = TracerProvider(id_generator=TimeOrderedIdGenerator())
    otel_trace.set_tracer_provider(provider)
    return provider


def add_span_processor(processor: SpanProcessor) -> None:
    """Send evaltrace's spans to another processor too (an OTLP exporter, say)."""
    get_runtime().provider.add_span_processor(processor)


def reset_runtime() -> None:
    """Flush and forget the runtime and the active experiment (for tests)."""
    global _runtime, _active_experiment
    with _lock:
        runtime, _runtime = _runtime, None
        _active_experiment = None
    if runtime is not None:
        runtime.writer.flush(timeout=30, settle_for_spool=True)
        runtime.writer.stop()
        # A provider shared with others (the global one) cannot drop a processor: disable ours.
        runtime.assembler.enabled = False
        if runtime.provider is not otel_trace.get_tracer_provider():
            runtime.provider.shutdown()


_READER_FLUSH_TIMEOUT_S = 30.0


def flush_for_readers() -> None:
    """Write this process's finished traces before reading or annotating the store."""
    runtime = _runtime
    if runtime is not None:
        runtime.writer.flush(timeout=_READER_FLUSH_TIMEOUT_S, settle_for_spool=True)


def _flush_at_exit() -> None:
    runtime = _runtime
    if runtime is not None:
        runtime.writer.flush(timeout=get_settings().flush_on_exit_timeout, settle_for_spool=True)


process_exit.flush_at_exit(_flush_at_exit)


def _after_fork_in_child() -> None:
    runtime = _runtime
    if runtime is not None:
        runtime.writer.after_fork_in_child()
        if runtime.spool is not None:
            runtime.spool.after_fork_in_child()
        process_exit.on_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


_experiment_ids: dict[tuple[str, str], str] = {}
_YIELD_EVERY = 4  # traces converted between two hand-backs of the GIL


def _make_spool(settings: Any) -> Spool | None:
    if not settings.spool:
        return None
    directory = Path(settings.spool_dir) if settings.spool_dir else default_spool_dir()
    return Spool(directory, settings.spool_max_bytes)


def _spill(spool: Spool, batch: Sequence[PendingTrace]) -> bool:
    items = []
    for pending in batch:
        try:
            experiment = pending.experiment.experiment_id or DEFAULT_EXPERIMENT_ID
            if pending.experiment.experiment_id is None:
                cached = _experiment_ids.get((pending.tracking_uri, pending.experiment.name or ""))
                experiment = cached or DEFAULT_EXPERIMENT_ID
            items.append((pending.tracking_uri, to_trace(pending, experiment)))
        except Exception as exc:
            log_internal_error("converting a finished trace", exc)
    return spool.append(items)


def _replay(spool: Spool) -> None:
    spool.replay(lambda uri, traces: get_store(uri).write_traces(traces))


def recover(timeout: float | None = 30.0) -> bool:
    """Replay spooled traces (this process's, and those of processes that died) now.

    Returns True when nothing is left in the spool; False if the store is still unreachable
    when ``timeout`` runs out. Processes also do this by themselves when they start.
    """
    runtime = get_runtime()
    if runtime.spool is None:
        return True
    if runtime.spool.has_work():
        runtime.writer.request_replay()
    return runtime.writer.flush(timeout)


def _store_batch(batch: Sequence[PendingTrace]) -> None:
    """Convert pending traces and write them, one transaction per tracking URI.

    The writer hands the GIL back to the application every few traces it converts (and the
    store every few traces it turns into rows): a whole batch at once would hold it for a
    switch interval (5 ms) at a time, and the application's thread would wait that long to run
    again after each network call.
    """
    by_uri: dict[str, list[PendingTrace]] = defaultdict(list)
    for pending in batch:
        by_uri[pending.tracking_uri].append(pending)
    for uri, group in by_uri.items():
        store = get_store(uri)
        traces: list[Trace] = []
        for count, pending in enumerate(group, 1):
            try:
                traces.append(to_trace(pending, _experiment_id(uri, pending.experiment)))
            except Exception as exc:
                log_internal_error("converting a finished trace", exc)
            if count % _YIELD_EVERY == 0:
                time.sleep(0)
        store.write_traces(traces)


def _experiment_id(uri: str, ref: ExperimentRef) -> str:
    if ref.experiment_id is not None:
        return ref.experiment_id
    assert ref.name is not None
    key = (uri, ref.name)
    found = _experiment_ids.get(key)
    if found is None:
        found = _experiment_ids[key] = (
            get_store(uri).get_or_create_experiment(ref.name).experiment_id
        )
    return found
