"""datasets.validate: findings that name the record and the field."""

from __future__ import annotations

import pandas as pd
import pytest

from evaltrace.datasets import create_dataset, validate
from evaltrace.exceptions import DatasetValidationError


def predict(question: str, context: str = "") -> str:
    return question


ROWS = [
    {
        "record_id": "r1",
        "inputs": {"question": "a"},
        "expectations": {
            "expected_response": "A",
            "bucket": "agg",
            "journey_id": "j1",
            "split": "train",
        },
    },
    {
        "record_id": "r2",
        "inputs": {"question": "b", "extra": 1},
        "expectations": {
            "expected_response": "",
            "bucket": "agg",
            "journey_id": "j1",
            "split": "train",
        },
    },
    {
        "record_id": "r3",
        "inputs": {"question": "c"},
        "expectations": {
            "expected_response": None,
            "bucket": "rank",
            "journey_id": "j2",
            "split": "regression",
        },
    },
    {
        "record_id": "r1",
        "inputs": {"question": "d"},
        "expectations": {"bucket": "agg", "split": "gold"},
    },
    {"inputs": {"question": "e"}, "outputs": "E", "trace": "tr-1"},
]


def test_findings_name_record_and_field() -> None:
    report = validate(
        ROWS,
        predict_fn=predict,
        required_fields=["expected_response", "bucket"],
        min_rows=10,
        per_bucket_min_rows=2,
        buckets=["agg", "rank", "edge_case"],
        per_journey_min_rows=1,
        journeys=["j1", "j2", "j3"],
    )
    assert not report.ok
    found = {(f.check, f.record, f.field) for f in report.findings}
    assert ("predict_fn", 1, "inputs") in found  # 'extra' is not a parameter
    assert ("required_field", 1, "expected_response") in found  # empty outside regression
    assert ("required_field", 2, "expected_response") not in found  # regression may be empty
    assert ("required_field", 3, "expected_response") in found  # missing
    assert ("required_field", 4, "bucket") in found
    assert ("duplicate", 3, "record_id") in found
    assert ("shape", 4, "trace") in found
    assert ("min_rows", None, None) in found
    messages = [f.message for f in report.findings if f.check in ("bucket", "journey")]
    assert "bucket 'rank' has 1 record(s), fewer than 2" in messages
    assert "bucket 'edge_case' has 0 record(s), fewer than 2" in messages
    assert "journey_id 'j3' has 0 record(s), fewer than 1" in messages
    with pytest.raises(DatasetValidationError) as caught:
        report.raise_if_failed()
    assert caught.value.report is report and "record 1" in str(caught.value)


def test_clean_dataset_passes_in_every_form() -> None:
    rows = [
        {"inputs": {"question": q}, "expectations": {"expected_response": q.upper()}} for q in "abc"
    ]
    assert validate(rows, predict_fn=predict, required_fields=["expected_response"], min_rows=3).ok
    assert validate(pd.DataFrame(rows), predict_fn=predict).ok
    dataset = create_dataset("clean")
    dataset.merge_records(rows)
    report = validate(dataset, predict_fn=predict, required_fields=["expected_response"])
    assert report.ok and report.row_count == 3
    report.raise_if_failed()
