"""Deterministic tar streams: normalised headers, layers streamed and checked, never in memory.

Entries sorted by path bytes with parent directories first, relative paths only, regular files
and directories only, uid/gid 0, empty user and group names, modes 0755/0644, one integer mtime,
PAX format (Python's headers are stable from 3.9 on; a golden-digest test watches them). Files
are checked against their pinned size and sha256 while streamed.
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from collections.abc import Callable, Iterable, Iterator, Sequence

from reprocal.errors import HashMismatchError, InputError
from reprocal.image._layers import LayerFile

BLOCK = tarfile.BLOCKSIZE
RECORD = tarfile.RECORDSIZE
CHUNK = 1 << 20


def _check_path(path: str) -> str:
    parts = path.split("/")
    if (not path or path.startswith("/") or any(p in ("", ".", "..") for p in parts)
            or "\x00" in path):
        raise InputError(f"tar entry {path!r} is not a plain relative path")
    return path


def tar_header(path: str, *, size: int, is_dir: bool, mtime: int,
               executable: bool = False) -> bytes:
    """The PAX-format header block(s) of one entry, with every variable field fixed."""
    if not isinstance(mtime, int) or isinstance(mtime, bool):
        raise InputError(f"tar mtime must be an integer, got {mtime!r}")
    info = tarfile.TarInfo(_check_path(path))
    info.type = tarfile.DIRTYPE if is_dir else tarfile.REGTYPE
    info.mode = 0o755 if is_dir or executable else 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mtime = mtime
    info.size = 0 if is_dir else size
    return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


def padding(size: int) -> bytes:
    return b"\0" * (-size % BLOCK)


def tar_end(written: int) -> bytes:
    """Two zero blocks, then zeros up to the record size (as tarfile writes)."""
    total = written + 2 * BLOCK
    return b"\0" * (2 * BLOCK + (-total % RECORD))


def with_parents(paths: Iterable[str]) -> list[tuple[str, bool]]:
    """``(path, is_dir)`` for the files and every parent directory, sorted by path bytes."""
    entries: dict[str, bool] = {}
    for p in paths:
        _check_path(p)
        if p in entries:
            raise InputError(f"tar entry {p!r} appears twice")
        entries[p] = False
        parts = p.split("/")
        for i in range(1, len(parts)):
            parent = "/".join(parts[:i])
            if entries.get(parent) is False:
                raise InputError(f"tar entry {parent!r} is both a file and a directory")
            entries[parent] = True
    return sorted(entries.items(), key=lambda e: e[0].encode("utf-8"))


def _identity(st: os.stat_result) -> tuple[int, ...]:
    """What changes whenever a file's bytes change (``ctime`` moves on every write)."""
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _file_chunks(f: LayerFile, seen: dict[str, tuple[int, ...]]) -> Iterator[bytes]:
    """The pinned bytes of ``f``, checked while read.

    First read (``f.path`` not in ``seen``): size and sha256 against the pin, and the file's
    identity (:func:`_identity`) recorded, the same before and after the read. Later reads:
    size and the identity must be unchanged, so the bytes are those that were hashed.
    """
    if isinstance(f.source, bytes):
        data = f.source
        if len(data) != f.size or hashlib.sha256(data).hexdigest() != f.sha256:
            raise HashMismatchError(f.path, expected=f"{f.size} bytes sha256:{f.sha256}",
                                    actual=f"{len(data)} bytes sha256:"
                                    f"{hashlib.sha256(data).hexdigest()}")
        yield data
        return
    first = f.path not in seen
    h = hashlib.sha256()
    n = 0
    try:
        fh = open(f.source, "rb")
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path=f.source) from None
    with fh:
        before = _identity(os.fstat(fh.fileno()))
        if not first and before != seen[f.path]:
            raise HashMismatchError(f.source, what="file identity", expected="unchanged",
                                    actual="modified while the image was being written")
        while True:
            chunk = fh.read(min(CHUNK, f.size - n + 1))
            if not chunk:
                break
            n += len(chunk)
            if n > f.size:
                raise HashMismatchError(f.source, what="size", expected=str(f.size),
                                        actual=f"more than {f.size} bytes")
            if first:
                h.update(chunk)
            yield chunk
        after = _identity(os.fstat(fh.fileno()))
    if n != f.size:
        raise HashMismatchError(f.source, what="size", expected=str(f.size), actual=str(n))
    if before != after:
        raise HashMismatchError(f.source, what="file identity", expected="unchanged",
                                actual="modified while being read")
    if first:
        if h.hexdigest() != f.sha256:
            raise HashMismatchError(f.source, expected=f.sha256, actual=h.hexdigest())
        seen[f.path] = before


