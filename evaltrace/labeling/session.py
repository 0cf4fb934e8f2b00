"""A labeling session: a queue of traces that reviewers label against the session's schemas.

Labels are ordinary assessments on the traces (source HUMAN, the reviewer as source_id): a
``feedback`` schema's answer is a Feedback, an ``expectation`` schema's an Expectation, so
``search_traces("feedback.tone = 'helpful'")`` and ``get_assessment_history`` see them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from evaltrace import annotate
from evaltrace._session import get_session
from evaltrace._validation import require_text
from evaltrace.datasets import EvaluationDataset, create_dataset, get_dataset
from evaltrace.entities import (
    Assessment,
    AssessmentSource,
    AssessmentSourceType,
    Expectation,
    Feedback,
    Trace,
)
from evaltrace.entities.labeling import LabelingItem, LabelSchema
from evaltrace.exceptions import DatasetNotFoundError, InvalidArgumentError
from evaltrace.labeling.agreement import Agreement, agreement

__all__ = ["CLAIM_TIMEOUT_MS", "LabelingSession"]

CLAIM_TIMEOUT_MS = 15 * 60 * 1000  # a claimed item goes back to the queue after this


class LabelingSession:
    def __init__(self, info: dict[str, Any]) -> None:
        # The session it was made in (see EvaluationDataset): its store, whichever session
        # is in use when its methods are called.
        self._session = get_session()
        self._info = info

    @property
    def labeling_session_id(self) -> str:
        return str(self._info["session_id"])

    @property
    def name(self) -> str:
        return str(self._info["name"])

    @property
    def assigned_users(self) -> list[str]:
        return list(self._info["assigned_users"])

    @property
    def label_schemas(self) -> list[str]:
        return list(self._info["label_schemas"])

    @property
    def labels_per_item(self) -> int:
        return int(self._info["labels_per_item"])

    @property
    def experiment_id(self) -> str:
        return str(self._info["experiment_id"])

    @property
    def url(self) -> str:
        """The session's page on ``evaltrace server`` (a path: prefix the server's address)."""
        return f"/review/{self.labeling_session_id}"

    def __repr__(self) -> str:
        return f"LabelingSession(name={self.name!r}, id={self.labeling_session_id!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LabelingSession) and other._info == self._info

    def __hash__(self) -> int:
        return hash(self.labeling_session_id)

    @property
    def _store(self) -> Any:
        return self._session.store().labeling

    # -- contents -----------------------------------------------------------------------------

    def add_traces(self, traces: Any) -> LabelingSession:
        """Add traces (Trace objects, a ``search_traces`` DataFrame, or trace ids) not in the
        session yet. A trace that does not exist raises and nothing is added."""
        self._session.flush_for_readers()
        self._store.add_items(self.labeling_session_id, _trace_ids(traces))
        return self

    def add_dataset(
        self, dataset_name: str, record_ids: Sequence[str] | None = None
    ) -> LabelingSession:
        """Add the source traces of a dataset's records (all, or those in ``record_ids``)."""
        with self._session.use():
            records = get_dataset(require_text(dataset_name, "dataset_name")).records
        if record_ids is not None:
            wanted = set(record_ids)
            records = [r for r in records if r.record_id in wanted or r.dataset_record_id in wanted]
        ids = [r.source.source_data.get("trace_id") for r in records]
        traced = [i for i in ids if isinstance(i, str) and i]
        if not traced:
            raise InvalidArgumentError(
                f"no record of dataset {dataset_name!r} came from a trace: nothing to label"
            )
        return self.add_traces(traced)

    def set_assigned_users(self, users: Sequence[str]) -> LabelingSession:
        clean = _users(users)
        self._store.set_assigned_users(self.labeling_session_id, clean)
        self._info = {**self._info, "assigned_users": clean}
        return self

    def items(self) -> list[LabelingItem]:
        return [
            LabelingItem(
                item_id=row["item_id"],
                trace_id=row["trace_id"],
                state=row["state"],
                reviewers=row["reviewers"],
                labels=_labels_of(row["assessments"], self),
            )
            for row in self._store.items(self.labeling_session_id)
        ]

    def progress(self) -> dict[str, Any]:
        """``total`` items, ``states`` (items per state), ``by_reviewer`` (labels per reviewer)."""
        return self._store.progress(self.labeling_session_id)  # type: ignore[no-any-return]

    def agreement(self, items: Sequence[LabelingItem] | None = None) -> dict[str, Agreement]:
        """Per categorical schema, how much reviewers agree on the items two or more labeled
        (``items``: this session's, if already read)."""
        categorical = [
            s
            for s in self._schemas().values()
            if s.input.to_dict()["kind"] in ("categorical", "categorical_list")
        ]
        items = self.items() if items is None else items
        return {
            schema.name: agreement(
                [
                    {
                        str(label.source.source_id): _hashable(label.value)
                        for label in item.labels
                        if label.name == schema.name
                    }
                    for item in items
                ]
            )
            for schema in categorical
        }

    # -- reviewing ----------------------------------------------------------------------------

    def claim_next(self, reviewer: str) -> str | None:
        """The trace id of the next item for ``reviewer`` (claimed for 15 minutes: nobody else
        gets it meanwhile), or None when there is nothing left for them."""
        return self._store.claim_next(  # type: ignore[no-any-return]
            self.labeling_session_id,
            self._reviewer(reviewer),
            labels_per_item=self.labels_per_item,
            timeout_ms=CLAIM_TIMEOUT_MS,
        )

    def label(
        self,
        trace_id: str,
        *,
        reviewer: str,
        values: Mapping[str, Any],
        comment: str | None = None,
    ) -> list[Assessment]:
        """Record ``reviewer``'s answers for the item of ``trace_id``: one assessment per schema
        answered. Every answer is checked against its schema first (nothing is written if one
        is wrong); a reviewer labeling again overrides their earlier labels (history kept)."""
        reviewer = self._reviewer(reviewer)
        item_id = self._store.item_for(self.labeling_session_id, require_text(trace_id, "trace_id"))
        if not isinstance(values, Mapping) or not values:
            raise InvalidArgumentError(
                "values must be a non-empty mapping of schema name to answer"
            )
        if comment is not None:
            require_text(comment, "comment", empty=True)
        schemas = self._schemas()
        checked = {}
        for name, value in values.items():
            schema = schemas.get(name)
            if schema is None:
                known = ", ".join(sorted(schemas)) or "none"
                raise InvalidArgumentError(
                    f"{name!r} is not a label schema of this session (its schemas: {known})"
                )
            checked[name] = (schema, schema.check(value))
        mine = {
            a.name: a
            for a in self._session.store().get_trace_info(trace_id).assessments
            if a.valid and _is_label_by(a, reviewer)
        }
        source = AssessmentSource(source_type=AssessmentSourceType.HUMAN, source_id=reviewer)
        labels = [
            self._prepare(trace_id, schema, value, comment, source, mine.get(schema.name))
            for schema, value in checked.values()
        ]
        self._session.flush_for_readers()
        self._store.record_labels(item_id, reviewer, labels, labels_per_item=self.labels_per_item)
        return labels

    def skip(self, trace_id: str, *, reviewer: str) -> None:
        """``reviewer`` passes on this item (it stays in the queue for the others)."""
        reviewer = self._reviewer(reviewer)
        item_id = self._store.item_for(self.labeling_session_id, require_text(trace_id, "trace_id"))
        self._store.finish(item_id, reviewer, "skipped", labels_per_item=self.labels_per_item)

    def _prepare(
        self,
        trace_id: str,
        schema: LabelSchema,
        value: Any,
        comment: str | None,
        source: AssessmentSource,
        previous: Assessment | None,
    ) -> Assessment:
        """The label as an assessment, checked as log_feedback / log_expectation check, not
        written yet; it overrides the reviewer's earlier label of that schema, if any."""
        record: dict[str, Any] = {
            "trace_id": trace_id,
            "name": schema.name,
            "value": value,
            "source": source,
            "metadata": {"labeling_session_id": self.labeling_session_id},
        }
        if schema.type == "feedback":
            record["rationale"] = comment
            label = annotate.prepare_assessment(Feedback, record)
        else:
            if comment:
                record["metadata"]["comment"] = comment
            label = annotate.prepare_assessment(Expectation, record)
        return label if previous is None else replace(label, overrides=previous.assessment_id)

    # -- datasets -----------------------------------------------------------------------------

    def sync(self, dataset_name: str) -> EvaluationDataset:
        """Merge each completed item into the dataset (created if new): the trace's inputs
        with its expectations, the labeled ones included. Re-syncing unchanged labels makes no
        new version."""
        require_text(dataset_name, "dataset_name")
        done = [item.trace_id for item in self.items() if item.state == "completed"]
        with self._session.use():
            try:
                dataset = get_dataset(dataset_name)
            except DatasetNotFoundError:
                dataset = create_dataset(dataset_name, experiment_id=self.experiment_id)
        if done:
            store = self._session.store()
            dataset.merge_records([store.get_trace(trace_id) for trace_id in done])
        return dataset

    def sync_expectations(self, dataset_name: str) -> EvaluationDataset:
        """The name reference/000 uses for ``sync``: the same operation."""
        return self.sync(dataset_name)

    # -- helpers ------------------------------------------------------------------------------

    def _reviewer(self, reviewer: str) -> str:
        require_text(reviewer, "reviewer")
        if self.assigned_users and reviewer not in self.assigned_users:
            raise InvalidArgumentError(
                f"reviewer {reviewer!r} is not assigned to labeling session {self.name!r} "
                f"(assigned: {', '.join(self.assigned_users)})"
            )
        return reviewer

    def _schemas(self) -> dict[str, LabelSchema]:
        from evaltrace.labeling.api import get_label_schema

        return {name: get_label_schema(name) for name in self.label_schemas}


