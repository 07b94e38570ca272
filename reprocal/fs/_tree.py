"""Writing files into a directory tree that someone else may also write to: the extra
calibration sets (an ESAS caldb, canned responses) that live under ``extras/<set>/`` of a
repository, of a rebuilt state, of an unpacked tarball.

* :func:`safe_dir` makes (or finds) ``ROOT/a/b`` one component at a time, each a real
  directory, never following a symbolic link: a link planted at ``extras/responses`` pointing
  at ``/etc`` is refused (:class:`~reprocal.fs._inputs.UnsafeFileError`), never written
  through.
* :func:`install` writes one file from a stream of bytes to ``.NAME.part`` beside its target
  (opened by the one safe-create primitive, :func:`reprocal.fs._inputs.open_private`), hashes
  it while writing, refuses bytes past the expected size, checks size and sha256, ``fsync``\\ s
  and renames it into place: a wrong or partial file never appears under the target's name.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from reprocal.errors import CheckFailed, HashMismatchError
from reprocal.fs._inputs import UnsafeFileError, kind_of, open_private


def safe_dir(root: Path, rel_dir: str = "") -> Path:
    """``root / rel_dir``, every component below ``root`` a real directory (created when
    missing, mode 0755), none a symbolic link or anything else; ``root`` itself must be a
    directory already (it may be reached through links: it is the caller's)."""
    here = Path(root)
    if not here.is_dir():
        raise NotADirectoryError(20, "not a directory", str(here))
    for part in PurePosixPath(rel_dir).parts if rel_dir else ():
        if part in ("", ".", "..") or "/" in part:
            raise UnsafeFileError(here / part, "a path component that is not a plain name")
        here = here / part
        try:
            st = os.lstat(here)
        except FileNotFoundError:
            try:
                os.mkdir(here, 0o755)
            except FileExistsError:  # made meanwhile by another process: look again
                pass
            st = os.lstat(here)
        if not stat.S_ISDIR(st.st_mode):
            raise UnsafeFileError(here, kind_of(st.st_mode))
    return here


def install(root: Path, rel: str, chunks: Iterable[bytes], *, size: int | None = None,
            sha256: str | None = None) -> tuple[int, str]:
    """Write ``chunks`` to ``root/rel`` safely (see the module docstring); ``(size, sha256)``
    of what was installed. A size or sha256 other than the expected one is a
    :class:`~reprocal.errors.CheckFailed` (nothing installed; the ``.part`` file removed)."""
    parent, _, name = rel.rpartition("/")
    directory = safe_dir(root, parent)
    part = directory / f".{name}.part"
    fd = open_private(part)
    done = False
    try:
        with os.fdopen(fd, "r+b") as f:
            f.truncate(0)
            h = hashlib.sha256()
            n = 0
            for chunk in chunks:
                n += len(chunk)
                if size is not None and n > size:
                    raise CheckFailed(f"more than the expected {size} bytes", path=root / rel)
                f.write(chunk)
                h.update(chunk)
            digest = h.hexdigest()
            if size is not None and n != size:
                raise CheckFailed(f"{n} bytes, expected {size}", path=root / rel)
            if sha256 is not None and digest != sha256:
                raise HashMismatchError(root / rel, expected=sha256, actual=digest)
            f.flush()
            os.fsync(f.fileno())
        os.replace(part, directory / name)
        done = True
        return n, digest
    finally:
        if not done:
            try:
                os.unlink(part)
            except FileNotFoundError:
                pass


def file_chunks(path: str | os.PathLike[str], chunk: int = 1 << 20) -> Iterable[bytes]:
    """The bytes of a regular file (refused otherwise, before a byte is read), a chunk at a
    time."""
    from reprocal.fs._inputs import open_regular

    with open_regular(path) as f:
        while data := f.read(chunk):
            yield data


__all__ = ["file_chunks", "install", "safe_dir"]
