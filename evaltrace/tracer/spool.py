"""The durable spool: finished traces that could not be stored yet, on local disk.

When the store cannot be written, or the in-memory queue is full, traces are appended to a
file of this process's own under the spool directory (one JSON line per trace, with its
destination: tracking URI, without its password, and experiment). They are replayed through
the exporter when the store is reachable again — by this process, or by the next process that
starts with the same spool directory if this one died. Writes are idempotent, so a replay cut
short and done again stores each trace once. Past the size cap, traces are dropped (counted
and warned about by the writer).

Ownership is an OS file lock (``flock``), never a process id: a process holds an exclusive lock
on its own file for as long as it lives, and a replayer takes a file only when it can take that
lock. The kernel releases it when the owner dies, however it dies, so a file is never replayed
while its writer still appends to it, and never left behind because a new process (a restarted
container's PID 1) happens to have the dead one's PID. Appending and replaying take different
locks: the application's thread never waits for a replay into a slow store.
"""

from __future__ import annotations

import itertools
import os
import re
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from evaltrace._internal_errors import logger
from evaltrace._json import dumps_json_bytes, loads_json
from evaltrace._uris import without_password
from evaltrace.entities import Trace
from evaltrace.tracer.export import Destination, ExperimentRef, FinishedTrace

try:
    import fcntl
except ImportError:  # not POSIX: files are told apart by their names only
    fcntl = None  # type: ignore[assignment]

__all__ = ["ReplayOutcome", "Spool", "SpoolFile", "default_spool_dir", "spool_files"]

_SUFFIX = ".jsonl"
_LEGACY_CLAIMED = ".replaying"  # claims by renaming, before the file locks: replayable as any


def default_spool_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "evaltrace" / "spool"


@dataclass(slots=True)
class ReplayOutcome:
    """One replay pass: traces stored, and the files left because their store failed (file
    name to the error). ``own_failed``: one of them holds this process's own traces."""

    replayed: int = 0
    failed: dict[str, Exception] = field(default_factory=dict)
    own_failed: bool = False


class Spool:
    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self._append_lock = threading.Lock()
        self._replay_lock = threading.Lock()
        self._fd: int | None = None  # our file, open and locked, once something is spooled
        self._held: list[tuple[Path, int]] = []  # earlier files of ours a replay could not empty
        self._new_file()

    def _new_file(self) -> None:
        self.path = self.directory / f"spool-{os.getpid()}-{uuid.uuid4().hex[:8]}{_SUFFIX}"
        self._fd = None

    def after_fork_in_child(self) -> None:
        """The parent keeps its file (and its lock: closing our copy of the descriptor does
        not release it while the parent holds its own); the child starts a file of its own."""
        self._release_files()
        self._append_lock = threading.Lock()
        self._replay_lock = threading.Lock()

    def close(self) -> None:
        """Release our files (their locks go: anyone may replay what is left in them)."""
        with self._append_lock:
            self._release_files()

    def _release_files(self) -> None:
        for fd in [self._fd, *(fd for _, fd in self._held)]:
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._held = []
        self._new_file()

    def append(self, items: Sequence[FinishedTrace]) -> tuple[int, str | None]:
        """Write finished traces durably, as many of the first ones as fit: how many were
        kept, and why not the rest (None: all were). What fits under the size cap goes, then
        a full disk keeps every whole line it took."""
        lines = [_line(item) for item in items]
        with self._append_lock:
            room = self.max_bytes - self.size()
            fitting, used = 0, 0
            for line in lines:
                if used + len(line) > room:
                    break
                fitting, used = fitting + 1, used + len(line)
            if fitting == 0:
                return 0, "the spool is full" if lines else None
            try:
                kept, problem = _append_durably(self._own_fd(), lines[:fitting])
            except OSError as exc:
                return 0, f"the spool cannot be written: {exc}"
        if problem is not None:
            return kept, f"the spool cannot be written: {problem}"
        return kept, None if fitting == len(lines) else "the spool is full"

    def _own_fd(self) -> int:
        if self._fd is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            _lock(fd)  # a new file of our own: no one else can hold its lock
            self._fd = fd
        return self._fd

    def size(self) -> int:
        try:
            return sum(f.stat().st_size for f in self.directory.iterdir() if f.is_file())
        except FileNotFoundError:
            return 0

    def has_work(self) -> bool:
        """Something to replay: our own traces, or a file no live process holds."""
        if self._fd is not None or self._held:
            return True
        for path in _candidates(self.directory):
            fd = _open_unowned(path)
            if fd is not None:
                os.close(fd)
                return True
        return False

    def _take_own_files(self) -> list[tuple[Path, int]]:
        """Our files as they are, for replay (still locked); appends go to a new one."""
        with self._append_lock:
            taken, self._held = self._held, []
            if self._fd is not None:
                taken.append((self.path, self._fd))
                self._new_file()
            return taken

    def _unowned_files(self, exclude: set[Path]) -> Iterator[tuple[Path, int]]:
        """Files of processes that are gone, each locked as it comes (one open at a time)."""
        for path in _candidates(self.directory):
            if path not in exclude:
                fd = _open_unowned(path)
                if fd is not None:
                    yield path, fd

    def replay(
        self, write: Callable[[list[FinishedTrace]], None], batch_size: int = 500
    ) -> ReplayOutcome:
        """Store every replayable trace, file by file: ours first, then those of processes that
        are gone. A file whose store fails is left for the next replay (its traces written so
        far are harmless to write again) and the others are replayed all the same: one file for
        a store that no longer exists never holds back the rest."""
        outcome = ReplayOutcome()
        with self._replay_lock:
            own = self._take_own_files()
            kept = []
            others = self._unowned_files(exclude={path for path, _ in own})
            for path, fd in itertools.chain(own, others):
                try:
                    outcome.replayed += _replay_file(path, write, batch_size)
                    path.unlink(missing_ok=True)  # still holding its lock: no one else read it
                    os.close(fd)
                except Exception as exc:
                    outcome.failed[path.name] = exc
                    if (path, fd) in own:
                        kept.append((path, fd))  # ours while we live: retried by us
                    else:
                        os.close(fd)  # the lock goes: the next replayer may try it
        outcome.own_failed = bool(kept)
        with self._append_lock:
            if kept and self._fd is None:  # nothing spooled meanwhile: appends go on in it
                self.path, self._fd = kept.pop()
            self._held = kept + self._held
        if outcome.replayed:
            logger.warning(
                "evaltrace: replayed %d spooled trace(s) into the store", outcome.replayed
            )
        return outcome


