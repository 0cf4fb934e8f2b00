"""``mlflow.genai.labeling``: evaltrace.labeling under the reference's name."""

from evaltrace.labeling import *  # noqa: F403 - the same public names
from evaltrace.labeling import __all__ as __all__
