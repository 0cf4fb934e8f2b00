"""The background writer: takes finished traces off the application's thread and stores them.

Traces wait in a bounded in-memory queue. One daemon thread takes batches and writes each in
one transaction. If the store cannot be reached, or the queue is full, traces go to the durable
spool (``spill``) and are replayed (``replay``) when the store is back — a full queue hands its
overflow to a spill thread of its own, so the application's thread never waits for the disk or
for a lock that a write or replay holds; without a spool, the
batch is kept and retried with backoff while new traces queue up to the bound. Only what
neither the queue nor the spool can hold is dropped, counted and warned about. A batch the
store rejects for its content is written trace by trace, so one bad trace cannot hold back
the others.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence

from evaltrace._gil import GilCourtesy
from evaltrace._internal_errors import log_internal_error, logger
from evaltrace._suppress import instrumentation_suppressed
from evaltrace.exceptions import StoreUnavailableError
from evaltrace.tracer.convert import to_finished_trace
from evaltrace.tracer.export import ExportStats, FinishedTrace
from evaltrace.tracer.processor import PendingTrace
from evaltrace.tracer.spool import ReplayOutcome

__all__ = ["TraceWriter"]

_MAX_BACKOFF_S = 5.0
# Before writing a batch short of batch_size, wait this long for more: big batches per
# transaction, and far fewer thread switches stealing the application's GIL.
_LINGER_S = 0.05
_DROP_WARNING_INTERVAL_S = 10.0

Export = Callable[[Sequence[FinishedTrace]], None]  # a TraceExporter's export
# How many of the batch's first traces were durably kept, and why not the rest (None: all kept).
Spill = Callable[[Sequence[FinishedTrace]], "SpillOutcome"]
Replay = Callable[[], ReplayOutcome]  # one pass over the spool
SpillOutcome = tuple[int, "str | None"]
_REPLAY_INTERVAL_S = 2.0
# Traces converted between two hand-backs of the GIL: a whole batch at once would hold it for
# a switch interval (5 ms) at a time, and the application's thread would wait that long to run
# again after each network call.
_YIELD_EVERY = 4


class TraceWriter:
    """Converts pending traces and hands them to ``export``, on a background thread or
    synchronously. Every export and replay runs with OpenTelemetry instrumentation suppressed:
    the writer's own I/O is never traced."""

    def __init__(
        self,
        export: Export,
        *,
        asynchronous: bool,
        max_queue_size: int,
        batch_size: int,
        spill: Spill | None = None,
        replay: Replay | None = None,
    ) -> None:
        self._export = export
        self._spill = spill
        self._replay = replay
        self.spilled = 0
        self.spool_pending = False
        self._asynchronous = asynchronous
        self._max_queue_size = max_queue_size
        self._batch_size = batch_size
        self.written = 0
        self.dropped = 0
        self.last_error: str | None = None
        self._init_thread_state()

    def _init_thread_state(self) -> None:
        self._queue: deque[PendingTrace] = deque()
        # Traces that found the queue full, for the spill thread to put in the spool: the
        # application's thread never converts them or waits for the disk.
        self._overflow: deque[PendingTrace] = deque()
        self._spilling = 0  # traces the spill thread is spooling
        self._spill_wakeup = threading.Event()
        self._spill_thread: threading.Thread | None = None
        self._counts = threading.Lock()  # the counters are updated from two threads
        self._deferred: deque[Callable[[], None]] = deque()
        self._wakeup = threading.Event()
        self._urgent = threading.Event()
        self._idle = threading.Condition()
        self._busy = 0  # traces in the batch being written
        self._in_flight: Sequence[FinishedTrace] = ()  # the batch being written
        self._retrying = False
        # Writes and replays are numbered as they start; the number of the last one that found
        # the store unavailable (a flush stops waiting once one begun after it has).
        self._attempts = 0
        self._failed_attempt = 0
        self._replay_everything = False  # recover(): files of others count as ours
        self._reported_files: set[str] = set()
        self._next_replay = 0.0
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._last_drop_warning = 0.0
        self._stopped = False

    # -- the application's side ---------------------------------------------------------------

    def submit(self, trace: PendingTrace) -> None:
        """Queue a finished trace (or write it now in synchronous mode). Never blocks."""
        if not self._asynchronous:
            self._write_synchronously(trace)
            return
        if len(self._queue) >= self._max_queue_size:
            self._to_overflow(trace)
            return
        queue = self._queue
        queue.append(trace)
        if self._thread is None:
            self._start()
        # Only the first trace of an empty queue wakes the writer: it drains until the queue is
        # empty again. (Setting the event on every submit past a batch's worth, as before, took
        # the event's lock on each call of an app that outpaces the writer: 5 us a call.)
        if len(queue) == 1:
            self._wakeup.set()

    def _to_overflow(self, trace: PendingTrace) -> None:
        """The queue is full: hand the trace to the spill thread. Only when that thread is a
        whole queue behind (sustained overload) does the caller spool the trace itself: the one
        wait left on the application's thread, for the local disk, never for the store or a
        replay (they hold other locks). Measured by the soak: dropping there instead lost a
        third of a million traces out of 1,000,000."""
        overflow = self._overflow
        if self._spill is not None and len(overflow) < self._max_queue_size:
            overflow.append(trace)
            if self._spill_thread is None:
                self._start_spill_thread()
            if len(overflow) == 1 or len(overflow) >= self._batch_size:
                self._spill_wakeup.set()
            return
        self._spill_or_drop(self._convert([trace]), "the export queue is full")

    def _start_spill_thread(self) -> None:
        with self._start_lock:
            if self._spill_thread is None:
                self._spill_thread = threading.Thread(
                    target=self._run_spill_thread, name="evaltrace-spill", daemon=True
                )
                self._spill_thread.start()

    def _run_spill_thread(self) -> None:
        _lower_this_threads_priority()
        overflow = self._overflow
        while not self._stopped:
            self._spill_wakeup.wait()
            self._spill_wakeup.clear()
            while overflow and not self._stopped:
                with self._idle:
                    count = min(self._batch_size, len(overflow))
                    batch = [overflow.popleft() for _ in range(count)]
                    self._spilling = count
                try:
                    self._spill_or_drop(self._convert(batch), "the export queue is full")
                finally:
                    with self._idle:
                        self._spilling = 0
                        self._idle.notify_all()

    def defer(self, work: Callable[[], None]) -> None:
        """Run ``work`` on the writer's thread, before its next batch (now, when synchronous):
        the end of a span whose last attributes cost too much for the application's thread."""
        if not self._asynchronous or self._stopped:
            _run_contained(work)
            return
        deferred = self._deferred
        deferred.append(work)
        if self._thread is None:
            self._start()
        if len(deferred) == 1:
            self._wakeup.set()

    def _run_deferred(self) -> None:
        deferred = self._deferred
        while deferred:
            _run_contained(deferred.popleft())

    def flush(self, timeout: float | None = None, *, wait_for_replay: bool = False) -> bool:
        """Wait until every queued trace is stored or safely spooled: True if all are stored,
        False if some wait in the spool, if ``timeout`` (s) ran out first, or if a trace was
        dropped meanwhile (counted and warned about) instead of written.

        While spooled traces wait, a replay is waited for until one (or a write) tried since
        this call began finds the store unavailable: then the spooled traces are safe for a
        later replay, by this process or the next, and there is nothing to wait for.
        ``wait_for_replay``: wait for the spool to be replayed whatever happens (``recover``).
        """
        if not self._asynchronous or self._thread is None or self._stopped:
            return not self._queue and not self.spool_pending
        attempts_before, dropped_before = self._attempts, self.dropped

        def done() -> bool:
            if self._working():
                return False
            return not self.spool_pending or (
                not wait_for_replay and self._failed_attempt > attempts_before
            )

        self._urgent.set()
        self._wakeup.set()
        with self._idle:
            self._idle.wait_for(done, timeout)
            drained = not self._working() and not self.spool_pending
            return drained and self.dropped == dropped_before  # dropped is not written

    def _working(self) -> bool:
        """Traces still on their way: queued, being written, or waiting for the spill thread."""
        return bool(self._queue or self._busy or self._deferred or self._overflow or self._spilling)

    def request_replay(self, *, everything: bool = False) -> None:
        """There may be spooled traces (found at start): replay them in the background.
        ``everything``: until every replayable file is stored, not only this process's own."""
        self.spool_pending = True
        self._replay_everything = self._replay_everything or everything
        if self._asynchronous and self._thread is None:
            self._start()
        self._wakeup.set()

    def stats(self) -> ExportStats:
        return ExportStats(self.written, self.spilled, self.dropped, self.pending, self.last_error)

    @property
    def pending(self) -> int:
        """Traces not yet stored, spooled or dropped: queued, overflowing, being written (the
        whole batch, retried or not) or being spooled."""
        return len(self._queue) + len(self._overflow) + self._busy + self._spilling

    def spool_what_is_left(self) -> None:
        """At exit, after the flush: spool what is still queued and the batch being written
        (the store did not take them in time; writing that batch again later is harmless),
        and stop. Without a spool they are dropped, counted and warned about."""
        self._stopped = True
        pending = []
        for waiting in (self._overflow, self._queue):
            while True:
                try:
                    pending.append(waiting.popleft())
                except IndexError:
                    break
        left = [*self._in_flight, *self._convert(pending)]  # nothing in flight: ()
        self._spill_or_drop(left, "the process is ending and the store did not take them in time")

    def stop(self) -> None:
        """End the writer thread (what is still queued stays unwritten: flush first)."""
        self._stopped = True
        self._wakeup.set()
        self._spill_wakeup.set()

    def after_fork_in_child(self) -> None:
        """The parent writes what it had queued; the child starts empty, with a fresh thread."""
        self._init_thread_state()

    # -- the writer's side --------------------------------------------------------------------

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="evaltrace-writer", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        _lower_this_threads_priority()
        while True:
            self._wakeup.wait(_REPLAY_INTERVAL_S if self.spool_pending else None)
            self._wakeup.clear()
            if self._stopped:
                return
            if self.spool_pending:
                self._try_replay()
            self._drain()

    def _drain(self) -> None:
        """Write batches until the queue is empty. Before each batch short of ``batch_size``,
        linger for more (unless a flush is waiting): under a steady stream of traces the batches
        stay large, where taking whatever had just arrived made a transaction per trace or two.
        """
        while True:
            if self._stopped:
                return
            if self.spool_pending and time.monotonic() >= self._next_replay:
                self._try_replay()  # traffic that never lets the queue empty must not stall it
            if len(self._queue) < self._batch_size:
                self._urgent.wait(_LINGER_S)  # deferred span ends linger too: one go for a burst
            self._run_deferred()
            with self._idle:
                batch = [
                    self._queue.popleft() for _ in range(min(self._batch_size, len(self._queue)))
                ]
                self._busy = len(batch)
                if not batch:
                    self._urgent.clear()
                    self._idle.notify_all()
                    return
            self._write_until_done(self._convert(batch))
            self._busy = 0

    def _convert(self, batch: Sequence[PendingTrace]) -> list[FinishedTrace]:
        """The batch as entities. A trace that cannot be converted is dropped, counted and
        warned about: never counted as written."""
        finished = []
        courtesy = GilCourtesy(_YIELD_EVERY)
        for pending in batch:
            try:
                finished.append(to_finished_trace(pending))
            except Exception as exc:
                self._drop(1, f"it could not be converted: {exc!r}")
                try:
                    log_internal_error("converting a finished trace", exc)
                except Exception:  # raised in tests: the drop above is what they see
                    pass
            courtesy.step()
        return finished

    def _write(self, batch: Sequence[FinishedTrace]) -> None:
        with instrumentation_suppressed():
            self._export(batch)

    def _write_until_done(self, batch: list[FinishedTrace]) -> None:
        if not batch:
            return
        self._in_flight = batch
        try:
            self._write_batch(batch)
        finally:
            self._in_flight = ()

    def _write_batch(self, batch: list[FinishedTrace]) -> None:
        backoff = 0.05
        while True:
            self._attempts += 1
            attempt = self._attempts
            try:
                self._write(batch)
                self.written += len(batch)
                if self._retrying:
                    logger.warning("evaltrace: the trace store is reachable again")
                    self._retrying = False
                return
            except StoreUnavailableError as exc:
                if self._spill is not None:
                    self._warn_unavailable(len(batch), exc)
                    self._spill_or_drop(batch, f"the store is unreachable: {exc}")
                    self._failed_attempt = attempt
                    return
                if not self._retrying:
                    logger.warning(
                        "evaltrace: cannot write %d trace(s) to the store (%s); "
                        "keeping them queued and retrying",
                        len(batch),
                        exc,
                    )
                    self._retrying = True
                time.sleep(backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF_S)
            except Exception as exc:
                if len(batch) == 1:
                    self._drop(1, f"the store rejected it: {exc}")
                    return
                for trace in batch:
                    self._write_batch([trace])
                return

    def _try_replay(self) -> None:
        self._next_replay = time.monotonic() + _REPLAY_INTERVAL_S
        if self._replay is None:
            self.spool_pending = False
            return
        spilled_before = self.spilled
        self._attempts += 1
        attempt = self._attempts
        try:
            with instrumentation_suppressed():
                outcome = self._replay()
        except Exception as exc:  # a bug of ours, not a store's failure
            outcome = ReplayOutcome(failed={"the spool": exc}, own_failed=True)
        failed = outcome.own_failed or (self._replay_everything and bool(outcome.failed))
        if failed:
            self._replay_failed(attempt, next(iter(outcome.failed.values())))
            return  # try again at the next interval or flush
        self._report_skipped_files(outcome.failed)
        self._replay_everything = False
        self.spool_pending = self.spilled != spilled_before  # spilled meanwhile: go again
        if self._retrying:
            logger.warning("evaltrace: the trace store is reachable again")
            self._retrying = False
        with self._idle:
            self._idle.notify_all()

    def _replay_failed(self, attempt: int, exc: Exception) -> None:
        self._failed_attempt = attempt
        self.last_error = f"spool replay: {exc}"
        with self._idle:
            self._idle.notify_all()  # flushes can stop waiting: the traces are safe on disk
        if not isinstance(exc, StoreUnavailableError):
            log_internal_error("spool replay", exc)
        elif not self._retrying:
            logger.warning(
                "evaltrace: the trace store is unreachable (%s); spooled traces wait on "
                "disk and are replayed when it is back",
                exc,
            )
            self._retrying = True

    def _report_skipped_files(self, failed: dict[str, Exception]) -> None:
        """Files of processes that are gone whose store fails: said once per file, retried at
        the next replay (this process's own traces were not held back by them)."""
        for name, exc in failed.items():
            if name not in self._reported_files:
                self._reported_files.add(name)
                logger.warning(
                    "evaltrace: skipped the spool file %s of a process that is gone: %s "
                    "(evaltrace spool status lists it)",
                    name,
                    exc,
                )

    def _warn_unavailable(self, count: int, exc: Exception) -> None:
        self.last_error = f"store unavailable: {exc}"
        if not self._retrying:
            logger.warning(
                "evaltrace: cannot write %d trace(s) to the store (%s); spooling them to disk "
                "and replaying when it is back",
                count,
                exc,
            )
            self._retrying = True

    def _spill_or_drop(self, batch: Sequence[FinishedTrace], reason: str) -> None:
        if not batch:
            return
        if self._spill is not None:
            try:
                kept, problem = self._spill(batch)
            except Exception as exc:  # a broken disk: counted and warned below
                kept, problem = 0, f"the spool cannot be written: {exc}"
            if kept:
                with self._counts:
                    self.spilled += kept
                self.spool_pending = True
            if problem is None:
                return
            batch, reason = batch[kept:], f"{reason}, and {problem}"
        self._drop(len(batch), reason)

    def _write_synchronously(self, trace: PendingTrace) -> None:
        batch = self._convert([trace])
        if not batch:
            return
        try:
            self._write(batch)
            self.written += 1
        except StoreUnavailableError as exc:
            self._spill_or_drop(batch, f"the store is unreachable: {exc}")
        except Exception as exc:
            self._drop(1, f"the store rejected it: {exc}")
            log_internal_error("synchronous trace write", exc)

    def _drop(self, count: int, reason: str) -> None:
        with self._counts:
            self.dropped += count
        self.last_error = f"dropped {count} trace(s) because {reason}"
        now = time.monotonic()
        if now - self._last_drop_warning >= _DROP_WARNING_INTERVAL_S:
            self._last_drop_warning = now
            logger.warning(
                "evaltrace: dropped %d trace(s) because %s (%d dropped in this process so far)",
                count,
                reason,
                self.dropped,
            )


def _run_contained(work: Callable[[], None]) -> None:
    try:
        work()
    except Exception as exc:  # the work ends its span itself, whatever fails (see end_later)
        try:
            log_internal_error("deferred span end", exc)
        except Exception:  # raised in tests: the writer thread must live on all the same
            logger.exception("evaltrace: deferred span end failed")


# Measured by hand (bench_openai.py with this constant edited, two runs each): niceness 0 / 5 / 10
# gave an autolog overhead of ~310 / ~190 / ~120 us of caller CPU per chat call.
_WRITER_NICENESS = 10


def _lower_this_threads_priority() -> None:
    """Where the OS lets a thread have a priority of its own (Linux), the writer's is lower than
    the application's: with cores busy, the app runs first and the writer catches up after."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), _WRITER_NICENESS)
    except (AttributeError, OSError):
        pass
