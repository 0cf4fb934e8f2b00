"""``MlflowClient``: the reference's client class for traces, spans by id, assessments,
experiments and datasets, as a thin layer over a Session's verbs (no second implementation).

``MlflowClient()`` works on the session in use (the default one); ``MlflowClient(uri)`` on a
Session of its own for that store. Spans it starts (``start_trace`` / ``start_span``) are
evaltrace spans of the process's tracing pipeline, found again by their ids until they end.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

from evaltrace._session import Session, get_session
from evaltrace._validation import require_tags
from evaltrace.entities import Assessment, Experiment, SpanType, Trace
from evaltrace.entities.experiment import ViewType
from evaltrace.exceptions import InvalidArgumentError, NotFoundError
from evaltrace.tracer.detached import DetachedSpan, start_span_no_context
from evaltrace.tracer.live_span import NoOpSpan

__all__ = ["MlflowClient"]


class MlflowClient:
    def __init__(self, tracking_uri: str | None = None) -> None:
        self._own = Session(tracking_uri=tracking_uri) if tracking_uri else None
        self._spans: dict[tuple[str, str], DetachedSpan] = {}
        self._lock = threading.Lock()

    @property
    def _session(self) -> Session:
        return self._own or get_session()

    # -- traces and spans by id -----------------------------------------------------------------

    def start_trace(
        self,
        name: str,
        span_type: str = SpanType.UNKNOWN,
        inputs: Any = None,
        attributes: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
        start_time_ns: int | None = None,
    ) -> DetachedSpan | NoOpSpan:
        """Start a trace's root span; end it with ``end_trace(span.trace_id, ...)``."""
        span = start_span_no_context(
            name, span_type, None, inputs, attributes, tags, None, start_time_ns
        )
        return self._remember(span)

    def start_span(
        self,
        name: str,
        trace_id: str,
        parent_id: str,
        span_type: str = SpanType.UNKNOWN,
        inputs: Any = None,
        attributes: Mapping[str, Any] | None = None,
        start_time_ns: int | None = None,
    ) -> DetachedSpan | NoOpSpan:
        """Start a span under the span ``parent_id`` of ``trace_id`` (one this client
        started and has not ended)."""
        parent = self._started(trace_id, parent_id)
        span = start_span_no_context(
            name, span_type, parent, inputs, attributes, None, None, start_time_ns
        )
        return self._remember(span)

    def end_span(
        self,
        trace_id: str,
        span_id: str,
        outputs: Any = None,
        attributes: Mapping[str, Any] | None = None,
        status: str = "OK",
        end_time_ns: int | None = None,
    ) -> None:
        span = self._started(trace_id, span_id)
        span.end(outputs, attributes, status, end_time_ns)
        with self._lock:
            self._spans.pop((trace_id, span_id), None)

    def end_trace(
        self,
        trace_id: str,
        outputs: Any = None,
        attributes: Mapping[str, Any] | None = None,
        status: str = "OK",
        end_time_ns: int | None = None,
    ) -> None:
        """End the trace's root span (the trace is then stored)."""
        with self._lock:
            roots = [
                span
                for (tid, _), span in self._spans.items()
                if tid == trace_id and span.parent_id is None
            ]
        if not roots:
            raise NotFoundError(f"no running trace {trace_id!r} was started by this client")
        self.end_span(trace_id, roots[0].span_id, outputs, attributes, status, end_time_ns)

    def _remember(self, span: DetachedSpan | NoOpSpan) -> DetachedSpan | NoOpSpan:
        if isinstance(span, DetachedSpan):
            with self._lock:
                self._spans[(span.trace_id, span.span_id)] = span
        return span

    def _started(self, trace_id: str, span_id: str) -> DetachedSpan:
        with self._lock:
            span = self._spans.get((trace_id, span_id))
        if span is None:
            raise NotFoundError(
                f"no running span {span_id!r} of trace {trace_id!r} was started by this client"
            )
        return span

    def get_trace(self, trace_id: str) -> Trace:
        return self._call("get_trace", trace_id)  # type: ignore[no-any-return]

    def search_traces(
        self,
        experiment_ids: Sequence[str] | None = None,
        filter_string: str | None = None,
        max_results: int | None = 100,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
        run_id: str | None = None,
        include_spans: bool = True,
        locations: Sequence[str] | None = None,
    ) -> Any:
        """A list of traces with ``.token`` (the reference's client returns a paged list)."""
        return self._call(
            "search_traces",
            experiment_ids=experiment_ids,
            filter_string=filter_string,
            max_results=max_results,
            order_by=order_by,
            page_token=page_token,
            return_type="list",
            include_spans=include_spans,
            locations=locations,
            run_id=run_id,
        )

    def delete_traces(
        self,
        experiment_id: str,
        max_timestamp_millis: int | None = None,
        max_traces: int | None = None,
        trace_ids: Sequence[str] | None = None,
    ) -> int:
        return self._call(  # type: ignore[no-any-return]
            "delete_traces", experiment_id, max_timestamp_millis, max_traces, trace_ids
        )

    def set_trace_tag(self, trace_id: str, key: str, value: Any) -> None:
        self._call("set_trace_tag", trace_id, key, value)

    def delete_trace_tag(self, trace_id: str, key: str) -> None:
        self._call("delete_trace_tag", trace_id, key)

    # -- assessments ------------------------------------------------------------------------

    def log_assessment(self, trace_id: str, assessment: Assessment) -> Assessment:
        return self._call("log_assessment", trace_id, assessment)  # type: ignore[no-any-return]

    def get_assessment(self, trace_id: str, assessment_id: str) -> Assessment:
        return self._call("get_assessment", trace_id, assessment_id)  # type: ignore[no-any-return]

    def update_assessment(
        self,
        trace_id: str,
        assessment_id: str,
        assessment: Assessment | None = None,
        **changes: Any,
    ) -> Assessment:
        return self._call(  # type: ignore[no-any-return]
            "update_assessment", trace_id, assessment_id, assessment, **changes
        )

    def delete_assessment(self, trace_id: str, assessment_id: str) -> None:
        self._call("delete_assessment", trace_id, assessment_id)

    # -- experiments ------------------------------------------------------------------------

    def create_experiment(
        self,
        name: str,
        artifact_location: str | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> str:
        return self._call("create_experiment", name, artifact_location, tags)  # type: ignore[no-any-return]

    def get_experiment(self, experiment_id: str) -> Experiment:
        return self._call("get_experiment", experiment_id)  # type: ignore[no-any-return]

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        return self._call("get_experiment_by_name", name)  # type: ignore[no-any-return]

    def search_experiments(
        self,
        view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int | None = None,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
    ) -> list[Experiment]:
        return self._call(  # type: ignore[no-any-return]
            "search_experiments", view_type, max_results, filter_string, order_by
        )

    def delete_experiment(self, experiment_id: str) -> None:
        self._call("delete_experiment", experiment_id)

    def restore_experiment(self, experiment_id: str) -> None:
        self._call("restore_experiment", experiment_id)

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        self._call("rename_experiment", experiment_id, new_name)

    def set_experiment_tag(self, experiment_id: str, key: str, value: Any) -> None:
        """Tag the experiment ``experiment_id`` (not necessarily the active one)."""
        self._session.store().experiments.set_tags(experiment_id, require_tags({key: value}))

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        self._call("delete_experiment_tag", experiment_id, key)

    # -- datasets -------------------------------------------------------------------------------

    def create_dataset(
        self,
        name: str,
        experiment_id: str | Sequence[str] | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> Any:
        return self._call("create_dataset", name, experiment_id, tags)

    def get_dataset(self, dataset_id: str) -> Any:
        return self._call("get_dataset", dataset_id=dataset_id)

    def delete_dataset(self, dataset_id: str) -> None:
        self._call("delete_dataset", dataset_id=dataset_id)

    def search_datasets(
        self,
        experiment_ids: str | Sequence[str] | None = None,
        filter_string: str | None = None,
        max_results: int | None = None,
        order_by: Sequence[str] | None = None,
    ) -> Any:
        return self._call("search_datasets", experiment_ids, filter_string, max_results, order_by)

    def set_dataset_tags(self, dataset_id: str, tags: Mapping[str, Any]) -> None:
        self._call("set_dataset_tags", dataset_id=dataset_id, tags=tags)

    def delete_dataset_tag(self, dataset_id: str, key: str) -> None:
        self._call("delete_dataset_tag", dataset_id=dataset_id, key=key)

    def _call(self, verb: str, *args: Any, **kwargs: Any) -> Any:
        method = getattr(self._session, verb, None)
        if method is None:  # pragma: no cover - a verb the Session lacks is our bug
            raise InvalidArgumentError(f"the session has no verb {verb!r}")
        return method(*args, **kwargs)
