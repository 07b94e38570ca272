"""Deterministic OCI image tars: layer writer, canonical JSON, one tar for OCI and Docker.

The image tar is *both* an OCI image layout (``oci-layout``, ``index.json``, ``blobs/sha256/``)
and a docker-archive (``manifest.json`` pointing into ``blobs/sha256/``), so ``docker load``
(classic store and containerd store), skopeo, umoci and podman all read it.

Every byte is a function of the inputs: tar entries sorted by path bytes with parent directories
first, relative paths, only regular files and directories, uid/gid 0, empty user and group
names, modes 0755/0644, one integer mtime (the *epoch*), PAX format; JSON with sorted keys,
``(',', ':')`` separators, ASCII only, no floats. Layers are streamed and hashed while written,
never held in memory: the outer tar is written in two passes (measure every blob's digest,
then write the blobs in digest order). Files are checked against their pinned size and sha256
while streamed in the first pass, and in the second their identity (inode, size, mtime, ctime)
must be unchanged; other blobs (base layers, pulled blobs) are hashed again as written. Any
mismatch aborts, and nothing is left at the target (temp file beside it, then ``os.replace``).

Layers are uncompressed by default. ``gzip=True`` writes ``tar+gzip`` layers with
``GzipFile(filename='', mtime=0)``; deflate output differs between zlib builds (zlib, zlib-ng),
so gzip images are reproducible on one machine but not guaranteed across machines.
DiffIDs and the config digest never depend on compression.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import attrs

from .errors import HashMismatchError, InputError
from .layers import LayerFile

MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_LAYER = "application/vnd.oci.image.layer.v1.tar"
MEDIA_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
OCI_LAYOUT = b'{"imageLayoutVersion":"1.0.0"}'

BLOCK = tarfile.BLOCKSIZE
RECORD = tarfile.RECORDSIZE
CHUNK = 1 << 20


# --- JSON and time ---------------------------------------------------------------------------


def _no_floats(obj: Any, where: str = "$") -> None:
    if isinstance(obj, float):
        raise InputError(f"canonical JSON: float at {where}; use an integer or a string")
    if isinstance(obj, dict):
        for k, v in obj.items():
            _no_floats(v, f"{where}.{k}")
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            _no_floats(v, f"{where}[{i}]")


def canonical_json(obj: Any) -> bytes:
    """Sorted keys, ``(',', ':')``, ASCII, no floats: the bytes that get hashed.

    >>> canonical_json({"b": 1, "a": ["é"]})
    b'{"a":["\\\\u00e9"],"b":1}'
    """
    _no_floats(obj)
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def resolve_epoch(env: Mapping[str, str], fallback: int) -> int:
    """``SOURCE_DATE_EPOCH`` when set (an integer), else ``fallback`` (from the pinned state)."""
    value = env.get("SOURCE_DATE_EPOCH", "").strip()
    if not value:
        return fallback
    if not value.isdigit():
        raise InputError(f"SOURCE_DATE_EPOCH: {value!r} is not a non-negative integer")
    return int(value)


def epoch_of(caldate_text: str) -> int:
    """Seconds since 1970 of a canonical ``YYYY-MM-DDThh:mm:ss`` (UTC; a leap second clamps)."""
    text = caldate_text[:17] + min(caldate_text[17:19], "59")
    return int(datetime.strptime(text, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc).timestamp())


def rfc3339(epoch: int) -> str:
    """``1970-01-01T00:00:00Z`` form used in config ``created`` and history."""
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- tar entries -----------------------------------------------------------------------------


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


def _padding(size: int) -> bytes:
    return b"\0" * (-size % BLOCK)


def _end(written: int) -> bytes:
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
            pad = _padding(f.size)
            written += f.size + len(pad)
            yield pad
    yield _end(written)


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
    stream's two hashes (a file's pin and its layer's digest) use two cores. Bounded queue."""

    def __init__(self) -> None:
        import queue
        import threading

        self._h = hashlib.sha256()
        self._q: queue.Queue[bytes | None] = queue.Queue(maxsize=8)
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self) -> None:
        while (chunk := self._q.get()) is not None:
            self._h.update(chunk)

    def update(self, chunk: bytes) -> None:
        self._q.put(chunk)

    def hexdigest(self) -> str:
        """Finish (joins the thread) and return the digest."""
        self.close()
        return self._h.hexdigest()

    def close(self) -> None:
        """Stop the thread (idempotent; also on errors)."""
        if self._t.is_alive():
            self._q.put(None)
            self._t.join()


