"""The store's calls as the server's versioned JSON API: one route per call, the scope a token
needs for it, and whether a call whose answer was lost may be sent again.

The HTTP store (http_store.py) sends each call to its route; the server (server/store_api.py)
answers each route by making the same call on its own store. One table, so the two cannot
drift: a test checks it against the facet protocols.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ADMIN",
    "ANNOTATE",
    "API_PREFIX",
    "CALLS",
    "INGEST",
    "READ",
    "SCOPES",
    "StoreCall",
    "call_path",
]

API_PREFIX = "/api/2/store"

# The scopes a token may hold. ``admin`` may do everything; ``annotate`` also reads.
SCOPES = ("ingest", "read", "annotate", "admin")
INGEST = frozenset({"ingest", "admin"})
READ = frozenset({"read", "annotate", "admin"})
ANNOTATE = frozenset({"annotate", "admin"})
ADMIN = frozenset({"admin"})
ANY = frozenset(SCOPES)  # experiment lookups: every client resolves its experiment


@dataclass(frozen=True, slots=True)
class StoreCall:
    facet: str | None  # None: a method of the store itself
    method: str
    scopes: frozenset[str]  # a token holding any of these may make the call
    # Safe to send again when the answer was lost (a read, or a write that is idempotent).
    repeatable: bool

    @property
    def name(self) -> str:
        return self.method if self.facet is None else f"{self.facet}.{self.method}"


def _calls(
    facet: str | None, scopes: frozenset[str], repeatable: bool, *methods: str
) -> list[StoreCall]:
    return [StoreCall(facet, method, scopes, repeatable) for method in methods]


CALLS: dict[str, StoreCall] = {
    call.name: call
    for call in [
        # Traces: what an application sends (idempotent: a trace stored twice is stored once).
        *_calls(None, INGEST, True, "write_traces", "append_spans", "merge_traces"),
        *_calls(None, INGEST, True, "stored_experiments"),
        *_calls(None, ANY, True, "get_or_create_experiment", "get_experiment"),
        *_calls(None, ANY, True, "get_experiment_by_name"),
        *_calls(None, READ, True, "get_trace", "get_traces", "get_trace_info", "search_traces"),
        *_calls(None, READ, True, "get_assessment", "assessment_history"),
        *_calls(None, ANNOTATE, True, "set_trace_tag", "delete_trace_tag"),
        *_calls(None, ANNOTATE, False, "log_assessments", "supersede_assessment"),
        *_calls(None, ANNOTATE, True, "replace_assessment"),
        *_calls(None, ANNOTATE, False, "delete_assessment"),
        # Browsing and deleting.
        *_calls("browse", READ, True, "experiments", "outline", "trace_names", "span"),
        *_calls("browse", READ, True, "sessions", "schema_revision", "size_bytes"),
        *_calls("browse", READ, True, "row_counts"),
        *_calls("browse", ADMIN, False, "delete_traces"),
        # Experiments.
        *_calls("experiments", READ, True, "search"),
        *_calls("experiments", ADMIN, False, "create"),
        *_calls("experiments", ADMIN, True, "rename", "set_lifecycle", "set_tags", "delete_tag"),
        # The prompt registry.
        *_calls("prompts", READ, True, "get", "by_alias", "versions", "search"),
        *_calls("prompts", ANNOTATE, False, "register"),
        *_calls("prompts", ANNOTATE, True, "set_alias", "set_version_tag"),
        *_calls("prompts", ANNOTATE, False, "delete_alias"),
        # Datasets.
        *_calls("datasets", READ, True, "get", "search", "records", "versions"),
        *_calls("datasets", READ, True, "version_info", "count"),
        *_calls("datasets", ANNOTATE, True, "set_tags", "delete_tag"),
        *_calls("datasets", ANNOTATE, False, "create", "merge", "delete_records"),
        *_calls("datasets", ADMIN, False, "delete"),
        # Evaluation runs.
        *_calls("runs", READ, True, "get", "search"),
        *_calls("runs", ANNOTATE, False, "save"),
        # Labeling.
        *_calls("labeling", READ, True, "get_schema", "get_session", "sessions", "items"),
        *_calls("labeling", READ, True, "progress", "item_for"),
        *_calls("labeling", ANNOTATE, False, "save_schema", "delete_schema", "create_session"),
        *_calls("labeling", ANNOTATE, False, "set_assigned_users", "add_items", "claim_next"),
        *_calls("labeling", ANNOTATE, False, "finish", "record_labels"),
        *_calls("labeling", ADMIN, False, "delete_session"),
        # Registered scorers (the monitor worker runs beside the database, in the server).
        *_calls("monitors", READ, True, "now_ms", "get", "registered", "monitored_experiments"),
        *_calls("monitors", READ, True, "status", "score_buckets", "judged_traces"),
        *_calls("monitors", READ, True, "attempts", "outcomes"),
        *_calls("monitors", ADMIN, False, "register", "set_sampling", "delete", "backfill"),
        *_calls("monitors", ADMIN, False, "enqueue", "claim", "finish", "take_lease"),
        *_calls("monitors", ADMIN, False, "release_lease"),
    ]
}


def call_path(call: StoreCall) -> str:
    return f"{API_PREFIX}/{call.name.replace('.', '/')}"
