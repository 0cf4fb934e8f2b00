"""OTLP trace ingestion: a request body in, its spans stored, the OTLP/HTTP response out.

Accepted means durable: the spans are committed to the store before the answer is 200
(requests arriving together share one transaction: group_commit.py). At most
``otlp_max_pending`` requests are written at once; one more is answered 429 with Retry-After
(the exporters retry), and a store that cannot be reached is answered 503 with Retry-After,
so nothing is accepted and then lost.

The experiment of a trace new to the store: the resource attribute ``evaltrace.experiment``,
else the ``x-evaltrace-experiment`` header, else the session's active experiment; each a name
(created if new) or an id. A stored trace keeps its experiment.
"""

from __future__ import annotations

import itertools
import logging
import threading
from dataclasses import dataclass, field

from evaltrace._session import Session
from evaltrace.exceptions import (
    ExperimentNotFoundError,
    InvalidArgumentError,
    OTLPDecodeError,
    RequestTooLargeError,
    StoreError,
    StoreUnavailableError,
)
from evaltrace.otlp.convert import Converted, check_experiment
from evaltrace.otlp.decode import JSON, PROTOBUF, encode_response, encode_status, media_type
from evaltrace.otlp.group_commit import GroupCommit
from evaltrace.otlp.workers import WORKER_SETTINGS, ConversionPool, Prepared
from evaltrace.store import TraceStore
from evaltrace.store.rows import experiment_key
from evaltrace.store.trace_rows import TraceRows
from evaltrace.tracer.export import ExperimentRef

__all__ = ["EXPERIMENT_HEADER", "Answer", "Ingest"]

EXPERIMENT_HEADER = "x-evaltrace-experiment"
_log = logging.getLogger("evaltrace.server")
_RETRY_BUSY_S = 1
_RETRY_STORE_S = 5
# google.rpc.Code values for the Status bodies of error answers.
_INVALID_ARGUMENT, _RESOURCE_EXHAUSTED, _INTERNAL, _UNAVAILABLE = 3, 8, 13, 14


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    media_type: str
    headers: dict[str, str] = field(default_factory=dict)
    accepted: int = 0
    rejected: int = 0


class Ingest:
    """Stores OTLP trace requests through a session's store (thread-safe)."""

    def __init__(self, session: Session, workers: int | None = None) -> None:
        """``workers``: conversion processes (default: the ``otlp_workers`` setting)."""
        self.session = session
        settings = session.settings
        self._pending = threading.BoundedSemaphore(settings.otlp_max_pending)
        self._commits = GroupCommit(lambda traces: self._store_for_ingest().merge_rows(traces))
        self.conversion = ConversionPool(
            settings.otlp_workers if workers is None else workers,
            {name: getattr(settings, name) for name in WORKER_SETTINGS},
        )

    def _store_for_ingest(self) -> TraceStore:
        """The session's store; on SQLite, its WAL checkpoints taken off the commits clients
        wait for (store/checkpoint.py), from the first write on."""
        store = self.session.store()
        store.expect_heavy_writes()
        return store

    def close(self) -> None:
        self.conversion.close()

    def handle(
        self,
        body: bytes,
        content_type: str | None,
        content_encoding: str | None = None,
        experiment: str | None = None,
    ) -> Answer:
        given = media_type(content_type)
        kind = JSON if given == JSON else PROTOBUF
        if given not in (JSON, PROTOBUF):
            return _status(
                kind, 415, _INVALID_ARGUMENT, f"Content-Type must be {PROTOBUF} or {JSON}"
            )
        if not self._pending.acquire(blocking=False):
            return _status(
                kind,
                429,
                _RESOURCE_EXHAUSTED,
                "too many requests being written: retry",
                _RETRY_BUSY_S,
            )
        try:
            return self._store(body, content_type, content_encoding, experiment, kind)
        finally:
            self._pending.release()

    def _store(
        self,
        body: bytes,
        content_type: str | None,
        content_encoding: str | None,
        experiment: str | None,
        kind: str,
    ) -> Answer:
        """A small request is written with whatever else arrives at the same moment (group
        commit); a big one alone, in one transaction, each share (SQLite) as soon as a worker
        hands it over, while the next are converted. Experiments are resolved before anything
        is written, for the whole request."""
        counts = Converted()
        try:
            if experiment is not None:
                check_experiment(experiment)
            shares = self.conversion.prepare(body, content_type, content_encoding)
            first = next(shares)
            ids = [
                experiment_key(self._experiment(reference if reference is not None else experiment))
                for reference in first.experiments
            ]

            def filed(share: Prepared) -> list[TraceRows]:
                for trace in share.traces:
                    trace.in_experiment(ids[trace.trace_row[1]])
                counts.add(share.counts)
                return share.traces

            if first.shares == 1:
                self._commits.write(filed(first))
            else:
                rest = (filed(share) for share in itertools.chain([first], shares))
                self._commits.alone(lambda: self._store_for_ingest().merge_row_shares(rest))
        except RequestTooLargeError as exc:
            return _status(kind, 413, _INVALID_ARGUMENT, str(exc))
        except OTLPDecodeError as exc:
            return _status(kind, 400, _INVALID_ARGUMENT, str(exc))
        except (ExperimentNotFoundError, InvalidArgumentError) as exc:  # a bad experiment name
            return _status(kind, 400, _INVALID_ARGUMENT, str(exc))
        except StoreUnavailableError:
            return _status(
                kind, 503, _UNAVAILABLE, "the store cannot be reached: retry", _RETRY_STORE_S
            )
        except StoreError:
            _log.exception("OTLP: the store failed to write a request's spans")
            return _status(kind, 500, _INTERNAL, "the store failed; the server log has the details")
        payload, media = encode_response(kind, counts.rejected, counts.message)
        return Answer(200, payload, media, accepted=counts.accepted, rejected=counts.rejected)

    def _experiment(self, reference: str | None) -> str:
        """An experiment name or id to its id (a name not known yet is created)."""
        session = self.session
        uri = session.tracking_uri
        if reference is None:
            return session.experiment_id(uri)
        if reference.isdigit():
            try:
                return session.resolve_experiment(uri, ExperimentRef(experiment_id=reference))
            except ExperimentNotFoundError:
                pass  # a name made of digits
        return session.resolve_experiment(uri, ExperimentRef(name=reference))


def _status(
    kind: str, status: int, code: int, message: str, retry_after: int | None = None
) -> Answer:
    body, media = encode_status(kind, code, message)
    headers = {} if retry_after is None else {"retry-after": str(retry_after)}
    return Answer(status, body, media, headers)
