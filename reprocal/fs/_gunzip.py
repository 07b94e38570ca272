"""Gunzip within a bound: the one decompressor for gzip streams that come from outside (base
image layers, bundle tarballs, image layers being verified).

A gzip bomb expands a few kilobytes to gigabytes. Here no single step produces more than
``chunk`` bytes (``zlib``'s ``max_length``), and the stream as a whole stops with
:class:`InflateLimitError` once it has produced more than its limit (the ``unpacked-size``
limit by default), so nothing is ever unpacked wholesale, in memory or on disk.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Iterable, Iterator
from typing import Any

from reprocal.errors import InputError
from reprocal.fs._limits import current_limits

CHUNK = 256 * 1024


class InflateLimitError(InputError):
    """A compressed stream expands past its limit."""


class CorruptGzipError(InputError):
    """A compressed stream is not valid gzip, or ends early."""


def gunzip_chunks(chunks: Iterable[bytes], *, source: str = "gzip stream",
                  limit: int | None = None, chunk: int = CHUNK) -> Iterator[bytes]:
    """Decompress a gzip stream (concatenated members too), at most ``chunk`` bytes a step and
    ``limit`` bytes in all (default: the ``unpacked-size`` limit)."""
    limit = current_limits().unpacked_size if limit is None else limit
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    total = 0
    started = False

    def out(data: bytes) -> bytes:
        nonlocal total
        total += len(data)
        if total > limit:
            raise InflateLimitError(f"{source} expands past the limit of {limit} bytes",
                                    hint="a gzip bomb, or raise --limit unpacked-size=SIZE")
        return data

    try:
        for piece in chunks:
            started = started or bool(piece)
            data = piece
            while data:
                if d.eof:  # a further gzip member
                    data = d.unused_data + data if d.unused_data else data
                    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
                produced = d.decompress(data, chunk)
                if produced:
                    yield out(produced)
                data = d.unconsumed_tail
                if d.eof and d.unused_data:
                    data = d.unused_data + data
                    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        while not d.eof and started:
            produced = d.decompress(b"", chunk)
            if not produced:
                break
            yield out(produced)
    except zlib.error as exc:
        raise CorruptGzipError(f"{source} is not valid gzip ({exc})") from None
    if started and not d.eof:
        raise CorruptGzipError(f"{source} ends before its gzip stream does",
                               hint="the file is incomplete; copy or download it again")


class GunzipReader(io.RawIOBase):
    """A read-only file object over the decompressed bytes of ``raw`` (for :mod:`tarfile`'s
    ``r|`` streaming mode), bounded as :func:`gunzip_chunks`."""

    def __init__(self, raw: Any, *, source: str = "gzip stream", limit: int | None = None):
        super().__init__()
        self._it = gunzip_chunks(iter(lambda: raw.read(CHUNK), b""), source=source, limit=limit)
        self._buf = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        while not self._buf:
            self._buf = next(self._it, b"")
            if not self._buf:
                return 0
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n
