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

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from reprocal.errors import InputError


@contextmanager
def atomic_file(path: str | os.PathLike[str], *, mode: int = 0o644,
                fsync: bool = True) -> Iterator[BinaryIO]:
    """Yield a binary file to write; on a clean exit it is flushed, fsynced, given ``mode`` and
    renamed over ``path``. ``f.name`` is the temporary path (to check it before the rename).

    An ``OSError`` becomes an :class:`InputError` naming ``path`` ("cannot write: ...").
    """
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    try:
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))  # claim the name
        f = open(tmp, "wb")  # noqa: SIM115 - plain "wb": astropy refuses other modes
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror or exc}", path=target) from None
    try:
        with f:
            yield f
            f.flush()
            if fsync:
                os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"cannot write: {exc.strerror or exc}", path=target) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write(path: str | os.PathLike[str], data: bytes, *, mode: int = 0o644) -> Path:
    """Write ``data`` to ``path`` atomically; return the path."""
    with atomic_file(path, mode=mode) as f:
        f.write(data)
    return Path(path)
