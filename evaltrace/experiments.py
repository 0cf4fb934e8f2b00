"""Experiments by the reference's names: create, get, search, rename, delete (kept with their
traces, hidden, restorable), restore, tags. Finding or making the active one is
``set_experiment`` (client.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from evaltrace._session import get_session
from evaltrace._validation import require_count, require_tags, require_text, shown
from evaltrace.entities import Experiment
from evaltrace.entities.experiment import ViewType
from evaltrace.exceptions import InvalidArgumentError
from evaltrace.search import parse_filter, parse_order_by
from evaltrace.search.keys import EXPERIMENTS

__all__ = [
    "ViewType",
    "create_experiment",
    "delete_experiment",
    "delete_experiment_tag",
    "get_experiment",
    "rename_experiment",
    "restore_experiment",
    "search_experiments",
    "set_experiment_tag",
    "set_experiment_tags",
]


def create_experiment(
    name: str, artifact_location: str | None = None, tags: Mapping[str, Any] | None = None
) -> str:
    """Make an experiment; its id. A taken name (a deleted experiment's too) is an
    ``InvalidArgumentError``. ``artifact_location`` is accepted for the reference's callers and
    not used (evaltrace stores no artifacts)."""
    require_text(name, "name")
    checked = require_tags(tags)
    return get_session().store().experiments.create(name, checked).experiment_id


def get_experiment(experiment_id: str) -> Experiment:
    """The experiment with this id (deleted or not); ``ExperimentNotFoundError`` if none."""
    return get_session().store().get_experiment(require_text(experiment_id, "experiment_id"))


def search_experiments(
    view_type: int = ViewType.ACTIVE_ONLY,
    max_results: int | None = None,
    filter_string: str | None = None,
    order_by: Sequence[str] | None = None,
) -> list[Experiment]:
    """Experiments matching ``filter_string`` (``name LIKE 'support%'``, ``tags.team =
    'search'``, ``creation_time > ...``), active ones by default (``ViewType.DELETED_ONLY`` /
    ``ViewType.ALL``), in ``order_by`` order (``["name ASC"]``; default: by id)."""
    if view_type not in (ViewType.ACTIVE_ONLY, ViewType.DELETED_ONLY, ViewType.ALL):
        raise InvalidArgumentError(
            f"view_type must be ViewType.ACTIVE_ONLY, DELETED_ONLY or ALL, got {shown(view_type)}"
        )
    return (
        get_session()
        .store()
        .experiments.search(
            view_type,
            parse_filter(filter_string, EXPERIMENTS),
            parse_order_by(order_by, EXPERIMENTS),
            require_count(max_results, "max_results"),
        )
    )


def rename_experiment(experiment_id: str, new_name: str) -> None:
    get_session().store().experiments.rename(
        require_text(experiment_id, "experiment_id"), require_text(new_name, "new_name")
    )


def delete_experiment(experiment_id: str) -> None:
    """Mark the experiment deleted: its traces, datasets and runs stay; it is hidden from
    lists, and ``set_experiment`` refuses it until it is restored."""
    _set_lifecycle(experiment_id, "deleted")


def restore_experiment(experiment_id: str) -> None:
    _set_lifecycle(experiment_id, "active")


def set_experiment_tag(key: str, value: Any) -> None:
    """Tag the active experiment."""
    set_experiment_tags({key: value})


def set_experiment_tags(tags: Mapping[str, Any]) -> None:
    """Tag the active experiment (values are stored as text)."""
    session = get_session()
    session.store().experiments.set_tags(session.experiment_id(), require_tags(tags))


def delete_experiment_tag(experiment_id: str, key: str) -> None:
    get_session().store().experiments.delete_tag(
        require_text(experiment_id, "experiment_id"), require_text(key, "key")
    )


def _set_lifecycle(experiment_id: str, stage: str) -> None:
    session = get_session()
    session.store().experiments.set_lifecycle(require_text(experiment_id, "experiment_id"), stage)
    session.forget_experiments()
