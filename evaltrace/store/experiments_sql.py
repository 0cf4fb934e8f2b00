"""The experiments facet on SQL: create, rename, delete (a lifecycle stage: traces are kept and
the experiment can be restored), tags, search."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from evaltrace.entities import DEFAULT_EXPERIMENT_ID, Experiment
from evaltrace.entities.experiment import ViewType
from evaltrace.exceptions import ExperimentNotFoundError, InvalidArgumentError
from evaltrace.search import Expr, OrderKey
from evaltrace.store import models, rows
from evaltrace.store.database import Database, replace_tags
from evaltrace.store.filter_sql import EXPERIMENT_TARGET

__all__ = ["SqlExperiments", "load_experiments"]

_STAGES = {ViewType.ACTIVE_ONLY: ("active",), ViewType.DELETED_ONLY: ("deleted",)}


def load_experiments(connection: Connection, condition: Any) -> list[Experiment]:
    """The experiments matching ``condition`` (a WHERE clause), with their tags."""
    found = connection.execute(select(models.experiments).where(condition)).mappings().all()
    return _with_tags(connection, found)


def _with_tags(connection: Connection, found: Sequence[Any]) -> list[Experiment]:
    t = models.experiment_tags
    ids = [row["experiment_id"] for row in found]
    tags: dict[int, dict[str, str]] = {i: {} for i in ids}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for tag in connection.execute(select(t).where(t.c.experiment_id.in_(chunk))).mappings():
            tags[tag["experiment_id"]][tag["key"]] = tag["value"]
    return [rows.experiment_from_row(row, tags[row["experiment_id"]]) for row in found]


class SqlExperiments:
    def __init__(self, db: Database) -> None:
        self._db = db

    def create(self, name: str, tags: Mapping[str, str]) -> Experiment:
        now = _now_ms()
        try:
            with self._db.write() as connection:
                inserted = connection.execute(
                    models.experiments.insert().values(
                        name=name, creation_time=now, last_update_time=now
                    )
                ).inserted_primary_key
                assert inserted is not None
                key = int(inserted[0])
                replace_tags(connection, models.experiment_tags, {"experiment_id": key}, tags)
        except IntegrityError:
            raise InvalidArgumentError(
                f"an experiment named {name!r} exists already (deleted ones too: restore it, "
                "or pick another name)"
            ) from None
        return self._get(key)

    def rename(self, experiment_id: str, new_name: str) -> None:
        try:
            self._change(experiment_id, name=new_name)
        except IntegrityError:
            raise InvalidArgumentError(f"an experiment named {new_name!r} exists already") from None

    def set_lifecycle(self, experiment_id: str, stage: str) -> None:
        """``"deleted"`` (its traces are kept; it is hidden and takes no new traces) or
        ``"active"`` (restored)."""
        if stage not in ("active", "deleted"):
            raise InvalidArgumentError(f"lifecycle stage must be active or deleted, got {stage!r}")
        if stage == "deleted" and experiment_id == DEFAULT_EXPERIMENT_ID:
            raise InvalidArgumentError("the default experiment (id 0) cannot be deleted")
        self._change(experiment_id, lifecycle_stage=stage)

    def set_tags(self, experiment_id: str, tags: Mapping[str, str]) -> None:
        key = rows.experiment_key(experiment_id)
        with self._db.write() as connection:
            self._require(connection, key)
            replace_tags(connection, models.experiment_tags, {"experiment_id": key}, tags)
            _touch(connection, key)

    def delete_tag(self, experiment_id: str, key: str) -> None:
        experiment = rows.experiment_key(experiment_id)
        t = models.experiment_tags
        with self._db.write() as connection:
            self._require(connection, experiment)
            gone = connection.execute(
                delete(t).where(t.c.experiment_id == experiment, t.c.key == key)
            ).rowcount
            if not gone:
                raise InvalidArgumentError(f"experiment {experiment_id} has no tag {key!r}")
            _touch(connection, experiment)

    def search(
        self,
        view_type: int,
        condition: Expr | None,
        order_by: Sequence[OrderKey],
        max_results: int | None,
    ) -> list[Experiment]:
        e = models.experiments
        query = select(e)
        stages = _STAGES.get(view_type)
        if stages is not None:
            query = query.where(e.c.lifecycle_stage.in_(stages))
        if condition is not None:
            query = query.where(self._db.filters.compile(condition, EXPERIMENT_TARGET))
        orders = []
        for key in order_by:
            column = e.c.get(key.key.name, e.c.name)
            orders.append(column.desc() if key.descending else column.asc())
        query = query.order_by(*orders, e.c.experiment_id)
        if max_results is not None:
            query = query.limit(max_results)
        with self._db.read() as connection:
            return _with_tags(connection, connection.execute(query).mappings().all())

    def _get(self, key: int) -> Experiment:
        with self._db.read() as connection:
            found = load_experiments(connection, models.experiments.c.experiment_id == key)
        if not found:
            raise ExperimentNotFoundError(f"experiment id {str(key)!r} not found")
        return found[0]

    def _change(self, experiment_id: str, **values: Any) -> None:
        key = rows.experiment_key(experiment_id)
        e = models.experiments
        with self._db.write() as connection:
            self._require(connection, key)
            connection.execute(
                update(e)
                .where(e.c.experiment_id == key)
                .values(**values, last_update_time=_now_ms())
            )

    def _require(self, connection: Connection, key: int) -> None:
        e = models.experiments
        found = connection.execute(
            select(e.c.experiment_id).where(e.c.experiment_id == key)
        ).first()
        if found is None:
            raise ExperimentNotFoundError(f"experiment id {str(key)!r} not found")


def _touch(connection: Connection, key: int) -> None:
    e = models.experiments
    connection.execute(update(e).where(e.c.experiment_id == key).values(last_update_time=_now_ms()))


def _now_ms() -> int:
    return time.time_ns() // 1_000_000
