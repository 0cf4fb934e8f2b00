"""The reference's ``mlflow.genai`` namespace, so code written for it runs with
``import evaltrace as mlflow``: ``mlflow.genai.evaluate``, ``mlflow.genai.datasets``,
``mlflow.genai.scorers``, ``mlflow.genai.labeling``. Each name is the one evaltrace defines
elsewhere (no second implementation)."""

from evaltrace.evaluate import evaluate
from evaltrace.genai import datasets, labeling, scorers

__all__ = ["datasets", "evaluate", "labeling", "scorers"]
