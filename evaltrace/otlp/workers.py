"""OTLP request bodies to rows, in worker processes: the server process only writes.

Decoding, translating, redacting and building rows is most of what ingest costs, and all of
it holds the GIL: in the server's process it could not run beside the store's writes. A pool of
``otlp_workers`` processes does it instead. A request is split by trace id into shares (two a
worker; each worker decodes the body and converts its share of the traces), handed back in
order: the server writes the first while the workers convert the next, so even one client's
requests keep every core busy.

Workers know no store: a trace's experiment is a placeholder in its rows (the k-th distinct
``evaltrace.experiment`` reference of the request), resolved by the server before it writes.
With ``otlp_workers=0``, once the pool is closed, or for the rest of a request whose worker
died, the same work runs in the calling thread.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import os
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from evaltrace.otlp.convert import Converted, convert_request, experiment_references
from evaltrace.otlp.decode import decode_request
from evaltrace.store.trace_rows import TraceRows, traces_rows

__all__ = ["ConversionPool", "Prepared", "prepare_request"]

_log = logging.getLogger("evaltrace.server")
_SHARES_PER_WORKER = 2
_BYTES_PER_SHARE = 16 * 1024  # about 80 spans of bench_otlp.py's
# The settings conversion reads (redaction), handed to each worker as the server has them.
WORKER_SETTINGS = ("redact", "redact_keys", "redact_allow_keys")


@dataclass
class Prepared:
    """A request's share of traces as rows, and its spans accepted and rejected."""

    traces: list[TraceRows]
    # experiments[k]: the evaltrace.experiment reference (None: none given) of the traces
    # whose rows hold experiment id k; all of the request's, so every share has the same.
    experiments: list[str | None]
    counts: Converted  # without its parts: they are the rows above
    shares: int = 1  # how many shares the request was split into


def prepare_request(
    body: bytes,
    content_type: str | None,
    content_encoding: str | None,
    shard: tuple[int, int] | None = None,
) -> Prepared:
    """Decode a request body and turn (its ``shard`` of) the traces into rows. Raises
    OTLPDecodeError or RequestTooLargeError for a body that cannot be taken."""
    request = decode_request(body, content_type, content_encoding)
    experiments = experiment_references(request)  # the same list in every share
    converted = convert_request(request, lambda ref: str(experiments.index(ref)), shard)
    traces = traces_rows(converted.parts)
    converted.parts = []
    return Prepared(traces, experiments, converted, 1 if shard is None else shard[1])


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

    def shares(self, body_bytes: int) -> int:
        """Into how many shares a body is split: two a worker (so a share can be written while
        the next are converted), fewer for a small body (each share decodes it whole)."""
        if self.workers == 0:
            return 1
        return max(1, min(_SHARES_PER_WORKER * self.workers, body_bytes // _BYTES_PER_SHARE))

    def prepare(
        self, body: bytes, content_type: str | None, content_encoding: str | None
    ) -> Iterator[Prepared]:
        """The request's traces as rows, share by share, in order, each as soon as it is
        ready (raises as ``prepare_request``, at the first share)."""
        executor = self._pool()
        count = self.shares(len(body))
        if executor is None:
            yield prepare_request(body, content_type, content_encoding)
            return
        futures: list[Future[Prepared]] = []
        try:
            for index in range(count):
                shard = (index, count)
                futures.append(
                    executor.submit(prepare_request, body, content_type, content_encoding, shard)
                )
        except (BrokenProcessPool, RuntimeError):  # broken, or shut down by another thread
            pass  # futures[len(futures):] are converted here, below
        try:
            for index in range(count):
                if index < len(futures):
                    try:
                        yield futures[index].result()
                        continue
                    except BrokenProcessPool:  # a worker died (killed, out of memory)
                        pass
                self._discard(executor)
                yield prepare_request(body, content_type, content_encoding, (index, count))
        finally:
            for future in futures:  # the caller gave up on the request: drop what is left
                future.cancel()

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
        """Drop a broken pool (once): the next request starts new workers."""
        with self._lock:
            if self._executor is not executor:
                return
            self._executor = None
        _log.warning("OTLP: a conversion worker died; starting new ones")
        executor.shutdown(wait=False, cancel_futures=True)
