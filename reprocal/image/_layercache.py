"""A layer cache: layers built before are copied into the next image, not read and hashed again.

Successive calibration states share most layers (:mod:`reprocal.image._layers` groups files by
type, with one fixed mtime). A layer's bytes are a function of its files' paths, sizes, pinned
sha256s and modes, and of the writer's format; that is the cache key::

    DIR/layers/<key>.json          {"digest", "size", "diff_id", "media_type", "identity"}
    DIR/blobs/sha256/<hex>         the layer blob, exactly as it goes into the image tar

The writer's format is measured, not declared: the key includes the digest of a small
reference layer written by this code (and its gzip form, for gzip layers), so a change to the
tar headers, to Python's tarfile or to zlib gives new keys, never a stale layer.

Trust: a blob enters the cache only from a build that checked every file against its pin
(:func:`reprocal.image._oci.measure_layer`) and wrote the image to the end. A hit is used only
while the blob is the regular file the cache wrote: its identity (device, inode, size, mtime,
ctime, which every write moves) is compared before and after it is copied, as a source file's
is in the build's second pass, and the copy is hashed against the blob's digest as it is
written into the image (a mismatch fails the build, naming the blob). Anything else (a missing
or changed blob, a link planted in its place, an entry that is not the cache's JSON) is a miss:
the layer is built from its files and the entry written again. The cache is never required:
delete the directory at any time. Whoever can write the directory is trusted as a Docker layer
store is; ``image verify`` checks an image from its bytes alone.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import stat
from collections.abc import Iterable, Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import BinaryIO

import attrs

from reprocal.errors import CheckFailed, HashMismatchError, InputError
from reprocal.fs._atomic import atomic_file, write_failure
from reprocal.fs._inputs import open_private
from reprocal.image._layers import LayerFile
from reprocal.image._oci import MEDIA_LAYER, MEDIA_LAYER_GZIP, Blob, BuiltLayer, Descriptor
from reprocal.image._tarstream import _file_chunks, _identity, gzip_chunks, layer_chunks

_ENTRY_MAX = 4096
"""An entry is a few hundred bytes; a larger file there is not the cache's."""


@cache
def _writer_format(gzip: bool) -> str:
    """The digest of a fixed two-file layer as this code writes it (gzip: compressed)."""
    files = [LayerFile(p, d, len(d), hashlib.sha256(d).hexdigest())
             for p, d in (("ccf/a/B.CCF", b"\x00" * 700), ("ccf/c.cif", b"x"))]
    chunks: Iterable[bytes] = layer_chunks(files, 1)
    return hashlib.sha256(b"".join(gzip_chunks(chunks) if gzip else chunks)).hexdigest()


def layer_key(files: Sequence[LayerFile], mtime: int, *, gzip: bool) -> str:
    """The cache key of a layer: what decides its bytes."""
    doc = {"format": _writer_format(gzip), "gzip": gzip, "mtime": mtime,
           "files": [[f.path, f.size, f.sha256, f.executable] for f in files]}
    return hashlib.sha256(json.dumps(doc, separators=(",", ":")).encode()).hexdigest()


@attrs.frozen
class _Entry:
    digest: str
    size: int
    diff_id: str
    media_type: str
    identity: tuple[int, ...]

    @classmethod
    def parse(cls, data: bytes) -> _Entry | None:
        try:
            doc = json.loads(data)
            entry = cls(doc["digest"], doc["size"], doc["diff_id"], doc["media_type"],
                        tuple(doc["identity"]))
        except (ValueError, KeyError, TypeError):
            return None
        good = (isinstance(entry.size, int) and entry.size >= 0
                and entry.media_type in (MEDIA_LAYER, MEDIA_LAYER_GZIP)
                and all(isinstance(x, str) and len(x) == 71 and x.startswith("sha256:")
                        and all(c in "0123456789abcdef" for c in x[7:])
                        for x in (entry.digest, entry.diff_id))
                and len(entry.identity) == 5 and all(isinstance(x, int) for x in entry.identity))
        return entry if good else None


def _drop(out: BinaryIO, tmp: Path) -> None:
    """Close and remove a cache file that will not be entered."""
    try:
        out.close()
    except OSError:
        pass
    tmp.unlink(missing_ok=True)


