"""Opening files safely: inputs must be regular files, read within a bound; temporary and lock
files are opened without following links and must be our own regular files.

Two primitives, used by every stage:

* :func:`open_input` / :func:`read_input` / :func:`require_regular`: a file the user gave (a
  manifest, a record, a bundle, a FITS file, an ODF summary) is refused before any byte is read
  when it is not a regular file: a FIFO (which would block forever), a character device
  (``/dev/zero``, endless), a directory, a socket. The open itself never blocks
  (``O_NONBLOCK``), and a read is refused past a size bound before it is allocated.
* :func:`open_private`: a temporary file (``.NAME.part``) or a lock file in a directory someone
  else may write to is opened with ``O_NOFOLLOW`` (a planted symbolic link is not followed),
  ``O_NONBLOCK`` (a planted FIFO does not hang us) and, when asked, ``O_EXCL``; whatever is found
  there must be a regular file with one link (a hard link to a file elsewhere is not ours to
  truncate). Anything else is reported and left alone.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO

from reprocal.errors import InputError, ReprocalError


def kind_of(mode: int) -> str:
    """What a file of this ``st_mode`` is, in words."""
    if stat.S_ISREG(mode):
        return "a regular file"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


class NotRegularError(InputError):
    """A path that must be a regular file is something else (see :func:`kind_of`)."""


def _refuse(path: str | os.PathLike[str], kind: str, what: str,
            error: type[ReprocalError]) -> ReprocalError:
    return error(f"{what} is {kind}, not a regular file", path=path,
                 hint="give a regular file")


def require_regular(path: str | os.PathLike[str], *, what: str = "input",
                    error: type[ReprocalError] = NotRegularError) -> os.stat_result:
    """Refuse ``path`` unless it is a regular file (links to one are fine); its ``stat``.

    For paths handed to a library that opens them itself (astropy, tarfile, sqlite): nothing is
    opened here, so a FIFO cannot block."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise error(f"cannot read: {exc.strerror or exc}", path=path) from None
    if not stat.S_ISREG(st.st_mode):
        raise _refuse(path, kind_of(st.st_mode), what, error)
    return st


class NotRegularFile(OSError):
    """An ``OSError`` for a path that is not a regular file (for code that reports unreadable
    files as ``OSError``, such as the checksum engine's workers)."""

    def __init__(self, path: str | os.PathLike[str], kind: str):
        self.kind = kind
        super().__init__(errno.EINVAL, f"{kind}, not a regular file", os.fspath(path))


def open_regular(path: str | os.PathLike[str], *, buffering: int = -1) -> BinaryIO:
    """Open a regular file for reading without ever blocking on the open (``O_NONBLOCK``) and
    without reading from anything else: raises :class:`NotRegularFile` for a FIFO, device,
    directory or socket, ``OSError`` when it cannot be opened."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a socket
            raise NotRegularFile(path, "a socket") from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularFile(path, kind_of(st.st_mode))
        os.set_blocking(fd, True)
        f = os.fdopen(fd, "rb", buffering=buffering)
        raw = getattr(f, "raw", f)  # unbuffered: the FileIO itself
        raw.name = os.fspath(path)  # type: ignore[misc]  # f.name is the path, as open() gives
        return f  # type: ignore[no-any-return]
    except BaseException:
        os.close(fd)
        raise


def open_input(path: str | os.PathLike[str], *, what: str = "input",
               error: type[ReprocalError] = NotRegularError,
               limit: int | None = None, name: str = "") -> BinaryIO:
    """Open a regular file for reading; refuse anything else before reading a byte (``error``
    naming the path), and a file larger than ``limit`` bytes (naming the limit ``name``)."""
    try:
        f = open_regular(path)
    except NotRegularFile as exc:
        raise _refuse(path, exc.kind, what, error) from None
    except OSError as exc:
        raise error(f"cannot read: {exc.strerror or exc}", path=path) from None
    size = os.fstat(f.fileno()).st_size
    if limit is not None and size > limit:
        f.close()
        raise too_large(path, what, size, limit, error, name)
    return f


def too_large(path: str | os.PathLike[str] | None, what: str, size: int | None, limit: int,
              error: type[ReprocalError] = InputError, name: str = "") -> ReprocalError:
    """The one error for an input past its bound."""
    got = f" ({size} bytes)" if size is not None else ""
    hint = f"raise it with --limit {name}=SIZE if the file is genuine" if name else None
    return error(f"{what} is larger than the limit of {limit} bytes{got}", path=path, hint=hint)


def read_input(path: str | os.PathLike[str], *, limit: int, what: str = "input",
               error: type[ReprocalError] = NotRegularError, name: str = "") -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (see :func:`open_input`)."""
    with open_input(path, what=what, error=error) as f:
        size = os.fstat(f.fileno()).st_size
        if size > limit:
            raise too_large(path, what, size, limit, error, name)
        data = f.read(limit + 1)  # a file growing while read is still bounded
    if len(data) > limit:
        raise too_large(path, what, None, limit, error, name)
    return data


class UnsafeFileError(OSError):
    """What is at the path of a temporary or lock file is not a regular file of our own: a
    symbolic link, a FIFO, a directory, a device, a hard link. Nothing was written to it."""

    def __init__(self, path: str | os.PathLike[str], kind: str):
        self.kind = kind
        super().__init__(errno.EEXIST, f"{kind} is in the way; reprocal leaves it alone: "
                         "remove it if it is not yours", os.fspath(path))


def open_private(path: str | os.PathLike[str], *, exclusive: bool = False,
                 mode: int = 0o644) -> int:
    """Open (creating) a temporary or lock file read-write without following links; return the
    file descriptor. Raises :class:`UnsafeFileError` (an ``OSError``) when the path holds
    anything but a regular file with a single link, and ``OSError`` when it cannot be created.
    With ``exclusive``, the file must not exist yet."""
    p = Path(path)
    try:
        st = os.lstat(p)
    except FileNotFoundError:
        st = None
    if st is not None:
        if exclusive:
            raise UnsafeFileError(p, "a file of that name")
        if not stat.S_ISREG(st.st_mode):  # never even opened: a device may act on open
            raise UnsafeFileError(p, kind_of(st.st_mode))
    flags = (os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY
             | os.O_CLOEXEC | (os.O_EXCL if exclusive else 0))
    try:
        fd = os.open(p, flags, mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafeFileError(p, "a symbolic link") from None
        if exc.errno == errno.EISDIR:
            raise UnsafeFileError(p, "a directory") from None
        if exc.errno == errno.EEXIST:
            raise UnsafeFileError(p, "a file of that name") from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UnsafeFileError(p, kind_of(st.st_mode))
        if st.st_nlink > 1:
            raise UnsafeFileError(p, f"a file with {st.st_nlink} hard links")
        os.set_blocking(fd, True)
        return fd
    except BaseException:
        os.close(fd)
        raise
