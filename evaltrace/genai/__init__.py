"""The reference's ``mlflow.genai`` namespace, so code written for it runs with
``import evaltrace as mlflow``: ``mlflow.genai.evaluate``, ``.datasets``, ``.scorers``,
``.labeling``, ``.judges``, and the names the reference's quickstart imports from
``mlflow.genai`` itself (``scorer``, ``Scorer``, ``create_dataset``, ...). Each name is the one
evaltrace defines elsewhere (no second implementation)."""

import importlib
from types import ModuleType
from typing import TYPE_CHECKING

from evaltrace.datasets import create_dataset, delete_dataset, get_dataset, search_datasets
from evaltrace.evaluate import evaluate
from evaltrace.genai import datasets

if TYPE_CHECKING:
    from evaltrace.genai import judges, labeling, scorers
    from evaltrace.scorers import Scorer, scorer

__all__ = [
    "Scorer",
    "create_dataset",
    "datasets",
    "delete_dataset",
    "evaluate",
    "get_dataset",
    "judges",
    "labeling",
    "scorer",
    "scorers",
    "search_datasets",
]

# Imported on first use: labeling and scorers (with production monitoring) are a sixth of
# ``import evaltrace``'s time, and code that only traces never touches them.
_ON_FIRST_USE = ("judges", "labeling", "scorers")
_FROM_SCORERS = ("Scorer", "scorer")


def __getattr__(name: str) -> ModuleType | object:
    if name in _ON_FIRST_USE:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _FROM_SCORERS:
        return getattr(importlib.import_module(f"{__name__}.scorers"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
