"""``mlflow.genai.datasets``: evaltrace.datasets under the reference's name."""

from evaltrace.datasets import *  # noqa: F403 - the same public names
from evaltrace.datasets import __all__ as __all__