@dataclass(frozen=True, slots=True)
class SpoolFile:
    """One file in a spool directory, for ``evaltrace spool status``."""

    file: str
    pid: int | None  # the process that wrote it (from its name; its lock is what counts)
    owned: bool  # a live process holds it (its writer, or a replay right now)
    bytes: int
    traces: int
    stores: tuple[str, ...]  # the tracking URIs its traces go to, without passwords

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["stores"] = ", ".join(self.stores)
        return data


def spool_files(directory: Path) -> list[SpoolFile]:
    found = []
    for path in _candidates(directory):
        fd = _open_unowned(path)
        if fd is not None:
            os.close(fd)
        try:
            data = path.read_bytes()
        except FileNotFoundError:  # replayed meanwhile
            continue
        stores = sorted({m.decode() for m in _URI_AT_LINE_START.findall(data)})
        found.append(
            SpoolFile(
                file=path.name,
                pid=_pid_of(path),
                owned=fd is None,
                bytes=len(data),
                traces=data.count(b"\n"),
                stores=tuple(stores),
            )
        )
    return found


# Every line starts with its destination's URI (see _line): status reads it without parsing.
_URI_AT_LINE_START = re.compile(rb'^\{"destination":\{"uri":"((?:[^"\\]|\\.)*)"', re.MULTILINE)


def _candidates(directory: Path) -> list[Path]:
    try:
        return sorted(
            path
            for path in directory.iterdir()
            if path.name.endswith((_SUFFIX, _LEGACY_CLAIMED)) and path.is_file()
        )
    except (FileNotFoundError, NotADirectoryError):
        return []


def _lock(fd: int) -> None:
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def _open_unowned(path: Path) -> int | None:
    """The file open and locked by us, or None: a live process holds it, or it is gone."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except (FileNotFoundError, PermissionError):
        return None
    try:
        _lock(fd)
        if os.fstat(fd).st_ino != os.stat(path).st_ino:  # replayed and removed just now
            raise FileNotFoundError(path)
    except (BlockingIOError, FileNotFoundError):
        os.close(fd)
        return None
    return fd


def _append_durably(fd: int, lines: Sequence[bytes]) -> tuple[int, OSError | None]:
    """As many of ``lines`` as the disk takes, whole, at the end of the file, synced: how many,
    and what stopped the rest. A full disk writes part of a line, then raises: the file is cut
    back to the last whole line (no torn line for the next append to run into); nothing taken
    raises."""
    start = os.lseek(fd, 0, os.SEEK_END)
    data = b"".join(lines)
    written = 0
    try:
        view = memoryview(data)
        while view:
            count = os.write(fd, view)
            written += count
            view = view[count:]
        os.fsync(fd)
        return len(lines), None
    except OSError as exc:
        kept, whole = 0, 0
        for line in lines:
            if whole + len(line) > written:
                break
            kept, whole = kept + 1, whole + len(line)
        os.ftruncate(fd, start + whole)
        if kept == 0:
            raise
        try:
            os.fsync(fd)
        except OSError:
            os.ftruncate(fd, start)
            raise
        return kept, exc


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
