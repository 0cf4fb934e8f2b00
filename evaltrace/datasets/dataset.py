"""``EvaluationDataset``: a named, versioned set of records; a handle on the store's copy."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evaltrace._config import current_user
from evaltrace._session import get_session
from evaltrace._validation import require_texts
from evaltrace.datasets.records import candidates_from
from evaltrace.entities import DatasetInfo, DatasetRecord, DatasetVersion
from evaltrace.entities.html import html_table, short_text
from evaltrace.exceptions import InvalidArgumentError

if TYPE_CHECKING:
    import pandas

__all__ = ["RECORD_COLUMNS", "EvaluationDataset"]

RECORD_COLUMNS = [
    "dataset_record_id",
    "inputs",
    "outputs",
    "expectations",
    "tags",
    "source_type",
    "source_id",
    "source",
    "created_time",
    "record_id",
    "last_update_time",
]


_HTML_MAX_RECORDS = 20


class EvaluationDataset:
    """A dataset at one version: the latest when fetched by name, or the one asked for.

    ``merge_records`` and ``delete_records`` change the stored dataset (one transaction and
    one new version each) and move this handle to the new version. A handle pinned to an old
    version is read-only.
    """

    def __init__(self, info: DatasetInfo, *, pinned: bool = False) -> None:
        # The session it was made in: its methods act on that session's store, whichever
        # session is in use when they are called.
        self._session = get_session()
        self._info = info
        self._pinned = pinned
        self._records: list[DatasetRecord] | None = None

    # -- identity -----------------------------------------------------------------------------

    @property
    def dataset_id(self) -> str:
        return self._info.dataset_id

    @property
    def name(self) -> str:
        return self._info.name

    @property
    def tags(self) -> dict[str, str]:
        return dict(self._info.tags)

    @property
    def experiment_ids(self) -> list[str]:
        return list(self._info.experiment_ids)

    @property
    def version(self) -> int:
        return self._info.version

    @property
    def digest(self) -> str:
        return self._info.digest

    @property
    def schema(self) -> dict[str, Any]:
        return self._info.schema

    @property
    def profile(self) -> dict[str, Any]:
        return self._info.profile

    @property
    def created_time(self) -> int:
        return self._info.created_time

    @property
    def last_update_time(self) -> int:
        return self._info.last_update_time

    @property
    def created_by(self) -> str | None:
        return self._info.created_by

    @property
    def last_updated_by(self) -> str | None:
        return self._info.last_updated_by

    def __repr__(self) -> str:
        return (
            f"EvaluationDataset(name={self.name!r}, version={self.version}, "
            f"dataset_id={self.dataset_id!r})"
        )

    def _repr_html_(self) -> str:
        """A notebook shows the dataset's first records (values clipped and escaped)."""
        records = self.records
        rows = [
            [
                short_text(r.inputs),
                short_text(r.expectations),
                short_text(r.outputs),
                r.source.source_type.value,
                short_text(r.source.source_id),
            ]
            for r in records[:_HTML_MAX_RECORDS]
        ]
        return html_table(
            f"EvaluationDataset {self.name} v{self.version} · {len(records):,} "
            + ("record" if len(records) == 1 else "records"),
            ["inputs", "expectations", "outputs", "source", "source id"],
            rows,
            total=len(records),
        )

    # -- content ------------------------------------------------------------------------------

    @property
    def records(self) -> list[DatasetRecord]:
        if self._records is None:
            self._records = self._session.store().datasets.records(self.dataset_id, self.version)
        return list(self._records)

    def __len__(self) -> int:
        return len(self.records)

    def to_df(self) -> pandas.DataFrame:
        """One row per record (columns as in the reference system, plus record_id)."""
        import pandas

        rows = [
            {
                "dataset_record_id": r.dataset_record_id,
                "inputs": r.inputs,
                "outputs": r.outputs,
                "expectations": r.expectations,
                "tags": r.tags,
                "source_type": r.source.source_type.value,
                "source_id": r.source.source_id,
                "source": r.source.to_dict(),
                "created_time": r.created_time,
                "record_id": r.record_id,
                "last_update_time": r.last_update_time,
            }
            for r in self.records
        ]
        return pandas.DataFrame(rows, columns=RECORD_COLUMNS)

    def list_versions(self) -> list[DatasetVersion]:
        return self._session.store().datasets.versions(self.dataset_id)

    # -- changes ------------------------------------------------------------------------------

    def merge_records(self, records: Any) -> EvaluationDataset:
        """Add or update records from Traces, dicts, a DataFrame or a file (.csv, .json, .jsonl).

        Identity is ``record_id`` if given, else a hash of ``inputs``. For an existing record,
        expectations and tags are dict-merged (new values win), outputs replaced when given,
        inputs and the first source kept. One transaction; no change, no new version.
        """
        self._check_writable()
        candidates = candidates_from(records)
        self._session.flush_for_readers()
        self._session.store().datasets.merge(self.dataset_id, candidates, current_user())
        self._refresh()
        return self

    def delete_records(self, ids: Sequence[str]) -> int:
        """Delete records by dataset_record_id or record_id; returns how many were deleted."""
        self._check_writable()
        wanted = require_texts(ids, "ids")
        if wanted is None:
            raise InvalidArgumentError(
                "ids must be a list of dataset_record_id or record_id strings"
            )
        result = self._session.store().datasets.delete_records(
            self.dataset_id, wanted, current_user()
        )
        self._refresh()
        return result.deleted

    def export(self, path: str | Path, format: str | None = None) -> Path:
        """Write the records to a .jsonl or .csv file (every field kept)."""
        from evaltrace.datasets.files import write_records

        return write_records(self.records, path, format)

    def _check_writable(self) -> None:
        if self._pinned:
            raise InvalidArgumentError(
                f"{self!r} is pinned to version {self.version}; get the latest version to change it"
            )

    def _refresh(self) -> None:
        self._info = self._session.store().datasets.get(dataset_id=self.dataset_id)
        self._records = None