# --- blobs and descriptors -------------------------------------------------------------------


@attrs.frozen
class Descriptor:
    """An OCI content descriptor."""

    media_type: str
    """e.g. ``application/vnd.oci.image.layer.v1.tar``."""
    digest: str
    """``sha256:<hex>`` of the exact bytes."""
    size: int
    """Length of the exact bytes."""

    def to_json(self) -> dict[str, Any]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size}

    @property
    def hex(self) -> str:
        return self.digest.split(":", 1)[1]


@attrs.frozen
class Blob:
    """A blob to write into ``blobs/sha256/``: its identity and how to produce its bytes."""

    digest: str
    """``sha256:<hex>``; checked again while the bytes are written."""
    size: int
    """Exact length."""
    chunks: Callable[[], Iterable[bytes]] = attrs.field(eq=False, repr=False)
    """Produces the bytes (called once, at write time)."""
    verify: bool = True
    """Hash the bytes again while writing them; ``False`` only when the producer guarantees
    them (a measured layer whose files are checked unchanged)."""

    @classmethod
    def of_bytes(cls, data: bytes) -> Blob:
        return cls(sha256_digest(data), len(data), lambda: (data,))


@attrs.frozen
class BuiltLayer:
    """A measured layer: its descriptor, its DiffID and how to write it again."""

    descriptor: Descriptor
    """Blob descriptor (compressed when gzip)."""
    diff_id: str
    """sha256 of the uncompressed tar."""
    blob: Blob
    """The blob, ready for :func:`write_image_tar`."""


def measure_layer(files: Sequence[LayerFile], mtime: int, *, gzip: bool = False) -> BuiltLayer:
    """First pass: stream the layer through the hashers (files checked against their pins).

    The returned blob re-streams the layer without hashing again (``verify=False``): each
    file's identity recorded in the first pass must be unchanged (see :func:`_file_chunks`).
    """
    seen: dict[str, tuple[int, ...]] = {}

    def produce() -> Iterator[bytes]:
        return layer_chunks(files, mtime, seen)

    diff = BackgroundHash()
    size = 0
    if not gzip:
        try:
            for chunk in produce():
                diff.update(chunk)
                size += len(chunk)
        finally:
            diff.close()
        digest = "sha256:" + diff.hexdigest()
        return BuiltLayer(Descriptor(MEDIA_LAYER, digest, size), digest,
                          Blob(digest, size, produce, verify=False))

    def tee() -> Iterator[bytes]:
        for chunk in produce():
            diff.update(chunk)
            yield chunk

    comp = hashlib.sha256()
    try:
        for chunk in gzip_chunks(tee()):
            comp.update(chunk)
            size += len(chunk)
    finally:
        diff.close()
    digest = "sha256:" + comp.hexdigest()
    return BuiltLayer(Descriptor(MEDIA_LAYER_GZIP, digest, size), "sha256:" + diff.hexdigest(),
                      Blob(digest, size, lambda: gzip_chunks(produce()), verify=False))


# --- manifests, index, the image tar ---------------------------------------------------------


@attrs.frozen
class ImageDocs:
    """The JSON documents of one image, as the exact bytes that are hashed."""

    config: bytes
    manifest: bytes
    index: bytes
    docker_manifest: bytes

    @property
    def manifest_digest(self) -> str:
        return sha256_digest(self.manifest)

    @property
    def config_digest(self) -> str:
        return sha256_digest(self.config)


