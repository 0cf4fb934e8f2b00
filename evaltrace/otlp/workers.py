"""OTLP request bodies to rows, in worker processes: the server process only writes.

Decoding, translating, redacting and building rows is most of what ingest costs, and all of
it holds the GIL: in the server's process it could not run beside the store's writes. A pool of
``otlp_workers`` processes does it instead. Each request is split by trace id across the
workers (each decodes the body and converts its share of the traces), so even one client's
requests are converted on every core, and the server process writes what they hand back.

Workers know no store: a trace's experiment is a placeholder in its rows (the k-th distinct
``evaltrace.experiment`` reference of the request), resolved by the server before it writes.
With ``otlp_workers=0``, or after a worker died, the same work runs in the calling thread.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import os
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

from evaltrace.otlp.convert import convert_request
from evaltrace.otlp.decode import decode_request
from evaltrace.store.trace_rows import TraceRows, traces_rows

__all__ = ["ConversionPool", "Prepared", "prepare_request"]

_log = logging.getLogger("evaltrace.server")
# The settings conversion reads (redaction), handed to each worker as the server has them.
WORKER_SETTINGS = ("redact", "redact_keys", "redact_allow_keys")


@dataclass
class Prepared:
    """A request's share of traces as rows, and its count of accepted and rejected spans."""

    traces: list[TraceRows] = field(default_factory=list)
    # experiments[k]: the evaltrace.experiment reference (None: none given) of the traces
    # whose rows hold experiment id k.
    experiments: list[str | None] = field(default_factory=list)
    accepted: int = 0
    rejected: int = 0
    problems: list[str] = field(default_factory=list)


def prepare_request(
    body: bytes,
    content_type: str | None,
    content_encoding: str | None,
    shard: tuple[int, int] | None = None,
) -> Prepared:
    """Decode a request body and turn (its ``shard`` of) the traces into rows. Raises
    OTLPDecodeError or RequestTooLargeError for a body that cannot be taken."""
    request = decode_request(body, content_type, content_encoding)
    experiments: list[str | None] = []

    def placeholder(reference: str | None) -> str:
        experiments.append(reference)
        return str(len(experiments) - 1)

    converted = convert_request(request, placeholder, shard)
    return Prepared(
        traces_rows(converted.parts),
        experiments,
        converted.accepted,
        converted.rejected,
        converted.problems,
    )


def _start_worker(settings: dict[str, Any]) -> None:
    from evaltrace._session import get_session

    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent.sentinel,), daemon=True).start()
    get_session().configure(**settings)


def _exit_with(parent_sentinel: int) -> None:
    """End the worker when the server process ends, however it ends (a SIGKILL closes no
    queue: the workers would wait for work for ever)."""
    multiprocessing.connection.wait([parent_sentinel])
    os._exit(0)


class ConversionPool:
    """``workers`` processes preparing request bodies (0: prepared in the calling thread).
    Thread-safe; started on first use, stopped by ``close``."""

    def __init__(self, workers: int, settings: dict[str, Any]) -> None:
        self.workers = workers
        self._settings = settings
        self._executor: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._closed = False

    def prepare(
        self, body: bytes, content_type: str | None, content_encoding: str | None
    ) -> list[Prepared]:
        """The request's traces as rows, in one Prepared per worker (raises as
        ``prepare_request``)."""
        executor = self._pool()
        if executor is None:
            return [prepare_request(body, content_type, content_encoding)]
        count = self.workers
        futures: list[Future[Prepared]] = []
        try:
            for index in range(count):
                futures.append(
                    executor.submit(
                        prepare_request, body, content_type, content_encoding, (index, count)
                    )
                )
            return [future.result() for future in futures]
        except BrokenProcessPool:  # a worker died (killed, out of memory): start afresh
            _log.warning("OTLP: a conversion worker died; starting new ones")
            self._discard(executor)
            return [prepare_request(body, content_type, content_encoding)]

    def worker_pids(self) -> list[int]:
        """The process ids of the workers started (none before the first use)."""
        with self._lock:
            executor = self._executor
        if executor is None:
            return []
        return sorted(executor._processes or {})  # the stdlib keeps no public list

    def close(self) -> None:
        with self._lock:
            self._closed = True
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)

    def _pool(self) -> ProcessPoolExecutor | None:
        if self.workers == 0:
            return None
        with self._lock:
            if self._closed:
                return None
            if self._executor is None:
                self._executor = ProcessPoolExecutor(
                    self.workers,
                    # spawn: the server has threads running, which a fork would copy mid-work
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_start_worker,
                    initargs=(self._settings,),
                )
            return self._executor

    def _discard(self, executor: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._executor is executor:
                self._executor = None
        executor.shutdown(wait=False, cancel_futures=True)