def _is_label_by(assessment: Assessment, reviewer: str) -> bool:
    return (
        assessment.source.source_type is AssessmentSourceType.HUMAN
        and assessment.source.source_id == reviewer
        and isinstance(assessment, (Feedback, Expectation))
    )


def _labels_of(assessments: Sequence[Assessment], session: LabelingSession) -> list[Assessment]:
    return [
        a
        for a in assessments
        if a.valid and a.metadata.get("labeling_session_id") == session.labeling_session_id
    ]


def _hashable(value: Any) -> Any:
    """A categorical answer as a dict key (a list of options as a sorted tuple)."""
    return tuple(sorted(map(str, value))) if isinstance(value, list) else value


def _trace_ids(traces: Any) -> list[str]:
    if hasattr(traces, "columns") and "trace_id" in traces.columns:  # a search_traces DataFrame
        return [str(t) for t in traces["trace_id"]]
    if isinstance(traces, (str, Trace)):
        traces = [traces]
    ids = []
    for i, item in enumerate(traces):
        if isinstance(item, Trace):
            ids.append(item.info.trace_id)
        else:
            ids.append(require_text(item, f"traces[{i}]"))
    return ids


def _users(users: Sequence[str]) -> list[str]:
    if isinstance(users, str) or not isinstance(users, Sequence):
        raise InvalidArgumentError(f"assigned_users must be a list of names, got {users!r}")
    return [require_text(u, f"assigned_users[{i}]") for i, u in enumerate(users)]
