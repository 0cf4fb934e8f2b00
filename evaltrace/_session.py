"""Session: the one owner of evaltrace's process state.

A session holds the settings given in code, the tracking URI and one store per URI, the active
experiment with its one resolver, and the tracing pipeline. The verbs (``search_traces``,
``log_feedback``, ``create_dataset``, ``evaluate``, ...) are its methods: ``session.verb(...)``
runs the verb with this session in use for the calling context (``Session.use()``), so code
holding a Session never touches the default one, and two sessions over two stores live side by
side in one process (the server wraps each request in its app's session). The module functions
(``evaltrace.search_traces``, ...) use the session in use: the one a ``use()`` block set in this
context, else the default session, made on first use, as logfire's module functions use its
default instance. Tests make a fresh session each (``install_session(Session(...))``) instead
of resetting globals.

Every component asks the session: the writer's exporter, spool replay, readers, datasets,
evaluate and annotations. No other module keeps a copy of the URI or of the experiment.
"""

from __future__ import annotations

import contextvars
import importlib
import logging
import os
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from evaltrace import _config
from evaltrace._config import Settings, check_overrides, resolve_settings
from evaltrace._uris import without_password
from evaltrace._validation import require_text
from evaltrace.entities import DEFAULT_EXPERIMENT_ID, Experiment, Span, Trace
from evaltrace.exceptions import InvalidArgumentError
from evaltrace.store import TraceStore, open_store
from evaltrace.tracer import pipeline as pipelines
from evaltrace.tracer.convert import parse_trace_id
from evaltrace.tracer.export import (
    Destination,
    ExperimentRef,
    ExportStats,
    FinishedTrace,
    TraceExporter,
)
from evaltrace.tracer.pipeline import Pipeline

__all__ = ["Session", "StoreExporter", "current_session", "get_session", "install_session"]

_log = logging.getLogger("evaltrace")
_DEFAULT_EXPERIMENT = ExperimentRef(experiment_id=DEFAULT_EXPERIMENT_ID)
_READER_FLUSH_TIMEOUT_S = 30.0


def _verb(module: str, name: str) -> Callable[..., Any]:
    """A Session method: ``module.name`` run with this session in use (imported on first call:
    the verbs live above the session in the layering)."""

    def method(self: Session, *args: Any, **kwargs: Any) -> Any:
        function = getattr(importlib.import_module(module), name)
        with self.use():
            return function(*args, **kwargs)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"``evaltrace.{name}`` on this session (see ``{module}.{name}``)."
    method.verb_of = (module, name)  # type: ignore[attr-defined]
    return method


