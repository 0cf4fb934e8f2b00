"""The dataset snippets of reference/001 and reference/003 run as written.

Only the imports differ: ``import mlflow`` -> ``import evaltrace as mlflow`` and
``mlflow.genai.datasets`` -> ``evaltrace.datasets``. Each snippet runs in its own namespace
after a setup that makes the world it assumes (traces named chat_completion, experiment "1",
the "Customer Support Bot" experiment).
"""

from __future__ import annotations

import textwrap

import evaltrace

FROM_TRACES = """
import evaltrace as mlflow
from evaltrace.datasets import create_dataset, set_dataset_tags
# Create your evaluation dataset
dataset = create_dataset(
name="production_validation_set",
experiment_id=["0"], # "0" is the default experiment
tags={"team": "ml-platform", "stage": "validation"},
)
# Optionally, add additional tags to your dataset.
# Tags can be used to search for datasets with search_datasets API
set_dataset_tags(
dataset_id=dataset.dataset_id,
tags={"environment": "dev", "validation_version": "1.3"},
)
# First, retrieve traces that will become the basis of the dataset
traces = mlflow.search_traces(
experiment_ids=["0"],
max_results=20,
filter_string="attributes.name = 'chat_completion'",
return_type="list", # Returns list[Trace]
)
# Add expectations to the traces
for trace in traces:
    mlflow.log_expectation(
    trace_id=trace.info.trace_id,
    name="expected_answer",
    value=(
    "The correct answer should include step-by-step instructions "
    "for password reset with email verification"
    ),
    )
# Retrieve the traces with added expectations
annotated_traces = mlflow.search_traces(
experiment_ids=["0"],
max_results=20,
return_type="list",
)
# Merge the list of Trace objects directly into your dataset
dataset.merge_records(annotated_traces)
"""

FROM_DICTS = """
import evaltrace as mlflow
from evaltrace.datasets import create_dataset
# Create dataset with manual test cases
dataset = create_dataset(
name="regression_test_suite",
experiment_id=["0", "1"], # Multiple experiments
tags={"type": "regression", "priority": "critical"},
)
# Define test cases with expected outputs (ground truth)
test_cases = [
{
"inputs": {
"question": "How do I reset my password?",
"context": "user_support",
},
"expectations": {
"expected_answer": (
"To reset your password, click 'Forgot Password' on the login page, "
"enter your email, and follow the link sent to your inbox"
),
"must_contain_steps": True,
"expected_tone": "helpful",
},
},
{
"inputs": {
"question": "What are your refund policies?",
"context": "customer_service",
},
"expectations": {
"expected_answer": (
"We offer full refunds within 30 days of purchase. "
"Refunds after 30 days are subject to approval."
),
"must_include_timeframe": True,
"must_mention_exceptions": True,
},
},
]
dataset.merge_records(test_cases)
"""

FROM_DATAFRAME = """
import pandas as pd
from evaltrace.datasets import create_dataset
# Create dataset
dataset = create_dataset(
name="benchmark_dataset",
experiment_id=["0"],
tags={"source": "benchmark", "version": "2024.1"},
)
# Create DataFrame with inputs and expectations (ground truth)
df = pd.DataFrame(
[
{
"inputs": {
"question": "What is MLflow?",
"domain": "general",
},
"expectations": {
"expected_answer": "MLflow is an open-source platform for ML",
"must_mention": ["tracking", "experiments", "models"],
},
},
{
"inputs": {
"question": "How do I track experiments?",
"domain": "technical",
},
"expectations": {
"expected_answer": "Use mlflow.start_run() and mlflow.log_params()",
"must_mention": ["log_params", "log_metrics"],
},
},
{
"inputs": {
"question": "Explain model versioning",
"domain": "technical",
},
"expectations": {
"expected_answer": "Model Registry provides versioning",
"must_mention": ["Model Registry", "versions"],
},
},
]
)
# Add records from DataFrame
dataset.merge_records(df)
"""

WORKFLOW_STEP_4 = """
import evaltrace as mlflow
from evaltrace.datasets import create_dataset

# Create dataset from current experiment
dataset = create_dataset(
    name="customer_support_qa_v1",
    experiment_id=mlflow.get_experiment_by_name("Customer Support Bot").experiment_id,
    tags={"stage": "validation", "domain": "customer_support"},
)

# Re-fetch traces to get the attached expectations
# The expectations are now part of the trace data
annotated_traces = mlflow.search_traces(
    max_results=100,
    return_type="list",  # Need list for merge_records
)

# Add traces to dataset
dataset.merge_records(annotated_traces)

# Optionally add manual test cases
manual_tests = [
    {
        "inputs": {"question": "Can I return an item after 45 days?"},
        "expectations": {"should_clarify": "30-day policy", "tone": "apologetic"},
    },
    {
        "inputs": {"question": "Do you ship internationally?"},
        "expectations": {"provides_alternatives": True},
    },
]
dataset.merge_records(manual_tests)
"""


def run(snippet: str) -> dict:
    namespace: dict = {}
    exec(compile(textwrap.dedent(snippet), "<reference snippet>", "exec"), namespace)
    return namespace


def test_reference_001_from_traces() -> None:
    @evaltrace.trace
    def chat_completion(message: str) -> str:
        return "Click 'Forgot Password'."

    for message in ("How do I reset my password?", "I forgot my password"):
        chat_completion(message)
    dataset = run(FROM_TRACES)["dataset"]
    assert len(dataset) == 2 and dataset.tags["environment"] == "dev"
    assert all(
        r.expectations["expected_answer"].startswith("The correct answer") for r in dataset.records
    )
    assert {r.source.source_type.value for r in dataset.records} == {"TRACE"}


def test_reference_001_from_dictionaries() -> None:
    evaltrace.set_experiment("second")  # the snippet links experiment "1"
    dataset = run(FROM_DICTS)["dataset"]
    assert dataset.experiment_ids == ["0", "1"]
    assert [r.source.source_type.value for r in dataset.records] == ["HUMAN", "HUMAN"]
    assert dataset.records[0].expectations["must_contain_steps"] is True


def test_reference_001_from_dataframe() -> None:
    dataset = run(FROM_DATAFRAME)["dataset"]
    assert len(dataset) == 3
    assert dataset.to_df()["inputs"].iloc[2] == {
        "question": "Explain model versioning",
        "domain": "technical",
    }


def test_reference_003_step_4() -> None:
    evaltrace.set_experiment("Customer Support Bot")

    @evaltrace.trace
    def answer(question: str) -> str:
        return "Full refunds within 30 days with receipt."

    answer("What is your refund policy?")
    evaltrace.log_expectation(
        trace_id=evaltrace.get_last_active_trace_id(),
        name="key_information",
        value={"must_mention": ["30 days", "receipt"], "tone": "helpful"},
    )
    dataset = run(WORKFLOW_STEP_4)["dataset"]
    frame = dataset.to_df()
    assert list(frame["source_type"]) == ["TRACE", "HUMAN", "HUMAN"]
    assert frame.iloc[0]["expectations"] == {
        "key_information": {"must_mention": ["30 days", "receipt"], "tone": "helpful"}
    }
