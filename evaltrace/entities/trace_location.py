"""Where a trace lives, by the reference's names: ``TraceInfo.trace_location`` is an experiment
(the only kind of location evaltrace has)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

__all__ = ["MlflowExperimentLocation", "TraceLocation", "TraceLocationType"]


class TraceLocationType(str, Enum):
    MLFLOW_EXPERIMENT = "MLFLOW_EXPERIMENT"


@dataclass(frozen=True, slots=True)
class MlflowExperimentLocation:
    experiment_id: str


@dataclass(frozen=True, slots=True)
class TraceLocation:
    type: TraceLocationType
    mlflow_experiment: MlflowExperimentLocation | None = None

    @classmethod
    def from_experiment_id(cls, experiment_id: str) -> TraceLocation:
        return cls(TraceLocationType.MLFLOW_EXPERIMENT, MlflowExperimentLocation(experiment_id))
