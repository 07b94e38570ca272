"""Reading a tarball made by someone else (an ESAS caldb as HEASARC ships it) without trusting
it: every member is checked before anything is written, and only regular files are ever written.

A tar (plain, or gzip: decompressed by :func:`reprocal.fs._gunzip.gunzip_chunks`, within the
``unpacked-size`` limit) is read as a stream, never with ``extractall``. A member is refused,
naming it, when its name is absolute, holds ``..`` or an empty part, or is hidden (``.NAME``:
the tree's temporary files are hidden), when it is a symbolic or hard link, a device, a FIFO or
anything but a regular file or a directory, when a path is listed twice (or as both a file and
a directory), and when the members together are larger than ``unpacked-size`` or more than
:data:`MAX_MEMBERS`. :func:`scan` is the whole check and gives every file's size and sha256;
:func:`unpack` writes the files through :func:`reprocal.fs._tree.install`, each checked against
the size and sha256 the caller expects (what :func:`scan` found, or what a manifest pins), so a
tarball that changed between the two passes installs nothing wrong.
"""

from __future__ import annotations

import hashlib
import os
import tarfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import IO, Any

import attrs

from reprocal.errors import InputError
from reprocal.fs._gunzip import GunzipReader
from reprocal.fs._inputs import open_input
from reprocal.fs._limits import current_limits
from reprocal.fs._tree import install

MAX_MEMBERS = 100_000
"""Members one tarball may have (a caldb has tens)."""
CHUNK = 1 << 20


class UnsafeArchiveError(InputError):
    """A tarball member that would escape, link, overwrite or overflow: nothing is written."""


@attrs.frozen
class TarFile:
    """One regular file of a tarball."""

    path: str
    """Its path, relative, ``/``-separated, without a leading ``./``."""
    size: int
    sha256: str


def _path(info: tarfile.TarInfo, source: str) -> str | None:
    """The member's relative path, or :class:`UnsafeArchiveError`; ``None`` for ``./``."""
    raw = info.name
    if raw.startswith("/") or "\\" in raw or "\x00" in raw:
        raise UnsafeArchiveError(f"{source}: member {raw!r} has an absolute or non-POSIX name; "
                                 "nothing was unpacked", hint="the tarball is not safe to unpack")
    name = raw
    while name.startswith("./"):
        name = name[2:]
    name = name.rstrip("/") if info.isdir() else name
    if name in ("", "."):
        return None
    parts = name.split("/")
    if any(p in ("", "..") for p in parts) or any(p == "." for p in parts):
        raise UnsafeArchiveError(f"{source}: member {raw!r} leaves its directory or has an empty "
                                 "part ('..', '//'); nothing was unpacked",
                                 hint="the tarball is not safe to unpack")
    if any(p.startswith(".") for p in parts):
        raise UnsafeArchiveError(f"{source}: member {raw!r} is hidden ('.NAME'); nothing was "
                                 "unpacked", hint="a calibration set holds no hidden files")
    return name


def _kind(info: tarfile.TarInfo) -> str:
    if info.issym():
        return f"a symbolic link to {info.linkname!r}"
    if info.islnk():
        return f"a hard link to {info.linkname!r}"
    if info.ischr() or info.isblk():
        return "a device"
    if info.isfifo():
        return "a FIFO"
    return "not a regular file"


