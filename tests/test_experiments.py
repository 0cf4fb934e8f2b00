"""Experiments by the reference's names, on SQLite, PostgreSQL and through a server."""

from __future__ import annotations

import pytest

import evaltrace as mlflow
from evaltrace import ViewType
from evaltrace.exceptions import ExperimentNotFoundError, InvalidArgumentError, InvalidFilterError
from tests.conftest import ALL_STORE_KINDS

STORE_KINDS = ALL_STORE_KINDS


def test_create_get_search_rename_tag(store_uri: str) -> None:
    first = mlflow.create_experiment("support-bot", tags={"team": "support", "tier": 1})
    second = mlflow.create_experiment("search-bot", artifact_location="ignored")
    experiment = mlflow.get_experiment(first)
    assert (experiment.name, experiment.lifecycle_stage) == ("support-bot", "active")
    assert experiment.tags == {"team": "support", "tier": "1"}  # values kept as text
    with pytest.raises(InvalidArgumentError, match="exists already"):
        mlflow.create_experiment("support-bot")

    names = [e.name for e in mlflow.search_experiments(filter_string="name LIKE '%-bot'")]
    assert names == ["support-bot", "search-bot"]  # by id
    found = mlflow.search_experiments(filter_string="tags.team = 'support'")
    assert [e.experiment_id for e in found] == [first]
    ordered = mlflow.search_experiments(order_by=["name DESC"], max_results=2)
    assert [e.name for e in ordered] == ["support-bot", "search-bot"]
    with pytest.raises(InvalidFilterError):
        mlflow.search_experiments(filter_string="attributes.bogus = 1")

    mlflow.rename_experiment(second, "retrieval-bot")
    assert mlflow.get_experiment(second).name == "retrieval-bot"
    assert mlflow.get_experiment_by_name("search-bot") is None
    with pytest.raises(InvalidArgumentError, match="exists already"):
        mlflow.rename_experiment(second, "support-bot")

    mlflow.set_experiment("support-bot")
    mlflow.set_experiment_tag("owner", "ann")
    mlflow.set_experiment_tags({"tier": "2"})
    assert mlflow.get_experiment(first).tags == {"team": "support", "tier": "2", "owner": "ann"}
    mlflow.delete_experiment_tag(first, "owner")
    assert "owner" not in mlflow.get_experiment(first).tags
    with pytest.raises(ExperimentNotFoundError):
        mlflow.get_experiment("98765")


def test_a_deleted_experiment_keeps_its_traces_and_can_be_restored(store_uri: str) -> None:
    experiment_id = mlflow.create_experiment("old-bot")
    mlflow.set_experiment(experiment_id=experiment_id)

    @mlflow.trace
    def answer() -> str:
        return "42"

    answer()
    mlflow.flush()
    mlflow.delete_experiment(experiment_id)
    assert mlflow.get_experiment(experiment_id).lifecycle_stage == "deleted"
    assert "old-bot" not in [e.name for e in mlflow.search_experiments()]
    assert [e.name for e in mlflow.search_experiments(view_type=ViewType.DELETED_ONLY)] == [
        "old-bot"
    ]
    assert "old-bot" in [e.name for e in mlflow.search_experiments(view_type=ViewType.ALL)]
    with pytest.raises(InvalidArgumentError, match="is deleted: restore it"):
        mlflow.set_experiment("old-bot")
    with pytest.raises(InvalidArgumentError, match="default experiment"):
        mlflow.delete_experiment("0")

    mlflow.restore_experiment(experiment_id)
    mlflow.set_experiment("old-bot")
    assert len(mlflow.search_traces(experiment_ids=[experiment_id], return_type="list")) == 1