def image_docs(config: bytes, layers: Sequence[Descriptor], *, name: str,
               manifest_bytes: bytes | None = None,
               manifest_media_type: str = MEDIA_MANIFEST) -> ImageDocs:
    """Manifest, index (with the image name annotations) and docker-archive manifest.

    ``name`` is ``[registry/]repo:tag``; the index carries it fully qualified in
    ``io.containerd.image.name`` and the tag in ``org.opencontainers.image.ref.name``.
    ``manifest_bytes`` keeps an existing manifest byte for byte (a pulled image).
    """
    config_desc = Descriptor(MEDIA_CONFIG, sha256_digest(config), len(config))
    if manifest_bytes is None:
        manifest_bytes = canonical_json({
            "schemaVersion": 2,
            "mediaType": MEDIA_MANIFEST,
            "config": config_desc.to_json(),
            "layers": [d.to_json() for d in layers],
        })
    tag = name.rsplit(":", 1)[1] if ":" in name.rsplit("/", 1)[-1] else "latest"
    ref = name if ":" in name.rsplit("/", 1)[-1] else f"{name}:{tag}"
    index = canonical_json({
        "schemaVersion": 2,
        "mediaType": MEDIA_INDEX,
        "manifests": [{
            "mediaType": manifest_media_type,
            "digest": sha256_digest(manifest_bytes),
            "size": len(manifest_bytes),
            "annotations": {
                "io.containerd.image.name": qualify(ref),
                "org.opencontainers.image.ref.name": tag,
            },
        }],
    })
    docker_manifest = canonical_json([{
        "Config": f"blobs/sha256/{config_desc.hex}",
        "RepoTags": [ref],
        "Layers": [f"blobs/sha256/{d.hex}" for d in layers],
    }])
    return ImageDocs(config, manifest_bytes, index, docker_manifest)


def qualify(ref: str) -> str:
    """``ccf:tag`` -> ``docker.io/library/ccf:tag``; names with a registry part are kept."""
    first, sep, rest = ref.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return ref
    if not sep:
        return f"docker.io/library/{ref}"
    return f"docker.io/{ref}"


def write_image_tar(out: str | os.PathLike[str], blobs: Iterable[Blob], docs: ImageDocs,
                    *, mtime: int, progress: Any = None) -> str:
    """Write the one tar (OCI layout + docker-archive) atomically; return its sha256 hex.

    Blobs are written in digest order, each checked again against its digest and size; a
    mismatch raises and leaves nothing at ``out``.
    """
    out = Path(out)
    every: dict[str, Blob] = {}
    for b in [*blobs, Blob.of_bytes(docs.config), Blob.of_bytes(docs.manifest)]:
        every.setdefault(b.digest, b)
    files: dict[str, Blob] = {f"blobs/sha256/{d.split(':', 1)[1]}": b for d, b in every.items()}
    for name, data in (("index.json", docs.index), ("manifest.json", docs.docker_manifest),
                       ("oci-layout", OCI_LAYOUT)):
        files[name] = Blob.of_bytes(data)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    h = BackgroundHash()
    written = 0
    try:
        with open(tmp, "wb") as fh:

            def put(data: bytes) -> None:
                nonlocal written
                fh.write(data)
                h.update(data)
                written += len(data)

            for path, is_dir in with_parents(files):
                blob = files.get(path)
                put(tar_header(path, size=0 if blob is None else blob.size, is_dir=is_dir,
                               mtime=mtime))
                if blob is None:
                    continue
                check = hashlib.sha256()
                n = 0
                for chunk in blob.chunks():
                    if blob.verify:
                        check.update(chunk)
                    n += len(chunk)
                    if n > blob.size:
                        break
                    put(chunk)
                    if progress is not None:
                        progress.update(len(chunk))
                if n != blob.size or blob.verify and "sha256:" + check.hexdigest() != blob.digest:
                    raise HashMismatchError(
                        path, expected=f"{blob.digest} ({blob.size} bytes)",
                        actual=f"sha256:{check.hexdigest()} ({n} bytes)",
                        what="blob digest")
                put(_padding(blob.size))
            put(_end(written))
        digest = h.hexdigest()
        os.replace(tmp, out)
    except BaseException:
        h.close()
        tmp.unlink(missing_ok=True)
        raise
    return digest


def decompress_chunks(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Gunzip a stream (for DiffIDs of gzip layers)."""
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    for chunk in chunks:
        yield d.decompress(chunk)
    yield d.flush()
