"""The SQL schema as SQLAlchemy Core tables (the migrations create exactly this)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from evaltrace.entities.limits import MAX_NAME_CHARS, MAX_TAG_KEY_CHARS, MAX_TAG_VALUE_CHARS

__all__ = [
    "SPAN_KEY",
    "assessments",
    "dataset_experiments",
    "dataset_records",
    "dataset_tags",
    "dataset_versions",
    "datasets",
    "evaluation_results",
    "evaluation_runs",
    "experiment_tags",
    "experiments",
    "label_schemas",
    "labeling_items",
    "labeling_reviews",
    "labeling_sessions",
    "metadata",
    "monitor_checkpoints",
    "monitor_jobs",
    "monitor_leases",
    "prompt_aliases",
    "prompt_tags",
    "prompt_version_tags",
    "prompt_versions",
    "prompts",
    "registered_scorers",
    "scorer_versions",
    "span_attributes",
    "spans",
    "trace_changes",
    "trace_metadata",
    "trace_tags",
    "traces",
]

metadata = MetaData()

experiments = Table(
    "experiments",
    metadata,
    Column("experiment_id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(MAX_NAME_CHARS), nullable=False, unique=True),
    Column("creation_time", BigInteger, nullable=False),
    Column("lifecycle_stage", String(16), nullable=False, server_default="active"),
    Column("last_update_time", BigInteger, nullable=True),
)

experiment_tags = Table(
    "experiment_tags",
    metadata,
    Column(
        "experiment_id",
        Integer,
        ForeignKey("experiments.experiment_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("key", String(MAX_NAME_CHARS), primary_key=True),
    Column("value", Text, nullable=False),
)

traces = Table(
    "traces",
    metadata,
    Column("trace_id", String(64), primary_key=True),
    Column(
        "experiment_id",
        Integer,
        ForeignKey("experiments.experiment_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("name", String(MAX_NAME_CHARS), nullable=True),
    Column("client_request_id", String(MAX_TAG_VALUE_CHARS), nullable=True),
    Column("request_time", BigInteger, nullable=False),
    # The root span's start in ns: orders traces precisely (request_time is in ms).
    Column("start_time_ns", BigInteger, nullable=False),
    Column("execution_duration", BigInteger, nullable=True),
    Column("state", String(20), nullable=False),
    Column("request_preview", Text, nullable=True),
    Column("response_preview", Text, nullable=True),
    Column("input_tokens", BigInteger, nullable=True),
    Column("output_tokens", BigInteger, nullable=True),
    Column("total_tokens", BigInteger, nullable=True),
    Column("cost_usd", Float, nullable=True),
    Index("ix_traces_experiment_start", "experiment_id", "start_time_ns", "trace_id"),
    Index("ix_traces_name", "name"),
    Index("ix_traces_client_request_id", "client_request_id"),
)


def _key_value_table(name: str) -> Table:
    return Table(
        name,
        metadata,
        Column(
            "trace_id",
            String(64),
            ForeignKey("traces.trace_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        Column("key", String(MAX_TAG_KEY_CHARS), primary_key=True),
        Column("value", String(MAX_TAG_VALUE_CHARS), nullable=False),
        Index(f"ix_{name}_key_value", "key", "value"),
    )


trace_tags = _key_value_table("trace_tags")
trace_metadata = _key_value_table("trace_metadata")

# A span's surrogate key, span_pk, grows with every span written (the store allocates it:
# Database.allocate_span_keys). Rows keyed by it land at the end of their B-trees, where rows
# keyed by random trace ids land anywhere (migration 0009: OTLP ingest wrote span attributes
# 1.8x slower that way). On SQLite the column came by ALTER TABLE, so the database does not
# enforce its NOT NULL; the store always sets it.
SPAN_KEY = "span_pk"
_SPAN_KEY_TYPE = BigInteger().with_variant(Integer, "sqlite")

spans = Table(
    "spans",
    metadata,
    Column(
        "trace_id",
        String(64),
        ForeignKey("traces.trace_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("span_id", String(16), primary_key=True),
    Column("parent_id", String(16), nullable=True),
    Column("name", String(MAX_NAME_CHARS), nullable=False),
    Column("span_type", String(100), nullable=False),
    Column("status", String(10), nullable=False),
    Column("status_message", Text, nullable=True),
    Column("start_time_ns", BigInteger, nullable=False),
    Column("end_time_ns", BigInteger, nullable=True),
    Column("duration_ns", BigInteger, nullable=True),
    Column("inputs", Text, nullable=True),
    Column("outputs", Text, nullable=True),
    Column("attributes", Text, nullable=True),
    Column("events", Text, nullable=True),
    Column(SPAN_KEY, _SPAN_KEY_TYPE, nullable=False),
    Index("ix_spans_name", "name"),
    Index("ix_spans_type_duration", "span_type", "duration_ns"),
    Index("ix_spans_span_pk", SPAN_KEY, unique=True),
)

# Scalar views of JSON values, for search: value_type is str | num | bool | null | json;
# value_text holds strings (clipped), "true"/"false", or JSON text; value_num holds numbers.
# Keyed by the span's surrogate key (no rowid on SQLite: the key is the table's B-tree).
span_attributes = Table(
    "span_attributes",
    metadata,
    Column(
        SPAN_KEY,
        _SPAN_KEY_TYPE,
        ForeignKey(f"spans.{SPAN_KEY}", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("key", String(MAX_TAG_KEY_CHARS), primary_key=True),
    Column("value_type", String(10), nullable=False),
    Column("value_text", String(MAX_TAG_VALUE_CHARS), nullable=True),
    Column("value_num", Float, nullable=True),
    # Partial (migration 0006): a row holds text or a number, and each index only the one.
    Index(
        "ix_span_attributes_key_text",
        "key",
        "value_text",
        sqlite_where=text("value_text IS NOT NULL"),
        postgresql_where=text("value_text IS NOT NULL"),
    ),
    Index(
        "ix_span_attributes_key_num",
        "key",
        "value_num",
        sqlite_where=text("value_num IS NOT NULL"),
        postgresql_where=text("value_num IS NOT NULL"),
    ),
    sqlite_with_rowid=False,
)

assessments = Table(
    "assessments",
    metadata,
    Column("assessment_id", String(40), primary_key=True),
    Column(
        "trace_id",
        String(64),
        ForeignKey("traces.trace_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("span_id", String(16), nullable=True),
    Column("name", String(MAX_TAG_KEY_CHARS), nullable=False),
    Column("kind", String(20), nullable=False),  # expectation | feedback
    Column("value_json", Text, nullable=True),
    Column("value_type", String(10), nullable=True),
    Column("value_text", String(MAX_TAG_VALUE_CHARS), nullable=True),
    Column("value_num", Float, nullable=True),
    Column("rationale", Text, nullable=True),
    Column("source_type", String(20), nullable=False),
    Column("source_id", String(MAX_TAG_KEY_CHARS), nullable=True),
    Column("metadata", Text, nullable=True),
    Column("error", Text, nullable=True),
    Column("create_time", BigInteger, nullable=False),
    Column("update_time", BigInteger, nullable=False),
    Column("valid", Boolean, nullable=False),
    Column("overrides", String(40), nullable=True),
    Index("ix_assessments_trace", "trace_id", "kind", "name"),
    Index("ix_assessments_name_text", "kind", "name", "value_text"),
)

datasets = Table(
    "datasets",
    metadata,
    Column("dataset_id", String(40), primary_key=True),
    Column("name", String(MAX_NAME_CHARS), nullable=False, unique=True),
    Column("created_time", BigInteger, nullable=False),
    Column("last_update_time", BigInteger, nullable=False),
    Column("created_by", String(MAX_TAG_KEY_CHARS), nullable=True),
    Column("last_updated_by", String(MAX_TAG_KEY_CHARS), nullable=True),
    Column("version", Integer, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("schema", Text, nullable=False),
    Column("profile", Text, nullable=False),
)

dataset_tags = Table(
    "dataset_tags",
    metadata,
    Column(
        "dataset_id",
        String(40),
        ForeignKey("datasets.dataset_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("key", String(MAX_TAG_KEY_CHARS), primary_key=True),
    Column("value", String(MAX_TAG_VALUE_CHARS), nullable=False),
    Index("ix_dataset_tags_key_value", "key", "value"),
)

dataset_experiments = Table(
    "dataset_experiments",
    metadata,
    Column(
        "dataset_id",
        String(40),
        ForeignKey("datasets.dataset_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("experiment_id", Integer, primary_key=True),
)

dataset_versions = Table(
    "dataset_versions",
    metadata,
    Column(
        "dataset_id",
        String(40),
        ForeignKey("datasets.dataset_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("version", Integer, primary_key=True),
    Column("created_time", BigInteger, nullable=False),
    Column("created_by", String(MAX_TAG_KEY_CHARS), nullable=True),
    Column("inserted", Integer, nullable=False),
    Column("updated", Integer, nullable=False),
    Column("deleted", Integer, nullable=False),
    Column("record_count", Integer, nullable=False),
    Column("digest", String(64), nullable=False),
)

# One row per revision of a record; see migration 0004 for how versions are read.
dataset_records = Table(
    "dataset_records",
    metadata,
    Column("revision_id", String(40), primary_key=True),
    Column(
        "dataset_id",
        String(40),
        ForeignKey("datasets.dataset_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("dataset_record_id", String(40), nullable=False),
    Column("record_id", String(MAX_TAG_KEY_CHARS), nullable=False),
    # Order of first insertion, kept by later revisions: records read back in merge order.
    Column("ordinal", BigInteger, nullable=False),
    Column("version_added", Integer, nullable=False),
    Column("version_removed", Integer, nullable=True),
    Column("content_hash", String(64), nullable=False),
    Column("inputs", Text, nullable=False),
    Column("outputs", Text, nullable=True),
    Column("expectations", Text, nullable=False),
    Column("tags", Text, nullable=False),
    Column("source_type", String(20), nullable=False),
    Column("source", Text, nullable=False),
    Column("created_time", BigInteger, nullable=False),
    Column("last_update_time", BigInteger, nullable=False),
    Column("created_by", String(MAX_TAG_KEY_CHARS), nullable=True),
    Column("last_updated_by", String(MAX_TAG_KEY_CHARS), nullable=True),
    Index("ix_dataset_records_live", "dataset_id", "version_removed", "record_id"),
    Index("ix_dataset_records_added", "dataset_id", "version_added"),
)

evaluation_runs = Table(
    "evaluation_runs",
    metadata,
    Column("run_id", String(40), primary_key=True),
    Column("name", String(MAX_NAME_CHARS), nullable=False),
    Column("experiment_id", Integer, nullable=False),
    Column("model_id", String(MAX_NAME_CHARS), nullable=True),
    Column("dataset_id", String(40), nullable=True),
    Column("dataset_version", Integer, nullable=True),
    Column("dataset_digest", String(64), nullable=True),
    Column("row_count", Integer, nullable=False),
    Column("scorers", Text, nullable=False),
    Column("metrics", Text, nullable=False),
    Column("start_time", BigInteger, nullable=False),
    Column("end_time", BigInteger, nullable=False),
    Index("ix_evaluation_runs_experiment", "experiment_id", "start_time"),
)

evaluation_results = Table(
    "evaluation_results",
    metadata,
    Column(
        "run_id",
        String(40),
        ForeignKey("evaluation_runs.run_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("row_index", Integer, primary_key=True),
    Column("record_key", String(MAX_TAG_KEY_CHARS), nullable=False),
    Column("trace_id", String(64), nullable=True),
    Column("inputs", Text, nullable=False),
    Column("outputs", Text, nullable=True),
    Column("expectations", Text, nullable=False),
    Column("error", Text, nullable=True),
    Column("scores", Text, nullable=False),  # {scorer: {value, score, rationale, error}}
)

label_schemas = Table(
    "label_schemas",
    metadata,
    Column("name", String(MAX_TAG_KEY_CHARS), primary_key=True),
    Column("definition", Text, nullable=False),  # LabelSchema.to_dict() as JSON
    Column("created_time", BigInteger, nullable=False),
)

labeling_sessions = Table(
    "labeling_sessions",
    metadata,
    Column("session_id", String(40), primary_key=True),
    Column("name", String(MAX_NAME_CHARS), nullable=False),
    Column("experiment_id", Integer, nullable=False),
    Column("assigned_users", Text, nullable=False),  # JSON list
    Column("label_schemas", Text, nullable=False),  # JSON list of schema names
    Column("labels_per_item", Integer, nullable=False),
    Column("created_time", BigInteger, nullable=False),
    Column("created_by", String(MAX_TAG_KEY_CHARS), nullable=True),
)

# One row per trace in a session; state: pending | in_progress | completed | skipped.
labeling_items = Table(
    "labeling_items",
    metadata,
    Column("item_id", String(40), primary_key=True),
    Column(
        "session_id",
        String(40),
        ForeignKey("labeling_sessions.session_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column(
        "trace_id", String(64), ForeignKey("traces.trace_id", ondelete="CASCADE"), nullable=False
    ),
    Column("ordinal", BigInteger, nullable=False),
    Column("state", String(20), nullable=False),
    Column("labeled_count", Integer, nullable=False),
    UniqueConstraint("session_id", "trace_id", name="uq_labeling_items_session_trace"),
    Index("ix_labeling_items_session_ordinal", "session_id", "ordinal"),
)

# One row per (item, reviewer); state: claimed (until expires_at) | labeled | skipped.
labeling_reviews = Table(
    "labeling_reviews",
    metadata,
    Column(
        "item_id",
        String(40),
        ForeignKey("labeling_items.item_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("reviewer", String(MAX_TAG_KEY_CHARS), primary_key=True),
    Column("state", String(20), nullable=False),
    Column("claimed_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Index("ix_labeling_reviews_reviewer", "reviewer", "state"),
)

# -- production monitoring ---------------------------------------------------------------------

# One row per trace written or completed (its root arrived): what the monitor worker reads, in
# (commit_xid, change_seq) order. On SQLite writers are serialized, so change_seq alone is
# commit order (commit_xid is 0). On PostgreSQL a sequence is not commit order; commit_xid is
# the writing transaction's id (a column default), and the worker reads only rows written by
# transactions older than every one still running, so a late commit is never skipped.
trace_changes = Table(
    "trace_changes",
    metadata,
    Column("change_seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("commit_xid", BigInteger, nullable=False),
    Column("experiment_id", Integer, nullable=False),
    Column(
        "trace_id",
        String(64),
        ForeignKey("traces.trace_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Index("ix_trace_changes_position", "experiment_id", "commit_xid", "change_seq"),
    Index("ix_trace_changes_trace", "trace_id"),
    sqlite_autoincrement=True,
)

# A registered scorer of an experiment: its current version and how it samples live traffic.
# state: active | stopped.
registered_scorers = Table(
    "registered_scorers",
    metadata,
    Column(
        "experiment_id",
        Integer,
        ForeignKey("experiments.experiment_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("name", String(MAX_TAG_KEY_CHARS), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("state", String(10), nullable=False),
    Column("sample_rate", Float, nullable=False),
    Column("filter_string", Text, nullable=True),
    Column("max_per_hour", Integer, nullable=True),
    Column("max_concurrency", Integer, nullable=True),
    Column("created_time", BigInteger, nullable=False),
    Column("updated_time", BigInteger, nullable=False),
)

# Every version of a registered scorer: how the worker loads it (kind: import | source |
# class | judge; definition: JSON).
scorer_versions = Table(
    "scorer_versions",
    metadata,
    Column("experiment_id", Integer, primary_key=True),
    Column("name", String(MAX_TAG_KEY_CHARS), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("kind", String(10), nullable=False),
    Column("definition", Text, nullable=False),
    Column("created_time", BigInteger, nullable=False),
    ForeignKeyConstraint(
        ["experiment_id", "name"],
        ["registered_scorers.experiment_id", "registered_scorers.name"],
        ondelete="CASCADE",
    ),
)

# One row per (trace, scorer version) the worker looked at, with its outcome. state: waiting
# (trace in progress) | pending | claimed | scored | error | sampled_out | filtered_out |
# stopped. A claim is (claim_token, claim_expires): finishing checks the token, so a claim
# that expired and was retaken is never finished twice.
monitor_jobs = Table(
    "monitor_jobs",
    metadata,
    Column(
        "trace_id",
        String(64),
        ForeignKey("traces.trace_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("scorer_name", String(MAX_TAG_KEY_CHARS), primary_key=True),
    Column("scorer_version", Integer, primary_key=True),
    Column("experiment_id", Integer, nullable=False),
    Column("state", String(20), nullable=False),
    Column("origin", String(10), nullable=False),  # feed | backfill
    Column("trace_time", BigInteger, nullable=False),
    Column("created_time", BigInteger, nullable=False),
    Column("not_before", BigInteger, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("claim_token", String(40), nullable=True),
    Column("claim_expires", BigInteger, nullable=True),
    Column("finished_time", BigInteger, nullable=True),
    Column("value_num", Float, nullable=True),
    Column("error", Text, nullable=True),
    Index("ix_monitor_jobs_queue", "experiment_id", "state", "scorer_name", "created_time"),
    Index("ix_monitor_jobs_results", "experiment_id", "scorer_name", "trace_time"),
)

# How far the worker has read trace_changes, per experiment.
monitor_checkpoints = Table(
    "monitor_checkpoints",
    metadata,
    Column(
        "experiment_id",
        Integer,
        ForeignKey("experiments.experiment_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("commit_xid", BigInteger, nullable=False),
    Column("change_seq", BigInteger, nullable=False),
    Column("updated_time", BigInteger, nullable=False),
)

# On SQLite one monitor worker runs at a time: it holds this lease, renewed as it works.
monitor_leases = Table(
    "monitor_leases",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("holder", String(250), nullable=False),
    Column("expires", BigInteger, nullable=False),
)

# -- the prompt registry (migration 0011) -------------------------------------------------------

prompts = Table(
    "prompts",
    metadata,
    Column("name", String(MAX_NAME_CHARS), primary_key=True),
    Column("created_time", BigInteger, nullable=False),
    Column("last_update_time", BigInteger, nullable=False),
)

prompt_tags = Table(
    "prompt_tags",
    metadata,
    Column(
        "name",
        String(MAX_NAME_CHARS),
        ForeignKey("prompts.name", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("key", String(MAX_NAME_CHARS), primary_key=True),
    Column("value", Text, nullable=False),
)

prompt_versions = Table(
    "prompt_versions",
    metadata,
    Column(
        "name",
        String(MAX_NAME_CHARS),
        ForeignKey("prompts.name", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("version", Integer, primary_key=True),
    Column("template", Text, nullable=False),  # JSON: a string or a message list
    Column("commit_message", Text, nullable=True),
    Column("response_format", Text, nullable=True),  # JSON
    Column("model_config", Text, nullable=True),  # JSON
    Column("created_time", BigInteger, nullable=False),
    Column("created_by", String(MAX_NAME_CHARS), nullable=True),
)

prompt_version_tags = Table(
    "prompt_version_tags",
    metadata,
    Column("name", String(MAX_NAME_CHARS), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("key", String(MAX_NAME_CHARS), primary_key=True),
    Column("value", Text, nullable=False),
    ForeignKeyConstraint(
        ["name", "version"],
        ["prompt_versions.name", "prompt_versions.version"],
        ondelete="CASCADE",
    ),
)

prompt_aliases = Table(
    "prompt_aliases",
    metadata,
    Column(
        "name",
        String(MAX_NAME_CHARS),
        ForeignKey("prompts.name", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("alias", String(MAX_NAME_CHARS), primary_key=True),
    Column("version", Integer, nullable=False),
)
