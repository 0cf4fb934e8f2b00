"""The reference's ``mlflow.genai`` namespace, so code written for it runs with
``import evaltrace as mlflow``: ``mlflow.genai.evaluate``, ``mlflow.genai.datasets``,
``mlflow.genai.scorers``, ``mlflow.genai.labeling``. Each name is the one evaltrace defines
elsewhere (no second implementation)."""

import importlib
from types import ModuleType
from typing import TYPE_CHECKING

from evaltrace.evaluate import evaluate
from evaltrace.genai import datasets

if TYPE_CHECKING:
    from evaltrace.genai import labeling, scorers

__all__ = ["datasets", "evaluate", "labeling", "scorers"]

# Imported on first use: labeling and scorers (with production monitoring) are a sixth of
# ``import evaltrace``'s time, and code that only traces never touches them.
_ON_FIRST_USE = ("labeling", "scorers")


def __getattr__(name: str) -> ModuleType:
    if name in _ON_FIRST_USE:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
