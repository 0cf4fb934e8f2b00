"""The durable spool: finished traces that could not be stored yet, on local disk.

When the store cannot be written, or the in-memory queue is full, traces are appended to a
file of this process's own under the spool directory (one JSON line per trace, with its
destination: tracking URI, without its password, and experiment). They are replayed through
the exporter when the store is reachable again — by this process, or by the next process that
starts with the same spool directory if this one died. Writes are idempotent, so a replay cut
short and done again stores each trace once. Past the size cap, traces are dropped (counted
and warned about by the writer).
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from evaltrace._internal_errors import logger
from evaltrace._json import dumps_json_bytes, loads_json
from evaltrace._uris import without_password
from evaltrace.entities import Trace
from evaltrace.tracer.export import Destination, ExperimentRef, FinishedTrace

__all__ = ["Spool", "SpoolFile", "default_spool_dir", "spool_files"]

_SUFFIX = ".jsonl"
_CLAIMED = ".replaying"


def default_spool_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "evaltrace" / "spool"


class Spool:
    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._new_file()

    def _new_file(self) -> None:
        self.path = self.directory / f"spool-{os.getpid()}-{uuid.uuid4().hex[:8]}{_SUFFIX}"

    def after_fork_in_child(self) -> None:
        self._lock = threading.Lock()
        self._new_file()

    def append(self, items: Sequence[FinishedTrace]) -> bool:
        """Write finished traces durably; False if that would pass the size cap."""
        data = b"".join(_line(item) for item in items)
        with self._lock:
            self.directory.mkdir(parents=True, exist_ok=True)
            if self.size() + len(data) > self.max_bytes:
                return False
            _append_durably(self.path, data)
        return True

    def size(self) -> int:
        try:
            return sum(f.stat().st_size for f in self.directory.iterdir() if f.is_file())
        except FileNotFoundError:
            return 0

    def has_work(self) -> bool:
        return bool(self._replayable())

    def _replayable(self) -> list[Path]:
        """This process's own file and the files of processes that are gone."""
        try:
            self._release_abandoned_claims()
            files = sorted(self.directory.iterdir())
        except FileNotFoundError:
            return []
        mine = []
        for path in files:
            pid = _pid_of(path)
            if path == self.path or (pid is not None and not _alive(pid)):
                mine.append(path)
        return mine

    def _release_abandoned_claims(self) -> None:
        """A process that died while replaying a file leaves it claimed: give it back."""
        for path in self.directory.glob(f"*{_CLAIMED}"):
            stem, claimer = path.name[: -len(_CLAIMED)].rsplit(".", 1)
            if claimer.isdigit() and not _alive(int(claimer)):
                try:
                    path.rename(path.with_name(stem + _SUFFIX))
                except FileNotFoundError:  # released by another process just now
                    pass

    def replay(self, write: Callable[[list[FinishedTrace]], None], batch_size: int = 500) -> int:
        """Store every replayable trace, file by file, in order; returns how many.

        A file is claimed by renaming it first, so two processes never replay one file. If the
        store fails half way, the file goes back (its traces written so far are harmless to
        write again) and the error propagates.
        """
        replayed = 0
        with self._lock:
            for path in self._replayable():
                claimed = path.with_name(f"{path.stem}.{os.getpid()}{_CLAIMED}")
                try:
                    path.rename(claimed)
                except FileNotFoundError:  # another process claimed it
                    continue
                try:
                    replayed += _replay_file(claimed, write, batch_size)
                except BaseException:
                    claimed.rename(path)
                    raise
                claimed.unlink()
        if replayed:
            logger.warning("evaltrace: replayed %d spooled trace(s) into the store", replayed)
        return replayed


@dataclass(frozen=True, slots=True)
class SpoolFile:
    """One file in a spool directory, for ``evaltrace spool status``."""

    file: str
    pid: int | None  # the process that wrote it
    alive: bool  # that process still runs (its file waits for it, unless it is gone)
    claimed: bool  # being replayed right now
    bytes: int
    traces: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def spool_files(directory: Path) -> list[SpoolFile]:
    try:
        paths = sorted(p for p in directory.iterdir() if p.is_file())
    except FileNotFoundError:
        return []
    found = []
    for path in paths:
        claimed = path.name.endswith(_CLAIMED)
        pid = _pid_of(path.with_name(path.name.split(".")[0] + _SUFFIX) if claimed else path)
        try:
            data = path.read_bytes()
        except FileNotFoundError:  # replayed meanwhile
            continue
        found.append(
            SpoolFile(
                file=path.name,
                pid=pid,
                alive=pid is not None and _alive(pid),
                claimed=claimed,
                bytes=len(data),
                traces=data.count(b"\n"),
            )
        )
    return found


def _append_durably(path: Path, data: bytes) -> None:
    """All of ``data`` at the end of ``path``, synced, or none of it (a full disk raises)."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        start = os.lseek(fd, 0, os.SEEK_END)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]  # a full disk writes part, then raises
            os.fsync(fd)
        except OSError:
            os.ftruncate(fd, start)  # no torn line for the next append to run into
            raise
    finally:
        os.close(fd)


def _line(item: FinishedTrace) -> bytes:
    destination = {
        # Never the password: the replay finds the live URI that matches (Session.live_uri).
        "uri": without_password(item.destination.tracking_uri),
        "experiment": item.destination.experiment.to_dict(),
    }
    line: dict[str, Any] = {"destination": destination, "trace": item.trace.to_dict()}
    if item.appended:
        line["appended"] = True
    return dumps_json_bytes(line) + b"\n"


def _parse_line(line: bytes) -> FinishedTrace:
    item = loads_json(line)
    trace = Trace.from_dict(item["trace"])
    if "destination" not in item:  # written by an older version: the trace's own experiment
        ref = ExperimentRef(experiment_id=trace.info.experiment_id)
        return FinishedTrace(Destination(item["uri"], ref), trace)
    destination = item["destination"]
    ref = ExperimentRef.from_dict(destination["experiment"])
    return FinishedTrace(Destination(destination["uri"], ref), trace, bool(item.get("appended")))


def _replay_file(path: Path, write: Callable[[list[FinishedTrace]], None], batch_size: int) -> int:
    """Stream the file into the store, a batch at a time (a spool can hold millions)."""
    batch: list[FinishedTrace] = []
    count = 0
    with open(path, "rb") as handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                batch.append(_parse_line(line))
            except (ValueError, KeyError, TypeError):  # a line torn by a crash mid-write
                logger.warning("evaltrace: skipped an unreadable line in %s", path)
                continue
            count += 1
            if len(batch) >= batch_size:
                write(batch)
                batch = []
    if batch:
        write(batch)
    return count


def _pid_of(path: Path) -> int | None:
    parts = path.name.split("-")
    if len(parts) >= 3 and parts[0] == "spool" and path.name.endswith(_SUFFIX):
        try:
            return int(parts[1])
        except ValueError:
            return None
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