def _members(raw: IO[bytes], source: str) -> Iterator[tuple[str, tarfile.TarInfo, Any]]:
    """``(path, info, tar)`` of each file and directory, every check of the module docstring
    made before the member is yielded (directories are yielded with their path too)."""
    limit = current_limits().unpacked_size
    gz = raw.read(2) == b"\x1f\x8b"
    raw.seek(0)
    stream: Any = GunzipReader(raw, source=source) if gz else raw
    files: set[str] = set()
    dirs: set[str] = set()
    total = count = 0
    try:
        with tarfile.open(fileobj=stream, mode="r|") as tar:
            for info in tar:
                count += 1
                if count > MAX_MEMBERS:
                    raise UnsafeArchiveError(f"{source}: more than {MAX_MEMBERS} members; "
                                             "nothing was unpacked")
                path = _path(info, source)
                if not (info.isreg() or info.isdir()):
                    raise UnsafeArchiveError(f"{source}: member {info.name!r} is {_kind(info)}; "
                                             "nothing was unpacked",
                                             hint="a calibration set holds regular files only")
                if path is None:
                    continue
                parents = {"/".join(path.split("/")[:i]) for i in range(1, path.count("/") + 1)}
                clash = (path in files or (info.isreg() and path in dirs)
                         or bool(parents & files))
                if clash:
                    raise UnsafeArchiveError(f"{source}: member {info.name!r} is listed twice, or "
                                             "as both a file and a directory; nothing was "
                                             "unpacked", hint="the tarball is not safe to unpack")
                dirs |= parents
                if info.isdir():
                    dirs.add(path)
                    continue
                files.add(path)
                total += info.size
                if total > limit:
                    raise UnsafeArchiveError(f"{source}: its files expand past the limit of "
                                             f"{limit} bytes; nothing was unpacked",
                                             hint="a tar bomb, or raise --limit unpacked-size=SIZE")
                yield path, info, tar
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise InputError(f"{source}: not a readable tar (plain or gzip): {exc}") from None


def _reading(tar: Any, info: tarfile.TarInfo, source: str) -> Iterator[bytes]:
    """The member's bytes; a tarball that ends inside them is an :class:`InputError`."""
    try:
        src = tar.extractfile(info)
        assert src is not None
        while block := src.read(CHUNK):
            yield block
    except (tarfile.TarError, EOFError) as exc:
        raise InputError(f"{source}: not a readable tar (plain or gzip): member "
                         f"{info.name!r}: {exc}") from None


def scan(path: str | os.PathLike[str], *, source: str | None = None) -> tuple[TarFile, ...]:
    """Every regular file of the tarball with its size and sha256, sorted by path, after every
    check of the module docstring (:class:`UnsafeArchiveError`, :class:`InputError` for what is
    not a tar). Nothing is written."""
    where = source or os.fspath(path)
    out = []
    with open_input(path, what="tarball") as raw:
        for rel, info, tar in _members(raw, where):
            if info.isdir():
                continue
            h = hashlib.sha256()
            n = 0
            for block in _reading(tar, info, where):
                h.update(block)
                n += len(block)
            out.append(TarFile(rel, n, h.hexdigest()))
    if not out:
        raise InputError(f"{where}: the tarball holds no files")
    return tuple(sorted(out, key=lambda f: f.path))


def unpack(path: str | os.PathLike[str], dest: Path, wanted: Mapping[str, tuple[int, str]], *,
           source: str | None = None, done: Callable[[str, int, str], None] | None = None
           ) -> dict[str, tuple[int, str]]:
    """Install the members ``wanted`` names (``{path: (size, sha256)}``) under ``dest``, each
    checked against its size and sha256 (:func:`reprocal.fs._tree.install`); every member is
    checked as :func:`scan` checks it, and one that is wanted but absent is an error. ``done``
    is told ``(path, size, sha256)`` of each file installed."""
    where = source or os.fspath(path)
    got: dict[str, tuple[int, str]] = {}
    with open_input(path, what="tarball") as raw:
        for rel, info, tar in _members(raw, where):
            if info.isdir() or rel not in wanted:
                continue
            size, sha = wanted[rel]
            got[rel] = install(dest, rel, _reading(tar, info, where), size=size, sha256=sha)
            if done is not None:
                done(rel, *got[rel])
    missing = sorted(set(wanted) - set(got))
    if missing:
        raise InputError(f"{where}: {len(missing)} file(s) the set pins are not in the tarball: "
                         + ", ".join(missing[:5]))
    return got


def top_directory(paths: list[str]) -> str | None:
    """The one top directory every path is under, when there is one (``caldb/a``, ``caldb/b``
    -> ``caldb``).

    >>> top_directory(["caldb/a.fits", "caldb/sub/b.fits"]), top_directory(["a", "caldb/b"])
    ('caldb', None)
    """
    tops = {PurePosixPath(p).parts[0] for p in paths if "/" in p}
    if len(tops) == 1 and all("/" in p for p in paths):
        return tops.pop()
    return None


__all__ = ["MAX_MEMBERS", "TarFile", "UnsafeArchiveError", "scan", "top_directory", "unpack"]
