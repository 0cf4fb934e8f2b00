"""Create, find, tag and delete evaluation datasets."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from evaltrace._config import current_user
from evaltrace._session import get_session
from evaltrace._validation import require_count, require_tags, require_text, require_texts, shown
from evaltrace.datasets.dataset import EvaluationDataset
from evaltrace.entities.limits import MAX_NAME_CHARS
from evaltrace.exceptions import (
    DatasetNotFoundError,
    ExperimentNotFoundError,
    InvalidArgumentError,
)
from evaltrace.search import DATASETS, parse_filter, parse_order_by

_log = logging.getLogger("evaltrace")

__all__ = [
    "create_dataset",
    "delete_dataset",
    "delete_dataset_tag",
    "get_dataset",
    "search_datasets",
    "set_dataset_tags",
]


def _experiment_ids(experiment_id: str | Sequence[str] | None) -> list[str]:
    if experiment_id is None:
        return [get_session().experiment_id()]
    given = [experiment_id] if isinstance(experiment_id, (str, int)) else _sequence(experiment_id)
    ids = require_texts([str(e) if type(e) is int else e for e in given], "experiment_id") or []
    store = get_session().store()
    for e in ids:
        try:
            store.get_experiment(e)  # an id that cannot be one raises, naming it
        except ExperimentNotFoundError:
            if not e.isdigit():
                raise
            # reference/001 links experiments ["0", "1"] on a fresh store: keep the link, as
            # the reference does, and say so (the experiment may be made later).
            _log.warning("evaltrace: experiment %r does not exist (yet); linked anyway", e)
    return ids


def _sequence(value: Any) -> list[Any]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise InvalidArgumentError(f"experiment_id must be a string or a list, got {shown(value)}")
    return list(value)


def create_dataset(
    name: str,
    experiment_id: str | Sequence[str] | None = None,
    tags: Mapping[str, Any] | None = None,
) -> EvaluationDataset:
    """A new, empty dataset (version 0). Names are unique."""
    require_text(name, "name")
    if len(name) > MAX_NAME_CHARS:
        raise InvalidArgumentError(f"name must be at most {MAX_NAME_CHARS} characters")
    info = (
        get_session()
        .store()
        .datasets.create(name, _experiment_ids(experiment_id), require_tags(tags), current_user())
    )
    return EvaluationDataset(info)


def _resolve(name: str | None, dataset_id: str | None) -> str:
    if (name is None) == (dataset_id is None):
        raise InvalidArgumentError("give exactly one of name and dataset_id")
    if dataset_id is not None:
        return str(require_text(dataset_id, "dataset_id"))
    return get_session().store().datasets.get(name=require_text(name, "name")).dataset_id


def get_dataset(
    name: str | None = None, dataset_id: str | None = None, version: int | None = None
) -> EvaluationDataset:
    """The dataset by name (positional works) or id; ``version=N`` gives exactly what version
    N held (read-only)."""
    datasets = get_session().store().datasets
    info = datasets.get(dataset_id=_resolve(name, dataset_id))
    if version is None or version == info.version:
        return EvaluationDataset(info)
    if (
        isinstance(version, bool)
        or not isinstance(version, int)
        or not 0 <= version <= info.version
    ):
        raise DatasetNotFoundError(
            f"dataset {info.name!r} has versions 0 to {info.version}; got {version!r}"
        )
    digest, count = "0" * 64, 0  # version 0: the empty dataset
    if version > 0:
        found = datasets.version_info(info.dataset_id, version)
        digest, count = found.digest, found.record_count
    pinned = replace(info, version=version, digest=digest, profile={"record_count": count})
    return EvaluationDataset(pinned, pinned=True)


def search_datasets(
    experiment_ids: str | Sequence[str] | None = None,
    filter_string: str | None = None,
    max_results: int | None = None,
    order_by: Sequence[str] | None = None,
) -> list[EvaluationDataset]:
    """Datasets matching ``filter_string`` (the search_traces language over ``name``,
    ``dataset_id``, ``created_time``, ``last_update_time`` and ``tags.<key>``)."""
    require_count(max_results, "max_results")
    if isinstance(experiment_ids, str):  # one id, as create_dataset and search_traces take it
        experiment_ids = [experiment_ids]
    condition = parse_filter(filter_string, DATASETS)
    order = parse_order_by(order_by, DATASETS)
    infos = (
        get_session()
        .store()
        .datasets.search(
            require_texts(experiment_ids, "experiment_ids"),
            condition,
            order,
            max_results,
        )
    )
    return [EvaluationDataset(info) for info in infos]


def delete_dataset(name: str | None = None, dataset_id: str | None = None) -> None:
    get_session().store().datasets.delete(_resolve(name, dataset_id))


def set_dataset_tags(
    dataset_id: str | None = None, tags: Mapping[str, Any] | None = None, *, name: str | None = None
) -> None:
    """Add or change tags (other tags stay)."""
    get_session().store().datasets.set_tags(_resolve(name, dataset_id), require_tags(tags))


def delete_dataset_tag(
    dataset_id: str | None = None, key: str | None = None, *, name: str | None = None
) -> None:
    checked = require_text(key, "key")
    get_session().store().datasets.delete_tag(_resolve(name, dataset_id), checked)
