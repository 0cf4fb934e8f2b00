"""``mlflow.genai.judges``: the judge functions and ``make_judge`` under the reference's name."""

from evaltrace.evaluate.judge_functions import *  # noqa: F403 - the same public names
from evaltrace.evaluate.judge_functions import __all__ as __all__
