"""Evaluation datasets fed from production: records from traces, dicts, DataFrames and files."""

from evaltrace.datasets.api import (
    create_dataset,
    delete_dataset,
    delete_dataset_tag,
    get_dataset,
    search_datasets,
    set_dataset_tags,
)
from evaltrace.datasets.dataset import EvaluationDataset
from evaltrace.datasets.files import read_records
from evaltrace.datasets.validate import Finding, ValidationReport, validate

__all__ = [
    "EvaluationDataset",
    "Finding",
    "ValidationReport",
    "create_dataset",
    "delete_dataset",
    "delete_dataset_tag",
    "get_dataset",
    "read_records",
    "search_datasets",
    "set_dataset_tags",
    "validate",
]
