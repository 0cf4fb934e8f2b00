"""``mlflow.genai.scorers``: evaltrace.scorers under the reference's name."""

from evaltrace.scorers import *  # noqa: F403 - the same public names
from evaltrace.scorers import __all__ as __all__
