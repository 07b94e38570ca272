"""A layer cache: layers built before are copied into the next image, not read and hashed again.

Successive calibration states share most layers (:mod:`reprocal.image._layers` groups files by
type, with one fixed mtime). A layer's bytes are a function of its files' paths, sizes, pinned
sha256s and modes, and of the writer's format; that is the cache key::

    DIR/layers/<key>.json          {"digest", "size", "identity"}
    DIR/blobs/sha256/<hex>         the layer, exactly as it goes into the image tar

Only uncompressed layers are cached (their digest is their DiffID, so both are checked on the
way in; a gzip layer's DiffID could not be). The writer's format is measured, not declared: the
key includes the digest of a reference layer written by this code (nested, long and non-ASCII
paths, a 9 GiB entry's header), so a change to the tar headers or to Python's tarfile gives new
keys, never a stale layer.

Trust: a blob enters the cache only from a build that checked every file against its pin
(:func:`reprocal.image._oci.measure_layer`) and wrote the image to the end, and the cache's
directories must be this user's alone (not writable by group or others), since what they hold
goes into images as pinned calibration. A hit is used only while its blob is the regular file
the cache wrote: its identity (device, inode, size, mtime, ctime, which every write moves) is
compared when it is opened and after it is copied, and the copy is hashed against the digest
as it is written into the image. A blob removed or replaced before its copy begins is no
loss: the layer is built from its files. Bytes that change under an unchanged identity, or
during the copy, fail the build naming the blob, which is removed so that the next build mends
it. A missing or malformed entry is a miss. Blobs are never replaced while they hold the right
bytes, so builds sharing a cache do not disturb each other. The cache is never required:
delete the directory whenever no build is using it. ``image verify`` checks an image from its
bytes alone.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import stat
import time
from collections.abc import Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import BinaryIO

import attrs

from reprocal.errors import CheckFailed, HashMismatchError, InputError
from reprocal.fs._atomic import atomic_file, write_failure
from reprocal.fs._inputs import open_private
from reprocal.image._layers import LayerFile
from reprocal.image._oci import MEDIA_LAYER, Blob, BuiltLayer, Descriptor
from reprocal.image._tarstream import CHUNK, _identity, layer_chunks, tar_header

_ENTRY_MAX = 4096
"""An entry is a few hundred bytes; a larger file there is not the cache's."""
_STALE = 24 * 3600
"""Temporary files older than this (seconds) are a killed build's, swept when a cache opens."""
_REFERENCE = (("ccf/a/B.CCF", 700), ("ccf/c.cif", 1),
              ("ccf/extras/" + "\u00e9" * 60 + "/" + "x" * 80 + ".fits", 3))
"""The reference layer's files: a nested path, a one-byte file, and a long non-ASCII path
(PAX records)."""


@cache
def _writer_format() -> str:
    """The digest of a fixed reference layer as this code writes it, and of the header of an
    entry of 9 GiB (a PAX size record): what the tar writer makes of paths, sizes and modes."""
    files = [LayerFile(p, b"\x00" * n, n, hashlib.sha256(b"\x00" * n).hexdigest())
             for p, n in _REFERENCE]
    h = hashlib.sha256()
    for chunk in layer_chunks(files, 1):
        h.update(chunk)
    h.update(tar_header("ccf/big.fits", size=9 << 30, is_dir=False, mtime=1, executable=True))
    return h.hexdigest()


def layer_key(files: Sequence[LayerFile], mtime: int) -> str:
    """The cache key of an uncompressed layer: what decides its bytes."""
    doc = {"format": _writer_format(), "mtime": mtime,
           "files": [[f.path, f.size, f.sha256, f.executable] for f in files]}
    return hashlib.sha256(json.dumps(doc, separators=(",", ":")).encode()).hexdigest()


@attrs.frozen
class _Entry:
    digest: str
    """``sha256:<hex>`` of the layer (uncompressed: its DiffID too)."""
    size: int
    identity: tuple[int, ...]
    """The blob file's (device, inode, size, mtime, ctime) when it was entered."""

    @classmethod
    def parse(cls, data: bytes) -> _Entry | None:
        if len(data) > _ENTRY_MAX:
            return None
        try:
            doc = json.loads(data)
            entry = cls(doc["digest"], doc["size"], tuple(doc["identity"]))
        except (ValueError, KeyError, TypeError, RecursionError):
            return None
        good = (isinstance(entry.size, int) and not isinstance(entry.size, bool)
                and entry.size >= 0 and isinstance(entry.digest, str)
                and len(entry.digest) == 71 and entry.digest.startswith("sha256:")
                and all(c in "0123456789abcdef" for c in entry.digest[7:])
                and len(entry.identity) == 5
                and all(isinstance(x, int) and not isinstance(x, bool) for x in entry.identity))
        return entry if good else None


