"""Labeling sessions in SQL: schemas, sessions, items and reviews, with claims that hand each
item to at most ``labels_per_item`` reviewers at once.

A claim is taken in one write transaction: SQLite's BEGIN IMMEDIATE serializes them; on
PostgreSQL the candidate item is locked ``FOR UPDATE SKIP LOCKED`` (a second reviewer moves
on to the next item instead of waiting), and finishing a review locks the item too.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, delete, exists, func, insert, or_, select, update

from evaltrace._json import dumps_json, loads_json
from evaltrace.entities import Assessment
from evaltrace.entities.labeling import LabelSchema
from evaltrace.exceptions import InvalidArgumentError, NotFoundError, TraceNotFoundError
from evaltrace.store import assessment_sql, models, rows
from evaltrace.store.database import Database

__all__ = ["SqlLabeling"]

_CHUNK = 500


def _now() -> int:
    return int(time.time() * 1000)


class SqlLabeling:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- schemas ------------------------------------------------------------------------------

    def save_schema(self, schema: LabelSchema, *, overwrite: bool) -> None:
        table = models.label_schemas
        with self._db.write() as connection:
            found = connection.execute(
                select(table.c.name).where(table.c.name == schema.name)
            ).first()
            if found is not None and not overwrite:
                raise InvalidArgumentError(
                    f"label schema {schema.name!r} exists; pass overwrite=True to replace it"
                )
            connection.execute(delete(table).where(table.c.name == schema.name))
            connection.execute(
                insert(table).values(
                    name=schema.name, definition=dumps_json(schema.to_dict()), created_time=_now()
                )
            )

    def get_schema(self, name: str) -> LabelSchema | None:
        table = models.label_schemas
        with self._db.read() as connection:
            row = connection.execute(select(table.c.definition).where(table.c.name == name)).first()
        return None if row is None else LabelSchema.from_dict(loads_json(row[0]))

    def delete_schema(self, name: str) -> bool:
        table = models.label_schemas
        with self._db.write() as connection:
            return bool(connection.execute(delete(table).where(table.c.name == name)).rowcount)

    # -- sessions -----------------------------------------------------------------------------

    def create_session(
        self,
        name: str,
        *,
        experiment_id: str,
        assigned_users: Sequence[str],
        label_schemas: Sequence[str],
        labels_per_item: int,
        created_by: str | None,
    ) -> dict[str, Any]:
        row = {
            "session_id": f"ls-{uuid.uuid4().hex}",
            "name": name,
            "experiment_id": rows.experiment_key(experiment_id),
            "assigned_users": dumps_json(list(assigned_users)),
            "label_schemas": dumps_json(list(label_schemas)),
            "labels_per_item": labels_per_item,
            "created_time": _now(),
            "created_by": created_by,
        }
        with self._db.write() as connection:
            connection.execute(insert(models.labeling_sessions).values(**row))
        return _session(row)

    def get_session(self, session_id: str) -> dict[str, Any]:
        table = models.labeling_sessions
        with self._db.read() as connection:
            row = (
                connection.execute(select(table).where(table.c.session_id == session_id))
                .mappings()
                .first()
            )
        if row is None:
            raise NotFoundError(f"no labeling session with id {session_id!r}")
        return _session(row)

    def sessions(self) -> list[dict[str, Any]]:
        table = models.labeling_sessions
        with self._db.read() as connection:
            found = connection.execute(
                select(table).order_by(table.c.created_time, table.c.session_id)
            ).mappings()
            return [_session(row) for row in found]

    def delete_session(self, session_id: str) -> None:
        table = models.labeling_sessions
        with self._db.write() as connection:
            items = select(models.labeling_items.c.item_id).where(
                models.labeling_items.c.session_id == session_id
            )
            connection.execute(
                delete(models.labeling_reviews).where(models.labeling_reviews.c.item_id.in_(items))
            )
            connection.execute(
                delete(models.labeling_items).where(
                    models.labeling_items.c.session_id == session_id
                )
            )
            if not connection.execute(
                delete(table).where(table.c.session_id == session_id)
            ).rowcount:
                raise NotFoundError(f"no labeling session with id {session_id!r}")

    def set_assigned_users(self, session_id: str, users: Sequence[str]) -> None:
        table = models.labeling_sessions
        with self._db.write() as connection:
            done = connection.execute(
                update(table)
                .where(table.c.session_id == session_id)
                .values(assigned_users=dumps_json(list(users)))
            )
            if not done.rowcount:
                raise NotFoundError(f"no labeling session with id {session_id!r}")

    # -- items --------------------------------------------------------------------------------

    def add_items(self, session_id: str, trace_ids: Sequence[str]) -> int:
        """Add the traces not in the session yet, in order; returns how many were new. Every
        trace must exist (else nothing is added)."""
        items, traces = models.labeling_items, models.traces
        wanted = list(dict.fromkeys(trace_ids))
        with self._db.write() as connection:
            known: set[str] = set()
            present: set[str] = set()
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start : start + _CHUNK]
                known.update(
                    connection.execute(
                        select(traces.c.trace_id).where(traces.c.trace_id.in_(chunk))
                    ).scalars()
                )
                present.update(
                    connection.execute(
                        select(items.c.trace_id).where(
                            items.c.session_id == session_id, items.c.trace_id.in_(chunk)
                        )
                    ).scalars()
                )
            missing = [t for t in wanted if t not in known]
            if missing:
                raise TraceNotFoundError(
                    f"{len(missing)} trace(s) not found, e.g. {missing[0]!r}: nothing was added"
                )
            last = connection.execute(
                select(func.max(items.c.ordinal)).where(items.c.session_id == session_id)
            ).scalar()
            ordinal = 0 if last is None else last + 1
            rows = []
            for trace_id in wanted:
                if trace_id in present:
                    continue
                rows.append(
                    {
                        "item_id": f"li-{uuid.uuid4().hex}",
                        "session_id": session_id,
                        "trace_id": trace_id,
                        "ordinal": ordinal,
                        "state": "pending",
                        "labeled_count": 0,
                    }
                )
                ordinal += 1
            if rows:
                connection.execute(insert(items), rows)
        return len(rows)

    def items(self, session_id: str) -> list[dict[str, Any]]:
        """Each item with its state, the reviewers who labeled it and the valid assessments of
        its trace (``assessments``), in order: three queries, whatever the session's size."""
        items, reviews, assessments = (
            models.labeling_items,
            models.labeling_reviews,
            models.assessments,
        )
        with self._db.read() as connection:
            found = (
                connection.execute(
                    select(items).where(items.c.session_id == session_id).order_by(items.c.ordinal)
                )
                .mappings()
                .all()
            )
            labeled: dict[str, list[str]] = {}
            for item_id, reviewer in connection.execute(
                select(reviews.c.item_id, reviews.c.reviewer)
                .join(items, items.c.item_id == reviews.c.item_id)
                .where(items.c.session_id == session_id, reviews.c.state == "labeled")
                .order_by(reviews.c.claimed_at)
            ):
                labeled.setdefault(item_id, []).append(reviewer)
            by_trace: dict[str, list[Assessment]] = {}
            for row in connection.execute(
                select(assessments)
                .join(items, items.c.trace_id == assessments.c.trace_id)
                .where(items.c.session_id == session_id, assessments.c.valid.is_(True))
                .order_by(assessments.c.create_time, assessments.c.assessment_id)
            ).mappings():
                by_trace.setdefault(row["trace_id"], []).append(
                    assessment_sql.assessment_from_row(row)
                )
        return [
            {
                **row,
                "reviewers": labeled.get(row["item_id"], []),
                "assessments": by_trace.get(row["trace_id"], []),
            }
            for row in found
        ]

    def progress(self, session_id: str) -> dict[str, Any]:
        """Items per state and labels per reviewer, counted in SQL (no item is loaded)."""
        items, reviews = models.labeling_items, models.labeling_reviews
        with self._db.read() as connection:
            states: dict[str, int] = dict(
                connection.execute(
                    select(items.c.state, func.count())
                    .where(items.c.session_id == session_id)
                    .group_by(items.c.state)
                ).all()
            )
            by_reviewer: dict[str, int] = dict(
                connection.execute(
                    select(reviews.c.reviewer, func.count())
                    .join(items, items.c.item_id == reviews.c.item_id)
                    .where(items.c.session_id == session_id, reviews.c.state == "labeled")
                    .group_by(reviews.c.reviewer)
                    .order_by(reviews.c.reviewer)
                ).all()
            )
        return {"total": sum(states.values()), "states": states, "by_reviewer": by_reviewer}

    def item_for(self, session_id: str, trace_id: str) -> str:
        items = models.labeling_items
        with self._db.read() as connection:
            item_id = connection.execute(
                select(items.c.item_id).where(
                    items.c.session_id == session_id, items.c.trace_id == trace_id
                )
            ).scalar()
        if item_id is None:
            raise TraceNotFoundError(
                f"trace {trace_id!r} is not in labeling session {session_id!r}"
            )
        return str(item_id)

    # -- reviews ------------------------------------------------------------------------------

    def claim_next(
        self, session_id: str, reviewer: str, *, labels_per_item: int, timeout_ms: int
    ) -> str | None:
        """The trace of the next item for ``reviewer``, claimed until the timeout; the item the
        reviewer holds already, if any. None when nothing is left for them."""
        items, reviews = models.labeling_items, models.labeling_reviews
        now = _now()
        active = or_(
            reviews.c.state == "labeled",
            and_(reviews.c.state == "claimed", reviews.c.expires_at > now),
        )
        with self._db.write() as connection:
            held = connection.execute(
                select(items.c.trace_id)
                .join(reviews, reviews.c.item_id == items.c.item_id)
                .where(
                    items.c.session_id == session_id,
                    reviews.c.reviewer == reviewer,
                    reviews.c.state == "claimed",
                    reviews.c.expires_at > now,
                )
                .order_by(items.c.ordinal)
                .limit(1)
            ).scalar()
            if held is not None:
                return str(held)
            taken = (
                select(func.count())
                .select_from(reviews)
                .where(reviews.c.item_id == items.c.item_id, active)
                .scalar_subquery()
            )
            done_by_me = exists().where(
                reviews.c.item_id == items.c.item_id,
                reviews.c.reviewer == reviewer,
                reviews.c.state.in_(("labeled", "skipped")),
            )
            passed_over: list[str] = []
            while True:
                query = (
                    select(items.c.item_id, items.c.trace_id)
                    .where(
                        items.c.session_id == session_id,
                        items.c.state != "completed",
                        ~done_by_me,
                        taken < labels_per_item,
                    )
                    .order_by(items.c.ordinal)
                    .limit(1)
                    .with_for_update(skip_locked=True, of=items)
                )
                if passed_over:
                    query = query.where(items.c.item_id.not_in(passed_over))
                candidate = connection.execute(query).first()
                if candidate is None:
                    return None
                # The item is locked now, so its reviews cannot change under us; count them
                # again in a new statement. On PostgreSQL the search above saw the snapshot of
                # its own start: a claim committed since (and its lock released) was not in it.
                others = connection.execute(
                    select(func.count())
                    .select_from(reviews)
                    .where(
                        reviews.c.item_id == candidate[0], reviews.c.reviewer != reviewer, active
                    )
                ).scalar_one()
                mine = connection.execute(
                    select(reviews.c.state).where(
                        reviews.c.item_id == candidate[0], reviews.c.reviewer == reviewer
                    )
                ).scalar()
                if others < labels_per_item and mine not in ("labeled", "skipped"):
                    break
                passed_over.append(candidate[0])
            item_id, trace_id = candidate
            connection.execute(
                delete(reviews).where(reviews.c.item_id == item_id, reviews.c.reviewer == reviewer)
            )
            connection.execute(
                insert(reviews).values(
                    item_id=item_id,
                    reviewer=reviewer,
                    state="claimed",
                    claimed_at=now,
                    expires_at=now + timeout_ms,
                )
            )
            connection.execute(
                update(items)
                .where(items.c.item_id == item_id, items.c.state.in_(("pending", "skipped")))
                .values(state="in_progress")
            )
        return str(trace_id)

    def finish(self, item_id: str, reviewer: str, state: str, *, labels_per_item: int) -> None:
        """Record that ``reviewer`` skipped (or labeled) the item, and update its state."""
        with self._db.write() as connection:
            self._finish(connection, item_id, reviewer, state, labels_per_item)

    def record_labels(
        self,
        item_id: str,
        reviewer: str,
        labels: Sequence[Assessment],
        *,
        labels_per_item: int,
    ) -> None:
        """Write a reviewer's labels (each overriding the one it names in ``overrides``) and
        mark the item labeled by them, in one transaction: all of it or none."""
        a = models.assessments
        with self._db.write() as connection:
            for label in labels:
                if label.overrides is None:
                    continue
                done = connection.execute(
                    update(a)
                    .where(a.c.assessment_id == label.overrides, a.c.valid.is_(True))
                    .values(valid=False)
                )
                if not done.rowcount:
                    raise InvalidArgumentError(
                        f"label {label.name!r} was changed meanwhile; label the item again"
                    )
            assessment_sql.insert_assessments(connection, labels)
            self._finish(connection, item_id, reviewer, "labeled", labels_per_item)

    def _finish(
        self, connection: Any, item_id: str, reviewer: str, state: str, labels_per_item: int
    ) -> None:
        items, reviews = models.labeling_items, models.labeling_reviews
        now = _now()
        connection.execute(
            select(items.c.item_id).where(items.c.item_id == item_id).with_for_update()
        )
        previous = connection.execute(
            select(reviews.c.state).where(
                reviews.c.item_id == item_id, reviews.c.reviewer == reviewer
            )
        ).scalar()
        if previous == "labeled" and state == "skipped":
            return  # a label given stays given
        connection.execute(
            delete(reviews).where(reviews.c.item_id == item_id, reviews.c.reviewer == reviewer)
        )
        connection.execute(
            insert(reviews).values(
                item_id=item_id, reviewer=reviewer, state=state, claimed_at=now, expires_at=now
            )
        )
        counts = dict(
            connection.execute(
                select(reviews.c.state, func.count())
                .where(
                    reviews.c.item_id == item_id,
                    or_(reviews.c.state != "claimed", reviews.c.expires_at > now),
                )
                .group_by(reviews.c.state)
            ).all()
        )
        labeled = counts.get("labeled", 0)
        if labeled >= labels_per_item:
            new_state = "completed"
        elif labeled or counts.get("claimed"):
            new_state = "in_progress"
        else:
            new_state = "skipped" if counts.get("skipped") else "pending"
        connection.execute(
            update(items)
            .where(items.c.item_id == item_id)
            .values(state=new_state, labeled_count=labeled)
        )


def _session(row: Any) -> dict[str, Any]:
    return {
        "session_id": row["session_id"],
        "name": row["name"],
        "experiment_id": str(row["experiment_id"]),
        "assigned_users": loads_json(row["assigned_users"]),
        "label_schemas": loads_json(row["label_schemas"]),
        "labels_per_item": row["labels_per_item"],
        "created_time": row["created_time"],
        "created_by": row["created_by"],
    }
