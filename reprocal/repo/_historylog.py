"""Appending to the mirror history (the format and its reader: :mod:`reprocal.repo._history`).

One :class:`HistoryLog` at a time per repository directory: it holds the history file's
exclusive lock (:class:`reprocal.fs._appendlog.AppendLog`) from the moment it is opened, re-reads
the history under that lock, and appends records that continue its sequence and hash chain. A
torn last line left by an interrupted writer is followed by a ``torn`` record before anything
else. Times come from the caller's clock and never go back (a clock stepped back by NTP gives
the previous record's time), so the history's times are ordered like its lines.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from reprocal.core._dates import CalDate
from reprocal.errors import LocalIOError, RepositoryError
from reprocal.fs._appendlog import AppendLog
from reprocal.fs._inputs import UnsafeFileError
from reprocal.repo._history import (
    SCHEMA,
    History,
    check_history_dir,
    dumps_record,
    history_path,
    read_lines,
    record_problem,
    replay,
    sha256_line,
)

Clock = Callable[[], CalDate]


class HistoryLog:
    """The writer of ``DIR/.reprocal/history.jsonl`` (created with its directory if need be).

    ``run`` names the sync or fetch writing; ``clock`` gives each record's time. ``wait``:
    wait for another writer to finish (else ``BlockingIOError``). Use as a context manager."""

    def __init__(self, directory: str | os.PathLike[str], *, run: str, clock: Clock,
                 wait: bool = True):
        hdir = check_history_dir(directory, create=True)
        self.path = history_path(directory)
        created = not os.path.lexists(self.path)
        try:
            self._log = AppendLog(self.path, wait=wait)
        except UnsafeFileError as exc:
            raise RepositoryError(f"the mirror history's name holds {exc.kind}, not a regular "
                                  "file; reprocal leaves it alone", path=self.path,
                                  hint=f"move {self.path} away if it is not yours") from None
        except BlockingIOError:
            raise
        except OSError as exc:
            raise RepositoryError(f"cannot open the mirror history: {exc.strerror or exc}",
                                  path=self.path, hint="sync into a writable repository") from None
        try:
            if created:
                _fsync_dir(hdir)
            self.history: History = self._reread()
        except BaseException:
            self._log.close()
            raise
        self.run = run
        self.clock = clock

    def _reread(self) -> History:
        """Replay the locked file itself (a duplicate of our descriptor, read from byte 0)."""
        with os.fdopen(os.dup(self._log._fd), "rb") as f:
            f.seek(0)
            return replay(self.path, read_lines(f, self.path))

    def _time(self) -> str:
        now = self.clock().text
        last = self.history.records[-1]["time"] if self.history.records else now
        return max(now, last)

    def _record(self, event: str, fields: Mapping[str, Any], prev: str | None) -> dict[str, Any]:
        doc = {"schema": SCHEMA, "seq": self.history.last_seq + 1, "prev": prev,
               "time": self._time(), "run": self.run, "event": event, **fields}
        problem = record_problem(doc)
        if problem is not None:  # a bug of ours, never written
            raise ValueError(f"refusing to write an invalid history record: {problem}")
        return doc

    def extend(self, events: Iterable[tuple[str, Mapping[str, Any]]], *, fsync: bool = True
               ) -> list[dict[str, Any]]:
        """Append ``(event, fields)`` records in one write and (``fsync``) one ``fsync``;
        return them. Without ``fsync`` a power cut may lose them (never a ``kill -9``: the
        bytes are the kernel's once written); the next append that is ``fsync``-ed makes them
        durable too."""
        h = self.history
        data = bytearray()
        written: list[tuple[dict[str, Any], bytes]] = []
        if h.tail_lines:
            if not h.ends_with_newline:
                data += b"\n"
            doc = self._record("torn", {"lines": h.tail_lines, "after": h.last_sha}, h.tail_sha)
            line = dumps_record(doc)
            data += line + b"\n"
            written.append((doc, line))
            h._add(doc, line)
        for event, fields in events:
            doc = self._record(event, fields, h.last_sha)
            line = dumps_record(doc)
            data += line + b"\n"
            written.append((doc, line))
            h._add(doc, line)
        if not data:
            return []
        try:
            self._log.append(bytes(data), fsync=fsync)
        except OSError as exc:
            # what was written is a torn line the next writer will see; the state is re-read
            self.history = self._reread()
            raise LocalIOError.of(exc, self.path, doing="cannot append to the mirror history"
                                  ) from None
        h.tail_lines, h.tail_sha, h.ends_with_newline = 0, None, True
        return [doc for doc, _line in written if doc["event"] != "torn"]

    def append(self, event: str, *, fsync: bool = True, **fields: Any) -> dict[str, Any]:
        """Append one record (one write, one ``fsync`` unless told not to)."""
        return self.extend([(event, fields)], fsync=fsync)[0]

    def close(self) -> None:
        self._log.close()

    def __enter__(self) -> HistoryLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


__all__ = ["Clock", "HistoryLog", "sha256_line"]