class Session:
    """Settings, stores, the active experiment and the tracing pipeline of one process (or of
    one test), and the verbs over them. Thread-safe."""

    # -- the verbs: the facade's module functions, on this session ------------------------------
    search_traces = _verb("evaltrace.client", "search_traces")
    search_sessions = _verb("evaltrace.client", "search_sessions")
    get_trace = _verb("evaltrace.client", "get_trace")
    set_trace_tag = _verb("evaltrace.client", "set_trace_tag")
    delete_trace_tag = _verb("evaltrace.client", "delete_trace_tag")
    delete_traces = _verb("evaltrace.client", "delete_traces")
    get_experiment_by_name = _verb("evaltrace.client", "get_experiment_by_name")
    register_prompt = _verb("evaltrace.prompts", "register_prompt")
    load_prompt = _verb("evaltrace.prompts", "load_prompt")
    search_prompts = _verb("evaltrace.prompts", "search_prompts")
    set_prompt_alias = _verb("evaltrace.prompts", "set_prompt_alias")
    delete_prompt_alias = _verb("evaltrace.prompts", "delete_prompt_alias")
    create_experiment = _verb("evaltrace.experiments", "create_experiment")
    get_experiment = _verb("evaltrace.experiments", "get_experiment")
    search_experiments = _verb("evaltrace.experiments", "search_experiments")
    rename_experiment = _verb("evaltrace.experiments", "rename_experiment")
    delete_experiment = _verb("evaltrace.experiments", "delete_experiment")
    restore_experiment = _verb("evaltrace.experiments", "restore_experiment")
    set_experiment_tag = _verb("evaltrace.experiments", "set_experiment_tag")
    set_experiment_tags = _verb("evaltrace.experiments", "set_experiment_tags")
    delete_experiment_tag = _verb("evaltrace.experiments", "delete_experiment_tag")
    log_trace = _verb("evaltrace.tracer.logged_trace", "log_trace")
    log_expectation = _verb("evaltrace.annotate", "log_expectation")
    log_expectations = _verb("evaltrace.annotate", "log_expectations")
    log_feedback = _verb("evaltrace.annotate", "log_feedback")
    log_feedbacks = _verb("evaltrace.annotate", "log_feedbacks")
    log_assessment = _verb("evaltrace.annotate", "log_assessment")
    get_assessment = _verb("evaltrace.annotate", "get_assessment")
    get_assessment_history = _verb("evaltrace.annotate", "get_assessment_history")
    update_assessment = _verb("evaltrace.annotate", "update_assessment")
    override_feedback = _verb("evaltrace.annotate", "override_feedback")
    delete_assessment = _verb("evaltrace.annotate", "delete_assessment")
    create_dataset = _verb("evaltrace.datasets", "create_dataset")
    get_dataset = _verb("evaltrace.datasets", "get_dataset")
    search_datasets = _verb("evaltrace.datasets", "search_datasets")
    delete_dataset = _verb("evaltrace.datasets", "delete_dataset")
    set_dataset_tags = _verb("evaltrace.datasets", "set_dataset_tags")
    delete_dataset_tag = _verb("evaltrace.datasets", "delete_dataset_tag")
    evaluate = _verb("evaltrace.evaluate", "evaluate")
    get_evaluation_run = _verb("evaltrace.evaluate", "get_evaluation_run")
    search_evaluation_runs = _verb("evaltrace.evaluate", "search_evaluation_runs")
    compare_runs = _verb("evaltrace.evaluate", "compare_runs")
    create_label_schema = _verb("evaltrace.labeling", "create_label_schema")
    get_label_schema = _verb("evaltrace.labeling", "get_label_schema")
    delete_label_schema = _verb("evaltrace.labeling", "delete_label_schema")
    create_labeling_session = _verb("evaltrace.labeling", "create_labeling_session")
    get_labeling_sessions = _verb("evaltrace.labeling", "get_labeling_sessions")
    get_labeling_session = _verb("evaltrace.labeling", "get_labeling_session")
    delete_labeling_session = _verb("evaltrace.labeling", "delete_labeling_session")

    def __init__(self, *, exporter: TraceExporter | None = None, **settings: Any) -> None:
        """``settings`` as in ``configure``; ``exporter`` replaces the store as where finished
        traces go (an ``InMemoryTraceExporter`` in tests, say)."""
        self._lock = threading.RLock()
        self._exporter = exporter
        self._overrides: dict[str, Any] = check_overrides(settings)
        self._settings: Settings | None = None
        self._stores: dict[str, TraceStore] = {}
        self._experiment: ExperimentRef | None = None  # set in code (set_experiment)
        self._experiment_ids: dict[tuple[str, ExperimentRef], str] = {}
        self._destination: Destination | None = None  # cached: read as each trace starts
        self._pipeline: Pipeline | None = None
        self._forwarder: Any = None  # evaltrace.otlp.export.OtlpForwarder, made on first use
        self._forwarder_for: str | None = None  # the endpoint it was made for

    @contextmanager
    def use(self) -> Iterator[Session]:
        """This session as the one the module functions use, in this context (this thread or
        task, and what it starts with a copy of its context) until the block ends."""
        token = _in_use.set(self)
        try:
            yield self
        finally:
            _in_use.reset(token)

    # -- settings -----------------------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        settings = self._settings
        if settings is None:
            with self._lock:
                if self._settings is None:
                    self._settings = resolve_settings(self._overrides)
                settings = self._settings
            self._publish()
        return settings

    def _publish(self) -> None:
        if _default is self:
            _config.publish_settings(self._settings)

    def configure(self, **overrides: Any) -> Settings:
        """Change settings by name (checked first: nothing changes if one is bad)."""
        checked = check_overrides(overrides)
        with self._lock:
            self._overrides.update(checked)
            self._settings = resolve_settings(self._overrides)
            self._destination = None
            stores = list(self._stores.values())
        for store in stores:
            store.set_timeout(self._settings.store_timeout)
        self._publish()
        return self._settings

    @property
    def tracking_uri(self) -> str:
        return self.settings.tracking_uri

    def set_tracking_uri(self, uri: str) -> None:
        self.configure(tracking_uri=require_text(uri, "tracking uri"))

    # -- stores -------------------------------------------------------------------------------

    def live_uri(self, uri: str) -> str:
        """A URI from the spool (its password masked) as the live configuration has it: the
        tracking URI, or a store this session opened, whose masked form it is."""
        if "***@" not in uri:
            return uri
        for candidate in (self.tracking_uri, *self._stores):
            if without_password(candidate) == uri:
                return candidate
        return uri  # no live match: the replay fails and the trace stays spooled

    def store(self, uri: str | None = None) -> TraceStore:
        """The store at ``uri`` (default: the tracking URI), opened once per session."""
        uri = uri or self.tracking_uri
        store = self._stores.get(uri)
        if store is None:
            with self._lock:
                store = self._stores.get(uri)
                if store is None:
                    settings = self.settings
                    store = self._stores[uri] = open_store(
                        uri, timeout=settings.store_timeout, token=settings.tracking_token
                    )
        return store

    # -- the active experiment ----------------------------------------------------------------

    def active_experiment(self) -> ExperimentRef:
        """Set in code, else named by the settings (an id wins over a name), else the default."""
        if self._experiment is not None:
            return self._experiment
        settings = self.settings
        if settings.experiment_id:
            return ExperimentRef(experiment_id=settings.experiment_id)
        if settings.experiment_name:
            return ExperimentRef(name=settings.experiment_name)
        return _DEFAULT_EXPERIMENT

    def set_experiment(
        self, experiment_name: str | None = None, experiment_id: str | None = None
    ) -> Experiment:
        """Make an experiment active for traces that start from now on (created if new). It is
        remembered by name too, so that after a change of store it is found (or made) there."""
        if (experiment_name is None) == (experiment_id is None):
            raise InvalidArgumentError("give exactly one of experiment_name and experiment_id")
        uri = self.tracking_uri
        store = self.store(uri)
        if experiment_id is not None:
            experiment = store.get_experiment(require_text(experiment_id, "experiment_id"))
        else:
            experiment = store.get_or_create_experiment(
                require_text(experiment_name, "experiment_name")
            )
        ref = ExperimentRef(experiment.experiment_id, experiment.name, uri)
        with self._lock:
            self._experiment_ids[(uri, ref)] = experiment.experiment_id
            self._experiment = ref
            self._destination = None
        return experiment

    def experiment_id(self, uri: str | None = None) -> str:
        """The active experiment's id in the store at ``uri`` (default: the tracking URI)."""
        return self.resolve_experiment(uri or self.tracking_uri, self.active_experiment())

    def resolve_experiment(self, uri: str, ref: ExperimentRef) -> str:
        """THE resolver: an experiment reference to its id in the store at ``uri``.

        An id looked up in this store (or given without one, as ``EVALTRACE_EXPERIMENT_ID``
        is) is checked to exist; otherwise the name is found there, or created. Answers are
        remembered per (URI, reference)."""
        key = (uri, ref)
        found = self._experiment_ids.get(key)
        if found is not None:
            return found
        store = self.store(uri)
        if ref.experiment_id is not None and (ref.id_uri in (None, uri) or ref.name is None):
            found = store.get_experiment(ref.experiment_id).experiment_id
        else:
            assert ref.name is not None
            found = store.get_or_create_experiment(ref.name).experiment_id
        self._experiment_ids[key] = found
        current = self._destination
        if current is not None and current.experiment_id is None:
            self._destination = None  # made again, with the id, for the next trace
        return found

    def forget_experiments(self) -> None:
        """Resolve experiments afresh from now on (one was deleted, restored or renamed)."""
        with self._lock:
            self._experiment_ids.clear()
            self._destination = None

    def destination(self) -> Destination:
        """Where a trace starting now goes (on the application's thread: a cached object)."""
        destination = self._destination
        if destination is None:
            uri, ref = self.tracking_uri, self.active_experiment()
            destination = Destination(uri, ref, self._experiment_ids.get((uri, ref)))
            self._destination = destination
        return destination

    # -- tracing ------------------------------------------------------------------------------

    def pipeline(self) -> Pipeline:
        """The tracing pipeline, started on first use (the active one, for the default
        session: what ``@trace`` and the module functions use)."""
        pipeline = self._pipeline
        if pipeline is None:
            with self._lock:
                if self._pipeline is None:
                    exporter = self._exporter or StoreExporter(self)
                    self._pipeline = Pipeline.start(self.settings, exporter, self.destination)
                pipeline = self._pipeline
        if _default is self:  # only the default session's pipeline serves the module API
            pipelines.activate(pipeline)
        return pipeline

    def flush(self, timeout: float | None = None) -> bool:
        """Write every finished trace (and send it over OTLP, if configured); False if
        ``timeout`` seconds ran out first."""
        return self.pipeline().flush(timeout)

    def otlp_forwarder(self) -> Any:
        """Where stored traces are also sent over OTLP, or None when no endpoint is set:
        ``otlp_endpoint``, else ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``. The OTLP code is
        imported only then (an optional extra, above the session in the layering)."""
        endpoint = self.settings.otlp_endpoint or os.environ.get(
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
        )
        if not endpoint:
            return None
        with self._lock:
            if self._forwarder is None or self._forwarder_for != endpoint:
                from evaltrace.otlp.export import OtlpForwarder

                if self._forwarder is not None:
                    self._forwarder.shutdown()
                self._forwarder = OtlpForwarder(endpoint)
                self._forwarder_for = endpoint
            return self._forwarder

    def export_stats(self) -> ExportStats:
        """Traces written, spooled, dropped and queued by this session's pipeline so far."""
        pipeline = self._pipeline
        return ExportStats() if pipeline is None else pipeline.writer.stats()

    def flush_forwarder(self, timeout: float) -> bool:
        forwarder = self._forwarder
        return forwarder is None or bool(forwarder.force_flush(timeout))

    def close_forwarder(self) -> None:
        """Stop the OTLP exporter, after it sent what it holds (the pipeline's end)."""
        with self._lock:
            forwarder, self._forwarder = self._forwarder, None
        if forwarder is not None:
            forwarder.shutdown()

    def attach_to_running_traces(self, assessments: Sequence[Any]) -> list[Any]:
        """Assessments of traces still running in this process are kept to be written with
        their trace (the reference lets you log on the current trace); returns the others."""
        pipeline = self._pipeline
        if pipeline is None:
            return list(assessments)
        by_trace: dict[str, list[Any]] = defaultdict(list)
        for assessment in assessments:
            by_trace[assessment.trace_id].append(assessment)
        remaining: list[Any] = []
        for trace_id, group in by_trace.items():
            otel_id = parse_trace_id(trace_id)
            if otel_id is None or not pipeline.assembler.attach_assessments(otel_id, group):
                remaining.extend(group)
        return remaining

    def tag_running_trace(self, trace_id: str, key: str, value: str) -> bool:
        """Set a tag on a trace still running in this process; False if it is not running."""
        pipeline = self._pipeline
        otel_id = parse_trace_id(trace_id)
        if pipeline is None or otel_id is None:
            return False
        return pipeline.assembler.tag_running(otel_id, key, value)

    def flush_for_readers(self) -> None:
        """Write this session's finished traces before reading or annotating the store."""
        pipeline = self._pipeline
        if pipeline is not None:
            pipeline.flush(timeout=_READER_FLUSH_TIMEOUT_S, exporter_too=False)

    def release_connections(self) -> None:
        """Close every store's pooled connections (the stores reconnect on demand)."""
        for store in list(self._stores.values()):
            store.close()

    def close(self) -> None:
        """Flush and stop the pipeline, then close every store (tests; the end of a process)."""
        with self._lock:
            pipeline, self._pipeline = self._pipeline, None
        if pipeline is not None:  # first: its last traces go to the stores
            pipelines.deactivate(pipeline)
            pipeline.shutdown(timeout=self.settings.flush_on_exit_timeout)
        with self._lock:
            stores, self._stores = self._stores, {}
        for store in stores.values():
            store.close()

    def _after_fork_in_child(self) -> None:
        # A forked child must not reuse the parent's pooled connections.
        for store in self._stores.values():
            store.after_fork_in_child()