class LayerCache:
    """The layer cache in ``root`` (created when missing; its parent must exist)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        if os.path.lexists(self.root) and not self.root.is_dir():
            raise InputError("layer cache: not a directory", path=self.root,
                             hint="give a directory (created when missing) or none")
        try:
            for d in (self.root, self.root / "layers", self.root / "blobs",
                      self.root / "blobs" / "sha256"):
                d.mkdir(mode=0o755, exist_ok=True)
                if not d.is_dir() or d.is_symlink() and d != self.root:
                    raise InputError("layer cache: not a directory", path=d,
                                     hint="remove it; the cache is rebuilt as images are built")
        except OSError as exc:
            raise write_failure(exc, self.root) from None
        self._pending: list[tuple[str, _Entry, Path]] = []
        self._used: dict[str, tuple[str, Path]] = {}  # digest -> (key, blob) of each hit
        self.hits = 0
        self.misses = 0

    def _blob_path(self, digest: str) -> Path:
        return self.root / "blobs" / "sha256" / digest.split(":", 1)[1]

    def get(self, files: Sequence[LayerFile], mtime: int, *, gzip: bool) -> BuiltLayer | None:
        """The cached layer of ``files``, or ``None`` (a miss)."""
        key = layer_key(files, mtime, gzip=gzip)
        entry = self._entry(key)
        media = MEDIA_LAYER_GZIP if gzip else MEDIA_LAYER
        if entry is None or entry.media_type != media or (not gzip and entry.diff_id != entry.digest):
            self.misses += 1
            return None
        path = self._blob_path(entry.digest)
        try:
            st = os.lstat(path)
        except OSError:
            st = None
        if st is None or not stat.S_ISREG(st.st_mode) or _identity(st) != entry.identity:
            self.misses += 1
            return None
        self.hits += 1
        self._used[entry.digest] = (key, path)
        blob = LayerFile(key, path, entry.size, entry.digest.split(":", 1)[1])
        seen = {key: entry.identity}  # streamed only while it is the file the cache wrote

        def chunks() -> Iterator[bytes]:
            return _file_chunks(blob, dict(seen))

        # verify: the image tar writer hashes the copy against the digest as well
        return BuiltLayer(Descriptor(media, entry.digest, entry.size), entry.diff_id,
                          Blob(entry.digest, entry.size, chunks, verify=True))

    def _entry(self, key: str) -> _Entry | None:
        try:
            fd = os.open(self.root / "layers" / f"{key}.json",
                         os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            return _Entry.parse(os.read(fd, _ENTRY_MAX + 1)[:_ENTRY_MAX + 1])
        finally:
            os.close(fd)

    def storing(self, files: Sequence[LayerFile], mtime: int, layer: BuiltLayer, *,
                gzip: bool) -> BuiltLayer:
        """``layer``, whose blob is also written into the cache as it goes into the image; it
        enters the cache on :meth:`commit`, after the image is complete."""
        key = layer_key(files, mtime, gzip=gzip)
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
                self._pending.append((key, _Entry(layer.descriptor.digest, inner.size,
                                                  layer.diff_id, layer.descriptor.media_type,
                                                  ()), tmp))
            elif out is not None:
                tmp.unlink(missing_ok=True)

        return BuiltLayer(layer.descriptor, layer.diff_id,
                          attrs.evolve(inner, chunks=chunks))

    def commit(self) -> None:
        """Enter the layers written by a completed image (each blob, then its entry)."""
        for key, entry, tmp in self._pending:
            target = self._blob_path(entry.digest)
            try:
                os.chmod(tmp, 0o444)
                os.replace(tmp, target)
                ident = _identity(os.lstat(target))
                with atomic_file(self.root / "layers" / f"{key}.json", fsync=False) as f:
                    f.write(json.dumps(attrs.asdict(attrs.evolve(entry, identity=ident))).encode())
            except Exception:  # noqa: BLE001 - a cache that cannot be written is a miss next time
                tmp.unlink(missing_ok=True)
        self._pending.clear()

    def damaged(self, exc: HashMismatchError) -> CheckFailed | None:
        """When ``exc`` (from writing an image) is about a blob this cache gave, remove that
        entry and return the error to raise instead; ``None`` otherwise."""
        for digest, (key, path) in self._used.items():
            if str(exc.path) in (str(path), f"blobs/sha256/{digest.split(':', 1)[1]}"):
                for p in (self.root / "layers" / f"{key}.json", path):
                    try:
                        p.unlink(missing_ok=True)
                    except OSError:
                        pass
                return CheckFailed(f"layer cache: the cached layer {digest} is damaged "
                                   f"({exc.message}); it is removed from "
                                   "the cache", path=path, hint="run the build again: the layer "
                                   "is built from its files")
        return None

    def discard(self) -> None:
        """Drop what a failed build wrote."""
        for _, _, tmp in self._pending:
            tmp.unlink(missing_ok=True)
        self._pending.clear()


__all__ = ["LayerCache", "layer_key"]
