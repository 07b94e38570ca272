"""The temporary file a constituent is fetched into: ``DEST/.NAME.part``.

It appends what a transport sends, hashes while streaming, refuses bytes past the pinned size,
resumes from what an interrupted run left (re-hashing that prefix), checks size, sha256 and an
optional content check, and is renamed over the constituent's name only after all of that, with
an ``fsync`` first so that not even a power cut can leave a partial file under that name.

It is opened by the one safe-create primitive (:func:`reprocal.fs._inputs.open_private`): a
symbolic link, FIFO, directory, device or hard link planted at ``.NAME.part`` is refused
(:class:`~reprocal.fs._inputs.UnsafeFileError`) and left alone, never followed, truncated or
installed. A file without a pinned size is cut at the ``download-size`` limit.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from reprocal.fetch._item import Wanted
from reprocal.fetch._transports import Cancelled, LocalWriteError, TransferError
from reprocal.fs._inputs import open_private
from reprocal.fs._limits import current_limits
from reprocal.progress import Progress, or_null


def part_path(dest: Path, filename: str) -> Path:
    """The temporary file beside the target: ``.NAME.part`` (never a constituent name)."""
    return dest / f".{filename}.part"


class PartFile:
    """``.NAME.part``: appends, hashes while streaming, refuses bytes past the pinned size."""

    def __init__(self, path: Path, item: Wanted, *, progress: Progress | None,
                 cancel: threading.Event, max_size: int | None = None):
        self.path = path
        self.item = item
        self.size = item.size
        self.max_size = current_limits().download_size if max_size is None else max_size
        """Bytes accepted when the size is not pinned (the ``download-size`` limit)."""
        self.progress = or_null(progress)
        """Told ``update(n)`` for each chunk of ``n`` bytes received."""
        self.cancel = cancel
        self.started = time.monotonic()
        """When this file's first try began (its ``file-deadline`` counts from here)."""
        self.received = 0
        self.attempts: list[tuple[str, str, str]] = []
        """Failed tries: (mirror, kind, message)."""
        self.mirror = ""
        self._file = os.fdopen(open_private(path), "r+b")
        self._file.seek(0, os.SEEK_END)
        self._hash = hashlib.sha256()
        self._offset = 0
        if os.fstat(self._file.fileno()).st_size:  # a prefix from an interrupted run: resume
            self.reload()
        if item.size is not None and self._offset > item.size:
            self.restart()

    @property
    def offset(self) -> int:
        return self._offset

    @property
    def digest(self) -> str:
        """The sha256 of the bytes received so far (all of them, once verified)."""
        return self._hash.hexdigest()

    def flush(self) -> None:
        try:
            self._file.flush()
        except OSError as exc:
            raise LocalWriteError(exc) from None

    def reload(self) -> None:
        self.flush()
        self._hash = hashlib.sha256()
        self._offset = 0
        fd = self._file.fileno()  # our own descriptor: never the path again
        while chunk := os.pread(fd, 1 << 20, self._offset):
            self._hash.update(chunk)
            self._offset += len(chunk)
        self._file.seek(0, os.SEEK_END)

    def write(self, chunk: bytes) -> None:
        if self.cancel.is_set():
            raise Cancelled
        if self.item.size is not None and self._offset + len(chunk) > self.item.size:
            raise TransferError("size-mismatch", f"the mirror sent more than the pinned "
                                f"{self.item.size} bytes")
        if self.item.size is None and self._offset + len(chunk) > self.max_size:
            raise TransferError("too-large", f"more than the limit of {self.max_size} bytes for "
                                "a file of unknown size (raise --limit download-size=SIZE)")
        try:
            self._file.write(chunk)
        except OSError as exc:
            raise LocalWriteError(exc) from None
        self._hash.update(chunk)
        self._offset += len(chunk)
        self.received += len(chunk)
        self.progress.update(len(chunk))

    def restart(self) -> None:
        self._file.truncate(0)
        self._file.seek(0)
        self._hash = hashlib.sha256()
        self._offset = 0

    def note(self, kind: str, message: str) -> None:
        self.attempts.append((self.mirror, kind, message))

    def verify(self, check: Callable[[Path, Wanted], None] | None = None) -> None:
        if self.item.size is not None and self._offset != self.item.size:
            raise TransferError("size-mismatch", f"got {self._offset} bytes, pinned "
                                f"{self.item.size}")
        actual = self._hash.hexdigest()
        if self.item.sha256 is not None and actual != self.item.sha256:
            raise TransferError("hash-mismatch", f"sha256 {actual}, pinned {self.item.sha256}")
        if check is not None:
            self.flush()
            check(self.path, self.item)

    def install(self, target: Path) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.replace(self.path, target)

    def close(self) -> None:
        if not self._file.closed:
            with contextlib.suppress(OSError):  # a flush on a full disk: reported already
                self._file.close()

    def discard(self) -> None:
        """Remove our own temporary file when what it holds is known to be wrong or empty."""
        self.close()
        with contextlib.suppress(FileNotFoundError):
            if self.path.stat().st_size == 0:  # wrong bytes were truncated away already
                self.path.unlink()