def _drop(out: BinaryIO, tmp: Path) -> None:
    """Close and remove a cache file that will not be entered."""
    try:
        out.close()
    except OSError:
        pass
    tmp.unlink(missing_ok=True)


def _private_dir(d: Path) -> None:
    """``d`` is a real directory only this user can write (what the cache holds goes into
    images as pinned calibration, so nobody else may put it there)."""
    try:
        st = os.lstat(d)
    except OSError as exc:
        raise write_failure(exc, d) from None
    if not stat.S_ISDIR(st.st_mode):
        raise InputError("layer cache: not a directory", path=d,
                         hint="remove it; the cache is rebuilt as images are built")
    if st.st_uid != os.geteuid() or st.st_mode & 0o022:
        raise InputError("layer cache: writable by another user than you (owner uid "
                         f"{st.st_uid}, mode {stat.S_IMODE(st.st_mode):o})", path=d,
                         hint="a layer cache goes into images as pinned calibration: use a "
                         "directory of your own (chmod go-w)")


class LayerCache:
    """The layer cache in ``root`` (created when missing; its parent must exist). Only
    uncompressed layers are cached (a gzip layer's DiffID could not be checked on its way in)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        if os.path.lexists(self.root) and not self.root.is_dir():
            raise InputError("layer cache: not a directory", path=self.root,
                             hint="give a directory (created when missing) or none")
        self._blobs = self.root / "blobs" / "sha256"
        self._layers = self.root / "layers"
        for d in (self.root, self._layers, self.root / "blobs", self._blobs):
            try:
                d.mkdir(mode=0o700 if d == self.root else 0o755, exist_ok=True)
            except OSError as exc:
                raise write_failure(exc, d) from None
            _private_dir(d.resolve() if d == self.root else d)
        self._sweep()
        self._pending: list[tuple[str, _Entry, Path]] = []
        self._used: dict[str, tuple[str, Path]] = {}  # digest -> (key, blob) of each hit
        self.hits = 0

    def _sweep(self) -> None:
        """Remove temporary files a killed build left (older than :data:`_STALE`)."""
        now = time.time()
        for d in (self._blobs, self._layers):
            try:
                with os.scandir(d) as it:
                    for e in it:
                        if (e.name.startswith(".") and e.name.endswith(".tmp")
                                and now - e.stat(follow_symlinks=False).st_mtime > _STALE):
                            os.unlink(e.path)
            except OSError:  # a sweep that fails is a sweep for another day
                pass

    def _blob_path(self, digest: str) -> Path:
        return self._blobs / digest.split(":", 1)[1]

    def get(self, files: Sequence[LayerFile], mtime: int) -> BuiltLayer | None:
        """The cached layer of ``files``, or ``None`` (a miss). If the blob is gone or changed
        by the time the image is written, the layer is built from its files after all."""
        key = layer_key(files, mtime)
        entry = self._entry(key)
        if entry is None:
            return None
        path = self._blob_path(entry.digest)
        try:
            st = os.lstat(path)
        except OSError:
            return None
        if not stat.S_ISREG(st.st_mode) or _identity(st) != entry.identity:
            return None
        self.hits += 1
        self._used[entry.digest] = (key, path)

        def chunks() -> Iterator[bytes]:
            opened = _open_own(path)
            if opened is not None and _identity(opened[1]) != entry.identity:
                opened[0].close()
                opened = None
            if opened is None:  # removed or replaced since: from the files, checked as ever
                self.hits -= 1
                self._used.pop(entry.digest, None)
                yield from layer_chunks(files, mtime, {})
                return
            fh = opened[0]
            with fh:
                n = 0
                while chunk := fh.read(min(CHUNK, entry.size - n + 1)):
                    n += len(chunk)
                    if n > entry.size:
                        break
                    yield chunk
                after = _identity(os.fstat(fh.fileno()))
            if n != entry.size or after != entry.identity:
                raise HashMismatchError(path, what="cached layer", expected=f"{entry.size} "
                                        "bytes, unchanged", actual=f"{n} bytes" + (
                                            "" if after == entry.identity else ", modified "
                                            "while being read"))

        # verify: the image tar writer hashes the copy against the digest as well
        return BuiltLayer(Descriptor(MEDIA_LAYER, entry.digest, entry.size), entry.digest,
                          Blob(entry.digest, entry.size, chunks, verify=True))

    def _entry(self, key: str) -> _Entry | None:
        opened = _open_own(self._layers / f"{key}.json")
        if opened is None:
            return None
        with opened[0] as fh:
            try:
                return _Entry.parse(fh.read(_ENTRY_MAX + 1))
            except OSError:
                return None

    def storing(self, files: Sequence[LayerFile], mtime: int, layer: BuiltLayer) -> BuiltLayer:
        """``layer`` (uncompressed), whose blob is also written into the cache as it goes into
        the image; it enters the cache on :meth:`commit`, after the image is complete."""
        key = layer_key(files, mtime)
        target = self._blob_path(layer.descriptor.digest)
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
        inner = layer.blob

        def chunks() -> Iterator[bytes]:
            try:
                out: BinaryIO | None = os.fdopen(open_private(tmp, exclusive=True, mode=0o600), "wb")
            except OSError:  # the cache refuses: the image is still written, uncached
                out = None
            n = 0
            try:
                for chunk in inner.chunks():
                    n += len(chunk)
                    if out is not None:
                        try:
                            out.write(chunk)
                        except OSError:  # the cache's disk is full: drop the entry, go on
                            _drop(out, tmp)
                            out = None
                    yield chunk
                if out is not None:
                    try:  # not fsynced: a hit is hashed on its way into an image anyway
                        out.flush()
                        out.close()
                    except OSError:
                        _drop(out, tmp)
                        out = None
            except BaseException:
                if out is not None:
                    _drop(out, tmp)
                raise
            if out is not None and n == inner.size:
                self._pending.append((key, _Entry(layer.descriptor.digest, inner.size, ()), tmp))
            elif out is not None:
                tmp.unlink(missing_ok=True)

        return BuiltLayer(layer.descriptor, layer.diff_id, attrs.evolve(inner, chunks=chunks))

    def commit(self) -> None:
        """Enter the layers written by a completed image (each blob, then its entry). A blob
        already there under its digest is kept when it holds those bytes (another build may be
        copying it), replaced otherwise."""
        try:
            for key, entry, tmp in self._pending:
                target = self._blob_path(entry.digest)
                try:
                    os.chmod(tmp, 0o444)
                    try:
                        os.link(tmp, target)
                    except FileExistsError:
                        if not _holds(target, entry):  # damaged, or a link planted there
                            os.replace(tmp, target)
                    tmp.unlink(missing_ok=True)  # before the identity: an unlink moves ctime
                    st = os.lstat(target)
                    if not stat.S_ISREG(st.st_mode) or st.st_size != entry.size:
                        continue  # not the cache's: no entry names it
                    with atomic_file(self._layers / f"{key}.json", fsync=False) as f:
                        f.write(json.dumps(attrs.asdict(
                            attrs.evolve(entry, identity=_identity(st)))).encode())
                except Exception:  # noqa: BLE001 - a cache that cannot be written is a miss next time
                    pass
                finally:
                    tmp.unlink(missing_ok=True)
        finally:
            self.discard()

    def damaged(self, exc: HashMismatchError) -> CheckFailed | None:
        """When ``exc`` (from writing an image) is about a blob this cache gave, remove that
        entry and return the error to raise instead; ``None`` otherwise."""
        for digest, (key, path) in self._used.items():
            if str(exc.path) in (str(path), f"blobs/sha256/{digest.split(':', 1)[1]}"):
                for p in (self._layers / f"{key}.json", path):
                    try:
                        p.unlink(missing_ok=True)
                    except OSError:
                        pass
                return CheckFailed(f"layer cache: the cached layer {digest} is damaged "
                                   f"({exc.message}); it is removed from the cache", path=path,
                                   hint="run the build again: the layer is built from its files")
        return None

    def discard(self) -> None:
        """Drop what a failed (or finished) build has not entered."""
        for _, _, tmp in self._pending:
            tmp.unlink(missing_ok=True)
        self._pending.clear()


def _open_own(path: Path) -> tuple[BinaryIO, os.stat_result] | None:
    """A file of the cache opened for reading, with its status, when it is a regular file
    (never through a link, never blocking on a FIFO put in its place); ``None`` otherwise."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            return None
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb"), st
    except BaseException:
        os.close(fd)
        raise


def _holds(path: Path, entry: _Entry) -> bool:
    """Whether the regular file at ``path`` has exactly the bytes of ``entry`` (hashed: only
    when a build's new blob finds one there already)."""
    opened = _open_own(path)
    if opened is None:
        return False
    fh, st = opened
    with fh:
        if st.st_size != entry.size:
            return False
        h = hashlib.sha256()
        while chunk := fh.read(CHUNK):
            h.update(chunk)
    return "sha256:" + h.hexdigest() == entry.digest


__all__ = ["LayerCache", "layer_key"]
