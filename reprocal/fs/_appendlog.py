"""An append-only log file: whole lines appended under a lock, never rewritten, robust to a
``kill -9`` or a power cut mid-append.

The file is opened by the one safe-create primitive (:func:`reprocal.fs._inputs.open_private`:
no link is followed, a FIFO, directory, device or hard link at its name is refused and left
alone). Each append takes an exclusive ``flock``, looks at the last byte, writes its line with
``os.write`` at the end of the file (looping until every byte is written) and ``fsync``\\ s it
before the lock is released. Nothing is ever truncated, seeked over or overwritten.

A process killed mid-append (or a machine losing power before the ``fsync``) can leave a *torn*
last line: bytes without their final newline. The next append sees that (the file does not end
with ``\\n``) and tells its caller, who decides what to write after the torn bytes (the mirror
history writes a record saying the line before it is torn, so that readers can tell an
interrupted append from damage). The torn bytes themselves are kept: an append-only log is
never rewritten, not even to remove garbage.

>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "log"
>>> with AppendLog(p) as log:
...     log.torn_tail()
...     log.append(b'{"a": 1}\\n')
b''
>>> p.read_bytes()
b'{"a": 1}\\n'
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from reprocal.fs._inputs import open_private

TAIL_WINDOW = 1 << 20
"""How far back :meth:`AppendLog.torn_tail` looks for the newline before a torn line."""


class AppendLog:
    """An append-only file of lines, locked for the life of the object (``with`` block).

    Opening creates the file (mode 0644) if needed, refusing anything but our own regular file
    (:class:`~reprocal.fs._inputs.UnsafeFileError`); the exclusive lock is taken at once (a
    second writer waits) and released by :meth:`close`."""

    def __init__(self, path: str | os.PathLike[str], *, wait: bool = True):
        self.path = Path(path)
        self._fd = open_private(self.path)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BaseException:
            os.close(self._fd)
            raise

    def size(self) -> int:
        return os.fstat(self._fd).st_size

    def torn_tail(self) -> bytes:
        """The bytes after the last newline (empty when the file ends with one or is empty):
        what an interrupted append left. At most :data:`TAIL_WINDOW` bytes are returned (a
        longer torn line is returned by its last bytes only)."""
        end = self.size()
        if end == 0:
            return b""
        start = max(0, end - TAIL_WINDOW)
        tail = os.pread(self._fd, end - start, start)
        if tail.endswith(b"\n"):
            return b""
        cut = tail.rfind(b"\n")
        return tail[cut + 1:]

    def append(self, data: bytes, *, fsync: bool = True) -> int:
        """Write ``data`` at the end of the file (every byte, however many writes it takes),
        then ``fsync``; return the offset it starts at. ``OSError`` (a full disk) propagates:
        the bytes written before it are a torn line the next append will see."""
        offset = self.size()
        view = memoryview(data)
        written = 0
        while written < len(view):
            written += os.pwrite(self._fd, view[written:], offset + written)
        if fsync:
            os.fsync(self._fd)
        return offset

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # releases the lock
            self._fd = -1

    def __enter__(self) -> AppendLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["TAIL_WINDOW", "AppendLog"]