class StoreExporter:
    """The session's TraceExporter: each trace into the store of its destination, with its
    experiment resolved there, one transaction per store."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def export(self, batch: Sequence[FinishedTrace]) -> None:
        session = self._session
        whole: dict[str, list[Trace]] = defaultdict(list)
        appended: dict[str, list[Span]] = defaultdict(list)
        for item in batch:
            uri = session.live_uri(item.destination.tracking_uri)
            if item.appended:
                appended[uri].extend(item.trace.data.spans)
                continue
            experiment_id = session.resolve_experiment(uri, item.destination.experiment)
            trace = item.trace
            if trace.info.experiment_id != experiment_id:  # not known when the trace started
                trace = replace(trace, info=replace(trace.info, experiment_id=experiment_id))
            whole[uri].append(trace)
        for uri, traces in whole.items():
            session.store(uri).write_traces(traces)
        for uri, spans in appended.items():  # after the traces they belong to
            session.store(uri).append_spans(spans)
        self._forward([item.trace for item in batch])

    def _forward(self, traces: list[Trace]) -> None:
        """Stored traces also over OTLP, if configured; its failures never reach the writer
        (the store has the traces: that is the promise kept)."""
        try:
            forwarder = self._session.otlp_forwarder()
            if forwarder is not None:
                forwarder.forward(traces)
        except Exception:
            _log.exception("could not hand traces to the OTLP exporter")

    def force_flush(self, timeout: float | None = None) -> bool:
        """Send what the OTLP exporter holds (the store has everything written already)."""
        return self._session.flush_forwarder(30.0 if timeout is None else timeout)

    def shutdown(self) -> None:
        """Close the OTLP exporter, and the stores' pooled connections: SQLite checkpoints its
        write-ahead log as the last one closes, so the database file alone holds every trace
        (at exit, say). The stores stay usable and reconnect on demand."""
        self._session.close_forwarder()
        self._session.release_connections()


# -- the default session ------------------------------------------------------------------------

_default: Session | None = None
_default_lock = threading.Lock()
# The session a ``Session.use()`` block put in use for its context (None: the default one).
_in_use: contextvars.ContextVar[Session | None] = contextvars.ContextVar(
    "evaltrace_session_in_use", default=None
)


def get_session() -> Session:
    """The session the module functions use: the one a ``use()`` block put in use in this
    context, else the installed one, else one made on first use."""
    session = _in_use.get() or _default
    if session is None:
        with _default_lock:
            if _default is None:
                install_session(Session())
            session = _default
    assert session is not None
    return session


def current_session() -> Session | None:
    """The installed session, if any (``get_session`` would make one)."""
    return _default


def install_session(session: Session | None) -> Session | None:
    """Make ``session`` the one the module functions use (None: a new one on next use);
    returns the session it replaces, which the caller closes if it is done with it."""
    global _default
    previous, _default = _default, session
    _config.publish_settings(None)  # the new session's, once resolved
    if previous is not None and previous._pipeline is not None:
        pipelines.deactivate(previous._pipeline)
    return previous


def _settings_of_current_session() -> Settings:
    return get_session().settings


def _pipeline_of_current_session() -> Pipeline:
    return get_session().pipeline()


_config.bind_settings_source(_settings_of_current_session)
pipelines.bind_pipeline_source(_pipeline_of_current_session)


def _after_fork_in_child() -> None:
    if _default is not None:
        _default._after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
