"""Evaluation datasets on SQLite and PostgreSQL: sources, merge semantics, versions, files."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pandas as pd
import pytest

import evaltrace
from evaltrace.datasets import (
    create_dataset,
    delete_dataset,
    delete_dataset_tag,
    get_dataset,
    read_records,
    search_datasets,
    set_dataset_tags,
)
from evaltrace.entities import DatasetRecordSourceType as Source
from evaltrace.exceptions import (
    DatasetNotFoundError,
    ExperimentNotFoundError,
    InvalidArgumentError,
)
from tests.conftest import ALL_STORE_KINDS

STORE_KINDS = ALL_STORE_KINDS  # every test asking for store_uri runs over HTTP too


@evaltrace.trace
def answer(question: str) -> str:
    return f"A: {question}"


def traced(question: str, expected: str | None = None) -> str:
    answer(question)
    trace_id = evaltrace.get_last_active_trace_id()
    assert trace_id is not None
    if expected is not None:
        evaltrace.log_expectation(trace_id=trace_id, name="expected_answer", value=expected)
    return trace_id


def test_records_from_traces_keep_the_link_and_only_expectations(store_uri: str) -> None:
    evaltrace.configure(user="reviewer")
    trace_id = traced("refund?", expected="30 days")
    evaltrace.log_feedback(trace_id=trace_id, name="correct", value=False)  # not ground truth
    old = evaltrace.log_expectation(trace_id=trace_id, name="tone", value="curt")
    evaltrace.update_assessment(trace_id, old.assessment_id, value="helpful")
    trace = evaltrace.get_trace(trace_id)
    record = trace.to_dataset_record()
    assert record.inputs == {"question": "refund?"} and record.outputs == "A: refund?"
    assert record.expectations == {"expected_answer": "30 days", "tone": "helpful"}
    assert record.source.source_type is Source.TRACE and record.source.source_id == trace_id
    sources = record.source.source_data["expectation_sources"]
    assert sources["expected_answer"] == {"source_type": "HUMAN", "source_id": "reviewer"}

    ds = create_dataset("from_traces", experiment_id=["0"], tags={"team": "support"})
    ds.merge_records(evaltrace.search_traces(return_type="list"))
    assert len(ds) == 1 and ds.version == 1
    row = ds.to_df().iloc[0]
    assert (row["source_type"], row["source_id"]) == ("TRACE", trace_id)
    assert row["expectations"] == {"expected_answer": "30 days", "tone": "helpful"}
    # The search_traces DataFrame works too, and merging the same trace again changes nothing.
    ds.merge_records(evaltrace.search_traces())
    assert ds.version == 1


def test_sources_inferred_from_dicts_and_explicit_sources_win(store_uri: str) -> None:
    ds = create_dataset("sources")
    ds.merge_records(
        [
            {"inputs": {"q": "1"}, "expectations": {"a": 1}},
            {"inputs": {"q": "2"}, "expectations": {}},
            {"inputs": {"q": "3"}},
            {
                "inputs": {"q": "4"},
                "source": {"source_type": "DOCUMENT", "source_data": {"doc_uri": "s3://spec.pdf"}},
            },
            {"inputs": {"q": "5"}, "expectations": {"a": 1}, "source": {"source_type": "CODE"}},
        ]
    )
    frame = ds.to_df()
    assert list(frame["source_type"]) == ["HUMAN", "CODE", "CODE", "DOCUMENT", "CODE"]
    assert frame.iloc[3]["source_id"] == "s3://spec.pdf"
    assert ds.profile == {"record_count": 5, "source_types": {"HUMAN": 1, "CODE": 3, "DOCUMENT": 1}}
    with pytest.raises(InvalidArgumentError, match="record 0: a DOCUMENT source needs"):
        ds.merge_records([{"inputs": {"q": "6"}, "source": {"source_type": "DOCUMENT"}}])


def test_merge_semantics_dedupe_and_versions(store_uri: str) -> None:
    ds = create_dataset("merge")
    ds.merge_records([{"inputs": {"q": "a"}, "expectations": {"x": 1}, "tags": {"t": "1"}}])
    first = ds.records[0]
    digest_v1 = ds.digest
    ds.merge_records(
        [
            {
                "inputs": {"q": "a"},
                "outputs": "out",
                "expectations": {"y": 2, "x": 3},
                "tags": {"u": "2"},
                "source": {"source_type": "CODE"},
            }
        ]
    )
    (merged,) = ds.records
    assert merged.dataset_record_id == first.dataset_record_id
    assert merged.expectations == {"x": 3, "y": 2} and merged.tags == {"t": "1", "u": "2"}
    assert merged.outputs == "out"
    assert merged.source.source_type is Source.HUMAN  # the first source is kept
    assert (
        merged.created_time == first.created_time
        and merged.last_update_time >= first.last_update_time
    )
    assert ds.version == 2
    ds.merge_records([{"inputs": {"q": "a"}, "expectations": {"y": 2}}])  # nothing new
    assert ds.version == 2
    # record_id is the key when given; within a batch later records merge into earlier ones.
    ds.merge_records(
        [
            {"record_id": "r1", "inputs": {"q": "b"}, "expectations": {"e": 1}},
            {"row_id": "r1", "inputs": {"q": "ignored"}, "expectations": {"f": 2}},
        ]
    )
    by_key = {r.record_id: r for r in ds.records}
    assert by_key["r1"].inputs == {"q": "b"} and by_key["r1"].expectations == {"e": 1, "f": 2}
    versions = ds.list_versions()
    assert [(v.version, v.inserted, v.updated, v.deleted, v.record_count) for v in versions] == [
        (1, 1, 0, 0, 1),
        (2, 0, 1, 0, 1),
        (3, 1, 0, 0, 2),
    ]
    # Old versions stay readable exactly; same content means same digest.
    v1 = get_dataset("merge", version=1)
    assert [r.expectations for r in v1.records] == [{"x": 1}] and v1.digest == digest_v1
    with pytest.raises(InvalidArgumentError, match="pinned to version 1"):
        v1.merge_records([{"inputs": {"q": "z"}}])
    assert ds.delete_records([by_key["r1"].dataset_record_id]) == 1
    assert ds.version == 4 and len(ds) == 1
    assert get_dataset("merge", version=3).to_df().shape[0] == 2
    twin = create_dataset("twin")
    twin.merge_records(
        [
            {
                "inputs": {"q": "a"},
                "outputs": "out",
                "expectations": {"x": 3, "y": 2},
                "tags": {"t": "1", "u": "2"},
            }
        ]
    )
    assert twin.digest == ds.digest  # same records, same digest, however they were built
    with pytest.raises(DatasetNotFoundError, match="versions 0 to 4"):
        get_dataset("merge", version=9)


def test_bad_records_are_typed_errors_and_write_nothing(store_uri: str) -> None:
    ds = create_dataset("strict")
    cases = [
        (
            [{"inputs": {"q": 1}}, {"expected": {"a": 1}, "inputs": {"q": 2}}],
            "unknown field 'expected' in record 1; did you mean 'expectations'?",
        ),
        (
            [{"inputs": {"q": 1}, "expectation": {}}],
            "unknown field 'expectation' in record 0; did you mean 'expectations'?",
        ),
        ([{"input": {"q": 1}}], "unknown field 'input' in record 0; did you mean 'inputs'?"),
        ([{"inputs": "question?"}], "record 0: inputs must be a non-empty dict, got str"),
        ([{"inputs": {"q": {1, 2}}}], "record 0: inputs must be a JSON value"),
        ([{"inputs": {"q": 1}, "expectations": [1]}], "record 0: expectations must be a dict"),
        ([42], "record 0 must be a Trace or a dict, got int"),
    ]
    for records, message in cases:
        with pytest.raises(InvalidArgumentError) as caught:
            ds.merge_records(records)
        assert message in str(caught.value)
    assert len(get_dataset("strict")) == 0 and get_dataset("strict").version == 0


def test_dataframes_with_dict_and_flattened_columns(store_uri: str) -> None:
    ds = create_dataset("frames")
    ds.merge_records(pd.DataFrame([{"inputs": {"q": "a"}, "expectations": {"e": "A"}}]))
    ds.merge_records(
        pd.DataFrame(
            [
                {"inputs.question": "b", "inputs.lang": "en", "expectations.expected_answer": "B"},
                {"inputs.question": "c", "inputs.lang": None, "expectations.expected_answer": "C"},
            ]
        )
    )
    inputs = [r.inputs for r in ds.records]
    assert inputs == [{"q": "a"}, {"question": "b", "lang": "en"}, {"question": "c"}]
    assert ds.records[2].expectations == {"expected_answer": "C"}


def test_files_round_trip(store_uri: str, tmp_path: Path) -> None:
    ds = create_dataset("files")
    ds.merge_records(
        [
            {
                "record_id": "a",
                "inputs": {"q": 'x, "quoted"', "n": 1},
                "outputs": {"o": [1, 2]},
                "expectations": {"e": True},
                "tags": {"t": "1"},
            },
            {
                "inputs": {"q": "y"},
                "source": {"source_type": "DOCUMENT", "source_data": {"doc_uri": "d.md"}},
            },
        ]
    )
    for suffix in ("jsonl", "csv", "json"):
        path = ds.export(tmp_path / f"out.{suffix}")
        copy = create_dataset(f"copy_{suffix}")
        copy.merge_records(path)
        assert [
            r.to_dict()
            | {
                "dataset_record_id": "",
                "created_time": 0,
                "last_update_time": 0,
                "created_by": None,
                "last_updated_by": None,
            }
            for r in copy.records
        ] == [
            r.to_dict()
            | {
                "dataset_record_id": "",
                "created_time": 0,
                "last_update_time": 0,
                "created_by": None,
                "last_updated_by": None,
            }
            for r in ds.records
        ]
        assert copy.digest == ds.digest
    dotted = tmp_path / "dotted.csv"
    dotted.write_text(
        'inputs.question,inputs.meta,expectations.expected_answer\nhi,"{""a"": 1}",hello\n'
    )
    assert read_records(dotted) == [
        {
            "inputs": {"question": "hi", "meta": {"a": 1}},
            "expectations": {"expected_answer": "hello"},
        }
    ]
    with pytest.raises(InvalidArgumentError, match="use .csv, .json or .jsonl"):
        read_records(tmp_path / "data.xml")


# Files merge_records could not read, each with what the typed error must say (file:line).
BAD_FILES = {
    "unterminated.csv": (b'inputs.q\n"never closed\n', r"unterminated\.csv:\d+: not valid CSV"),
    "nul.csv": (b"inputs.q\nhi\x00there\n", r"nul\.csv:2: a NUL character"),
    "wide.csv": (b"inputs.q\nhi,extra,more\n", r"wide\.csv:2: 3 fields, but the header names 1"),
    "random.jsonl": (bytes(range(256)) * 4, r"random\.jsonl:\d+: not UTF-8 text"),
    "deep.json": (b"[" * 100_000, r"deep\.json:1: JSON nested too deeply"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_a_file_that_cannot_be_read_is_a_typed_error_naming_where(
    tmp_path: Path, name: str
) -> None:
    """AttributeError, UnicodeDecodeError and RecursionError escaped before."""
    content, message = BAD_FILES[name]
    path = tmp_path / name
    path.write_bytes(content)
    dataset = create_dataset("files")
    with pytest.raises(InvalidArgumentError, match=message):
        dataset.merge_records(str(path))
    assert dataset.records == []


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16"])
def test_utf8_with_or_without_bom_and_utf16_with_bom_load(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "data.csv"
    path.write_text("inputs.question,expectations.answer\ncafé?,oui\n", encoding=encoding)
    assert read_records(path) == [
        {"inputs": {"question": "café?"}, "expectations": {"answer": "oui"}}
    ]


def test_a_link_to_an_experiment_not_made_yet_is_kept_with_a_warning(
    store_uri: str, caplog: pytest.LogCaptureFixture
) -> None:
    """reference/001 links experiments ["0", "1"] on a fresh store: it runs as written."""
    with caplog.at_level("WARNING", logger="evaltrace"):
        later = create_dataset("regression_test_suite", experiment_id=["0", "1"])
    assert later.experiment_ids == ["0", "1"]
    assert "experiment '1' does not exist (yet); linked anyway" in caplog.text
    assert [d.name for d in search_datasets(experiment_ids=["1"])] == ["regression_test_suite"]


def test_dataset_management_and_search(store_uri: str) -> None:
    evaltrace.set_experiment("bots")
    support = create_dataset("support_regression", tags={"team": "support"})
    create_dataset("support_smoke", experiment_id=["0"], tags={"team": "support", "stage": "smoke"})
    create_dataset("billing", experiment_id="0", tags={"team": "billing"})
    with pytest.raises(InvalidArgumentError, match="already exists"):
        create_dataset("billing")
    with pytest.raises(ExperimentNotFoundError):
        create_dataset("nowhere", experiment_id=["not-an-id"])
    assert get_dataset("support_regression").dataset_id == support.dataset_id
    assert get_dataset(dataset_id=support.dataset_id).name == "support_regression"
    assert support.experiment_ids == [evaltrace.get_experiment_by_name("bots").experiment_id]
    names = lambda found: sorted(d.name for d in found)  # noqa: E731
    assert names(
        search_datasets(filter_string="name LIKE 'support%' AND tags.team = 'support'")
    ) == [
        "support_regression",
        "support_smoke",
    ]
    assert names(search_datasets(filter_string="tags.stage IS NULL OR name = 'billing'")) == [
        "billing",
        "support_regression",
    ]
    assert names(search_datasets(experiment_ids=["0"])) == ["billing", "support_smoke"]
    assert [d.name for d in search_datasets(order_by=["name DESC"], max_results=2)] == [
        "support_smoke",
        "support_regression",
    ]
    with pytest.raises(evaltrace.exceptions.InvalidFilterError, match="unknown key 'span.name'"):
        search_datasets(filter_string="span.name = 'x'")
    set_dataset_tags(dataset_id=support.dataset_id, tags={"env": "dev"})
    delete_dataset_tag(dataset_id=support.dataset_id, key="team")
    assert get_dataset("support_regression").tags == {"env": "dev"}
    delete_dataset(name="billing")
    with pytest.raises(DatasetNotFoundError):
        get_dataset("billing")


def _merge_in_process(args: tuple[str, int]) -> None:
    uri, worker = args
    evaltrace.set_tracking_uri(uri)
    ds = get_dataset("shared")
    for batch in range(5):
        ds.merge_records([{"inputs": {"w": worker, "b": batch, "i": i}} for i in range(20)])


def test_concurrent_merges_lose_nothing(store_uri: str) -> None:
    create_dataset("shared")
    with multiprocessing.get_context("spawn").Pool(3) as pool:
        pool.map(_merge_in_process, [(store_uri, w) for w in range(3)])
    ds = get_dataset("shared")
    assert len(ds) == 300 and ds.version == 15
    assert sum(v.inserted for v in ds.list_versions()) == 300
    assert json.loads(json.dumps(ds.profile)) == {
        "record_count": 300,
        "source_types": {"CODE": 300},
    }


def test_integers_past_64_bits_are_kept_exactly(store_uri: str) -> None:
    ds = create_dataset("big-numbers")
    ds.merge_records([{"inputs": {"id": 2**70}, "expectations": {"min": -(2**63) - 1}}])
    (record,) = get_dataset(name="big-numbers").records
    assert record.inputs == {"id": 2**70} and record.expectations == {"min": -(2**63) - 1}
    assert type(record.inputs["id"]) is int


def test_traces_without_spans_or_inputs_are_refused_not_merged_as_empty_records(
    store_uri: str,
) -> None:
    @evaltrace.trace
    def answer(question: str) -> str:
        return "ok"

    @evaltrace.trace
    def no_arguments() -> str:
        return "ok"

    answer("q")
    no_arguments()
    evaltrace.flush()
    dataset = create_dataset("checked")
    summaries = evaltrace.search_traces(include_spans=False, return_type="list")
    with pytest.raises(InvalidArgumentError, match=r"has no spans: read it with its spans"):
        dataset.merge_records(summaries)
    full = evaltrace.search_traces(return_type="list")
    with pytest.raises(InvalidArgumentError, match="its root span has no inputs"):
        dataset.merge_records(full)
    assert get_dataset("checked").version == 0  # nothing merged
    dataset.merge_records([t for t in full if t.data.spans[0].name == "answer"])
    assert [r.inputs for r in get_dataset("checked").records] == [{"question": "q"}]


def _last_stored_trace() -> evaltrace.Trace:
    evaltrace.flush()
    return evaltrace.get_trace(evaltrace.get_last_active_trace_id())


def test_one_long_argument_is_cut_and_the_inputs_stay_a_dict() -> None:
    """rag(question, "x" * 1_100_000) stored its whole inputs as one cut JSON *string*, and
    merge_records([trace]) then made a record of {"inputs": "<that string>"}."""

    @evaltrace.trace
    def rag(question: str, context: str) -> str:
        return "answer"

    rag("What is the refund window?", "x" * 1_100_000)
    trace = _last_stored_trace()
    inputs = trace.data.spans[0].inputs
    assert inputs["question"] == "What is the refund window?"
    assert inputs["context"].endswith(" characters]") and len(inputs["context"]) < 1_000_000
    dataset = evaltrace.datasets.create_dataset("long")
    dataset.merge_records([trace])
    assert dataset.records[0].inputs["question"] == "What is the refund window?"


def test_a_trace_whose_inputs_are_not_a_dict_is_refused_by_merge_records() -> None:
    with evaltrace.start_span("raw") as span:
        span.set_inputs("just a string")
        span.set_outputs("ok")
    trace = _last_stored_trace()
    dataset = evaltrace.datasets.create_dataset("raw")
    with pytest.raises(evaltrace.exceptions.InvalidArgumentError, match="not a dict"):
        dataset.merge_records([trace])
    assert dataset.records == []
