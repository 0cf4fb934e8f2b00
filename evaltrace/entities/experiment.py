"""Experiments group traces (and, later, datasets and evaluation runs)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["DEFAULT_EXPERIMENT_ID", "DEFAULT_EXPERIMENT_NAME", "Experiment", "ViewType"]

DEFAULT_EXPERIMENT_ID = "0"
DEFAULT_EXPERIMENT_NAME = "Default"


class ViewType:
    """Which experiments ``search_experiments`` lists (the reference's names)."""

    ACTIVE_ONLY = 1
    DELETED_ONLY = 2
    ALL = 3


@dataclass(frozen=True, slots=True, kw_only=True)
class Experiment:
    experiment_id: str
    name: str
    creation_time: int  # milliseconds since the epoch
    lifecycle_stage: str = "active"  # or "deleted": kept with its traces, hidden, restorable
    last_update_time: int | None = None
    tags: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "experiment_id": self.experiment_id,
            "name": self.name,
            "creation_time": self.creation_time,
            "lifecycle_stage": self.lifecycle_stage,
            "last_update_time": self.last_update_time,
            "tags": dict(self.tags),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Experiment:
        updated = data.get("last_update_time")
        return cls(
            experiment_id=str(data["experiment_id"]),
            name=data["name"],
            creation_time=int(data["creation_time"]),
            lifecycle_stage=str(data.get("lifecycle_stage") or "active"),
            last_update_time=None if updated is None else int(updated),
            tags=dict(data.get("tags") or {}),
        )
