"""Atomic file writes: a temporary file beside the target, renamed over it only on success.

Whatever happens (an exception, a full disk, kill -9), the target is either the old file or the
complete new one; a failed write leaves no temporary file behind (kill -9 may leave a hidden
``.NAME.*.tmp``, never a partial file under the target's name).

>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
>>> with atomic_file(p) as f:
...     _ = f.write(b"hello")
>>> p.read_bytes()
b'hello'
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from reprocal.errors import InputError, LocalIOError, ReprocalError
from reprocal.fs._inputs import open_private

_BAD_TARGET = (errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.ENAMETOOLONG, errno.ELOOP)
"""Errors that say the target path given is wrong (bad input), not that the disk refused."""


def write_failure(exc: OSError, path: str | os.PathLike[str]) -> ReprocalError:
    """The one-line error for a failed write to ``path``: a wrong target path is bad input
    (exit 2); a full disk, a read-only file system or a permission is the file system's refusal
    (:class:`LocalIOError`, exit 7)."""
    if exc.errno in _BAD_TARGET:
        return InputError(f"cannot write: {exc.strerror or exc}", path=path)
    return LocalIOError.of(exc, path, doing="cannot write")


def _replaceable(target: Path) -> None:
    """Refuse a target that is a device: the rename would replace it with a regular file
    (``-o /dev/full`` or ``-o /dev/null`` run as root turned the device into the output). A
    FIFO or a socket is replaced, as a regular file or a symbolic link is (the link itself,
    never what it points to): nothing blocks on it, nothing outside is written."""
    try:
        st = os.lstat(target)
    except OSError:
        return  # not there (or not reachable: the create or the rename says why)
    if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
        raise InputError("is a device, not a file to write", path=target,
                         hint="give the name of a regular file to write")


@contextmanager
def atomic_file(path: str | os.PathLike[str], *, mode: int = 0o644,
                fsync: bool = True) -> Iterator[BinaryIO]:
    """Yield a binary file to write; on a clean exit it is flushed, fsynced, given ``mode`` and
    renamed over ``path``. ``f.name`` is the temporary path (to check it before the rename).

    An ``OSError`` becomes the error of :func:`write_failure` naming ``path`` ("cannot
    write: ..."). The temporary file is created by the one safe-create primitive
    (:func:`reprocal.fs._inputs.open_private`: exclusive, never through a link).
    """
    target = Path(path)
    _replaceable(target)
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    try:
        fd = open_private(tmp, exclusive=True, mode=0o600)
        f = os.fdopen(fd, "wb")  # plain "wb": astropy refuses other modes
        f.raw.name = os.fspath(tmp)  # type: ignore[attr-defined]  # f.name: the path, as documented
    except OSError as exc:
        raise write_failure(exc, target) from None
    try:
        with f:
            yield f
            f.flush()
            if fsync:
                os.fsync(f.fileno())
        os.chmod(tmp, mode)
        _replaceable(target)  # again: it may have been put there while we wrote
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise write_failure(exc, target) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write(path: str | os.PathLike[str], data: bytes, *, mode: int = 0o644) -> Path:
    """Write ``data`` to ``path`` atomically; return the path."""
    with atomic_file(path, mode=mode) as f:
        f.write(data)
    return Path(path)