def layer_chunks(files: Sequence[LayerFile], mtime: int,
                 seen: dict[str, tuple[int, ...]] | None = None) -> Iterator[bytes]:
    """Stream the uncompressed layer tar holding ``files`` (and their parent directories).

    Files are checked as in :func:`_file_chunks`; pass the same ``seen`` to a second stream of
    the same layer to skip re-hashing while still refusing a file changed in between.
    """
    seen = {} if seen is None else seen
    by_path = {f.path: f for f in files}
    written = 0
    for path, is_dir in with_parents(by_path):
        f = by_path.get(path)
        header = tar_header(path, size=0 if f is None else f.size, is_dir=is_dir, mtime=mtime,
                            executable=f is not None and f.executable)
        written += len(header)
        yield header
        if f is not None:
            yield from _file_chunks(f, seen)
            pad = padding(f.size)
            written += f.size + len(pad)
            yield pad
    yield tar_end(written)


def gzip_chunks(chunks: Iterable[bytes], level: int = 6) -> Iterator[bytes]:
    """Gzip a stream with a fixed header (no name, mtime 0, OS byte as GzipFile writes it)."""
    import gzip

    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=level) as gz:
        for chunk in chunks:
            gz.write(chunk)
            if buf.tell() >= CHUNK:
                yield buf.getvalue()
                buf.seek(0)
                buf.truncate()
    yield buf.getvalue()


class BackgroundHash:
    """sha256 computed on another thread (hashlib releases the GIL on large updates), so a
    stream's two hashes (a file's pin and its layer's digest) use two cores. Bounded queue.

    Given ``write`` (a file's ``write``), ``update(chunk, write=True)`` has the thread write
    the chunk before hashing it, in the order of the updates: a producer that checks what it
    reads (an image's cached blobs, hashed against their digests on the way in) then only reads
    and checks, and the two cores share the work (the next state's image from a layer cache:
    0.39 s to 0.33 s). :meth:`drain` waits until every queued chunk is written, before the
    producer writes to the same file itself. A failed write stops the writing and hashing; the
    error is raised by the next :meth:`update`, :meth:`drain` or :meth:`hexdigest`, never
    lost."""

    def __init__(self, write: Callable[[bytes], object] | None = None) -> None:
        import queue
        import threading

        self._h = hashlib.sha256()
        self._write = write
        self._error: BaseException | None = None
        self._q: queue.Queue[tuple[bytes, bool] | None] = queue.Queue(maxsize=8)
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self) -> None:
        while (item := self._q.get()) is not None:
            try:
                if self._error is None:  # else drained, so the producer never blocks
                    chunk, write = item
                    if write:
                        self._write(chunk)  # type: ignore[misc]  # update() checked
                    self._h.update(chunk)
            except BaseException as exc:  # noqa: BLE001 - handed to the producer's thread
                self._error = exc
            finally:
                self._q.task_done()
        self._q.task_done()

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def update(self, chunk: bytes, *, write: bool = False) -> None:
        """Hash ``chunk`` (and with ``write``, first write it) on the thread."""
        if write and self._write is None:
            raise ValueError("this BackgroundHash was made without a write function")
        self._raise()
        self._q.put((chunk, write))

    def drain(self) -> None:
        """Wait until every chunk queued so far is written and hashed."""
        self._q.join()
        self._raise()

    def hexdigest(self) -> str:
        """Finish (joins the thread; raises a write's error) and return the digest."""
        self.close()
        self._raise()
        return self._h.hexdigest()

    def close(self) -> None:
        """Stop the thread (idempotent; also on errors)."""
        if self._t.is_alive():
            self._q.put(None)
            self._t.join()
